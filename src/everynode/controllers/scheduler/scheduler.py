"""The default scheduler's IO loop (kube-scheduler's scheduleOne, for one profile).

Pods whose ``spec.schedulerName`` is ``default-scheduler`` (or empty), unbound,
not being deleted, not terminal and without scheduling gates are queued by
priority. One loop takes them one at a time: filters and scoring run against a
cache that the pod and node informers keep current incrementally (per-node
requested resources, host ports and pod count; a pod pinned to one node by
``matchFields metadata.name`` only evaluates that node). The chosen node is
*assumed* at once, so the next decision already sees it, and the binding is
POSTed in the background.

A pod that fits nowhere gets a Warning ``FailedScheduling`` event and
``PodScheduled=False`` (reason ``Unschedulable``) with upstream's message, and
may preempt lower-priority pods (``DisruptionTarget`` condition, delete,
``Preempted`` event, ``status.nominatedNodeName`` on the preemptor). It then
waits in the unschedulable pool until a node is added or changes in a way
that may help, or a pod leaves a node it could use; retries back off 1 s
doubling to 10 s, and a pod parked for 5 minutes is retried anyway.

Priority comes from ``spec.priority`` or, when admission did not set it, from
the PriorityClass named by ``priorityClassName`` (or the global default).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import Any

from everynode.api.errors import ApiError
from everynode.apiserver.objects import now_rfc3339, parse_time
from everynode.client.record import ConcurrentEventRecorder
from everynode.controllers.base import Controller
from everynode.controllers.scheduler import filters, preemption
from everynode.controllers.scheduler.filters import NodeInfo, PodInfo

log = logging.getLogger("everynode.scheduler")

Obj = dict[str, Any]

SCHEDULER_NAME = "default-scheduler"
POD_SCHEDULED = "PodScheduled"
REASON_UNSCHEDULABLE = "Unschedulable"
REASON_SCHEDULER_ERROR = "SchedulerError"
INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_IN_UNSCHEDULABLE = 300.0
FLUSH_INTERVAL = 30.0
BIND_CONCURRENCY = 64


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def is_terminal(pod: Obj) -> bool:
    return _d(pod.get("status")).get("phase") in ("Succeeded", "Failed")


def responsible_for(pod: Obj, scheduler_name: str = SCHEDULER_NAME) -> bool:
    """Whether this scheduler should place ``pod`` now."""
    spec = _d(pod.get("spec"))
    if (spec.get("schedulerName") or SCHEDULER_NAME) != scheduler_name:
        return False
    if spec.get("nodeName") or spec.get("schedulingGates"):
        return False
    return not _d(pod.get("metadata")).get("deletionTimestamp") and not is_terminal(pod)


def node_changed(old: Obj | None, new: Obj) -> bool:
    """Node changes that can make a pod fit (allocatable, labels, taints, unschedulable)."""
    if old is None:
        return True
    o_meta, n_meta = _d(old.get("metadata")), _d(new.get("metadata"))
    o_spec, n_spec = _d(old.get("spec")), _d(new.get("spec"))
    return (_d(_d(old.get("status")).get("allocatable")) != _d(_d(new.get("status")).get("allocatable"))
            or o_meta.get("labels") != n_meta.get("labels")
            or o_spec.get("taints") != n_spec.get("taints")
            or bool(o_spec.get("unschedulable")) != bool(n_spec.get("unschedulable")))


def pod_scheduled_condition(pod: Obj, reason: str, message: str, now: str) -> Obj | None:
    """The PodScheduled=False condition to write, or None when the pod already says so."""
    old = next((c for c in _d(pod.get("status")).get("conditions") or []
                if _d(c).get("type") == POD_SCHEDULED), None)
    if old is not None and old.get("status") == "False" and old.get("reason") == reason \
            and old.get("message") == message:
        return None
    cond: Obj = {"type": POD_SCHEDULED, "status": "False", "lastProbeTime": None, "reason": reason,
                 "message": message,
                 "lastTransitionTime": old.get("lastTransitionTime") if old is not None
                 and old.get("status") == "False" else now}
    generation = _d(pod.get("metadata")).get("generation")
    if generation:
        cond["observedGeneration"] = generation
    return cond


# ------------------------------------------------------------------- queue

class SchedulingQueue:
    """activeQ (a heap by priority, then arrival), backoffQ (timers) and the unschedulable pool.

    A pod that fails is parked unless something moved pods while it was being scheduled (then it
    goes straight to backoff). Moves take parked pods back, through backoff when it has not
    expired yet: ``initial * 2^(attempts-1)`` capped at ``max_backoff``.
    """

    def __init__(self, initial_backoff: float = INITIAL_BACKOFF, max_backoff: float = MAX_BACKOFF,
                 max_unschedulable: float = MAX_IN_UNSCHEDULABLE):
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_unschedulable = max_unschedulable
        self._heap: list[tuple[int, int, str]] = []
        self._active: dict[str, int] = {}  # key -> sequence number of its live heap entry
        self._seq = 0
        self._backoff: dict[str, asyncio.TimerHandle] = {}
        self._parked: dict[str, tuple[float, frozenset[str] | None]] = {}
        self._parked_by_node: dict[str, set[str]] = defaultdict(set)
        self._parked_anywhere: set[str] = set()
        self._in_flight: set[str] = set()
        self._dirty: set[str] = set()
        self._priority: dict[str, int] = {}
        self._attempts: dict[str, int] = {}
        self._last_failure: dict[str, float] = {}
        self.move_cycle = 0
        self._wakeup: asyncio.Event | None = None
        self._closed = False

    # -- introspection (tests, logs)
    def active(self) -> list[str]:
        return [k for _, _, k in sorted(self._heap) if self._active.get(k) is not None]

    def parked(self) -> set[str]:
        return set(self._parked)

    def backing_off(self) -> set[str]:
        return set(self._backoff)

    def attempts(self, key: str) -> int:
        return self._attempts.get(key, 0)

    def __contains__(self, key: object) -> bool:
        return key in self._active or key in self._backoff or key in self._parked or key in self._in_flight

    # -- transitions
    def _event(self) -> asyncio.Event:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        return self._wakeup

    def _push(self, key: str) -> None:
        self._seq += 1
        self._active[key] = self._seq
        heapq.heappush(self._heap, (-self._priority.get(key, 0), self._seq, key))
        self._event().set()

    def backoff_remaining(self, key: str, now: float | None = None) -> float:
        attempts = self._attempts.get(key, 0)
        if attempts == 0:
            return 0.0
        duration = min(self.initial_backoff * 2 ** (attempts - 1), self.max_backoff)
        return self._last_failure.get(key, 0.0) + duration - (time.monotonic() if now is None else now)

    def _activate_or_backoff(self, key: str) -> None:
        remaining = self.backoff_remaining(key)
        if remaining > 0:
            loop = asyncio.get_running_loop()
            self._backoff[key] = loop.call_later(remaining, self._backoff_done, key)
        else:
            self._push(key)

    def _backoff_done(self, key: str) -> None:
        if self._backoff.pop(key, None) is not None:
            self._push(key)

    def _unpark(self, key: str) -> bool:
        entry = self._parked.pop(key, None)
        if entry is None:
            return False
        targets = entry[1]
        if targets is None:
            self._parked_anywhere.discard(key)
        else:
            for n in targets:
                s = self._parked_by_node.get(n)
                if s is not None:
                    s.discard(key)
                    if not s:
                        del self._parked_by_node[n]
        return True

    def add(self, key: str, priority: int = 0) -> None:
        """A new or changed pending pod."""
        if self._closed:
            return
        changed = self._priority.get(key) != priority
        self._priority[key] = priority
        if key in self._in_flight:
            self._dirty.add(key)
        elif key in self._active:
            if changed:
                self._push(key)  # the older heap entry is now stale
        elif key in self._backoff:
            return
        elif self._unpark(key):
            self._activate_or_backoff(key)
        else:
            self._push(key)

    async def pop(self) -> str | None:
        """The most urgent pod's key (None once closed)."""
        while True:
            while self._heap:
                _, seq, key = heapq.heappop(self._heap)
                if self._active.get(key) == seq:
                    del self._active[key]
                    self._in_flight.add(key)
                    return key
            if self._closed:
                return None
            ev = self._event()
            ev.clear()
            await ev.wait()

    def done(self, key: str) -> None:
        """The attempt assumed a node: the pod leaves the queue (binding follows)."""
        self._in_flight.discard(key)
        self._dirty.discard(key)

    def bound(self, key: str) -> None:
        self._attempts.pop(key, None)
        self._last_failure.pop(key, None)

    def failed(self, key: str, cycle: int, targets: frozenset[str] | None = None) -> None:
        """The attempt failed: park the pod, or back off when pods moved meanwhile."""
        self._in_flight.discard(key)
        if self._closed or key not in self._priority:
            return  # forgotten meanwhile
        self._attempts[key] = self._attempts.get(key, 0) + 1
        self._last_failure[key] = time.monotonic()
        if key in self._active or key in self._backoff or key in self._parked:
            return
        if key in self._dirty or self.move_cycle != cycle:
            self._dirty.discard(key)
            self._activate_or_backoff(key)
            return
        self._parked[key] = (time.monotonic(), targets)
        if targets is None:
            self._parked_anywhere.add(key)
        else:
            for n in targets:
                self._parked_by_node[n].add(key)

    def forget(self, key: str) -> None:
        """The pod is gone, bound elsewhere, or no longer ours."""
        self._active.pop(key, None)
        handle = self._backoff.pop(key, None)
        if handle is not None:
            handle.cancel()
        self._unpark(key)
        self._dirty.discard(key)
        self._priority.pop(key, None)
        self._attempts.pop(key, None)
        self._last_failure.pop(key, None)

    def move(self, node: str | None = None) -> None:
        """Parked pods that could use ``node`` (every parked pod when None) get another try."""
        self.move_cycle += 1
        if node is None:
            keys: Iterable[str] = list(self._parked)
        else:
            keys = list(self._parked_by_node.get(node, ())) + list(self._parked_anywhere)
        for key in keys:
            if self._unpark(key):
                self._activate_or_backoff(key)

    def flush_unschedulable(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key, (since, _) in list(self._parked.items()):
            if now - since >= self.max_unschedulable and self._unpark(key):
                self._activate_or_backoff(key)

    def close(self) -> None:
        self._closed = True
        for handle in self._backoff.values():
            handle.cancel()
        self._backoff.clear()
        self._event().set()


# ----------------------------------------------------------------- scheduler

def _bound_version(assumed: Obj, bound: Obj) -> bool:
    """``bound`` is ``assumed`` with spec.nodeName set, as far as the spec goes."""
    spec, assumed_spec = _d(bound.get("spec")), _d(assumed.get("spec"))
    return len(spec) - ("nodeName" not in assumed_spec) == len(assumed_spec) and \
        all(k in assumed_spec and v == assumed_spec[k] for k, v in spec.items() if k != "nodeName")


class Scheduler(Controller):
    name = SCHEDULER_NAME
    workers = 1
    recorder_class = ConcurrentEventRecorder  # upstream's scheduler records with tools/events

    def __init__(self, client, informers, scheduler_name: str = SCHEDULER_NAME,
                 initial_backoff: float = INITIAL_BACKOFF, max_backoff: float = MAX_BACKOFF,
                 bind_concurrency: int = BIND_CONCURRENCY):
        super().__init__(client, informers)
        self.scheduler_name = scheduler_name
        self.nodes = informers.informer("nodes")
        self.pods = informers.informer("pods")
        self.priority_classes = informers.informer("priorityclasses")
        self.squeue = SchedulingQueue(initial_backoff, max_backoff)
        self.cache: dict[str, NodeInfo] = {}
        self._order: list[str] | None = None
        self._next_start = 0
        self.pod_node: dict[str, str] = {}  # uid -> node, for every pod counted in the cache
        self.assumed: set[str] = set()
        self.pending: dict[str, Obj] = {}  # key -> latest pending pod this scheduler owns
        self.nominated: dict[str, dict[str, PodInfo]] = defaultdict(dict)
        self.nominated_of: dict[str, str] = {}
        self._bind_slots = asyncio.Semaphore(bind_concurrency)
        self._io: set[asyncio.Task] = set()
        self.nodes.on_add.append(lambda n: self._node_event(None, n))
        self.nodes.on_update.append(self._node_event)
        self.nodes.on_delete.append(self._node_deleted)
        self.pods.on_add.append(lambda p: self._pod_event(None, p))
        self.pods.on_update.append(self._pod_event)
        self.pods.on_delete.append(self._pod_deleted)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(), name="scheduler-loop"),
                       asyncio.create_task(self._flush_loop(), name="scheduler-flush")]

    async def stop(self) -> None:
        self.squeue.close()
        for t in list(self._io):
            t.cancel()
        await super().stop()

    async def sync(self, key: Hashable) -> None:
        """Not used: the scheduler runs its own loop over its own queue."""

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            self.squeue.flush_unschedulable()

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._io.add(task)
        task.add_done_callback(self._io.discard)

    # ------------------------------------------------------------- helpers

    def _priority(self, pod: Obj) -> tuple[int, str]:
        return preemption.resolve_priority(pod, self.priority_classes.objects)

    def _pod_info(self, pod: Obj, now: float | None = None) -> PodInfo:
        priority, _ = self._priority(pod)
        start = parse_time(_d(pod.get("status")).get("startTime")) or (time.time() if now is None else now)
        return filters.new_pod_info(pod, priority, start)

    def node_order(self) -> list[str]:
        if self._order is None:
            self._order = sorted(n for n, i in self.cache.items() if i.node is not None)
        return self._order

    def _nominated_for(self, node: str, pod: PodInfo) -> list[PodInfo]:
        nominated = self.nominated.get(node)
        if not nominated:
            return []
        return [p for p in nominated.values() if p.uid != pod.uid and p.priority >= pod.priority]

    def _nominate(self, pi: PodInfo, node: str) -> None:
        self._unnominate(pi.uid)
        self.nominated[node][pi.uid] = pi
        self.nominated_of[pi.uid] = node

    def _unnominate(self, uid: str) -> str | None:
        node = self.nominated_of.pop(uid, None)
        if node is not None:
            entries = self.nominated.get(node)
            if entries is not None:
                entries.pop(uid, None)
                if not entries:
                    del self.nominated[node]
        return node

    def _count(self, pi: PodInfo, node: str) -> None:
        old = self.pod_node.get(pi.uid)
        if old is not None and old != node:
            self._uncount(pi.uid)
        info = self.cache.get(node)
        if info is None:
            info = self.cache[node] = NodeInfo(node)  # pods may arrive before their node
        info.add_pod(pi)
        self.pod_node[pi.uid] = node

    def _uncount(self, uid: str) -> str | None:
        node = self.pod_node.pop(uid, None)
        self.assumed.discard(uid)
        if node is None:
            return None
        info = self.cache.get(node)
        if info is not None:
            info.remove_pod(uid)
            if info.node is None and not info.pods:
                del self.cache[node]
        return node

    # -------------------------------------------------------------- events

    def _node_event(self, old: Obj | None, node: Obj) -> None:
        name = node["metadata"]["name"]
        info = self.cache.get(name)
        if info is None:
            info = self.cache[name] = NodeInfo(name)
        if info.node is None:
            self._order = None
        if old is None or info.node is None or node_changed(info.node, node):
            info.set_node(node)
            self.squeue.move(name)
        else:
            info.node = node

    def _node_deleted(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        info = self.cache.get(name)
        if info is None:
            return
        info.set_node(None)
        if not info.pods:
            del self.cache[name]
        self._order = None

    def _pod_event(self, old: Obj | None, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        uid = meta.get("uid") or filters.pod_key(pod)
        key = filters.pod_key(pod)
        node = _d(pod.get("spec")).get("nodeName")
        if node:
            self._forget_pending(key, uid)
            if is_terminal(pod):
                if self._uncount(uid) is not None:
                    self.squeue.move(node)
                return
            counted = self.pod_node.get(uid)
            if counted == node and uid not in self.assumed and old is not None \
                    and old.get("spec") == pod.get("spec"):
                self.cache[node].pods[uid].pod = pod  # same requests: keep aggregates, refresh object
                return
            previous = self.cache[counted].pods.get(uid) if counted in self.cache else None
            if counted == node and uid in self.assumed and previous is not None and \
                    _bound_version(previous.pod, pod):
                # Our binding came back (upstream's cache confirms the assumed pod): what the
                # scheduler computed of the pod is unchanged, only the object is the bound one.
                previous.pod = pod
                self.assumed.discard(uid)
                return
            pi = self._pod_info(pod)
            self._count(pi, node)
            self.assumed.discard(uid)
            if previous is not None and any(pi.requests.get(r, 0) < v for r, v in previous.requests.items()):
                self.squeue.move(node)
            return
        if uid in self.assumed:
            return  # our binding is in flight; the bound version will follow
        if not responsible_for(pod, self.scheduler_name):
            self._forget_pending(key, uid)
            return
        self.pending[key] = pod
        self._track_nomination(old, pod, uid)
        if old is None or old.get("spec") != pod.get("spec") or key not in self.squeue:
            self.squeue.add(key, self._priority(pod)[0])

    def _track_nomination(self, old: Obj | None, pod: Obj, uid: str) -> None:
        nominated = _d(pod.get("status")).get("nominatedNodeName")
        if nominated:
            if self.nominated_of.get(uid) != nominated:
                self._nominate(self._pod_info(pod), nominated)
        elif old is not None and _d(old.get("status")).get("nominatedNodeName"):
            self._drop_nomination(uid)
        # else: keep an in-memory nomination the informer has not caught up with yet

    def _drop_nomination(self, uid: str) -> None:
        node = self._unnominate(uid)
        if node is not None:
            self.squeue.move(node)  # its reservation is free again

    def _forget_pending(self, key: str, uid: str) -> None:
        if key in self.pending:
            del self.pending[key]
            self.squeue.forget(key)
        self._drop_nomination(uid)

    def _pod_deleted(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        uid = meta.get("uid") or filters.pod_key(pod)
        self._forget_pending(filters.pod_key(pod), uid)
        node = self._uncount(uid)
        if node is not None:
            self.squeue.move(node)

    # ---------------------------------------------------------------- loop

    async def _loop(self) -> None:
        while True:
            key = await self.squeue.pop()
            if key is None:
                return
            cycle = self.squeue.move_cycle
            try:
                self.schedule_one(key, cycle)
            except Exception:
                log.exception("scheduling %s crashed", key)
                self.squeue.failed(key, cycle)
            await asyncio.sleep(0)  # let informers and IO tasks run between pods

    def schedule_one(self, key: str, cycle: int) -> None:
        """One scheduling cycle: decide synchronously, then hand the API calls to a task."""
        pod = self.pending.get(key)
        if pod is None or not responsible_for(pod, self.scheduler_name):
            self.squeue.done(key)
            return
        priority, policy = self._priority(pod)
        pi = filters.new_pod_info(pod, priority, time.time())
        targets = filters.pinned_nodes(pi.spec)
        park_on = frozenset(targets) if targets is not None else None
        order = self.node_order()
        if not order:
            self._spawn(self._record_failure(key, pod, filters.NO_NODES_AVAILABLE, REASON_UNSCHEDULABLE,
                                             None, cycle, park_on))
            return
        feasible, diag, processed = filters.find_feasible(
            pi, self.cache, order, self._nominated_for, start=self._next_start,
            limit=filters.num_feasible_nodes_to_find(len(order)))
        if targets is None:
            self._next_start = (self._next_start + processed) % len(order)
        if feasible:
            host = filters.select_host(pi, feasible)
            self._unnominate(pi.uid)
            self._count(pi, host.name)
            self.assumed.add(pi.uid)
            self.squeue.done(key)
            self._spawn(self._bind(key, pi, host.name, cycle, park_on))
            return
        result = preemption.preempt(pi, policy, self.cache, diag, self._nominated_for)
        message = filters.fit_error_message(diag, result.message)
        nominate: str | None = None  # None: leave nominatedNodeName as it is
        lower: list[PodInfo] = []
        if result.node:
            nominate = result.node
            self._nominate(pi, result.node)
            lower = [p for p in self.nominated.get(result.node, {}).values() if p.priority < pi.priority]
            for p in lower:
                self._unnominate(p.uid)
        elif result.clear_nomination:
            nominate = ""
            self._unnominate(pi.uid)
        self._spawn(self._fail_and_preempt(key, pod, pi, message, nominate, result, lower, cycle, park_on))

    # ------------------------------------------------------------------ IO

    def _event(self, pod: Obj, type_: str, reason: str, message: str) -> None:
        self.recorder.event({**pod, "kind": "Pod", "apiVersion": "v1"}, type_, reason, message)

    async def _bind(self, key: str, pi: PodInfo, node: str, cycle: int, park_on: frozenset[str] | None) -> None:
        meta = pi.pod["metadata"]
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta.get("uid")},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        try:
            async with self._bind_slots:
                await self.client.post_subresource("pods", meta["name"], meta["namespace"], "binding", body)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if pi.uid in self.assumed:  # the informer did not see it bound: undo the assumption
                self._uncount(pi.uid)
                self.squeue.move(node)
            if isinstance(exc, ApiError) and exc.code == 404:
                return
            current = self.pending.get(key)
            if current is None or (current.get("metadata") or {}).get("uid") != meta.get("uid"):
                return  # deleted or bound meanwhile
            text = exc.message if isinstance(exc, ApiError) else str(exc)
            log.info("binding %s to %s failed: %s", key, node, text)
            await self._record_failure(key, current, f'running Bind plugin "DefaultBinder": {text}',
                                       REASON_SCHEDULER_ERROR, None, cycle, park_on, requeue=True)
            return
        self.squeue.bound(key)
        self._event(pi.pod, "Normal", "Scheduled", f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}")

    async def _fail_and_preempt(self, key: str, pod: Obj, pi: PodInfo, message: str, nominate: str | None,
                                result: preemption.PreemptionResult, lower: list[PodInfo], cycle: int,
                                park_on: frozenset[str] | None) -> None:
        try:
            if result.node:
                await asyncio.gather(*(self._preempt_victim(v, pi, result.node) for v in result.victims
                                       if not v.deleting))
                await asyncio.gather(*(self._clear_nomination(p) for p in lower))
        finally:
            await self._record_failure(key, pod, message, REASON_UNSCHEDULABLE, nominate, cycle, park_on)

    async def _preempt_victim(self, victim: PodInfo, preemptor: PodInfo, node: str) -> None:
        meta = victim.pod.get("metadata") or {}
        ns, name = meta.get("namespace"), meta.get("name")
        cond: Obj = {"type": preemption.DISRUPTION_TARGET, "status": "True",
                     "reason": preemption.REASON_PREEMPTION_BY_SCHEDULER,
                     "message": preemption.preemption_condition_message(
                         preemptor.spec.get("schedulerName") or SCHEDULER_NAME),
                     "lastTransitionTime": now_rfc3339()}
        if meta.get("generation"):
            cond["observedGeneration"] = meta["generation"]
        try:
            await self.client.patch("pods", name, {"status": {"conditions": [cond]}}, ns, "strategic", "status")
            await self.client.delete("pods", name, ns)
        except ApiError as exc:
            if exc.code == 404:
                return
            log.warning("preempting %s/%s failed: %s", ns, name, exc.message)
            return
        log.info("pod %s/%s preempted by %s on node %s", ns, name, preemptor.key, node)
        self._event(victim.pod, "Normal", "Preempted", preemption.preempted_event_message(preemptor.uid, node))

    async def _clear_nomination(self, pi: PodInfo) -> None:
        meta = pi.pod.get("metadata") or {}
        try:
            await self.client.patch("pods", meta["name"], {"status": {"nominatedNodeName": None}},
                                    meta.get("namespace"), "strategic", "status")
        except ApiError as exc:
            if exc.code != 404:
                log.info("clearing nomination of %s failed: %s", pi.key, exc.message)

    async def _record_failure(self, key: str, pod: Obj, message: str, reason: str, nominate: str | None,
                              cycle: int, park_on: frozenset[str] | None, requeue: bool = False) -> None:
        """handleSchedulingFailure: event, PodScheduled=False (+ nominatedNodeName), requeue."""
        try:
            current = self.pending.get(key)
            if current is None or (current.get("metadata") or {}).get("uid") != \
                    (pod.get("metadata") or {}).get("uid"):
                return  # deleted, or bound by someone else meanwhile
            self._event(current, "Warning", "FailedScheduling", message)
            status: Obj = {}
            cond = pod_scheduled_condition(current, reason, message, now_rfc3339())
            if cond is not None:
                status["conditions"] = [cond]
            if nominate is not None and nominate != (_d(current.get("status")).get("nominatedNodeName") or ""):
                status["nominatedNodeName"] = nominate or None
            if status:
                meta = current["metadata"]
                try:
                    await self.client.patch("pods", meta["name"], {"status": status}, meta["namespace"],
                                            "strategic", "status")
                except ApiError as exc:
                    if exc.code != 404:
                        log.info("updating status of %s failed: %s", key, exc.message)
        finally:
            # After a failed binding the pod backs off instead of waiting for a cluster event.
            self.squeue.failed(key, -1 if requeue else cycle, park_on)
