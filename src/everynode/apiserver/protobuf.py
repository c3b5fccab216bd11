"""Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``).

client-go's typed clientsets send built-in types as protobuf, so kubectl does
too for its generators and helpers (``create namespace``, ``create
priorityclass``, the Eviction that ``drain`` posts, ``auth can-i`` ...).

A body is the 4-byte magic ``k8s\\0`` followed by a ``runtime.Unknown``
message: typeMeta {apiVersion, kind}, raw (the object message),
contentEncoding, contentType. The object message is decoded with the generic
protobuf wire format and a table per message type mapping field numbers
(from upstream's generated.proto files) to JSON field names, producing the
dict the JSON body would have had.

Zero values: go-to-protobuf writes every non-pointer scalar, zero or not,
while Go's JSON encoder leaves out zero ``omitempty`` fields. So a zero
scalar is dropped unless its table entry is marked ``*`` (a pointer, where
zero differs from unset, or a field without omitempty). An empty Time
message is Go's zero time: JSON null, dropped too.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from everynode.api import errors
from everynode.api.errors import ApiError

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAX_DEPTH = 64

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """The body is not well-formed protobuf (or not a Kubernetes envelope)."""


class UnknownMessageType(ProtobufError):
    """A well-formed envelope around a type we have no table for."""

    def __init__(self, api_version: str, kind: str):
        self.api_version, self.kind = api_version, kind
        super().__init__(f"no protobuf decoding for {kind or '<empty kind>'} "
                         f"in {api_version or '<empty apiVersion>'}")


# --------------------------------------------------------------- wire format


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("unexpected end of data inside a varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) for each field of a message.

    Varint and fixed values come back as unsigned ints, length-delimited ones
    as bytes.
    """
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ProtobufError("illegal field number 0")
        if wt == VARINT:
            value, pos = _varint(buf, pos)
        elif wt == FIXED64:
            if pos + 8 > len(buf):
                raise ProtobufError(f"unexpected end of data in fixed64 field {num}")
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wt == FIXED32:
            if pos + 4 > len(buf):
                raise ProtobufError(f"unexpected end of data in fixed32 field {num}")
            value, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        elif wt == BYTES:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise ProtobufError(f"length of field {num} ({n}) runs past the end of the data")
            value, pos = buf[pos:pos + n], pos + n
        else:
            raise ProtobufError(f"unsupported wire type {wt} for field {num}")
        yield num, wt, value


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


# ------------------------------------------------------------- message table
#
# Message name -> {field number: (json name, type)}. A type is a scalar
# ("string", "int", "bool", "bytes"), a well-known wrapper ("time",
# "microtime", "quantity", "intorstring", "fieldsv1") or a message name;
# prefixes: "[]" repeated, "map:" map with string keys, "*" keep zero values.

MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    # k8s.io/apimachinery/pkg/runtime
    "runtime.TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    # k8s.io/apimachinery/pkg/apis/meta/v1
    "ObjectMeta": {
        1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
        4: ("selfLink", "string"), 5: ("uid", "string"), 6: ("resourceVersion", "string"),
        7: ("generation", "int"), 8: ("creationTimestamp", "time"), 9: ("deletionTimestamp", "time"),
        10: ("deletionGracePeriodSeconds", "*int"), 11: ("labels", "map:string"),
        12: ("annotations", "map:string"), 13: ("ownerReferences", "[]OwnerReference"),
        14: ("finalizers", "[]string"), 17: ("managedFields", "[]ManagedFieldsEntry"),
    },
    "OwnerReference": {
        5: ("apiVersion", "*string"), 1: ("kind", "*string"), 3: ("name", "*string"),
        4: ("uid", "*string"), 6: ("controller", "*bool"), 7: ("blockOwnerDeletion", "*bool"),
    },
    "ManagedFieldsEntry": {
        1: ("manager", "string"), 2: ("operation", "string"), 3: ("apiVersion", "string"),
        4: ("time", "time"), 6: ("fieldsType", "string"), 7: ("fieldsV1", "fieldsv1"),
        8: ("subresource", "string"),
    },
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "*int"), 2: ("preconditions", "Preconditions"),
        3: ("orphanDependents", "*bool"), 4: ("propagationPolicy", "*string"),
        5: ("dryRun", "[]string"), 6: ("ignoreStoreReadErrorWithClusterBreakingPotential", "*bool"),
    },
    "Preconditions": {1: ("uid", "*string"), 2: ("resourceVersion", "*string")},
    "LabelSelector": {1: ("matchLabels", "map:string"),
                      2: ("matchExpressions", "[]LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: ("key", "*string"), 2: ("operator", "*string"),
                                 3: ("values", "[]string")},
    "FieldSelectorRequirement": {1: ("key", "*string"), 2: ("operator", "*string"),
                                 3: ("values", "[]string")},
    # k8s.io/api/core/v1
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec"),
                  3: ("status", "NamespaceStatus")},
    "NamespaceSpec": {1: ("finalizers", "[]string")},
    "NamespaceStatus": {1: ("phase", "string"), 2: ("conditions", "[]NamespaceCondition")},
    "NamespaceCondition": {1: ("type", "*string"), 2: ("status", "*string"),
                           4: ("lastTransitionTime", "time"), 5: ("reason", "string"),
                           6: ("message", "string")},
    "Binding": {1: ("metadata", "ObjectMeta"), 2: ("target", "ObjectReference")},
    "ObjectReference": {1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string"),
                        4: ("uid", "string"), 5: ("apiVersion", "string"),
                        6: ("resourceVersion", "string"), 7: ("fieldPath", "string")},
    # k8s.io/api/policy/v1
    "Eviction": {1: ("metadata", "ObjectMeta"), 2: ("deleteOptions", "DeleteOptions")},
    # k8s.io/api/scheduling/v1
    "PriorityClass": {1: ("metadata", "ObjectMeta"), 2: ("value", "*int"), 3: ("globalDefault", "bool"),
                      4: ("description", "string"), 5: ("preemptionPolicy", "*string")},
    # k8s.io/api/authorization/v1
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SelfSubjectAccessReviewSpec"),
                                3: ("status", "SubjectAccessReviewStatus")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"),
                                    2: ("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {
        1: ("namespace", "string"), 2: ("verb", "string"), 3: ("group", "string"),
        4: ("version", "string"), 5: ("resource", "string"), 6: ("subresource", "string"),
        7: ("name", "string"), 8: ("fieldSelector", "FieldSelectorAttributes"),
        9: ("labelSelector", "LabelSelectorAttributes"),
    },
    "FieldSelectorAttributes": {1: ("rawSelector", "string"),
                                2: ("requirements", "[]FieldSelectorRequirement")},
    "LabelSelectorAttributes": {1: ("rawSelector", "string"),
                                2: ("requirements", "[]LabelSelectorRequirement")},
    "NonResourceAttributes": {1: ("path", "string"), 2: ("verb", "string")},
    "SubjectAccessReviewStatus": {1: ("allowed", "*bool"), 4: ("denied", "bool"), 2: ("reason", "string"),
                                  3: ("evaluationError", "string")},
    # k8s.io/api/authentication/v1 (kubectl auth whoami sends only metadata)
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta")},
}

