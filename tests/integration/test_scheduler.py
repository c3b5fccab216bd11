"""The default scheduler against a running cluster: pods created directly (no DaemonSet) with the
real kubectl, checked with the official client.

The session cluster has a tainted control plane and two workers; nodes report the host's real
cpu, so resource tests size their requests from the node's allocatable.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from everynode.api.quantity import parse_quantity, to_milli
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

CONTROL_PLANE = "everynode-control-plane"
CP_TOLERATION = {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}


def pod_manifest(name: str, *, cpu: str | None = None, host_port: int | None = None, protocol: str = "TCP",
                 pin: str | None = None, node_selector: dict | None = None, tolerations: list | None = None,
                 priority_class: str | None = None, scheduler: str | None = None, namespace: str | None = None,
                 grace: int = 0) -> str:
    container: dict = {"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"]}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    if host_port:
        container["ports"] = [{"containerPort": host_port, "hostPort": host_port, "protocol": protocol}]
    spec: dict = {"containers": [container], "terminationGracePeriodSeconds": grace}
    if pin:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [pin]}]}]}}}
    if node_selector:
        spec["nodeSelector"] = node_selector
    if tolerations:
        spec["tolerations"] = tolerations
    if priority_class:
        spec["priorityClassName"] = priority_class
    if scheduler:
        spec["schedulerName"] = scheduler
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})


def create(cluster, namespace: str, manifest: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest)


def get_pod(cluster, namespace: str, name: str) -> dict:
    return cluster.kubectl_json("get", "pod", name, "-n", namespace)


def node_of(cluster, namespace: str, name: str) -> str:
    return get_pod(cluster, namespace, name)["spec"].get("nodeName") or ""


def scheduled_condition(pod: dict) -> dict | None:
    return next((c for c in pod.get("status", {}).get("conditions") or [] if c["type"] == "PodScheduled"), None)


def unschedulable_message(cluster, namespace: str, name: str) -> str | None:
    cond = scheduled_condition(get_pod(cluster, namespace, name))
    if cond and cond["status"] == "False" and cond.get("reason") == "Unschedulable":
        return cond.get("message")
    return None


def events_for(cluster, namespace: str, name: str) -> list:
    core = client.CoreV1Api(cluster.api_client())
    return [e for e in core.list_namespaced_event(namespace).items if e.involved_object.name == name]


def workers(cluster) -> list[dict]:
    nodes = cluster.kubectl_json("get", "nodes")["items"]
    return sorted((n for n in nodes if not n["spec"].get("taints") and not n["spec"].get("unschedulable")),
                  key=lambda n: n["metadata"]["name"])


def free_milli_cpu(cluster, node: dict) -> int:
    """Allocatable cpu minus the requests of the non-terminal pods bound to the node."""
    name = node["metadata"]["name"]
    used = 0
    for p in cluster.kubectl_json("get", "pods", "-A")["items"]:
        if p["spec"].get("nodeName") != name or p["status"].get("phase") in ("Succeeded", "Failed"):
            continue
        for c in p["spec"]["containers"]:
            cpu = ((c.get("resources") or {}).get("requests") or {}).get("cpu")
            if cpu:
                used += to_milli(parse_quantity(cpu))
    return to_milli(parse_quantity(node["status"]["allocatable"]["cpu"])) - used


def test_binds_pending_pod_and_records_scheduled_event(cluster, namespace):
    create(cluster, namespace, pod_manifest("plain"))
    node = wait_for(lambda: node_of(cluster, namespace, "plain"), 30, message="pod bound")
    assert node != CONTROL_PLANE  # the control plane's NoSchedule taint is not tolerated
    assert scheduled_condition(get_pod(cluster, namespace, "plain"))["status"] == "True"
    ev = wait_for(lambda: [e for e in events_for(cluster, namespace, "plain") if e.reason == "Scheduled"], 10,
                  message="Scheduled event")[0]
    assert ev.type == "Normal" and ev.source.component == "default-scheduler"
    assert ev.message == f"Successfully assigned {namespace}/plain to {node}"


def test_pods_of_other_schedulers_are_left_alone(cluster, namespace):
    create(cluster, namespace, pod_manifest("elsewhere", scheduler="my-scheduler"))
    create(cluster, namespace, pod_manifest("marker"))
    wait_for(lambda: node_of(cluster, namespace, "marker"), 30, message="marker pod bound")
    time.sleep(1)
    pod = get_pod(cluster, namespace, "elsewhere")
    assert not pod["spec"].get("nodeName") and scheduled_condition(pod) is None
    assert events_for(cluster, namespace, "elsewhere") == []


def test_pod_larger_than_any_node_stays_pending_with_failed_scheduling(cluster, namespace):
    nodes = cluster.kubectl_json("get", "nodes")["items"]
    biggest = max(to_milli(parse_quantity(n["status"]["allocatable"]["cpu"])) for n in nodes)
    create(cluster, namespace, pod_manifest("huge", cpu=f"{biggest + 1000}m"))
    msg = wait_for(lambda: unschedulable_message(cluster, namespace, "huge"), 30, message="PodScheduled=False")
    n = len(nodes)
    assert msg.startswith(f"0/{n} nodes are available: ")
    assert f"{n - 1} Insufficient cpu" in msg and "1 node(s) had untolerated taint(s)" in msg
    assert f" preemption: 0/{n} nodes are available: " in msg
    ev = wait_for(lambda: [e for e in events_for(cluster, namespace, "huge") if e.reason == "FailedScheduling"],
                  10, message="FailedScheduling event")[0]
    assert ev.type == "Warning" and ev.source.component == "default-scheduler" and ev.message == msg
    assert not node_of(cluster, namespace, "huge")
    described = cluster.kubectl("describe", "pod", "huge", "-n", namespace).stdout
    assert "FailedScheduling" in described and "default-scheduler" in described


def test_host_port_conflicts(cluster, namespace):
    target = workers(cluster)[0]["metadata"]["name"]
    hp = 20000 + uuid.uuid4().int % 20000
    create(cluster, namespace, pod_manifest("first", host_port=hp, pin=target))
    wait_for(lambda: node_of(cluster, namespace, "first") == target, 30, message="first pod bound")
    create(cluster, namespace, pod_manifest("same-port", host_port=hp, pin=target))
    create(cluster, namespace, pod_manifest("udp-port", host_port=hp, protocol="UDP", pin=target))
    wait_for(lambda: node_of(cluster, namespace, "udp-port") == target, 30, message="UDP pod bound")
    msg = wait_for(lambda: unschedulable_message(cluster, namespace, "same-port"), 30, message="port conflict")
    assert "1 node(s) didn't have free ports for the requested pod ports" in msg
    # freeing the port lets the waiting pod in
    cluster.kubectl("delete", "pod", "first", "-n", namespace, "--wait=false")
    wait_for(lambda: node_of(cluster, namespace, "same-port") == target, 30, message="pod bound after port freed")


def test_taints_and_tolerations(cluster, namespace):
    # the control plane's NoSchedule taint, tolerated or not
    create(cluster, namespace, pod_manifest("cp-plain", pin=CONTROL_PLANE))
    create(cluster, namespace, pod_manifest("cp-tolerant", pin=CONTROL_PLANE, tolerations=[CP_TOLERATION]))
    wait_for(lambda: node_of(cluster, namespace, "cp-tolerant") == CONTROL_PLANE, 30, message="tolerant pod")
    msg = wait_for(lambda: unschedulable_message(cluster, namespace, "cp-plain"), 30, message="taint rejection")
    assert "1 node(s) had untolerated taint(s)" in msg and "node(s) didn't satisfy plugin(s) [NodeAffinity]" in msg
    # a NoExecute taint added to a worker keeps new pods away until it is removed
    target = workers(cluster)[0]["metadata"]["name"]
    key = f"everynode.test/{namespace}"
    cluster.kubectl("taint", "node", target, f"{key}=x:NoExecute")
    try:
        create(cluster, namespace, pod_manifest("blocked", pin=target))
        msg = wait_for(lambda: unschedulable_message(cluster, namespace, "blocked"), 30, message="NoExecute")
        assert "1 node(s) had untolerated taint(s)" in msg
    finally:
        cluster.kubectl("taint", "node", target, f"{key}-")
    wait_for(lambda: node_of(cluster, namespace, "blocked") == target, 30, message="bound once the taint is gone")


def test_critical_pod_preempts_lower_priority_pod_on_a_full_node(cluster, namespace):
    node = workers(cluster)[-1]
    target = node["metadata"]["name"]
    free = free_milli_cpu(cluster, node)
    if free < 600:
        pytest.skip(f"{target} has only {free}m cpu free")
    low_class = f"low-{uuid.uuid4().hex[:8]}"
    critical = f"critical-{uuid.uuid4().hex[:8]}"
    scheduling = client.SchedulingV1Api(cluster.api_client())
    core = client.CoreV1Api(cluster.api_client())
    scheduling.create_priority_class({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                      "metadata": {"name": low_class}, "value": 10})
    try:
        # the victim leaves 100m free; the critical pod wants 500m on the same node
        create(cluster, namespace, pod_manifest("victim", cpu=f"{free - 100}m", pin=target,
                                                priority_class=low_class))
        wait_for(lambda: node_of(cluster, namespace, "victim") == target, 30, message="victim bound")
        cluster.kubectl("apply", "-f", "-", input=pod_manifest(
            critical, cpu="500m", pin=target, priority_class="system-node-critical", namespace="kube-system"))
        wait_for(lambda: node_of(cluster, "kube-system", critical) == target, 60, message="critical pod bound")
        with pytest.raises(ApiException) as gone:
            core.read_namespaced_pod("victim", namespace)
        assert gone.value.status == 404
        uid = get_pod(cluster, "kube-system", critical)["metadata"]["uid"]
        preempted = wait_for(lambda: [e for e in events_for(cluster, namespace, "victim")
                                      if e.reason == "Preempted"], 10, message="Preempted event")[0]
        assert preempted.message == f"Preempted by pod {uid} on node {target}"
        assert preempted.source.component == "default-scheduler"
        failed = [e for e in events_for(cluster, "kube-system", critical) if e.reason == "FailedScheduling"]
        assert failed and failed[0].message.startswith("0/") and "1 Insufficient cpu" in failed[0].message
        assert "node(s) didn't satisfy plugin(s) [NodeAffinity]" in failed[0].message
        # an ordinary pod cannot push the critical one out: it waits
        create(cluster, namespace, pod_manifest("ordinary", cpu=f"{free}m", pin=target))
        msg = wait_for(lambda: unschedulable_message(cluster, namespace, "ordinary"), 30, message="pending")
        assert "1 Insufficient cpu" in msg and "1 No preemption victims found for incoming pod" in msg
        assert node_of(cluster, "kube-system", critical) == target
    finally:
        cluster.kubectl("delete", "pod", critical, "-n", "kube-system", "--grace-period=0", "--force",
                        "--wait=false", check=False)
        scheduling.delete_priority_class(low_class)
