"""The memoised pod-spec functions must behave exactly like the unmemoised originals.

Three functions are memoised on the JSON bytes of a pod spec with ``spec.affinity``
left out of the key: defaulting, validation and the QoS class. For a table of varied
specs each test runs the original, then the memoised function twice (a cache miss,
then a hit), and compares everything a caller can observe: the mutated spec (with key
order), the errors in order, the TypeMismatch text. Then it scribbles over what the
memoised call returned and checks that a later call is not affected. The schema check
of request bodies (a "clean?" predicate, then the walk) is compared with the walk alone
on the same specs: unknown-field paths in order, conversions, the first TypeMismatch.
"""

from __future__ import annotations

import contextlib
import copy
import datetime

import orjson
import pytest

from everynode.api import podspec as ps
from everynode.api.kinds import pod as pod_kind
from everynode.apiserver import decode

# --- the table of specs -------------------------------------------------------------

_NODE_AFFINITY_A = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-a"]}]}]}}}
_NODE_AFFINITY_B = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-b"]}]}]}}}


def _container(name="app", image="registry.example.com/team/app:1.2", **extra):
    c = {"name": name, "image": image}
    c.update(extra)
    return c


MINIMAL = {"containers": [{"name": "c", "image": "busybox"}]}

FULL = {
    "volumes": [
        {"name": "config", "configMap": {"name": "app-config", "items": [{"key": "a.yaml", "path": "a.yaml"}]}},
        {"name": "creds", "secret": {"secretName": "app-creds"}},
        {"name": "cache", "emptyDir": {"sizeLimit": "1.5Gi"}},
        {"name": "logs", "hostPath": {"path": "/var/log"}},
        {"name": "proj", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token"}},
            {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}},
        {"name": "info", "downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        {"name": "plain"},
    ],
    "initContainers": [_container("init", "busybox:1.36", command=["sh", "-c", "true"],
                                  resources={"limits": {"cpu": "100m", "memory": "32Mi"}})],
    "containers": [
        _container(
            ports=[{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "protocol": "UDP"}],
            env=[{"name": "A", "value": "1"},
                 {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                 {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
            envFrom=[{"configMapRef": {"name": "app-env"}}],
            resources={"limits": {"cpu": "0.5", "memory": "128Mi"}, "requests": {"cpu": "0.1001"}},
            livenessProbe={"httpGet": {"port": 8080}},
            readinessProbe={"tcpSocket": {"port": "http"}, "periodSeconds": 5},
            startupProbe={"grpc": {"port": 9090}, "failureThreshold": 30},
            lifecycle={"preStop": {"httpGet": {"port": 8080, "path": "/quit"}}},
            volumeMounts=[{"name": "config", "mountPath": "/etc/app"}, {"name": "cache", "mountPath": "/cache"}],
            securityContext={"runAsNonRoot": True, "allowPrivilegeEscalation": False},
        ),
        _container("sidecar", "busybox:latest", args=["sleep", "infinity"],
                   readinessProbe={"exec": {"command": ["true"]}}),
    ],
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"operator": "Exists"}, {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}],
    "securityContext": {"runAsUser": 1000, "fsGroup": 2000},
    "dnsConfig": {"nameservers": ["10.0.0.10"], "options": [{"name": "ndots", "value": "2"}]},
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                   "whenUnsatisfiable": "DoNotSchedule",
                                   "labelSelector": {"matchLabels": {"app": "x"}}}],
    "priorityClassName": "system-node-critical",
    "serviceAccountName": "agent",
    "overhead": {"cpu": "250m", "memory": "0.5Gi"},
    "affinity": _NODE_AFFINITY_A,
}

HOST_NETWORK = {
    "hostNetwork": True,
    "dnsPolicy": "ClusterFirstWithHostNet",
    "containers": [_container(ports=[{"containerPort": 10250}, {"containerPort": 53, "protocol": "UDP"}])],
    "initContainers": [_container("init", ports=[{"containerPort": 9000}])],
    "affinity": _NODE_AFFINITY_B,
}

