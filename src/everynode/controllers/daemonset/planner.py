"""One DaemonSet sync as a pure function: world in, ``Plan`` out.

``plan_sync`` follows upstream syncDaemonSet: claim pods and revisions, build
history (the current hash), ``manage`` (create on nodes missing a pod, delete
failed/succeeded/excess/misplaced pods), then - only when manage issued
nothing and the strategy is RollingUpdate - one rolling-update step, then
history cleanup and the new status. It costs O(nodes + pods): pods are grouped
by target node once and eligibility is evaluated once per node.

The IO layer executes a plan in this order, stopping on the first error that
upstream would return:
  1. ``adopt_*`` / ``release_*`` patches (abort the sync if an adoption fails);
  2. ``revision_updates``, then ``revision_create`` (on AlreadyExists: GET it;
     same data per ``history.revision_matches`` -> fine; else bump
     ``status.collisionCount`` unless it changed meanwhile, and fail the sync),
     ``relabel_pods`` (merge patch of the hash label to ``hash``),
     ``revision_deletes``;
  3. set expectations to (len(creates), len(deletes)), then create
     ``new_pod(ds, node, hash, template_generation)`` for each of ``creates``
     (slow-start batches) and delete ``deletes``; emit ``events`` and the
     SuccessfulCreate/FailedCreate/SuccessfulDelete/FailedDelete events;
  4. delete ``history_cleanup``;
  5. if ``status_changed``: PUT ``status`` to /status (one GET+retry);
  6. requeue after ``requeue_after`` when set; ``errors`` -> rate-limited requeue.
Keep ``failed_backoff`` for the next sync of any DaemonSet (and GC it now and
then with ``gc_failed_backoff``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from everynode.api.selectors import from_label_selector
from everynode.controllers.daemonset.eligibility import DaemonEligibility
from everynode.controllers.daemonset.history import (
    HistoryPlan,
    history_to_delete,
    plan_history,
    revision_data,
)
from everynode.controllers.daemonset.podtemplate import HASH_LABEL, target_node_of, template_generation_of
from everynode.controllers.daemonset.rolling import (
    RollingResult,
    allows_surge,
    is_deleting,
    is_pod_available,
    is_pod_ready,
    is_pod_updated,
    is_terminal,
    pod_labels,
    pod_name,
    pod_order_key,
    pod_phase,
    rolling_update,
)

BURST_REPLICAS = 250

FAILED_BACKOFF_INITIAL = 1.0
FAILED_BACKOFF_MAX = 15 * 60.0

# Why a pod is deleted (PodDelete.reason).
DELETE_FAILED = "Failed"  # phase Failed (after backoff)
DELETE_SUCCEEDED = "Succeeded"  # phase Succeeded
DELETE_DUPLICATE = "Duplicate"  # more running pods on the node than allowed
DELETE_SURGE_REPLACED = "SurgeReplaced"  # surge: old pod not Ready, or its replacement is available
DELETE_NOT_ELIGIBLE = "NotEligible"  # the node should not run the daemon any more
DELETE_NODE_MISSING = "NodeMissing"  # unscheduled pod aimed at a node that does not exist
DELETE_ROLLING_UPDATE = "RollingUpdate"  # old pod removed by the rolling-update step

STATUS_COUNTERS = (
    "desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled", "numberReady",
    "updatedNumberScheduled", "numberAvailable", "numberUnavailable",
)

# everynode extension: a paused DaemonSet keeps its pods (and still places pods on
# new nodes) but its rolling update replaces nothing until resumed.
PAUSED_ANNOTATION = "everynode.io/rollout-paused"


def is_paused(ds: Mapping[str, Any]) -> bool:
    return ((ds.get("metadata") or {}).get("annotations") or {}).get(PAUSED_ANNOTATION) == "true"


BackoffState = Mapping[str, tuple[float, float]]  # key -> (delay seconds, last update epoch)


@dataclass(frozen=True)
class Event:
    type: str  # "Normal" | "Warning"
    reason: str
    message: str


@dataclass(frozen=True)
class PodDelete:
    name: str
    node: str | None
    reason: str


@dataclass(frozen=True)
class ObjectRef:
    """Name and uid of a pod or revision to adopt or release (uid for the patch precondition)."""

    name: str
    uid: str


@dataclass
class Plan:
    hash: str = ""
    template_generation: int | None = None
    adopt_pods: list[ObjectRef] = field(default_factory=list)
    release_pods: list[ObjectRef] = field(default_factory=list)
    adopt_revisions: list[ObjectRef] = field(default_factory=list)
    release_revisions: list[ObjectRef] = field(default_factory=list)
    revision_create: dict[str, Any] | None = None
    revision_updates: list[dict[str, Any]] = field(default_factory=list)
    revision_deletes: list[str] = field(default_factory=list)  # duplicates of the current revision
    relabel_pods: list[str] = field(default_factory=list)
    creates: list[str] = field(default_factory=list)  # node names, at most burst_replicas
    deletes: list[PodDelete] = field(default_factory=list)  # at most burst_replicas
    rolling: bool = False  # creates/deletes come from the rolling-update step
    history_cleanup: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    status: dict[str, Any] | None = None  # full new status; None: write nothing
    status_changed: bool = False
    requeue_after: float | None = None
    failed_backoff: BackoffState = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def requeue(self, seconds: float) -> None:
        if self.requeue_after is None or seconds < self.requeue_after:
            self.requeue_after = seconds


# ------------------------------------------------------------ failed backoff

def _expired(now: float, last: float) -> bool:
    return now - last > 2 * FAILED_BACKOFF_MAX


def failed_backoff_key(ds: Mapping[str, Any], node: str) -> str:
    meta = ds.get("metadata") or {}
    observed = (ds.get("status") or {}).get("observedGeneration") or 0
    return f"{meta.get('uid') or ''}/{observed}/{node}"


def in_failed_backoff(state: BackoffState, key: str, now: float) -> bool:
    entry = state.get(key)
    if entry is None:
        return False
    delay, last = entry
    return not _expired(now, last) and now - last < delay


def next_failed_backoff(state: BackoffState, key: str, now: float) -> dict[str, tuple[float, float]]:
    """A copy of ``state`` with ``key``'s delay advanced (1 s doubling to 15 min)."""
    out = dict(state)
    entry = state.get(key)
    if entry is None or _expired(now, entry[1]):
        delay = FAILED_BACKOFF_INITIAL
    else:
        delay = min(entry[0] * 2, FAILED_BACKOFF_MAX)
    out[key] = (delay, now)
    return out


