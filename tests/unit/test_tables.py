from __future__ import annotations

from datetime import UTC, datetime

import pytest

from everynode.api import tables
from everynode.api.kind import Kind
from everynode.api.kinds import BY_GROUP_VERSION_PLURAL, KINDS

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def ago(seconds: float) -> str:
    return datetime.fromtimestamp(NOW - seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kind(plural: str) -> Kind:
    return next(k for k in KINDS if k.plural == plural)


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"),
    (-2, "<invalid>"),
    (-1.5, "0s"),
    (-0.5, "0s"),
    (0, "0s"),
    (5, "5s"),
    (119, "119s"),
    (120, "2m"),
    (182, "3m2s"),
    (9 * 60 + 59, "9m59s"),
    (10 * 60 + 30, "10m"),
    (179 * 60 + 59, "179m"),
    (3 * 3600, "3h"),
    (3 * 3600 + 5 * 60, "3h5m"),
    (8 * 3600 + 59 * 60, "8h"),
    (47 * 3600, "47h"),
    (48 * 3600, "2d"),
    (2 * 86400 + 3 * 3600, "2d3h"),
    (7 * 86400 + 23 * 3600, "7d23h"),
    (8 * 86400, "8d"),
    (729 * 86400, "729d"),
    (730 * 86400, "2y"),
    (731 * 86400, "2y1d"),
    (8 * 365 * 86400, "8y"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert tables.human_duration(seconds) == text


@pytest.mark.parametrize(("value", "text"), [
    (None, "<unknown>"),
    ("", "<unknown>"),
    ("garbage", "<unknown>"),
    (ago(30), "30s"),
    (datetime.fromtimestamp(NOW - 90, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "90s"),
    (ago(-10), "<invalid>"),
])
def test_since(value: str | None, text: str) -> None:
    assert tables.since(value, NOW) == text


@pytest.mark.parametrize(("selector", "text"), [
    (None, "<none>"),
    ({}, "<none>"),
    ({"matchLabels": {"name": "fluentd", "app": "x"}}, "app=x,name=fluentd"),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]}, "tier in (a,b)"),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}, "tier notin (a)"),
    ({"matchExpressions": [{"key": "gpu", "operator": "Exists"},
                           {"key": "arm", "operator": "DoesNotExist"}]}, "!arm,gpu"),
    ({"matchLabels": {"z": "1"}, "matchExpressions": [{"key": "a", "operator": "Exists"}]}, "a,z=1"),
    ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, "<error>"),
])
def test_format_label_selector(selector: dict | None, text: str) -> None:
    assert tables.format_label_selector(selector) == text


@pytest.mark.parametrize(("labels", "text"), [
    (None, "<none>"),
    ({}, "<none>"),
    ({"b": "2", "a": "1"}, "a=1,b=2"),
])
def test_format_labels(labels: dict | None, text: str) -> None:
    assert tables.format_labels(labels) == text


def running(name: str, ready: bool = True, restarts: int = 0, finished: str | None = None) -> dict:
    status = {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {}}}
    if finished:
        status["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}
    return status


def waiting(name: str, reason: str, restarts: int = 0) -> dict:
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}