# Errors before the affinity (containers, restart and DNS policy), in it (node and pod
# affinity) and after it (tolerations, hostname, deadline, os...).
MANY_INVALID = {
    "containers": [
        _container("Bad_Name", "", ports=[{"containerPort": 0}, {"containerPort": 70000, "protocol": "SCTP2"}],
                   env=[{"name": "a=b"}, {"name": ""}],
                   resources={"limits": {"cpu": "100m"}, "requests": {"cpu": "200m", "memory": "lots"}},
                   livenessProbe={"httpGet": {"port": 0}, "successThreshold": 2},
                   volumeMounts=[{"name": "missing", "mountPath": "rel"}]),
        _container("Bad_Name"),
    ],
    "restartPolicy": "Sometimes",
    "dnsPolicy": "Sideways",
    "nodeSelector": {"bad key!": "v"},
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "Near", "values": ["bad value!"]}]},
                {"matchFields": [{"key": "metadata.uid", "operator": "In", "values": ["a", "b"]}]}]},
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 0, "preference": {"matchExpressions": [{"key": "k", "operator": "Exists",
                                                                   "values": ["x"]}]}}],
        },
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": ""}]},
    },
    "tolerations": [{"key": "k", "operator": "Bogus"}, {"operator": "Equal", "value": "v"}],
    "hostname": "Bad_Host",
    "activeDeadlineSeconds": 0,
    "readinessGates": [{"conditionType": "bad type!"}],
    "schedulingGates": [{"name": "g"}, {"name": "g"}],
    "os": {"name": "plan9"},
    "terminationGracePeriodSeconds": -5,
}

ONLY_AFFINITY_INVALID = {
    "containers": [_container()],
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}},
}

AFFINITY_NOT_A_DICT = {"containers": [_container()], "affinity": "nope"}
AFFINITY_NULL = {"affinity": None, "containers": [_container()]}
AFFINITY_FIRST = {"affinity": _NODE_AFFINITY_A, "restartPolicy": "Never", "containers": [_container()]}

EPHEMERAL = {
    "volumes": [
        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "web-0-scratch"}},
    ],
    "containers": [_container(volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}])],
    "affinity": _NODE_AFFINITY_A,
}

FLOATS = {
    "terminationGracePeriodSeconds": 30.0,
    "activeDeadlineSeconds": 60.0,
    "containers": [_container(ports=[{"containerPort": 8080.0}], resources={"limits": {"cpu": 0.5}})],
    "affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 3.0, "podAffinityTerm": {"topologyKey": "zone", "labelSelector": {"matchLabels": {"a": "b"}}}}]}},
}

NONE_ITEMS = {
    "volumes": [None],
    "containers": [None, _container(args=[None, "x"], env=[None], ports=[None])],
    "tolerations": [None],
    "imagePullSecrets": [None],
    "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [None]}},
}

EPHEMERAL_CONTAINERS = {
    "containers": [_container()],
    "ephemeralContainers": [{"name": "debug", "image": " busybox", "targetContainerName": "nope",
                             "ports": [{"containerPort": 80}]}],
}

POD_LEVEL_RESOURCES = {
    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}},
    "containers": [_container(resources={"requests": {"cpu": "100m"}})],
}

NOT_A_DICT_EVERYWHERE = {
    "containers": "nope",
    "initContainers": [5, "x"],
    "volumes": {"a": 1},
    "securityContext": [],
    "tolerations": "all",
    "affinity": [],
}

SPECS = [
    pytest.param(MINIMAL, id="minimal"),
    pytest.param({}, id="empty"),
    pytest.param(FULL, id="full"),
    pytest.param(HOST_NETWORK, id="host-network"),
    pytest.param(MANY_INVALID, id="many-invalid"),
    pytest.param(ONLY_AFFINITY_INVALID, id="only-affinity-invalid"),
    pytest.param(AFFINITY_NOT_A_DICT, id="affinity-not-a-dict"),
    pytest.param(AFFINITY_NULL, id="affinity-null"),
    pytest.param(AFFINITY_FIRST, id="affinity-first"),
    pytest.param(EPHEMERAL, id="ephemeral-volume"),
    pytest.param(FLOATS, id="floats"),
    pytest.param(NONE_ITEMS, id="none-items"),
    pytest.param(EPHEMERAL_CONTAINERS, id="ephemeral-containers"),
    pytest.param(POD_LEVEL_RESOURCES, id="pod-level-resources"),
    pytest.param(NOT_A_DICT_EVERYWHERE, id="wrong-shapes"),
]


