"""Priority, victim selection and the preemption PostFilter (pure), then whole scheduling cycles
driven through the Scheduler with fake informers and a recording client (no server)."""

from __future__ import annotations

import asyncio

import pytest

from everynode.controllers.scheduler import filters as f
from everynode.controllers.scheduler import preemption as pre
from everynode.controllers.scheduler.filters import NodeInfo
from everynode.controllers.scheduler.scheduler import Scheduler, SchedulingQueue, pod_scheduled_condition

CLASSES = {
    "system-node-critical": {"metadata": {"name": "system-node-critical"}, "value": 2000001000,
                             "preemptionPolicy": "PreemptLowerPriority"},
    "low": {"metadata": {"name": "low"}, "value": 10, "preemptionPolicy": "PreemptLowerPriority"},
    "polite": {"metadata": {"name": "polite"}, "value": 1000, "preemptionPolicy": "Never"},
}


def node(name="n1", cpu="4", pods="110", taints=None) -> dict:
    alloc = {"cpu": cpu, "memory": "8Gi", "pods": pods}
    return {"metadata": {"name": name}, "spec": {"taints": taints or []}, "status": {"allocatable": alloc}}


def pod(name, cpu=None, node_name=None, host_port=None, pinned=None, uid=None, **spec) -> dict:
    c: dict = {"name": "c", "image": "busybox"}
    if cpu:
        c["resources"] = {"requests": {"cpu": cpu}}
    if host_port:
        c["ports"] = [{"containerPort": host_port, "hostPort": host_port}]
    s = {"containers": [c], "schedulerName": "default-scheduler", **spec}
    if node_name:
        s["nodeName"] = node_name
    if pinned:
        s["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [pinned]}]}]}}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": uid or f"uid-{name}", "generation": 1},
            "spec": s, "status": {"phase": "Running" if node_name else "Pending"}}


def pi(p: dict, priority: int = 0, start: float = 0.0) -> f.PodInfo:
    return f.new_pod_info(p, priority, start)


def info_with(n: dict, *pods_: f.PodInfo) -> NodeInfo:
    info = NodeInfo(n["metadata"]["name"], n)
    for p in pods_:
        info.add_pod(p)
    return info


# ------------------------------------------------------------------ priority

@pytest.mark.parametrize("spec, classes, want", [
    ({}, {}, (0, "PreemptLowerPriority")),
    ({"priorityClassName": "system-node-critical"}, CLASSES, (2000001000, "PreemptLowerPriority")),
    ({"priorityClassName": "polite"}, CLASSES, (1000, "Never")),
    ({"priorityClassName": "low", "priority": 7}, CLASSES, (7, "PreemptLowerPriority")),
    ({"priorityClassName": "low", "preemptionPolicy": "Never"}, CLASSES, (10, "Never")),
    ({"priorityClassName": "missing"}, CLASSES, (0, "PreemptLowerPriority")),
    ({}, {**CLASSES, "d1": {"value": 50, "globalDefault": True}, "d2": {"value": 40, "globalDefault": True,
                                                                      "preemptionPolicy": "Never"}},
     (40, "Never")),
])
def test_resolve_priority(spec, classes, want):
    assert pre.resolve_priority({"spec": spec}, classes) == want


# ------------------------------------------------------------------- victims

def names(pods_) -> list[str]:
    return [p.pod["metadata"]["name"] for p in pods_]


