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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from everynode.api.selectors import from_label_selector
from everynode.controllers.daemonset.eligibility import DaemonEligibility
from everynode.controllers.daemonset.history import history_to_delete, plan_history, revision_data
from everynode.controllers.daemonset.podtemplate import HASH_LABEL, target_node_of, template_generation_of
from everynode.controllers.daemonset.rolling import (
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


def claim(ds: Mapping[str, Any], objects: Iterable[Mapping[str, Any]],
          matches: Any) -> tuple[list[Mapping[str, Any]], list[ObjectRef], list[ObjectRef]]:
    """ClaimObject over ``objects``: (claimed incl. adoptions, to adopt, to release)."""
    meta = _meta(ds)
    uid = meta.get("uid") or ""
    namespace = meta.get("namespace") or ""
    ds_deleting = is_deleting(ds)
    claimed: list[Mapping[str, Any]] = []
    adopt: list[ObjectRef] = []
    release: list[ObjectRef] = []
    for obj in objects:
        m = _meta(obj)
        owner = _controller_uid(obj)
        labels = m.get("labels") or {}
        if owner is not None:
            if owner != uid:
                continue
            if matches(labels):
                claimed.append(obj)
            elif not ds_deleting:
                release.append(ObjectRef(m.get("name") or "", m.get("uid") or ""))
            continue
        if ds_deleting or not matches(labels) or is_deleting(obj):
            continue
        if namespace and (m.get("namespace") or namespace) != namespace:
            continue
        adopt.append(ObjectRef(m.get("name") or "", m.get("uid") or ""))
        claimed.append(obj)
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


@dataclass
class _Manage:
    creates: list[str] = field(default_factory=list)
    deletes: list[PodDelete] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    backoff: BackoffState = field(default_factory=dict)
    requeue: float | None = None


def _manage(ds: Mapping[str, Any], names: Sequence[str],
            node_pods: Mapping[str, list[Mapping[str, Any]]],
            eligibility: Mapping[str, tuple[bool, bool]], hash: str, now: float,
            backoff: BackoffState) -> _Manage:
    out = _Manage(backoff=backoff)
    surge = allows_surge(ds)
    namespace = _meta(ds).get("namespace") or ""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    for name in names:
        should_run, should_continue = eligibility[name]
        pods = node_pods.get(name)
        if should_run and pods is None:
            out.creates.append(name)
        elif should_continue:
            running: list[Mapping[str, Any]] = []
            for pod in pods or ():
                if is_deleting(pod):
                    continue
                phase = pod_phase(pod)
                if phase == "Failed":
                    # Kubelets may keep rejecting the pod: back off instead of hot-looping.
                    key = failed_backoff_key(ds, name)
                    if in_failed_backoff(out.backoff, key, now):
                        delay = out.backoff[key][0]
                        out.requeue = delay if out.requeue is None else min(out.requeue, delay)
                        continue
                    out.backoff = next_failed_backoff(out.backoff, key, now)
                    out.events.append(Event("Warning", "FailedDaemonPod",
                                            f"Found failed daemon pod {namespace}/{pod_name(pod)} on node "
                                            f"{name}, will try to kill it"))
                    out.deletes.append(PodDelete(pod_name(pod), name, DELETE_FAILED))
                elif phase == "Succeeded":
                    out.events.append(Event("Normal", "SucceededDaemonPod",
                                            f"Found succeeded daemon pod {namespace}/{pod_name(pod)} on node "
                                            f"{name}, will try to delete it"))
                    out.deletes.append(PodDelete(pod_name(pod), name, DELETE_SUCCEEDED))
                else:
                    running.append(pod)
            if not surge:
                if len(running) > 1:
                    running.sort(key=pod_order_key)
                    out.deletes.extend(PodDelete(pod_name(p), name, DELETE_DUPLICATE) for p in running[1:])
                continue
            if len(running) <= 1:
                if not running and should_run:
                    out.creates.append(name)  # surging: the node needs a live pod now
                continue
            running.sort(key=pod_order_key)
            oldest_new = oldest_old = None
            for pod in running:
                if pod_labels(pod).get(HASH_LABEL) == hash:
                    if oldest_new is None:
                        oldest_new = pod
                        continue
                elif oldest_old is None:
                    oldest_old = pod
                    continue
                out.deletes.append(PodDelete(pod_name(pod), name, DELETE_DUPLICATE))
            if oldest_new is not None and oldest_old is not None:
                if not is_pod_ready(oldest_old) or is_pod_available(oldest_new, min_ready, now):
                    out.deletes.append(PodDelete(pod_name(oldest_old), name, DELETE_SURGE_REPLACED))
        elif pods is not None:
            out.deletes.extend(PodDelete(pod_name(p), name, DELETE_NOT_ELIGIBLE)
                               for p in pods if not is_deleting(p))
    # Unscheduled pods aimed at nodes that no longer exist: pod GC never sees them.
    for target, pods in node_pods.items():
        if target in eligibility:
            continue
        out.deletes.extend(PodDelete(pod_name(p), target, DELETE_NODE_MISSING)
                           for p in pods if not (p.get("spec") or {}).get("nodeName"))
    return out


def compute_status(ds: Mapping[str, Any], names: Sequence[str],
                   node_pods: Mapping[str, list[Mapping[str, Any]]],
                   eligibility: Mapping[str, tuple[bool, bool]], hash: str, now: float) -> dict[str, int]:
    """The seven status counters, from each desired node's first pod (``names``: every node)."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    generation = template_generation_of(ds)
    desired = current = misscheduled = ready = updated = available = 0
    for name in names:
        pods = node_pods.get(name)
        if eligibility[name][0]:
            desired += 1
            if not pods:
                continue
            current += 1
            first = pods[0] if len(pods) == 1 else min(pods, key=pod_order_key)
            if is_pod_ready(first):
                ready += 1
                if is_pod_available(first, min_ready, now):
                    available += 1
            if is_pod_updated(first, hash, generation):
                updated += 1
        elif pods:
            misscheduled += 1
    return {
        "desiredNumberScheduled": desired,
        "currentNumberScheduled": current,
        "numberMisscheduled": misscheduled,
        "numberReady": ready,
        "updatedNumberScheduled": updated,
        "numberAvailable": available,
        "numberUnavailable": desired - available,
    }


def _status_plan(plan: Plan, ds: Mapping[str, Any], counters: dict[str, int], observe: bool) -> None:
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
    spec = ds.get("spec") or {}
    selector = spec.get("selector")
    if _selects_everything(selector):
        plan.events.append(Event("Warning", "SelectingAll",
                                 "This daemon set is selecting all pods. A non-empty selector is required."))
        return plan
    if is_deleting(ds):
        return plan  # dependents may already be gone: no status either
    try:
        matcher = from_label_selector(selector)
    except ValueError as e:
        plan.errors.append(f"invalid label selector: {e}")
        return plan

    my_pods, plan.adopt_pods, plan.release_pods = claim(ds, pods, matcher.matches)
    my_revisions, plan.adopt_revisions, plan.release_revisions = claim(ds, revisions, matcher.matches)

    history = plan_history(ds, my_revisions, my_pods, revision_data(ds))
    plan.hash = history.hash
    plan.template_generation = template_generation_of(ds)
    plan.revision_create = history.create
    plan.revision_updates = history.updates
    plan.revision_deletes = history.deletes
    plan.relabel_pods = history.relabel_pods

    elig = DaemonEligibility(ds)
    names = [_node_name(n) for n in nodes]
    eligibility = {name: elig.evaluate(n) for name, n in zip(names, nodes, strict=True)}
    node_pods = group_by_node(my_pods)

    if not expectations_satisfied:
        counters = compute_status(ds, names, node_pods, eligibility, plan.hash, now)
        _status_plan(plan, ds, counters, observe=False)
        return plan

    managed = _manage(ds, names, node_pods, eligibility, plan.hash, now, plan.failed_backoff)
    plan.failed_backoff = managed.backoff
    plan.events.extend(managed.events)
    if managed.requeue is not None:
        plan.requeue(managed.requeue)
    creates, deletes = managed.creates, managed.deletes
    strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
    if not creates and not deletes and strategy == "RollingUpdate" and not is_paused(ds):
        step = rolling_update(ds, node_pods, eligibility, plan.hash, plan.template_generation, now)
        if step.error:
            plan.errors.append(step.error)
        else:
            plan.rolling = bool(step.creates or step.deletes)
            creates = step.creates
            deletes = [PodDelete(name, node, DELETE_ROLLING_UPDATE) for name, node in step.deletes]
    plan.creates = creates[:burst_replicas]
    plan.deletes = deletes[:burst_replicas]

    if not plan.errors:
        targeted = [p for p in my_pods if target_node_of(p) is not None]
        plan.history_cleanup = history_to_delete(ds, history.old, targeted)
    counters = compute_status(ds, names, node_pods, eligibility, plan.hash, now)
    _status_plan(plan, ds, counters, observe=True)
    return plan
