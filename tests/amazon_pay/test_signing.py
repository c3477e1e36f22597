"""Known-answer tests for shop.amazon_pay.signing, with the official SDKs' own vectors.

Vectors: .NET SDK CreateStringToSignTest.cs, Java SDK testdata.js, Amazon's "Signing
requests" page, and signatures produced by the official Node.js SDK 2.3.3:
https://github.com/amzn/amazon-pay-api-sdk-dotnet/blob/master/Amazon.Pay.API.SDK.Tests/CreateStringToSignTest.cs
https://github.com/amzn/amazon-pay-api-sdk-java/blob/master/tst/com/amazon/pay/api/testdata.js
https://developer.amazon.com/docs/amazon-pay-api-v2/signing-requests.html
https://github.com/amzn/amazon-pay-api-sdk-nodejs/blob/master/src/clientHelper.js
"""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from shop.amazon_pay import signing

EU_HEADERS = {
    "accept": "application/json",
    "content-type": "application/json",
    "x-amz-pay-date": "20180524T223710Z",
    "x-amz-pay-host": "pay-api.amazon.eu",
    "x-amz-pay-region": "eu",
}

# .NET SDK CreateStringToSignTest.cs: (method, path, query, expected string-to-sign hash)
DOTNET_VECTORS = [
    ("GET", "/", None, "13fdf6db844bdfb9e9c0e27a4251ca04e60c29ca2132249c5dd1cb09c26e22f5"),
    ("GET", "///foo//", None, "d8e13e1857bc9b5056cc8ccb2699812faa2c68960e00483b1390fdaf4a991cc4"),
    (
        "GET",
        "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        None,
        "585e034d38ed3d64c0cd77a9f357a4b4a0fc093eebe06f4b06f66845e3543038",
    ),
    ("GET", "/", {"\u1234": ["bar"]}, "f0597d2fdcf97baf28002461796e916a74e35073b44042296d2ed45bacf6ecf0"),
    ("POST", "/", None, "322307b5dae22c3d59350c3de9202a488f337f674c8f430b186282008264bd2b"),
    ("POST", "/", {"foo": ["bar"]}, "9d61b5abddbfdcaf7810a8e83dfffe0a5d5f272d2676c0550d974d5383e94cd5"),
    ("GET", "/", {"foo": ["b", "a"]}, "937de37fb8aed8af4214c373580c72f40c525202d1975df6836ba6ed0062b902"),
    ("GET", "/", {"a": ["foo"], "b": ["foo"]}, "457de2535eedbd6ef25f5c8ec4653ee885b99838d722189928f4fdf8d3c3ef4f"),
    (
        "GET",
        "/",
        {"A.1": ["foo"], "A.10": ["foo"], "A.2": ["foo"]},
        "43ae5290e6742d30e3822b62b6d759afedafbe01534f778175c336b455d632e7",
    ),
    ("GET", "/", {"foo": ["Zoo", "aha"]}, "7a4d89bd832cb93f2102f66bc8d3a0bc5f224c0bb758eab261dcd34a8ed2f117"),
    (
        "GET",
        "/",
        {
            "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz": [
                "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            ]
        },
        "aa69ca06d93d9220f9aa16314d8556e18e1b0ae39802cd169bd3af6c08cd7164",
    ),
    (
        "POST",
        "/",
        {'@#$%^&+=/,?><`";:\\|][{} ': ['@#$%^&+=/,?><`";:\\|][{} ']},
        "50709f5220d06911feee2d6aa8bf8453c8517f44527c0912e62b905d26c7e08f",
    ),
    ("POST", "/", {"f oo": ["b ar"]}, "79481e4e38a053f7be8bda701c0d302d39df18bf468578b133c3be8e93fea86a"),
]


@pytest.mark.parametrize("algorithm", [signing.ALGORITHM_V1, signing.ALGORITHM_V2])
@pytest.mark.parametrize(("method", "path", "query", "expected"), DOTNET_VECTORS)
def test_string_to_sign_matches_dotnet_sdk(method, path, query, expected, algorithm):
    canonical = signing.canonical_request(method, path, query, EU_HEADERS, b"")
    assert signing.string_to_sign(canonical, algorithm) == f"{algorithm}\n{expected}"


def test_canonical_request_layout_matches_java_sdk_byte_for_byte():
    # Java testdata.js #16 post-vanilla-query-nonunreserved (x-amz-pay-region: EU, upper case in Java).
    headers = dict(EU_HEADERS, **{"x-amz-pay-region": "EU"})
    weird = '@#$%^&+=/,?><`";:\\|][{} '
    canonical = signing.canonical_request("POST", "/", {weird: [weird]}, headers, b"")
    encoded = "%40%23%24%25%5E%26%2B%3D%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D%20"
    assert canonical == (
        f"POST\n/\n{encoded}={encoded}\naccept:application/json\ncontent-type:application/json\n"
        "x-amz-pay-date:20180524T223710Z\nx-amz-pay-host:pay-api.amazon.eu\nx-amz-pay-region:EU\n\n"
        "accept;content-type;x-amz-pay-date;x-amz-pay-host;x-amz-pay-region\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert signing.string_to_sign(canonical, signing.ALGORITHM_V1).endswith(
        "66bbbf2b5d6d297a9393abbc0b4f9d62e30666bb0ec0dea8f1d4e45551440e4c"
    )


def test_amazon_documentation_example_with_body():
    # Signing page example (https://developer.amazon.com/docs/amazon-pay-api-v2/signing-requests.html),
    # with the body published by a third-party SDK test.
    body = (
        '{"webCheckoutDetail":{"checkoutReviewReturnUrl":"https://example.jp/merchant-review-page"},'
        '"storeId":"amzn1.store.id"}'
    )
    headers = {
        "accept": "application/json",
        "content-type": "application/json",
        "x-amz-pay-date": "20190923T231908Z",
        "x-amz-pay-host": "pay-api.amazon.com",
        "x-amz-pay-idempotency-key": "cllHyiNvS8cJ8Zas",
        "x-amz-pay-region": "us",
    }
    canonical = signing.canonical_request("POST", "/live/v1/checkoutSessions", None, headers, body)
    assert canonical.endswith("\nc24cf3344641ba92f4d16246aab4d6f28325b7466d7adee5bc3bd2f23fdc4949")
    assert signing.string_to_sign(canonical, signing.ALGORITHM_V1) == (
        "AMZN-PAY-RSASSA-PSS\n1efa4e9e223184a6d9cddb0b474be79cdd0bafcb298dc85d72c0a69a60588e63"
    )


# The Java/PHP SDKs' unit-test public key; the signatures below were made by the official
# Node.js SDK 2.3.3 with the matching private key:
# https://github.com/amzn/amazon-pay-api-sdk-java/blob/master/tst/com/amazon/pay/api/unit_test_public_key.txt
SDK_TEST_PUBLIC_KEY = b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA6Eqj050ePXhA39d4FyvS
QyIbW9frefsjw9JSPIRHX4XimpAOgJ75BmG/wptqXOG79xDyWOXmHHz5alRjvoQA
lI7HOdnScWxHO+9esm1koJyvug23Pa5KN8j7BYRpFOuYhFS8hxUEsmMYSw7iIsck
bqBB7VzxnGfP10kNcAhJ+GSbHN74CsqJJkX+66m85Mrb/13QxZVbIsZLwfQ/S12l
StvI1rjtyXBEmfEWNOZLQdPdM2QBkCm+vp9QjsD2zpINCCazp+DibqjcCtSGN2mS
iraFSBKdg1E55K11E56pF55BsZk5lo8/aGAMEYzJB4XYwaMV21Fadg8sM0NRlBFl
uwIDAQAB
-----END PUBLIC KEY-----
"""

NODE_POST_HEADERS = {
    "accept": "application/json",
    "content-type": "application/json",
    "user-agent": "amazon-pay-api-sdk-nodejs/2.3.3 (JS/20.20.2; linux)",
    "x-amz-pay-date": "2024-01-02T03:04:05Z",
    "x-amz-pay-host": "pay-api.amazon.com",
    "x-amz-pay-idempotency-key": "abc123",
    "x-amz-pay-region": "na",
}
NODE_POST_BODY = (
    '{"webCheckoutDetails":{"checkoutReviewReturnUrl":"https://a.com/r"},"storeId":"amzn1.application-oa2-client.x"}'
)
NODE_SIGNATURES = {
    signing.ALGORITHM_V1: (
        "GGGcNpcpwgUtMxrsuGDVYttCVPFPMYl3GOa58rd7JwuMmI2kPwt/U01dnhAtxgZ5EYkdrdBfE5qflMWlUNczxgwSviKj6UXdE6UHZHWofFYq"
        "ycCqL/Zd+ujXiW+sHhSsHAL81sxi1nYughl/TEwvGDboNdXRe4xrXq35q5k8E5iC8S+Yr2z6T2NdHx4ewQVILNT3fJNN6yQRZkMDbv14lcyu"
        "EODD5hpokk23ScQ6IRp6z9HapQqwOaVTBJGH+j4/uZsQN4k+Yt/m3+Vqv3k4gYkjC6hYxGSLrJQKLazIoGnX4ImRWMqqalRtqOMTFvLcEDpR"
        "0fYgDq9SwfdjNFN7pA=="
    ),
    signing.ALGORITHM_V2: (
        "H2YPLjkJyjKsIRt2yN+IHs7o1bLG0iIHasketDuufSxJj4e+xFmNNR0p2PSJb+UHwHgSQ5+XC2YcNzYH8TPE9i/gHA9wbY4qY+sGHK4KoSOF"
        "4KtjwjEb5swcWVfOj38sH6hfH5DMjJ75zovEdzFNzCZQkvrr5tvKWKi92yC3yNkF9jCLxWQVLHgoDIh29ZaL1eKEDsS6qdeD0DIv2Jt7VSmv"
        "gKIVk70T36d9m04NxSoktwN4zb8aLjfHR3k7zIgkctpIR2AFolgeoH2ROS6REpDf5BNzDksLHXTk6i7c6fgX+SIdXAqt8v2PBKPp2fTW2UPo"
        "4Is7kza/LkZnXljo1w=="
    ),
}


def _verify(text: str, signature_b64: str, salt: int) -> None:
    public_key = serialization.load_pem_public_key(SDK_TEST_PUBLIC_KEY)
    public_key.verify(
        base64.b64decode(signature_b64),
        text.encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt),
        hashes.SHA256(),
    )


@pytest.mark.parametrize("algorithm", [signing.ALGORITHM_V1, signing.ALGORITHM_V2])
def test_official_node_sdk_signatures_verify_over_our_string_to_sign(algorithm):
    canonical = signing.canonical_request(
        "POST", "/sandbox/v2/checkoutSessions", None, NODE_POST_HEADERS, NODE_POST_BODY
    )
    assert signing.hex_sha256(canonical) == "cc6927af687a65a7db0488f6c8a1d7ff51f00223fc73632137f8fb1e4b83e86b"
    _verify(signing.string_to_sign(canonical, algorithm), NODE_SIGNATURES[algorithm], signing.SALT_LENGTHS[algorithm])


def test_salt_length_is_part_of_the_algorithm():
    canonical = signing.canonical_request(
        "POST", "/sandbox/v2/checkoutSessions", None, NODE_POST_HEADERS, NODE_POST_BODY
    )
    v1_text = signing.string_to_sign(canonical, signing.ALGORITHM_V1)
    with pytest.raises(InvalidSignature):
        _verify(v1_text, NODE_SIGNATURES[signing.ALGORITHM_V1], salt=32)


def test_node_sdk_get_with_query_and_environment_specific_key():
    headers = {k: v for k, v in NODE_POST_HEADERS.items() if k != "x-amz-pay-idempotency-key"}
    headers.update({"x-amz-pay-host": "pay-api.amazon.eu", "x-amz-pay-region": "eu"})
    query = {"pageSize": "10", "reportTypes": "_GET_FLAT_FILE_OFFAMAZONPAYMENTS_ORDER_REFERENCE_DATA_"}
    canonical = signing.canonical_request("GET", "/v2/reports", query, headers, b"")
    assert signing.string_to_sign(canonical, signing.ALGORITHM_V2) == (
        "AMZN-PAY-RSASSA-PSS-V2\n99cd6c60cd93b25d9ac74a1b302cad03cf90ede515fcf48124b9754fe1f3d331"
    )


@pytest.mark.parametrize("algorithm", [signing.ALGORITHM_V1, signing.ALGORITHM_V2])
def test_our_signatures_verify_and_are_randomised(private_key, algorithm):
    canonical = signing.canonical_request("GET", "/v2/checkoutSessions/abc", None, EU_HEADERS, b"")
    text = signing.string_to_sign(canonical, algorithm)
    first, second = signing.sign(text, private_key, algorithm), signing.sign(text, private_key, algorithm)
    assert first != second  # PSS: verify signatures, never compare them
    for signature in (first, second):
        private_key.public_key().verify(
            base64.b64decode(signature), text.encode(), signing.pss_padding(algorithm), hashes.SHA256()
        )


def test_authorization_header_format(private_key):
    value = signing.sign_request(
        "POST", "/v2/checkoutSessions", None, EU_HEADERS, b"{}", private_key, "SANDBOX-KEY", signing.ALGORITHM_V2
    )
    prefix = (
        "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=SANDBOX-KEY, "
        "SignedHeaders=accept;content-type;x-amz-pay-date;x-amz-pay-host;x-amz-pay-region, Signature="
    )
    assert value.startswith(prefix)
    assert len(base64.b64decode(value[len(prefix) :], validate=True)) == 256


def test_button_signature_covers_the_exact_payload_string(private_key):
    payload = (
        '{"storeId":"amzn1.application-oa2-client.x","webCheckoutDetails":{"checkoutReviewReturnUrl":"https://a/r"}}'
    )
    signature = signing.sign_button_payload(payload, private_key)
    text = f"AMZN-PAY-RSASSA-PSS-V2\n{signing.hex_sha256(payload)}"
    key, pad = private_key.public_key(), signing.pss_padding(signing.ALGORITHM_V2)
    key.verify(base64.b64decode(signature), text.encode(), pad, hashes.SHA256())
    reserialised = payload.replace("/", "\\/")  # what PHP's json_encode would emit: a different string
    with pytest.raises(InvalidSignature):
        key.verify(
            base64.b64decode(signature),
            f"AMZN-PAY-RSASSA-PSS-V2\n{signing.hex_sha256(reserialised)}".encode(),
            pad,
            hashes.SHA256(),
        )


def test_button_payload_must_be_a_string(private_key):
    with pytest.raises(TypeError, match="payload string"):
        signing.sign_button_payload({"storeId": "x"}, private_key)


def test_unknown_algorithm_is_refused(private_key):
    with pytest.raises(ValueError, match="Unsupported signature algorithm"):
        signing.string_to_sign("GET\n/", "HMAC-SHA256")
