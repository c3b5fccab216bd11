"""PATCH bodies, applied as the Kubernetes API server applies them.

Three patch types are served (``PATCH_TYPES``):

- ``application/json-patch+json``: RFC 6902 operations (the ``jsonpatch``
  library applies them);
- ``application/merge-patch+json``: RFC 7386, with the null pruning of the
  Go library upstream uses;
- ``application/strategic-merge-patch+json``: upstream's strategic merge
  patch. Lists whose field has the ``merge`` strategy (``schema.PATCH_META``)
  are merged element by element on their merge key (or as sets for lists of
  scalars); other lists are replaced. The directives ``$patch``
  (replace/delete), ``$retainKeys``, ``$deleteFromPrimitiveList/<field>`` and
  ``$setElementOrder/<field>`` are honoured. Fields the schema does not know
  (for example free-form ``any`` data) get no metadata: their maps merge and
  their lists are replaced.

Server-side apply (``application/apply-patch+yaml``) is not served: it gets
the same 415 a server without server-side apply answers.

Errors carry upstream's codes and messages, assuming the default field
validation (Warn). Like upstream, a strategic merge patch failure that is not
one of the well-known format errors is a 500 whose message is the merge error
(``Error from server: map: ... does not contain declared merge key: name``).
No function here mutates its arguments.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import jsonpatch
import jsonpointer
import orjson

from everynode.api import errors, schema
from everynode.api.errors import ApiError

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)

MAX_JSON_PATCH_OPERATIONS = 10000

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_PREFIX = "$deleteFromPrimitiveList"
_ORDER_PREFIX = "$setElementOrder"

_MAP_T = "map[string]interface {}"
_LIST_T = "[]interface {}"


# --------------------------------------------------------------------------- dispatcher

def media_type(content_type: str | None) -> str:
    """The Content-Type without parameters, compared as upstream does (exactly, case included)."""
    return (content_type or "").strip().split(";", 1)[0]


def unsupported_patch_type() -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(PATCH_TYPES))


def apply_patch(content_type: str, doc: dict, body: bytes, type_name: str) -> dict:
    """Apply a PATCH request body of ``content_type`` to ``doc`` (a ``type_name`` object)."""
    mt = media_type(content_type)
    if mt == JSON_PATCH:
        ops = _decode(body, "error decoding patch: ")
        _check_json_patch(ops)
        if ops is None:
            return _copy(doc)
        return _json_patch(doc, ops, type_name)
    if mt == MERGE_PATCH:
        patch = _decode(body, "error decoding patch: ")
        _check_object(patch, "error decoding patch: ")
        if patch is None:
            raise errors.bad_request("Invalid JSON Patch")
        return apply_merge_patch(doc, patch)
    if mt == STRATEGIC_MERGE_PATCH:
        patch = _decode(body, "")
        _check_object(patch, "")
        return apply_strategic_merge_patch(doc, patch or {}, type_name)
    raise unsupported_patch_type()


# --------------------------------------------------------------------------- JSON patch

def apply_json_patch(doc: dict, patch: list, type_name: str | None = None) -> dict:
    """RFC 6902. Bad operations are 400; operations that do not apply are 422."""
    _check_json_patch(patch)
    return _json_patch(doc, patch, type_name)


def _check_json_patch(ops: Any) -> None:
    """What decoding into upstream's ``[]jsonPatchOp`` rejects (400)."""
    if ops is None:
        return
    if not isinstance(ops, list):
        raise errors.bad_request(f"error decoding patch: json: cannot unmarshal {_json_kind(ops)} "
                                 "into Go value of type []handlers.jsonPatchOp")
    for op in ops:
        if op is None:
            continue
        if not isinstance(op, dict):
            raise errors.bad_request(f"error decoding patch: json: cannot unmarshal {_json_kind(op)} "
                                     "into Go value of type handlers.jsonPatchOp")
        for name in ("op", "path", "from"):
            value = op.get(name)
            if value is not None and not isinstance(value, str):
                raise errors.bad_request(
                    f"error decoding patch: json: cannot unmarshal {_json_kind(value)} into Go struct "
                    f"field jsonPatchOp.{name} of type string")
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise errors.too_large(f"Request entity too large: The allowed maximum operations in a JSON "
                               f"patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}")


