import copy

import pytest

from everynode.api.errors import ApiError
from everynode.api.kinds import pod as podkind

NOW = "2025-01-02T03:04:05Z"


def make_pod(**spec_extra):
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "7"},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}
    pod["spec"].update(spec_extra)
    podkind.default(pod)
    return pod


def created(**spec_extra):
    pod = make_pod(**spec_extra)
    podkind.prepare_create(pod, NOW)
    return pod


def res(limits=None, requests=None):
    out = {}
    if limits is not None:
        out["limits"] = limits
    if requests is not None:
        out["requests"] = requests
    return out


# --- identity ----------------------------------------------------------------

def test_kind_identity_and_hooks():
    k = podkind.KIND
    assert (k.group, k.version, k.kind, k.plural, k.namespaced) == ("", "v1", "Pod", "pods", True)
    assert k.short_names == ("po",) and k.categories == ("all",)
    assert set(k.subresources) >= {"status", "binding", "eviction", "log"}
    assert k.has_generation is True
    assert k.default is podkind.default and k.validate_update is podkind.validate_update


# --- QoS -----------------------------------------------------------------------

@pytest.mark.parametrize("containers,init,expected", [
    ([{}], [], "BestEffort"),
    ([res(requests={"cpu": "0"})], [], "BestEffort"),
    ([res(requests={"example.com/gpu": "1"}, limits={"example.com/gpu": "1"})], [], "BestEffort"),
    ([res(requests={"cpu": "100m"})], [], "Burstable"),
    ([res(limits={"cpu": "1", "memory": "1Gi"}, requests={"cpu": "1", "memory": "1Gi"})], [], "Guaranteed"),
    ([res(limits={"cpu": "1", "memory": "1Gi"}, requests={"cpu": "1000m", "memory": "1Gi"})], [], "Guaranteed"),
    ([res(limits={"cpu": "1", "memory": "1Gi"}, requests={"cpu": "500m", "memory": "1Gi"})], [], "Burstable"),
    ([res(limits={"cpu": "1"}, requests={"cpu": "1"})], [], "Burstable"),
    ([res(limits={"cpu": "1", "memory": "1Gi"}, requests={"cpu": "1", "memory": "1Gi"}), {}], [], "Burstable"),
    ([res(limits={"cpu": "1", "memory": "1Gi"}, requests={"cpu": "1", "memory": "1Gi"})],
     [res(limits={"cpu": "1", "memory": "1Gi"}, requests={"cpu": "1", "memory": "1Gi"})], "Guaranteed"),
    ([res(limits={"cpu": "1", "memory": "1Gi"}, requests={"cpu": "1", "memory": "1Gi"})],
     [res(requests={"cpu": "1"})], "Burstable"),
])
def test_compute_qos_class(containers, init, expected):
    pod = {"spec": {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(containers)],
                    "initContainers": [{"name": f"i{i}", "resources": r} for i, r in enumerate(init)]}}
    assert podkind.compute_qos_class(pod) == expected


def test_qos_uses_pod_level_resources_when_set():
    pod = {"spec": {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}},
                    "containers": [{"name": "c"}]}}
    assert podkind.compute_qos_class(pod) == "Guaranteed"


def test_limits_only_pod_becomes_guaranteed_after_defaulting():
    pod = created(containers=[{"name": "a", "image": "x:1", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}])
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert pod["status"]["qosClass"] == "Guaranteed"


# --- strategy --------------------------------------------------------------------

def test_prepare_create_resets_status():
    pod = make_pod()
    pod["status"] = {"phase": "Running", "podIP": "1.2.3.4"}
    pod["metadata"]["generation"] = 9
    podkind.prepare_create(pod, NOW)
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert pod["metadata"]["generation"] == 1
    assert pod["spec"]["enableServiceLinks"] is True


