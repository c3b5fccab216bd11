"""Scheduler filters, node bookkeeping, scoring and the FitError message (pure)."""

from __future__ import annotations

import pytest

from everynode.controllers.scheduler import filters as f
from everynode.controllers.scheduler.filters import NodeInfo, Rejection


def node(name="n1", cpu="4", memory="8Gi", pods="110", labels=None, taints=None, unschedulable=False,
         extra=None) -> dict:
    alloc = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi", **(extra or {})}
    spec: dict = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec,
            "status": {"allocatable": alloc, "capacity": alloc}}


def container(name="c", requests=None, ports=None, restart=None) -> dict:
    c: dict = {"name": name, "image": "busybox"}
    if requests:
        c["resources"] = {"requests": requests}
    if ports:
        c["ports"] = ports
    if restart:
        c["restartPolicy"] = restart
    return c


def pod(name="p", containers=None, init=None, uid=None, **spec) -> dict:
    s = {"containers": containers if containers is not None else [container()], **spec}
    if init:
        s["initContainers"] = init
    return {"metadata": {"name": name, "namespace": "default", "uid": uid or f"uid-{name}"}, "spec": s,
            "status": {"phase": "Pending"}}


def pinfo(p: dict, priority: int = 0) -> f.PodInfo:
    return f.new_pod_info(p, priority)


def ninfo(n: dict, *pods: dict) -> NodeInfo:
    info = NodeInfo(n["metadata"]["name"], n)
    for p in pods:
        info.add_pod(pinfo(p))
    return info


# ------------------------------------------------------------------ requests

@pytest.mark.parametrize("spec, want", [
    ({"containers": [container(requests={"cpu": "100m", "memory": "1Gi"})]},
     {"cpu": 100, "memory": 1 << 30}),
    ({"containers": [container("a", {"cpu": "1"}), container("b", {"cpu": "250m", "nvidia.com/gpu": "1"})]},
     {"cpu": 1250, "nvidia.com/gpu": 1}),
    # init containers: the max rule
    ({"containers": [container(requests={"cpu": "1"})], "initContainers": [container("i", {"cpu": "2"})]},
     {"cpu": 2000}),
    ({"containers": [container(requests={"cpu": "3"})], "initContainers": [container("i", {"cpu": "2"})]},
     {"cpu": 3000}),
    # a sidecar (restartable init container) runs with the app and with later init containers
    ({"containers": [container(requests={"cpu": "1"})],
      "initContainers": [container("s", {"cpu": "500m"}, restart="Always"), container("i", {"cpu": "2"})]},
     {"cpu": 2500}),
    # pod overhead is added
    ({"containers": [container(requests={"memory": "100Mi"})], "overhead": {"memory": "10Mi", "cpu": "10m"}},
     {"memory": 110 << 20, "cpu": 10}),
    # pod-level requests replace the container sum for cpu/memory
    ({"containers": [container(requests={"cpu": "1", "ephemeral-storage": "1Gi"})],
      "resources": {"requests": {"cpu": "2"}}},
     {"cpu": 2000, "ephemeral-storage": 1 << 30}),
    # fractions round up; untracked names and zeros are dropped
    ({"containers": [container(requests={"cpu": "0.0001", "memory": "1500m", "foo": "3", "example.com/x": "0"})]},
     {"cpu": 1, "memory": 2}),
    ({"containers": [container()]}, {}),
])
def test_pod_requests(spec, want):
    assert f.pod_requests(spec) == want


def test_non_zero_requests_default_for_scoring():
    assert f.pod_non_zero_requests({"containers": [container()]}) == (100, 200 * 1024 * 1024)
    assert f.pod_non_zero_requests({"containers": [container(requests={"cpu": "2"})]}) == (2000, 200 << 20)


@pytest.mark.parametrize("name, scalar", [
    ("nvidia.com/gpu", True), ("hugepages-2Mi", True), ("kubernetes.io/batch", True),
    ("attachable-volumes-aws-ebs", True), ("requests.example.com/x", False), ("foo", False),
])
def test_is_scalar_resource(name, scalar):
    assert f.is_scalar_resource(name) is scalar


def test_host_ports_defaults_and_sidecars():
    spec = {"containers": [container(ports=[{"containerPort": 80, "hostPort": 8080},
                                            {"containerPort": 53, "hostPort": 53, "protocol": "UDP",
                                             "hostIP": "10.0.0.1"},
                                            {"containerPort": 9000}])],
            "initContainers": [container("s", ports=[{"containerPort": 1, "hostPort": 1}], restart="Always"),
                               container("i", ports=[{"containerPort": 2, "hostPort": 2}])]}
    assert f.pod_host_ports(spec) == (("0.0.0.0", "TCP", 1), ("0.0.0.0", "TCP", 8080), ("10.0.0.1", "UDP", 53))