def _json_patch(doc: dict, ops: list, type_name: str | None) -> dict:
    if any(op is None for op in ops):
        raise _unprocessable()
    try:
        result = jsonpatch.JsonPatch(_copy(ops)).apply(doc, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException,
            KeyError, IndexError, TypeError, ValueError, AttributeError):
        # Upstream answers every failure to apply a decoded patch alike.
        raise _unprocessable() from None
    if not isinstance(result, dict):
        raise _not_an_object(result, type_name)
    return result


# --------------------------------------------------------------------------- merge patch

def apply_merge_patch(doc: dict, patch: dict) -> dict:
    """RFC 7386: maps merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        raise errors.bad_request(f"error decoding patch: json: cannot unmarshal {_json_kind(patch)} "
                                 f"into Go value of type {_MAP_T}")
    result = _copy(doc)
    _merge_docs(result, _copy(patch))
    return result


def _merge_docs(doc: dict, patch: dict) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
        elif doc.get(key) is None:
            doc[key] = _prune_nulls(value)
        elif isinstance(doc[key], dict) and isinstance(value, dict):
            _merge_docs(doc[key], value)
        elif isinstance(doc[key], dict):
            doc[key] = value  # upstream keeps a non-object replacement as sent
        else:
            doc[key] = _prune_nulls(value)


def _prune_nulls(value: Any) -> Any:
    """Drop null members of objects, recursively (null list items stay)."""
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_nulls(v) for v in value]
    return value


# --------------------------------------------------------------------------- strategic merge patch

def apply_strategic_merge_patch(doc: dict, patch: dict, type_name: str) -> dict:
    """Upstream ``strategicpatch.StrategicMergePatch`` as the API server runs it."""
    if not isinstance(patch, dict):
        raise errors.bad_request(f"json: cannot unmarshal {_json_kind(patch)} into Go value of type {_MAP_T}")
    return _merge_map(_copy(doc), _copy(patch), type_name)


def _merge_map(original: dict, patch: dict, typ: str | None) -> dict:
    if _DIRECTIVE in patch:
        return _directive_in_map(patch[_DIRECTIVE], patch)
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, typ)
    for key, pv in list(patch.items()):
        is_delete_list = key.startswith(_DELETE_PREFIX)
        if is_delete_list:
            key = _extract_key(key, _DELETE_PREFIX)
        if pv is None:
            original.pop(key, None)
            continue
        if key not in original or type(original[key]) is not type(pv):
            if not is_delete_list:
                _set_cleaned(original, key, pv)
            continue
        ov = original[key]
        if isinstance(ov, dict):
            sub, strategy, _ = _lookup(typ, key)
            original[key] = pv if strategy == "replace" else _merge_map(ov, pv, sub)
        elif isinstance(ov, list):
            sub, strategy, merge_key = _lookup(typ, key)
            original[key] = _merge_slice_handler(ov, pv, _element(sub), strategy, merge_key, is_delete_list)
        else:
            _set_cleaned(original, key, pv)
    return original


def _set_cleaned(original: dict, key: str, value: Any) -> None:
    """Take a patch value as is, minus nulls and anything carrying a directive."""
    _discard_nulls(value)
    value, keep = _remove_directives(value)
    if keep:
        original[key] = value
    else:
        original.pop(key, None)


def _directive_in_map(directive: Any, patch: dict) -> dict:
    if _go_eq(directive, "replace"):
        del patch[_DIRECTIVE]
        return patch
    if _go_eq(directive, "delete"):
        return {}
    raise _internal(f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(patch)}")


def _apply_retain_keys(original: dict, patch: dict) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise errors.bad_request("invalid patch format of retainKeys")
    keep = {_hkey(k) for k in retain}
    for key, value in patch.items():
        if value is None or key.startswith(_DELETE_PREFIX) or key.startswith(_ORDER_PREFIX):
            continue
        if _hkey(key) not in keep:
            raise errors.bad_request("invalid patch format of retainKeys")
    for key in list(original):
        if _hkey(key) not in keep:
            del original[key]


def _merge_ordered_lists(original: dict, patch: dict, typ: str | None) -> None:
    """Handle ``$setElementOrder/<field>``: merge that list, then order it as asked."""
    for key in [k for k in patch if k.startswith(_ORDER_PREFIX)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _bad_arg_type(_LIST_T, order)
        field = _extract_key(key, _ORDER_PREFIX)
        found_orig, found_patch = field in original, field in patch
        orig_list, patch_list = original.get(field), patch.get(field)
        if found_orig and not isinstance(orig_list, list):
            raise _bad_arg_type(_LIST_T, orig_list)
        if found_patch and not isinstance(patch_list, list):
            raise _bad_arg_type(_LIST_T, patch_list)
        orig_list = orig_list if found_orig else []
        patch_list = patch_list if found_patch else []
        sub, strategy, merge_key = _lookup(typ, field)
        _validate_order(patch_list, order, merge_key)
        if found_orig and found_patch:
            merged = _merge_slice_handler(orig_list, patch_list, _element(sub), strategy, merge_key, False)
        elif found_orig:
            merged = orig_list
        elif found_patch:
            merged = _remove_directives(patch_list)[0]
        else:
            continue
        if merge_key:
            patch_items, server_only = _partition_maps(merged, order, merge_key)
        else:
            patch_items, server_only = _partition_scalars(merged, order)
        kind = _element_kind(orig_list, patch_list)
        original[field] = _normalize_order(patch_items, server_only, order, orig_list, merge_key, kind)
        patch.pop(field, None)


def _validate_order(patch_list: list, order: list, merge_key: str | None) -> None:
    """The patch list must follow the ``$setElementOrder`` list (deletions aside)."""
    if not order or not patch_list:
        return
    items = _split_deletions(patch_list)[0] if merge_key else patch_list
    pi = oi = 0
    while pi < len(items) and oi < len(order):
        if isinstance(items[pi], dict) and _DIRECTIVE in items[pi]:
            pi += 1
            continue
        if _merge_key_equal(items[pi], order[oi], merge_key):
            pi += 1
        oi += 1
    if pi < len(items) and oi >= len(order):
        raise _internal(f"the order in patch list:\n{_go_fmt(patch_list)}\n doesn't match "
                        f"{_ORDER_PREFIX} list:\n{_go_fmt(order)}")


def _merge_slice_handler(original: list, patch: list, elem: str | None, strategy: str,
                         merge_key: str | None, is_delete_list: bool) -> list:
    if strategy == "merge" or is_delete_list:
        return _merge_slice(original, patch, elem, merge_key, is_delete_list)
    return patch


def _merge_slice(original: list, patch: list, elem: str | None, merge_key: str | None,
                 is_delete_list: bool) -> list:
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    if kind is not dict:
        if is_delete_list:
            drop = {_hkey(v) for v in patch}
            return [v for v in original if _hkey(v) not in drop]
        merged = _dedupe_scalars(original + patch)
        patch_items, server_only = _partition_scalars(merged, patch)
        return _normalize_order(patch_items, server_only, patch, original, None, kind)
    if not merge_key:
        raise _internal(f"cannot merge lists without merge key for {elem or 'unknown type'}")
    merged, server_order, plain = _merge_map_items(original, patch, elem, merge_key)
    patch_items, server_only = _partition_maps(merged, plain, merge_key)
    return _normalize_order(patch_items, server_only, plain, server_order, merge_key, kind)


def _merge_map_items(original: list, patch: list, elem: str | None,
                     merge_key: str) -> tuple[list, list, list]:
    """Merge a patch list of maps into ``original`` by merge key.

    Returns (merged, the live items left after deletions, the patch items
    without directives). ``$patch: delete`` items delete by merge key; a
    ``$patch: replace`` item makes the other items the whole list.

    Upstream works on Go slices that share ``original``'s array: deletions
    and the appends that follow them write through it (its length kept).
    A ``$setElementOrder`` on the same field orders the server-only items
    against that written-through list, so this is replayed here.
    """
    backing, length = original, len(original)
    plain: list = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if _go_eq(directive, "delete"):
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            while (at := _find(backing[:length], merge_key, item[merge_key])) is not None:
                backing[at:length - 1] = backing[at + 1:length]
                length -= 1
        elif _go_eq(directive, "replace"):
            replace = True
        elif _go_eq(directive, "merge"):
            raise _internal("merging lists cannot yet be specified in the patch")
        else:
            raise _internal(f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(item)}")
    if replace:
        return list(plain), plain, []
    live = length
    grown: list | None = None  # once appends no longer fit in ``original``
    for item in plain:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        current = backing[:length] if grown is None else grown
        at = _find(current, merge_key, item[merge_key])
        if at is not None:
            merged_item = _merge_map(current[at], item, elem)
            if grown is None:
                backing[at] = merged_item
            else:
                grown[at] = merged_item
        elif grown is None and length < len(backing):
            backing[length] = item
            length += 1
        else:
            grown = (backing[:length] if grown is None else grown) + [item]
    merged = backing[:length] if grown is None else grown
    return merged, backing[:live], plain


def _find(items: list, key: str, value: Any) -> int | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _internal(f"value for key {i} is not a map")
        if key in item and _go_eq(item[key], value):
            return i
    return None


def _partition_maps(merged: list, by: list, key: str) -> tuple[list, list]:
    patch_items, server_only = [], []
    for item in merged:
        if not isinstance(item, dict):
            raise _bad_arg_type(_MAP_T, item)
        if key not in item:
            raise _no_merge_key(item, key)
        (patch_items if _find(by, key, item[key]) is not None else server_only).append(item)
    return patch_items, server_only


def _partition_scalars(merged: list, by: list) -> tuple[list, list]:
    wanted = {_hkey(v) for v in by}
    patch_items = [v for v in merged if _hkey(v) in wanted]
    server_only = [v for v in merged if _hkey(v) not in wanted]
    return patch_items, server_only


def _normalize_order(patch_items: list, server_only: list, patch_order: list, server_order: list,
                     key: str | None, kind: type) -> list:
    """Patch items in patch order, server-only items in live order, interleaved."""
    patch_items = _sort_by(patch_items, patch_order, key, kind)
    server_only = _sort_by(server_only, server_order, key, kind)
    position = _positions(server_order, key, kind)
    out: list = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        elif j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        else:
            left, right = position(server_only[i]), position(patch_items[j])
            if left >= 0 and right >= 0 and left < right:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch_items[j])
                j += 1
    return out


def _sort_by(items: list, order: list, key: str | None, kind: type) -> list:
    deleted: list = []
    if kind is dict:
        for item in [*items, *order]:
            if not isinstance(item, dict):
                raise _bad_arg_type(_MAP_T, item)
            if key not in item:
                raise _no_merge_key(item, key or "")
        items, deleted = _split_deletions(items)
    position = _positions(order, key, kind)
    ranks = [position(item) for item in items]
    if all(r >= 0 for r in ranks):
        return [items[i] for i in sorted(range(len(items)), key=ranks.__getitem__)] + deleted
    # Upstream's comparison treats unknown items as smaller; replay its insertion sort.
    pairs = list(zip(ranks, items, strict=True))
    for n in range(1, len(pairs)):
        m = n
        while m > 0 and (pairs[m][0] < 0 or pairs[m - 1][0] < 0 or pairs[m][0] < pairs[m - 1][0]):
            pairs[m], pairs[m - 1] = pairs[m - 1], pairs[m]
            m -= 1
    return [item for _, item in pairs] + deleted


def _positions(order: list, key: str | None, kind: type):
    """A function giving an item's first index in ``order`` (by merge key for maps), or -1."""
    index: dict = {}
    for i, item in enumerate(order):
        value = item.get(key) if kind is dict and isinstance(item, dict) else item
        index.setdefault(_hkey(value), i)

    def position(item: Any) -> int:
        value = item.get(key) if kind is dict and isinstance(item, dict) else item
        return index.get(_hkey(value), -1)

    return position


