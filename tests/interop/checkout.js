'use strict';
// Drives the official Amazon Pay Node.js SDK (WebStoreClient) through a whole checkout against
// the offline simulator over HTTPS, playing the buyer through the simulator's /control endpoints.
// Driven by tests/interop/test_interop_node.py; prints one JSON summary on stdout.
//
// Environment:
//   INTEROP_BASE_URL          https://127.0.0.1:<port> (the simulator)
//   INTEROP_KEY_ID            public key id (SANDBOX-… uses /v2/, a plain id with sandbox uses /sandbox/v2/)
//   INTEROP_PRIVATE_KEY_FILE  PEM private key the SDK signs with
//   INTEROP_ALGORITHM         AMZN-PAY-RSASSA-PSS or AMZN-PAY-RSASSA-PSS-V2
//   INTEROP_REGION            us | eu | de | uk | jp
//   INTEROP_SANDBOX           "true" to pass sandbox: true (needed for a plain key id)
//   INTEROP_CURRENCY, INTEROP_AMOUNT, INTEROP_REFUND_AMOUNT  the order's money
//   INTEROP_MODE              "checkout" (default) or "tamper"
//   INTEROP_WRONG_KEY_FILE    (tamper) a private key the simulator does not know for INTEROP_KEY_ID

const fs = require('fs');
const https = require('https');
const crypto = require('crypto');
const { WebStoreClient } = require('@amazonpay/amazon-pay-api-sdk-nodejs');

const env = process.env;
const baseUrl = new URL(env.INTEROP_BASE_URL);
const STORE_ID = 'amzn1.application-oa2-client.0123456789abcdef0123456789abcdef';
// The control endpoints are no part of the SDK: plain HTTPS, self-signed certificate accepted.
const agent = new https.Agent({ rejectUnauthorized: false });

function config(privateKeyFile) {
    const cfg = {
        publicKeyId: env.INTEROP_KEY_ID,
        privateKey: fs.readFileSync(privateKeyFile),
        region: env.INTEROP_REGION,
        algorithm: env.INTEROP_ALGORITHM,
        // The SDK builds `https://${overrideServiceUrl}/…` and sends it as x-amz-pay-host: host:port, no scheme.
        overrideServiceUrl: baseUrl.host,
    };
    if (env.INTEROP_SANDBOX === 'true') cfg.sandbox = true;
    return cfg;
}

function idempotencyKey() {
    return crypto.randomUUID().replace(/-/g, '');
}

// One raw HTTPS request to the simulator: {status, body}.
function send(method, path, signedHeaders, body) {
    const headers = Object.assign({}, signedHeaders);
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    return new Promise((resolve, reject) => {
        const request = https.request(
            { host: baseUrl.hostname, port: baseUrl.port, method, path, headers, agent },
            (response) => {
                const chunks = [];
                response.on('data', (chunk) => chunks.push(chunk));
                response.on('end', () => {
                    const text = Buffer.concat(chunks).toString('utf8');
                    let parsed = null;
                    try {
                        parsed = JSON.parse(text);
                    } catch (e) {
                        parsed = { unparsed: text };
                    }
                    resolve({ status: response.statusCode, body: parsed });
                });
            },
        );
        request.on('error', reject);
        if (body !== undefined) request.write(body);
        request.end();
    });
}

function control(path, payload) {
    const body = JSON.stringify(payload || {});
    return send('POST', `/control${path}`, { 'content-type': 'application/json' }, body);
}

// An SDK call as {status, body, path, algorithm}, whether Amazon answered 2xx or not.
async function sdk(promise) {
    try {
        const response = await promise;
        return {
            status: response.status,
            body: response.data,
            path: response.request && response.request.path,
            algorithm: String(response.config.headers.authorization || '').split(' ')[0],
            requestId: response.headers['x-amz-pay-request-id'] || null,
        };
    } catch (error) {
        if (error && error.response) {
            const path = error.request && error.request.path;
            return { status: error.response.status, body: error.response.data, path };
        }
        return { status: null, body: { error: String(error && (error.stack || error.message || error)) } };
    }
}

