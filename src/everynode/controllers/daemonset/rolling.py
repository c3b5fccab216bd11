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


def rolling_update(ds: Mapping[str, Any], node_pods: Mapping[str, Sequence[Pod]],
                   eligibility: Mapping[str, tuple[bool, bool]], hash: str,
                   generation: int | None, now: float) -> RollingResult:
    """Pods to delete (and, when surging, nodes to create on) for one rolling-update step.

    ``node_pods`` maps target node -> live daemon pods (any order of nodes;
    visiting order decides which candidates win, as Go's map order does
    upstream). ``eligibility`` maps every known node to (shouldRun,
    shouldContinueRunning); nodes absent from it do not exist.
    """
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    desired_nodes = [n for n, (run, _) in eligibility.items() if run]
    visit: dict[str, Sequence[Pod]] = dict(node_pods)
    for n in desired_nodes:
        visit.setdefault(n, ())
    result = RollingResult()
    try:
        max_surge, max_unavailable = update_budgets(ds, len(desired_nodes))
    except ValueError as e:
        result.error = f"couldn't get unavailable numbers: {e}"
        return result
    result.max_surge, result.max_unavailable = max_surge, max_unavailable

    def available(pod: Pod) -> bool:
        return is_pod_available(pod, min_ready, now)

    if max_surge == 0:
        # Delete just enough old pods to stay within maxUnavailable; manage re-creates them.
        unavailable = 0
        replacements: list[tuple[str, str]] = []
        candidates: list[tuple[str, str]] = []
        for node, pods in visit.items():
            new, old, ok = _updated_pods_on_node(pods, hash, generation)
            if not ok:
                unavailable += 1  # manage prunes the extras first
                continue
            if (old is None) == (new is None):
                unavailable += 1  # empty node, or old+new: manage sorts it out
            elif new is not None:
                if not available(new):
                    unavailable += 1
            elif not available(old):
                replacements.append((pod_name(old), node))
                unavailable += 1
            elif unavailable < max_unavailable:
                candidates.append((pod_name(old), node))
        room = min(max(0, max_unavailable - unavailable), len(candidates))
        result.deletes = replacements + candidates[:room]
        return result

    # Surge: create new pods first, delete an old pod once its replacement is available.
    surging = 0
    available_count = 0
    old_to_delete: list[tuple[str, str]] = []
    should_not_run: list[tuple[str, str]] = []
    candidate_nodes: list[str] = []
    forced_nodes: list[str] = []
    for node, pods in visit.items():
        new, old, ok = _updated_pods_on_node(pods, hash, generation)
        if not ok:
            surging += 1
            continue
        if old is not None:
            available_count += available(old)
        elif new is not None:
            available_count += available(new)
        if old is None:
            continue
        if new is None:
            if node not in eligibility:
                result.error = f'couldn\'t get node for nodeName "{node}": node "{node}" not found'
                return result
            should_run = eligibility[node][0]
            if not available(old):
                if not should_run:
                    old_to_delete.append((pod_name(old), node))
                else:
                    forced_nodes.append(node)
            elif not should_run:
                should_not_run.append((pod_name(old), node))
            elif surging < max_surge:
                candidate_nodes.append(node)
        elif not available(new):
            surging += 1
        else:
            old_to_delete.append((pod_name(old), node))

    # Keep the application fully available when its placement moves: only drop
    # pods on nodes that no longer qualify once enough pods elsewhere are available.
    deletable = available_count - len(desired_nodes)
    if deletable > 0:
        old_to_delete.extend(should_not_run[:deletable])
    room = min(max(0, max_surge - surging), len(candidate_nodes))
    result.creates = forced_nodes + candidate_nodes[:room]
    result.deletes = old_to_delete
    return result
