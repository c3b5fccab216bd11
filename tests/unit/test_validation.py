import pytest

from everynode.api import validation as v

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                 "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                 "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
QNAME_PART = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
              "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
              "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
             "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
             "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


@pytest.mark.parametrize("value,errors", [
    ("example.com", []),
    ("a", []),
    ("0-a.b-1", []),
    ("Example", [SUBDOMAIN_MSG]),
    ("-a", [SUBDOMAIN_MSG]),
    ("a..b", [SUBDOMAIN_MSG]),
    ("", [SUBDOMAIN_MSG]),
    ("a" * 253, []),
    ("a" * 254, ["must be no more than 253 characters"]),
])
def test_dns1123_subdomain(value, errors):
    assert v.is_dns1123_subdomain(value) == errors


@pytest.mark.parametrize("value,errors", [
    ("my-name", []),
    ("123", []),
    ("a.b", ["must not contain dots"]),
    ("A", [LABEL_MSG]),
    ("a-", [LABEL_MSG]),
    ("a" * 64, ["must be no more than 63 characters"]),
    ("a" * 64 + ".b", ["must be no more than 63 characters", "must not contain dots"]),
])
def test_dns1123_label(value, errors):
    assert v.is_dns1123_label(value) == errors


@pytest.mark.parametrize("value,errors", [
    ("app", []),
    ("MyName", []),
    ("my.name_x-y", []),
    ("example.com/app", []),
    ("kubernetes.io/hostname", []),
    ("/app", ["prefix part must be non-empty"]),
    ("Example.com/app", ["prefix part " + SUBDOMAIN_MSG]),
    ("example.com/", ["name part must be non-empty", "name part " + QNAME_PART]),
    ("a b", ["name part " + QNAME_PART]),
    ("-app", ["name part " + QNAME_PART]),
    ("a" * 64, ["name part must be no more than 63 bytes"]),
    ("a/b/c", ["a valid label key " + QNAME_PART
               + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]),
])
def test_qualified_name(value, errors):
    assert v.is_qualified_name(value) == errors


@pytest.mark.parametrize("value,errors", [
    ("", []),
    ("v1.2_x-y", []),
    ("a b", [VALUE_MSG]),
    ("-a", [VALUE_MSG]),
    ("a" * 64, ["must be no more than 63 bytes"]),
])
def test_label_value(value, errors):
    assert v.is_valid_label_value(value) == errors


def errs(found):
    return [e.error() for e in found]


@pytest.mark.parametrize("meta,namespaced,errors", [
    ({"name": "ok", "namespace": "default"}, True, []),
    ({"name": "ok"}, False, []),
    ({}, False, ["metadata.name: Required value: name or generateName is required"]),
    ({"name": "ok"}, True, ["metadata.namespace: Required value"]),
    ({"name": "ok", "namespace": "default"}, False, ["metadata.namespace: Forbidden: not allowed on this type"]),
    ({"name": "ok", "namespace": "Bad"}, True, ['metadata.namespace: Invalid value: "Bad": ' + LABEL_MSG]),
    ({"name": "Bad_Name"}, False, ['metadata.name: Invalid value: "Bad_Name": ' + SUBDOMAIN_MSG]),
    ({"name": "x", "generateName": "web-"}, False, []),
    ({"name": "x", "generateName": "Web-"}, False, ['metadata.generateName: Invalid value: "Web-": ' + SUBDOMAIN_MSG]),
    ({"name": "x", "generation": -1}, False, ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"]),
    ({"name": "x", "labels": {"a": "b", "bad key": "ok"}}, False,
     ['metadata.labels: Invalid value: "bad key": name part ' + QNAME_PART]),
    ({"name": "x", "labels": {"a": "bad value"}}, False, ['metadata.labels: Invalid value: "bad value": ' + VALUE_MSG]),
    ({"name": "x", "annotations": {"Example.COM/Anything": "any value at all"}}, False, []),
    ({"name": "x", "annotations": {"a b": "v"}}, False, ['metadata.annotations: Invalid value: "a b": name part ' + QNAME_PART]),
    ({"name": "x", "annotations": {"big": "x" * (256 * 1024)}}, False,
     ["metadata.annotations: Too long: may not be more than 262144 bytes"]),
    ({"name": "x", "finalizers": ["kubernetes.io/pv-protection", "orphan"]}, False, []),
    ({"name": "x", "finalizers": ["orphan", "foregroundDeletion"]}, False,
     ['metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: '
      "finalizer orphan and foregroundDeletion cannot be both set"]),
    ({"name": "x", "finalizers": ["a/b/c"]}, False,
     ['metadata.finalizers: Invalid value: "a/b/c": a valid label key ' + QNAME_PART
      + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]),
])
def test_object_meta(meta, namespaced, errors):
    assert errs(v.validate_object_meta(meta, namespaced)) == errors


def test_object_meta_custom_name_fn():
    assert errs(v.validate_object_meta({"name": "a.b"}, False, name_fn=v.is_dns1123_label)) == [
        'metadata.name: Invalid value: "a.b": must not contain dots']


OWNER = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "uid": "u1", "controller": True}


