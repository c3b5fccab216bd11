"""The node lifecycle controller's periodic monitor: which nodes went silent."""

import pytest

from everynode.apiserver.objects import now_micro, now_rfc3339
from everynode.client.informer import InformerFactory
from everynode.controllers.nodelifecycle import NodeLifecycleController, desired_taints


def node(name, rv="1", created=0.0, ready="True", beat=None):
    conds = [{"type": "Ready", "status": ready, "lastHeartbeatTime": now_rfc3339(beat)}] if beat is not None else []
    return {"metadata": {"name": name, "resourceVersion": rv, "creationTimestamp": now_rfc3339(created)},
            "status": {"conditions": conds}}


def lease(name, renewed, rv="1"):
    return {"metadata": {"name": name, "namespace": "kube-node-lease", "resourceVersion": rv},
            "spec": {"renewTime": now_micro(renewed)}}


@pytest.fixture
def ctl():
    c = NodeLifecycleController(client=None, informers=InformerFactory(None), grace_period=40.0,
                                startup_grace=0.0)
    c.started = 0.0
    c.clock = lambda: 0.0  # first sight long before NOW, unless a test says otherwise
    return c


NOW = 1_800_000_000.0


@pytest.mark.parametrize("n, leases, silent", [
    (node("a", created=NOW - 10), {}, False),                                  # young node
    (node("a", created=NOW - 100, beat=NOW - 100), {}, True),                  # silent since
    (node("a", created=NOW - 100, beat=NOW - 100), {"a": lease("a", NOW - 5)}, False),  # lease renewed
    (node("a", created=NOW - 100, beat=NOW - 100), {"a": lease("a", NOW - 50)}, True),  # lease too old
    (node("a", created=NOW - 100), {}, True),                                  # never posted status
    (node("a", created=NOW - 30), {}, False),                                  # not yet
    (node("a", created=NOW - 100, beat=NOW - 5), {}, False),                   # Ready heartbeat
    (node("a", created=NOW - 100, ready="Unknown", beat=NOW - 90), {}, False),  # already Unknown
])
def test_went_silent(ctl, n, leases, silent):
    for name, obj in leases.items():
        ctl.leases.objects[f"kube-node-lease/{name}"] = obj
    assert ctl._went_silent(n, NOW) is silent


def test_heartbeat_times_follow_new_object_versions(ctl):
    n = node("a", created=NOW - 100, beat=NOW - 100)
    ctl.leases.objects["kube-node-lease/a"] = lease("a", NOW - 50, rv="7")
    assert ctl._went_silent(n, NOW)
    ctl.leases.objects["kube-node-lease/a"] = lease("a", NOW - 1, rv="8")  # renewed
    assert not ctl._went_silent(n, NOW)
    n2 = node("a", rv="2", created=NOW - 100, beat=NOW - 1)
    del ctl.leases.objects["kube-node-lease/a"]
    assert not ctl._went_silent(n2, NOW)
    ctl._forget(n2)
    assert all("a" not in kept for kept in (ctl._node_rv, ctl._node_time, ctl._lease_rv, ctl._lease_time))


def test_startup_grace_extends_the_grace_period(ctl):
    ctl.startup_grace = 120.0
    ctl.started = NOW - 30  # the controller just started: nodes get 90 s more
    assert not ctl._went_silent(node("a", created=NOW - 100, beat=NOW - 60), NOW)
    ctl.started = NOW - 200
    assert ctl._went_silent(node("a", created=NOW - 100, beat=NOW - 60), NOW)


