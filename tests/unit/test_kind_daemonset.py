import copy

import pytest

from everynode.api import validation
from everynode.api.errors import ApiError
from everynode.api.kinds import daemonset as dskind

ANNOTATION = "deprecated.daemonset.template.generation"


def make_ds(**spec_extra):
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": "fluentd", "namespace": "kube-system"},
          "spec": {"selector": {"matchLabels": {"app": "fluentd"}},
                   "template": {"metadata": {"labels": {"app": "fluentd"}},
                                "spec": {"containers": [{"name": "fluentd", "image": "fluentd:v1"}]}}}}
    ds["spec"].update(spec_extra)
    dskind.default(ds)
    return ds


def created(**spec_extra):
    ds = make_ds(**spec_extra)
    dskind.prepare_create(ds)
    return ds


# --- identity ---------------------------------------------------------------------

def test_kind_identity_and_hooks():
    k = dskind.KIND
    assert (k.group, k.version, k.kind, k.plural, k.singular) == ("apps", "v1", "DaemonSet", "daemonsets", "daemonset")
    assert k.short_names == ("ds",) and k.subresources == ("status",) and k.namespaced
    assert k.has_generation is True
    assert k.prepare_update is dskind.prepare_update


# --- defaults -----------------------------------------------------------------------

@pytest.mark.parametrize("spec_extra,expected_strategy,expected_limit", [
    ({}, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}, 10),
    ({"updateStrategy": {"type": "OnDelete"}}, {"type": "OnDelete"}, 10),
    ({"updateStrategy": {"rollingUpdate": {"maxSurge": "10%"}}},
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "10%"}}, 10),
    ({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}},
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}, 10),
    ({"revisionHistoryLimit": 0}, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}, 0),
])
def test_defaults(spec_extra, expected_strategy, expected_limit):
    ds = make_ds(**spec_extra)
    assert ds["spec"]["updateStrategy"] == expected_strategy
    assert ds["spec"]["revisionHistoryLimit"] == expected_limit


def test_template_defaults_are_template_only():
    spec = make_ds()["spec"]["template"]["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["securityContext"], spec["terminationGracePeriodSeconds"],
            spec["schedulerName"]) == ("Always", "ClusterFirst", {}, 30, "default-scheduler")
    c = spec["containers"][0]
    assert (c["imagePullPolicy"], c["terminationMessagePath"], c["terminationMessagePolicy"]) == (
        "IfNotPresent", "/dev/termination-log", "File")
    assert "enableServiceLinks" not in spec


# --- create / update / status bookkeeping ----------------------------------------------

def test_prepare_create():
    ds = make_ds()
    ds["status"] = {"numberReady": 5, "observedGeneration": 3}
    dskind.prepare_create(ds)
    assert ds["status"] == {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                            "numberReady": 0}
    assert ds["metadata"]["generation"] == 1
    assert ds["metadata"]["annotations"] == {ANNOTATION: "1"}


@pytest.mark.parametrize("given,expected", [("5", "5"), ("0", "1"), ("-3", "1"), ("+2", "2")])
def test_prepare_create_template_generation_from_annotation(given, expected):
    ds = make_ds()
    ds["metadata"]["annotations"] = {ANNOTATION: given, "keep": "me"}
    dskind.prepare_create(ds)
    assert ds["metadata"]["annotations"] == {ANNOTATION: expected, "keep": "me"}


@pytest.mark.parametrize("value,message", [
    ("abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ("", 'strconv.ParseInt: parsing "": invalid syntax'),
    ("99999999999999999999", 'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
])
def test_unparsable_template_generation_is_bad_request(value, message):
    ds = make_ds()
    ds["metadata"]["annotations"] = {ANNOTATION: value}
    with pytest.raises(ApiError) as e:
        dskind.prepare_create(ds)
    assert (e.value.code, e.value.message) == (400, message)


def _update(mutate):
    old = created()
    old["status"] = {"currentNumberScheduled": 3, "numberMisscheduled": 0, "desiredNumberScheduled": 3,
                     "numberReady": 3, "observedGeneration": 1}
    new = copy.deepcopy(old)
    mutate(new)
    dskind.default(new)
    dskind.prepare_update(new, old)
    return new, old


@pytest.mark.parametrize("mutate,generation", [
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="fluentd:v2"), "2"),
    (lambda d: d["spec"]["template"]["metadata"].update(annotations={"kubectl.kubernetes.io/restartedAt": "now"}),
     "2"),
    (lambda d: d["spec"].update(minReadySeconds=5), "1"),
    (lambda d: d["metadata"].update(labels={"a": "b"}), "1"),
    (lambda d: d["metadata"]["annotations"].update({ANNOTATION: "42"}), "1"),
    (lambda d: d["metadata"].pop("annotations"), "1"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].update(resources={}), "1"),
])
def test_prepare_update_template_generation(mutate, generation):
    new, old = _update(mutate)
    assert new["metadata"]["annotations"][ANNOTATION] == generation
    assert new["status"] == old["status"]


