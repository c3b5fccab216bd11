"""Tables for api/patch.py: JSON patch, merge patch and strategic merge patch.

The strategic cases replay what clients send for DaemonSets and Pods (kubectl
apply / edit / set image / label / annotate / rollout restart / rollout undo,
the DaemonSet controller's adopt and release) plus upstream's edge rules.
"""

from __future__ import annotations

import copy

import orjson
import pytest

from everynode.api import schema
from everynode.api.errors import ApiError
from everynode.api.patch import (
    apply_json_patch,
    apply_merge_patch,
    apply_patch,
    apply_strategic_merge_patch,
)

DS = "V1DaemonSet"


def ds(containers=None, **spec_extra) -> dict:
    """A DaemonSet as stored: two containers, volumes, tolerations."""
    containers = containers if containers is not None else [
        {"name": "agent", "image": "agent:1",
         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
         "ports": [{"containerPort": 9100, "protocol": "TCP"}],
         "volumeMounts": [{"name": "logs", "mountPath": "/var/log"}]},
        {"name": "sidecar", "image": "sidecar:1"},
    ]
    pod_spec = {
        "containers": containers,
        "volumes": [{"name": "logs", "hostPath": {"path": "/var/log", "type": ""}}],
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                         "effect": "NoSchedule"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
    }
    pod_spec.update(spec_extra)
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "fluentd", "namespace": "kube-system", "uid": "ds-uid",
                     "labels": {"app": "fluentd", "tier": "logging"},
                     "annotations": {"note": "x"}},
        "spec": {"selector": {"matchLabels": {"app": "fluentd"}},
                 "template": {"metadata": {"labels": {"app": "fluentd"}}, "spec": pod_spec},
                 "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}},
        "status": {"conditions": [{"type": "A", "status": "True"}]},
    }


def containers_of(obj: dict) -> list:
    return obj["spec"]["template"]["spec"]["containers"]


def pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def tmpl_patch(spec: dict) -> dict:
    return {"spec": {"template": {"spec": spec}}}


# --------------------------------------------------------------------------- patch metadata

@pytest.mark.parametrize("type_name,field,strategy,key", [
    ("V1ObjectMeta", "ownerReferences", "merge", "uid"),
    ("V1ObjectMeta", "finalizers", "merge", None),
    ("V1PodSpec", "containers", "merge", "name"),
    ("V1PodSpec", "volumes", "merge,retainKeys", "name"),
    ("V1PodSpec", "resourceClaims", "merge,retainKeys", "name"),
    ("V1PodSpec", "hostAliases", "merge", "ip"),
    ("V1PodSpec", "topologySpreadConstraints", "merge", "topologyKey"),
    ("V1Container", "ports", "merge", "containerPort"),
    ("V1Container", "volumeMounts", "merge", "mountPath"),
    ("V1Container", "volumeDevices", "merge", "devicePath"),
    ("V1EphemeralContainer", "env", "merge", "name"),
    ("V1DaemonSetStatus", "conditions", "merge", "type"),
    ("V1NodeStatus", "addresses", "merge", "type"),
    ("V1PodStatus", "podIPs", "merge", "ip"),
])
def test_patch_meta_present(type_name, field, strategy, key):
    meta = schema.patch_meta(type_name, field)
    assert meta == schema.PatchMeta(strategy, key)


@pytest.mark.parametrize("type_name,field", [
    ("V1NodeSpec", "taints"), ("V1PodSpec", "tolerations"), ("V1PodSpec", "readinessGates"),
    ("V1Container", "command"), ("V1Container", "envFrom"), ("V1NamespaceSpec", "finalizers"),
    ("V1DaemonSetSpec", "selector"), ("V1PodStatus", "containerStatuses"),
])
def test_patch_meta_absent(type_name, field):
    assert schema.patch_meta(type_name, field) is None


def test_patch_meta_fields_exist():
    for type_name, field in schema.PATCH_META:
        assert field in schema.fields(type_name), (type_name, field)


# --------------------------------------------------------------------------- strategic merge patch

def _sm(doc, patch, type_name=DS):
    return apply_strategic_merge_patch(doc, patch, type_name)


