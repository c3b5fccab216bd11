"""One DaemonSet's sync, kept incrementally: the same decisions as ``plan_sync`` at the cost
of what changed since the previous sync.

``plan_sync`` looks at every node and every pod of the namespace: O(nodes + pods)
per sync, about 100 ms at 10,000 nodes, and a node joining queues every
DaemonSet. A ``DaemonSetView`` keeps what a sync derives per node - the
claimed pods grouped by target node, the node's eligibility, ``manage``'s
decision (``NodeManage``) and its share of the status counters - and the
controller's informer handlers mark the pods and nodes that changed. A sync
then claims the changed pods, re-evaluates the changed nodes, decides again
only for the nodes they touch (plus the few whose decision depends on the
clock: failed pods in backoff, pods Ready but not yet available) and sums
the counters it keeps. Everything is rebuilt when a DaemonSet-wide input of
the per-node decisions changes (spec, template generation, observed
generation, hash, deletion). The rolling-update step is summed up the same
way: each node's part (``roll_node``) is kept in a ``RollTally``.

The per-node decisions are the planner's own functions (``manage_node``,
``node_status``, ``claim_one``), so the two paths cannot drift apart in
semantics; ``verify`` compares a view's plan with ``plan_sync``'s (the test
suite runs every sync both ways).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from everynode.controllers.daemonset.eligibility import DaemonEligibility
from everynode.controllers.daemonset.history import plan_history, revision_data
from everynode.controllers.daemonset.planner import (
    ADOPT,
    BURST_REPLICAS,
    IDLE,
    NO_COUNTS,
    RELEASE,
    BackoffState,
    ClaimContext,
    DsContext,
    LazyIterable,
    ManageSum,
    NodeManage,
    ObjectRef,
    Plan,
    StatusCounts,
    claim,
    claim_one,
    finish_plan,
    manage_node,
    node_status,
    object_ref,
    plan_history_into,
    plan_status,
    selector_of,
    status_counters,
)
from everynode.controllers.daemonset.podtemplate import target_node_of
from everynode.controllers.daemonset.rolling import (
    RollNode,
    RollTally,
    is_deleting,
    is_pod_available,
    is_pod_ready,
    is_terminal,
    roll_node,
)

Obj = Mapping[str, Any]


class World:
    """Where a view reads the current objects (the controller's informer caches)."""

    def __init__(self, node: Callable[[str], Obj | None], nodes: Callable[[], Iterable[Obj]],
                 pod: Callable[[str], Obj | None], candidate_pods: Callable[[Obj], Iterable[tuple[str, Obj]]]):
        self.node = node  # name -> Node or None
        self.nodes = nodes  # every Node
        self.pod = pod  # pod key -> Pod or None
        self.candidate_pods = candidate_pods  # ds -> (key, pod) of every pod it may claim


class DaemonSetView:
    def __init__(self) -> None:
        self.version: tuple | None = None  # ((uid, generation, deleting), DsContext) of the kept state
        self.dirty_pods: set[str] = set()
        self.dirty_nodes: set[str] = set()
        self._reset()

    def _reset(self) -> None:
        self.claimed: dict[str, Obj] = {}  # pod key -> claimed pod (adoptions included)
        self.target: dict[str, str | None] = {}  # pod key -> target node of a claimed pod
        self.adopt: dict[str, ObjectRef] = {}
        self.release: dict[str, ObjectRef] = {}
        self.node_pods: dict[str, list[Obj]] = {}  # target node -> live claimed pods
        self.eligibility: dict[str, tuple[bool, bool]] = {}
        self.acting: dict[str, NodeManage] = {}  # node -> manage's decision, when not idle
        self.counts: dict[str, StatusCounts] = {}  # node -> its status counts, when not zero
        self.totals = [0] * 6
        self.rolls: dict[str, RollNode] = {}  # visited node -> its part in a rolling-update step
        self.tally = RollTally()
        self.clock_bound: set[str] = set()  # nodes whose decision or counts depend on the time
        self._elig: DaemonEligibility | None = None
        self._touched: set[str] = set()  # nodes whose pods changed in this sync

    # ---------------------------------------------------------- change marks

    def pod_changed(self, key: str) -> None:
        self.dirty_pods.add(key)

    def node_changed(self, name: str) -> None:
        self.dirty_nodes.add(name)

    # ------------------------------------------------------------------ sync

    def plan(self, ds: Obj, world: World, revisions: Iterable[Obj], now: float,
             failed_backoff: BackoffState | None = None, *, expectations_satisfied: bool = True,
             burst_replicas: int = BURST_REPLICAS) -> Plan:
        """``plan_sync(ds, every node, every pod, revisions, ...)`` from the kept state."""
        plan = Plan(failed_backoff=failed_backoff if failed_backoff is not None else {})
        matcher = selector_of(ds, plan)
        if matcher is None:
            self.version = None
            return plan
        cctx = ClaimContext.of(ds, matcher.matches)
        my_revisions, plan.adopt_revisions, plan.release_revisions = claim(ds, revisions, matcher.matches)
        meta = ds.get("metadata") or {}
        version_base = (meta.get("uid"), meta.get("generation"), cctx.deleting)  # spec changes bump generation
        if self.version is None or self.version[0] != version_base:
            self._rebuild_claims(ds, world, cctx)
            self.version = (version_base, None)
        else:
            self._apply_pod_changes(world, cctx)
        history = plan_history(ds, my_revisions, LazyIterable(lambda: list(self.claimed.values())), revision_data(ds))
        plan_history_into(plan, ds, history)
        plan.adopt_pods = list(self.adopt.values())
        plan.release_pods = list(self.release.values())

        ctx = DsContext.of(ds, plan.hash)
        if self.version[1] != ctx:
            self._rebuild_nodes(ds, world, ctx, now, plan.failed_backoff)
            self.version = (self.version[0], ctx)
        else:
            self._apply_node_changes(world)
            self._refresh(ctx, self._touched | self.clock_bound, now, plan.failed_backoff)
        self._touched = set()

        counters = status_counters(self.totals)
        if not expectations_satisfied:
            plan_status(plan, ds, counters, observe=False)
            return plan
        managed = ManageSum(backoff=plan.failed_backoff)
        for name, decision in list(self.acting.items()):
            if decision.volatile:  # decided again with the backoff as this sync leaves it
                decision = manage_node(ctx, name, self.eligibility.get(name), self.node_pods.get(name),
                                       now, managed.backoff)
            managed.add(name, decision)
        finish_plan(plan, ds, managed, lambda: self.tally.step(ds, counters["desiredNumberScheduled"]),
                    counters, burst_replicas,
                    lambda: (p for k, p in self.claimed.items() if self.target.get(k) is not None), history.old)
        return plan

    # -------------------------------------------------------------- claiming

    def _rebuild_claims(self, ds: Obj, world: World, cctx: ClaimContext) -> None:
        self._reset()
        self.dirty_pods.clear()
        for key, pod in world.candidate_pods(ds):
            self._claim(key, pod, cctx)

    def _apply_pod_changes(self, world: World, cctx: ClaimContext) -> None:
        dirty, self.dirty_pods = self.dirty_pods, set()
        for key in dirty:
            old = self.claimed.pop(key, None)
            if old is not None:
                self._unplace(self.target.pop(key, None), old)
            self.adopt.pop(key, None)
            self.release.pop(key, None)
            pod = world.pod(key)
            if pod is not None:
                self._claim(key, pod, cctx)

    def _claim(self, key: str, pod: Obj, cctx: ClaimContext) -> None:
        verdict = claim_one(cctx, pod)
        if verdict is None:
            return
        if verdict is RELEASE:
            self.release[key] = object_ref(pod)
            return
        if verdict is ADOPT:
            self.adopt[key] = object_ref(pod)
        self.claimed[key] = pod
        node = target_node_of(pod)
        self.target[key] = node
        if node is not None and not (is_terminal(pod) and is_deleting(pod)):
            self.node_pods.setdefault(node, []).append(pod)
            self._touched.add(node)

    def _unplace(self, node: str | None, pod: Obj) -> None:
        if node is None:
            return
        pods = self.node_pods.get(node)
        if pods is None:
            return
        for i, p in enumerate(pods):
            if p is pod:
                del pods[i]
                self._touched.add(node)
                break
        if not pods:
            del self.node_pods[node]

    # ----------------------------------------------------------------- nodes

    def _rebuild_nodes(self, ds: Obj, world: World, ctx: DsContext, now: float, backoff: BackoffState) -> None:
        self._elig = DaemonEligibility(ds)
        self.dirty_nodes.clear()
        self.eligibility = {}
        for node in world.nodes():
            self.eligibility[(node.get("metadata") or {}).get("name") or ""] = self._elig.evaluate(node)
        self.acting, self.counts, self.totals = {}, {}, [0] * 6
        self.rolls, self.tally, self.clock_bound = {}, RollTally(), set()
        self._refresh(ctx, list(self.eligibility) + [n for n in self.node_pods if n not in self.eligibility],
                      now, backoff)

    def _apply_node_changes(self, world: World) -> None:
        dirty, self.dirty_nodes = self.dirty_nodes, set()
        assert self._elig is not None
        for name in dirty:
            node = world.node(name)
            if node is None:
                self.eligibility.pop(name, None)
            else:
                self.eligibility[name] = self._elig.evaluate(node)
            self._touched.add(name)

    def _refresh(self, ctx: DsContext, names: Iterable[str], now: float, backoff: BackoffState) -> None:
        """Decide again for ``names``: manage's decision, status counts, rolling-update part."""
        totals = self.totals
        for name in names:
            elig = self.eligibility.get(name)
            pods = self.node_pods.get(name)
            decision = manage_node(ctx, name, elig, pods, now, backoff)
            if decision is IDLE:
                self.acting.pop(name, None)
            else:
                self.acting[name] = decision
            counts = node_status(ctx, elig, pods, now)
            before = self.counts.get(name, NO_COUNTS)
            if counts is not before:
                for i in range(6):
                    totals[i] += counts[i] - before[i]
                if counts == NO_COUNTS:
                    self.counts.pop(name, None)
                else:
                    self.counts[name] = counts
            roll = None
            if pods is not None or (elig is not None and elig[0]):
                roll = roll_node(pods or (), elig, ctx.hash, ctx.generation, ctx.min_ready, now)
            before_roll = self.rolls.get(name)
            if roll != before_roll:
                if before_roll is not None:
                    self.tally.remove(name, before_roll)
                    del self.rolls[name]
                if roll is not None:
                    self.tally.add(name, roll)
                    self.rolls[name] = roll
            if decision.volatile or (ctx.min_ready and _waiting(pods, ctx.min_ready, now)):
                self.clock_bound.add(name)
            else:
                self.clock_bound.discard(name)


def _waiting(pods: Sequence[Obj] | None, min_ready: int, now: float) -> bool:
    """A pod is Ready but not yet available: its node's facts change with time alone."""
    return any(is_pod_ready(p) and not is_pod_available(p, min_ready, now) for p in pods or ())


def comparable(plan: Plan, burst_replicas: int = BURST_REPLICAS) -> dict[str, Any]:
    """What two plans of the same sync must agree on. Which nodes win a burst-limited or a
    rolling-update selection depends on visiting order (Go's map order upstream), so those
    compare by size."""
    def refs(items: Sequence[ObjectRef]) -> list[tuple[str, str]]:
        return sorted((r.name, r.uid) for r in items)

    def events(items: Sequence[Any]) -> list[tuple[str, str, str]]:
        return sorted((e.type, e.reason, e.message) for e in items)

    return {
        "hash": plan.hash, "template_generation": plan.template_generation,
        "adopt_pods": refs(plan.adopt_pods), "release_pods": refs(plan.release_pods),
        "adopt_revisions": refs(plan.adopt_revisions), "release_revisions": refs(plan.release_revisions),
        "revision_create": plan.revision_create, "revision_updates": plan.revision_updates,
        "revision_deletes": plan.revision_deletes, "relabel_pods": sorted(plan.relabel_pods),
        "creates": len(plan.creates), "deletes": len(plan.deletes), "rolling": plan.rolling,
        "creates_set": None if plan.rolling or len(plan.creates) >= burst_replicas else sorted(plan.creates),
        "deletes_set": None if plan.rolling or len(plan.deletes) >= burst_replicas
        else sorted((d.name, d.node or "", d.reason) for d in plan.deletes),
        "history_cleanup": plan.history_cleanup, "events": events(plan.events), "status": plan.status,
        "status_changed": plan.status_changed, "requeue_after": plan.requeue_after,
        "failed_backoff": dict(plan.failed_backoff), "errors": plan.errors,
    }