// The object's state; control answers carry the session under checkoutSession.
function state(body) {
    const object = body && body.checkoutSession ? body.checkoutSession : body;
    return object && object.statusDetails ? object.statusDetails.state : null;
}

async function checkout() {
    const client = new WebStoreClient(config(env.INTEROP_PRIVATE_KEY_FILE));
    const money = (amount) => ({ amount, currencyCode: env.INTEROP_CURRENCY });
    const steps = {};
    const record = (name, result, extra) => {
        steps[name] = Object.assign({ status: result.status, state: state(result.body) }, extra || {});
        if (!(result.status >= 200 && result.status < 300)) steps[name].error = result.body;
        return result;
    };

    // 1. Button signed by the SDK (generateButtonSignature), clicked by the buyer.
    const buttonPayload = JSON.stringify({
        webCheckoutDetails: { checkoutReviewReturnUrl: 'https://shop.test/checkout/review?step=1&from=/cart' },
        storeId: STORE_ID,
        scopes: ['name', 'email'],
        merchantMetadata: { noteToBuyer: 'Danke schön – ありがとう' },
    });
    const button = await control('/button-checkout', {
        payloadJSON: buttonPayload,
        signature: client.generateButtonSignature(buttonPayload),
        publicKeyId: env.INTEROP_KEY_ID,
        algorithm: env.INTEROP_ALGORITHM,
    });
    record('buttonCheckout', button, { checkoutSessionId: button.body.checkoutSessionId || null });

    // 2. Decoupled checkout: the merchant creates the session with the API.
    const created = record(
        'createCheckoutSession',
        await sdk(
            client.createCheckoutSession(
                {
                    webCheckoutDetails: { checkoutReviewReturnUrl: 'https://shop.test/checkout/review' },
                    storeId: STORE_ID,
                    scopes: ['name', 'email', 'phoneNumber', 'billingAddress'],
                },
                { 'x-amz-pay-idempotency-key': idempotencyKey() },
            ),
        ),
    );
    const sessionId = created.body && created.body.checkoutSessionId;
    Object.assign(steps.createCheckoutSession, {
        path: created.path,
        algorithm: created.algorithm,
        requestId: created.requestId,
        constraints: ((created.body && created.body.constraints) || []).map((c) => c.constraintId),
    });
    if (!sessionId) return { steps };

    record('signInBuyer', await control(`/checkout-sessions/${sessionId}/buyer`, {}));

    const fetched = record('getCheckoutSession', await sdk(client.getCheckoutSession(sessionId)));
    steps.getCheckoutSession.shippingCountry =
        fetched.body && fetched.body.shippingAddress ? fetched.body.shippingAddress.countryCode : null;

    const reference = `node-${sessionId.slice(0, 8)}`;
    const updated = record(
        'updateCheckoutSession',
        await sdk(
            client.updateCheckoutSession(sessionId, {
                webCheckoutDetails: { checkoutResultReturnUrl: 'https://shop.test/checkout/result' },
                paymentDetails: {
                    paymentIntent: 'Authorize',
                    canHandlePendingAuthorization: false,
                    chargeAmount: money(env.INTEROP_AMOUNT),
                },
                // Non-ASCII bytes in a signed body: the SDK hashes the UTF-8 it sends.
                merchantMetadata: { merchantReferenceId: reference, merchantStoreName: 'Café Grüße ✓ 東京' },
            }),
        ),
    );
    Object.assign(steps.updateCheckoutSession, {
        constraints: ((updated.body && updated.body.constraints) || []).map((c) => c.constraintId),
        amazonPayRedirectUrl: Boolean(updated.body && updated.body.webCheckoutDetails.amazonPayRedirectUrl),
        merchantStoreName: updated.body && updated.body.merchantMetadata.merchantStoreName,
    });

    record('passRedirect', await control(`/checkout-sessions/${sessionId}/redirect`, {}));

    const completed = record(
        'completeCheckoutSession',
        await sdk(
            client.completeCheckoutSession(
                sessionId,
                { chargeAmount: money(env.INTEROP_AMOUNT) },
                { 'x-amz-pay-idempotency-key': idempotencyKey() },
            ),
        ),
    );
    const chargeId = completed.body && completed.body.chargeId;
    const chargePermissionId = completed.body && completed.body.chargePermissionId;
    if (!chargeId || !chargePermissionId) return { steps };

    const charge = record('getCharge', await sdk(client.getCharge(chargeId)));
    steps.getCharge.releaseEnvironment = charge.body && charge.body.releaseEnvironment;

    const captured = record(
        'captureCharge',
        await sdk(
            client.captureCharge(
                chargeId,
                { captureAmount: money(env.INTEROP_AMOUNT), softDescriptor: 'NODE INTEROP' },
                { 'x-amz-pay-idempotency-key': idempotencyKey() },
            ),
        ),
    );
    steps.captureCharge.captureAmount = captured.body && captured.body.captureAmount;

    // A retried Create Refund with the same idempotency key must return the same refund.
    const refundKey = idempotencyKey();
    const refundPayload = { chargeId, refundAmount: money(env.INTEROP_REFUND_AMOUNT) };
    const refund = record(
        'createRefund',
        await sdk(client.createRefund(refundPayload, { 'x-amz-pay-idempotency-key': refundKey })),
    );
    const replay = record(
        'createRefundReplay',
        await sdk(client.createRefund(refundPayload, { 'x-amz-pay-idempotency-key': refundKey })),
    );
    steps.createRefund.refundId = refund.body && refund.body.refundId;
    steps.createRefundReplay.refundId = replay.body && replay.body.refundId;

    const permission = record('getChargePermission', await sdk(client.getChargePermission(chargePermissionId)));
    steps.getChargePermission.releaseEnvironment = permission.body && permission.body.releaseEnvironment;

    record(
        'closeChargePermission',
        await sdk(
            client.closeChargePermission(chargePermissionId, {
                closureReason: 'Node SDK interop test – done',
                cancelPendingCharges: false,
            }),
        ),
    );

    return { checkoutSessionId: sessionId, chargeId, chargePermissionId, merchantReferenceId: reference, steps };
}