# ------------------------------------------------------------------ node info

def test_node_info_aggregates_incrementally():
    info = NodeInfo("n1", node(cpu="2", memory="1Gi", pods="3"))
    assert info.allocatable == {"cpu": 2000, "memory": 1 << 30, "ephemeral-storage": 100 << 30}
    assert info.allowed_pods == 3
    a = pinfo(pod("a", [container(requests={"cpu": "500m"}, ports=[{"containerPort": 80, "hostPort": 80}])]))
    b = pinfo(pod("b", [container(requests={"cpu": "1", "memory": "100Mi"})]))
    info.add_pod(a)
    info.add_pod(b)
    info.add_pod(b)  # re-adding replaces
    assert info.requested["cpu"] == 1500 and info.requested["memory"] == 100 << 20
    assert len(info.pods) == 2 and info.port_conflict("0.0.0.0", "TCP", 80)
    clone = info.clone()
    info.remove_pod(a.uid)
    assert info.requested["cpu"] == 1000 and not info.port_conflict("0.0.0.0", "TCP", 80)
    assert clone.requested["cpu"] == 1500 and clone.port_conflict("0.0.0.0", "TCP", 80)
    assert info.remove_pod("missing") is None


# ------------------------------------------------------------------ filters

UNSCHED = f.REASON_UNSCHEDULABLE


@pytest.mark.parametrize("tolerations, unschedulable, want", [
    (None, False, None),
    (None, True, Rejection((UNSCHED,))),
    ([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}], True, None),
    ([{"operator": "Exists"}], True, None),
    ([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoExecute"}], True,
     Rejection((UNSCHED,))),
])
def test_node_unschedulable(tolerations, unschedulable, want):
    p = pod(tolerations=tolerations) if tolerations else pod()
    n = node(unschedulable=unschedulable)
    assert f.node_unschedulable(pinfo(p), n, ninfo(n)) == want


@pytest.mark.parametrize("wanted, want", [
    (None, None), ("n1", None), ("n2", Rejection((f.REASON_NODE_NAME,))),
])
def test_node_name(wanted, want):
    p = pod(nodeName=wanted) if wanted else pod()
    n = node("n1")
    assert f.node_name(pinfo(p), n, ninfo(n)) == want


TAINT_NS = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
TAINT_NE = {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}
TAINT_PREFER = {"key": "dedicated", "value": "gpu", "effect": "PreferNoSchedule"}
TAINTED = Rejection((f.REASON_TAINT,))


@pytest.mark.parametrize("taints, tolerations, want", [
    ([], None, None),
    ([TAINT_PREFER], None, None),
    ([TAINT_NS], None, TAINTED),
    ([TAINT_NE], None, TAINTED),
    ([TAINT_NS], [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}], None),
    ([TAINT_NS], [{"key": "dedicated", "operator": "Equal", "value": "cpu"}], TAINTED),
    ([TAINT_NS, TAINT_NE], [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}], TAINTED),
    ([TAINT_NS, TAINT_NE], [{"key": "dedicated", "operator": "Exists"}], None),
    ([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
     [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}], None),
])
def test_taint_toleration(taints, tolerations, want):
    p = pod(tolerations=tolerations) if tolerations else pod()
    n = node(taints=taints)
    assert f.taint_toleration(pinfo(p), n, ninfo(n)) == want


def affinity(*terms) -> dict:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


PIN_N1 = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
PIN_N2 = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}
NO_MATCH = Rejection((f.REASON_NODE_AFFINITY,))