# --- helpers ------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _cold_caches():
    """Every test starts with empty memos, so its first call is a miss and its second a hit."""
    caches = (ps._defaulted_json, ps._spec_errors, pod_kind._qos_of)
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


def _same_object(got, want):
    """Equal, with the same key order in every nested dict (repr shows nested order)."""
    assert got == want
    assert repr(got) == repr(want)
    if isinstance(got, dict):
        assert list(got) == list(want)
    with contextlib.suppress(TypeError):  # non-JSON values: repr above covers them
        assert orjson.dumps(got) == orjson.dumps(want)


def _rows(errs):
    return [(e.type, e.field, e.detail, e.value) for e in errs]


def _scribble(value):
    """Mutate every dict and list reachable from ``value``."""
    if isinstance(value, dict):
        for v in list(value.values()):
            _scribble(v)
        value["scribbled"] = True
    elif isinstance(value, list):
        for v in list(value):
            _scribble(v)
        value.append("scribbled")


def _scribble_errors(errs):
    for e in errs:
        e.type, e.field, e.detail = "Scribbled", "scribbled", "scribbled"
    errs.append(errs[0] if errs else None)
    errs.reverse()


# Unmemoised references.

def _ref_default(spec, for_template):
    spec = copy.deepcopy(spec)
    ps._default_pod_spec(spec, for_template)
    return spec


def _ref_validate(spec, path, is_pod, pod_name):
    spec = ps._d(copy.deepcopy(spec))
    before, after = ps._validate_pod_spec_parts(spec, path, is_pod, pod_name)
    return before + ps.validate_affinity(spec.get("affinity"), f"{path}.affinity") + after


def _walk(type_name, obj, path=""):
    unknown = []
    decode._check_object(type_name, obj, path, unknown)
    return unknown


def _run_check(type_name, obj, path="", check=decode.check):
    """(the object after the check, unknown paths) or ("TypeMismatch", message, path)."""
    obj = copy.deepcopy(obj)
    try:
        unknown = check(type_name, obj, path)
    except decode.TypeMismatch as exc:
        return ("TypeMismatch", str(exc), exc.path)
    return obj, unknown


def _ref_check(type_name, obj, path=""):
    """The walk alone (no "clean?" predicate first)."""
    return _run_check(type_name, obj, path, check=_walk)


def _as_pod(spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "default"},
            "spec": copy.deepcopy(spec)}


def _as_daemonset(spec):
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "a"}},
                     "template": {"metadata": {"labels": {"app": "a"}}, "spec": copy.deepcopy(spec)}}}


def _assert_check_result(got, want):
    if want[0] == "TypeMismatch":
        assert got == want
        return
    assert got[0] != "TypeMismatch", got
    _same_object(got[0], want[0])
    assert got[1] == want[1]


# --- defaulting ---------------------------------------------------------------------

@pytest.mark.parametrize("for_template", [True, False], ids=["template", "pod"])
@pytest.mark.parametrize("spec", SPECS)
def test_default_pod_spec_matches_original(spec, for_template):
    want = _ref_default(spec, for_template)

    first = copy.deepcopy(spec)
    ps.default_pod_spec(first, for_template)
    _same_object(first, want)
    assert ps._defaulted_json.cache_info().misses == 1

    _scribble(first)  # the caller owns what it got back

    second = copy.deepcopy(spec)
    ps.default_pod_spec(second, for_template)
    assert ps._defaulted_json.cache_info().hits == 1
    _same_object(second, want)

    # Defaulting an already defaulted spec changes nothing, memoised or not.
    again = copy.deepcopy(want)
    ps.default_pod_spec(again, for_template)
    _same_object(again, want)


def test_default_keeps_the_callers_affinity_object_and_dict():
    spec = copy.deepcopy(FULL)
    affinity = spec["affinity"]
    ps.default_pod_spec(spec, for_template=False)
    assert spec["affinity"] is affinity  # as in the original, which never touches it
    assert list(spec).index("affinity") == list(FULL).index("affinity")


def test_default_specs_differing_only_in_affinity_share_one_entry():
    a, b = copy.deepcopy(FULL), copy.deepcopy(FULL)
    b["affinity"] = copy.deepcopy(_NODE_AFFINITY_B)
    ps.default_pod_spec(a, for_template=False)
    ps.default_pod_spec(b, for_template=False)
    assert ps._defaulted_json.cache_info().hits == 1
    _same_object(a, _ref_default(FULL, False))
    want_b = _ref_default({**FULL, "affinity": _NODE_AFFINITY_B}, False)
    _same_object(b, want_b)
    assert b["affinity"] == _NODE_AFFINITY_B
    assert a["affinity"] == _NODE_AFFINITY_A