def _split_deletions(items: list) -> tuple[list, list]:
    keep, delete = [], []
    for item in items:
        if not isinstance(item, dict):
            raise _bad_arg_type(_MAP_T, item)
        (delete if _DIRECTIVE in item and _go_eq(item[_DIRECTIVE], "delete") else keep).append(item)
    return keep, delete


def _merge_key_equal(left: Any, right: Any, key: str | None) -> bool:
    if not key:
        return _go_eq(left, right)
    for item in (left, right):
        if not isinstance(item, dict):
            raise _bad_arg_type(_MAP_T, item)
        if key not in item:
            raise _no_merge_key(item, key)
    return _go_eq(left[key], right[key])


def _dedupe_scalars(items: list) -> list:
    """Upstream's in-place de-duplication (it does not keep the order)."""
    s = list(items)
    last = len(s) - 1
    i = 0
    while i < last:
        j = i + 1
        while j <= last:
            if _go_eq(s[i], s[j]):
                s[j] = s[last]
                s = s[:last]
                last -= 1
                j -= 1
            j += 1
        i += 1
    return s


def _element_kind(*lists: list) -> type:
    kind: type | None = None
    for items in lists:
        for item in items:
            if kind is None:
                kind = type(item)
                if kind is list:
                    raise _unprocessable()  # lists of lists are not supported
                if item is None:
                    raise _internal("list elements may not be null")
            elif type(item) is not kind:
                raise _internal(f"list element types are not identical: {_go_fmt(list(lists))}")
    if kind is None:
        raise _internal("no elements in any of the given slices")
    return kind


