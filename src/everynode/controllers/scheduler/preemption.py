"""Pod priority and the DefaultPreemption PostFilter (pure).

When a pod fits nowhere, preemption looks at the nodes whose rejection could
be resolved by removing pods (NodeResourcesFit, NodePorts). On each it
removes every lower-priority pod, checks the preemptor fits, then adds pods
back most important first (higher priority, then earlier start), keeping
only those that must go: the minimal victim set. Among candidate nodes it
prefers the lowest highest-victim priority, then the lowest sum of victim
priorities, the fewest victims, the latest start among the most important
victims, then name order. No PodDisruptionBudgets are served, so none are
counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from everynode.controllers.scheduler.filters import (
    Diagnosis,
    NodeInfo,
    NominatedFn,
    PodInfo,
    Rejection,
    filter_node,
    fit_error_message,
    rejected,
)

Obj = dict[str, Any]

PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPT_NEVER = "Never"

REASON_NO_VICTIMS = "No preemption victims found for incoming pod"
REASON_NOT_HELPFUL = "Preemption is not helpful for scheduling"
MSG_POLICY_NEVER = "not eligible due to preemptionPolicy=Never."
MSG_TERMINATING_VICTIM = "not eligible due to a terminating pod on the nominated node."
MESSAGE_PREFIX = "preemption: "

DISRUPTION_TARGET = "DisruptionTarget"
REASON_PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"

# DefaultPreemptionArgs defaults.
MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------ priority

def default_priority_class(classes: Mapping[str, Obj]) -> Obj | None:
    """The globalDefault class; with several (a race), the one with the lowest value."""
    best: Obj | None = None
    for pc in classes.values():
        if pc.get("globalDefault") and (best is None or (pc.get("value") or 0) < (best.get("value") or 0)):
            best = pc
    return best


def resolve_priority(pod: Obj, classes: Mapping[str, Obj]) -> tuple[int, str]:
    """(priority, preemptionPolicy) as the Priority admission plugin would have set them.

    ``spec.priority`` / ``spec.preemptionPolicy`` win when present; otherwise the class named
    by ``priorityClassName`` (or the global default class) supplies them; else 0 and
    PreemptLowerPriority.
    """
    spec = _d(pod.get("spec"))
    name = spec.get("priorityClassName") or ""
    pc = classes.get(name) if name else default_priority_class(classes)
    priority = spec.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool):
        priority = int(_d(pc).get("value") or 0)
    policy = spec.get("preemptionPolicy") or _d(pc).get("preemptionPolicy") or PREEMPT_LOWER_PRIORITY
    return priority, policy


def importance(pi: PodInfo) -> tuple[int, float]:
    """Sort key, most important first: higher priority, then the pod that started earlier."""
    return -pi.priority, pi.start_time


def terminating_by_preemption(pod: Obj) -> bool:
    if not _d(pod.get("metadata")).get("deletionTimestamp"):
        return False
    for c in _d(pod.get("status")).get("conditions") or []:
        if _d(c).get("type") == DISRUPTION_TARGET:
            return c.get("status") == "True" and c.get("reason") == REASON_PREEMPTION_BY_SCHEDULER
    return False


# ------------------------------------------------------------------- victims

def select_victims(pod: PodInfo, info: NodeInfo,
                   nominated: NominatedFn | None = None) -> tuple[list[PodInfo], Rejection | None]:
    """SelectVictimsOnNode: the minimal set of lower-priority pods to remove so ``pod`` fits,
    most important first; or no victims and the rejection that preemption cannot resolve."""
    potential = [p for p in info.pods.values() if p.priority < pod.priority]
    if not potential:
        return [], rejected(REASON_NO_VICTIMS)
    sim = info.clone()
    for p in potential:
        sim.remove_pod(p.uid)
    why = filter_node(pod, sim, nominated)
    if why is not None:
        return [], why
    potential.sort(key=importance)
    victims: list[PodInfo] = []
    for p in potential:  # reprieve as many as possible, most important first
        sim.add_pod(p)
        if filter_node(pod, sim, nominated) is not None:
            sim.remove_pod(p.uid)
            victims.append(p)
    return victims, None


def num_candidates(potential: int) -> int:
    n = potential * MIN_CANDIDATE_NODES_PERCENTAGE // 100
    return min(max(n, MIN_CANDIDATE_NODES_ABSOLUTE), potential)


def find_candidates(pod: PodInfo, infos: Mapping[str, NodeInfo], diag: Diagnosis,
                    nominated: NominatedFn | None = None) -> tuple[dict[str, list[PodInfo]], dict[str, Rejection]]:
    """DryRunPreemption over the nodes whose rejection was resolvable, in name order."""
    potential = sorted(n for n in diag.resolvable_nodes() if n in infos)
    wanted = num_candidates(len(potential))
    candidates: dict[str, list[PodInfo]] = {}
    statuses: dict[str, Rejection] = {}
    for name in potential:
        victims, why = select_victims(pod, infos[name], nominated)
        if why is None and victims:
            candidates[name] = victims
            if len(candidates) >= wanted:
                break
        else:
            statuses[name] = why or rejected(REASON_NO_VICTIMS)
    return candidates, statuses


def _earliest_start_of_most_important(victims: list[PodInfo]) -> float:
    top = max(v.priority for v in victims)
    return min(v.start_time for v in victims if v.priority == top)


def pick_node(candidates: Mapping[str, list[PodInfo]]) -> str:
    """pickOneNodeForPreemption with the default score functions; final ties by name."""
    scorers = (
        lambda n: -max(v.priority for v in candidates[n]),
        lambda n: -sum(v.priority + 2**31 for v in candidates[n]),
        lambda n: -len(candidates[n]),
        lambda n: _earliest_start_of_most_important(candidates[n]),
    )
    names = sorted(candidates)
    for score in scorers:
        if len(names) == 1:
            break
        best = max(score(n) for n in names)
        names = [n for n in names if score(n) == best]
    return names[0]


# ---------------------------------------------------------------- postfilter

@dataclass
class PreemptionResult:
    """What the PostFilter decided.

    ``node``: the node to nominate once ``victims`` are gone (None: no preemption);
    ``message``: the post-filter message appended to the FitError ("" on success);
    ``clear_nomination``: the pod's nominatedNodeName must be cleared.
    """

    node: str | None = None
    victims: list[PodInfo] = field(default_factory=list)
    message: str = ""
    clear_nomination: bool = False


def eligibility_problem(pod: PodInfo, policy: str, infos: Mapping[str, NodeInfo],
                        diag: Diagnosis) -> str | None:
    """PodEligibleToPreemptOthers: why the pod may not preempt (None when it may)."""
    if policy == PREEMPT_NEVER:
        return MSG_POLICY_NEVER
    nominated_node = _d(pod.pod.get("status")).get("nominatedNodeName")
    if nominated_node:
        status = diag.status(nominated_node)
        if status is None or not status.resolvable:
            return None
        info = infos.get(nominated_node)
        if info is not None:
            for p in info.pods.values():
                if p.priority < pod.priority and terminating_by_preemption(p.pod):
                    return MSG_TERMINATING_VICTIM
    return None


def preempt(pod: PodInfo, policy: str, infos: Mapping[str, NodeInfo], diag: Diagnosis,
            nominated: NominatedFn | None = None) -> PreemptionResult:
    """The DefaultPreemption PostFilter for a pod that fit nowhere (``diag`` says why)."""
    problem = eligibility_problem(pod, policy, infos, diag)
    if problem:
        return PreemptionResult(message=MESSAGE_PREFIX + problem)
    candidates, statuses = find_candidates(pod, infos, diag, nominated)
    if not candidates:
        failed = Diagnosis(num_nodes=diag.num_nodes, statuses=statuses, absent=rejected(REASON_NOT_HELPFUL))
        return PreemptionResult(message=MESSAGE_PREFIX + fit_error_message(failed), clear_nomination=True)
    node = pick_node(candidates)
    return PreemptionResult(node=node, victims=candidates[node])


def preemption_condition_message(scheduler_name: str) -> str:
    return f"{scheduler_name}: preempting to accommodate a higher priority pod"


def preempted_event_message(preemptor_uid: str, node: str) -> str:
    return f"Preempted by pod {preemptor_uid} on node {node}"