# --- validation ---------------------------------------------------------------------

VALIDATE_MODES = [
    pytest.param("spec", True, "web-0", id="pod"),
    pytest.param("spec", True, "", id="pod-no-name"),
    pytest.param("spec.template.spec", False, "", id="template"),
]


@pytest.mark.parametrize("path,is_pod,pod_name", VALIDATE_MODES)
@pytest.mark.parametrize("spec", SPECS)
def test_validate_pod_spec_matches_original(spec, path, is_pod, pod_name):
    want = _rows(_ref_validate(spec, path, is_pod, pod_name))

    arg = copy.deepcopy(spec)
    first = ps.validate_pod_spec(arg, path, is_pod=is_pod, pod_name=pod_name)
    assert _rows(first) == want
    assert ps._spec_errors.cache_info().misses == 1
    _same_object(arg, spec)  # validation does not touch its argument

    _scribble_errors(first)
    _scribble(arg)

    second = ps.validate_pod_spec(copy.deepcopy(spec), path, is_pod=is_pod, pod_name=pod_name)
    assert ps._spec_errors.cache_info().hits == 1
    assert _rows(second) == want
    assert second is not first
    assert not any(a is b for a in first for b in second)


def test_validate_many_invalid_orders_affinity_errors_between_the_others():
    errs = ps.validate_pod_spec(copy.deepcopy(MANY_INVALID), "spec", is_pod=True, pod_name="web-0")
    assert _rows(errs) == _rows(_ref_validate(MANY_INVALID, "spec", True, "web-0"))
    fields = [e.field for e in errs]
    affinity = [i for i, f in enumerate(fields) if f.startswith("spec.affinity.")]
    assert affinity == list(range(affinity[0], affinity[-1] + 1))  # one block
    before, after = fields[:affinity[0]], fields[affinity[-1] + 1:]
    assert any(f.startswith("spec.containers[0].") for f in before)
    assert "spec.restartPolicy" in before and "spec.dnsPolicy" in before
    assert "spec.nodeSelector" in before
    assert any(f.startswith("spec.tolerations[") for f in after)
    assert "spec.hostname" in after and "spec.activeDeadlineSeconds" in after and "spec.os" in after
    assert {f for f in fields if f.startswith("spec.affinity.")} >= {
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0].operator",
        "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
    }


def test_validate_specs_differing_only_in_affinity():
    good = copy.deepcopy(FULL)
    bad = copy.deepcopy(FULL)
    bad["affinity"] = copy.deepcopy(MANY_INVALID["affinity"])
    errs_good = ps.validate_pod_spec(good, "spec", is_pod=True, pod_name="web-0")
    errs_bad = ps.validate_pod_spec(bad, "spec", is_pod=True, pod_name="web-0")
    errs_good_again = ps.validate_pod_spec(copy.deepcopy(FULL), "spec", is_pod=True, pod_name="web-0")
    assert ps._spec_errors.cache_info().hits == 2
    assert _rows(errs_good) == _rows(_ref_validate(FULL, "spec", True, "web-0"))
    assert _rows(errs_bad) == _rows(_ref_validate(bad, "spec", True, "web-0"))
    assert _rows(errs_good_again) == _rows(errs_good)
    assert not any(e.field.startswith("spec.affinity") for e in errs_good)
    assert any(e.field.startswith("spec.affinity") for e in errs_bad)
    assert [e for e in errs_bad if not e.field.startswith("spec.affinity")] == errs_good


@pytest.mark.parametrize("pod_name,expected", [
    ("web-0", [("Invalid", "spec.volumes[1].persistentVolumeClaim.claimName", "web-0-scratch")]),
    ("web-1", []),
    ("Web_1", [("Invalid", "spec.volumes[0].name", "scratch"),  # PVC name "Web_1-scratch"
               ("Not found", "spec.containers[0].volumeMounts[0].name", "scratch")]),
    ("", []),
])
def test_validate_ephemeral_volume_depends_on_pod_name(pod_name, expected):
    spec = _ref_default(EPHEMERAL, for_template=False)
    want = _ref_validate(spec, "spec", True, pod_name)
    got = ps.validate_pod_spec(copy.deepcopy(spec), "spec", is_pod=True, pod_name=pod_name)
    assert _rows(got) == _rows(want)
    assert [(e.type, e.field, e.value) for e in got] == expected