def test_prepare_update_ignores_status_in_body():
    new, old = _update(lambda d: d.update(status={"numberReady": 99}))
    assert new["status"] == old["status"]


def test_prepare_status_update_resets_spec_and_normalizes_status():
    old = created()
    new = copy.deepcopy(old)
    new["spec"]["minReadySeconds"] = 30
    new["metadata"]["annotations"][ANNOTATION] = "9"
    new["status"] = {"numberReady": 2, "observedGeneration": 0, "numberAvailable": 0, "collisionCount": 0,
                     "updatedNumberScheduled": 1}
    dskind.prepare_status_update(new, old)
    assert new["spec"] == old["spec"]
    assert new["metadata"]["annotations"][ANNOTATION] == "1"
    assert new["status"] == {"numberReady": 2, "collisionCount": 0, "updatedNumberScheduled": 1,
                             "currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0}


# --- validation table (§1.4) ----------------------------------------------------------------

def _errs(ds, old=None):
    if old is None:
        return validation.validate_object_meta(ds["metadata"], True) + dskind.validate_create(ds)
    return dskind.validate_update(ds, old)


def _found(errs):
    return [(e.type, e.field, e.detail) for e in errs]


def test_valid_daemonset():
    assert _errs(created()) == []


def _spec(key, value):
    return lambda d: d["spec"].__setitem__(key, value)


def _tspec(key, value):
    return lambda d: d["spec"]["template"]["spec"].__setitem__(key, value)


def _rolling(**values):
    return lambda d: d["spec"]["updateStrategy"].__setitem__("rollingUpdate", values)


OPERATOR_MSG = "not a valid selector operator"
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                 "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                 "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
PERCENT_MSG = ("a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
               "regex used for validation is '[0-9]+%')")

CASES = [
    ("name missing", lambda d: d["metadata"].pop("name"), "Required", "metadata.name",
     "name or generateName is required", None),
    ("name invalid", lambda d: d["metadata"].update(name="Fluentd"), "Invalid", "metadata.name", SUBDOMAIN_MSG,
     "Fluentd"),
    ("selector bad operator", _spec("selector", {"matchExpressions": [{"key": "app", "operator": "Foo"}]}),
     "Invalid", "spec.selector.matchExpressions[0].operator", OPERATOR_MSG, "Foo"),
    ("selector empty", _spec("selector", {}), "Invalid", "spec.selector", "empty selector is invalid for daemonset", {}),
    ("selector mismatch", _spec("selector", {"matchLabels": {"app": "other"}}), "Invalid",
     "spec.template.metadata.labels", "`selector` does not match template `labels`", {"app": "fluentd"}),
    ("selector missing", lambda d: d["spec"].pop("selector"), "Invalid", "spec.template.metadata.labels",
     "`selector` does not match template `labels`", {"app": "fluentd"}),
    ("restartPolicy", _tspec("restartPolicy", "OnFailure"), "Unsupported value", "spec.template.spec.restartPolicy",
     'supported values: "Always"', "OnFailure"),
    ("restartPolicy Never", _tspec("restartPolicy", "Never"), "Unsupported value", "spec.template.spec.restartPolicy",
     'supported values: "Always"', "Never"),
    ("activeDeadlineSeconds", _tspec("activeDeadlineSeconds", 10), "Forbidden",
     "spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in DaemonSet is not Supported", None),
    ("template pod spec", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image=""), "Required",
     "spec.template.spec.containers[0].image", "", None),
    ("template labels", lambda d: (d["spec"]["template"]["metadata"]["labels"].update({"x": "-y"})), "Invalid",
     "spec.template.labels", None, "-y"),
    ("minReadySeconds", _spec("minReadySeconds", -1), "Invalid", "spec.minReadySeconds",
     "must be greater than or equal to 0", -1),
    ("revisionHistoryLimit", _spec("revisionHistoryLimit", -1), "Invalid", "spec.revisionHistoryLimit",
     "must be greater than or equal to 0", -1),
    ("strategy type", _spec("updateStrategy", {"type": "Recreate"}), "Unsupported value", "spec.updateStrategy",
     'supported values: "RollingUpdate", "OnDelete"', {"type": "Recreate"}),
    ("rollingUpdate missing", _spec("updateStrategy", {"type": "RollingUpdate"}), "Required",
     "spec.updateStrategy.rollingUpdate", "", None),
    ("maxUnavailable negative", _rolling(maxUnavailable=-1, maxSurge=0), "Invalid",
     "spec.updateStrategy.rollingUpdate.maxUnavailable", "must be greater than or equal to 0", -1),
    ("maxUnavailable not percent", _rolling(maxUnavailable="abc", maxSurge=0), "Invalid",
     "spec.updateStrategy.rollingUpdate.maxUnavailable", PERCENT_MSG, "abc"),
    ("maxSurge digits string", _rolling(maxUnavailable=0, maxSurge="1"), "Invalid",
     "spec.updateStrategy.rollingUpdate.maxSurge", PERCENT_MSG, "1"),
    ("maxUnavailable over 100%", _rolling(maxUnavailable="101%", maxSurge=0), "Invalid",
     "spec.updateStrategy.rollingUpdate.maxUnavailable", "must not be greater than 100%", "101%"),
    ("maxSurge over 100%", _rolling(maxUnavailable=0, maxSurge="200%"), "Invalid",
     "spec.updateStrategy.rollingUpdate.maxSurge", "must not be greater than 100%", "200%"),
    ("both non-zero", _rolling(maxUnavailable=1, maxSurge="10%"), "Invalid",
     "spec.updateStrategy.rollingUpdate.maxSurge", "may not be set when maxUnavailable is non-zero", "10%"),
    ("both zero", _rolling(maxUnavailable=0, maxSurge=0), "Required",
     "spec.updateStrategy.rollingUpdate.maxUnavailable", "cannot be 0 when maxSurge is 0", None),
    ("both zero percent", _rolling(maxUnavailable="0%", maxSurge=0), "Required",
     "spec.updateStrategy.rollingUpdate.maxUnavailable", "cannot be 0 when maxSurge is 0", None),
]