def gc_failed_backoff(state: BackoffState, now: float) -> dict[str, tuple[float, float]]:
    """Drop entries idle for more than twice the maximum delay (upstream GCs every minute)."""
    return {k: v for k, v in state.items() if not _expired(now, v[1])}


# ------------------------------------------------------------------- claim

def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _controller_uid(obj: Mapping[str, Any]) -> str | None:
    for ref in _meta(obj).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref.get("uid") or ""
    return None


CLAIMED, ADOPT, RELEASE = "claimed", "adopt", "release"


@dataclass(frozen=True)
class ClaimContext:
    """What ClaimObject needs of the DaemonSet, computed once per sync."""

    uid: str
    namespace: str
    deleting: bool
    matches: Any  # labels -> bool

    @classmethod
    def of(cls, ds: Mapping[str, Any], matches: Any) -> ClaimContext:
        meta = _meta(ds)
        return cls(meta.get("uid") or "", meta.get("namespace") or "", is_deleting(ds), matches)


def claim_one(ctx: ClaimContext, obj: Mapping[str, Any]) -> str | None:
    """ClaimObject for one object: CLAIMED, ADOPT (claimed too), RELEASE, or None (not ours)."""
    m = _meta(obj)
    owner = _controller_uid(obj)
    labels = m.get("labels") or {}
    if owner is not None:
        if owner != ctx.uid:
            return None
        if ctx.matches(labels):
            return CLAIMED
        return None if ctx.deleting else RELEASE
    if ctx.deleting or not ctx.matches(labels) or is_deleting(obj):
        return None
    if ctx.namespace and (m.get("namespace") or ctx.namespace) != ctx.namespace:
        return None
    return ADOPT