def test_validate_ephemeral_volume_pod_names_do_not_share_an_entry():
    results = {}
    for name in ("web-0", "web-1", "web-0", "Web_1", "web-1"):
        results.setdefault(name, []).append(
            _rows(ps.validate_pod_spec(copy.deepcopy(EPHEMERAL), "spec", is_pod=True, pod_name=name)))
    for name, runs in results.items():
        want = _rows(_ref_validate(EPHEMERAL, "spec", True, name))
        assert all(r == want for r in runs), name
    assert results["web-0"][0] != results["web-1"][0] != results["Web_1"][0]
    assert ps._spec_errors.cache_info().hits == 2


def test_validate_without_ephemeral_volume_ignores_pod_name_in_key():
    for name in ("web-0", "web-1", "Web_1"):
        got = ps.validate_pod_spec(copy.deepcopy(MANY_INVALID), "spec", is_pod=True, pod_name=name)
        assert _rows(got) == _rows(_ref_validate(MANY_INVALID, "spec", True, name))
    assert ps._spec_errors.cache_info().hits == 2


def test_validate_path_and_is_pod_are_part_of_the_key():
    spec = {"hostNetwork": True, "containers": [_container(ports=[{"containerPort": 80, "hostPort": 81}])],
            "volumes": [{"name": "x", "ephemeral": {}}]}
    for path, is_pod in (("spec", True), ("spec", False), ("spec.template.spec", False), ("spec", True)):
        got = ps.validate_pod_spec(copy.deepcopy(spec), path, is_pod=is_pod, pod_name="p")
        assert _rows(got) == _rows(_ref_validate(spec, path, is_pod, "p"))


def test_validate_error_values_are_not_shared_between_calls():
    spec = {"containers": [_container()], "imagePullSecrets": [["not", "a", "dict"]]}
    want = _rows(_ref_validate(spec, "spec", True, ""))
    first = ps.validate_pod_spec(copy.deepcopy(spec), "spec", is_pod=True)
    assert _rows(first) == want
    for e in first:
        _scribble(e.value)
    second = ps.validate_pod_spec(copy.deepcopy(spec), "spec", is_pod=True)
    assert _rows(second) == want


# --- the schema check ------------------------------------------------------------------

CHECK_SPECS = [
    *SPECS,
    pytest.param({"containers": [_container(foo=1, resources={"limits": {"cpu": "1"}, "bar": {}})],
                  "bogus": True, "affinity": {"nodeAffinity": {"bar": 1}, "zed": None}},
                 id="unknown-fields"),
    pytest.param({"containers": [_container(ports=[{"containerPort": "80"}])], "affinity": _NODE_AFFINITY_A},
                 id="mismatch-container-port"),
    pytest.param({"containers": [_container()],
                  "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": "x"}}},
                 id="mismatch-in-affinity"),
    pytest.param({"containers": [_container()], "affinity": {"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": "5"}]}}}, id="mismatch-affinity-weight"),
    pytest.param({"containers": [_container(foo=1)], "tolerations": [{"tolerationSeconds": "x"}],
                  "affinity": {"nodeAffinity": {"bar": 1}}}, id="unknown-then-mismatch"),
    pytest.param({"containers": [_container(args=["a", 1])]}, id="mismatch-list-item"),
    pytest.param({"nodeSelector": {"a": 1}, "containers": []}, id="mismatch-map-value"),
    pytest.param({"terminationGracePeriodSeconds": 2.5, "containers": []}, id="mismatch-non-integral-float"),
    pytest.param({"terminationGracePeriodSeconds": 2**63, "containers": []}, id="mismatch-int64-overflow"),
    pytest.param({"containers": [_container(resources={"limits": {"cpu": True}})]}, id="mismatch-bool-quantity"),
    pytest.param({"containers": {"name": "c"}}, id="mismatch-list-is-object"),
    pytest.param({"volumes": [{"name": "v", "hostPath": {"path": "/x", "type": None}}],
                  "containers": [_container(command=None)], "affinity": None}, id="nulls"),
]