@pytest.mark.parametrize("existing, preemptor, want_victims, want_reason", [
    # full node: the single lower-priority pod must go
    ([("a", "3", 0, 1.0)], ("p", "2", 100), ["a"], None),
    # minimal set: evicting the biggest low pod is enough, the small one is reprieved
    ([("small", "1", 0, 1.0), ("big", "3", 0, 2.0)], ("p", "2", 100), ["big"], None),
    # lowest priority goes first; a higher-priority pod is reprieved if possible
    ([("p5", "2", 5, 1.0), ("p1", "2", 1, 1.0)], ("p", "2", 100), ["p1"], None),
    # equal priority: the later-started pod is less important
    ([("old", "2", 1, 1.0), ("new", "2", 1, 9.0)], ("p", "2", 100), ["new"], None),
    # both must go; victims listed most important first
    ([("a", "2", 1, 1.0), ("b", "2", 2, 1.0)], ("p", "4", 100), ["b", "a"], None),
    # equal or higher priority pods are never victims
    ([("same", "4", 100, 1.0)], ("p", "1", 100), [], pre.REASON_NO_VICTIMS),
    # even with every lower pod gone it does not fit: the filter's reason
    ([("hi", "3", 500, 1.0), ("lo", "1", 0, 1.0)], ("p", "2", 100), [], "Insufficient cpu"),
])
def test_select_victims(existing, preemptor, want_victims, want_reason):
    info = info_with(node(cpu="4"), *[pi(pod(n, cpu, node_name="n1"), prio, start)
                                      for n, cpu, prio, start in existing])
    name, cpu, prio = preemptor
    victims, why = pre.select_victims(pi(pod(name, cpu), prio), info)
    assert names(victims) == want_victims
    assert (why.reasons[0] if why else None) == want_reason
    assert len(info.pods) == len(existing)  # the real node info is untouched


def test_select_victims_frees_host_ports():
    info = info_with(node(cpu="4"), pi(pod("web", host_port=80, node_name="n1"), 0),
                     pi(pod("other", host_port=81, node_name="n1"), 0))
    victims, why = pre.select_victims(pi(pod("p", host_port=80), 10), info)
    assert names(victims) == ["web"] and why is None


def test_select_victims_respects_nominated_pods():
    info = info_with(node(cpu="4"), pi(pod("a", "2", node_name="n1"), 0))
    nominated = [pi(pod("nom", "2"), 200)]
    victims, why = pre.select_victims(pi(pod("p", "3"), 100), info, lambda n, p: nominated)
    assert victims == [] and why.reasons == ("Insufficient cpu",)


@pytest.mark.parametrize("candidates, want", [
    ({"a": [("x", 5, 1.0)], "b": [("y", 3, 1.0)]}, "b"),  # lowest highest-victim priority
    ({"a": [("x", 5, 1.0), ("x2", 1, 1.0)], "b": [("y", 5, 1.0), ("y2", 2, 1.0)]}, "a"),  # lowest sum
    ({"a": [("x", 0, 1.0), ("x2", 0, 1.0)], "b": [("y", 0, 1.0)]}, "b"),  # fewest victims
    ({"a": [("x", 5, 1.0)], "b": [("y", 5, 7.0)]}, "b"),  # latest start of the most important victims
    ({"b": [("x", 5, 1.0)], "a": [("y", 5, 1.0)]}, "a"),  # then name order
])
def test_pick_node(candidates, want):
    built = {n: [pi(pod(v), prio, start) for v, prio, start in vs] for n, vs in candidates.items()}
    assert pre.pick_node(built) == want


def diag_for(p: f.PodInfo, infos: dict[str, NodeInfo]) -> f.Diagnosis:
    feasible, diag, _ = f.find_feasible(p, infos, sorted(infos))
    assert not feasible
    return diag


def test_preempt_picks_node_and_victims():
    infos = {"n1": info_with(node("n1", cpu="2"), pi(pod("a", "2", node_name="n1"), 0)),
             "n2": info_with(node("n2", cpu="2"), pi(pod("b", "2", node_name="n2"), 500)),
             "cp": info_with(node("cp", taints=[{"key": "x", "effect": "NoSchedule"}]))}
    p = pi(pod("p", "2"), 100)
    diag = diag_for(p, infos)
    assert f.fit_error_message(diag) == ("0/3 nodes are available: 1 node(s) had untolerated taint(s), "
                                         "2 Insufficient cpu.")
    result = pre.preempt(p, "PreemptLowerPriority", infos, diag)
    assert result.node == "n1" and names(result.victims) == ["a"] and result.message == ""