def _remove_directives(value: Any) -> tuple[Any, bool]:
    """Strip maps carrying ``$patch`` from a value taken whole; False: drop it all."""
    if isinstance(value, dict):
        if _DIRECTIVE in value:
            return None, False
        for k in list(value):
            v, keep = _remove_directives(value[k])
            if keep:
                value[k] = v
            else:
                del value[k]
        return value, True
    if isinstance(value, list):
        out = []
        for item in value:
            v, keep = _remove_directives(item)
            if keep:
                out.append(v)
        return out, True
    return value, True


def _discard_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for k in list(value):
            if value[k] is None:
                del value[k]
            else:
                _discard_nulls(value[k])
    elif isinstance(value, list):
        for item in value:
            _discard_nulls(item)


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        if prefix == _DELETE_PREFIX:
            raise errors.bad_request("invalid patch format of primitive list")
        raise errors.bad_request("invalid patch format of setElementOrder list")
    return rest


def _lookup(typ: str | None, field: str) -> tuple[str | None, str, str | None]:
    """(field type, patch strategy without retainKeys, merge key) of ``typ.field``."""
    if typ is None:
        return None, "", None
    if schema.is_map(typ):
        return schema.element(typ), "", None
    sub = schema.field_type(typ, field)
    meta = schema.patch_meta(typ, field)
    if meta is None:
        return sub, "", None
    strategies = [s for s in meta.strategy.split(",") if s != "retainKeys"]
    return sub, (strategies[0] if strategies else ""), meta.merge_key


