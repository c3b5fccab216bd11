"""Which container instance ``kubectl logs`` reads, and the errors it gets, as the kubelet decides.

Pure: given the pod (its API status) and the request, pick the container
instance (by containerID) or raise ``LogError`` with the kubelet's message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from everynode.node.logs import LogOptions

Obj = dict[str, Any]


class LogError(Exception):
    def __init__(self, message: str, code: int = 400):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class LogRequest:
    container: str = ""
    previous: bool = False
    options: LogOptions | None = None


def all_containers(pod: Obj) -> list[Obj]:
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or []),
            *(spec.get("ephemeralContainers") or [])]


def choose_container(pod: Obj, container: str) -> str:
    """The API server's rules for the container of pods/log (BadRequest otherwise)."""
    name = (pod.get("metadata") or {}).get("name", "")
    spec = pod.get("spec") or {}
    if not container:
        regular = spec.get("containers") or []
        if len(regular) == 1:
            return regular[0]["name"]
        if not regular:
            raise LogError(f"a container name must be specified for pod {name}")
        names = " ".join(c["name"] for c in all_containers(pod))
        raise LogError(f"a container name must be specified for pod {name}, choose one of: [{names}]")
    if not any(c.get("name") == container for c in all_containers(pod)):
        raise LogError(f"container {container} is not valid for pod {name}")
    return container


def select_instance(pod: Obj, container: str, previous: bool) -> str:
    """The containerID whose log to read (the kubelet's validateContainerLogStatus)."""
    name = (pod.get("metadata") or {}).get("name", "")
    status = pod.get("status") or {}
    found = None
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for s in status.get(key) or []:
            if s.get("name") == container:
                found = s
                break
        if found is not None:
            break
    if found is None:
        raise LogError(f'container "{container}" in pod "{name}" is not available')
    state = found.get("state") or {}
    last = (found.get("lastState") or {}).get("terminated")
    if previous:
        if not last or not last.get("containerID"):
            raise LogError(f'previous terminated container "{container}" in pod "{name}" not found')
        return last["containerID"]
    if "running" in state:
        return found.get("containerID", "")
    if "terminated" in state:
        cid = state["terminated"].get("containerID") or ""
        if cid:
            return cid
        if last and last.get("containerID"):
            return last["containerID"]
        raise LogError(f'container "{container}" in pod "{name}" is terminated')
    if last:
        if not last.get("containerID"):
            raise LogError(f'container "{container}" in pod "{name}" is terminated')
        return last["containerID"]
    if "waiting" in state:
        reason = state["waiting"].get("reason", "")
        if reason == "ErrImagePull":
            raise LogError(f'container "{container}" in pod "{name}" is waiting to start: image can\'t be pulled')
        if reason == "ImagePullBackOff":
            raise LogError(f'container "{container}" in pod "{name}" is waiting to start: trying and failing '
                           f"to pull image")
        raise LogError(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    raise LogError(f'container "{container}" in pod "{name}" is waiting to start - no logs yet')


def _int(q, key: str) -> int | None:
    v = q.get(key)
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise LogError(f"invalid value for {key}: {v!r}") from None


def _bool(q, key: str) -> bool:
    return (q.get(key) or "").lower() in ("true", "1")


def parse_query(q, now: float) -> tuple[str, bool, LogOptions]:
    """PodLogOptions from a pods/log query -> (container, previous, options); validation as upstream."""
    tail = _int(q, "tailLines")
    since = _int(q, "sinceSeconds")
    limit = _int(q, "limitBytes")
    since_time = q.get("sinceTime")
    problems = []
    if tail is not None and tail < 0:
        problems.append(("tailLines", tail, "must be greater than or equal to 0"))
    if limit is not None and limit < 1:
        problems.append(("limitBytes", limit, "must be greater than 0"))
    if since is not None and since < 1:
        problems.append(("sinceSeconds", since, "must be greater than 0"))
    if since is not None and since_time:
        problems.append(("", "", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    stream = q.get("stream") or "All"
    if stream not in ("All", "Stdout", "Stderr"):
        problems.append(("stream", stream, 'supported values: "All", "Stderr", "Stdout"'))
    if problems:
        raise InvalidOptions(problems)
    since_ns = None
    if since is not None:
        since_ns = int((now - since) * 1e9)
    elif since_time:
        try:
            ts = dt.datetime.fromisoformat(since_time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise LogError(f"invalid value for sinceTime: {since_time!r}") from None
        since_ns = int(ts * 1e9)
    opts = LogOptions(follow=_bool(q, "follow"), tail_lines=tail, since_ns=since_ns,
                      timestamps=_bool(q, "timestamps"), limit_bytes=limit, stream=stream)
    return q.get("container") or "", _bool(q, "previous"), opts


class InvalidOptions(Exception):
    """422 Invalid PodLogOptions: (field, value, detail) triples."""

    def __init__(self, problems: list[tuple[str, Any, str]]):
        super().__init__("; ".join(p[2] for p in problems))
        self.problems = problems
