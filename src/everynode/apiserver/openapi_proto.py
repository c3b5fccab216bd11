"""The swagger 2.0 document (/openapi/v2) in protobuf, as gnostic's ``openapi.v2.Document``.

kubectl asks for /openapi/v2 in this encoding only (``Accept:
application/com.github.proto-openapi.spec.v2@v1.0+protobuf``) and reads the answer as
protobuf whatever its content type: it does so to validate a ``kind: List`` file on the
client (``kubectl apply -f`` of what ``kubectl get -o yaml`` wrote), the one kind its
server-side validation check never covers. A JSON answer fails there with "proto: cannot
parse invalid wire-format data".

The encoder walks the JSON document (``openapi.build_v2``) with a table per message: the
field numbers of gnostic's OpenAPIv2.proto. Maps are repeated (name, value) pairs, ``x-``
keys are vendor extensions whose values are YAML text (JSON is YAML), and proto3 leaves
zero values out. A key the tables do not know raises: nothing of the document is dropped
silently.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import orjson

Obj = dict[str, Any]

# ---------------------------------------------------------------- wire format


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64s: ten bytes of two's complement, as Go writes them
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _len(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _varint(len(payload)) + payload


# ------------------------------------------------------------------- fields
# A field's encoder takes (number, JSON value) and returns its bytes ("" for a zero value).

Encoder = Callable[[int, Any], bytes]


def _str(number: int, v: Any) -> bytes:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {v!r}")
    return _len(number, v.encode()) if v else b""


def _strs(number: int, v: Any) -> bytes:
    if not isinstance(v, list):
        raise ValueError(f"expected a list of strings, got {v!r}")
    return b"".join(_len(number, s.encode()) for s in v)


def _bool(number: int, v: Any) -> bytes:
    if not isinstance(v, bool):
        raise ValueError(f"expected a boolean, got {v!r}")
    return _key(number, 0) + b"\x01" if v else b""


def _int(number: int, v: Any) -> bytes:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"expected an integer, got {v!r}")
    return _key(number, 0) + _varint(v) if v else b""


def _double(number: int, v: Any) -> bytes:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"expected a number, got {v!r}")
    return _key(number, 1) + struct.pack("<d", float(v)) if v else b""


def _any_bytes(v: Any) -> bytes:
    return _len(2, orjson.dumps(v))  # Any.yaml: YAML text of the value


def _any(number: int, v: Any) -> bytes:
    return _len(number, _any_bytes(v))


def _anys(number: int, v: Any) -> bytes:
    if not isinstance(v, list):
        raise ValueError(f"expected a list, got {v!r}")
    return b"".join(_len(number, _any_bytes(x)) for x in v)


def _msg(name: str) -> Encoder:
    def enc(number: int, v: Any) -> bytes:
        return _len(number, encode(name, v))
    return enc


def _msgs(name: str) -> Encoder:
    def enc(number: int, v: Any) -> bytes:
        if not isinstance(v, list):
            raise ValueError(f"expected a list of {name}, got {v!r}")
        return b"".join(_len(number, encode(name, x)) for x in v)
    return enc


def _named(name: str) -> Callable[[Obj], bytes]:
    """A map's entries as gnostic's Named<name> messages (field 1: the key, 2: the value)."""
    def enc(v: Obj) -> bytes:
        if not isinstance(v, dict):
            raise ValueError(f"expected an object of {name}, got {v!r}")
        return b"".join(_len(1, _len(1, k.encode()) + _len(2, encode(name, x))) for k, x in v.items())
    return enc


def _vendor(items: list[tuple[str, Any]], number: int) -> bytes:
    return b"".join(_len(number, _len(1, k.encode()) + _len(2, _any_bytes(x))) for k, x in items)


# ----------------------------------------------------------------- messages
# Message -> (JSON key -> (field number, encoder)), and the vendor extensions' field number.

_PRIMITIVE = {"type": _str, "format": _str, "collectionFormat": _str, "default": _any, "maximum": _double,
              "exclusiveMaximum": _bool, "minimum": _double, "exclusiveMinimum": _bool, "maxLength": _int,
              "minLength": _int, "pattern": _str, "maxItems": _int, "minItems": _int, "uniqueItems": _bool,
              "enum": _anys, "multipleOf": _double}
_PRIMITIVE_ORDER = list(_PRIMITIVE)


def _numbered(first: int, keys: list[str], encoders: dict[str, Encoder]) -> dict[str, tuple[int, Encoder]]:
    return {k: (first + i, encoders[k]) for i, k in enumerate(keys)}


def _sub_schema(with_empty_value: bool) -> dict[str, tuple[int, Encoder]]:
    """Header, path, query and formData parameters: the same fields, numbered from 1 with
    allowEmptyValue (query, formData) or without it (header, path)."""
    head = ["required", "in", "description", "name"] + (["allowEmptyValue"] if with_empty_value else [])
    keys = head + ["type", "format", "items", "collectionFormat"] + _PRIMITIVE_ORDER[3:]
    encoders = {**_PRIMITIVE, "required": _bool, "in": _str, "description": _str, "name": _str,
                "allowEmptyValue": _bool, "items": _msg("PrimitivesItems")}
    return _numbered(1, keys, encoders)


_FIELDS: dict[str, dict[str, tuple[int, Encoder]]] = {
    "Document": {"swagger": (1, _str), "info": (2, _msg("Info")), "host": (3, _str), "basePath": (4, _str),
                 "schemes": (5, _strs), "consumes": (6, _strs), "produces": (7, _strs),
                 "paths": (8, _msg("Paths")), "definitions": (9, _msg("Definitions")),
                 "parameters": (10, _msg("ParameterDefinitions")), "responses": (11, _msg("ResponseDefinitions")),
                 "security": (12, _msgs("SecurityRequirement")),
                 "securityDefinitions": (13, _msg("SecurityDefinitions")), "tags": (14, _msgs("Tag")),
                 "externalDocs": (15, _msg("ExternalDocs"))},
    "Info": {"title": (1, _str), "version": (2, _str), "description": (3, _str), "termsOfService": (4, _str),
             "contact": (5, _msg("Contact")), "license": (6, _msg("License"))},
    "Contact": {"name": (1, _str), "url": (2, _str), "email": (3, _str)},
    "License": {"name": (1, _str), "url": (2, _str)},
    "ExternalDocs": {"description": (1, _str), "url": (2, _str)},
    "Tag": {"name": (1, _str), "description": (2, _str), "externalDocs": (3, _msg("ExternalDocs"))},
    "PathItem": {"$ref": (1, _str), "get": (2, _msg("Operation")), "put": (3, _msg("Operation")),
                 "post": (4, _msg("Operation")), "delete": (5, _msg("Operation")),
                 "options": (6, _msg("Operation")), "head": (7, _msg("Operation")),
                 "patch": (8, _msg("Operation")), "parameters": (9, _msgs("ParametersItem"))},
    "Operation": {"tags": (1, _strs), "summary": (2, _str), "description": (3, _str),
                  "externalDocs": (4, _msg("ExternalDocs")), "operationId": (5, _str), "produces": (6, _strs),
                  "consumes": (7, _strs), "parameters": (8, _msgs("ParametersItem")),
                  "responses": (9, _msg("Responses")), "schemes": (10, _strs), "deprecated": (11, _bool),
                  "security": (12, _msgs("SecurityRequirement"))},
    "BodyParameter": {"description": (1, _str), "name": (2, _str), "in": (3, _str), "required": (4, _bool),
                      "schema": (5, _msg("Schema"))},
    "QueryParameterSubSchema": _sub_schema(True),
    "FormDataParameterSubSchema": _sub_schema(True),
    "HeaderParameterSubSchema": _sub_schema(False),
    "PathParameterSubSchema": _sub_schema(False),
    "PrimitivesItems": _numbered(1, ["type", "format", "items", *_PRIMITIVE_ORDER[2:]],
                                 {**_PRIMITIVE, "items": _msg("PrimitivesItems")}),
    "Response": {"description": (1, _str), "schema": (2, _msg("SchemaItem"))},
    "JsonReference": {"$ref": (1, _str), "description": (2, _str)},
    "ApiKeySecurity": {"type": (1, _str), "name": (2, _str), "in": (3, _str), "description": (4, _str)},
    "BasicAuthenticationSecurity": {"type": (1, _str), "description": (2, _str)},
    "Schema": {"$ref": (1, _str), "format": (2, _str), "title": (3, _str), "description": (4, _str),
               "default": (5, _any), "multipleOf": (6, _double), "maximum": (7, _double),
               "exclusiveMaximum": (8, _bool), "minimum": (9, _double), "exclusiveMinimum": (10, _bool),
               "maxLength": (11, _int), "minLength": (12, _int), "pattern": (13, _str), "maxItems": (14, _int),
               "minItems": (15, _int), "uniqueItems": (16, _bool), "maxProperties": (17, _int),
               "minProperties": (18, _int), "required": (19, _strs), "enum": (20, _anys),
               "additionalProperties": (21, _msg("AdditionalPropertiesItem")), "type": (22, _msg("TypeItem")),
               "items": (23, _msg("ItemsItem")), "allOf": (24, _msgs("Schema")),
               "properties": (25, _msg("Properties")), "discriminator": (26, _str), "readOnly": (27, _bool),
               "externalDocs": (29, _msg("ExternalDocs")), "example": (30, _any)},
}
_VENDOR = {"Document": 16, "Info": 7, "Contact": 4, "License": 3, "ExternalDocs": 3, "Tag": 4, "PathItem": 10,
           "Operation": 13, "BodyParameter": 6, "QueryParameterSubSchema": 23, "FormDataParameterSubSchema": 23,
           "HeaderParameterSubSchema": 22, "PathParameterSubSchema": 22, "PrimitivesItems": 18, "Response": 5,
           "ApiKeySecurity": 5, "BasicAuthenticationSecurity": 3, "Schema": 31}
_NON_BODY = {"query": (3, "QueryParameterSubSchema"), "formData": (2, "FormDataParameterSubSchema"),
             "header": (1, "HeaderParameterSubSchema"), "path": (4, "PathParameterSubSchema")}


def _fields(name: str, v: Obj) -> bytes:
    table, vendor_number = _FIELDS[name], _VENDOR.get(name)
    out, vendor = [], []
    for k, x in v.items():
        if k.startswith("x-") and vendor_number is not None:
            vendor.append((k, x))
            continue
        field = table.get(k)
        if field is None:
            raise ValueError(f"{name}: no protobuf field for {k!r}")
        try:
            out.append((field[0], field[1](field[0], x)))
        except ValueError as exc:
            raise ValueError(f"{name}.{k}: {exc}") from None
    out.sort(key=lambda f: f[0])  # fields in number order, as Go's marshaller writes them
    body = b"".join(b for _, b in out)
    return body + _vendor(vendor, vendor_number) if vendor else body


def _split(v: Obj, name: str) -> tuple[Obj, list[tuple[str, Any]]]:
    if not isinstance(v, dict):
        raise ValueError(f"expected an object for {name}, got {v!r}")
    return {k: x for k, x in v.items() if not k.startswith("x-")}, [(k, x) for k, x in v.items() if k.startswith("x-")]


def _paths(v: Obj) -> bytes:
    paths, vendor = _split(v, "Paths")
    return _vendor(vendor, 1) + b"".join(_len(2, _len(1, k.encode()) + _len(2, encode("PathItem", x)))
                                         for k, x in paths.items())


def _responses(v: Obj) -> bytes:
    codes, vendor = _split(v, "Responses")
    return _named("ResponseValue")(codes) + _vendor(vendor, 2)


def _parameters_item(v: Obj) -> bytes:
    if "$ref" in v:
        return _len(2, encode("JsonReference", v))
    return _len(1, encode("Parameter", v))


def _parameter(v: Obj) -> bytes:
    where = v.get("in")
    if where == "body":
        return _len(1, encode("BodyParameter", v))
    if where not in _NON_BODY:
        raise ValueError(f"Parameter: unknown location {where!r}")
    number, sub = _NON_BODY[where]
    return _len(2, _len(number, encode(sub, v)))


def _response_value(v: Obj) -> bytes:
    return _len(2, encode("JsonReference", v)) if "$ref" in v else _len(1, encode("Response", v))


def _additional_properties(v: Any) -> bytes:
    if isinstance(v, bool):
        return _key(2, 0) + (b"\x01" if v else b"\x00")  # set in a oneof: written even when false
    return _len(1, encode("Schema", v))


def _type_item(v: Any) -> bytes:
    return _strs(1, v if isinstance(v, list) else [v])


def _items_item(v: Any) -> bytes:
    return b"".join(_len(1, encode("Schema", x)) for x in (v if isinstance(v, list) else [v]))


def _security_requirement(v: Obj) -> bytes:
    return b"".join(_len(1, _len(1, k.encode()) + _len(2, _strs(1, x))) for k, x in v.items())


def _security_definitions_item(v: Obj) -> bytes:
    kind = v.get("type")
    if kind == "apiKey":
        return _len(2, encode("ApiKeySecurity", v))
    if kind == "basic":
        return _len(1, encode("BasicAuthenticationSecurity", v))
    raise ValueError(f"SecurityDefinitionsItem: unsupported type {kind!r}")


_SPECIAL: dict[str, Callable[[Any], bytes]] = {
    "Paths": _paths, "Responses": _responses, "ParametersItem": _parameters_item, "Parameter": _parameter,
    "ResponseValue": _response_value, "SchemaItem": lambda v: _len(1, encode("Schema", v)),
    "AdditionalPropertiesItem": _additional_properties, "TypeItem": _type_item, "ItemsItem": _items_item,
    "Definitions": _named("Schema"), "Properties": _named("Schema"), "ParameterDefinitions": _named("Parameter"),
    "ResponseDefinitions": _named("Response"), "SecurityDefinitions": _named("SecurityDefinitionsItem"),
    "SecurityRequirement": _security_requirement, "SecurityDefinitionsItem": _security_definitions_item,
}


def encode(message: str, v: Any) -> bytes:
    """``v`` (the JSON form of an OpenAPI v2 object) as the gnostic message ``message``."""
    special = _SPECIAL.get(message)
    if special is not None:
        return special(v)
    if not isinstance(v, dict):
        raise ValueError(f"expected an object for {message}, got {v!r}")
    return _fields(message, v)


def document(doc: Obj) -> bytes:
    """The whole swagger 2.0 document as an ``openapi.v2.Document``."""
    return encode("Document", doc)


# ---------------------------------------------------------------- negotiation

JSON = "application/json"
PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"  # what clients ask for
# What the answer is labelled (an "@" is not valid in a media type: Go's parser refuses it).
PROTOBUF_ANSWER = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_OFFERED = (JSON, PROTOBUF, PROTOBUF_ANSWER)


def negotiate(accept: str | None) -> str | None:
    """The media type /openapi/v2 answers an Accept header with: JSON or protobuf, for the
    first of the client's clauses that accepts one, in kube-openapi's order (goautoneg: higher
    q first, then specific types before wildcards, then the client's order; a clause with q=0
    or an unreadable q still counts, last), or None when no clause does (upstream answers
    406). Either protobuf type is answered as ``PROTOBUF_ANSWER``."""
    clauses: list[tuple[float, bool, bool, str, str]] = []
    for part in (accept or "*/*").split(","):
        items = [p.strip() for p in part.split(";")]
        if not items[0]:
            continue
        q = 1.0
        for p in items[1:]:
            name, _, value = p.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = "*/*" if items[0] == "*" else items[0].lower()
        kind, _, sub = media.partition("/")
        clauses.append((q, kind == "*", sub == "*", kind, sub))
    clauses.sort(key=lambda c: (-c[0], c[1], c[2]))  # stable: the client's order otherwise
    for _, _, _, kind, sub in clauses:
        for offered in _OFFERED:
            o_kind, _, o_sub = offered.partition("/")
            if kind in ("*", o_kind) and sub in ("*", o_sub):
                return offered if offered == JSON else PROTOBUF_ANSWER
    return None
