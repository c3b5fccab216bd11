"""The schema check of request bodies walks per-type compiled field tables (``decode._table``)
after a generated "clean?" predicate per type (``cleancheck``) found the body needs the walk;
both must decide exactly as the generic walk they replaced. That walk is kept below, verbatim
(``_ref_check_object``/``_ref_check_value``), as the oracle: for every served type, every field
of it and a palette of values of every JSON kind (right and wrong types, nulls, nulls inside
lists and maps, floats for integers, out-of-range integers, unknown fields at depth), and for
whole realistic objects, both must leave the same object (key order included), report the
same unknown fields in the same order and raise the same TypeMismatch (words and path).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from everynode.api import schema
from everynode.api.kinds import KINDS
from everynode.apiserver import cleancheck, decode
from everynode.apiserver.decode import (
    _SCALAR_TYPES,
    INT64_MAX,
    INT64_MIN,
    TypeMismatch,
    _compiled,
    _type_ok,
    _zero,
)

# --- the generic walk as it was (the oracle) ---------------------------------------------


def _ref_check_object(type_name: str, obj: dict, path: str, unknown: list[str]) -> None:
    fields = schema.fields(type_name)
    for name in list(obj):
        typ = fields.get(name)
        if typ is None:
            unknown.append(f"{path}.{name}" if path else name)
            del obj[name]
            continue
        value = obj[name]
        if value is None:
            continue
        form, detail = _compiled(typ)
        if form == "scalar" and type(value) in _SCALAR_TYPES[detail] and type(value) is not bool \
                and (detail != "integer" or type(value) is int and INT64_MIN <= value <= INT64_MAX) \
                or form == "scalar" and detail == "boolean" and type(value) is bool:
            continue
        if detail == "integer" and type(value) is float and value.is_integer() \
                and INT64_MIN <= value <= INT64_MAX:
            obj[name] = int(value)
            continue
        _ref_check_value(typ, value, f"{path}.{name}" if path else name, unknown, type_name)


def _ref_check_value(typ: str, value: Any, path: str, unknown: list[str], owner: str) -> None:
    if value is None:
        return
    if not _type_ok(typ, value):
        raise TypeMismatch(path, value, typ, owner.removeprefix("V1").removeprefix("CoreV1"))
    form, el = _compiled(typ)
    if form == "list":
        el_form = _compiled(el)
        for i, item in enumerate(value):
            if item is None and el_form[0] != "any":
                value[i] = item = _zero(el_form)
        if el_form[0] in ("scalar", "any"):
            for i, item in enumerate(value):
                if not _type_ok(el, item):
                    raise TypeMismatch(f"{path}[{i}]", item, el, owner.removeprefix("V1"))
            return
        for i, item in enumerate(value):
            _ref_check_value(el, item, f"{path}[{i}]", unknown, owner)
    elif form == "map":
        if _compiled(el)[0] in ("scalar", "any"):
            for k, item in value.items():
                if item is not None and not _type_ok(el, item):
                    raise TypeMismatch(f"{path}.{k}", item, el, owner.removeprefix("V1"))
            return
        for k, item in value.items():
            _ref_check_value(el, item, f"{path}.{k}", unknown, owner)
    elif form == "object":
        _ref_check_object(typ, value, path, unknown)


def _outcome(fn, type_name: str, obj: Any, path: str = "") -> tuple:
    """(repr of the object after the check (key order, int or float), unknown paths) or the TypeMismatch."""
    obj = copy.deepcopy(obj)
    unknown: list[str] = []
    try:
        fn(type_name, obj, path, unknown)
    except TypeMismatch as exc:
        return ("TypeMismatch", str(exc), exc.path, exc.typ, exc.owner, repr(exc.value))
    return repr(obj), unknown


def _compiled_check(type_name: str, obj: dict, path: str, unknown: list[str]) -> None:
    decode._check_object(type_name, obj, path, unknown)  # the walk alone, without the predicate


def _checked(type_name: str, obj: dict, path: str, unknown: list[str]) -> None:
    unknown.extend(decode.check(type_name, obj, path))  # the predicate, then the walk if needed


def _same(type_name: str, obj: Any, path: str = "") -> None:
    want = _outcome(_ref_check_object, type_name, obj, path)
    assert _outcome(_compiled_check, type_name, obj, path) == want, (type_name, obj)
    assert _outcome(_checked, type_name, obj, path) == want, (type_name, obj)
    if cleancheck.predicate(type_name)(copy.deepcopy(obj)):  # "clean" must mean: nothing to do
        assert want == (repr(obj), []), (type_name, obj)


# --- every field of every type, with values of every kind ---------------------------------

PALETTE: list[Any] = [
    None, "", "text", "10Mi", 0, 7, -3, 2**63 - 1, 2**63, -(2**63) - 1, 3.0, 2.5, 1e300, float(2**64),
    True, False, [], ["a", "b"], ["a", None], [None], [1, 2], [1.0], [True], ["a", 1], [[1]], [{}],
    [{"name": "x"}], [{"bogusField": 1}], [None, {"bogusField": 1}], [{}, 3], {}, {"a": "b"},
    {"a": None}, {"a": 1}, {"a": 1.5}, {"a": True}, {"a": {"b": "c"}}, {"a": ["b"]},
    {"bogusField": 1, "name": "n"}, {"name": 5}, {"metadata": {"name": 1}},
]


def _all_types() -> list[str]:
    return sorted(schema.types())


@pytest.mark.parametrize("type_name", _all_types())
def test_every_field_every_kind_of_value(type_name):
    fields = schema.fields(type_name)
    for name in fields:
        for value in PALETTE:
            _same(type_name, {name: value})
            _same(type_name, {"zzUnknown": 1, name: value, "otherUnknown": None}, "spec.inner")


def _sample(typ: str, depth: int = 0) -> Any:
    """A valid value of schema type ``typ`` (objects with every field, a few levels deep)."""
    form, detail = _compiled(typ)
    if form == "any":
        return {"free": ["form", 1]}
    if form == "scalar":
        return {"integer": 42, "number": 1.5, "boolean": True, "int-or-string": "25%",
                "quantity": "100m"}.get(detail, "2026-01-01T00:00:00Z" if detail == "date-time" else "v")
    if form == "list":
        return [] if depth > 3 else [_sample(detail, depth + 1), _sample(detail, depth + 1)]
    if form == "map":
        return {} if depth > 3 else {"k1": _sample(detail, depth + 1)}
    if depth > 3:
        return {}
    return {name: _sample(t, depth + 1) for name, t in schema.fields(detail).items()}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_whole_objects_of_every_kind(kind):
    full = _sample(kind.type_name)
    _same(kind.type_name, full)
    assert cleancheck.predicate(kind.type_name)(copy.deepcopy(full))  # valid bodies skip the walk
    # The same object with an unknown field, a null and a wrong type planted at each place.
    paths: list[tuple[list, str]] = []

    def collect(node: Any, trail: list) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((trail, k))
                collect(v, trail + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                collect(v, trail + [i])

    collect(full, [])
    for trail, key in paths[::max(1, len(paths) // 150)]:  # about 150 places, spread out
        for planted in (None, "wrong", 1.0, 2**64, [None], {"bogusField": True}):
            obj = copy.deepcopy(full)
            parent = obj
            for step in trail:
                parent = parent[step]
            parent[key] = planted
            parent["bogusField"] = 1
            _same(kind.type_name, obj)


def test_lease_renewal_body():
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "node-1", "namespace": "kube-node-lease", "uid": "u", "resourceVersion": "7",
                         "creationTimestamp": "2026-01-01T00:00:00Z",
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "n"}]},
            "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                     "renewTime": "2026-01-01T00:00:10.000000Z"}}
    _same("V1Lease", body)
    assert decode.check("V1Lease", copy.deepcopy(body)) == []
    assert cleancheck.predicate("V1Lease")(body)
    for bad in ({"leaseDurationSeconds": "40"}, {"leaseDurationSeconds": 40.0}, {"leaseDurationSeconds": True},
                {"renewTime": 5}, {"holderIdentity": None}, {"extra": 1}):
        _same("V1Lease", {**body, "spec": {**body["spec"], **bad}})
    with pytest.raises(TypeMismatch, match=r"Go struct field LeaseSpec\.spec\.leaseDurationSeconds of type int64"):
        decode.check("V1Lease", {**body, "spec": {"leaseDurationSeconds": "40"}})


def test_float_integer_converted_in_place():
    obj = {"spec": {"leaseDurationSeconds": 40.0}}
    assert decode.check("V1Lease", obj) == []
    assert type(obj["spec"]["leaseDurationSeconds"]) is int


@pytest.mark.parametrize("value, clean", [
    ("text", False), (None, True), (40, True), (40.0, False), (True, False), ("40", False), (2**63, False),
    (-(2**63), True), (-(2**63) - 1, False),
])
def test_predicate_integer_field(value, clean):
    assert cleancheck.predicate("V1LeaseSpec")({"leaseDurationSeconds": value}) is clean


@pytest.mark.parametrize("obj, clean", [
    ({"labels": {"a": "b"}}, True),
    ({"labels": {"a": None}}, True),  # a null map value is left as it is
    ({"labels": {"a": 1}}, False),
    ({"finalizers": ["a", None]}, False),  # a null list item becomes ""
    ({"ownerReferences": [None]}, False),  # ... or {}
    ({"ownerReferences": [{"uid": "u", "controller": True}]}, True),
    ({"ownerReferences": [{"uid": "u", "controller": 1}]}, False),
    ({"ownerReferences": [{"uid": "u", "bogus": 1}]}, False),
    ({"bogus": None}, False),  # unknown even when null: reported
    ({}, True),
])
def test_predicate_object_meta(obj, clean):
    assert cleancheck.predicate("V1ObjectMeta")(obj) is clean
    _same("V1ObjectMeta", obj)