def test_kept_heartbeats_find_the_same_silent_nodes_as_a_full_pass(ctl):
    """Nodes and leases come and go through the informers' handlers; after each change the
    monitor's kept heartbeats name exactly the nodes a pass over every node would."""
    import random

    rng = random.Random(5)
    rv = iter(range(1, 10**6))
    ctl.clock = lambda: NOW - rng.choice([20, 45])  # first sight within the grace period, or before it

    def put(inf, obj):
        old = inf._store(obj)
        inf._dispatch("update" if old is not None else "add", obj, old)

    def drop(inf, key):
        obj = inf.objects.get(key)
        if obj is not None:
            inf._remove(obj)
            inf._dispatch("delete", obj)

    for _ in range(400):
        name = f"n{rng.randrange(12)}"
        r = rng.random()
        if r < 0.35:
            put(ctl.nodes, node(name, rv=str(next(rv)), created=NOW - rng.choice([10, 100]),
                                ready=rng.choice(["True", "Unknown"]), beat=rng.choice([None, NOW - 90, NOW - 5])))
        elif r < 0.7:
            put(ctl.leases, lease(name, NOW - rng.choice([1, 30, 60]), rv=str(next(rv))))
        elif r < 0.85:
            drop(ctl.leases, f"kube-node-lease/{name}")
        else:
            drop(ctl.nodes, name)
        full = sorted(n for n, obj in ctl.nodes.objects.items() if ctl._went_silent(obj, NOW))
        assert sorted(ctl.silent_nodes(NOW)) == full


def test_only_node_leases_refresh_a_heartbeat(ctl):
    """The lease informer is shared with the garbage collector (all namespaces): a lease named
    like a node in another namespace is not that node's heartbeat."""
    n = node("a", created=NOW - 100, beat=NOW - 100)
    ctl.nodes.objects["a"] = n
    ctl._refresh_beat("a")  # as the node informer's handler does
    other = {"metadata": {"name": "a", "namespace": "default", "resourceVersion": "3"},
             "spec": {"renewTime": now_micro(NOW - 1)}}
    ctl.leases.objects["default/a"] = other
    ctl._lease_changed(other)
    assert ctl.silent_nodes(NOW) == ["a"]
    mine = lease("a", NOW - 1, rv="4")
    ctl.leases.objects["kube-node-lease/a"] = mine
    ctl._lease_changed(mine)
    assert ctl.silent_nodes(NOW) == []


@pytest.mark.parametrize("n, lease_renewed, first_seen, silent", [
    # A restart: heartbeats stored 5 minutes ago; the controller first sees the node now.
    (node("a", created=NOW - 900, beat=NOW - 300), NOW - 300, NOW - 30, False),
    (node("a", created=NOW - 900, beat=NOW - 300), NOW - 300, NOW - 41, True),   # grace since first sight
    (node("a", created=NOW - 900, beat=NOW - 300), None, NOW - 30, False),         # a Ready condition only
    (node("a", created=NOW - 900), NOW - 300, NOW - 30, False),                    # a lease only
    (node("a", created=NOW - 900), NOW - 300, NOW - 41, True),
    (node("a", created=NOW - 900, beat=NOW - 5), None, NOW - 300, False),         # a heartbeat since
    # Never posted status nor took a lease: its creation counts, not first sight (upstream).
    (node("a", created=NOW - 900), None, NOW - 30, True),
    (node("a", created=NOW - 900, ready="Unknown", beat=NOW - 900), NOW - 900, NOW - 300, False),  # marked
])
def test_heartbeats_count_from_the_controllers_first_sight(ctl, n, lease_renewed, first_seen, silent):
    ctl.clock = lambda: first_seen
    if lease_renewed is not None:
        ctl.leases.objects["kube-node-lease/a"] = lease("a", lease_renewed)
    assert ctl._went_silent(n, NOW) is silent
    ctl.nodes.objects["a"] = n
    ctl._refresh_beat("a")  # the kept heartbeat agrees
    assert ctl.silent_nodes(NOW) == (["a"] if silent else [])


def test_a_renewal_after_first_sight_keeps_counting_from_first_sight(ctl):
    ctl.clock = lambda: NOW - 30
    n = node("a", created=NOW - 900, beat=NOW - 300)
    ctl.nodes.objects["a"] = n
    ctl.leases.objects["kube-node-lease/a"] = lease("a", NOW - 300, rv="1")
    ctl._refresh_beat("a")
    renewed = lease("a", NOW - 299, rv="2")  # an older renewal arriving late: still first sight
    ctl.leases.objects["kube-node-lease/a"] = renewed
    ctl._lease_renewed(renewed)
    assert ctl.silent_nodes(NOW) == [] and ctl.silent_nodes(NOW + 11) == ["a"]