@pytest.mark.parametrize("policy, pinned, want", [
    ("PreemptLowerPriority", None,
     "preemption: 0/3 nodes are available: 1 Insufficient cpu, 1 No preemption victims found for incoming pod, "
     "1 Preemption is not helpful for scheduling."),
    ("Never", None, "preemption: not eligible due to preemptionPolicy=Never."),
    ("PreemptLowerPriority", "n2",
     "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, "
     "2 Preemption is not helpful for scheduling."),
])
def test_preempt_failure_messages(policy, pinned, want):
    infos = {"n1": info_with(node("n1", cpu="2"), pi(pod("hi", "1", node_name="n1"), 1000),
                             pi(pod("lo", "1", node_name="n1"), 0)),
             "n2": info_with(node("n2", cpu="2"), pi(pod("same", "2", node_name="n2"), 100)),
             "cp": info_with(node("cp", taints=[{"key": "x", "effect": "NoSchedule"}]))}
    p = pi(pod("p", "2", pinned=pinned), 100)
    result = pre.preempt(p, policy, infos, diag_for(p, infos))
    assert result.node is None and result.message == want
    assert result.clear_nomination is (policy != "Never")


def test_preempt_waits_for_terminating_victims_on_nominated_node():
    victim = pod("v", "2", node_name="n1")
    victim["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    victim["status"]["conditions"] = [{"type": "DisruptionTarget", "status": "True",
                                       "reason": "PreemptionByScheduler"}]
    infos = {"n1": info_with(node("n1", cpu="2"), pi(victim, 0))}
    p = pod("p", "2")
    p["status"]["nominatedNodeName"] = "n1"
    pinfo = pi(p, 100)
    result = pre.preempt(pinfo, "PreemptLowerPriority", infos, diag_for(pinfo, infos))
    assert result.message == "preemption: " + pre.MSG_TERMINATING_VICTIM and result.node is None
    assert not result.clear_nomination
    # a deleting pod that was not preempted does not hold preemption back
    victim["status"]["conditions"] = []
    result = pre.preempt(pinfo, "PreemptLowerPriority", infos, diag_for(pinfo, infos))
    assert result.node == "n1"


def test_pod_scheduled_condition_only_when_changed():
    p = pod("p")
    c = pod_scheduled_condition(p, "Unschedulable", "msg", "T1")
    assert c == {"type": "PodScheduled", "status": "False", "lastProbeTime": None, "reason": "Unschedulable",
                 "message": "msg", "lastTransitionTime": "T1", "observedGeneration": 1}
    p["status"]["conditions"] = [c]
    assert pod_scheduled_condition(p, "Unschedulable", "msg", "T2") is None
    assert pod_scheduled_condition(p, "Unschedulable", "other", "T2")["lastTransitionTime"] == "T1"


# ------------------------------------------------------------------- queue

def run(coro):
    return asyncio.run(coro)


def test_queue_orders_by_priority_then_arrival_and_backs_off():
    async def body():
        q = SchedulingQueue(initial_backoff=0.05, max_backoff=0.1)
        q.add("low", 1)
        q.add("high", 100)
        q.add("low2", 1)
        assert [await q.pop() for _ in range(3)] == ["high", "low", "low2"]
        q.failed("high", q.move_cycle, frozenset({"n1"}))
        q.failed("low", q.move_cycle)
        assert q.parked() == {"high", "low"}
        q.move("n2")  # only the unpinned pod could use n2
        assert q.parked() == {"high"} and q.backing_off() == {"low"}
        assert await asyncio.wait_for(q.pop(), 1) == "low"
        cycle = q.move_cycle
        q.move("n1")  # a move while "low" is in flight sends it to backoff, not the pool
        assert "high" not in q.parked()
        q.failed("low", cycle)
        assert q.backing_off() >= {"low"} and q.attempts("low") == 2
        q.add("low2", 1)  # updated while in flight: tried again after the attempt
        q.failed("low2", q.move_cycle)
        assert "low2" not in q.parked()
        q.forget("low2")
        got = {await asyncio.wait_for(q.pop(), 1), await asyncio.wait_for(q.pop(), 1)}
        assert got == {"high", "low"}
        q.close()
        assert await q.pop() is None
    run(body())