SMP_CASES = [
    # kubectl label / annotate style map edits: merge, null deletes.
    ("labels merge and null delete",
     {"metadata": {"labels": {"tier": None, "team": "obs"}}},
     lambda o: o["metadata"]["labels"] == {"app": "fluentd", "team": "obs"}),
    ("rollout restart annotation",
     {"spec": {"template": {"metadata": {"annotations": {
         "kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}}}}},
     lambda o: o["spec"]["template"]["metadata"] == {
         "labels": {"app": "fluentd"},
         "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}}),
    # kubectl set image: only the named container changes, order kept.
    ("set image with setElementOrder",
     tmpl_patch({"$setElementOrder/containers": [{"name": "agent"}, {"name": "sidecar"}],
                 "containers": [{"image": "sidecar:2", "name": "sidecar"}]}),
     lambda o: [(c["name"], c["image"]) for c in containers_of(o)] == [("agent", "agent:1"),
                                                                       ("sidecar", "sidecar:2")]
     and containers_of(o)[0]["env"] == ds()["spec"]["template"]["spec"]["containers"][0]["env"]),
    # kubectl apply (3-way) removing env B from a container.
    ("apply deletes env entry",
     tmpl_patch({"$setElementOrder/containers": [{"name": "agent"}, {"name": "sidecar"}],
                 "containers": [{"$setElementOrder/env": [{"name": "A"}],
                                 "env": [{"$patch": "delete", "name": "B"}], "name": "agent"}]}),
     lambda o: containers_of(o)[0]["env"] == [{"name": "A", "value": "1"}]),
    ("apply adds env entry in requested order",
     tmpl_patch({"containers": [{"$setElementOrder/env": [{"name": "Z"}, {"name": "A"}, {"name": "B"}],
                                 "env": [{"name": "Z", "value": "0"}], "name": "agent"}]}),
     lambda o: [e["name"] for e in containers_of(o)[0]["env"]] == ["Z", "A", "B"]),
    # Without $setElementOrder a new item cannot be placed against live items: upstream puts it first.
    ("new env entry without order goes first",
     tmpl_patch({"containers": [{"env": [{"name": "C", "value": "3"}], "name": "agent"}]}),
     lambda o: [e["name"] for e in containers_of(o)[0]["env"]] == ["C", "A", "B"]),
    ("env value changed in place",
     tmpl_patch({"containers": [{"env": [{"name": "A", "value": "9"}], "name": "agent"}]}),
     lambda o: containers_of(o)[0]["env"] == [{"name": "A", "value": "9"}, {"name": "B", "value": "2"}]),
    ("env value null deletes only that member",
     tmpl_patch({"containers": [{"env": [{"name": "A", "value": None}], "name": "agent"}]}),
     lambda o: containers_of(o)[0]["env"][0] == {"name": "A"}),
    ("patch items take patch order, server items interleave",
     tmpl_patch({"containers": [{"name": "agent", "env": [{"name": "B", "value": "2"},
                                                          {"name": "A", "value": "1"}]}]}),
     lambda o: [e["name"] for e in containers_of(o)[0]["env"]] == ["B", "A"]),
    ("new container without order goes first",
     tmpl_patch({"containers": [{"name": "debug", "image": "busybox:1.35"}]}),
     lambda o: [c["name"] for c in containers_of(o)] == ["debug", "agent", "sidecar"]),
    ("new container placed by setElementOrder",
     tmpl_patch({"$setElementOrder/containers": [{"name": "agent"}, {"name": "sidecar"}, {"name": "debug"}],
                 "containers": [{"name": "debug", "image": "busybox:1.35"}]}),
     lambda o: [c["name"] for c in containers_of(o)] == ["agent", "sidecar", "debug"]),
    # apply removing one env var and adding another: deletion and addition share a slot.
    ("apply swaps an env entry",
     tmpl_patch({"containers": [{"$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                                 "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "B"}],
                                 "name": "agent"}]}),
     lambda o: [e["name"] for e in containers_of(o)[0]["env"]] == ["A", "C"]),
    ("container deleted by name",
     tmpl_patch({"containers": [{"$patch": "delete", "name": "sidecar"}]}),
     lambda o: [c["name"] for c in containers_of(o)] == ["agent"]),
    ("ports merged by containerPort",
     tmpl_patch({"containers": [{"name": "agent", "ports": [{"containerPort": 9100, "name": "metrics"},
                                                            {"containerPort": 24224}]}]}),
     lambda o: containers_of(o)[0]["ports"] == [
         {"containerPort": 9100, "protocol": "TCP", "name": "metrics"}, {"containerPort": 24224}]),
    ("volumeMounts merged by mountPath",
     tmpl_patch({"containers": [{"name": "agent", "volumeMounts": [
         {"name": "logs", "mountPath": "/var/log", "readOnly": True}]}]}),
     lambda o: containers_of(o)[0]["volumeMounts"] == [
         {"name": "logs", "mountPath": "/var/log", "readOnly": True}]),
    # $patch: replace as a list element replaces the whole list.
    ("list replace directive",
     tmpl_patch({"containers": [{"$patch": "replace"}, {"name": "only", "image": "only:1"}]}),
     lambda o: containers_of(o) == [{"name": "only", "image": "only:1"}]),
    # rollout undo: the revision's data replaces the template whole.
    ("rollout undo replaces the template",
     {"spec": {"template": {"$patch": "replace", "metadata": {"labels": {"app": "fluentd"}},
                            "spec": {"containers": [{"name": "agent", "image": "agent:0"}]}}}},
     lambda o: o["spec"]["template"] == {"metadata": {"labels": {"app": "fluentd"}},
                                         "spec": {"containers": [{"name": "agent", "image": "agent:0"}]}}
     and o["spec"]["updateStrategy"]["type"] == "RollingUpdate"),
    ("map delete directive empties the map",
     {"metadata": {"annotations": {"$patch": "delete"}}},
     lambda o: o["metadata"]["annotations"] == {}),
    # Lists without a strategy are replaced whole (kubectl taint/apply of tolerations).
    ("tolerations replaced",
     tmpl_patch({"tolerations": [{"operator": "Exists"}]}),
     lambda o: pod_spec(o)["tolerations"] == [{"operator": "Exists"}]),
    ("command replaced",
     tmpl_patch({"containers": [{"name": "sidecar", "command": ["sh", "-c", "sleep 1"]}]}),
     lambda o: containers_of(o)[1]["command"] == ["sh", "-c", "sleep 1"]),
    ("nodeSelector map merge",
     tmpl_patch({"nodeSelector": {"disk": "ssd", "kubernetes.io/os": None}}),
     lambda o: pod_spec(o)["nodeSelector"] == {"disk": "ssd"}),
    # $retainKeys on a volume switches its source.
    ("volume source switched with retainKeys",
     tmpl_patch({"volumes": [{"$retainKeys": ["configMap", "name"], "name": "logs",
                              "configMap": {"name": "cfg"}}]}),
     lambda o: pod_spec(o)["volumes"] == [{"name": "logs", "configMap": {"name": "cfg"}}]),
    ("updateStrategy switched with retainKeys",
     {"spec": {"updateStrategy": {"$retainKeys": ["type"], "type": "OnDelete"}}},
     lambda o: o["spec"]["updateStrategy"] == {"type": "OnDelete"}),
    ("status conditions merged by type",
     {"status": {"conditions": [{"type": "B", "status": "False"}, {"type": "A", "status": "False"}]}},
     lambda o: o["status"]["conditions"] == [{"type": "B", "status": "False"},
                                             {"type": "A", "status": "False"}]),
    # Keys missing from the live object: nulls and directive-carrying maps are dropped.
    ("new key cleaned of nulls and directives",
     {"spec": {"minReadySeconds": 5, "revisionHistoryLimit": None,
               "template": {"spec": {"affinity": {"nodeAffinity": None,
                                                  "podAffinity": {"$patch": "replace"}}}}}},
     lambda o: o["spec"]["minReadySeconds"] == 5 and "revisionHistoryLimit" not in o["spec"]
     and pod_spec(o)["affinity"] == {}),
    ("type change replaces",
     {"spec": {"updateStrategy": {"rollingUpdate": {"maxUnavailable": "10%"}}}},
     lambda o: o["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": "10%"}),
    ("new list taken as sent, setElementOrder cleaned",
     tmpl_patch({"$setElementOrder/initContainers": [{"name": "init"}],
                 "initContainers": [{"name": "init", "image": "busybox:1.35"}]}),
     lambda o: pod_spec(o)["initContainers"] == [{"name": "init", "image": "busybox:1.35"}]),
    ("empty patch is a no-op",
     {},
     lambda o: o == ds()),
]


@pytest.mark.parametrize("name,patch,check", SMP_CASES, ids=[c[0] for c in SMP_CASES])
def test_strategic_merge_patch(name, patch, check):
    doc = ds()
    before = copy.deepcopy(doc)
    patch_before = copy.deepcopy(patch)
    result = _sm(doc, patch)
    assert check(result), orjson.dumps(result).decode()
    assert doc == before and patch == patch_before  # inputs untouched


def pod(finalizers=None, owners=None) -> dict:
    meta = {"name": "fluentd-abc", "namespace": "kube-system", "uid": "pod-uid"}
    if finalizers is not None:
        meta["finalizers"] = finalizers
    if owners is not None:
        meta["ownerReferences"] = owners
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "agent", "image": "agent:1"}]},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "False"},
                                      {"type": "PodScheduled", "status": "True"}]}}


