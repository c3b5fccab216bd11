"""new_pod, default tolerations, node pinning and target_node_of."""

from __future__ import annotations

import copy

import pytest

from everynode.controllers.daemonset.podtemplate import (
    add_or_update_toleration,
    daemon_tolerations,
    new_pod,
    pin_to_node,
    pod_name_prefix,
    target_node_of,
    template_generation_of,
)

NOT_READY = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}
DISK = {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"}
MEMORY = {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}
PID = {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"}
UNSCHEDULABLE = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}
NETWORK = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}
DEFAULTS = [NOT_READY, UNREACHABLE, DISK, MEMORY, PID, UNSCHEDULABLE]


def make_ds(name="fluentd", **pod_spec):
    spec = {"containers": [{"name": "c", "image": "busybox:1.35"}]}
    spec.update(pod_spec)
    return {
        "metadata": {"name": name, "namespace": "kube-system", "uid": "ds-uid", "generation": 3,
                     "annotations": {"deprecated.daemonset.template.generation": "2"}},
        "spec": {
            "selector": {"matchLabels": {"app": "fluentd"}},
            "template": {
                "metadata": {"labels": {"app": "fluentd"}, "annotations": {"a": "b"},
                             "finalizers": ["example.com/f"]},
                "spec": spec,
            },
        },
    }


def test_new_pod_shape():
    ds = make_ds()
    before = copy.deepcopy(ds)
    pod = new_pod(ds, "node-1", "5d4f8b7c9", 2)
    assert ds == before
    assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod"
    meta = pod["metadata"]
    assert meta["generateName"] == "fluentd-"
    assert "name" not in meta
    assert meta["namespace"] == "kube-system"
    assert meta["labels"] == {"app": "fluentd", "pod-template-generation": "2",
                              "controller-revision-hash": "5d4f8b7c9"}
    assert meta["annotations"] == {"a": "b"}
    assert meta["finalizers"] == ["example.com/f"]
    assert meta["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd",
                                        "uid": "ds-uid", "controller": True, "blockOwnerDeletion": True}]
    spec = pod["spec"]
    assert "nodeName" not in spec  # left to the scheduler
    assert spec["containers"] == [{"name": "c", "image": "busybox:1.35"}]
    assert spec["tolerations"] == DEFAULTS
    assert spec["affinity"] == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": ["node-1"]}]}]}}}


def test_new_pod_without_generation_or_hash():
    pod = new_pod(make_ds(), "n", "", None)
    assert pod["metadata"]["labels"] == {"app": "fluentd"}


def test_new_pod_does_not_share_template_objects():
    ds = make_ds()
    pod = new_pod(ds, "n", "h", 1)
    pod["spec"]["containers"][0]["image"] = "changed"
    pod["metadata"]["labels"]["x"] = "y"
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.35"
    assert "x" not in ds["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("pod_spec,expected", [
    ({}, DEFAULTS),
    ({"hostNetwork": True}, DEFAULTS + [NETWORK]),
    ({"hostNetwork": False}, DEFAULTS),
    # a user toleration keeps its place; defaults follow
    ({"tolerations": [{"key": "dedicated", "operator": "Exists"}]},
     [{"key": "dedicated", "operator": "Exists"}] + DEFAULTS),
    # same key/operator/value/effect: replaced in place, tolerationSeconds lost
    ({"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                       "tolerationSeconds": 60}]}, DEFAULTS),
    ({"tolerations": [UNSCHEDULABLE, {"key": "x", "operator": "Exists"}]},
     [UNSCHEDULABLE, {"key": "x", "operator": "Exists"}, NOT_READY, UNREACHABLE, DISK, MEMORY, PID]),
    # a different effect is a different toleration
    ({"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}]},
     [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}] + DEFAULTS),
])
def test_daemon_tolerations(pod_spec, expected):
    assert daemon_tolerations(pod_spec) == expected
    again = daemon_tolerations(copy.deepcopy(pod_spec))  # from the memo: equal, and its own dicts
    assert again == expected
    again[0]["key"] = "changed"
    assert daemon_tolerations(pod_spec) == expected


def test_daemon_tolerations_of_values_json_cannot_hold_are_computed_directly():
    odd = {"key": "k", "operator": "Exists", "weird": {1, 2}}
    assert daemon_tolerations({"tolerations": [odd]}) == [odd] + DEFAULTS


def test_add_or_update_toleration_identical_is_noop():
    tols = [dict(NOT_READY)]
    assert add_or_update_toleration(tols, NOT_READY) == [NOT_READY]
    assert add_or_update_toleration(None, NOT_READY) == [NOT_READY]


ANTI = {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"a": "b"}}, "topologyKey": "kubernetes.io/hostname"}]}
PREFERRED = [{"weight": 5, "preference": {"matchExpressions": [{"key": "z", "operator": "Exists"}]}}]
PIN = {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}


@pytest.mark.parametrize("affinity,expected", [
    (None, {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": PIN}}),
    ({}, {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": PIN}}),
    ({"podAntiAffinity": ANTI},
     {"podAntiAffinity": ANTI, "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": PIN}}),
    ({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": PREFERRED}},
     {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": PREFERRED,
                       "requiredDuringSchedulingIgnoredDuringExecution": PIN}}),
    ({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n9"]}]}]}}},
     {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": PIN}}),
])
def test_pin_to_node(affinity, expected):
    before = copy.deepcopy(affinity)
    assert pin_to_node(affinity, "n1") == expected
    assert affinity == before


@pytest.mark.parametrize("name,expected", [
    ("fluentd", "fluentd-"),
    ("a", "a-"),
    ("a" * 252, "a" * 252 + "-"),
    ("a" * 253, "a" * 253 + "-"),  # upstream masks the trailing dash before checking the length
    ("Bad_Name", "Bad_Name"),  # "<name>-" not a valid prefix: the bare name
])
def test_pod_name_prefix(name, expected):
    assert pod_name_prefix(name) == expected


def fields_pod(*values, key="metadata.name", op="In", node_name=None):
    spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": key, "operator": op, "values": list(values)}]}]}}}}
    if node_name:
        spec["nodeName"] = node_name
    return {"metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize("pod,expected", [
    ({"spec": {"nodeName": "n1"}}, "n1"),
    (fields_pod("n2"), "n2"),
    (fields_pod("n2", node_name="n1"), "n1"),  # nodeName wins
    (fields_pod("n2", "n3"), None),  # not unique
    (fields_pod("n2", op="NotIn"), None),
    (fields_pod("n2", key="spec.nodeName"), None),
    ({"spec": {}}, None),
    ({"spec": {"affinity": {"nodeAffinity": {}}}}, None),
    ({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": []}}}}}, None),
    ({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Exists"}]},
                              {"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": ["n4"]}]}]}}}}}, "n4"),
    (new_pod(make_ds(), "n7", "h", 1), "n7"),
])
def test_target_node_of(pod, expected):
    assert target_node_of(pod) == expected


@pytest.mark.parametrize("annotations,expected", [
    ({"deprecated.daemonset.template.generation": "4"}, 4),
    ({"deprecated.daemonset.template.generation": "x"}, None),
    ({"deprecated.daemonset.template.generation": ""}, None),
    ({}, None),
    (None, None),
])
def test_template_generation_of(annotations, expected):
    assert template_generation_of({"metadata": {"annotations": annotations}}) == expected