def test_queue_backoff_doubles_to_cap():
    q = SchedulingQueue(initial_backoff=1.0, max_backoff=10.0)
    q._priority["p"] = 0
    durations = []
    for _ in range(6):
        q._attempts["p"] = q._attempts.get("p", 0) + 1
        q._last_failure["p"] = 0.0
        durations.append(q.backoff_remaining("p", now=0.0))
    assert durations == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


# ---------------------------------------------------------- whole cycles

class FakeInformer:
    def __init__(self):
        self.objects: dict[str, dict] = {}
        self.on_add, self.on_update, self.on_delete = [], [], []

    def add(self, obj):
        self.objects[obj["metadata"]["name"]] = obj
        for h in self.on_add:
            h(obj)

    def update(self, old, new):
        self.objects[new["metadata"]["name"]] = new
        for h in self.on_update:
            h(old, new)

    def delete(self, obj):
        self.objects.pop(obj["metadata"]["name"], None)
        for h in self.on_delete:
            h(obj)


class FakeInformers:
    def __init__(self):
        self.by_plural: dict[str, FakeInformer] = {}

    def informer(self, plural, *args, **kwargs):
        return self.by_plural.setdefault(plural, FakeInformer())


class FakeClient:
    def __init__(self):
        self.calls: list[tuple] = []

    async def post_subresource(self, plural, name, ns, sub, body):
        self.calls.append(("bind", name, body["target"]["name"]))
        return {}

    async def patch(self, plural, name, patch, ns=None, patch_type="strategic", subresource=None):
        self.calls.append(("patch", plural, name, patch))
        return {}

    async def delete(self, plural, name, ns=None, options=None):
        self.calls.append(("delete", name))
        return {}

    async def create(self, plural, obj, ns=None, result=True):
        self.calls.append(("event", obj["involvedObject"]["name"], obj["reason"], obj["message"]))
        return {"metadata": {"name": "ev"}}


async def settle(s: Scheduler, rounds: int = 5) -> None:
    for _ in range(rounds):
        while s.squeue._heap:
            key = await s.squeue.pop()
            s.schedule_one(key, s.squeue.move_cycle)
        for _ in range(3):
            await asyncio.sleep(0)
        if s._io:
            await asyncio.gather(*list(s._io))
        await s.recorder.flush()


def new_scheduler() -> tuple[Scheduler, FakeInformers, FakeClient]:
    infs, client = FakeInformers(), FakeClient()
    s = Scheduler(client, infs, initial_backoff=0.01, max_backoff=0.02)
    for pc in CLASSES.values():
        infs.informer("priorityclasses").add(pc)
    return s, infs, client


def test_cycle_binds_assumes_and_leaves_other_schedulers_alone():
    async def body():
        s, infs, client = new_scheduler()
        nodes, pods = infs.informer("nodes"), infs.informer("pods")
        nodes.add(node("n1", cpu="2"))
        nodes.add(node("n2", cpu="2"))
        pods.add(pod("a", "2"))
        pods.add(pod("b", "2"))
        pods.add(pod("c", "2"))
        pods.add(pod("mine-not", "1", schedulerName="other-scheduler"))
        await settle(s)
        binds = sorted(c[1:] for c in client.calls if c[0] == "bind")
        assert binds == [("a", "n1"), ("b", "n2")]  # assumed reservations keep b off n1
        events = [c for c in client.calls if c[0] == "event"]
        assert ("event", "a", "Scheduled", "Successfully assigned default/a to n1") in events
        failed = [c for c in events if c[2] == "FailedScheduling"]
        assert [c[1] for c in failed] == ["c"]
        assert failed[0][3] == ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are "
                                "available: 2 No preemption victims found for incoming pod.")
        patch = next(c[3] for c in client.calls if c[0] == "patch" and c[2] == "c")
        cond = patch["status"]["conditions"][0]
        assert (cond["type"], cond["status"], cond["reason"]) == ("PodScheduled", "False", "Unschedulable")
        assert "c" in {k.split("/")[1] for k in s.squeue.parked()}
        # the bound version of a arrives; then a goes away: c gets another try and binds
        bound_a = pod("a", "2", node_name="n1")
        pods.update(pod("a", "2"), bound_a)
        assert s.assumed == {"uid-b"}
        client.calls.clear()
        pods.delete(bound_a)
        await asyncio.sleep(0.05)
        await settle(s)
        assert [c[1:] for c in client.calls if c[0] == "bind"] == [("c", "n1")]
        assert not [c for c in client.calls if c[0] == "bind" and c[1] == "mine-not"]
    run(body())


