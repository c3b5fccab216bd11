"""Request bodies: size limit, JSON/YAML parsing, and the schema check.

The schema check does what Go's decoder does for the real API server: it
drops fields the type does not have (reporting them for fieldValidation)
and rejects values of the wrong JSON type.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import orjson
import yaml
from aiohttp import web

from everynode.api import errors, schema
from everynode.apiserver import cleancheck

MAX_BODY = 3 * 1024 * 1024

try:
    _YamlLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _YamlLoader = yaml.SafeLoader


async def read_body(request: web.Request) -> bytes:
    local = getattr(request, "local_body", None)  # an in-process request (client/local.py): no stream
    if local is not None:
        if len(local) > MAX_BODY:
            raise errors.too_large()
        return local
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise errors.too_large()
    chunks = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_BODY:
            raise errors.too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse(raw: bytes, content_type: str | None) -> Any:
    """Parse a JSON (default) or YAML body."""
    mt = media_type(content_type)
    if not raw.strip():
        raise errors.bad_request("the request body is empty")
    if mt in ("application/yaml", "application/x-yaml", "text/yaml"):
        try:
            doc = yaml.load(raw, Loader=_YamlLoader)
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"error converting YAML to JSON: {exc}") from None
        return yaml_to_json(doc)
    if mt in ("", "application/json", "*/*", "text/plain") or mt.endswith("+json"):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise errors.bad_request(f"error decoding JSON body: {exc}") from None
    if mt == "application/vnd.kubernetes.protobuf":
        from everynode.apiserver import protobuf

        return protobuf.parse(raw)
    raise errors.unsupported_media_type(mt)


# A YAML document may alias the same node many times; expanded, 500 bytes can
# become billions of nodes. Upstream refuses excessive aliasing; so do we.
MAX_YAML_NODES = 1_000_000
MAX_DEPTH = 200
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def yaml_to_json(doc: Any) -> Any:
    """What sigs.k8s.io/yaml's YAMLToJSON gives: string keys, JSON values only,
    bounded size (aliases counted as expanded) and depth."""
    budget = [MAX_YAML_NODES]

    def conv(v: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise errors.bad_request("error converting YAML to JSON: the document is too large once "
                                     "its aliases are expanded")
        if depth > MAX_DEPTH:
            raise errors.bad_request("error converting YAML to JSON: the document is nested too deeply")
        if isinstance(v, dict):
            return {_yaml_key(k): conv(x, depth + 1) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x, depth + 1) for x in v]
        if isinstance(v, float) and not math.isfinite(v):  # Go's json.Marshal refuses them
            text = "NaN" if v != v else ("+Inf" if v > 0 else "-Inf")
            raise errors.bad_request(f"error converting YAML to JSON: json: unsupported value: {text}")
        if isinstance(v, bool) or v is None or isinstance(v, str | float):
            return v
        if isinstance(v, int):
            if not INT64_MIN <= v <= INT64_MAX:
                raise errors.bad_request(f"error converting YAML to JSON: integer {v} is out of range")
            return v
        if hasattr(v, "isoformat"):  # YAML timestamps and dates are strings in JSON
            return v.isoformat()
        raise errors.bad_request(f"error converting YAML to JSON: unsupported value of type "
                                 f"{type(v).__name__}")

    return conv(doc, 0)


def _yaml_key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if isinstance(k, bool):
        return "true" if k else "false"
    if isinstance(k, int | float) or k is None:
        return "null" if k is None else str(k)
    raise errors.bad_request(f"error converting YAML to JSON: unsupported map key of type {type(k).__name__}")


_GO_TYPE = {"integer": "int64", "number": "float64", "boolean": "bool", "string": "string",
            "date-time": "Time", "quantity": "Quantity", "int-or-string": "IntOrString"}


def _type_ok(typ: str, value: Any) -> bool:
    if value is None or typ == "any":
        return True
    if typ == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, float):
            return value.is_integer() and INT64_MIN <= value <= INT64_MAX
        return isinstance(value, int) and INT64_MIN <= value <= INT64_MAX
    if typ == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if typ == "boolean":
        return isinstance(value, bool)
    if typ in ("string", "date-time"):
        return isinstance(value, str)
    if typ == "quantity":
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    if typ == "int-or-string":
        return isinstance(value, str | int) and not isinstance(value, bool)
    if schema.is_list(typ):
        return isinstance(value, list)
    return isinstance(value, dict)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class TypeMismatch(Exception):
    def __init__(self, path: str, value: Any, typ: str, owner: str):
        self.path, self.value, self.typ, self.owner = path, value, typ, owner
        go = _GO_TYPE.get(typ) or ("[]" if schema.is_list(typ) else "map" if schema.is_map(typ) else typ)
        super().__init__(f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                         f"{owner}.{path} of type {go}")


def check(type_name: str, obj: dict, path: str = "") -> list[str]:
    """Drop unknown fields of ``obj`` (in place) and return their paths.

    Raises TypeMismatch for a value of the wrong JSON type.
    """
    if cleancheck.predicate(type_name)(obj):
        return []  # nothing to drop, convert or refuse: no walk
    unknown: list[str] = []
    _check_object(type_name, obj, path, unknown)
    return unknown


_SCALAR_TYPES: dict[str, tuple] = {
    "integer": (int,), "number": (int, float), "boolean": (bool,), "string": (str,),
    "date-time": (str,), "quantity": (str, int, float), "int-or-string": (str, int),
}


@cache
def _compiled(typ: str) -> tuple[str, str]:
    """('any'|'scalar'|'list'|'map'|'object', detail) for a schema type string."""
    if typ == "any":
        return ("any", typ)
    if typ in _SCALAR_TYPES:
        return ("scalar", typ)
    if schema.is_list(typ):
        return ("list", schema.element(typ))
    if schema.is_map(typ):
        return ("map", schema.element(typ))
    return ("object", typ)


def _zero(form: tuple[str, str]) -> Any:
    kind, detail = form
    if kind == "scalar":
        return {"integer": 0, "number": 0, "boolean": False}.get(detail, "")
    if kind == "list":
        return []
    return {}


# Each type's fields compiled once into a table: name -> (code, type string, exact Python types
# that pass as they are, whether the Go type is an integer). ``_check_object`` settles the
# common values from the table (a string where a string belongs, a nested object, a list of
# names, a map of labels) and hands everything else to ``_check_value``, the generic walk,
# which decides exactly as before (conversions, zero values, the TypeMismatch words).
_GENERIC, _PASS, _SCALAR, _INTEGER, _OBJECT, _OBJECT_LIST, _SCALAR_LIST, _SCALAR_MAP = range(8)


def _exact_types(detail: str) -> frozenset:
    """The Python types whose values of schema type ``detail`` are accepted unchanged without
    looking at the value (integers need their range checked: none for them)."""
    if detail == "integer":
        return frozenset()
    if detail == "boolean":
        return frozenset({bool})
    return frozenset(_SCALAR_TYPES[detail]) - {bool}


@cache
def _table(type_name: str) -> dict[str, tuple[int, str, frozenset, bool]]:
    table = {}
    for name, typ in schema.fields(type_name).items():
        form, detail = _compiled(typ)
        code, exact = _GENERIC, frozenset()
        if form == "any":
            code = _PASS
        elif form == "scalar":
            code, exact = (_INTEGER, exact) if detail == "integer" else (_SCALAR, _exact_types(detail))
        elif form == "object":
            code = _OBJECT
        elif _compiled(detail)[0] == "object" and form == "list":
            code = _OBJECT_LIST
        elif _compiled(detail)[0] == "scalar" and detail != "integer":
            code, exact = (_SCALAR_LIST if form == "list" else _SCALAR_MAP), _exact_types(detail)
        table[name] = (code, typ, exact, detail == "integer")
    return table


def _check_object(type_name: str, obj: dict, path: str, unknown: list[str]) -> None:
    table = _table(type_name)
    for name in list(obj):
        entry = table.get(name)
        if entry is None:
            unknown.append(f"{path}.{name}" if path else name)
            del obj[name]
            continue
        value = obj[name]
        if value is None:
            continue
        code, typ, exact, integer = entry
        t = type(value)
        if code == _SCALAR:
            if t in exact:
                continue
        elif code == _OBJECT:
            if t is dict:
                _check_object(typ, value, f"{path}.{name}" if path else name, unknown)
                continue
        elif code == _INTEGER:
            if t is int and INT64_MIN <= value <= INT64_MAX:
                continue
        elif code == _PASS:
            continue
        elif code == _SCALAR_LIST:
            if t is list and all(type(item) in exact for item in value):
                continue
        elif code == _SCALAR_MAP:
            if t is dict and all(type(item) in exact for item in value.values()):
                continue
        elif code == _OBJECT_LIST:
            if t is list:
                _check_object_list(schema.element(typ), value, f"{path}.{name}" if path else name, unknown,
                                   type_name)
                continue
        if integer and t is float and value.is_integer() and INT64_MIN <= value <= INT64_MAX:
            obj[name] = int(value)  # 3.0 is the integer 3 to Go's decoder
            continue
        _check_value(typ, value, f"{path}.{name}" if path else name, unknown, type_name)


def _check_object_list(el: str, value: list, path: str, unknown: list[str], owner: str) -> None:
    """A JSON array where the schema has a list of objects of type ``el`` (``_check_value``'s
    list branch with the object items walked directly)."""
    for i, item in enumerate(value):
        if item is None:
            value[i] = {}  # Go decodes null items as zero values
    for i, item in enumerate(value):
        if type(item) is dict:
            _check_object(el, item, f"{path}[{i}]", unknown)
        else:
            _check_value(el, item, f"{path}[{i}]", unknown, owner)


def _check_value(typ: str, value: Any, path: str, unknown: list[str], owner: str) -> None:
    if value is None:
        return
    if not _type_ok(typ, value):
        raise TypeMismatch(path, value, typ, owner.removeprefix("V1").removeprefix("CoreV1"))
    form, el = _compiled(typ)
    if form == "list":
        el_form = _compiled(el)
        for i, item in enumerate(value):
            if item is None and el_form[0] != "any":
                value[i] = item = _zero(el_form)  # Go decodes null items as zero values
        if el_form[0] in ("scalar", "any"):
            for i, item in enumerate(value):
                if not _type_ok(el, item):
                    raise TypeMismatch(f"{path}[{i}]", item, el, owner.removeprefix("V1"))
            return
        for i, item in enumerate(value):
            _check_value(el, item, f"{path}[{i}]", unknown, owner)
    elif form == "map":
        if _compiled(el)[0] in ("scalar", "any"):
            for k, item in value.items():
                if item is not None and not _type_ok(el, item):
                    raise TypeMismatch(f"{path}.{k}", item, el, owner.removeprefix("V1"))
            return
        for k, item in value.items():
            _check_value(el, item, f"{path}.{k}", unknown, owner)
    elif form == "object":
        _check_object(typ, value, path, unknown)