def terminated(name: str, exit_code: int = 0, reason: str = "", signal: int = 0) -> dict:
    term: dict = {"exitCode": exit_code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


def pod(containers: int = 1, init: list[dict] | None = None, phase: str = "Running",
        statuses: list[dict] | None = None, init_statuses: list[dict] | None = None,
        conditions: list[dict] | None = None, reason: str = "", deleting: bool = False) -> dict:
    meta: dict = {"name": "p", "creationTimestamp": ago(300)}
    if deleting:
        meta["deletionTimestamp"] = ago(-30)
    status: dict = {"phase": phase}
    for key, value in (("containerStatuses", statuses), ("initContainerStatuses", init_statuses),
                       ("conditions", conditions)):
        if value is not None:
            status[key] = value
    if reason:
        status["reason"] = reason
    return {"metadata": meta,
            "spec": {"containers": [{"name": f"c{i}"} for i in range(containers)],
                     "initContainers": init or []},
            "status": status}


READY = [{"type": "Ready", "status": "True"}]
INITIALIZED = [{"type": "Initialized", "status": "True"}]


@pytest.mark.parametrize(("obj", "ready", "status", "restarts"), [
    (pod(phase="Pending"), "0/1", "Pending", "0"),
    (pod(statuses=[running("c0")]), "1/1", "Running", "0"),
    (pod(containers=2, statuses=[running("c0"), running("c1", ready=False)]), "1/2", "Running", "0"),
    (pod(statuses=[waiting("c0", "ContainerCreating")], phase="Pending"), "0/1", "ContainerCreating", "0"),
    (pod(statuses=[waiting("c0", "CrashLoopBackOff", restarts=4)]), "0/1", "CrashLoopBackOff", "4"),
    (pod(statuses=[running("c0", restarts=3, finished=ago(300))]), "1/1", "Running", "3 (5m ago)"),
    (pod(statuses=[terminated("c0", 0, "Completed")], phase="Succeeded"), "0/1", "Completed", "0"),
    (pod(statuses=[terminated("c0", 2, "Error")], phase="Failed"), "0/1", "Error", "0"),
    (pod(statuses=[terminated("c0", 137)], phase="Failed"), "0/1", "ExitCode:137", "0"),
    (pod(statuses=[terminated("c0", 0, signal=9)], phase="Failed"), "0/1", "Signal:9", "0"),
    # one container completed, another still running: back to Running / NotReady
    (pod(containers=2, statuses=[terminated("c0", 0, "Completed"), running("c1")], conditions=READY),
     "1/2", "Running", "0"),
    (pod(containers=2, statuses=[terminated("c0", 0, "Completed"), running("c1")]), "1/2", "NotReady", "0"),
    # init containers
    (pod(init=[{"name": "i0"}], phase="Pending", init_statuses=[waiting("i0", "PodInitializing")]),
     "0/1", "Init:0/1", "0"),
    (pod(init=[{"name": "i0"}, {"name": "i1"}], phase="Pending",
         init_statuses=[terminated("i0", 0, "Completed"), running("i1", ready=False)]),
     "0/1", "Init:1/2", "0"),
    (pod(init=[{"name": "i0"}], phase="Pending", init_statuses=[waiting("i0", "CrashLoopBackOff", 2)]),
     "0/1", "Init:CrashLoopBackOff", "2"),
    (pod(init=[{"name": "i0"}], phase="Pending", init_statuses=[terminated("i0", 1, "Error")]),
     "0/1", "Init:Error", "0"),
    (pod(init=[{"name": "i0"}], phase="Pending", init_statuses=[terminated("i0", 3)]),
     "0/1", "Init:ExitCode:3", "0"),
    (pod(init=[{"name": "i0"}], phase="Pending", init_statuses=[terminated("i0", 3, signal=15)]),
     "0/1", "Init:Signal:15", "0"),
    # sidecar (restartable init container) counts as a container
    (pod(init=[{"name": "s", "restartPolicy": "Always"}], conditions=INITIALIZED,
         init_statuses=[dict(running("s"), started=True)], statuses=[running("c0")]),
     "2/2", "Running", "0"),
    # deletion
    (pod(statuses=[running("c0")], deleting=True), "1/1", "Terminating", "0"),
    (pod(statuses=[terminated("c0", 0, "Completed")], phase="Succeeded", deleting=True), "0/1", "Completed", "0"),
    (pod(statuses=[running("c0")], reason="NodeLost", deleting=True), "1/1", "Unknown", "0"),
    (pod(phase="Failed", reason="Evicted"), "0/1", "Evicted", "0"),
    (pod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
     "0/1", "SchedulingGated", "0"),
])
def test_pod_row(obj: dict, ready: str, status: str, restarts: str) -> None:
    row = tables.pod_row(obj, NOW)
    assert row[:5] == ["p", ready, status, restarts, "5m"]


def test_pod_row_wide() -> None:
    obj = pod(statuses=[running("c0")])
    obj["spec"]["nodeName"] = "worker"
    obj["spec"]["readinessGates"] = [{"conditionType": "a"}, {"conditionType": "b"}]
    obj["status"]["podIPs"] = [{"ip": "10.0.0.5"}]
    obj["status"]["conditions"] = [{"type": "a", "status": "True"}, {"type": "b", "status": "False"}]
    assert tables.pod_row(obj, NOW)[5:] == ["10.0.0.5", "worker", "<none>", "1/2"]
    assert tables.pod_row(pod(), NOW)[5:] == ["<none>", "<none>", "<none>", "<none>"]


def node(conditions: list[dict] | None = None, unschedulable: bool = False, labels: dict | None = None) -> dict:
    return {"metadata": {"name": "n1", "creationTimestamp": ago(3 * 86400), "labels": labels or {}},
            "spec": {"unschedulable": unschedulable},
            "status": {"conditions": conditions or [],
                       "addresses": [{"type": "Hostname", "address": "n1"},
                                     {"type": "InternalIP", "address": "127.0.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.37.1-everynode", "osImage": "Debian"}}}


@pytest.mark.parametrize(("obj", "status", "roles"), [
    (node([{"type": "Ready", "status": "True"}]), "Ready", "<none>"),
    (node([{"type": "Ready", "status": "False"}]), "NotReady", "<none>"),
    (node([{"type": "Ready", "status": "Unknown"}]), "NotReady", "<none>"),
    (node([]), "Unknown", "<none>"),
    (node([{"type": "Ready", "status": "True"}], unschedulable=True), "Ready,SchedulingDisabled", "<none>"),
    (node([], unschedulable=True), "Unknown,SchedulingDisabled", "<none>"),
    (node([{"type": "Ready", "status": "True"}],
          labels={"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "",
                  "kubernetes.io/role": "infra", "other": "x"}), "Ready", "control-plane,infra"),
])
def test_node_row(obj: dict, status: str, roles: str) -> None:
    row = tables.node_row(obj, NOW)
    assert row[:5] == ["n1", status, roles, "3d", "v1.37.1-everynode"]
    assert row[5:] == ["127.0.0.2", "<none>", "Debian", "<unknown>", "<unknown>"]


@pytest.mark.parametrize(("event", "cells"), [
    ({"metadata": {"name": "e1"}, "type": "Normal", "reason": "Scheduled", "message": " hello \n",
      "involvedObject": {"kind": "Pod", "name": "p1", "fieldPath": "spec.containers{c}"},
      "source": {"component": "kubelet", "host": "n1"},
      "firstTimestamp": ago(600), "lastTimestamp": ago(60), "count": 3},
     ["60s", "Normal", "Scheduled", "pod/p1", "spec.containers{c}", "kubelet, n1", "hello", "10m", 3, "e1"]),
    # events.k8s.io style: no count, no first/last timestamps, reporting fields instead of source
    ({"metadata": {"name": "e2"}, "type": "Warning", "reason": "Failed", "message": "m",
      "involvedObject": {"kind": "DaemonSet"}, "eventTime": ago(30),
      "reportingComponent": "daemonset-controller"},
     ["30s", "Warning", "Failed", "daemonset", "", "daemonset-controller", "m", "30s", 1, "e2"]),
    ({"metadata": {"name": "e3"}, "involvedObject": {"kind": "Node", "name": "n"}, "eventTime": ago(900),
      "series": {"count": 7, "lastObservedTime": ago(5)}},
     ["5s", "", "", "node/n", "", "", "", "15m", 7, "e3"]),
])
def test_event_row(event: dict, cells: list) -> None:
    assert tables.event_row(event, NOW) == cells


def test_daemonset_row() -> None:
    ds = {"metadata": {"name": "fluentd", "creationTimestamp": ago(125)},
          "spec": {"selector": {"matchLabels": {"name": "fluentd"}},
                   "template": {"spec": {"nodeSelector": {"disk": "ssd"},
                                         "containers": [{"name": "a", "image": "busybox:1.35"},
                                                        {"name": "b", "image": "nginx"}]}}},
          "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                     "updatedNumberScheduled": 1, "numberAvailable": 2}}
    assert tables.daemonset_row(ds, NOW) == [
        "fluentd", 3, 3, 2, 1, 2, "disk=ssd", "2m5s", "a,b", "busybox:1.35,nginx", "name=fluentd"]
    empty = {"metadata": {"name": "x"}, "spec": {}}
    assert tables.daemonset_row(empty, NOW) == ["x", 0, 0, 0, 0, 0, "<none>", "<unknown>", "", "", "<none>"]


@pytest.mark.parametrize(("owners", "text"), [
    (None, "<none>"),
    ([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd", "controller": False}], "<none>"),
    ([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd", "controller": True}],
     "daemonset.apps/fluentd"),
    ([{"apiVersion": "v1", "kind": "Node", "name": "n1", "controller": True}], "node/n1"),
])
def test_controllerrevision_row(owners: list | None, text: str) -> None:
    cr = {"metadata": {"name": "fluentd-5d4f", "creationTimestamp": ago(10), "ownerReferences": owners},
          "revision": 2, "data": {}}
    assert tables.controllerrevision_row(cr, NOW) == ["fluentd-5d4f", text, 2, "10s"]


def test_small_rows() -> None:
    ns = {"metadata": {"name": "default", "creationTimestamp": ago(60)}, "status": {"phase": "Active"}}
    assert tables.namespace_row(ns, NOW) == ["default", "Active", "60s"]
    lease = {"metadata": {"name": "n1", "creationTimestamp": ago(60)}, "spec": {"holderIdentity": "n1"}}
    assert tables.lease_row(lease, NOW) == ["n1", "n1", "60s"]
    assert tables.lease_row({"metadata": {"name": "l"}}, NOW) == ["l", "", "<unknown>"]
    pc = {"metadata": {"name": "high", "creationTimestamp": ago(60)}, "value": 1000,
          "preemptionPolicy": "PreemptLowerPriority"}
    assert tables.priorityclass_row(pc, NOW) == ["high", 1000, False, "60s", "PreemptLowerPriority"]


def test_every_kind_has_a_table_matching_its_columns() -> None:
    for k in KINDS:
        columns, row_fn = tables.TABLES[k.plural]
        assert k.columns is columns and k.row is row_fn, k.plural
        assert columns[0].name in ("Name", "Last Seen")
        names = [c.name for c in columns]
        assert len(names) == len(set(names))
        assert all(c.type in ("string", "integer", "boolean", "number", "date") for c in columns)


@pytest.mark.parametrize(("plural", "obj"), [
    ("namespaces", {"metadata": {"name": "x"}}),
    ("nodes", {"metadata": {"name": "x"}}),
    ("pods", {"metadata": {"name": "x"}}),
    ("events", {"metadata": {"name": "x"}}),
    ("daemonsets", {"metadata": {"name": "x"}}),
    ("controllerrevisions", {"metadata": {"name": "x"}}),
    ("leases", {"metadata": {"name": "x"}}),
    ("priorityclasses", {"metadata": {"name": "x"}}),
])
def test_rows_have_one_cell_per_column_even_for_bare_objects(plural: str, obj: dict) -> None:
    columns, row_fn = tables.TABLES[plural]
    assert len(row_fn(obj, NOW)) == len(columns)


DS = {"apiVersion": "apps/v1", "kind": "DaemonSet",
      "metadata": {"name": "fluentd", "namespace": "default", "resourceVersion": "7",
                   "creationTimestamp": ago(60)},
      "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": []}}}}


@pytest.mark.parametrize(("include", "expected"), [
    ("Metadata", {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": DS["metadata"]}),
    ("", {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": DS["metadata"]}),
    ("Object", DS),
    ("None", None),
])
def test_build_table_include_object(include: str, expected: dict | None) -> None:
    table = tables.build_table(BY_GROUP_VERSION_PLURAL[("apps", "v1", "daemonsets")], [DS], NOW, include,
                               {"resourceVersion": "9"})
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "9"}
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age",
        "Containers", "Images", "Selector"]
    assert [c["priority"] for c in table["columnDefinitions"]] == [0] * 8 + [1] * 3
    assert table["columnDefinitions"][0]["format"] == "name"
    assert table["rows"][0]["object"] == expected
    assert table["rows"][0]["cells"][0] == "fluentd"


def test_build_table_without_headers_and_empty() -> None:
    table = tables.build_table(kind("pods"), [], NOW, with_headers=False)
    assert table["columnDefinitions"] is None
    assert table["rows"] == []
    assert table["metadata"] == {}


def test_build_table_pod_row_conditions() -> None:
    done = pod(statuses=[terminated("c0", 0, "Completed")], phase="Succeeded")
    table = tables.build_table(kind("pods"), [done, pod()], NOW)
    assert table["rows"][0]["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                               "message": "The pod has completed successfully."}]
    assert "conditions" not in table["rows"][1]


def test_build_table_default_for_kind_without_table() -> None:
    other = Kind(group="example.com", version="v1", kind="Widget", plural="widgets", singular="widget",
                 namespaced=True, type_name="V1Namespace")
    obj = {"metadata": {"name": "w", "creationTimestamp": "2024-05-01T11:00:00Z"}}
    table = tables.build_table(other, [obj, {"metadata": {"name": "v"}}], NOW)
    assert [(c["name"], c["type"], c["format"]) for c in table["columnDefinitions"]] == [
        ("Name", "string", "name"), ("Created At", "date", "")]
    assert [r["cells"] for r in table["rows"]] == [["w", "2024-05-01T11:00:00Z"], ["v", "0001-01-01T00:00:00Z"]]