def test_cycle_preempts_for_a_critical_pinned_pod():
    async def body():
        s, infs, client = new_scheduler()
        nodes, pods = infs.informer("nodes"), infs.informer("pods")
        nodes.add(node("n1", cpu="4"))
        nodes.add(node("n2", cpu="4"))
        filler = pod("filler", "3", node_name="n1", priorityClassName="low")
        pods.add(filler)
        pods.add(pod("other", "3", node_name="n2", priorityClassName="low"))
        ds = pod("ds", "2", pinned="n1", priorityClassName="system-node-critical")
        pods.add(ds)
        await settle(s)
        assert ("delete", "filler") in client.calls
        assert not any(c[0] == "delete" and c[1] == "other" for c in client.calls)
        victim_patch = next(c[3] for c in client.calls if c[0] == "patch" and c[2] == "filler")
        cond = victim_patch["status"]["conditions"][0]
        assert (cond["type"], cond["reason"], cond["message"]) == (
            "DisruptionTarget", "PreemptionByScheduler",
            "default-scheduler: preempting to accommodate a higher priority pod")
        assert ("event", "filler", "Preempted", "Preempted by pod uid-ds on node n1") in client.calls
        ds_patch = next(c[3] for c in client.calls if c[0] == "patch" and c[2] == "ds")
        assert ds_patch["status"]["nominatedNodeName"] == "n1"
        assert ds_patch["status"]["conditions"][0]["message"] == (
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't satisfy plugin(s) [NodeAffinity].")
        assert s.nominated_of == {"uid-ds": "n1"}
        # a lower-priority pod cannot take the room reserved for the nominated pod
        client.calls.clear()
        pods.delete(filler)
        pods.add(pod("sneaky", "3", pinned="n1"))  # tried first: ds is still backing off
        await settle(s)
        assert not [c for c in client.calls if c[0] == "bind"]
        assert any(c[0] == "event" and c[1] == "sneaky" and c[2] == "FailedScheduling" for c in client.calls)
        await asyncio.sleep(0.05)
        await settle(s)
        binds = [c[1:] for c in client.calls if c[0] == "bind"]
        assert binds == [("ds", "n1")]
    run(body())


def test_cycle_pod_events_keep_aggregates_current():
    async def body():
        s, infs, _ = new_scheduler()
        nodes, pods = infs.informer("nodes"), infs.informer("pods")
        pods.add(pod("early", "1", node_name="later"))  # bound before its node is known
        assert s.cache["later"].node is None and s.node_order() == []
        nodes.add(node("later", cpu="4"))
        assert s.node_order() == ["later"] and s.cache["later"].requested["cpu"] == 1000
        running = pod("early", "1", node_name="later")
        done = pod("early", "1", node_name="later")
        done["status"]["phase"] = "Succeeded"
        pods.update(running, done)  # terminal pods free their resources
        assert s.cache["later"].requested["cpu"] == 0 and not s.cache["later"].pods
        nodes.delete(node("later"))
        assert "later" not in s.cache and s.node_order() == []
    run(body())