@pytest.mark.parametrize("wrap,kind", [(_as_pod, "V1Pod"), (_as_daemonset, "V1DaemonSet")],
                         ids=["pod", "daemonset"])
@pytest.mark.parametrize("spec", CHECK_SPECS)
def test_check_matches_original(spec, wrap, kind):
    body = wrap(spec)
    want = _ref_check(kind, body)

    first = _run_check(kind, body)
    _assert_check_result(first, want)
    if first[0] != "TypeMismatch":
        _scribble(first[0])
        first[1].append("scribbled")

    second = _run_check(kind, body)
    _assert_check_result(second, want)


@pytest.mark.parametrize("spec", CHECK_SPECS)
def test_check_pod_spec_with_path(spec):
    """A spec checked under a path prefix (as the walk reaches it) and the empty path."""
    for path in ("spec", "x.y"):
        want = _ref_check("V1PodTemplateSpec", {"spec": copy.deepcopy(spec)}, path)
        got = _run_check("V1PodTemplateSpec", {"spec": copy.deepcopy(spec)}, path)
        _assert_check_result(got, want)


def test_check_unknown_field_paths_from_a_pod():
    body = _as_pod({"containers": [_container(foo=1)], "affinity": {"nodeAffinity": {"bar": 2}}})
    checked, unknown = _run_check("V1Pod", body)
    assert unknown == ["spec.containers[0].foo", "spec.affinity.nodeAffinity.bar"]
    assert _ref_check("V1Pod", body) == (checked, unknown)
    assert "foo" not in checked["spec"]["containers"][0]
    assert checked["spec"]["affinity"] == {"nodeAffinity": {}}


def test_check_unknown_field_paths_from_a_daemonset():
    body = _as_daemonset({"containers": [_container(foo=1)], "affinity": {"nodeAffinity": {"bar": 2}}})
    assert _run_check("V1DaemonSet", body)[1] == ["spec.template.spec.containers[0].foo",
                                                  "spec.template.spec.affinity.nodeAffinity.bar"]


def test_check_type_mismatch_messages():
    port = _as_pod({"containers": [_container(ports=[{"containerPort": "80"}])]})
    assert _run_check("V1Pod", port) == (
        "TypeMismatch", "json: cannot unmarshal string into Go struct field ContainerPort"
        ".spec.containers[0].ports[0].containerPort of type int64", "spec.containers[0].ports[0].containerPort")
    aff = _as_pod({"containers": [], "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": ["x"]}}})
    assert _run_check("V1Pod", aff) == (
        "TypeMismatch", "json: cannot unmarshal array into Go struct field NodeAffinity.spec.affinity.nodeAffinity"
        ".requiredDuringSchedulingIgnoredDuringExecution of type V1NodeSelector",
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution")
    for body in (port, aff):
        assert _run_check("V1Pod", body) == _ref_check("V1Pod", body)


def test_check_converts_integral_floats_and_null_items():
    body = _as_pod(FLOATS)
    checked, unknown = _run_check("V1Pod", body)
    assert unknown == []
    spec = checked["spec"]
    assert spec["terminationGracePeriodSeconds"] == 30 and type(spec["terminationGracePeriodSeconds"]) is int
    port = spec["containers"][0]["ports"][0]["containerPort"]
    assert port == 8080 and type(port) is int
    weight = spec["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"]
    assert weight == 3 and type(weight) is int
    assert spec["containers"][0]["resources"]["limits"]["cpu"] == 0.5  # a quantity stays a number
    _same_object(checked, _ref_check("V1Pod", body)[0])

    checked, _ = _run_check("V1Pod", _as_pod(NONE_ITEMS))
    spec = checked["spec"]
    assert spec["volumes"] == [{}] and spec["containers"][0] == {} and spec["tolerations"] == [{}]
    assert spec["containers"][1]["args"] == ["", "x"]
    assert spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] == [{}]


def test_check_specs_differing_only_in_affinity_keep_their_own_affinity():
    a = _as_pod({**FLOATS, "affinity": {"nodeAffinity": {"bar": 1, **_NODE_AFFINITY_A["nodeAffinity"]}}})
    b = _as_pod({**FLOATS, "affinity": {"nodeAffinity": {"baz": 1, **_NODE_AFFINITY_B["nodeAffinity"]}}})
    got_a, got_b = _run_check("V1Pod", a), _run_check("V1Pod", b)
    assert got_a == _ref_check("V1Pod", a) and got_b == _ref_check("V1Pod", b)
    assert got_a[0]["spec"]["affinity"] == _NODE_AFFINITY_A
    assert got_b[0]["spec"]["affinity"] == _NODE_AFFINITY_B
    assert got_a[1] == ["spec.affinity.nodeAffinity.bar"] and got_b[1] == ["spec.affinity.nodeAffinity.baz"]