def _element(typ: str | None) -> str | None:
    return schema.element(typ) if typ and schema.is_list(typ) else None


# --------------------------------------------------------------------------- Go semantics helpers

def _go_eq(a: Any, b: Any) -> bool:
    """Go's ``==`` on decoded JSON values (int64, float64, bool and string differ by type)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict | list):
        raise _internal(f"runtime error: comparing uncomparable type {_go_type(a)}")
    return a == b


def _hkey(value: Any) -> Any:
    """A hashable key with Go's equality (1, 1.0 and true stay distinct)."""
    if isinstance(value, dict | list):
        raise _internal(f"runtime error: hash of unhashable type {_go_type(value)}")
    return (type(value), value)


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return _MAP_T
    if isinstance(value, list):
        return _LIST_T
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "%!s(<nil>)"


def _go_fmt(value: Any) -> str:
    """Go's ``%v`` of a decoded JSON value."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_fmt(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_fmt(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    """Go's shortest ``%g``: exponent form below 1e-4 and from 1e6 on."""
    if value == 0 or value != value or value in (float("inf"), float("-inf")):
        return {"inf": "+Inf", "-inf": "-Inf", "nan": "NaN"}.get(repr(value), "0")
    dec = Decimal(repr(value)).normalize()
    sign, digits, exponent = dec.as_tuple()
    exp10 = len(digits) + int(exponent) - 1
    if exp10 < -4 or exp10 >= 6:
        text = "".join(map(str, digits))
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{'-' if sign else ''}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    return format(dec, "f")


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string"