@pytest.mark.parametrize("refs,errors", [
    ([OWNER], []),
    ([{"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u"}], []),
    ([{"apiVersion": "", "kind": "", "name": "", "uid": ""}], [
        'o.apiVersion: Invalid value: "": version must not be empty',
        'o.kind: Invalid value: "": must not be empty',
        'o.name: Invalid value: "": must not be empty',
        'o.uid: Invalid value: "": must not be empty']),
    ([OWNER, dict(OWNER, name="ds2", uid="u2")], [
        'o: Invalid value: [{"apiVersion":"apps/v1","controller":true,"kind":"DaemonSet","name":"ds","uid":"u1"},'
        '{"apiVersion":"apps/v1","controller":true,"kind":"DaemonSet","name":"ds2","uid":"u2"}]: '
        'Only one reference can have Controller set to true. Found "true" in references for DaemonSet/ds '
        'and DaemonSet/ds2']),
    ([{"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}], [
        'o: Invalid value: {"apiVersion":"v1","kind":"Event","name":"e","uid":"u"}: '
        '/v1, Kind=Event is disallowed from being an owner']),
])
def test_owner_references(refs, errors):
    assert errs(v.validate_owner_references(refs, "o")) == errors


BASE = {"name": "x", "namespace": "ns", "uid": "u1", "creationTimestamp": "2024-01-01T00:00:00Z",
        "resourceVersion": "5", "generation": 2}


@pytest.mark.parametrize("change,errors", [
    ({}, []),
    ({"labels": {"a": "b"}}, []),
    ({"name": "y"}, ['metadata.name: Invalid value: "y": field is immutable']),
    ({"namespace": "other"}, ['metadata.namespace: Invalid value: "other": field is immutable']),
    ({"uid": "u2"}, ['metadata.uid: Invalid value: "u2": field is immutable']),
    ({"creationTimestamp": "2025-01-01T00:00:00Z"},
     ['metadata.creationTimestamp: Invalid value: "2025-01-01T00:00:00Z": field is immutable']),
    ({"deletionTimestamp": "2025-01-01T00:00:00Z"},
     ['metadata.deletionTimestamp: Invalid value: "2025-01-01T00:00:00Z": field is immutable']),
    ({"generation": 1}, ["metadata.generation: Invalid value: 1: must not be decremented"]),
    ({"labels": {"a": "b c"}}, ['metadata.labels: Invalid value: "b c": ' + VALUE_MSG]),
])
def test_object_meta_update(change, errors):
    assert errs(v.validate_object_meta_update(dict(BASE, **change), BASE)) == errors


def test_object_meta_update_resource_version_opt_in():
    new = dict(BASE, resourceVersion="")
    assert errs(v.validate_object_meta_update(new, BASE)) == []
    assert errs(v.validate_object_meta_update(new, BASE, check_resource_version=True)) == [
        'metadata.resourceVersion: Invalid value: "": must be specified for an update']


def test_no_new_finalizers_while_deleting():
    old = dict(BASE, deletionTimestamp="2025-01-01T00:00:00Z", finalizers=["a"])
    new = dict(old, finalizers=["a", "c", "b"])
    assert errs(v.validate_object_meta_update(new, old)) == [
        'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, '
        'found new finalizers []string{"b", "c"}']
    assert errs(v.validate_object_meta_update(dict(old, finalizers=[]), old)) == []


@pytest.mark.parametrize("sel,errors", [
    (None, []),
    ({}, []),
    ({"matchLabels": {"app": "x"}}, []),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x"]}]}, []),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, []),
    ({"matchExpressions": [{"key": "a", "operator": "In"}]},
     ["s.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"]),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": ["x"]}]},
     ["s.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or "
      "'DoesNotExist'"]),
    ({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]},
     ['s.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator']),
    ({"matchExpressions": [{"key": "a b", "operator": "Exists"}]},
     ['s.matchExpressions[0].key: Invalid value: "a b": name part ' + QNAME_PART]),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["ok", "not ok"]}]},
     ['s.matchExpressions[0].values[1]: Invalid value: "not ok": ' + VALUE_MSG]),
    ({"matchLabels": {"app": "a b"}}, ['s.matchLabels: Invalid value: "a b": ' + VALUE_MSG]),
])
def test_label_selector(sel, errors):
    assert errs(v.validate_label_selector(sel, "s")) == errors


@pytest.mark.parametrize("value,errors", [
    (0, []), (None, []), (3, []), (-1, ["f: Invalid value: -1: must be greater than or equal to 0"]),
])
def test_nonnegative(value, errors):
    assert errs(v.validate_nonnegative(value, "f")) == errors


def test_mask_trailing_dash():
    assert v.mask_trailing_dash("web-") == "wea"
    assert v.mask_trailing_dash("web") == "web"
    assert v.mask_trailing_dash("-") == "a"


def test_enum():
    assert errs(v.validate_enum(None, "f", ["A", "B"])) == ["f: Required value"]
    assert errs(v.validate_enum("C", "f", ["A", "B"])) == ['f: Unsupported value: "C": supported values: "A", "B"']
    assert errs(v.validate_enum("", "f", ["A"], required_=False)) == []