def test_check_unknown_field_order_when_affinity_comes_first():
    body = _as_pod({"affinity": {"nodeAffinity": {"bar": 1}}, "containers": [_container(foo=1)]})
    want = _ref_check("V1Pod", body)
    assert want[1] == ["spec.affinity.nodeAffinity.bar", "spec.containers[0].foo"]
    assert _run_check("V1Pod", body) == want


def test_check_first_type_mismatch_when_affinity_comes_first():
    body = _as_pod({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": "x"}},
                    "containers": [_container(ports=[{"containerPort": "80"}])]})
    want = _ref_check("V1Pod", body)
    assert want[2] == "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    assert _run_check("V1Pod", body) == want


# --- values that are not plain JSON ------------------------------------------------------

NON_JSON = [
    pytest.param({"containers": [_container()], "nodeSelector": {"a": "b"}, "tolerations": {1, 2}}, id="set"),
    pytest.param({"containers": [_container(resources={"limits": {"cpu": "1"}})], "priority": 2**70},
                 id="huge-int"),
    pytest.param({"containers": [_container()], "nodeSelector": {1: "x"}}, id="int-key"),
    pytest.param({"containers": [_container(args=[b"bytes"])], "affinity": _NODE_AFFINITY_A}, id="bytes"),
]
# The memoised functions take JSON documents (the API server hands them parsed JSON, and YAML
# bodies with NaN or infinity are refused while decoding). Tuples are treated as JSON arrays.
NON_JSON_SERIALISED = [
    pytest.param({"containers": [_container()], "nodeName": datetime.datetime(2024, 1, 2, 3, 4, 5)},
                 id="datetime"),
]


def _outcome(fn):
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - the point is that both raise the same
        return ("raised", type(exc), str(exc))


@pytest.mark.parametrize("spec", NON_JSON + NON_JSON_SERIALISED)
def test_non_json_values_fall_back_to_the_original(spec):
    for for_template in (True, False):
        got = copy.deepcopy(spec)
        ps.default_pod_spec(got, for_template)
        _same_object(got, _ref_default(spec, for_template))
    for path, is_pod, name in (("spec", True, "web-0"), ("spec.template.spec", False, "")):
        got = _outcome(lambda path=path, is_pod=is_pod, name=name: _rows(
            ps.validate_pod_spec(copy.deepcopy(spec), path, is_pod=is_pod, pod_name=name)))
        want = _outcome(lambda path=path, is_pod=is_pod, name=name: _rows(
            _ref_validate(spec, path, is_pod, name)))
        assert repr(got) == repr(want)
    assert _ref_check("V1Pod", _as_pod(spec)) == _run_check("V1Pod", _as_pod(spec))
    got = _outcome(lambda: pod_kind.compute_qos_class({"spec": copy.deepcopy(spec)}))
    assert got == _outcome(lambda: pod_kind._compute_qos_class(copy.deepcopy(spec)))


@pytest.mark.parametrize("text, shown", [(b".nan", "NaN"), (b".inf", "+Inf"), (b"-.inf", "-Inf")])
def test_nan_and_infinity_in_a_yaml_body_are_refused_while_decoding(text, shown):
    """As Go's json.Marshal in sigs.k8s.io/yaml: NaN and infinities are not JSON."""
    from everynode.api.errors import ApiError

    with pytest.raises(ApiError) as exc:
        decode.parse(b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeName: " + text
                     + b"\n  containers: [{name: c, image: busybox}]\n", "application/yaml")
    assert exc.value.code == 400
    assert exc.value.message == f"error converting YAML to JSON: json: unsupported value: {shown}"


# --- QoS class --------------------------------------------------------------------------------

def _res(requests=None, limits=None):
    out = {}
    if requests is not None:
        out["requests"] = requests
    if limits is not None:
        out["limits"] = limits
    return out


_G = {"cpu": "500m", "memory": "256Mi"}