OWNER = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd", "uid": "ds-uid",
         "controller": True, "blockOwnerDeletion": True}
OTHER = {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "node-uid"}

POD_CASES = [
    # DaemonSet controller adoption and release.
    ("adopt adds controller ref",
     pod(owners=[OTHER]),
     {"metadata": {"ownerReferences": [OWNER], "uid": "pod-uid"}},
     lambda o: o["metadata"]["ownerReferences"] == [OWNER, OTHER]),
    ("release deletes ref by uid",
     pod(owners=[OWNER, OTHER]),
     {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "ds-uid"}], "uid": "pod-uid"}},
     lambda o: o["metadata"]["ownerReferences"] == [OTHER]),
    ("release of absent ref is a no-op",
     pod(owners=[OTHER]),
     {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "ds-uid"}]}},
     lambda o: o["metadata"]["ownerReferences"] == [OTHER]),
    # finalizers merge as a set; patch order first, server-only items keep their place.
    ("finalizers set union",
     pod(finalizers=["a", "b"]),
     {"metadata": {"finalizers": ["c", "a"]}},
     lambda o: o["metadata"]["finalizers"] == ["c", "a", "b"]),
    ("finalizers parallel deletion list",
     pod(finalizers=["a", "b", "c"]),
     {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
     lambda o: o["metadata"]["finalizers"] == ["a", "c"]),
    ("finalizers with setElementOrder",
     pod(finalizers=["a", "b"]),
     {"metadata": {"$setElementOrder/finalizers": ["b", "x", "a"], "finalizers": ["x"]}},
     lambda o: o["metadata"]["finalizers"] == ["b", "x", "a"]),
    ("pod status condition merged by type",
     pod(),
     {"status": {"conditions": [{"type": "Ready", "status": "True"}], "phase": "Running"}},
     lambda o: o["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                             {"type": "PodScheduled", "status": "True"}]),
    ("unknown field without metadata merges maps, replaces lists",
     pod(),
     {"metadata": {"x-extra": [1]}},
     lambda o: o["metadata"]["x-extra"] == [1]),
]


@pytest.mark.parametrize("name,doc,patch,check", POD_CASES, ids=[c[0] for c in POD_CASES])
def test_strategic_merge_patch_pod(name, doc, patch, check):
    before = copy.deepcopy(doc)
    result = _sm(doc, patch, "V1Pod")
    assert check(result), orjson.dumps(result).decode()
    assert doc == before


def test_apply_swap_with_server_only_entry_keeps_upstream_order():
    # Live env has an entry the user never applied (S). Upstream deletes A and appends C through
    # the live list itself, so S is ordered against [B, S, C]: the result is B, S, C.
    doc = ds(containers=[{"name": "agent", "env": [{"name": "A"}, {"name": "B"}, {"name": "S"}]}])
    patch = tmpl_patch({"containers": [{"name": "agent",
                                        "$setElementOrder/env": [{"name": "B"}, {"name": "C"}],
                                        "env": [{"name": "C"}, {"$patch": "delete", "name": "A"}]}]})
    out = _sm(doc, patch)
    assert [e["name"] for e in containers_of(out)[0]["env"]] == ["B", "S", "C"]


def test_free_form_data_falls_back_to_merge_semantics():
    rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"},
           "revision": 1,
           "data": {"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]},
                                          "metadata": {"labels": {"x": "1"}}}}}}
    patch = {"data": {"spec": {"template": {"spec": {"containers": [{"name": "c"}]},
                                            "metadata": {"labels": {"y": "2"}}}}}}
    out = _sm(rev, patch, "V1ControllerRevision")
    assert out["data"]["spec"]["template"] == {"spec": {"containers": [{"name": "c"}]},
                                               "metadata": {"labels": {"x": "1", "y": "2"}}}


