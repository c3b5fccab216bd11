"""Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``).

client-go's typed clientsets send built-in types as protobuf, and so kubectl
does for what it builds itself: ``create namespace``, ``create
priorityclass``, the Pod of ``debug node/...`` and ``debug --copy-to``, the
DeleteOptions of ``drain --disable-eviction``, ``auth can-i`` and ``auth
whoami``; Go programs also send Eviction and Binding this way.

A body is the 4-byte magic ``k8s\\0`` followed by a ``runtime.Unknown``
message: typeMeta {apiVersion, kind} (1), raw (2, the object message),
contentEncoding (3), contentType (4). The object message is read with the
generic wire format and the field tables of ``protobuf_tables``, giving the
dict the JSON body would have been.

Zero values: go-to-protobuf writes every non-pointer scalar, zero or not,
while Go's JSON encoder leaves out zero ``omitempty`` fields; so a zero
scalar is dropped unless its table entry keeps zeros. An empty Time is Go's
zero time (JSON null) and is dropped too.

A field number missing from the tables is refused (415) instead of being
skipped as Go does: our tables, not the client, would be at fault, and
skipping would silently lose part of the object.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from everynode.api import errors
from everynode.api.errors import ApiError
from everynode.apiserver.protobuf_tables import MESSAGES, SCALARS, TOP_LEVEL, WRAPPERS, Field

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAX_DEPTH = 100

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """Malformed data: not protobuf, or not a Kubernetes envelope (400)."""


class Unsupported(ProtobufError):
    """Well-formed data this server cannot decode (415)."""


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
    """Yield (field number, wire type, value) for each field of a message:
    unsigned ints for varint and fixed fields, bytes for length-delimited ones."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ProtobufError("illegal field number 0")
        value: int | bytes
        if wt == VARINT:
            value, pos = _varint(buf, pos)
        elif wt in (FIXED64, FIXED32):
            size = 8 if wt == FIXED64 else 4
            if pos + size > len(buf):
                raise ProtobufError(f"unexpected end of data in field {num}")
            value, pos = int.from_bytes(buf[pos:pos + size], "little"), pos + size
        elif wt == BYTES:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise ProtobufError(f"length of field {num} ({n}) runs past the end of the data")
            value, pos = buf[pos:pos + n], pos + n
        else:
            raise ProtobufError(f"unsupported wire type {wt} for field {num}")
        yield num, wt, value


# ------------------------------------------------------------------ decoding


def _bytes(value: int | bytes, wt: int, where: str) -> bytes:
    if not isinstance(value, bytes):
        raise ProtobufError(f"{where}: wrong wire type {wt} for a length-delimited field")
    return value


def _string(value: int | bytes, wt: int, where: str) -> str:
    try:
        return _bytes(value, wt, where).decode()
    except UnicodeDecodeError:
        raise ProtobufError(f"{where}: string is not valid UTF-8") from None


def _scalar(typ: str, wt: int, value: int | bytes, where: str) -> Any:
    if typ == "string":
        return _string(value, wt, where)
    if typ == "bytes":
        return base64.b64encode(_bytes(value, wt, where)).decode()
    if not isinstance(value, int):
        raise ProtobufError(f"{where}: wrong wire type {wt} for a {typ}")
    if typ == "bool":
        return value != 0
    if wt == FIXED32:
        return value - (1 << 32) if value >= 1 << 31 else value
    # int32 and int64 negatives are both sign-extended to 64 bits
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(buf: bytes, where: str) -> str | None:
    if not buf:
        return None  # Go's zero time
    seconds = 0
    for num, wt, value in iter_fields(buf):
        if num == 1:
            seconds = _scalar("int", wt, value, where + ".seconds")
    try:
        t = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtobufError(f"{where}: time out of range ({seconds} seconds)") from None
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")  # metav1.Time marshals to whole seconds


def _wrapper(typ: str, buf: bytes, where: str) -> Any:
    if typ == "time":
        return _time(buf, where)
    if typ == "strlist":
        return [_string(v, wt, where) for num, wt, v in iter_fields(buf) if num == 1]
    fields = {num: (wt, v) for num, wt, v in iter_fields(buf)}
    if typ == "quantity":
        return _string(fields.get(1, (BYTES, b""))[1], fields.get(1, (BYTES, b""))[0], where)
    if typ == "fieldsv1":
        raw = _bytes(fields.get(1, (BYTES, b""))[1], fields.get(1, (BYTES, b""))[0], where)
        try:
            return orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            raise ProtobufError(f"{where}: raw value is not JSON") from None
    # intorstring: type 0 = int (intVal), 1 = string (strVal)
    if _scalar("int", *fields.get(1, (VARINT, 0)), where + ".type") == 1:
        return _string(fields.get(3, (BYTES, b""))[1], fields.get(3, (BYTES, b""))[0], where)
    return _scalar("int", *fields.get(2, (VARINT, 0)), where + ".intVal")


