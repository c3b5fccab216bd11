"""Pod status as the kubelet reports it, computed from what the agent knows.

Pure functions: given the pod, the agent's view of each container (``CState``)
and the clock, they produce the ``status`` dict the agent writes to
pods/status. The rules follow the kubelet: the phase from the container
states and restart policy, the kubelet-owned conditions (with their
lastTransitionTime kept while their status does not change), container
statuses with waiting/running/terminated states and lastState, and the
QoS class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from everynode.api.quantity import parse_quantity
from everynode.apiserver.objects import now_rfc3339

Obj = dict[str, Any]

KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
TERMINAL = ("Succeeded", "Failed")


@dataclass
class ContainerRun:
    """One instance (attempt) of a container, as the runtime reports it."""

    id: str
    name: str
    attempt: int
    image: str = ""
    image_id: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str = ""
    message: str = ""

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.finished_at is None

    @property
    def exited(self) -> bool:
        return self.finished_at is not None


@dataclass
class CState:
    """The agent's view of one container of a pod."""

    name: str
    image: str  # the image as the spec names it
    current: ContainerRun | None = None
    previous: ContainerRun | None = None
    restart_count: int = 0
    waiting_reason: str = ""  # set while the container waits (ContainerCreating, CrashLoopBackOff, ...)
    waiting_message: str = ""
    ready: bool = False
    started: bool = False
    extra: dict = field(default_factory=dict)


def rfc3339(ts: float | None) -> str | None:
    return None if ts is None else now_rfc3339(ts)


def terminated_state(run: ContainerRun) -> Obj:
    out: Obj = {"exitCode": run.exit_code if run.exit_code is not None else 0}
    if run.reason:
        out["reason"] = run.reason
    if run.message:
        out["message"] = run.message
    out["startedAt"] = rfc3339(run.started_at)
    out["finishedAt"] = rfc3339(run.finished_at)
    out["containerID"] = run.id
    return out


def container_status(cs: CState, default_waiting: str, init: bool = False) -> Obj:
    """The v1.ContainerStatus of one container (an init container that succeeded is ready)."""
    run = cs.current
    out: Obj = {"name": cs.name, "ready": False, "restartCount": cs.restart_count,
                "image": cs.image, "imageID": "", "started": False}
    last: Obj = {}
    if run is None:
        out["state"] = {"waiting": _waiting(cs.waiting_reason or default_waiting, cs.waiting_message)}
        if cs.previous is not None and cs.previous.exited:
            last = {"terminated": terminated_state(cs.previous)}
            out["containerID"] = cs.previous.id
            out["image"], out["imageID"] = cs.previous.image or cs.image, cs.previous.image_id
        out["lastState"] = last
        return out
    out["containerID"] = run.id
    out["image"] = run.image or cs.image
    out["imageID"] = run.image_id
    out["restartCount"] = run.attempt
    if run.running:
        out["state"] = {"running": {"startedAt": rfc3339(run.started_at)}}
        out["ready"] = cs.ready
        out["started"] = cs.started
        if cs.previous is not None and cs.previous.exited:
            last = {"terminated": terminated_state(cs.previous)}
    elif cs.waiting_reason:
        # Exited and waiting to be restarted (CrashLoopBackOff): the exit moves to lastState.
        out["state"] = {"waiting": _waiting(cs.waiting_reason, cs.waiting_message)}
        last = {"terminated": terminated_state(run)}
    elif run.exited:
        out["state"] = {"terminated": terminated_state(run)}
        out["ready"] = init and run.exit_code == 0
        if cs.previous is not None and cs.previous.exited:
            last = {"terminated": terminated_state(cs.previous)}
    else:
        out["state"] = {"waiting": _waiting(default_waiting, "")}
    out["lastState"] = last
    return out


def _waiting(reason: str, message: str) -> Obj:
    w: Obj = {"reason": reason}
    if message:
        w["message"] = message
    return w


# ------------------------------------------------------------------ phase


def _state_kind(status: Obj) -> str:
    state = status.get("state") or {}
    for k in ("running", "terminated", "waiting"):
        if k in state:
            return k
    return ""


def _has_last_termination(status: Obj) -> bool:
    return "terminated" in (status.get("lastState") or {})


def any_regular_started(spec: Obj, by_name: dict[str, Obj]) -> bool:
    """Whether a regular container has ever started (running or terminated now)."""
    return any(_state_kind(by_name.get(c["name"], {})) in ("running", "terminated")
               for c in spec.get("containers") or [])