def test_node_status_merge():
    node = {"metadata": {"name": "n1"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"},
                                     {"type": "Hostname", "address": "n1"}],
                       "conditions": [{"type": "Ready", "status": "True"},
                                      {"type": "MemoryPressure", "status": "False"}]},
            "spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}}
    patch = {"status": {"$setElementOrder/conditions": [{"type": "Ready"}, {"type": "MemoryPressure"}],
                        "conditions": [{"type": "Ready", "status": "Unknown"}]},
             "spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}}
    out = _sm(node, patch, "V1Node")
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "Unknown"},
                                           {"type": "MemoryPressure", "status": "False"}]
    assert out["status"]["addresses"] == node["status"]["addresses"]
    assert out["spec"]["taints"] == [{"key": "b", "effect": "NoExecute"}]


def test_top_level_replace_and_delete():
    assert _sm(ds(), {"$patch": "replace", "kind": "DaemonSet"}) == {"kind": "DaemonSet"}
    assert _sm(ds(), {"$patch": "delete"}) == {}


SMP_ERRORS = [
    ("missing merge key", tmpl_patch({"containers": [{"image": "nginx"}]}),
     500, "map: map[image:nginx] does not contain declared merge key: name"),
    ("delete without merge key", tmpl_patch({"containers": [{"$patch": "delete", "image": "x"}]}),
     500, "map: map[$patch:delete image:x] does not contain declared merge key: name"),
    ("merge directive in a list", tmpl_patch({"containers": [{"$patch": "merge", "name": "agent"}]}),
     500, "merging lists cannot yet be specified in the patch"),
    ("unknown list directive", tmpl_patch({"containers": [{"$patch": "bogus", "name": "agent"}]}),
     500, "unknown patch type: bogus in map: map[$patch:bogus name:agent]"),
    ("merge directive in a map", {"metadata": {"labels": {"$patch": "merge", "a": "b"}}},
     500, "unknown patch type: merge in map: map[$patch:merge a:b]"),
    ("retainKeys not a list", {"spec": {"updateStrategy": {"$retainKeys": "type"}}},
     400, "invalid patch format of retainKeys"),
    ("retainKeys missing a patched key",
     {"spec": {"updateStrategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}},
     400, "invalid patch format of retainKeys"),
    ("bad primitive deletion key", {"metadata": {"$deleteFromPrimitiveList": ["a"]}},
     400, "invalid patch format of primitive list"),
    ("bad order key", {"metadata": {"$setElementOrderfinalizers/x": ["a"]}},
     400, "invalid patch format of setElementOrder list"),
    ("order list not a list", tmpl_patch({"$setElementOrder/containers": "agent"}),
     500, "expected a []interface {}, but received a string"),
    ("patch list out of order",
     tmpl_patch({"$setElementOrder/containers": [{"name": "agent"}, {"name": "sidecar"}],
                 "containers": [{"name": "sidecar", "image": "s:2"}, {"name": "agent", "image": "a:2"}]}),
     500, "the order in patch list:\n[map[image:s:2 name:sidecar] map[image:a:2 name:agent]]\n"
          " doesn't match $setElementOrder list:\n[map[name:agent] map[name:sidecar]]"),
    ("mixed element types", tmpl_patch({"containers": ["agent"]}),
     500, None),
    ("list of lists", {"metadata": {"finalizers": [["a"]]}},
     422, "the server rejected our request due to an error in our request"),
]


@pytest.mark.parametrize("name,patch,code,message", SMP_ERRORS, ids=[c[0] for c in SMP_ERRORS])
def test_strategic_merge_patch_errors(name, patch, code, message):
    doc = pod(finalizers=[]) if name == "list of lists" else ds()
    before = copy.deepcopy(doc)
    with pytest.raises(ApiError) as exc:
        _sm(doc, patch, "V1Pod" if name == "list of lists" else DS)
    assert exc.value.code == code
    if message is not None:
        assert exc.value.message == message
    if code == 500:
        assert exc.value.reason == ""
    assert doc == before


# --------------------------------------------------------------------------- merge patch

MERGE_CASES = [
    ("kubectl label", {"metadata": {"labels": {"team": "obs", "tier": None}}},
     lambda o: o["metadata"]["labels"] == {"app": "fluentd", "team": "obs"}),
    ("kubectl annotate overwrite", {"metadata": {"annotations": {"note": "y"}}},
     lambda o: o["metadata"]["annotations"] == {"note": "y"}),
    ("lists replaced whole", tmpl_patch({"containers": [{"name": "agent", "image": "agent:2"}]}),
     lambda o: containers_of(o) == [{"name": "agent", "image": "agent:2"}]),
    ("null deletes a subtree", {"status": None},
     lambda o: "status" not in o),
    ("nulls pruned from new objects", {"spec": {"minReadySeconds": 3, "x": {"a": None, "b": 1}}},
     lambda o: o["spec"]["minReadySeconds"] == 3 and o["spec"]["x"] == {"b": 1}),
    ("non-object replaces object", {"spec": {"updateStrategy": "OnDelete"}},
     lambda o: o["spec"]["updateStrategy"] == "OnDelete"),
    ("directives are plain keys", {"metadata": {"labels": {"$patch": "delete"}}},
     lambda o: o["metadata"]["labels"]["$patch"] == "delete"),
]


@pytest.mark.parametrize("name,patch,check", MERGE_CASES, ids=[c[0] for c in MERGE_CASES])
def test_merge_patch(name, patch, check):
    doc = ds()
    before = copy.deepcopy(doc)
    result = apply_merge_patch(doc, patch)
    assert check(result), result
    assert doc == before


# --------------------------------------------------------------------------- JSON patch

JSON_CASES = [
    ("replace image", [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "a:2"}],
     lambda o: containers_of(o)[0]["image"] == "a:2"),
    ("add label with escaped key",
     [{"op": "add", "path": "/metadata/labels/example.com~1team", "value": "obs"}],
     lambda o: o["metadata"]["labels"]["example.com/team"] == "obs"),
    ("remove then append",
     [{"op": "remove", "path": "/spec/template/spec/containers/1"},
      {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "z"}}],
     lambda o: [c["name"] for c in containers_of(o)] == ["agent", "z"]),
    ("passing test op",
     [{"op": "test", "path": "/metadata/uid", "value": "ds-uid"},
      {"op": "remove", "path": "/metadata/annotations"}],
     lambda o: "annotations" not in o["metadata"]),
    ("move and copy",
     [{"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"},
      {"op": "move", "from": "/spec/template/spec/nodeSelector", "path": "/spec/template/spec/ns"}],
     lambda o: o["metadata"]["annotations"] == o["metadata"]["labels"]
     and "nodeSelector" not in pod_spec(o) and pod_spec(o)["ns"] == {"kubernetes.io/os": "linux"}),
]