def _value(typ: str, wt: int, value: int | bytes, where: str, depth: int) -> Any:
    if typ in SCALARS:
        return _scalar(typ, wt, value, where)
    buf = _bytes(value, wt, where)
    if typ in WRAPPERS:
        return _wrapper(typ, buf, where)
    return decode_message(typ, buf, where, depth + 1)


def _is_zero(v: Any) -> bool:
    return v is None or (not isinstance(v, dict | list) and v in ("", 0, False))


def _packed(buf: bytes) -> Iterator[int]:
    pos = 0
    while pos < len(buf):
        v, pos = _varint(buf, pos)
        yield v


def _map_entry(f: Field, wt: int, value: int | bytes, where: str, depth: int) -> tuple[str, Any]:
    key, val = "", None
    for num, ewt, ev in iter_fields(_bytes(value, wt, where)):
        if num == 1:
            key = _string(ev, ewt, where + " key")
        elif num == 2:
            val = _value(f.type, ewt, ev, f"{where}[{key}]", depth)
    if val is None:  # an absent value is the type's zero value
        val = {"string": "", "int": 0, "bool": False, "bytes": "", "strlist": []}.get(f.type, {})
    return key, val


def decode_message(name: str, buf: bytes, where: str = "", depth: int = 0) -> dict:
    """Decode one message of type ``name`` into its JSON dict."""
    if depth > MAX_DEPTH:
        raise ProtobufError("messages nested too deeply")
    table = MESSAGES[name]
    out: dict[str, Any] = {}
    for num, wt, value in iter_fields(buf):
        f = table.get(num)
        if f is None:
            raise Unsupported(f"field {num} of {name}{' at ' + where if where else ''} is not known to "
                              f"this server")
        path = f"{where}.{f.name}" if where and f.name != "-" else (where if f.name == "-" else f.name)
        if f.name == "-":
            out.update(decode_message(f.type, _bytes(value, wt, path), path, depth + 1))
        elif f.repeated:
            if f.type in ("int", "bool") and wt == BYTES:  # packed encoding
                items = [_scalar(f.type, VARINT, v, path) for v in _packed(_bytes(value, wt, path))]
            else:
                items = [_value(f.type, wt, value, path, depth)]
            out.setdefault(f.name, []).extend(items)
        elif f.map:
            k, v = _map_entry(f, wt, value, path, depth)
            out.setdefault(f.name, {})[k] = v
        else:
            v = _value(f.type, wt, value, path, depth)
            if v is None or (_is_zero(v) and not f.keep_zero):
                out.pop(f.name, None)
            else:
                out[f.name] = v
    return out


def message_for(api_version: str, kind: str) -> str | None:
    """The table message for a top-level (apiVersion, kind), if any."""
    if kind == "DeleteOptions":
        return "DeleteOptions"
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return TOP_LEVEL.get((group, kind))


def decode(raw: bytes) -> dict:
    """Decode a whole body (magic + runtime.Unknown) into the JSON dict.

    Raises ProtobufError for malformed data, Unsupported for well-formed data
    this server has no table for.
    """
    if not raw.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf prefix k8s\\x00")
    api_version = kind = ""
    body = b""
    for num, wt, value in iter_fields(raw[len(MAGIC):]):
        if num == 1:
            tm = decode_message("runtime.TypeMeta", _bytes(value, wt, "typeMeta"), "typeMeta")
            api_version, kind = tm.get("apiVersion", ""), tm.get("kind", "")
        elif num == 2:
            body = _bytes(value, wt, "raw")
        elif num == 3 and (enc := _string(value, wt, "contentEncoding")):
            raise Unsupported(f"content encoding {enc!r} is not supported")
        elif num == 4 and (ct := _string(value, wt, "contentType")) not in ("", MEDIA_TYPE):
            raise Unsupported(f"inner content type {ct!r} is not supported")
    name = message_for(api_version, kind)
    if name is None:
        kinds = ", ".join(sorted({k for _, k in TOP_LEVEL} | {"DeleteOptions"}))
        raise Unsupported(f"no protobuf decoding for {kind or '<no kind>'} in "
                          f"{api_version or '<no apiVersion>'} (protobuf is accepted for {kinds})")
    obj: dict[str, Any] = {}
    if kind:
        obj["kind"] = kind
    if api_version:
        obj["apiVersion"] = api_version
    obj.update(decode_message(name, body))
    return obj


def parse(raw: bytes) -> dict:
    """``decode`` with failures turned into Status errors: 400 BadRequest for
    malformed data, 415 UnsupportedMediaType for what the tables lack."""
    try:
        return decode(raw)
    except Unsupported as exc:
        raise ApiError(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - {exc}; "
                       f"send it as application/json instead") from None
    except ProtobufError as exc:
        raise errors.bad_request(f"error decoding protobuf body: {exc}") from None
