"""The rolling-update step (upstream update.go rollingUpdate) and pod state helpers.

Pure: works on the node -> pods grouping the planner built (terminal pods
that are being deleted already removed), per-node eligibility, and ``now``
(epoch seconds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from everynode.api.intstr import get_scaled_value
from everynode.controllers.daemonset.podtemplate import HASH_LABEL, TEMPLATE_GENERATION_LABEL

Pod = Mapping[str, Any]

# ------------------------------------------------------------------ pod state


@lru_cache(maxsize=65536)
def parse_time(value: str | None) -> float | None:
    """An RFC 3339 timestamp as epoch seconds (None when absent or unparsable)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def pod_name(pod: Pod) -> str:
    return (pod.get("metadata") or {}).get("name") or ""


def pod_labels(pod: Pod) -> Mapping[str, str]:
    return (pod.get("metadata") or {}).get("labels") or {}


def is_deleting(obj: Pod) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def pod_phase(pod: Pod) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def is_terminal(pod: Pod) -> bool:
    return pod_phase(pod) in ("Failed", "Succeeded")


def _ready_condition(pod: Pod) -> Mapping[str, Any] | None:
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready":
            return c
    return None


def is_pod_ready(pod: Pod) -> bool:
    c = _ready_condition(pod)
    return c is not None and c.get("status") == "True"


def is_pod_available(pod: Pod, min_ready_seconds: int, now: float) -> bool:
    """podutil.IsPodAvailable: Ready, and Ready for more than minReadySeconds."""
    c = _ready_condition(pod)
    if c is None or c.get("status") != "True":
        return False
    if not min_ready_seconds:
        return True
    since = parse_time(c.get("lastTransitionTime"))
    return since is not None and since + min_ready_seconds < now


def is_pod_updated(pod: Pod, hash: str, template_generation: int | None) -> bool:
    """Pod carries the current hash, or the current pod-template-generation label."""
    labels = pod_labels(pod)
    if template_generation is not None and labels.get(TEMPLATE_GENERATION_LABEL) == str(template_generation):
        return True
    return bool(hash) and labels.get(HASH_LABEL) == hash


def pod_order_key(pod: Pod) -> tuple[int, float, str]:
    """podByCreationTimestampAndPhase: bound pods first, then oldest, then by name."""
    meta = pod.get("metadata") or {}
    created = parse_time(meta.get("creationTimestamp"))
    bound = 0 if (pod.get("spec") or {}).get("nodeName") else 1
    return bound, created if created is not None else float("-inf"), meta.get("name") or ""


# ------------------------------------------------------------------- budgets

def _rolling(ds: Mapping[str, Any]) -> Mapping[str, Any] | None:
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate")


def surge_count(ds: Mapping[str, Any], number_to_schedule: int) -> int:
    """util.SurgeCount: 0 unless RollingUpdate with maxSurge; percents round up. Raises ValueError."""
    r = _rolling(ds)
    if r is None or r.get("maxSurge") is None:
        return 0
    return get_scaled_value(r["maxSurge"], number_to_schedule, True)


def unavailable_count(ds: Mapping[str, Any], number_to_schedule: int) -> int:
    """util.UnavailableCount: 0 unless RollingUpdate; percents round up. Raises ValueError."""
    r = _rolling(ds)
    if r is None:
        return 0
    return get_scaled_value(r.get("maxUnavailable"), number_to_schedule, True)


def allows_surge(ds: Mapping[str, Any]) -> bool:
    """Surge is on when maxSurge resolves above 0 against a single node."""
    try:
        return surge_count(ds, 1) > 0
    except ValueError:
        return False


def update_budgets(ds: Mapping[str, Any], desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) for ``desired`` nodes; both 0 -> maxUnavailable 1.

    Raises ValueError naming the bad field.
    """
    try:
        max_unavailable = unavailable_count(ds, desired)
    except ValueError as e:
        raise ValueError(f"invalid value for MaxUnavailable: {e}") from None
    try:
        max_surge = surge_count(ds, desired)
    except ValueError as e:
        raise ValueError(f"invalid value for MaxSurge: {e}") from None
    if desired > 0 and max_unavailable == 0 and max_surge == 0:
        max_unavailable = 1
    return max_surge, max_unavailable


# ------------------------------------------------------------- rolling step

@dataclass
class RollingResult:
    creates: list[str] = field(default_factory=list)  # node names
    deletes: list[tuple[str, str]] = field(default_factory=list)  # (pod name, node name)
    error: str | None = None
    max_surge: int = 0
    max_unavailable: int = 0


def _updated_pods_on_node(pods: Sequence[Pod], hash: str,
                          generation: int | None) -> tuple[Pod | None, Pod | None, bool]:
    """findUpdatedPodsOnNode: (new, old, ok); ok is False with >1 new or >1 old live pod."""
    new = old = None
    for pod in pods:
        if is_deleting(pod):
            continue
        if is_pod_updated(pod, hash, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


# Per-node categories of a rolling-update step.
PLAIN_UNAVAILABLE, PLAIN_REPLACE, PLAIN_CANDIDATE = "unavailable", "replace", "candidate"
SURGING, SURGE_DELETE_OLD, SURGE_FORCED, SURGE_NOT_RUN, SURGE_CANDIDATE, SURGE_MISSING = (
    "surging", "delete-old", "forced", "not-run", "candidate", "missing")


@dataclass(frozen=True)
class RollNode:
    """One node's part in a rolling-update step, for both kinds of step: ``plain``
    (maxSurge 0) and ``surge``. ``old``: the name of its live pod of an older revision."""

    plain: str | None = None
    surge: str | None = None
    available: bool = False  # surge: its (old, else new) pod counts as available
    old: str = ""


def roll_node(pods: Sequence[Pod], eligibility: tuple[bool, bool] | None, hash: str,
              generation: int | None, min_ready: int, now: float) -> RollNode:
    """The categories of a node in the step's visit (a node with pods, or a desired node)."""
    new, old, ok = _updated_pods_on_node(pods, hash, generation)
    if not ok:
        return RollNode(PLAIN_UNAVAILABLE, SURGING)  # manage prunes the extras first
    new_ok = new is not None and is_pod_available(new, min_ready, now)
    old_ok = old is not None and is_pod_available(old, min_ready, now)
    available = old_ok if old is not None else new_ok
    if old is None:
        return RollNode(None if new_ok else PLAIN_UNAVAILABLE, None, available)
    name = pod_name(old)
    if new is not None:
        return RollNode(PLAIN_UNAVAILABLE, SURGE_DELETE_OLD if new_ok else SURGING, available, name)
    plain = PLAIN_CANDIDATE if old_ok else PLAIN_REPLACE
    if eligibility is None:
        surge = SURGE_MISSING
    elif not old_ok:
        surge = SURGE_FORCED if eligibility[0] else SURGE_DELETE_OLD
    else:
        surge = SURGE_CANDIDATE if eligibility[0] else SURGE_NOT_RUN
    return RollNode(plain, surge, available, name)