def _is_sidecar(container: Obj) -> bool:
    return container.get("restartPolicy") == "Always"


def get_phase(spec: Obj, init_statuses: list[Obj], statuses: list[Obj], terminal: bool,
              static: bool = False) -> str:
    """The pod phase, by the kubelet's rules (restartable init containers included)."""
    by_name = {s["name"]: s for s in [*init_statuses, *statuses]}
    restart_policy = spec.get("restartPolicy") or "Always"
    pending_init = failed_init = 0
    unknown = running = waiting = stopped = succeeded = 0
    for c in spec.get("initContainers") or []:
        s = by_name.get(c["name"])
        if _is_sidecar(c):
            if s is None:
                unknown += 1
                continue
            k = _state_kind(s)
            if k == "running":
                if not s.get("started"):
                    pending_init += 1
                running += 1
            elif k == "waiting" and not _has_last_termination(s):
                pending_init += 1
                waiting += 1
            elif k not in ("terminated", "waiting"):
                pending_init += 1
                unknown += 1
            continue
        if s is None:
            pending_init += 1
            continue
        k = _state_kind(s)
        if k == "running":
            pending_init += 1
        elif k == "terminated":
            if s["state"]["terminated"].get("exitCode", 0) != 0:
                failed_init += 1
        elif k == "waiting":
            if _has_last_termination(s):
                if s["lastState"]["terminated"].get("exitCode", 0) != 0:
                    failed_init += 1
            else:
                pending_init += 1
        else:
            pending_init += 1
    for c in spec.get("containers") or []:
        s = by_name.get(c["name"])
        if s is None:
            unknown += 1
            continue
        k = _state_kind(s)
        if k == "running":
            running += 1
        elif k == "terminated":
            stopped += 1
            if s["state"]["terminated"].get("exitCode", 0) == 0:
                succeeded += 1
        elif k == "waiting":
            if _has_last_termination(s):
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    if failed_init > 0 and restart_policy == "Never":
        return "Failed"
    regular_started = any_regular_started(spec, by_name)
    if (pending_init > 0 and not regular_started) or waiting > 0:
        return "Pending"
    if running > 0 and unknown == 0:
        return "Running"
    if running == 0 and stopped > 0 and unknown == 0:
        if terminal and not static:
            return "Succeeded" if stopped == succeeded else "Failed"
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


# ------------------------------------------------------------- conditions