def test_a_node_that_never_posted_status_gets_the_startup_grace_from_its_creation(ctl):
    ctl.startup_grace = 60.0
    ctl.started = NOW - 1000  # the controller's own start is long past
    assert ctl.last_heartbeat(node("a", created=NOW - 50)) == NOW - 30  # credited 20 s
    assert not ctl._went_silent(node("b", created=NOW - 59), NOW)
    assert ctl._went_silent(node("c", created=NOW - 61), NOW)
    assert not ctl._went_silent(node("d", created=NOW - 61, beat=NOW - 30), NOW)  # posted: 40 s


R_TRUE, R_FALSE, R_UNKNOWN = ({"type": "Ready", "status": s} for s in ("True", "False", "Unknown"))


@pytest.mark.parametrize("conditions, unschedulable, taints", [
    ([R_TRUE], False, []),
    ([R_FALSE], False, [("node.kubernetes.io/not-ready", "NoSchedule"), ("node.kubernetes.io/not-ready", "NoExecute")]),
    ([R_UNKNOWN], False, [("node.kubernetes.io/unreachable", "NoSchedule"),
                          ("node.kubernetes.io/unreachable", "NoExecute")]),
    ([], False, []),  # never posted: no taint until this controller marks it Unknown
    ([], True, [("node.kubernetes.io/unschedulable", "NoSchedule")]),
    ([R_TRUE, {"type": "DiskPressure", "status": "True"}, {"type": "MemoryPressure", "status": "False"}], False,
     [("node.kubernetes.io/disk-pressure", "NoSchedule")]),
])
def test_desired_taints(conditions, unschedulable, taints):
    n = {"metadata": {"name": "a"}, "spec": {"unschedulable": unschedulable}, "status": {"conditions": conditions}}
    assert [(t["key"], t["effect"]) for t in desired_taints(n)] == taints


@pytest.mark.parametrize("with_spec", [True, False])
def test_the_taint_patch_applies_with_or_without_a_spec(with_spec):
    import asyncio

    from everynode.api.patch import apply_json_patch

    sent = []

    class Client:
        async def patch(self, plural, name, patch, namespace=None, patch_type="strategic", subresource=None):
            sent.append((patch_type, patch))

    c = NodeLifecycleController(client=Client(), informers=InformerFactory(None))
    n = {"metadata": {"name": "a", "resourceVersion": "5"}, "status": {"conditions": [R_UNKNOWN]}}
    if with_spec:
        n["spec"] = {}  # a node stored before its spec was defaulted has none
    asyncio.run(c._sync_taints(n))
    [(kind, patch)] = sent
    assert kind == "json"
    patched = apply_json_patch(n, patch)
    assert [(t["key"], t["effect"]) for t in patched["spec"]["taints"]] == [
        ("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute")]


@pytest.mark.parametrize("conditions", [[], [{"type": "DiskPressure", "status": "False"}]])
def test_marking_a_node_without_a_ready_condition_adds_one(ctl, conditions):
    import asyncio

    sent = []

    class Client:
        async def patch(self, plural, name, patch, namespace=None, patch_type="strategic", subresource=None):
            sent.append(patch)

    ctl.client = Client()
    ctl.clock = lambda: NOW
    n = {"metadata": {"name": "a", "resourceVersion": "1", "creationTimestamp": now_rfc3339(NOW - 100)},
         "spec": {}, "status": {"conditions": conditions}}
    asyncio.run(ctl._check_health(n))
    [patch] = sent
    ready = [c for c in patch["status"]["conditions"] if c["type"] == "Ready"]
    assert [(c["status"], c["reason"]) for c in ready] == [("Unknown", "NodeStatusNeverUpdated")]
    assert len(patch["status"]["conditions"]) == len(conditions) + 1