def test_prepare_create_keeps_client_qos_class():
    pod = make_pod()
    pod["status"] = {"qosClass": "Guaranteed"}
    podkind.prepare_create(pod, NOW)
    assert pod["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}


def test_prepare_create_keeps_node_name():
    assert created(nodeName="node-1")["spec"]["nodeName"] == "node-1"


def test_prepare_create_scheduling_gated_condition():
    pod = created(schedulingGates=[{"name": "example.com/wait"}])
    assert pod["status"]["conditions"] == [{
        "type": "PodScheduled", "status": "False", "lastProbeTime": None, "reason": "SchedulingGated",
        "message": "Scheduling is blocked due to non-empty scheduling gates", "lastTransitionTime": NOW}]


def test_prepare_create_applies_match_label_keys():
    pod = make_pod(affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "zone", "matchLabelKeys": ["rev"],
         "mismatchLabelKeys": ["team"]}]}})
    pod["metadata"]["labels"] = {"app": "x", "rev": "3", "team": "a"}
    podkind.prepare_create(pod, NOW)
    term = pod["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["labelSelector"]["matchExpressions"] == [
        {"key": "rev", "operator": "In", "values": ["3"]}, {"key": "team", "operator": "NotIn", "values": ["a"]}]


def test_prepare_update_keeps_stored_status():
    old = created()
    old["status"]["phase"] = "Running"
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Failed"}
    podkind.prepare_update(new, old)
    assert new["status"] == old["status"]


def test_prepare_status_update_keeps_spec_and_owner_refs():
    old = created(nodeName="n1")
    old["metadata"]["ownerReferences"] = [{"uid": "ds"}]
    old["status"].update(observedGeneration=2, conditions=[{"type": "Ready", "status": "False",
                                                           "observedGeneration": 2}])
    new = copy.deepcopy(old)
    new["spec"]["nodeName"] = "other"
    new["spec"]["containers"][0]["image"] = "evil"
    new["metadata"]["ownerReferences"] = []
    new["metadata"]["deletionTimestamp"] = NOW
    new["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    podkind.prepare_status_update(new, old)
    assert new["spec"] == old["spec"]
    assert new["metadata"]["ownerReferences"] == [{"uid": "ds"}]
    assert "deletionTimestamp" not in new["metadata"]
    assert new["status"] == {"phase": "Running", "qosClass": "BestEffort", "observedGeneration": 2,
                             "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 2}]}


# --- validation: create ------------------------------------------------------------

def _found(errs):
    return [(e.type, e.field, e.detail) for e in errs]


def test_valid_pod():
    assert podkind.validate_create(created()) == []


@pytest.mark.parametrize("mutate,etype,field,detail", [
    (lambda p: p["spec"].update(ephemeralContainers=[{"name": "e", "image": "x:1", "imagePullPolicy": "Always",
                                                     "terminationMessagePolicy": "File"}]),
     "Forbidden", "spec.ephemeralContainers", "cannot be set on create"),
    (lambda p: p["spec"].update(nodeName="n1", schedulingGates=[{"name": "g"}]),
     "Forbidden", "spec.nodeName", "cannot be set until all schedulingGates have been cleared"),
    (lambda p: p["spec"].update(volumes=[{"name": "t", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]}}]),
     "Forbidden", "spec.volumes[0].projected.sources[0].serviceAccountToken",
     "must not be specified when serviceAccountName is not set"),
    (lambda p: p["spec"]["containers"][0].update(image=" nginx"), "Invalid", "spec.containers[0].image",
     "must not have leading or trailing whitespace"),
    (lambda p: p["spec"].update(hostNetwork=True) or p["spec"]["containers"][0].update(
        ports=[{"containerPort": 80, "protocol": "TCP"}]),
     "Invalid", "spec.containers[0].ports[0].hostPort", "must match `containerPort` when `hostNetwork` is true"),
    (lambda p: p["metadata"].update(annotations={"kubernetes.io/config.mirror": "x"}),
     "Invalid", "metadata.annotations[kubernetes.io/config.mirror]",
     "must set spec.nodeName if mirror pod annotation is set"),
    (lambda p: p["metadata"].update(annotations={"controller.kubernetes.io/pod-deletion-cost": "3000000000"}),
     "Invalid", "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]", "must be a 32bit integer"),
    (lambda p: p["spec"]["containers"][0].update(image=""), "Required", "spec.containers[0].image", ""),
])
def test_validate_create(mutate, etype, field, detail):
    pod = created()
    mutate(pod)
    assert (etype, field, detail) in _found(podkind.validate_create(pod))


# --- validation: update ------------------------------------------------------------

FORBIDDEN_PREFIX = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n")


def _update(mutate, **old_spec):
    old = created(**old_spec)
    new = copy.deepcopy(old)
    mutate(new)
    return podkind.validate_update(new, old)