def object_ref(obj: Mapping[str, Any]) -> ObjectRef:
    m = _meta(obj)
    return ObjectRef(m.get("name") or "", m.get("uid") or "")


def claim(ds: Mapping[str, Any], objects: Iterable[Mapping[str, Any]],
          matches: Any) -> tuple[list[Mapping[str, Any]], list[ObjectRef], list[ObjectRef]]:
    """ClaimObject over ``objects``: (claimed incl. adoptions, to adopt, to release)."""
    ctx = ClaimContext.of(ds, matches)
    claimed: list[Mapping[str, Any]] = []
    adopt: list[ObjectRef] = []
    release: list[ObjectRef] = []
    for obj in objects:
        verdict = claim_one(ctx, obj)
        if verdict is CLAIMED:
            claimed.append(obj)
        elif verdict is ADOPT:
            adopt.append(object_ref(obj))
            claimed.append(obj)
        elif verdict is RELEASE:
            release.append(object_ref(obj))
    return claimed, adopt, release


# ------------------------------------------------------------------ helpers

def _selects_everything(selector: Mapping[str, Any] | None) -> bool:
    return selector is not None and not selector.get("matchLabels") and not selector.get("matchExpressions")


def group_by_node(pods: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Target node -> pods, leaving out terminal pods that are being deleted."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for pod in pods:
        if is_terminal(pod) and is_deleting(pod):
            continue
        node = target_node_of(pod)
        if node is None:
            continue
        out.setdefault(node, []).append(pod)
    return out


def _node_name(node: Mapping[str, Any]) -> str:
    return _meta(node).get("name") or ""


@dataclass(frozen=True)
class DsContext:
    """The DaemonSet-wide inputs of the per-node decisions, computed once per sync."""

    namespace: str
    surge: bool
    min_ready: int
    hash: str
    generation: int | None
    backoff_prefix: str  # failed_backoff_key without the node

    @classmethod
    def of(cls, ds: Mapping[str, Any], hash: str) -> DsContext:
        return cls(_meta(ds).get("namespace") or "", allows_surge(ds),
                   int((ds.get("spec") or {}).get("minReadySeconds") or 0), hash,
                   template_generation_of(ds), failed_backoff_key(ds, ""))


_NO_DELETES: tuple[PodDelete, ...] = ()
_NO_EVENTS: tuple[Event, ...] = ()


@dataclass(frozen=True)
class NodeManage:
    """``manage``'s decision for one node.

    ``volatile``: the decision depends on ``now`` or on the failed-pod backoff
    (a failed pod, or a surge replacement waiting for minReadySeconds), so it
    must be made again at every sync; otherwise it holds until the node or its
    pods change. ``backoff``: the state after this node, None when unchanged.
    """

    create: bool = False
    deletes: tuple[PodDelete, ...] = _NO_DELETES
    events: tuple[Event, ...] = _NO_EVENTS
    requeue: float | None = None
    volatile: bool = False
    backoff: BackoffState | None = None

    @property
    def acts(self) -> bool:
        return self.create or bool(self.deletes) or bool(self.events) or self.requeue is not None


IDLE = NodeManage()


def manage_node(ctx: DsContext, name: str, eligibility: tuple[bool, bool] | None,
                pods: Sequence[Mapping[str, Any]] | None, now: float, backoff: BackoffState) -> NodeManage:
    """Upstream podsShouldBeOnNode for one node. ``eligibility`` None: the node does not exist
    (its unscheduled pods are deleted: pod GC never sees them). ``pods``: the node's claimed
    pods, terminal pods being deleted left out."""
    if eligibility is None:
        gone = tuple(PodDelete(pod_name(p), name, DELETE_NODE_MISSING)
                     for p in pods or () if not (p.get("spec") or {}).get("nodeName"))
        return NodeManage(deletes=gone) if gone else IDLE
    should_run, should_continue = eligibility
    if should_run and pods is None:
        return NodeManage(create=True)
    if not should_continue:
        if pods is None:
            return IDLE
        gone = tuple(PodDelete(pod_name(p), name, DELETE_NOT_ELIGIBLE) for p in pods if not is_deleting(p))
        return NodeManage(deletes=gone) if gone else IDLE
    deletes: list[PodDelete] = []
    events: list[Event] = []
    requeue: float | None = None
    volatile = False
    backoff_in = backoff
    running: list[Mapping[str, Any]] = []
    create = False
    if pods is not None and len(pods) > 1:
        pods = sorted(pods, key=pod_order_key)  # which failed pod goes first must not depend on cache order
    for pod in pods or ():
        if is_deleting(pod):
            continue
        phase = pod_phase(pod)
        if phase == "Failed":
            # Kubelets may keep rejecting the pod: back off instead of hot-looping.
            volatile = True
            key = ctx.backoff_prefix + name
            if in_failed_backoff(backoff, key, now):
                delay = backoff[key][0]
                requeue = delay if requeue is None else min(requeue, delay)
                continue
            backoff = next_failed_backoff(backoff, key, now)
            events.append(Event("Warning", "FailedDaemonPod",
                                f"Found failed daemon pod {ctx.namespace}/{pod_name(pod)} on node "
                                f"{name}, will try to kill it"))
            deletes.append(PodDelete(pod_name(pod), name, DELETE_FAILED))
        elif phase == "Succeeded":
            events.append(Event("Normal", "SucceededDaemonPod",
                                f"Found succeeded daemon pod {ctx.namespace}/{pod_name(pod)} on node "
                                f"{name}, will try to delete it"))
            deletes.append(PodDelete(pod_name(pod), name, DELETE_SUCCEEDED))
        else:
            running.append(pod)
    if not ctx.surge:
        if len(running) > 1:
            deletes.extend(PodDelete(pod_name(p), name, DELETE_DUPLICATE) for p in running[1:])
    elif len(running) <= 1:
        create = not running and should_run  # surging: the node needs a live pod now
    else:
        oldest_new = oldest_old = None
        for pod in running:
            if pod_labels(pod).get(HASH_LABEL) == ctx.hash:
                if oldest_new is None:
                    oldest_new = pod
                    continue
            elif oldest_old is None:
                oldest_old = pod
                continue
            deletes.append(PodDelete(pod_name(pod), name, DELETE_DUPLICATE))
        if oldest_new is not None and oldest_old is not None:
            volatile = volatile or ctx.min_ready > 0
            if not is_pod_ready(oldest_old) or is_pod_available(oldest_new, ctx.min_ready, now):
                deletes.append(PodDelete(pod_name(oldest_old), name, DELETE_SURGE_REPLACED))
    if not (create or deletes or events or requeue is not None or volatile):
        return IDLE
    return NodeManage(create, tuple(deletes), tuple(events), requeue, volatile,
                      None if backoff is backoff_in else backoff)


@dataclass
class ManageSum:
    """manage's decisions for many nodes, summed in node order (the backoff state threaded through)."""

    creates: list[str] = field(default_factory=list)
    deletes: list[PodDelete] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    backoff: BackoffState = field(default_factory=dict)
    requeue: float | None = None

    def add(self, name: str, decision: NodeManage) -> None:
        if decision.create:
            self.creates.append(name)
        self.deletes.extend(decision.deletes)
        self.events.extend(decision.events)
        if decision.backoff is not None:
            self.backoff = decision.backoff
        if decision.requeue is not None:
            self.requeue = decision.requeue if self.requeue is None else min(self.requeue, decision.requeue)


def _manage(ctx: DsContext, names: Sequence[str],
            node_pods: Mapping[str, list[Mapping[str, Any]]],
            eligibility: Mapping[str, tuple[bool, bool]], now: float,
            backoff: BackoffState) -> ManageSum:
    out = ManageSum(backoff=backoff)
    for name in names:
        out.add(name, manage_node(ctx, name, eligibility[name], node_pods.get(name), now, out.backoff))
    for target, pods in node_pods.items():
        if target not in eligibility:
            out.add(target, manage_node(ctx, target, None, pods, now, out.backoff))
    return out


# Per-node status counts: (desired, current, misscheduled, ready, available, updated).
StatusCounts = tuple[int, int, int, int, int, int]
NO_COUNTS: StatusCounts = (0, 0, 0, 0, 0, 0)


def node_status(ctx: DsContext, eligibility: tuple[bool, bool] | None,
                pods: Sequence[Mapping[str, Any]] | None, now: float) -> StatusCounts:
    """One node's share of the status counters, from its first pod."""
    if eligibility is None:
        return NO_COUNTS
    if not eligibility[0]:
        return (0, 0, 1, 0, 0, 0) if pods else NO_COUNTS
    if not pods:
        return (1, 0, 0, 0, 0, 0)
    first = pods[0] if len(pods) == 1 else min(pods, key=pod_order_key)
    ready = available = 0
    if is_pod_ready(first):
        ready = 1
        available = 1 if is_pod_available(first, ctx.min_ready, now) else 0
    updated = 1 if is_pod_updated(first, ctx.hash, ctx.generation) else 0
    return (1, 1, 0, ready, available, updated)


def status_counters(totals: Sequence[int]) -> dict[str, int]:
    desired, current, misscheduled, ready, available, updated = totals
    return {
        "desiredNumberScheduled": desired,
        "currentNumberScheduled": current,
        "numberMisscheduled": misscheduled,
        "numberReady": ready,
        "updatedNumberScheduled": updated,
        "numberAvailable": available,
        "numberUnavailable": desired - available,
    }


def compute_status(ds: Mapping[str, Any], names: Sequence[str],
                   node_pods: Mapping[str, list[Mapping[str, Any]]],
                   eligibility: Mapping[str, tuple[bool, bool]], hash: str, now: float) -> dict[str, int]:
    """The seven status counters, from each desired node's first pod (``names``: every node)."""
    ctx = DsContext.of(ds, hash)
    totals = [0] * 6
    for name in names:
        counts = node_status(ctx, eligibility[name], node_pods.get(name), now)
        if counts is not NO_COUNTS:
            for i, v in enumerate(counts):
                totals[i] += v
    return status_counters(totals)


def plan_status(plan: Plan, ds: Mapping[str, Any], counters: dict[str, int], observe: bool) -> None:
    old = dict(ds.get("status") or {})
    generation = _meta(ds).get("generation") or 0
    observed = old.get("observedGeneration") or 0
    unchanged = all((old.get(k) or 0) == v for k, v in counters.items())
    plan.status_changed = not (unchanged and observed >= generation)
    new = {**old, **counters}
    if observe:
        new["observedGeneration"] = generation
    plan.status = new
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    if min_ready > 0 and counters["numberReady"] != counters["numberAvailable"]:
        plan.requeue(float(min_ready))


# --------------------------------------------------------------------- sync

def plan_sync(ds: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]],
              pods: Iterable[Mapping[str, Any]], revisions: Iterable[Mapping[str, Any]],
              now: float, failed_backoff: BackoffState | None = None, *,
              expectations_satisfied: bool = True,
              burst_replicas: int = BURST_REPLICAS) -> Plan:
    """Decide one sync of ``ds``.

    ``nodes``: every Node. ``pods`` / ``revisions``: every Pod / ControllerRevision
    in the DaemonSet's namespace (claiming happens here). ``now``: epoch seconds.
    ``failed_backoff``: the state returned by the previous plan (shared by all
    DaemonSets; keys carry the DaemonSet uid). ``expectations_satisfied``: False
    while earlier creates/deletes are still unobserved -> status only, without
    observedGeneration.
    """
    plan = Plan(failed_backoff=failed_backoff if failed_backoff is not None else {})
    matcher = selector_of(ds, plan)
    if matcher is None:
        return plan
    my_pods, plan.adopt_pods, plan.release_pods = claim(ds, pods, matcher.matches)
    my_revisions, plan.adopt_revisions, plan.release_revisions = claim(ds, revisions, matcher.matches)
    history = plan_history(ds, my_revisions, my_pods, revision_data(ds))
    plan_history_into(plan, ds, history)

    elig = DaemonEligibility(ds)
    names = [_node_name(n) for n in nodes]
    eligibility = {name: elig.evaluate(n) for name, n in zip(names, nodes, strict=True)}
    node_pods = group_by_node(my_pods)
    ctx = DsContext.of(ds, plan.hash)

    if not expectations_satisfied:
        counters = compute_status(ds, names, node_pods, eligibility, plan.hash, now)
        plan_status(plan, ds, counters, observe=False)
        return plan

    managed = _manage(ctx, names, node_pods, eligibility, now, plan.failed_backoff)
    counters = compute_status(ds, names, node_pods, eligibility, plan.hash, now)
    finish_plan(plan, ds, managed,
                lambda: rolling_update(ds, node_pods, eligibility, plan.hash, plan.template_generation, now),
                counters, burst_replicas, lambda: (p for p in my_pods if target_node_of(p) is not None),
                history.old)
    return plan