# --------------------------------------------------------------------------- errors

def _internal(message: str) -> ApiError:
    """A plain Go error reaching the API server's responder: 500 with no reason."""
    return ApiError(500, "", message)


def _unprocessable() -> ApiError:
    return ApiError(422, "Invalid", "the server rejected our request due to an error in our request", {})


def _no_merge_key(item: dict, key: str) -> ApiError:
    return _internal(f"map: {_go_fmt(item)} does not contain declared merge key: {key}")


def _bad_arg_type(expected: str, actual: Any) -> ApiError:
    return _internal(f"expected a {expected}, but received a {_go_type(actual)}")


def _not_an_object(result: Any, type_name: str | None) -> ApiError:
    go_type = "v1." + (type_name or "Object").removeprefix("CoreV1").removeprefix("V1")
    text = orjson.dumps(result).decode()
    detail = f"json: cannot unmarshal {_json_kind(result)} into Go value of type {go_type}"
    message = f'Invalid value: {orjson.dumps(text).decode()}: {detail}'
    return ApiError(422, "Invalid", f' "" is invalid: patch: {message}',
                    {"causes": [{"reason": "FieldValueInvalid", "message": message, "field": "patch"}]})


# --------------------------------------------------------------------------- body decoding

def _check_object(value: Any, prefix: str) -> None:
    if value is not None and not isinstance(value, dict):
        raise errors.bad_request(f"{prefix}json: cannot unmarshal {_json_kind(value)} into Go value "
                                 f"of type {_MAP_T}")


def _decode(body: bytes, prefix: str) -> Any:
    """Parse a JSON body; syntax errors are 400 with Go's wording."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes | bytearray) else str(body)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise errors.bad_request(prefix + _syntax_error(text)) from None


_AFTER = {
    "Expecting value": "looking for beginning of value",
    "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
    "Expecting ':' delimiter": "after object key",
    "Extra data": "after top-level value",
    "Invalid control character at": "in string literal",
}


def _syntax_error(text: str) -> str:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            return "unexpected end of JSON input"
        char = text[exc.pos]
        if exc.msg.startswith("Invalid \\"):
            char = text[exc.pos + 1] if exc.pos + 1 < len(text) else char
            return f"invalid character {_quote_char(char)} in string escape code"
        if exc.msg == "Expecting ',' delimiter":
            where = "after array element" if _innermost(text, exc.pos) == "[" else "after object key:value pair"
            return f"invalid character {_quote_char(char)} {where}"
        return f"invalid character {_quote_char(char)} {_AFTER.get(exc.msg, 'looking for beginning of value')}"
    return f"invalid character {_quote_char(text.lstrip()[:1] or ' ')} looking for beginning of value"


def _innermost(text: str, pos: int) -> str:
    stack: list[str] = []
    in_string = escaped = False
    for ch in text[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append(ch)
        elif ch in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _quote_char(char: str) -> str:
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + json.dumps(char, ensure_ascii=False)[1:-1] + "'"
