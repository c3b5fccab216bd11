"""Revision data bytes, hashing, revision objects and history decisions."""

from __future__ import annotations

import copy
import json

import pytest

from everynode.controllers.daemonset.history import (
    canonical_data,
    compute_hash,
    fnv32a,
    go_json,
    history_to_delete,
    max_revision,
    new_revision,
    normalize_template,
    plan_history,
    revision_data,
    revision_matches,
    safe_encode,
)


def make_ds(image="busybox:1.35", name="ds1", collision=None, history_limit=None, **pod_spec):
    spec = {"containers": [{"name": "c", "image": image}]}
    spec.update(pod_spec)
    ds = {
        "metadata": {"name": name, "namespace": "ns", "uid": "ds-uid", "generation": 1,
                     "annotations": {"deprecated.daemonset.template.generation": "1"}},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
                 "template": {"metadata": {"labels": {"app": "x"}}, "spec": spec}},
        "status": {},
    }
    if collision is not None:
        ds["status"]["collisionCount"] = collision
    if history_limit is not None:
        ds["spec"]["revisionHistoryLimit"] = history_limit
    return ds


# ------------------------------------------------------------------ go_json

@pytest.mark.parametrize("value,expected", [
    ({"b": 1, "a": {"d": [1, 2], "c": None}}, b'{"a":{"c":null,"d":[1,2]},"b":1}'),
    ({"s": "<a href='x'>&</a>"}, b'{"s":"\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e"}'),
    ({"s": "caf\u00e9 \u2028"}, '{"s":"caf\u00e9 \\u2028"}'.encode()),
    ({"s": "tab\tnl\n\x01"}, b'{"s":"tab\\tnl\\n\\u0001"}'),
    ({"n": 5.0, "f": 0.5, "t": True, "z": False}, b'{"f":0.5,"n":5,"t":true,"z":false}'),
    ({"big": 2**63 - 1}, b'{"big":9223372036854775808}'),  # float64 round trip, as Go prints it
    ([], b"[]"),
    ({"$patch": "replace", "metadata": {}}, b'{"$patch":"replace","metadata":{}}'),
])
def test_go_json(value, expected):
    assert go_json(value) == expected


# ------------------------------------------------------------ normalisation

def norm_spec(spec):
    return normalize_template({"spec": spec})["spec"]