@pytest.mark.parametrize("name,mutate,etype,field,detail,value", CASES, ids=[c[0] for c in CASES])
def test_validate_create(name, mutate, etype, field, detail, value):
    ds = created()
    mutate(ds)
    errs = _errs(ds)
    matches = [e for e in errs if (e.type, e.field) == (etype, field) and (detail is None or e.detail == detail)]
    assert matches, _found(errs)
    if value is not None:
        assert matches[0].value == value


@pytest.mark.parametrize("strategy", [
    {"type": "OnDelete"},
    {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
    {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%", "maxSurge": 0}},
    {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "0%", "maxSurge": "25%"}},
])
def test_valid_strategies(strategy):
    ds = created(updateStrategy=strategy)
    assert _errs(ds) == []


def test_restart_policy_message_text():
    ds = created()
    ds["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    err = next(e for e in _errs(ds) if e.field == "spec.template.spec.restartPolicy")
    assert err.error() == ('spec.template.spec.restartPolicy: Unsupported value: "OnFailure": '
                           'supported values: "Always"')


@pytest.mark.parametrize("mutate,etype,field,detail", [
    (_spec("selector", {"matchLabels": {"app": "fluentd", "tier": "x"}}), "Invalid", "spec.selector",
     "field is immutable"),
    (_spec("selector", {"matchExpressions": [{"key": "app", "operator": "In", "values": ["fluentd"]}]}),
     "Invalid", "spec.selector", "field is immutable"),
    (_tspec("restartPolicy", "Never"), "Unsupported value", "spec.template.spec.restartPolicy",
     'supported values: "Always"'),
])
def test_validate_update(mutate, etype, field, detail):
    old = created()
    new = copy.deepcopy(old)
    mutate(new)
    assert (etype, field, detail) in _found(_errs(new, old))


def test_update_with_same_selector_is_valid():
    old = created()
    new = copy.deepcopy(old)
    new["spec"]["selector"]["matchExpressions"] = []
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "fluentd:v2"
    assert _errs(new, old) == []


@pytest.mark.parametrize("status,old_status,etype,field,detail,value", [
    ({"numberReady": -1}, {}, "Invalid", "status.numberReady", "must be greater than or equal to 0", -1),
    ({"currentNumberScheduled": -1}, {}, "Invalid", "status.currentNumberScheduled",
     "must be greater than or equal to 0", -1),
    ({"observedGeneration": -2}, {}, "Invalid", "status.observedGeneration", "must be greater than or equal to 0", -2),
    ({"numberUnavailable": -1}, {}, "Invalid", "status.numberUnavailable", "must be greater than or equal to 0", -1),
    ({"collisionCount": -1}, {}, "Invalid", "status.collisionCount", "must be greater than or equal to 0", -1),
    ({"collisionCount": 1}, {"collisionCount": 2}, "Invalid", "status.collisionCount", "cannot be decremented", 1),
    ({}, {"collisionCount": 2}, "Invalid", "status.collisionCount", "cannot be decremented", 0),
])
def test_validate_status_update(status, old_status, etype, field, detail, value):
    old = created()
    old["status"].update(old_status)
    new = copy.deepcopy(old)
    new["status"] = {**dskind.normalize_status({}), **status}
    errs = [e for e in dskind.validate_status_update(new, old) if (e.type, e.field, e.detail) == (etype, field, detail)]
    assert errs and errs[0].value == value


@pytest.mark.parametrize("status,old_status", [
    ({"collisionCount": 3}, {"collisionCount": 2}),
    ({"collisionCount": 0}, {}),
    ({"numberReady": 3, "numberAvailable": 3, "observedGeneration": 2}, {}),
])
def test_valid_status_update(status, old_status):
    old = created()
    old["status"].update(old_status)
    new = copy.deepcopy(old)
    new["status"] = {**dskind.normalize_status({}), **status}
    assert dskind.validate_status_update(new, old) == []
