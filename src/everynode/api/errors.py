"""Kubernetes metav1.Status errors.

Every failure the API server returns is an ``ApiError`` rendered as a
``Status`` object with the upstream reason, code and message shapes.
Field-level validation problems are ``FieldError`` values collected into one
422 ``Invalid`` error whose ``details.causes`` name each field path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

# Field error types and the cause reason each maps to (apimachinery field.ErrorType).
FIELD_REASONS = {
    "Required": "FieldValueRequired",
    "Invalid": "FieldValueInvalid",
    "Unsupported value": "FieldValueNotSupported",
    "Forbidden": "FieldValueForbidden",
    "Duplicate value": "FieldValueDuplicate",
    "Too long": "FieldValueTooLong",
    "Too many": "FieldValueTooMany",
    "Not found": "FieldValueNotFound",
    "Invalid value": "FieldValueInvalid",
    "Internal error": "InternalError",
    "Unknown field": "FieldValueInvalid",
}

_OMIT = object()


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


@dataclass
class FieldError:
    """One field problem: ``type`` is the apimachinery ErrorType text."""

    type: str
    field: str
    detail: str = ""
    value: Any = _OMIT

    @property
    def reason(self) -> str:
        return FIELD_REASONS.get(self.type, "FieldValueInvalid")

    def message(self) -> str:
        """Message without the field path, as used in a cause."""
        if self.type in ("Required", "Forbidden", "Too many", "Internal error"):
            base = "Required value" if self.type == "Required" else self.type
            return f"{base}: {self.detail}" if self.detail else base
        if self.type == "Unsupported value":
            text = f"Unsupported value: {_render_value(self.value)}"
            return f"{text}: {self.detail}" if self.detail else text
        if self.type in ("Duplicate value", "Not found"):
            text = f"{self.type}: {_render_value(self.value)}"
            return f"{text}: {self.detail}" if self.detail else text
        if self.type == "Too long":
            return f"Too long: {self.detail}" if self.detail else "Too long"
        if self.type == "Unknown field":
            return f'unknown field "{self.field}"'
        # Invalid
        text = "Invalid value"
        if self.value is not _OMIT:
            text += f": {_render_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def error(self) -> str:
        return f"{self.field}: {self.message()}" if self.field else self.message()


def required(field: str, detail: str = "") -> FieldError:
    return FieldError("Required", field, detail)


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError("Invalid", field, detail, value)


def not_supported(field: str, value: Any, supported: list[str] | tuple[str, ...]) -> FieldError:
    detail = "supported values: " + ", ".join(orjson.dumps(s).decode() for s in supported)
    return FieldError("Unsupported value", field, detail, value)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError("Forbidden", field, detail)


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError("Duplicate value", field, "", value)


def too_long(field: str, max_len: int) -> FieldError:
    return FieldError("Too long", field, f"may not be more than {max_len} bytes")


def too_many(field: str, actual: int, max_items: int) -> FieldError:
    return FieldError("Too many", field, f"{actual}: must have at most {max_items} items")


class ApiError(Exception):
    """An error the API server answers with as a metav1.Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(name: str | None, group: str, kind: str) -> dict:
    d: dict[str, Any] = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = kind
    return d


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(resource, group)} "{name}" not found',
                    _details(name, group, resource))


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{_qualified(resource, group)} "{name}" already exists',
                    _details(name, group, resource))


def conflict(resource: str, group: str, name: str, why: str | None = None) -> ApiError:
    why = why or ("the object has been modified; please apply your changes to the latest "
                  "version and try again")
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}',
                    _details(name, group, resource))


def invalid_object(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    seen: set[str] = set()
    unique: list[FieldError] = []
    for e in errors:
        text = e.error()
        if text not in seen:
            seen.add(text)
            unique.append(e)
    texts = [e.error() for e in unique]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    qualified = _qualified(kind, group)
    details = _details(name, group, kind)
    details["causes"] = [{"reason": e.reason, "message": e.message(), "field": e.field} for e in unique]
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details)


def path_not_found() -> ApiError:
    """An unknown URL: upstream always sends (empty) details here, and kubectl relies on it."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
                    f'accepted media types include: application/json, application/yaml, '
                    f'application/json-patch+json, application/merge-patch+json, '
                    f'application/strategic-merge-patch+json (got "{content_type}")')


def not_acceptable(message: str) -> ApiError:
    return ApiError(406, "NotAcceptable", message)


def too_large(message: str = "Request entity too large: limit is 3145728") -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}",
                    {"causes": [{"message": message}]})


def timeout(message: str) -> ApiError:
    return ApiError(504, "Timeout", message)


def too_many_requests(message: str, retry_after: int = 1) -> ApiError:
    return ApiError(429, "TooManyRequests", message, {"retryAfterSeconds": retry_after},
                    {"Retry-After": str(retry_after)})