def selector_of(ds: Mapping[str, Any], plan: Plan) -> Any:
    """The DaemonSet's compiled selector, or None after recording why the sync stops here."""
    spec = ds.get("spec") or {}
    selector = spec.get("selector")
    if _selects_everything(selector):
        plan.events.append(Event("Warning", "SelectingAll",
                                 "This daemon set is selecting all pods. A non-empty selector is required."))
        return None
    if is_deleting(ds):
        return None  # dependents may already be gone: no status either
    try:
        return from_label_selector(selector)
    except ValueError as e:
        plan.errors.append(f"invalid label selector: {e}")
        return None


def plan_history_into(plan: Plan, ds: Mapping[str, Any], history: HistoryPlan) -> None:
    plan.hash = history.hash
    plan.template_generation = template_generation_of(ds)
    plan.revision_create = history.create
    plan.revision_updates = history.updates
    plan.revision_deletes = history.deletes
    plan.relabel_pods = history.relabel_pods


def finish_plan(plan: Plan, ds: Mapping[str, Any], managed: ManageSum,
                rolling_step: Callable[[], RollingResult], counters: dict[str, int],
                burst_replicas: int, targeted_pods: Callable[[], Iterable[Mapping[str, Any]]],
                old_revisions: Sequence[Mapping[str, Any]]) -> None:
    """The rest of a sync after ``manage``: the rolling-update step when manage found nothing
    to do, the burst limit, history cleanup and the status."""
    plan.failed_backoff = managed.backoff
    plan.events.extend(managed.events)
    if managed.requeue is not None:
        plan.requeue(managed.requeue)
    creates, deletes = managed.creates, managed.deletes
    spec = ds.get("spec") or {}
    strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
    if not creates and not deletes and strategy == "RollingUpdate" and not is_paused(ds):
        step = rolling_step()
        if step.error:
            plan.errors.append(step.error)
        else:
            plan.rolling = bool(step.creates or step.deletes)
            creates = step.creates
            deletes = [PodDelete(name, node, DELETE_ROLLING_UPDATE) for name, node in step.deletes]
    plan.creates = creates[:burst_replicas]
    plan.deletes = deletes[:burst_replicas]

    if not plan.errors:
        plan.history_cleanup = history_to_delete(ds, old_revisions, LazyIterable(targeted_pods))
    plan_status(plan, ds, counters, observe=True)


class LazyIterable:
    """An iterable made only when iterated (history cleanup rarely needs the pods)."""

    def __init__(self, make: Callable[[], Iterable[Any]]):
        self.make = make

    def __iter__(self):
        return iter(self.make())