@pytest.mark.parametrize("spec,expected", [
    # value fields at their zero value disappear; struct values appear
    ({"containers": [{"name": "c", "image": "i", "args": [], "stdin": False, "workingDir": ""}],
      "hostNetwork": False, "nodeSelector": {}, "tolerations": []},
     {"containers": [{"name": "c", "image": "i", "resources": {}}]}),
    # pointer fields keep a zero value that is set
    ({"containers": [{"name": "c", "securityContext": {"privileged": False, "runAsUser": 0}}],
      "terminationGracePeriodSeconds": 0, "securityContext": {}, "automountServiceAccountToken": False},
     {"containers": [{"name": "c", "resources": {}, "securityContext": {"privileged": False, "runAsUser": 0}}],
      "terminationGracePeriodSeconds": 0, "securityContext": {}, "automountServiceAccountToken": False}),
    # nulls are nil
    ({"containers": [{"name": "c", "image": None, "lifecycle": None}], "affinity": None},
     {"containers": [{"name": "c", "resources": {}}]}),
    # a resourceFieldRef's divisor is a Quantity value: "0" when unset
    ({"containers": [{"name": "c", "env": [{"name": "CPU", "value": "",
                                            "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}]},
     {"containers": [{"name": "c", "resources": {}, "env": [
         {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "0"}}}]}]}),
    # required fields appear with their zero value
    ({"containers": [{"name": "c", "readinessProbe": {"httpGet": {"port": 8080, "httpHeaders": [{"name": "X"}]},
                                                      "periodSeconds": 0}}]},
     {"containers": [{"name": "c", "resources": {}, "readinessProbe": {
         "httpGet": {"port": 8080, "httpHeaders": [{"name": "X", "value": ""}]}}}]}),
    ({"containers": [{"name": "c"}], "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {},
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}]}}},
     {"containers": [{"name": "c", "resources": {}}], "affinity": {"nodeAffinity": {
         "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": None},
         "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}]}}}),
    # empty pointer structs stay; volumes
    ({"containers": [{"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/v", "readOnly": False}]}],
      "volumes": [{"name": "v", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/x", "type": ""}},
                  {"name": "s", "secret": {"secretName": "s", "defaultMode": 420, "optional": False}}]},
     {"containers": [{"name": "c", "resources": {}, "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
      "volumes": [{"name": "v", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/x", "type": ""}},
                  {"name": "s", "secret": {"secretName": "s", "defaultMode": 420, "optional": False}}]}),
    # tolerations: value fields; tolerationSeconds a pointer
    ({"containers": [{"name": "c"}], "tolerations": [{"key": "k", "operator": "Exists", "value": "",
                                                     "effect": "", "tolerationSeconds": 0}]},
     {"containers": [{"name": "c", "resources": {}}],
      "tolerations": [{"key": "k", "operator": "Exists", "tolerationSeconds": 0}]}),
    # unknown fields are kept rather than lost
    ({"containers": [{"name": "c", "futureField": {"x": 1}}]},
     {"containers": [{"name": "c", "resources": {}, "futureField": {"x": 1}}]}),
])
def test_normalize_template_spec(spec, expected):
    before = copy.deepcopy(spec)
    assert norm_spec(spec) == expected
    assert spec == before


@pytest.mark.parametrize("template,expected", [
    ({}, {"metadata": {}, "spec": {"containers": None}}),
    ({"metadata": {"creationTimestamp": None, "labels": {"a": "b"}, "name": ""}, "spec": {"containers": []}},
     {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}),
    ({"metadata": {"annotations": {}}, "spec": {"containers": [{"name": "c"}]}},
     {"metadata": {}, "spec": {"containers": [{"name": "c", "resources": {}}]}}),
])
def test_normalize_template_metadata(template, expected):
    assert normalize_template(template) == expected


def test_revision_data_exact_bytes():
    ds = make_ds(
        image="registry.example/agent:1.2",
        restartPolicy="Always", dnsPolicy="ClusterFirst", schedulerName="default-scheduler",
        terminationGracePeriodSeconds=30, securityContext={}, hostNetwork=False,
        nodeSelector={"role": "a&b"},
    )
    ds["spec"]["template"]["spec"]["containers"][0].update({
        "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File", "ports": [{"containerPort": 80, "protocol": "TCP"}],
    })
    ds["spec"]["template"]["metadata"]["creationTimestamp"] = None
    expected = (
        b'{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"x"}},"spec":{'
        b'"containers":[{"image":"registry.example/agent:1.2","imagePullPolicy":"IfNotPresent","name":"c",'
        b'"ports":[{"containerPort":80,"protocol":"TCP"}],"resources":{},'
        b'"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],'
        b'"dnsPolicy":"ClusterFirst","nodeSelector":{"role":"a\\u0026b"},"restartPolicy":"Always",'
        b'"schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}'
    )
    assert revision_data(ds) == expected


def test_revision_data_ignores_everything_but_the_template():
    a = make_ds()
    b = make_ds()
    b["metadata"]["annotations"]["x"] = "y"
    b["spec"]["minReadySeconds"] = 5
    b["spec"]["updateStrategy"] = {"type": "OnDelete"}
    b["status"] = {"numberReady": 3}
    assert revision_data(a) == revision_data(b)
    assert revision_data(a) != revision_data(make_ds(image="other"))


# --------------------------------------------------------------------- hash

@pytest.mark.parametrize("data,expected", [(b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)])
def test_fnv32a_vectors(data, expected):
    assert fnv32a(data) == expected


def test_safe_encode():
    assert safe_encode("0123456789") == "456789bcdf"


def test_compute_hash_properties():
    t = make_ds()["spec"]["template"]
    h = compute_hash(t, None)
    assert h == compute_hash(copy.deepcopy(t), None)
    assert 1 <= len(h) <= 10 and set(h) <= set("456789bcdf")
    assert h != compute_hash(t, 0)  # a set collision count always changes the hash
    assert compute_hash(t, 0) != compute_hash(t, 1)
    assert h != compute_hash(make_ds(image="other")["spec"]["template"], None)
    # Go would not see a difference, so neither does the hash
    t2 = copy.deepcopy(t)
    t2["spec"]["containers"][0]["args"] = []
    t2["spec"]["hostNetwork"] = False
    assert compute_hash(t2, None) == h


# --------------------------------------------------------------- revisions

def stored(ds, hash="h1", number=1, **meta):
    rev = new_revision(ds, hash, number)
    rev["metadata"].update(meta)
    return rev


def test_new_revision_object():
    ds = make_ds()
    rev = new_revision(ds, "abc", 3)
    assert rev["apiVersion"] == "apps/v1" and rev["kind"] == "ControllerRevision"
    assert rev["metadata"]["name"] == "ds1-abc"
    assert rev["metadata"]["namespace"] == "ns"
    assert rev["metadata"]["labels"] == {"app": "x", "controller-revision-hash": "abc"}
    assert rev["metadata"]["annotations"] == {"deprecated.daemonset.template.generation": "1"}
    assert rev["metadata"]["ownerReferences"][0]["uid"] == "ds-uid"
    assert rev["metadata"]["ownerReferences"][0]["controller"] is True
    assert rev["revision"] == 3
    assert go_json(rev["data"]) == revision_data(ds)
    assert list(rev["data"]["spec"]["template"])[0] == "$patch"  # sorted keys survive a dict round trip


@pytest.mark.parametrize("data_form", ["dict", "str", "bytes", "reordered"])
def test_revision_matches_forms(data_form):
    ds = make_ds()
    raw = revision_data(ds)
    data = {"dict": json.loads(raw), "str": raw.decode(), "bytes": raw,
            "reordered": {"spec": dict(reversed(list(json.loads(raw)["spec"].items())))}}[data_form]
    assert revision_matches(ds, {"data": data})
    assert not revision_matches(make_ds(image="other"), {"data": data})


def test_canonical_data_of_garbage_is_stable():
    assert canonical_data("not json") == b"not json"
    assert canonical_data(None) == b"null"


def test_plan_history_creates_first_revision():
    ds = make_ds()
    plan = plan_history(ds, [], [])
    assert plan.create is not None and plan.create is plan.current
    assert plan.create["revision"] == 1
    assert plan.hash == compute_hash(ds["spec"]["template"], None)
    assert plan.create["metadata"]["name"] == f"ds1-{plan.hash}"
    assert not plan.updates and not plan.deletes and not plan.old


def test_plan_history_uses_collision_count():
    ds = make_ds(collision=2)
    old = stored(make_ds(image="v0"), "old", 4, name="ds1-old")
    plan = plan_history(ds, [old], [])
    assert plan.hash == compute_hash(ds["spec"]["template"], 2)
    assert plan.create["revision"] == 5
    assert plan.old == [old]


def test_plan_history_existing_current_keeps_its_label():
    ds = make_ds()
    # e.g. created after a collision bump: the label, not a recomputed hash, is authoritative
    cur = stored(ds, "fromlabel", 2, name="ds1-fromlabel")
    old = stored(make_ds(image="v0"), "old", 1, name="ds1-old")
    plan = plan_history(ds, [old, cur], [])
    assert plan.hash == "fromlabel"
    assert plan.create is None and not plan.updates and not plan.deletes
    assert plan.current == cur


def test_plan_history_rollback_renumbers():
    v1, v2 = make_ds(image="v1"), make_ds(image="v2")
    r1 = stored(v1, "h1", 1, name="ds1-h1")
    r2 = stored(v2, "h2", 2, name="ds1-h2")
    plan = plan_history(v1, [r1, r2], [])  # rolled back to v1
    assert plan.hash == "h1"
    assert [u["revision"] for u in plan.updates] == [3]
    assert plan.updates[0]["metadata"]["name"] == "ds1-h1"
    assert plan.current["revision"] == 3
    assert r1["revision"] == 1  # inputs untouched


def test_plan_history_labels_hashless_revisions_with_their_name():
    ds = make_ds()
    legacy = stored(make_ds(image="v0"), "x", 1, name="ds1-legacy")
    del legacy["metadata"]["labels"]["controller-revision-hash"]
    plan = plan_history(ds, [legacy], [])
    assert [u["metadata"]["labels"]["controller-revision-hash"] for u in plan.updates] == ["ds1-legacy"]
    assert plan.old[0]["metadata"]["labels"]["controller-revision-hash"] == "ds1-legacy"
    assert "controller-revision-hash" not in legacy["metadata"]["labels"]


def test_plan_history_dedupes_current_revisions():
    ds = make_ds()
    a = stored(ds, "ha", 3, name="ds1-ha")
    b = stored(ds, "hb", 5, name="ds1-hb")
    old = stored(make_ds(image="v0"), "h0", 4, name="ds1-h0")
    pods = [
        {"metadata": {"name": "p-a", "labels": {"controller-revision-hash": "ha"}}},
        {"metadata": {"name": "p-b", "labels": {"controller-revision-hash": "hb"}}},
        {"metadata": {"name": "p-old", "labels": {"controller-revision-hash": "h0"}}},
        {"metadata": {"name": "p-none"}},
    ]
    plan = plan_history(ds, [a, old, b], pods)
    assert plan.hash == "hb"
    assert plan.deletes == ["ds1-ha"]
    assert plan.relabel_pods == ["p-a", "p-old", "p-none"]  # upstream relabels every other pod
    assert not plan.updates  # 5 >= max(old)+1


def test_max_revision():
    assert max_revision([]) == 0
    assert max_revision([{"revision": 2}, {"revision": 7}, {}]) == 7


def old_rev(n, hash):
    return {"metadata": {"name": f"ds1-{hash}", "labels": {"controller-revision-hash": hash}}, "revision": n}


def pod_with(hash):
    return {"metadata": {"name": f"p-{hash}", "labels": {"controller-revision-hash": hash}}}


@pytest.mark.parametrize("limit,old,pods,expected", [
    (None, [old_rev(i, f"h{i}") for i in range(1, 11)], [], []),  # default limit 10
    (None, [old_rev(i, f"h{i}") for i in range(1, 12)], [], ["ds1-h1"]),
    (2, [old_rev(3, "h3"), old_rev(1, "h1"), old_rev(2, "h2"), old_rev(4, "h4")], [], ["ds1-h1", "ds1-h2"]),
    (2, [old_rev(3, "h3"), old_rev(1, "h1"), old_rev(2, "h2"), old_rev(4, "h4")], [pod_with("h1")],
     ["ds1-h2", "ds1-h3"]),
    (0, [old_rev(1, "h1"), old_rev(2, "h2")], [pod_with("h1"), pod_with("h2")], []),  # all in use
    (0, [old_rev(1, "h1"), old_rev(2, "h2")], [], ["ds1-h1", "ds1-h2"]),
    (5, [], [], []),
])
def test_history_to_delete(limit, old, pods, expected):
    assert history_to_delete(make_ds(history_limit=limit), old, pods) == expected