@pytest.mark.parametrize("spec, want", [
    ({}, None),
    ({"nodeSelector": {"disk": "ssd"}}, None),
    ({"nodeSelector": {"disk": "hdd"}}, NO_MATCH),
    ({"nodeSelector": {"zone": "a"}}, NO_MATCH),
    ({"affinity": affinity(PIN_N1)}, None),
    ({"affinity": affinity(PIN_N2)}, NO_MATCH),
    ({"affinity": affinity(PIN_N2, PIN_N1)}, None),
    ({"affinity": affinity({"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]})}, None),
    ({"affinity": affinity({"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]})},
     NO_MATCH),
    ({"affinity": affinity({"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}]})}, None),
    ({"affinity": affinity()}, NO_MATCH),  # no terms selects nothing
    ({"affinity": affinity(PIN_N1), "nodeSelector": {"disk": "hdd"}}, NO_MATCH),
])
def test_node_affinity(spec, want):
    n = node("n1", labels={"disk": "ssd", "cores": "16"})
    assert f.node_affinity(pinfo(pod(**spec)), n, ninfo(n)) == want


def port(host_port, protocol=None, host_ip=None) -> dict:
    p = {"containerPort": host_port, "hostPort": host_port}
    if protocol:
        p["protocol"] = protocol
    if host_ip:
        p["hostIP"] = host_ip
    return p


PORTS = Rejection((f.REASON_PORTS,), resolvable=True)


@pytest.mark.parametrize("existing, wanted, want", [
    ([], [port(80)], None),
    ([port(80)], [port(80)], PORTS),
    ([port(80)], [port(81)], None),
    ([port(53, "UDP")], [port(53)], None),
    ([port(53, "UDP")], [port(53, "UDP")], PORTS),
    ([port(80, host_ip="10.0.0.1")], [port(80, host_ip="10.0.0.2")], None),
    ([port(80, host_ip="10.0.0.1")], [port(80, host_ip="10.0.0.1")], PORTS),
    ([port(80, host_ip="10.0.0.1")], [port(80)], PORTS),  # 0.0.0.0 wants every IP
    ([port(80)], [port(80, host_ip="10.0.0.1")], PORTS),  # 0.0.0.0 holds every IP
    ([{"containerPort": 80}], [port(80)], None),  # no hostPort: nothing used
])
def test_node_ports(existing, wanted, want):
    n = node()
    info = ninfo(n, pod("old", [container(ports=existing)]))
    assert f.node_ports(pinfo(pod("new", [container(ports=wanted)])), n, info) == want


@pytest.mark.parametrize("alloc, existing, requests, want", [
    ({}, [], {"cpu": "1"}, None),
    ({}, [], {"cpu": "5"}, ("Insufficient cpu",)),
    ({}, [{"cpu": "3"}], {"cpu": "1"}, None),  # exactly full fits
    ({}, [{"cpu": "3"}], {"cpu": "1001m"}, ("Insufficient cpu",)),
    ({}, [], {"cpu": "5", "memory": "9Gi", "ephemeral-storage": "1Ti"},
     ("Insufficient cpu", "Insufficient memory", "Insufficient ephemeral-storage")),
    ({"pods": "1"}, [{}], {}, ("Too many pods",)),
    ({"pods": "1"}, [{}], {"cpu": "5"}, ("Too many pods", "Insufficient cpu")),
    ({}, [], {"nvidia.com/gpu": "1"}, ("Insufficient nvidia.com/gpu",)),
    ({"extra": {"nvidia.com/gpu": "2"}}, [{"nvidia.com/gpu": "1"}], {"nvidia.com/gpu": "1"}, None),
    ({"extra": {"nvidia.com/gpu": "2"}}, [{"nvidia.com/gpu": "2"}], {"nvidia.com/gpu": "1"},
     ("Insufficient nvidia.com/gpu",)),
    ({}, [{"cpu": "4"}], {}, None),  # a pod requesting nothing fits a full node
    ({"cpu": "0"}, [], {"memory": "1Mi"}, None),
])
def test_node_resources_fit(alloc, existing, requests, want):
    n = node(cpu=alloc.get("cpu", "4"), pods=alloc.get("pods", "110"), extra=alloc.get("extra"))
    info = ninfo(n, *[pod(f"e{i}", [container(requests=r)]) for i, r in enumerate(existing)])
    got = f.node_resources_fit(pinfo(pod("new", [container(requests=requests)])), n, info)
    assert got == (None if want is None else Rejection(want, resolvable=True))


def test_run_filters_stops_at_first_rejection_in_upstream_order():
    n = node(unschedulable=True, taints=[TAINT_NS], labels={})
    p = pinfo(pod(nodeSelector={"a": "b"}, containers=[container(requests={"cpu": "100"})]))
    assert f.run_filters(p, ninfo(n)) == Rejection((UNSCHED,))
    n = node(taints=[TAINT_NS])
    assert f.run_filters(p, ninfo(n)) == TAINTED
    assert f.run_filters(p, ninfo(node())) == NO_MATCH
    assert f.run_filters(pinfo(pod()), ninfo(node())) is None


# ---------------------------------------------------------------- prefilter

@pytest.mark.parametrize("spec, want", [
    ({}, None),
    ({"affinity": affinity(PIN_N1)}, {"n1"}),
    ({"affinity": affinity(PIN_N1, PIN_N2)}, {"n1", "n2"}),
    ({"affinity": affinity(PIN_N1, {"matchExpressions": [{"key": "a", "operator": "Exists"}]})}, None),
    ({"affinity": affinity({"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["n1", "n2"]},
        {"key": "metadata.name", "operator": "In", "values": ["n2", "n3"]}]})}, {"n2"}),
    ({"affinity": affinity({"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["n1"]},
        {"key": "metadata.name", "operator": "In", "values": ["n2"]}]})}, set()),
    ({"affinity": affinity({"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]})},
     None),
    ({"affinity": affinity()}, None),
])
def test_pinned_nodes(spec, want):
    assert f.pinned_nodes(spec) == want


# ---------------------------------------------------------------- diagnosis

@pytest.mark.parametrize("num, statuses, absent, prefilter, post, want", [
    (3, {"a": Rejection(("Insufficient cpu",), True), "b": Rejection((f.REASON_NODE_AFFINITY,)),
         "c": Rejection((f.REASON_NODE_AFFINITY,))}, None, "", "",
     "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector."),
    (4, {"w1": Rejection(("Insufficient cpu",), True)}, Rejection((f.REASON_ABSENT_NODE_AFFINITY,)), "",
     "preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, "
     "3 Preemption is not helpful for scheduling.",
     "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity]. "
     "preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, "
     "3 Preemption is not helpful for scheduling."),
    # several reasons from one node each count; the histogram is sorted as strings
    (12, {**{f"n{i}": Rejection((f.REASON_TAINT,)) for i in range(10)},
          "x": Rejection(("Insufficient cpu", "Insufficient memory"), True),
          "y": Rejection(("Insufficient memory",), True)}, None, "", "",
     "0/12 nodes are available: 1 Insufficient cpu, 10 node(s) had untolerated taint(s), 2 Insufficient memory."),
    (2, {}, Rejection((f.REASON_AFFINITY_CONFLICT,)), f.REASON_AFFINITY_CONFLICT, "",
     "0/2 nodes are available: pod affinity terms conflict."),
    (2, {}, None, "", "preemption: not eligible due to preemptionPolicy=Never.",
     "0/2 nodes are available: preemption: not eligible due to preemptionPolicy=Never."),
])
def test_fit_error_message(num, statuses, absent, prefilter, post, want):
    diag = f.Diagnosis(num, dict(statuses), absent, prefilter)
    assert f.fit_error_message(diag, post) == want


@pytest.mark.parametrize("n, want", [(3, 3), (99, 99), (100, 100), (1000, 420), (5000, 500), (10000, 500), (20000, 1000)])
def test_num_feasible_nodes_to_find(n, want):
    assert f.num_feasible_nodes_to_find(n) == want


def cluster(*nodes_: dict) -> dict[str, NodeInfo]:
    return {n["metadata"]["name"]: NodeInfo(n["metadata"]["name"], n) for n in nodes_}


def test_find_feasible_pinned_pod_only_evaluates_its_node():
    infos = cluster(node("n1", cpu="1"), node("n2"), node("n3"))
    p = pinfo(pod(affinity=affinity(PIN_N1), containers=[container(requests={"cpu": "2"})]))
    feasible, diag, processed = f.find_feasible(p, infos, sorted(infos))
    assert feasible == [] and processed == 1
    assert set(diag.statuses) == {"n1"}
    assert f.fit_error_message(diag) == ("0/3 nodes are available: 1 Insufficient cpu, "
                                         "2 node(s) didn't satisfy plugin(s) [NodeAffinity].")
    p = pinfo(pod(affinity=affinity(PIN_N2)))
    feasible, _, _ = f.find_feasible(p, infos, sorted(infos))
    assert [i.name for i in feasible] == ["n2"]


def test_find_feasible_pinned_to_missing_node_and_conflicts():
    infos = cluster(node("n1"), node("n2"))
    p = pinfo(pod(affinity=affinity({"matchFields": [{"key": "metadata.name", "operator": "In",
                                                       "values": ["gone"]}]})))
    feasible, diag, _ = f.find_feasible(p, infos, sorted(infos))
    assert feasible == [] and f.fit_error_message(diag) == (
        "0/2 nodes are available: 2 node(s) didn't satisfy plugin(s) [NodeAffinity].")
    conflict = affinity({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]},
                                         {"key": "metadata.name", "operator": "In", "values": ["n2"]}]})
    feasible, diag, _ = f.find_feasible(pinfo(pod(affinity=conflict)), infos, sorted(infos))
    assert f.fit_error_message(diag) == "0/2 nodes are available: pod affinity terms conflict."


def test_find_feasible_counts_nominated_pods_of_equal_or_higher_priority():
    infos = cluster(node("n1", cpu="2"))
    big = pinfo(pod("nom", [container(requests={"cpu": "2"})]), priority=10)
    nominated = {"n1": [big]}

    def nominated_for(name, p):
        return [x for x in nominated.get(name, []) if x.priority >= p.priority and x.uid != p.uid]

    low = pinfo(pod("low", [container(requests={"cpu": "1"})]), priority=5)
    feasible, diag, _ = f.find_feasible(low, infos, ["n1"], nominated_for)
    assert feasible == [] and diag.statuses["n1"].reasons == ("Insufficient cpu",)
    high = pinfo(pod("high", [container(requests={"cpu": "1"})]), priority=20)
    assert f.find_feasible(high, infos, ["n1"], nominated_for)[0]
    assert f.find_feasible(big, infos, ["n1"], nominated_for)[0]  # its own nomination does not count


def test_find_feasible_tries_nominated_node_first_and_honours_limit():
    infos = cluster(node("a"), node("b"), node("c"))
    p = pod()
    p["status"]["nominatedNodeName"] = "c"
    feasible, _, processed = f.find_feasible(pinfo(p), infos, sorted(infos))
    assert [i.name for i in feasible] == ["c"] and processed == 1
    feasible, _, processed = f.find_feasible(pinfo(pod()), infos, sorted(infos), start=1, limit=2)
    assert [i.name for i in feasible] == ["b", "c"] and processed == 2


# ------------------------------------------------------------------ scoring

def test_select_host_prefers_least_allocated_then_name():
    infos = cluster(node("a", cpu="4"), node("b", cpu="4"), node("c", cpu="8"))
    p = pinfo(pod(containers=[container(requests={"cpu": "1", "memory": "1Gi"})]))
    assert f.select_host(p, list(infos.values())).name == "c"
    infos["c"].add_pod(pinfo(pod("busy", [container(requests={"cpu": "7"})])))
    assert f.select_host(p, list(infos.values())).name == "a"  # a and b tie: name order


def test_select_host_avoids_prefer_no_schedule_and_follows_preferred_affinity():
    infos = cluster(node("a", taints=[TAINT_PREFER]), node("b"))
    assert f.select_host(pinfo(pod()), list(infos.values())).name == "b"
    tolerating = pod(tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert f.select_host(pinfo(tolerating), list(infos.values())).name == "a"
    infos = cluster(node("a"), node("b", labels={"zone": "z1"}))
    pref = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}}]}}
    assert f.select_host(pinfo(pod(affinity=pref)), list(infos.values())).name == "b"


@pytest.mark.parametrize("spec", [
    {"containers": [container(requests={"cpu": "250m", "memory": "64Mi"}, ports=[{"containerPort": 80, "hostPort": 8080}])]},
    {"containers": [container()], "initContainers": [container("s", {"cpu": "1"}, restart="Always")],
     "overhead": {"cpu": "10m"}},
    {"containers": [container(requests={"cpu": "1"})], "resources": {"requests": {"cpu": "2"}}},
    {"containers": [container(requests={"cpu": 0.5, "memory": 1024})]},  # numbers, as JSON allows
    {"containers": "not a list"},
])
def test_pod_resources_memoised_equal_the_direct_computation(spec):
    direct = (f.pod_requests(spec), *f.pod_non_zero_requests(spec), f.pod_host_ports(spec))
    assert f._pod_resources(spec) == direct
    hits = f._memo_resources.cache_info().hits
    assert f._pod_resources(dict(spec)) == direct
    assert f._memo_resources.cache_info().hits == hits + 1  # again, from the memo
    info = f.new_pod_info({"metadata": {"name": "p", "uid": "u"}, "spec": spec})
    info.requests["cpu"] = -1  # a pod's own copy: the memo is not changed
    assert f._pod_resources(spec) == direct


def test_pod_resources_of_a_value_json_cannot_hold_are_computed_directly():
    spec = {"containers": [container(requests={"cpu": "1"})], "overhead": {"cpu": "1"}, "resources": {1, 2}}
    assert f._pod_resources(spec)[0]["cpu"] == f.pod_requests(spec)["cpu"]