def _names(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"


def containers_ready_condition(spec: Obj, statuses: list[Obj], phase: str) -> Obj:
    by_name = {s["name"]: s for s in statuses}
    unknown, unready = [], []
    watched = [c for c in spec.get("initContainers") or [] if _is_sidecar(c)] + list(spec.get("containers") or [])
    for c in watched:
        s = by_name.get(c["name"])
        if s is None:
            unknown.append(c["name"])
        elif not s.get("ready"):
            unready.append(c["name"])
    if phase == "Succeeded" and not unknown:
        return {"type": "ContainersReady", "status": "False", "reason": "PodCompleted"}
    if phase == "Failed":
        return {"type": "ContainersReady", "status": "False", "reason": "PodFailed"}
    msgs = []
    if unknown:
        msgs.append(f"containers with unknown status: {_names(unknown)}")
    if unready:
        msgs.append(f"containers with unready status: {_names(unready)}")
    if msgs:
        return {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                "message": ", ".join(msgs)}
    return {"type": "ContainersReady", "status": "True"}


def ready_condition(spec: Obj, conditions: list[Obj], statuses: list[Obj], phase: str) -> Obj:
    cr = containers_ready_condition(spec, statuses, phase)
    if cr["status"] != "True":
        return {**cr, "type": "Ready"}
    msgs = []
    by_type = {c.get("type"): c for c in conditions}
    for gate in spec.get("readinessGates") or []:
        t = gate.get("conditionType")
        c = by_type.get(t)
        if c is None:
            msgs.append(f'corresponding condition of pod readiness gate "{t}" does not exist.')
        elif c.get("status") != "True":
            msgs.append(f'the status of pod readiness gate "{t}" is not "True", but {c.get("status")}')
    if msgs:
        return {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady", "message": ", ".join(msgs)}
    return {"type": "Ready", "status": "True"}


def initialized_condition(spec: Obj, statuses: list[Obj], phase: str) -> Obj:
    by_name = {s["name"]: s for s in statuses}
    unknown, incomplete = [], []
    for c in spec.get("initContainers") or []:
        s = by_name.get(c["name"])
        if s is None:
            unknown.append(c["name"])
            continue
        done = bool(s.get("started")) if _is_sidecar(c) else bool(s.get("ready"))
        if not done:
            incomplete.append(c["name"])
    if phase == "Succeeded" and not unknown:
        return {"type": "Initialized", "status": "True", "reason": "PodCompleted"}
    if any_regular_started(spec, by_name):
        return {"type": "Initialized", "status": "True"}
    msgs = []
    if unknown:
        msgs.append(f"containers with unknown status: {_names(unknown)}")
    if incomplete:
        msgs.append(f"containers with incomplete status: {_names(incomplete)}")
    if msgs:
        return {"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized",
                "message": ", ".join(msgs)}
    return {"type": "Initialized", "status": "True"}


def kubelet_conditions(pod: Obj, init_statuses: list[Obj], statuses: list[Obj], phase: str,
                       sandbox_ready: bool) -> list[Obj]:
    """Conditions not owned by the kubelet first (kept as they are), then the kubelet's own."""
    spec = pod.get("spec") or {}
    old = (pod.get("status") or {}).get("conditions") or []
    out = [dict(c) for c in old if c.get("type") not in KUBELET_CONDITIONS]
    all_statuses = [*init_statuses, *statuses]
    out.append({"type": "PodReadyToStartContainers", "status": "True" if sandbox_ready else "False"})
    out.append(initialized_condition(spec, all_statuses, phase))
    out.append(ready_condition(spec, out, all_statuses, phase))
    out.append(containers_ready_condition(spec, all_statuses, phase))
    out.append({"type": "PodScheduled", "status": "True"})
    return out


def stamp_conditions(new: list[Obj], old: list[Obj], now: str, generation: int | None = None) -> list[Obj]:
    """Keep lastTransitionTime while a condition's status is unchanged (as the status manager does)."""
    prev = {c.get("type"): c for c in old}
    out = []
    for c in new:
        if c.get("type") not in KUBELET_CONDITIONS:
            out.append(c)
            continue
        p = prev.get(c["type"])
        stamped: Obj = {"type": c["type"], "status": c["status"]}
        if generation is not None:
            stamped["observedGeneration"] = generation
        stamped["lastProbeTime"] = None
        if p is not None and p.get("status") == c["status"] and p.get("lastTransitionTime"):
            stamped["lastTransitionTime"] = p["lastTransitionTime"]
        else:
            stamped["lastTransitionTime"] = now
        if c.get("reason"):
            stamped["reason"] = c["reason"]
        if c.get("message"):
            stamped["message"] = c["message"]
        out.append(stamped)
    return out


# -------------------------------------------------------------------- QoS


def _resource_list(c: Obj, which: str) -> dict[str, Any]:
    return ((c.get("resources") or {}).get(which)) or {}


def qos_class(spec: Obj) -> str:
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    requests: dict[str, float] = {}
    limits: dict[str, float] = {}
    guaranteed = True
    for c in containers:
        lim = {k: v for k, v in _resource_list(c, "limits").items() if k in ("cpu", "memory")}
        req = {k: v for k, v in _resource_list(c, "requests").items() if k in ("cpu", "memory")}
        for k, v in req.items():
            if float(parse_quantity(v)) != 0:
                requests[k] = requests.get(k, 0) + float(parse_quantity(v))
        for k, v in lim.items():
            if float(parse_quantity(v)) != 0:
                limits[k] = limits.get(k, 0) + float(parse_quantity(v))
        if set(lim) != {"cpu", "memory"}:
            guaranteed = False
        for k, v in req.items():
            if k in lim and float(parse_quantity(v)) != float(parse_quantity(lim[k])):
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        return "Guaranteed"
    return "Burstable"


# ---------------------------------------------------------------- helpers


def go_duration(seconds: float) -> str:
    """Go's time.Duration String() for whole seconds: 10s, 1m20s, 5m0s, 1h0m0s."""
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h{m}m{sec}s"
    if m:
        return f"{m}m{sec}s"
    return f"{sec}s"


def format_pod(pod: Obj) -> str:
    """The kubelet's format.Pod: name_namespace(uid)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL
