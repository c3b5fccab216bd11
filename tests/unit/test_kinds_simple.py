import copy

import pytest

from everynode.api.kinds import controllerrevision, event, lease, namespace, node, priorityclass


def errs(found):
    return [e.error() for e in found]


# --- Namespace ----------------------------------------------------------------

def test_namespace_create_defaults():
    ns = {"metadata": {"name": "team-a"}, "status": {"phase": "Terminating"}}
    namespace.KIND.default(ns)
    namespace.KIND.prepare_create(ns)
    assert ns["status"] == {"phase": "Active"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}


def test_namespace_create_keeps_other_finalizers():
    ns = {"metadata": {"name": "a", "labels": {"kubernetes.io/metadata.name": "spoof", "x": "y"}},
          "spec": {"finalizers": ["example.com/f"]}}
    namespace.KIND.prepare_create(ns)
    assert ns["spec"]["finalizers"] == ["example.com/f", "kubernetes"]
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "a", "x": "y"}


def test_namespace_update_keeps_finalizers_and_status():
    old = {"metadata": {"name": "a"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    new = {"metadata": {"name": "a", "labels": {"l": "v"}}, "spec": {"finalizers": []},
           "status": {"phase": "Terminating"}}
    namespace.KIND.prepare_update(new, old)
    assert new["spec"]["finalizers"] == ["kubernetes"]
    assert new["status"] == {"phase": "Active"}
    assert new["metadata"]["labels"]["kubernetes.io/metadata.name"] == "a"


def test_namespace_status_update_keeps_spec():
    old = {"metadata": {"name": "a"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    new = {"metadata": {"name": "a"}, "spec": {}, "status": {"phase": "Active"}}
    namespace.KIND.prepare_status_update(new, old)
    assert new["spec"] == {"finalizers": ["kubernetes"]}


def test_namespace_finalize_keeps_status():
    old = {"metadata": {"name": "a"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Terminating"}}
    new = {"metadata": {"name": "a"}, "spec": {"finalizers": []}, "status": {"phase": "Active"}}
    namespace.prepare_finalize(new, old)
    assert new["spec"] == {"finalizers": []} and new["status"] == {"phase": "Terminating"}
    assert errs(namespace.validate_finalize(dict(new, spec={"finalizers": ["bogus"]}), old)) == [
        'spec.finalizers[0]: Unsupported value: "bogus": supported values: '
        '"foregroundDeletion", "kubernetes", "orphan"']


@pytest.mark.parametrize("ns,errors", [
    ({"metadata": {"name": "ok"}, "spec": {"finalizers": ["kubernetes", "example.com/x"]}}, []),
    ({"metadata": {"name": "a.b"}}, ['metadata.name: Invalid value: "a.b": must not contain dots']),
    ({"metadata": {"name": "a" * 64}}, ['metadata.name: Invalid value: "' + "a" * 64
                                        + '": must be no more than 63 characters']),
    ({"metadata": {"name": "Bad"}}, []),  # not a subdomain: reported by the generic meta check
    ({"metadata": {"name": "ok"}, "spec": {"finalizers": ["bogus"]}},
     ['spec.finalizers: Unsupported value: "bogus": supported values: "foregroundDeletion", "kubernetes", "orphan"']),
])
def test_namespace_validate_create(ns, errors):
    assert errs(namespace.KIND.validate_create(ns)) == errors


@pytest.mark.parametrize("meta,phase,errors", [
    ({"name": "a"}, "Active", []),
    ({"name": "a"}, "Terminating",
     ["status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty"]),
    ({"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z"}, "Terminating", []),
    ({"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z"}, "Active",
     ["status.Phase: Invalid value: \"Active\": may only be 'Terminating' if `deletionTimestamp` is not empty"]),
])
def test_namespace_status_validation(meta, phase, errors):
    new = {"metadata": meta, "status": {"phase": phase}}
    assert errs(namespace.KIND.validate_status_update(new, new)) == errors


def test_namespace_field_getters():
    assert namespace.KIND.field_getters["status.phase"]({"status": {"phase": "Active"}}) == "Active"
    assert namespace.KIND.field_getters["status.phase"]({}) == ""


# --- Node -------------------------------------------------------------------

NODE = {
    "metadata": {"name": "n1"},
    "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
    "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
               "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]},
}


def test_node_create_keeps_status_and_defaults_allocatable():
    n = copy.deepcopy(NODE)
    node.KIND.default(n)
    node.KIND.prepare_create(n)
    assert n["status"]["capacity"]["cpu"] == "4"
    assert n["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}
    assert errs(node.KIND.validate_create(n)) == []


def test_node_pod_cidr_defaults():
    n = {"spec": {"podCIDR": "10.244.1.0/24"}}
    node.KIND.default(n)
    assert n["spec"]["podCIDRs"] == ["10.244.1.0/24"]
    n = {"spec": {"podCIDRs": ["10.244.2.0/24", "fd00::/64"]}}
    node.KIND.default(n)
    assert n["spec"]["podCIDR"] == "10.244.2.0/24"
    n = {"metadata": {"name": "bare"}}  # created without a spec: upstream answers "spec": {}
    node.KIND.default(n)
    assert n["spec"] == {}


def test_node_update_ignores_status_and_status_update_ignores_spec():
    old = copy.deepcopy(NODE)
    new = copy.deepcopy(NODE)
    new["spec"]["unschedulable"] = True
    new["status"] = {"capacity": {"cpu": "1"}}
    node.KIND.prepare_update(new, old)
    assert new["status"] == old["status"] and new["spec"]["unschedulable"] is True
    new = copy.deepcopy(NODE)
    new["spec"] = {"unschedulable": True}
    new["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    node.KIND.prepare_status_update(new, old)
    assert new["spec"] == old["spec"] and new["status"]["conditions"][0]["type"] == "Ready"


@pytest.mark.parametrize("taints,errors", [
    ([{"key": "a", "value": "b", "effect": "NoExecute"}, {"key": "a", "effect": "NoSchedule"}], []),
    ([{"key": "a", "effect": "Sometimes"}],
     ['metadata.taints[0].effect: Unsupported value: "Sometimes": supported values: '
      '"NoSchedule", "PreferNoSchedule", "NoExecute"']),
    ([{"key": "a"}], ["metadata.taints[0].effect: Required value"]),
    ([{"key": "a b", "effect": "NoSchedule"}],
     ['metadata.taints[0].key: Invalid value: "a b": name part must consist of alphanumeric characters, '
      "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
      "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]),
    ([{"key": "a", "value": "-x", "effect": "NoSchedule"}],
     ['metadata.taints[0].value: Invalid value: "-x": a valid label must be an empty string or consist of '
      "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
      "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]),
    ([{"key": "a", "value": "1", "effect": "NoSchedule"}, {"key": "a", "value": "2", "effect": "NoSchedule"}],
     ['metadata.taints[1]: Duplicate value: {"effect":"NoSchedule","key":"a","value":"2"}: '
      "taints must be unique by key and effect pair"]),
])
def test_node_taints(taints, errors):
    n = {"metadata": {"name": "n"}, "spec": {"taints": taints}}
    assert errs(node.KIND.validate_create(n)) == errors


@pytest.mark.parametrize("status,errors", [
    ({"capacity": {"cpu": "1500m", "pods": "10", "example.com/gpu": "2"}}, []),
    ({"capacity": {"cpu": "-1"}}, ['status.capacity.cpu: Invalid value: "-1": must be greater than or equal to 0']),
    ({"allocatable": {"pods": "1500m"}}, ['status.allocatable.pods: Invalid value: "1500m": must be an integer']),
    ({"allocatable": {"example.com/gpu": "0.5"}},
     ['status.allocatable.example.com/gpu: Invalid value: "500m": must be an integer']),
    ({"capacity": {"memory": "lots"}},
     ['status.capacity.memory: Invalid value: "lots": quantities must match the regular expression '
      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]),
])
def test_node_resources(status, errors):
    n = {"metadata": {"name": "n"}, "status": status}
    assert errs(node.KIND.validate_create(n)) == errors


@pytest.mark.parametrize("cidrs,errors", [
    (["10.244.0.0/24"], []),
    (["10.244.0.0/24", "fd00::/64"], []),
    (["nope"], ['spec.podCIDRs[0]: Invalid value: "nope": must be a valid CIDR value, '
                "(e.g. 10.9.8.0/24 or 2001:db8::/64)"]),
    (["10.1.0.0/24", "10.2.0.0/24"],
     ['spec.podCIDRs: Invalid value: ["10.1.0.0/24","10.2.0.0/24"]: '
      "may specify no more than one CIDR for each IP family"]),
])
def test_node_pod_cidrs(cidrs, errors):
    assert errs(node.KIND.validate_create({"spec": {"podCIDRs": cidrs}})) == errors


@pytest.mark.parametrize("old_spec,new_spec,new_status,errors", [
    ({}, {"podCIDRs": ["10.0.0.0/24"]}, {}, []),
    ({"podCIDRs": ["10.0.0.0/24"]}, {"podCIDRs": ["10.0.1.0/24"]}, {},
     ['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid']),
    ({"providerID": "a"}, {"providerID": "b"}, {},
     ['spec.providerID: Forbidden: node updates may not change providerID except from "" to valid']),
    ({}, {}, {"addresses": [{"type": "Hostname", "address": "h"}, {"type": "Hostname", "address": "h"}]},
     ['status.addresses[1]: Duplicate value: {"address":"h","type":"Hostname"}']),
])
def test_node_update_rules(old_spec, new_spec, new_status, errors):
    old = {"metadata": {"name": "n"}, "spec": old_spec}
    new = {"metadata": {"name": "n"}, "spec": new_spec, "status": new_status}
    assert errs(node.KIND.validate_update(new, old)) == errors


def test_node_status_update_validation():
    old = {"metadata": {"name": "n"}, "spec": {}}
    new = {"metadata": {"name": "n"}, "spec": {}, "status": {"capacity": {"pods": "-3"}}}
    assert errs(node.KIND.validate_status_update(new, old)) == [
        'status.capacity.pods: Invalid value: "-3": must be greater than or equal to 0']


def test_node_field_getter():
    get = node.KIND.field_getters["spec.unschedulable"]
    assert get({"spec": {"unschedulable": True}}) == "true"
    assert get({"spec": {}}) == "false"
    assert get({}) == "false"


# --- Event ----------------------------------------------------------------

def ev(ns="default", involved_ns="default", **extra):
    body = {"metadata": {"name": "e1", "namespace": ns},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": involved_ns, "uid": "u1",
                               "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{c}"},
            "reason": "Started", "type": "Normal", "source": {"component": "kubelet"}}
    body.update(extra)
    return body


MISMATCH = 'involvedObject.namespace: Invalid value: "{}": does not match event.namespace'


@pytest.mark.parametrize("body,errors", [
    (ev(), []),
    (ev("team", "team"), []),
    (ev("team", "other"), [MISMATCH.format("other")]),
    (ev("default", ""), []),
    (ev("team", ""), [MISMATCH.format("")]),
    (ev("team", "team", eventTime="2024-01-01T00:00:00.000000Z", reportingComponent="kubelet",
        reportingInstance="n1", action="Started"), []),
    (ev("team", "team", eventTime="2024-01-01T00:00:00.000000Z"), [
        "reportingComponent: Required value",
        'reportingComponent: Invalid value: "": name part must be non-empty',
        'reportingComponent: Invalid value: "": name part must consist of alphanumeric characters, '
        "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
        "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        "reportingInstance: Required value",
        "action: Required value"]),
    (ev("kube-system", "", eventTime="2024-01-01T00:00:00Z", reportingComponent="k", reportingInstance="i",
        action="a", reason="r" * 129), ['reason: Invalid value: "": can have at most 128 characters']),
])
def test_event_validation(body, errors):
    assert errs(event.KIND.validate_create(body)) == errors
    assert errs(event.KIND.validate_update(body, body)) == errors


@pytest.mark.parametrize("field,value", [
    ("involvedObject.kind", "Pod"),
    ("involvedObject.namespace", "default"),
    ("involvedObject.name", "p"),
    ("involvedObject.uid", "u1"),
    ("involvedObject.apiVersion", "v1"),
    ("involvedObject.resourceVersion", "7"),
    ("involvedObject.fieldPath", "spec.containers{c}"),
    ("reason", "Started"),
    ("reportingComponent", ""),
    ("source", "kubelet"),
    ("type", "Normal"),
])
def test_event_field_getters(field, value):
    assert event.KIND.field_getters[field](ev()) == value


def test_event_source_falls_back_to_reporting_component():
    body = ev(source={}, reportingComponent="controller-x")
    assert event.KIND.field_getters["source"](body) == "controller-x"


# --- Lease ------------------------------------------------------------------

@pytest.mark.parametrize("spec,errors", [
    ({}, []),
    ({"holderIdentity": "a", "leaseDurationSeconds": 40, "leaseTransitions": 0}, []),
    ({"leaseDurationSeconds": 0}, ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]),
    ({"leaseTransitions": -1}, ["spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"]),
    ({"strategy": "OldestEmulationVersion", "preferredHolder": "x"}, []),
    ({"strategy": "Newest"},
     ['spec.strategy.strategy: Unsupported value: "Newest": supported values: "OldestEmulationVersion"']),
    ({"strategy": "example.com/mine"}, []),
    ({"preferredHolder": "x"}, ["spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined"]),
])
def test_lease_spec(spec, errors):
    body = {"metadata": {"name": "l", "namespace": "kube-node-lease"}, "spec": spec}
    assert errs(lease.KIND.validate_create(body)) == errors
    assert errs(lease.KIND.validate_update(body, body)) == errors


# --- PriorityClass ------------------------------------------------------------

def pc(name, value, **extra):
    body = {"metadata": {"name": name}, "value": value}
    body.update(extra)
    return body


RESERVED = ("metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system "
            "use only. error: ")


@pytest.mark.parametrize("body,errors", [
    (pc("high", 1000), []),
    (pc("max", 1_000_000_000), []),
    (pc("too-high", 1_000_000_001),
     ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]),
    (pc("negative", -5), []),
    (pc("system-node-critical", 2000001000), []),
    (pc("system-cluster-critical", 2000000000), []),
    (pc("system-node-critical", 5), [RESERVED + "value of system-node-critical PriorityClass must be 2000001000"]),
    (pc("system-cluster-critical", 2000000000, globalDefault=True),
     [RESERVED + "globalDefault of system-cluster-critical PriorityClass must be false"]),
    (pc("system-mine", 5), [RESERVED + "system-mine is not a known system priority class"]),
    (pc("p", 1, preemptionPolicy="Never"), []),
    (pc("p", 1, preemptionPolicy="Sometimes"),
     ['preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"']),
    (pc("p", "high"), ['value: Invalid value: "high": must be a 32-bit integer']),
])
def test_priorityclass_validate_create(body, errors):
    assert errs(priorityclass.KIND.validate_create(body)) == errors


def test_priorityclass_defaults():
    body = {"metadata": {"name": "p"}}
    priorityclass.KIND.default(body)
    assert body["preemptionPolicy"] == "PreemptLowerPriority" and body["value"] == 0
    body = pc("p", 3, preemptionPolicy="Never")
    priorityclass.KIND.default(body)
    assert body["preemptionPolicy"] == "Never" and body["value"] == 3


@pytest.mark.parametrize("change,errors", [
    ({"description": "new text", "globalDefault": True}, []),
    ({"value": 2}, ["value: Forbidden: may not be changed in an update."]),
    ({"preemptionPolicy": "Never"}, ['preemptionPolicy: Invalid value: "Never": field is immutable']),
])
def test_priorityclass_update(change, errors):
    old = pc("p", 1, preemptionPolicy="PreemptLowerPriority")
    new = dict(old, **change)
    assert errs(priorityclass.KIND.validate_update(new, old)) == errors


def test_builtin_priority_classes():
    classes = priorityclass.builtin_priority_classes()
    assert {(c["metadata"]["name"], c["value"]) for c in classes} == {
        ("system-node-critical", 2000001000), ("system-cluster-critical", 2000000000)}
    for c in classes:
        assert errs(priorityclass.KIND.validate_create(c)) == []
    classes[0]["value"] = 1
    assert priorityclass.BUILTIN_PRIORITY_CLASSES[0]["value"] == 2000001000  # copies are independent


def test_priorityclass_delete_forbidden():
    err = priorityclass.delete_forbidden("system-node-critical")
    assert err is not None and err.code == 403 and err.message == (
        'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: '
        "this is a system priority class and cannot be deleted")
    assert priorityclass.delete_forbidden("system-other") is None
    assert priorityclass.delete_forbidden("high") is None


# --- ControllerRevision -------------------------------------------------------

def cr(**extra):
    body = {"metadata": {"name": "ds-abc", "namespace": "default"}, "data": {"spec": {"template": {}}},
            "revision": 1}
    body.update(extra)
    return body


@pytest.mark.parametrize("body,errors", [
    (cr(), []),
    (cr(revision=0), []),
    (cr(revision=-1), ["revision: Invalid value: -1: must be greater than or equal to 0"]),
    ({"metadata": {"name": "x"}, "revision": 1}, ["data: Required value: data is mandatory"]),
])
def test_controllerrevision_create(body, errors):
    assert errs(controllerrevision.KIND.validate_create(body)) == errors


def test_controllerrevision_defaults_revision():
    body = {"metadata": {"name": "x"}, "data": {}}
    controllerrevision.KIND.default(body)
    assert body["revision"] == 0


@pytest.mark.parametrize("change,errors", [
    ({"revision": 5, "metadata": {"name": "ds-abc", "namespace": "default", "labels": {"a": "b"}}}, []),
    ({"data": {"spec": {"template": {"x": 1}}}},
     ['data: Invalid value: {"spec":{"template":{"x":1}}}: field is immutable']),
])
def test_controllerrevision_update(change, errors):
    old = cr()
    assert errs(controllerrevision.KIND.validate_update(cr(**change), old)) == errors


@pytest.mark.parametrize("kind", [namespace.KIND, node.KIND, event.KIND, lease.KIND, priorityclass.KIND,
                                  controllerrevision.KIND])
def test_simple_kinds_do_not_bump_generation(kind):
    assert kind.has_generation is False