QOS_CASES = [
    pytest.param({"containers": [_container()]}, "BestEffort", id="best-effort"),
    pytest.param({"containers": []}, "BestEffort", id="no-containers"),
    pytest.param({}, "BestEffort", id="empty"),
    pytest.param({"containers": [_container(resources=_res({"storage": "1Gi"}, {"nvidia.com/gpu": "1"}))]},
                 "BestEffort", id="only-other-resources"),
    pytest.param({"containers": [_container(resources=_res({"cpu": "0"}))]}, "BestEffort", id="zero-request"),
    pytest.param({"containers": [_container(resources=_res({"cpu": "100m"}))]}, "Burstable", id="request-only"),
    pytest.param({"containers": [_container(resources=_res(_G, _G))]}, "Guaranteed", id="guaranteed"),
    pytest.param({"containers": [_container(resources=_res({"cpu": "1", "memory": "1Gi"},
                                                           {"cpu": "1000m", "memory": "1024Mi"}))]},
                 "Guaranteed", id="guaranteed-other-notation"),
    pytest.param({"containers": [_container(resources=_res(None, _G))]}, "Burstable", id="limits-only-raw"),
    pytest.param({"containers": [_container(resources=_res(_G, {"cpu": "500m"}))]}, "Burstable",
                 id="memory-limit-missing"),
    pytest.param({"containers": [_container(resources=_res(_G, _G)), _container("b")]}, "Burstable",
                 id="second-container-best-effort"),
    pytest.param({"initContainers": [_container("i", resources=_res(_G, _G))],
                  "containers": [_container(resources=_res(_G, _G))]}, "Guaranteed", id="init-guaranteed"),
    pytest.param({"initContainers": [_container("i", resources=_res({"cpu": "1"}))],
                  "containers": [_container(resources=_res(_G, _G))]}, "Burstable", id="init-burstable"),
    pytest.param({"initContainers": [_container("i", resources=_res({"cpu": "1"}))],
                  "containers": [_container()]}, "Burstable", id="only-init-has-requests"),
    pytest.param({"resources": _res(_G, _G), "containers": [_container(resources=_res({"cpu": "1"}))]},
                 "Guaranteed", id="pod-level-guaranteed"),
    pytest.param({"resources": _res({"cpu": "1"}), "containers": [_container(resources=_res(_G, _G))]},
                 "Burstable", id="pod-level-burstable"),
    pytest.param({"resources": _res(None, {"hugepages-2Mi": "1Gi"}), "containers": [_container()]},
                 "BestEffort", id="pod-level-hugepages-only"),
    pytest.param({"resources": _res({"example.com/x": "1"}), "containers": [_container(resources=_res(_G, _G))]},
                 "Guaranteed", id="pod-level-ignored"),
    pytest.param({"containers": [None, "x", _container(resources={"limits": "nope"})]}, "BestEffort",
                 id="wrong-shapes"),
    pytest.param({"containers": [_container(resources=_res({"cpu": "lots"}, {"cpu": 1, "memory": 2.5e9}))]},
                 "Burstable", id="invalid-and-numeric-quantities"),
    pytest.param({**FULL}, None, id="full"),
    pytest.param({**MANY_INVALID}, None, id="many-invalid"),
]


@pytest.mark.parametrize("spec,expected", QOS_CASES)
def test_compute_qos_class_matches_original(spec, expected):
    want = pod_kind._compute_qos_class(copy.deepcopy(spec))
    if expected is not None:
        assert want == expected
    pod = {"metadata": {"name": "p"}, "spec": copy.deepcopy(spec)}
    assert pod_kind.compute_qos_class(pod) == want
    assert pod == {"metadata": {"name": "p"}, "spec": spec}  # not mutated
    assert pod_kind.compute_qos_class(copy.deepcopy(pod)) == want
    assert pod_kind._qos_of.cache_info().hits == 1


def test_compute_qos_class_ignores_affinity_and_other_fields_in_key():
    a = {"spec": {**FULL}}
    b = {"spec": {**FULL, "affinity": _NODE_AFFINITY_B, "nodeName": "other", "tolerations": []}}
    assert pod_kind.compute_qos_class(a) == pod_kind.compute_qos_class(b) == pod_kind._compute_qos_class(FULL)
    assert pod_kind._qos_of.cache_info().hits == 1
