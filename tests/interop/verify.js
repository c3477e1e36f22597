'use strict';
// Verifies signatures made by our Python signing code with Node's own crypto, rebuilding the
// canonical request and the string to sign in JavaScript from Amazon Pay's published recipe:
//
//   CanonicalRequest = METHOD \n URI \n QUERY \n (name:value \n per signed header, sorted) \n
//                      SignedHeaders \n hex(sha256(body))
//   StringToSign     = ALGORITHM \n hex(sha256(CanonicalRequest))          (API requests)
//   StringToSign     = ALGORITHM \n hex(sha256(payload))                   (button payloads)
//   Signature        = RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 (…-V2) or 20 (AMZN-PAY-RSASSA-PSS)
//
// Usage: node verify.js cases.json  -> prints {"results": [{name, valid, ...}]} on stdout.
// Input: {"publicKeyPem": "...", "cases": [
//   {"name", "kind": "request", "method", "path", "query": [[name, value], ...], "headers": {...}, "bodyBase64"},
//   {"name", "kind": "button", "algorithm", "payload", "signature"}]}
// A case may carry "saltLength" to verify with another salt length than its algorithm's.

const crypto = require('crypto');
const fs = require('fs');

const SALT_LENGTHS = { 'AMZN-PAY-RSASSA-PSS': 20, 'AMZN-PAY-RSASSA-PSS-V2': 32 };

const sha256Hex = (data) => crypto.createHash('sha256').update(data).digest('hex');

// RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are; encodeURIComponent also spares !'()*.
function rfc3986(text) {
    return encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalUri(path) {
    const collapsed = (path || '/').replace(/\/+/g, '/');
    return collapsed.split('/').map((segment) => rfc3986(decodeURIComponent(segment))).join('/') || '/';
}

function canonicalQuery(pairs) {
    const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
    return (pairs || [])
        .map(([name, value]) => [rfc3986(String(name)), rfc3986(String(value))])
        .sort((a, b) => compare(a[0], b[0]) || compare(a[1], b[1]))
        .map(([name, value]) => `${name}=${value}`)
        .join('&');
}

function parseAuthorization(value) {
    const pattern = /^(\S+) PublicKeyId=([^,\s]+), SignedHeaders=([^,\s]+), Signature=([A-Za-z0-9+/=]+)$/;
    const match = pattern.exec(value || '');
    if (!match) throw new Error(`unparseable Authorization header: ${String(value).slice(0, 80)}`);
    return { algorithm: match[1], publicKeyId: match[2], signedHeaders: match[3].split(';'), signature: match[4] };
}

function verifyPss(publicKey, text, signatureBase64, saltLength) {
    return crypto.verify(
        'sha256',
        Buffer.from(text, 'utf8'),
        { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength },
        Buffer.from(signatureBase64, 'base64'),
    );
}

function checkRequest(publicKey, c) {
    const headers = {};
    for (const [name, value] of Object.entries(c.headers)) headers[name.toLowerCase()] = String(value);
    const auth = parseAuthorization(headers.authorization);
    const headerBlock = auth.signedHeaders
        .map((name) => {
            if (!(name in headers)) throw new Error(`signed header ${name} was not sent`);
            return `${name}:${headers[name].trim().replace(/\s+/g, ' ')}\n`;
        })
        .join('');
    const canonical = [
        c.method.toUpperCase(),
        canonicalUri(c.path),
        canonicalQuery(c.query),
        headerBlock,
        auth.signedHeaders.join(';'),
        sha256Hex(Buffer.from(c.bodyBase64 || '', 'base64')),
    ].join('\n');
    const stringToSign = `${auth.algorithm}\n${sha256Hex(canonical)}`;
    const saltLength = c.saltLength !== undefined ? c.saltLength : SALT_LENGTHS[auth.algorithm];
    if (saltLength === undefined) throw new Error(`unknown algorithm ${auth.algorithm}`);
    const expectedSigned = Object.keys(headers).filter((n) => n !== 'authorization').sort();
    return {
        valid: verifyPss(publicKey, stringToSign, auth.signature, saltLength),
        algorithm: auth.algorithm,
        publicKeyId: auth.publicKeyId,
        saltLength,
        signedHeaders: auth.signedHeaders.join(';'),
        signedHeadersSorted: auth.signedHeaders.join(';') === [...auth.signedHeaders].sort().join(';'),
        signsEveryHeaderSent: auth.signedHeaders.join(';') === expectedSigned.join(';'),
        canonicalRequest: canonical,
        stringToSign,
    };
}

function checkButton(publicKey, c) {
    const saltLength = c.saltLength !== undefined ? c.saltLength : SALT_LENGTHS[c.algorithm];
    if (saltLength === undefined) throw new Error(`unknown algorithm ${c.algorithm}`);
    const stringToSign = `${c.algorithm}\n${sha256Hex(Buffer.from(c.payload, 'utf8'))}`;
    const valid = verifyPss(publicKey, stringToSign, c.signature, saltLength);
    return { valid, algorithm: c.algorithm, saltLength, stringToSign };
}

const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const publicKey = crypto.createPublicKey(input.publicKeyPem);
const results = input.cases.map((c) => {
    try {
        const check = c.kind === 'button' ? checkButton : checkRequest;
        return Object.assign({ name: c.name }, check(publicKey, c));
    } catch (error) {
        return { name: c.name, valid: false, error: String(error.message || error) };
    }
});
process.stdout.write(JSON.stringify({ node: process.versions.node, results }));