@pytest.mark.parametrize("mutate,old_spec", [
    (lambda p: p["spec"]["containers"][0].update(image="nginx:1.28"), {}),
    (lambda p: p["spec"].update(activeDeadlineSeconds=30), {}),
    (lambda p: p["spec"].update(activeDeadlineSeconds=10), {"activeDeadlineSeconds": 30}),
    (lambda p: p["spec"].update(tolerations=[{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]),
     {"tolerations": [{"key": "a", "operator": "Exists"}]}),
    (lambda p: p["spec"]["tolerations"][0].update(tolerationSeconds=5),
     {"tolerations": [{"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}]}),
    (lambda p: p["spec"].update(terminationGracePeriodSeconds=1), {"terminationGracePeriodSeconds": -5}),
    (lambda p: p["spec"].update(schedulingGates=[]), {"schedulingGates": [{"name": "g"}]}),
    (lambda p: p["spec"].update(nodeSelector={"a": "1", "b": "2"}),
     {"schedulingGates": [{"name": "g"}], "nodeSelector": {"a": "1"}}),
    (lambda p: p["metadata"].update(labels={"x": "y"}), {}),
    (lambda p: p["spec"]["containers"][0]["resources"].update(requests={"cpu": "1000m"}),
     {"containers": [{"name": "app", "image": "x:1", "resources": {"requests": {"cpu": "1"}}}]}),
])
def test_allowed_updates(mutate, old_spec):
    assert _update(mutate, **old_spec) == []


@pytest.mark.parametrize("mutate,old_spec,etype,field,detail", [
    (lambda p: p["spec"]["containers"].append({"name": "b", "image": "x:1", "imagePullPolicy": "Always",
                                               "terminationMessagePolicy": "File"}),
     {}, "Forbidden", "spec.containers", "pod updates may not add or remove containers"),
    (lambda p: p["spec"]["containers"][0].update(image=""), {}, "Required", "spec.containers[0].image", ""),
    (lambda p: p["spec"].update(activeDeadlineSeconds=60), {"activeDeadlineSeconds": 30},
     "Invalid", "spec.activeDeadlineSeconds", "must be less than or equal to previous value"),
    (lambda p: p["spec"].update(activeDeadlineSeconds=-1), {},
     "Invalid", "spec.activeDeadlineSeconds", "must be between 0 and 2147483647, inclusive"),
    (lambda p: p["spec"].pop("activeDeadlineSeconds"), {"activeDeadlineSeconds": 30},
     "Invalid", "spec.activeDeadlineSeconds", "must not update from a positive integer to nil value"),
    (lambda p: p["spec"].update(tolerations=[]), {"tolerations": [{"key": "a", "operator": "Exists"}]},
     "Forbidden", "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"),
    (lambda p: p["spec"].update(schedulingGates=[{"name": "g"}, {"name": "h"}]), {"schedulingGates": [{"name": "g"}]},
     "Forbidden", "spec.schedulingGates[1].name", "only deletion is allowed, but found new scheduling gate 'h'"),
    (lambda p: p["spec"].update(nodeSelector={"a": "2"}), {"schedulingGates": [{"name": "g"}], "nodeSelector": {"a": "1"}},
     "Invalid", "spec.nodeSelector", "only additions to spec.nodeSelector are allowed (no mutations or deletions)"),
    (lambda p: p["metadata"].update(annotations={"kubernetes.io/config.mirror": "x"}), {"nodeName": "n"},
     "Forbidden", "metadata.annotations[kubernetes.io/config.mirror]", "may not add mirror pod annotation"),
])
def test_rejected_updates(mutate, old_spec, etype, field, detail):
    assert (etype, field, detail) in _found(_update(mutate, **old_spec))


@pytest.mark.parametrize("mutate,old_spec", [
    (lambda p: p["spec"].update(nodeName="n2"), {}),
    (lambda p: p["spec"].update(restartPolicy="Never"), {}),
    (lambda p: p["spec"]["containers"][0].update(env=[{"name": "A", "value": "b"}]), {}),
    (lambda p: p["spec"].update(terminationGracePeriodSeconds=5), {}),
    (lambda p: p["spec"].update(nodeSelector={"a": "1"}), {}),
])
def test_other_spec_changes_forbidden(mutate, old_spec):
    errs = _update(mutate, **old_spec)
    spec_errs = [e for e in errs if e.field == "spec"]
    assert len(spec_errs) == 1 and spec_errs[0].type == "Forbidden"
    assert spec_errs[0].detail.startswith(FORBIDDEN_PREFIX)
    assert len(spec_errs[0].detail) > len(FORBIDDEN_PREFIX)  # a diff follows


# --- validation: status ---------------------------------------------------------------

def _status_update(status, **old_status):
    old = created()
    old["status"].update(old_status)
    new = copy.deepcopy(old)
    new["status"].update(status)
    return podkind.validate_status_update(new, old)


def test_valid_status_update():
    assert _status_update({"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}],
                           "hostIP": "192.168.1.2", "hostIPs": [{"ip": "192.168.1.2"}],
                           "conditions": [{"type": "Ready", "status": "True"}, {"type": "example.com/ok",
                                                                                 "status": "True"}]}) == []


@pytest.mark.parametrize("status,old_status,etype,field,detail", [
    ({"qosClass": "Guaranteed"}, {}, "Invalid", "status.qosClass", "field is immutable"),
    ({"conditions": [{"type": "bad type", "status": "True"}]}, {}, "Invalid", "metadata.conditions[0].Type", None),
    ({"nominatedNodeName": "Bad_Node"}, {}, "Invalid", "status.nominatedNodeName", None),
    ({"podIPs": [{"ip": "10.0.0.300"}]}, {}, "Invalid", "status.podIPs[0]",
     "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
    ({"podIPs": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}, {}, "Invalid", "status.podIPs",
     "may specify no more than one IP for each IP family"),
    ({"hostIP": "1.1.1.1", "hostIPs": [{"ip": "2.2.2.2"}]}, {}, "Invalid", "status.hostIPs[0].ip",
     "must be equal to `hostIP`"),
])
def test_status_update_rejected(status, old_status, etype, field, detail):
    found = _found(_status_update(status, **old_status))
    if detail is None:
        assert any(t == etype and f == field for t, f, _ in found), found
    else:
        assert (etype, field, detail) in found


@pytest.mark.parametrize("restart_policy,exit_code,rejected", [
    ("Never", 0, True), ("Never", 1, True), ("OnFailure", 0, True), ("OnFailure", 1, False), ("Always", 0, False),
])
def test_container_state_transitions(restart_policy, exit_code, rejected):
    old = created(restartPolicy=restart_policy)
    old["status"]["containerStatuses"] = [{"name": "app", "state": {"terminated": {"exitCode": exit_code}}}]
    new = copy.deepcopy(old)
    new["status"]["containerStatuses"] = [{"name": "app", "state": {"running": {}}}]
    expected = ("Forbidden", "status.containerStatuses[0].state", "may not be transitioned to non-terminated state")
    assert (expected in _found(podkind.validate_status_update(new, old))) is rejected


# --- field selectors -----------------------------------------------------------------------

@pytest.mark.parametrize("field,pod,value", [
    ("spec.nodeName", {"spec": {"nodeName": "n1"}}, "n1"),
    ("spec.nodeName", {"spec": {}}, ""),
    ("spec.restartPolicy", {"spec": {"restartPolicy": "Always"}}, "Always"),
    ("spec.schedulerName", {"spec": {"schedulerName": "default-scheduler"}}, "default-scheduler"),
    ("spec.serviceAccountName", {"spec": {"serviceAccountName": "sa"}}, "sa"),
    ("spec.hostNetwork", {"spec": {"hostNetwork": True}}, "true"),
    ("spec.hostNetwork", {"spec": {}}, "false"),
    ("status.phase", {"status": {"phase": "Running"}}, "Running"),
    ("status.podIP", {"status": {"podIP": "1.1.1.1", "podIPs": [{"ip": "2.2.2.2"}]}}, "2.2.2.2"),
    ("status.podIP", {"status": {"podIP": "1.1.1.1"}}, "1.1.1.1"),
    ("status.podIP", {}, ""),
    ("status.nominatedNodeName", {"status": {"nominatedNodeName": "n2"}}, "n2"),
])
def test_field_getters(field, pod, value):
    assert podkind.KIND.field_getters[field](pod) == value


# --- binding --------------------------------------------------------------------------------

def binding(target="node-1", **meta):
    return {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web", **meta},
            "target": {"kind": "Node", "name": target}}


def test_bind_pod_sets_node_and_condition():
    pod = created()
    pod["status"]["nominatedNodeName"] = "node-9"
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                    "message": "0/3 nodes", "lastTransitionTime": "old", "lastProbeTime": None}]
    out = podkind.bind_pod(pod, binding(annotations={"a": "b"}), NOW)
    assert out["spec"]["nodeName"] == "node-1"
    assert out["metadata"]["annotations"] == {"a": "b"}
    assert "nominatedNodeName" not in out["status"]
    assert out["status"]["conditions"] == [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                            "lastTransitionTime": NOW}]
    assert out["metadata"]["generation"] == 1
    assert "nodeName" not in pod["spec"]  # input untouched


@pytest.mark.parametrize("setup,bind,code,reason,message", [
    (lambda p: p["spec"].update(nodeName="node-2"), binding(), 409, "Conflict",
     'Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node "node-2"'),
    (lambda p: p["metadata"].update(deletionTimestamp=NOW), binding(), 409, "Conflict",
     'Operation cannot be fulfilled on pods/binding "web": pod web is being deleted, cannot be assigned to a host'),
    (lambda p: p["spec"].update(schedulingGates=[{"name": "g"}]), binding(), 409, "Conflict",
     'Operation cannot be fulfilled on pods/binding "web": pod web has non-empty .spec.schedulingGates'),
    (lambda p: None, binding(uid="other"), 409, "Conflict",
     'Operation cannot be fulfilled on pods "web": Precondition failed: UID in precondition: other, '
     "UID in object meta: u1"),
    (lambda p: None, binding(resourceVersion="3"), 409, "Conflict",
     'Operation cannot be fulfilled on pods "web": Precondition failed: ResourceVersion in precondition: 3, '
     "ResourceVersion in object meta: 7"),
    (lambda p: None, binding(target=""), 500, "", "target.name: Required value"),
    (lambda p: None, {**binding(), "target": {"kind": "Pod", "name": "n"}}, 500, "",
     'target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"'),
    (lambda p: None, {**binding(), "metadata": {"name": "other"}}, 400, "BadRequest",
     "name in URL does not match name in Binding object"),
])
def test_bind_pod_errors(setup, bind, code, reason, message):
    pod = created()
    setup(pod)
    with pytest.raises(ApiError) as e:
        podkind.bind_pod(pod, bind, NOW)
    assert (e.value.code, e.value.reason, e.value.message) == (code, reason, message)


def test_bind_pod_conflict_details():
    pod = created(nodeName="n")
    with pytest.raises(ApiError) as e:
        podkind.bind_pod(pod, binding(), NOW)
    assert e.value.details == {"name": "web", "kind": "pods/binding"}


# --- eviction --------------------------------------------------------------------------------

def eviction(**delete_options):
    ev = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web", "namespace": "default"}}
    if delete_options:
        ev["deleteOptions"] = delete_options
    return ev


@pytest.mark.parametrize("ev,phase,deleting,dry_run,expected", [
    (eviction(), "Running", False, None, {}),
    (eviction(gracePeriodSeconds=0), "Running", False, None, {"gracePeriodSeconds": 0}),
    (eviction(), "Pending", False, None, {"preconditions": {"resourceVersion": "7"}}),
    (eviction(), "Succeeded", False, None, {}),
    (eviction(), "Pending", True, None, {}),
    (eviction(preconditions={"resourceVersion": "5"}), "Pending", False, None, {"preconditions": {"resourceVersion": "5"}}),
    (eviction(), "Running", False, ["All"], {"dryRun": ["All"]}),
    (eviction(dryRun=["All"]), "Running", False, None, {"dryRun": ["All"]}),
])
def test_eviction_delete_options(ev, phase, deleting, dry_run, expected):
    pod = created()
    pod["status"]["phase"] = phase
    if deleting:
        pod["metadata"]["deletionTimestamp"] = NOW
    assert podkind.eviction_delete_options(ev, "web", pod, dry_run) == expected


@pytest.mark.parametrize("ev,name,code,message", [
    (eviction(), "other", 400, "name in URL does not match name in Eviction object"),
    (eviction(dryRun=["All"]), "web", 500, "Non-matching dry-run options in request and content: [x] and [All]"),
])
def test_eviction_errors(ev, name, code, message):
    with pytest.raises(ApiError) as e:
        podkind.eviction_delete_options(ev, name, created(), ["x"] if "deleteOptions" in ev else None)
    assert (e.value.code, e.value.message) == (code, message)
