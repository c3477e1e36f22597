'use strict';
// Times the official Amazon Pay Node.js SDK's own request signing (clientHelper.signHeaders)
// in a tight loop, with no network. Driven by bench/signing.py over stdin/stdout, one JSON
// object per line, so that its batches can be interleaved with the Python ones:
//
//   in : spec   {pemPath, publicKeyId, region, sandbox, algorithm, method, resource, payload,
//                headers, stringToSign, warmup, iterations}
//   out: {ready: true, sdkVersion, node, openssl}        after loading the SDK and warming up
//   in : "signHeaders" | "raw"   -> out: {us}            µs per op over one batch of `iterations`
//   in : "sample"                -> out: {method, path, headers}   the last signed request
//   end of input: exit.
//
// The key is given the way the SDK's README gives it (privateKey: fs.readFileSync(pem)), so
// signHeaders parses the PEM on every call, exactly as in production use of the SDK.
// "raw" is Node's bare RSA-PSS sign with a pre-parsed KeyObject, for reference: the Node
// floor, which shows how much of signHeaders is the per-call PEM parse.
//
// Standalone: node bench/node_sign.js < spec-and-commands.txt

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const interop = path.join(__dirname, '..', 'tests', 'interop');
const sdkName = '@amazonpay/amazon-pay-api-sdk-nodejs';

function fail(message) {
    process.stderr.write(`node_sign.js: ${message}\n`);
    process.exit(2);
}

function reply(object) {
    process.stdout.write(JSON.stringify(object) + '\n');
}

let helper;
let sdkVersion;
try {
    helper = require(require.resolve(`${sdkName}/src/clientHelper.js`, { paths: [interop] }));
    sdkVersion = require(require.resolve(`${sdkName}/package.json`, { paths: [interop] })).version;
} catch (err) {
    fail(`cannot load ${sdkName} from ${interop}/node_modules (run "make setup-test"): ${err.message}`);
}

let spec;
let ops;
let sample;
let options;

function setup(line) {
    spec = JSON.parse(line);
    const configArgs = {
        publicKeyId: spec.publicKeyId,
        privateKey: fs.readFileSync(spec.pemPath),
        region: spec.region,
        sandbox: spec.sandbox,
        algorithm: spec.algorithm,
    };
    // The SDK's own preparation (adds "sandbox/v2/" to the URL fragment); signHeaders does
    // not modify its options, so one prepared request is signed over and over.
    options = helper.prepareOptions(configArgs, {
        method: spec.method,
        urlFragment: spec.resource,
        payload: spec.payload,
        headers: spec.headers,
    });
    const keyObject = crypto.createPrivateKey(configArgs.privateKey);
    const pss = { key: keyObject, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    ops = {
        signHeaders: () => {
            sample = helper.signHeaders(configArgs, options);
        },
        raw: () => crypto.createSign('RSA-SHA256').update(spec.stringToSign).sign(pss, 'base64'),
    };
    ops.signHeaders(); // at least one signed request for "sample", even without warmup
    for (const fn of Object.values(ops)) {
        for (let i = 0; i < spec.warmup; i++) fn();
    }
    reply({ ready: true, sdkVersion, node: process.versions.node, openssl: process.versions.openssl });
}

function batch(fn) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < spec.iterations; i++) fn();
    const elapsedNs = process.hrtime.bigint() - started;
    return Number(elapsedNs) / 1000 / spec.iterations;
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on('line', (line) => {
    line = line.trim();
    if (!line) return;
    if (!spec) return setup(line);
    if (line === 'sample') return reply({ method: options.method, path: `/${options.urlFragment}`, headers: sample });
    if (!Object.hasOwn(ops, line)) fail(`unknown command ${JSON.stringify(line)}`);
    reply({ us: batch(ops[line]) });
});