@pytest.mark.parametrize("name,patch,check", JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_patch(name, patch, check):
    doc = ds()
    before = copy.deepcopy(doc)
    result = apply_json_patch(doc, patch)
    assert check(result), result
    assert doc == before


@pytest.mark.parametrize("patch", [
    [{"op": "test", "path": "/metadata/uid", "value": "other"}],
    [{"op": "replace", "path": "/metadata/missing/x", "value": 1}],
    [{"op": "remove", "path": "/metadata/nope"}],
    [{"op": "frobnicate", "path": "/metadata"}],
    [{"op": "add", "path": "/spec/template/spec/containers/7", "value": {}}],
    [None],
])
def test_json_patch_not_applicable_is_422(patch):
    with pytest.raises(ApiError) as exc:
        apply_json_patch(ds(), patch)
    assert exc.value.code == 422
    assert exc.value.reason == "Invalid"
    assert exc.value.message == "the server rejected our request due to an error in our request"


def test_json_patch_root_replaced_by_non_object():
    with pytest.raises(ApiError) as exc:
        apply_json_patch(ds(), [{"op": "replace", "path": "", "value": [1]}], DS)
    assert exc.value.code == 422
    assert exc.value.details["causes"][0]["field"] == "patch"


# --------------------------------------------------------------------------- dispatcher

SET_IMAGE = orjson.dumps(tmpl_patch({
    "$setElementOrder/containers": [{"name": "agent"}, {"name": "sidecar"}],
    "containers": [{"image": "agent:2", "name": "agent"}]}))


@pytest.mark.parametrize("content_type,body,check", [
    ("application/strategic-merge-patch+json", SET_IMAGE,
     lambda o: [c["image"] for c in containers_of(o)] == ["agent:2", "sidecar:1"]),
    ("application/strategic-merge-patch+json; charset=utf-8", b'{"metadata":{"labels":{"tier":null}}}',
     lambda o: o["metadata"]["labels"] == {"app": "fluentd"}),
    ("application/strategic-merge-patch+json", b"null", lambda o: o == ds()),
    ("application/merge-patch+json", b'{"spec":{"template":{"spec":{"containers":[{"name":"x"}]}}}}',
     lambda o: containers_of(o) == [{"name": "x"}]),
    ("application/json-patch+json", b'[{"op":"replace","path":"/metadata/labels/app","value":"y"}]',
     lambda o: o["metadata"]["labels"]["app"] == "y"),
    ("application/json-patch+json", b"null", lambda o: o == ds()),
    ("application/json-patch+json", b"[]", lambda o: o == ds()),
])
def test_apply_patch(content_type, body, check):
    doc = ds()
    result = apply_patch(content_type, doc, body, DS)
    assert check(result), result
    assert doc == ds()


@pytest.mark.parametrize("content_type,body,code,message", [
    ("application/apply-patch+yaml", b"kind: DaemonSet", 415,
     "the body of the request was in an unknown format - accepted media types include: "
     "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"),
    ("application/json", b"{}", 415, None),
    ("Application/Merge-Patch+JSON", b"{}", 415, None),
    ("", b"{}", 415, None),
    ("application/strategic-merge-patch+json", b"", 400, "unexpected end of JSON input"),
    ("application/strategic-merge-patch+json", b'{"metadata":', 400, "unexpected end of JSON input"),
    ("application/strategic-merge-patch+json", b"{metadata: 1}", 400,
     "invalid character 'm' looking for beginning of object key string"),
    ("application/strategic-merge-patch+json", b'{"a":1 "b":2}', 400,
     "invalid character '\"' after object key:value pair"),
    ("application/strategic-merge-patch+json", b"[1, 2 3]", 400,
     "invalid character '3' after array element"),
    ("application/strategic-merge-patch+json", b"{} x", 400,
     "invalid character 'x' after top-level value"),
    ("application/strategic-merge-patch+json", b"[]", 400,
     "json: cannot unmarshal array into Go value of type map[string]interface {}"),
    ("application/merge-patch+json", b'"x"', 400,
     "error decoding patch: json: cannot unmarshal string into Go value of type map[string]interface {}"),
    ("application/merge-patch+json", b"null", 400, "Invalid JSON Patch"),
    ("application/merge-patch+json", b"{", 400, "error decoding patch: unexpected end of JSON input"),
    ("application/json-patch+json", b'{"op":"add"}', 400,
     "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"),
    ("application/json-patch+json", b"[1]", 400,
     "error decoding patch: json: cannot unmarshal number into Go value of type handlers.jsonPatchOp"),
    ("application/json-patch+json", b'[{"op":1,"path":"/a"}]', 400,
     "error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string"),
    ("application/json-patch+json", b'[{"op":"test","path":"/kind","value":"Pod"}]', 422,
     "the server rejected our request due to an error in our request"),
    ("application/json-patch+json", orjson.dumps([{"op": "test", "path": "/kind", "value": "DaemonSet"}]
                                                 * 10001), 413,
     "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"),
])
def test_apply_patch_errors(content_type, body, code, message):
    with pytest.raises(ApiError) as exc:
        apply_patch(content_type, ds(), body, DS)
    assert exc.value.code == code
    if message is not None:
        assert exc.value.message == message
    status = exc.value.status()
    assert status["kind"] == "Status" and status["code"] == code