async function tamper() {
    const payload = {
        webCheckoutDetails: { checkoutReviewReturnUrl: 'https://shop.test/checkout/review' },
        storeId: STORE_ID,
    };
    const results = {};
    const summarise = (result) => ({
        status: result.status,
        reasonCode: (result.body && result.body.reasonCode) || null,
    });

    // 1. The right key id, signed with a private key the simulator does not hold.
    const impostor = new WebStoreClient(config(env.INTEROP_WRONG_KEY_FILE));
    results.wrongPrivateKey = summarise(
        await sdk(impostor.createCheckoutSession(payload, { 'x-amz-pay-idempotency-key': idempotencyKey() })),
    );

    // 2. Headers signed by the SDK for one body; sent once with that body (control), once with another.
    const client = new WebStoreClient(config(env.INTEROP_PRIVATE_KEY_FILE));
    const signedBody = JSON.stringify(payload);
    const options = {
        method: 'POST',
        urlFragment: 'checkoutSessions',
        payload: signedBody,
        headers: { 'x-amz-pay-idempotency-key': idempotencyKey() },
    };
    const headers = client.getSignedHeaders(options); // options.urlFragment now carries /v2 or sandbox/v2
    const path = `/${options.urlFragment}`;
    results.untamperedRawRequest = summarise(await send('POST', path, headers, signedBody));
    const otherHeaders = client.getSignedHeaders(Object.assign({}, options, {
        urlFragment: 'checkoutSessions',
        headers: { 'x-amz-pay-idempotency-key': idempotencyKey() },
    }));
    const tamperedBody = signedBody.replace('review', 'evil');
    results.tamperedBody = summarise(await send('POST', path, otherHeaders, tamperedBody));
    results.path = path;
    return results;
}

(env.INTEROP_MODE === 'tamper' ? tamper() : checkout())
    .then((summary) => process.stdout.write(JSON.stringify(summary), () => process.exit(0)))
    .catch((error) => {
        process.stderr.write(String(error && (error.stack || error)) + '\n');
        process.exit(1);
    });
