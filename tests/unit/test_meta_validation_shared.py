"""An update's two metadata validations share their common tail (labels, annotations, owner
references, finalizers, managed fields: ``validate_meta_lists``), which is computed once and
skipped for absent fields. The functions as they were are kept below as the oracle: for a
table of metadata (valid, and wrong in every checked way), the errors, in order, and the 422
the API server answers must be exactly the oracle's.
"""

from __future__ import annotations

import copy

import pytest

from everynode.api import errors, validation
from everynode.api.kinds import lease
from everynode.api.validation import (
    FIELD_IMMUTABLE,
    _is_int,
    forbidden,
    invalid,
    is_dns1123_label,
    is_dns1123_subdomain,
    mask_trailing_dash,
    required,
    validate_annotations,
    validate_finalizers,
    validate_labels,
    validate_managed_fields,
    validate_nonnegative,
    validate_owner_references,
)
from everynode.apiserver.resources import Resources

# --- the functions as they were (the oracle) ---------------------------------------------


def _ref_common(meta, namespaced, path):
    errs = []
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            errs.append(required(f"{path}.namespace"))
        else:
            errs.extend(invalid(f"{path}.namespace", namespace, m) for m in is_dns1123_label(namespace))
    elif namespace:
        errs.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    errs.extend(validate_nonnegative(meta.get("generation"), f"{path}.generation"))
    errs.extend(validate_labels(meta.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_owner_references(meta.get("ownerReferences"), f"{path}.ownerReferences"))
    errs.extend(validate_finalizers(meta.get("finalizers"), f"{path}.finalizers"))
    errs.extend(validate_managed_fields(meta.get("managedFields"), f"{path}.managedFields"))
    return errs


def _ref_object_meta(meta, namespaced, path="metadata", name_fn=is_dns1123_subdomain):
    errs = []
    generate_name = meta.get("generateName") or ""
    if generate_name:
        errs.extend(invalid(f"{path}.generateName", generate_name, m)
                    for m in name_fn(mask_trailing_dash(generate_name)))
    name = meta.get("name") or ""
    if not name:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    else:
        errs.extend(invalid(f"{path}.name", name, m) for m in name_fn(name))
    errs.extend(_ref_common(meta, namespaced, path))
    return errs


def _ref_object_meta_update(new_meta, old_meta, path="metadata", *, check_resource_version=False):
    errs = []
    if old_meta.get("deletionTimestamp"):
        extra = sorted(set(new_meta.get("finalizers") or []) - set(old_meta.get("finalizers") or []))
        if extra:
            listed = "[]string{" + ", ".join(f'"{f}"' for f in extra) + "}"
            errs.append(forbidden(f"{path}.finalizers", "no new finalizers can be added if the object is "
                                  f"being deleted, found new finalizers {listed}"))
    if check_resource_version and not new_meta.get("resourceVersion"):
        errs.append(invalid(f"{path}.resourceVersion", new_meta.get("resourceVersion") or "",
                            "must be specified for an update"))
    new_gen, old_gen = new_meta.get("generation") or 0, old_meta.get("generation") or 0
    if _is_int(new_gen) and _is_int(old_gen) and new_gen < old_gen:
        errs.append(invalid(f"{path}.generation", new_gen, "must not be decremented"))
    for key, empty in (("name", ""), ("namespace", ""), ("uid", ""), ("creationTimestamp", None),
                       ("deletionTimestamp", None), ("deletionGracePeriodSeconds", None)):
        new_v = new_meta.get(key) or empty
        old_v = old_meta.get(key) or empty
        if new_v != old_v:
            errs.append(invalid(f"{path}.{key}", new_v, FIELD_IMMUTABLE))
    errs.extend(validate_labels(new_meta.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(new_meta.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_owner_references(new_meta.get("ownerReferences"), f"{path}.ownerReferences"))
    errs.extend(validate_finalizers(new_meta.get("finalizers"), f"{path}.finalizers"))
    errs.extend(validate_managed_fields(new_meta.get("managedFields"), f"{path}.managedFields"))
    return errs


def _texts(errs):
    return [(e.error(), e.reason, e.field, e.message()) for e in errs]


# --- the table -----------------------------------------------------------------------------

OLD = {"name": "node-1", "namespace": "kube-node-lease", "uid": "u-1", "resourceVersion": "7",
       "creationTimestamp": "2026-01-01T00:00:00Z",
       "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "n-1"}]}

CHANGES = [
    {},
    {"resourceVersion": "8"},
    {"resourceVersion": None},
    {"labels": {"app": "a", "tier": "b"}},
    {"labels": {}}, {"labels": None}, {"annotations": {}}, {"finalizers": []}, {"ownerReferences": []},
    {"managedFields": []}, {"ownerReferences": None},
    {"labels": {"bad key!": "v", "ok": "bad value!", "n": 5}},
    {"labels": {"a/b/c": "x" * 70}},
    {"annotations": {"Example.COM/Key": "v", "/x": "y", "big": "x" * (256 * 1024)}},
    {"ownerReferences": [{"apiVersion": "a/b/c", "kind": "", "name": "", "uid": ""}]},
    {"ownerReferences": [{"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}]},
    {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "d", "uid": "1", "controller": True},
                         {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "2", "controller": True}]},
    {"finalizers": ["orphan", "foregroundDeletion", "bad finalizer!", "example.com/ok"]},
    {"managedFields": [{"operation": "Patch", "fieldsType": "FieldsV2"}, {"operation": "Apply"}]},
    {"generation": -1}, {"generation": 3}, {"generation": 0}, {"generation": None}, {"generation": "x"},
    {"name": "Other_Name"}, {"namespace": "other"}, {"namespace": ""}, {"uid": "u-2"},
    {"creationTimestamp": "2027-01-01T00:00:00Z"}, {"deletionTimestamp": "2027-01-01T00:00:00Z"},
    {"deletionGracePeriodSeconds": 30}, {"generateName": "node-"}, {"generateName": "Bad_"},
    {"labels": {"bad key!": "v"}, "finalizers": ["x y"], "name": "NOPE", "uid": "other"},
]
OLDS = [OLD, {**OLD, "deletionTimestamp": "2026-06-01T00:00:00Z", "finalizers": ["a.io/f"], "generation": 5}]


def _cases():
    for i, change in enumerate(CHANGES):
        for j, old in enumerate(OLDS):
            new = {**copy.deepcopy(old), **copy.deepcopy(change)}
            yield pytest.param(new, old, id=f"{i}-{j}")
            if None in change.values():  # the field absent rather than null
                yield pytest.param({k: v for k, v in new.items() if v is not None}, old, id=f"{i}-{j}-absent")


@pytest.mark.parametrize("new,old", list(_cases()))
def test_metadata_checks_as_the_oracle(new, old):
    for namespaced in (True, False):
        for name_fn in (is_dns1123_subdomain, is_dns1123_label):
            want = _texts(_ref_object_meta(new, namespaced, "metadata", name_fn))
            assert _texts(validation.validate_object_meta(new, namespaced, "metadata", name_fn)) == want
            lists = validation.validate_meta_lists(new, "metadata")
            assert _texts(validation.validate_object_meta(new, namespaced, "metadata", name_fn,
                                                          lists=lists)) == want
    want = _texts(_ref_object_meta_update(new, old, "metadata", check_resource_version=True))
    assert _texts(validation.validate_object_meta_update(new, old, "metadata", check_resource_version=True)) == want
    assert _texts(validation.validate_object_meta_update(
        new, old, "metadata", check_resource_version=True,
        lists=validation.validate_meta_lists(new, "metadata"))) == want


@pytest.mark.parametrize("new,old", list(_cases()))
def test_update_answer_as_the_oracle(new, old):
    """What Resources._validate raises (or not) for a Lease update, against the oracle's."""
    new_obj = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": new,
               "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}
    old_obj = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": old,
               "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}
    errs = (_ref_object_meta(new, True) + _ref_object_meta_update(new, old)
            + lease.KIND.validate_update(new_obj, old_obj))
    want = errors.invalid_object("Lease", "coordination.k8s.io", new.get("name") or new.get("generateName", ""),
                                 errs).status() if errs else None
    try:
        Resources(None)._validate(lease.KIND, new_obj, old_obj)
        got = None
    except errors.ApiError as exc:
        got = exc.status()
    assert got == want


def test_unchanged_metadata_is_not_validated_again(monkeypatch):
    """An update whose metadata equals the stored metadata (a lease renewal, a status write)
    skips the metadata checks, which the stored metadata passed; any change runs them all."""
    calls = []
    for name in ("validate_object_meta", "validate_object_meta_update", "validate_meta_lists"):
        real = getattr(validation, name)
        monkeypatch.setattr(validation, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    spec = {"holderIdentity": "node-1", "leaseDurationSeconds": 40}
    old_obj = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": OLD, "spec": spec}
    renewed = {**old_obj, "metadata": copy.deepcopy(OLD), "spec": {**spec, "renewTime": "2026-01-01T00:00:10.000000Z"}}
    Resources(None)._validate(lease.KIND, renewed, old_obj)
    assert calls == []
    assert validation.validate_object_meta_update(copy.deepcopy(OLD), OLD) == [] and calls == ["validate_object_meta_update"]
    calls.clear()
    relabelled = {**renewed, "metadata": {**OLD, "labels": {"bad key!": "v"}}}
    with pytest.raises(errors.ApiError) as exc:
        Resources(None)._validate(lease.KIND, relabelled, old_obj)
    assert "metadata.labels" in str(exc.value.status()) and "validate_object_meta" in calls
    bad_spec = {**renewed, "spec": {**spec, "leaseDurationSeconds": -1}}  # the rest is still validated
    with pytest.raises(errors.ApiError):
        Resources(None)._validate(lease.KIND, bad_spec, old_obj)