class RollTally:
    """The visited nodes' ``RollNode``s summed up; nodes can be added and removed again."""

    def __init__(self) -> None:
        self.unavailable = 0  # plain step
        self.surging = 0
        self.available = 0
        self.plain: dict[str, dict[str, str]] = {PLAIN_REPLACE: {}, PLAIN_CANDIDATE: {}}
        self.surge: dict[str, dict[str, str]] = {k: {} for k in (SURGE_DELETE_OLD, SURGE_FORCED, SURGE_NOT_RUN,
                                                                 SURGE_CANDIDATE, SURGE_MISSING)}

    def add(self, node: str, r: RollNode, sign: int = 1) -> None:
        if r.plain == PLAIN_UNAVAILABLE or r.plain == PLAIN_REPLACE:
            self.unavailable += sign
        if r.surge == SURGING:
            self.surging += sign
        if r.available:
            self.available += sign
        for table, category in ((self.plain, r.plain), (self.surge, r.surge)):
            if category in table:
                if sign > 0:
                    table[category][node] = r.old
                else:
                    table[category].pop(node, None)

    def remove(self, node: str, r: RollNode) -> None:
        self.add(node, r, -1)

    @property
    def any_old(self) -> bool:
        return any(self.plain.values()) or any(self.surge.values()) or self.surging > 0

    def step(self, ds: Mapping[str, Any], desired: int) -> RollingResult:
        """rollingUpdate over the tallied nodes (``desired``: nodes that should run the pod).

        Which old pods go first among equals is the tally's order (Go's map order upstream):
        a candidate only counts while the budget has room, so taking the first ``room`` of
        them decides the same as visiting nodes one by one."""
        result = RollingResult()
        try:
            max_surge, max_unavailable = update_budgets(ds, desired)
        except ValueError as e:
            result.error = f"couldn't get unavailable numbers: {e}"
            return result
        result.max_surge, result.max_unavailable = max_surge, max_unavailable
        if max_surge == 0:
            # Delete just enough old pods to stay within maxUnavailable; manage re-creates them.
            replace = [(pod, node) for node, pod in self.plain[PLAIN_REPLACE].items()]
            room = max(0, max_unavailable - self.unavailable)
            candidates = self.plain[PLAIN_CANDIDATE]
            picked = [(pod, node) for node, pod in _first(candidates, room)]
            result.deletes = replace + picked
            return result
        # Surge: create new pods first, delete an old pod once its replacement is available.
        if self.surge[SURGE_MISSING]:
            node = min(self.surge[SURGE_MISSING])
            result.error = f'couldn\'t get node for nodeName "{node}": node "{node}" not found'
            return result
        old_to_delete = [(pod, node) for node, pod in self.surge[SURGE_DELETE_OLD].items()]
        # Keep the application fully available when its placement moves: only drop
        # pods on nodes that no longer qualify once enough pods elsewhere are available.
        deletable = self.available - desired
        if deletable > 0:
            old_to_delete.extend((pod, node) for node, pod in _first(self.surge[SURGE_NOT_RUN], deletable))
        room = max(0, max_surge - self.surging)
        result.creates = list(self.surge[SURGE_FORCED]) + [n for n, _ in _first(self.surge[SURGE_CANDIDATE], room)]
        result.deletes = old_to_delete
        return result


def _first(items: Mapping[str, str], n: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if n <= 0:
        return out
    for item in items.items():
        out.append(item)
        if len(out) >= n:
            break
    return out


def rolling_update(ds: Mapping[str, Any], node_pods: Mapping[str, Sequence[Pod]],
                   eligibility: Mapping[str, tuple[bool, bool]], hash: str,
                   generation: int | None, now: float) -> RollingResult:
    """Pods to delete (and, when surging, nodes to create on) for one rolling-update step.

    ``node_pods`` maps target node -> live daemon pods. ``eligibility`` maps
    every known node to (shouldRun, shouldContinueRunning); nodes absent from it
    do not exist. Visits every node with pods and every desired node.
    """
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    tally = RollTally()
    desired = 0
    for node, pods in node_pods.items():
        tally.add(node, roll_node(pods, eligibility.get(node), hash, generation, min_ready, now))
    for node, (run, _) in eligibility.items():
        if run:
            desired += 1
            if node not in node_pods:
                tally.add(node, roll_node((), eligibility[node], hash, generation, min_ready, now))
    return tally.step(ds, desired)
