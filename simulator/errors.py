"""Amazon Pay's error answers: an HTTP status and a ``{"reasonCode", "message"}`` body.

Codes and statuses follow Amazon's "Error handling" page
(https://developer.amazon.com/docs/amazon-pay-api-v2/error-handling.html); statuses it does not
make clear (403, 404, 409, 422, …) follow third-party integrations that agree with each other.
"""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, reason_code: str, message: str):
        super().__init__(f"{status} {reason_code}: {message}")
        self.status = status
        self.reason_code = reason_code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"reasonCode": self.reason_code, "message": self.message}


def missing_parameter(name: str) -> ApiError:
    return ApiError(400, "MissingParameterValue", f"The mandatory field {name} is missing.")


def invalid_parameter(name: str, detail: str = "") -> ApiError:
    suffix = f" {detail}" if detail else ""
    return ApiError(400, "InvalidParameterValue", f"The value provided for {name} is invalid.{suffix}")


def unrecognized_field(name: str) -> ApiError:
    return ApiError(400, "UnrecognizedField", f"The field {name} is not recognized.")


def missing_header(name: str) -> ApiError:
    return ApiError(400, "MissingHeader", f"The mandatory header {name} is missing.")


def invalid_header(name: str, value: str | None = None, detail: str = "") -> ApiError:
    shown = f" {value}" if value is not None else ""
    return ApiError(400, "InvalidHeaderValue", f"The value{shown} provided for {name} is invalid.{detail}")


def not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, "ResourceNotFound", f"{kind} with id {object_id} was not found.")


def invalid_status(kind: str, state: str, operation: str) -> ApiError:
    code = {
        "Checkout Session": "InvalidCheckoutSessionStatus",
        "Charge Permission": "InvalidChargePermissionStatus",
        "Charge": "InvalidChargeStatus",
    }[kind]
    return ApiError(
        422,
        code,
        f"You tried to call {operation} on a {kind} that is in {state} state, where that operation is not allowed.",
    )
