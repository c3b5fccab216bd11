"""node_should_run_daemon_pod: the (shouldRun, shouldContinueRunning) table of upstream."""

from __future__ import annotations

import copy

import pytest

from everynode.controllers.daemonset.eligibility import DaemonEligibility, node_should_run_daemon_pod


def make_ds(**pod_spec):
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    spec.update(pod_spec)
    return {
        "metadata": {"name": "ds", "namespace": "default", "uid": "u"},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
                 "template": {"metadata": {"labels": {"app": "x"}}, "spec": spec}},
    }


def make_node(name="n1", labels=None, taints=(), unschedulable=False, ready=True):
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": list(taints), **({"unschedulable": True} if unschedulable else {})},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def taint(key, effect, value=None):
    t = {"key": key, "effect": effect}
    if value is not None:
        t["value"] = value
    return t


def pinned(*names):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n]}]} for n in names]}}}


CASES = [
    ("simple", make_ds(), make_node(), (True, True)),
    ("template nodeName other node", make_ds(nodeName="n2"), make_node(), (False, False)),
    ("template nodeName this node", make_ds(nodeName="n1"), make_node(), (True, True)),
    ("nodeSelector hit", make_ds(nodeSelector={"disk": "ssd"}), make_node(labels={"disk": "ssd"}), (True, True)),
    ("nodeSelector miss", make_ds(nodeSelector={"disk": "ssd"}), make_node(labels={"disk": "hdd"}),
     (False, False)),
    ("affinity miss", make_ds(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}),
     make_node(labels={"zone": "b"}), (False, False)),
    ("affinity matchFields name", make_ds(affinity=pinned("n2", "n1")), make_node(), (True, True)),
    ("affinity matchFields other name", make_ds(affinity=pinned("n2")), make_node(), (False, False)),
    ("NoSchedule taint untolerated", make_ds(), make_node(taints=[taint("dedicated", "NoSchedule", "x")]),
     (False, True)),
    ("NoExecute taint untolerated", make_ds(), make_node(taints=[taint("dedicated", "NoExecute", "x")]),
     (False, False)),
    ("NoSchedule and NoExecute", make_ds(),
     make_node(taints=[taint("a", "NoSchedule"), taint("b", "NoExecute")]), (False, False)),
    ("PreferNoSchedule ignored", make_ds(), make_node(taints=[taint("a", "PreferNoSchedule")]), (True, True)),
    ("NoSchedule tolerated", make_ds(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "x",
                                                   "effect": "NoSchedule"}]),
     make_node(taints=[taint("dedicated", "NoSchedule", "x")]), (True, True)),
    ("toleration wrong value", make_ds(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "y"}]),
     make_node(taints=[taint("dedicated", "NoExecute", "x")]), (False, False)),
    ("tolerate everything", make_ds(tolerations=[{"operator": "Exists"}]),
     make_node(taints=[taint("a", "NoExecute"), taint("b", "NoSchedule")]), (True, True)),
    ("control-plane taint", make_ds(),
     make_node(taints=[taint("node-role.kubernetes.io/control-plane", "NoSchedule")]), (False, True)),
    ("cordoned node still runs daemons", make_ds(),
     make_node(unschedulable=True, taints=[taint("node.kubernetes.io/unschedulable", "NoSchedule")]),
     (True, True)),
    ("not-ready node", make_ds(),
     make_node(ready=False, taints=[taint("node.kubernetes.io/not-ready", "NoExecute"),
                                    taint("node.kubernetes.io/not-ready", "NoSchedule")]),
     (False, True)),
    ("unreachable NoExecute tolerated", make_ds(),
     make_node(taints=[taint("node.kubernetes.io/unreachable", "NoExecute")]), (True, True)),
    ("pressure taints tolerated", make_ds(),
     make_node(taints=[taint("node.kubernetes.io/memory-pressure", "NoSchedule"),
                       taint("node.kubernetes.io/disk-pressure", "NoSchedule"),
                       taint("node.kubernetes.io/pid-pressure", "NoSchedule")]), (True, True)),
    ("network-unavailable without hostNetwork", make_ds(),
     make_node(taints=[taint("node.kubernetes.io/network-unavailable", "NoSchedule")]), (False, True)),
    ("network-unavailable with hostNetwork", make_ds(hostNetwork=True),
     make_node(taints=[taint("node.kubernetes.io/network-unavailable", "NoSchedule")]), (True, True)),
    ("node not ready without taints", make_ds(), make_node(ready=False), (True, True)),
]


@pytest.mark.parametrize("name,ds,node,expected", CASES, ids=[c[0] for c in CASES])
def test_node_should_run_daemon_pod(name, ds, node, expected):
    before = copy.deepcopy(ds)
    assert node_should_run_daemon_pod(node, ds) == expected
    assert DaemonEligibility(ds).evaluate(node) == expected
    assert ds == before  # pure


def test_not_ready_no_schedule_taint_keeps_running_pods_but_places_none():
    # not-ready NoExecute is tolerated by default; its NoSchedule twin is not.
    ds = make_ds()
    node = make_node(taints=[taint("node.kubernetes.io/not-ready", "NoSchedule")])
    assert node_should_run_daemon_pod(node, ds) == (False, True)


def test_compiled_eligibility_reused_across_nodes():
    elig = DaemonEligibility(make_ds(nodeSelector={"role": "edge"}))
    results = [elig.evaluate(make_node(f"n{i}", labels={"role": "edge" if i % 2 else "core"})) for i in range(4)]
    assert results == [(False, False), (True, True), (False, False), (True, True)]