# (API group, kind) of a top-level body -> message. Versions of a group share
# the layout for these kinds; DeleteOptions is registered in every group.
TOP_LEVEL: dict[tuple[str, str], str] = {
    ("", "Namespace"): "Namespace",
    ("", "Binding"): "Binding",
    ("policy", "Eviction"): "Eviction",
    ("scheduling.k8s.io", "PriorityClass"): "PriorityClass",
    ("authorization.k8s.io", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authentication.k8s.io", "SelfSubjectReview"): "SelfSubjectReview",
}

_SCALARS = {"string", "int", "bool", "bytes"}
_WRAPPERS = {"time", "microtime", "quantity", "intorstring", "fieldsv1"}


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def message_for(api_version: str, kind: str) -> str | None:
    if kind == "DeleteOptions":
        return "DeleteOptions"
    return TOP_LEVEL.get((_group(api_version), kind))


# ------------------------------------------------------------------ decoding


def _string(value: int | bytes, where: str) -> str:
    if not isinstance(value, bytes):
        raise ProtobufError(f"{where}: expected a length-delimited string")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise ProtobufError(f"{where}: string is not valid UTF-8") from None


def _scalar(typ: str, wt: int, value: int | bytes, where: str) -> Any:
    if typ == "string":
        return _string(value, where)
    if typ == "bytes":
        if not isinstance(value, bytes):
            raise ProtobufError(f"{where}: expected length-delimited bytes")
        return base64.b64encode(value).decode()
    if not isinstance(value, int):
        raise ProtobufError(f"{where}: wrong wire type {wt} for a {typ}")
    if typ == "bool":
        return value != 0
    if wt == FIXED32:
        return value - (1 << 32) if value >= 1 << 31 else value
    return _signed(value)  # int32 and int64 negatives are both sign-extended to 64 bits


def _time(buf: bytes, where: str, micro: bool) -> str | None:
    if not buf:
        return None  # Go's zero time
    seconds = nanos = 0
    for num, wt, value in iter_fields(buf):
        if num == 1:
            seconds = _scalar("int", wt, value, where + ".seconds")
        elif num == 2:
            nanos = _scalar("int", wt, value, where + ".nanos")
    try:
        t = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtobufError(f"{where}: time out of range ({seconds} seconds)") from None
    if micro:
        return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{max(0, nanos) // 1000:06d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _wrapper(typ: str, buf: bytes, where: str) -> Any:
    if typ in ("time", "microtime"):
        return _time(buf, where, typ == "microtime")
    fields: dict[int, tuple[int, int | bytes]] = {num: (wt, v) for num, wt, v in iter_fields(buf)}
    if typ == "quantity":
        wt, v = fields.get(1, (BYTES, b""))
        return _string(v, where)
    if typ == "fieldsv1":
        wt, v = fields.get(1, (BYTES, b""))
        if not isinstance(v, bytes):
            raise ProtobufError(f"{where}: expected raw JSON bytes")
        try:
            return orjson.loads(v) if v else {}
        except orjson.JSONDecodeError:
            raise ProtobufError(f"{where}: raw value is not JSON") from None
    # intorstring: type 0 = int (intVal), 1 = string (strVal)
    kind = _scalar("int", *fields.get(1, (VARINT, 0)), where + ".type")
    if kind == 1:
        return _string(fields.get(3, (BYTES, b""))[1], where + ".strVal")
    return _scalar("int", *fields.get(2, (VARINT, 0)), where + ".intVal")


def _value(typ: str, wt: int, value: int | bytes, where: str, depth: int) -> Any:
    if typ in _SCALARS:
        return _scalar(typ, wt, value, where)
    if not isinstance(value, bytes):
        raise ProtobufError(f"{where}: wrong wire type {wt} for an embedded message")
    if typ in _WRAPPERS:
        return _wrapper(typ, value, where)
    return decode_message(typ, value, where, depth + 1)


def _is_zero(v: Any) -> bool:
    return v is None or (not isinstance(v, dict | list) and v in ("", 0, False))


def decode_message(name: str, buf: bytes, where: str = "", depth: int = 0) -> dict:
    """Decode one message of type ``name`` into its JSON dict."""
    if depth > MAX_DEPTH:
        raise ProtobufError("messages nested too deeply")
    table = MESSAGES[name]
    out: dict[str, Any] = {}
    for num, wt, value in iter_fields(buf):
        spec = table.get(num)
        if spec is None:
            continue  # unknown fields are skipped, as Go's unmarshaller does
        field, typ = spec
        path = f"{where}.{field}" if where else field
        keep = typ.startswith("*")
        typ = typ.lstrip("*")
        if typ.startswith("[]"):
            el = typ[2:]
            if el in ("int", "bool") and wt == BYTES and isinstance(value, bytes):
                items = [_scalar(el, VARINT, v, path) for v in _packed(value, path)]
            else:
                items = [_value(el, wt, value, path, depth)]
            out.setdefault(field, []).extend(items)
        elif typ.startswith("map:"):
            k, v = _map_entry(typ[4:], wt, value, path, depth)
            out.setdefault(field, {})[k] = v
        else:
            v = _value(typ, wt, value, path, depth)
            if _is_zero(v) and not (keep and v is not None):
                out.pop(field, None)
            else:
                out[field] = v
    return out


def _packed(buf: bytes, where: str) -> list[int]:
    values, pos = [], 0
    while pos < len(buf):
        v, pos = _varint(buf, pos)
        values.append(v)
    return values


def _map_entry(typ: str, wt: int, value: int | bytes, where: str, depth: int) -> tuple[str, Any]:
    if not isinstance(value, bytes):
        raise ProtobufError(f"{where}: wrong wire type {wt} for a map entry")
    key, val = "", None
    for num, ewt, ev in iter_fields(value):
        if num == 1:
            key = _string(ev, where + " key")
        elif num == 2:
            val = _value(typ, ewt, ev, f"{where}[{key}]", depth)
    if val is None:
        val = {"string": "", "int": 0, "bool": False, "bytes": ""}.get(typ, {})
    return key, val


def decode(raw: bytes) -> dict:
    """Decode a whole body (magic + runtime.Unknown) into the JSON dict.

    Raises ProtobufError for malformed data, UnknownMessageType for a type
    without a table.
    """
    if not raw.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf prefix k8s\\x00")
    api_version = kind = ""
    body = b""
    for num, wt, value in iter_fields(raw[len(MAGIC):]):
        if num == 1:  # typeMeta
            tm = decode_message("runtime.TypeMeta", _bytes(value, wt, "typeMeta"), "typeMeta")
            api_version, kind = tm.get("apiVersion", ""), tm.get("kind", "")
        elif num == 2:
            body = _bytes(value, wt, "raw")
        elif num == 3 and (enc := _string(value, "contentEncoding")):
            raise ProtobufError(f"unsupported content encoding {enc!r}")
        elif num == 4 and (ct := _string(value, "contentType")) not in ("", MEDIA_TYPE):
            raise ProtobufError(f"unsupported inner content type {ct!r}")
    name = message_for(api_version, kind)
    if name is None:
        raise UnknownMessageType(api_version, kind)
    obj: dict[str, Any] = {}
    if kind:
        obj["kind"] = kind
    if api_version:
        obj["apiVersion"] = api_version
    obj.update(decode_message(name, body))
    return obj


def _bytes(value: int | bytes, wt: int, where: str) -> bytes:
    if not isinstance(value, bytes):
        raise ProtobufError(f"{where}: wrong wire type {wt} for an embedded message")
    return value


def parse(raw: bytes) -> dict:
    """``decode`` with failures turned into API errors: 400 for bad data,
    415 for a type the server cannot decode from protobuf."""
    try:
        return decode(raw)
    except UnknownMessageType as exc:
        kinds = ", ".join(sorted({k for _, k in TOP_LEVEL} | {"DeleteOptions"}))
        raise ApiError(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - {exc}; protobuf bodies are "
                       f"accepted for {kinds}; send application/json for other kinds") from None
    except ProtobufError as exc:
        raise errors.bad_request(f"error decoding protobuf body: {exc}") from None
