"""Server-side table printing (``Accept: application/json;as=Table;g=meta.k8s.io;v=v1``).

kubectl asks the server for ``meta.k8s.io/v1`` Tables and prints the cells it
gets, so the columns and the cell text here are what a user sees for
``kubectl get``. They follow the upstream printers
(pkg/printers/internalversion) column for column: the same names, types,
priorities (1 = only shown with ``-o wide``) and the same cell formatting.

``TABLES`` maps a resource plural to ``(columns, row_fn)``; ``row_fn(obj, now)``
returns the cells for one object, ``now`` being epoch seconds.
``build_table`` turns objects into the Table the API server returns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from everynode.api.kind import Column, Kind

Obj = dict[str, Any]
RowFn = Callable[[Obj, float], list[Any]]

NONE = "<none>"
UNKNOWN = "<unknown>"

# Pod status.reason set by the node lifecycle controller for pods on an unreachable node.
NODE_UNREACHABLE_POD_REASON = "NodeLost"

NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_ROLE_LABEL = "kubernetes.io/role"


# --- time --------------------------------------------------------------------


def parse_time(value: Any) -> float | None:
    """RFC 3339 timestamp (seconds or micro-seconds precision) -> epoch seconds."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def human_duration(seconds: float) -> str:
    """A short, 2-3 significant figure rendering of a duration (duration.HumanDuration)."""
    whole = int(seconds)  # truncates toward zero, as Go's int(d.Seconds())
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        secs = whole % 60
        return f"{minutes}m" if secs == 0 else f"{minutes}m{secs}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        mins = minutes % 60
        return f"{hours}h" if mins == 0 else f"{hours}h{mins}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def since(timestamp: Any, now: float) -> str:
    """Age of ``timestamp`` at ``now``; ``<unknown>`` when unset."""
    t = parse_time(timestamp)
    if t is None:
        return UNKNOWN
    return human_duration(now - t)


def age(obj: Obj, now: float) -> str:
    return since(_meta(obj).get("creationTimestamp"), now)


# --- small helpers -------------------------------------------------------------


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _name(obj: Obj) -> str:
    return _meta(obj).get("name", "")


def format_labels(labels: dict[str, str] | None) -> str:
    """labels.FormatLabels: sorted ``k=v`` pairs joined by commas, ``<none>`` when empty."""
    if not labels:
        return NONE
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


_SELECTOR_OPS = {"In": "in", "NotIn": "notin"}


def format_label_selector(selector: Obj | None) -> str:
    """metav1.FormatLabelSelector: the selector in label-query syntax."""
    if not selector:
        return NONE
    reqs: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator")
        values = sorted(expr.get("values") or [])
        if op in _SELECTOR_OPS:
            if not values:
                return "<error>"
            reqs.append((key, f"{key} {_SELECTOR_OPS[op]} ({','.join(values)})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            return "<error>"
    reqs.sort(key=lambda r: r[0])
    text = ",".join(r[1] for r in reqs)
    return text or NONE


def container_cells(containers: list[Obj] | None) -> tuple[str, str]:
    """Comma-joined container names and images (layoutContainerCells)."""
    containers = containers or []
    return (",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers))


def _template_spec(obj: Obj) -> Obj:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


# --- columns -----------------------------------------------------------------

NAME = Column("Name", "string", "name", "Name of the object, unique within its namespace (or cluster).")
AGE = Column("Age", "string", "", "Time since the object was created.")
CONTAINERS = Column("Containers", "string", "", "Names of the containers in the pod template.", 1)
IMAGES = Column("Images", "string", "", "Images used by the containers in the pod template.", 1)

NAMESPACE_COLUMNS = [
    NAME,
    Column("Status", "string", "", "Lifecycle phase of the namespace."),
    AGE,
]

NODE_COLUMNS = [
    NAME,
    Column("Status", "string", "", "Readiness of the node, and whether it accepts new pods."),
    Column("Roles", "string", "", "Roles taken from the node's role labels."),
    AGE,
    Column("Version", "string", "", "Version reported by the node agent."),
    Column("Internal-IP", "string", "", "First internal address of the node.", 1),
    Column("External-IP", "string", "", "First external address of the node.", 1),
    Column("OS-Image", "string", "", "Operating system image reported by the node.", 1),
    Column("Kernel-Version", "string", "", "Kernel version reported by the node.", 1),
    Column("Container-Runtime", "string", "", "Container runtime name and version on the node.", 1),
]

POD_COLUMNS = [
    NAME,
    Column("Ready", "string", "", "Ready containers out of all containers of the pod."),
    Column("Status", "string", "", "Summary of the pod's state, derived from its containers."),
    Column("Restarts", "string", "", "Container restarts in the pod, and how long ago the last one was."),
    AGE,
    Column("IP", "string", "", "Pod IP address.", 1),
    Column("Node", "string", "", "Node the pod is bound to.", 1),
    Column("Nominated Node", "string", "", "Node the scheduler nominated for this pod after preemption.", 1),
    Column("Readiness Gates", "string", "", "Readiness gates that are satisfied, out of all gates.", 1),
]

EVENT_COLUMNS = [
    Column("Last Seen", "string", "", "Time since the event was last observed."),
    Column("Type", "string", "", "Type of the event (Normal or Warning)."),
    Column("Reason", "string", "", "Short machine-readable reason for the event."),
    Column("Object", "string", "", "The object the event is about."),
    Column("Subobject", "string", "", "Part of the object the event is about, e.g. a container.", 1),
    Column("Source", "string", "", "Component (and host) that reported the event.", 1),
    Column("Message", "string", "", "Human-readable description of the event."),
    Column("First Seen", "string", "", "Time since the event was first observed.", 1),
    Column("Count", "string", "", "How many times the event has occurred.", 1),
    Column("Name", "string", "name", "Name of the event object.", 1),
]

DAEMONSET_COLUMNS = [
    NAME,
    Column("Desired", "integer", "", "Number of nodes that should run the daemon pod."),
    Column("Current", "integer", "", "Number of nodes running at least one daemon pod that should."),
    Column("Ready", "integer", "", "Number of nodes whose daemon pod is ready."),
    Column("Up-to-date", "integer", "", "Number of nodes running the current pod template."),
    Column("Available", "integer", "", "Number of nodes whose daemon pod has been ready for minReadySeconds."),
    Column("Node Selector", "string", "", "Node labels a node needs to run the daemon pod."),
    AGE,
    CONTAINERS,
    IMAGES,
    Column("Selector", "string", "", "Label query over the pods the daemon set manages.", 1),
]

CONTROLLER_REVISION_COLUMNS = [
    NAME,
    Column("Controller", "string", "", "The object that owns and controls this revision."),
    Column("Revision", "string", "", "Revision number of the stored state."),
    AGE,
]

LEASE_COLUMNS = [
    NAME,
    Column("Holder", "string", "", "Identity of the current holder of the lease."),
    AGE,
]

PRIORITY_CLASS_COLUMNS = [
    NAME,
    Column("Value", "integer", "", "Priority given to pods of this class."),
    Column("Global-Default", "boolean", "", "Whether pods without a class get this one."),
    AGE,
    Column("PreemptionPolicy", "string", "", "Whether pods of this class may preempt lower priority pods."),
]

DEFAULT_COLUMNS = [
    NAME,
    Column("Created At", "date", "", "Time the object was created."),
]


# --- rows --------------------------------------------------------------------


def namespace_row(obj: Obj, now: float) -> list[Any]:
    phase = (obj.get("status") or {}).get("phase", "")
    return [_name(obj), phase, age(obj, now)]


def node_status(node: Obj) -> str:
    conditions = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
    status = []
    ready = conditions.get("Ready")
    if ready is not None:
        status.append("Ready" if ready.get("status") == "True" else "NotReady")
    else:
        status.append("Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def node_roles(node: Obj) -> list[str]:
    roles = set()
    for key, value in (_meta(node).get("labels") or {}).items():
        if key.startswith(NODE_ROLE_PREFIX):
            role = key[len(NODE_ROLE_PREFIX):]
            if role:
                roles.add(role)
        elif key == NODE_ROLE_LABEL and value:
            roles.add(value)
    return sorted(roles)


def _node_address(node: Obj, kind: str) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == kind:
            return addr.get("address", "")
    return NONE


def node_row(obj: Obj, now: float) -> list[Any]:
    info = (obj.get("status") or {}).get("nodeInfo") or {}
    roles = ",".join(node_roles(obj)) or NONE
    return [
        _name(obj), node_status(obj), roles, age(obj, now), info.get("kubeletVersion", ""),
        _node_address(obj, "InternalIP"), _node_address(obj, "ExternalIP"),
        info.get("osImage") or UNKNOWN, info.get("kernelVersion") or UNKNOWN,
        info.get("containerRuntimeVersion") or UNKNOWN,
    ]


def _restartable(container: Obj | None) -> bool:
    """A sidecar: an init container with restartPolicy Always."""
    return bool(container) and container.get("restartPolicy") == "Always"


def _finished_at(status: Obj) -> float | None:
    term = (status.get("lastState") or {}).get("terminated")
    return parse_time(term.get("finishedAt")) if term else None


def _later(current: float | None, candidate: float | None) -> float | None:
    if candidate is None:
        return current
    return candidate if current is None or candidate > current else current


def _terminated_reason(term: Obj, prefix: str) -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _condition_true(conditions: list[Obj], ctype: str) -> bool:
    """Status of the first condition of that type (isPodInitializedConditionTrue)."""
    for c in conditions:
        if c.get("type") == ctype:
            return c.get("status") == "True"
    return False


def pod_summary(pod: Obj) -> tuple[int, int, str, int, float | None]:
    """(ready, total, status reason, restarts, last restart time) as ``kubectl get pods`` shows them."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    conditions = status.get("conditions") or []
    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    for c in conditions:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(1 for c in init_specs.values() if _restartable(c))
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: float | None = None
    last_sidecar_restart: float | None = None

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount") or 0)
        last_restart = _later(last_restart, _finished_at(cs))
        sidecar = _restartable(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            last_sidecar_restart = _later(last_sidecar_restart, _finished_at(cs))
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            reason = _terminated_reason(term, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last_restart = _later(last_restart, _finished_at(cs))
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None:
                reason = _terminated_reason(term, "")
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true_any(conditions, "Ready") else "NotReady"

    if _meta(pod).get("deletionTimestamp"):
        if status.get("reason") == NODE_UNREACHABLE_POD_REASON:
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return ready, total, reason, restarts, last_restart


def _condition_true_any(conditions: list[Obj], ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True" for c in conditions)


def pod_row(obj: Obj, now: float) -> list[Any]:
    ready, total, reason, restarts, last_restart = pod_summary(obj)
    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    pod_ips = status.get("podIPs") or []
    ip = (pod_ips[0].get("ip") if pod_ips else "") or NONE
    gates = spec.get("readinessGates") or []
    gates_text = NONE
    if gates:
        conditions = status.get("conditions") or []
        satisfied = 0
        for gate in gates:
            for c in conditions:
                if c.get("type") == gate.get("conditionType"):
                    satisfied += c.get("status") == "True"
                    break
        gates_text = f"{satisfied}/{len(gates)}"
    return [
        _name(obj), f"{ready}/{total}", reason, restarts_text, age(obj, now),
        ip, spec.get("nodeName") or NONE, status.get("nominatedNodeName") or NONE, gates_text,
    ]


def pod_row_conditions(obj: Obj) -> list[Obj] | None:
    """The 'Completed' row condition upstream attaches to finished pods."""
    phase = (obj.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return None


def _event_source(obj: Obj) -> str:
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    return f"{component}, {host}" if host else component


def event_row(obj: Obj, now: float) -> list[Any]:
    first = since(obj.get("firstTimestamp"), now)
    if not obj.get("firstTimestamp"):
        first = since(obj.get("eventTime"), now)
    last = since(obj.get("lastTimestamp"), now) if obj.get("lastTimestamp") else first
    count = obj.get("count") or 0
    series = obj.get("series")
    if series is not None:
        last = since(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1  # events written through events.k8s.io carry no count
    involved = obj.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last, obj.get("type", ""), obj.get("reason", ""), target, involved.get("fieldPath", ""),
        _event_source(obj), (obj.get("message") or "").strip(), first, int(count), _name(obj),
    ]


def daemonset_row(obj: Obj, now: float) -> list[Any]:
    status = obj.get("status") or {}
    pod_spec = _template_spec(obj)
    names, images = container_cells(pod_spec.get("containers"))
    return [
        _name(obj),
        int(status.get("desiredNumberScheduled") or 0),
        int(status.get("currentNumberScheduled") or 0),
        int(status.get("numberReady") or 0),
        int(status.get("updatedNumberScheduled") or 0),
        int(status.get("numberAvailable") or 0),
        format_labels(pod_spec.get("nodeSelector")),
        age(obj, now),
        names,
        images,
        format_label_selector((obj.get("spec") or {}).get("selector")),
    ]


def controller_name(obj: Obj) -> str:
    """``<kind>.<group>/<name>`` (lower-cased group kind) of the controlling owner, or ``<none>``."""
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            api_version = ref.get("apiVersion", "")
            group = api_version.split("/", 1)[0] if "/" in api_version else ""
            kind = ref.get("kind", "")
            group_kind = f"{kind}.{group}" if group else kind
            if not group_kind:
                return ref.get("name", "")
            return f"{group_kind.lower()}/{ref.get('name', '')}"
    return NONE


def controllerrevision_row(obj: Obj, now: float) -> list[Any]:
    return [_name(obj), controller_name(obj), int(obj.get("revision") or 0), age(obj, now)]


def lease_row(obj: Obj, now: float) -> list[Any]:
    holder = (obj.get("spec") or {}).get("holderIdentity") or ""
    return [_name(obj), holder, age(obj, now)]


def priorityclass_row(obj: Obj, now: float) -> list[Any]:
    return [
        _name(obj), int(obj.get("value") or 0), bool(obj.get("globalDefault", False)),
        age(obj, now), obj.get("preemptionPolicy") or "",
    ]


def rfc3339(timestamp: Any) -> str:
    """A timestamp rendered as Go's time.RFC3339 in UTC (zero time when unset)."""
    t = parse_time(timestamp)
    if t is None:
        return "0001-01-01T00:00:00Z"
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_row(obj: Obj, now: float) -> list[Any]:
    return [_name(obj), rfc3339(_meta(obj).get("creationTimestamp"))]


TABLES: dict[str, tuple[list[Column], RowFn]] = {
    "namespaces": (NAMESPACE_COLUMNS, namespace_row),
    "nodes": (NODE_COLUMNS, node_row),
    "pods": (POD_COLUMNS, pod_row),
    "events": (EVENT_COLUMNS, event_row),
    "daemonsets": (DAEMONSET_COLUMNS, daemonset_row),
    "controllerrevisions": (CONTROLLER_REVISION_COLUMNS, controllerrevision_row),
    "leases": (LEASE_COLUMNS, lease_row),
    "priorityclasses": (PRIORITY_CLASS_COLUMNS, priorityclass_row),
}

ROW_CONDITIONS: dict[str, Callable[[Obj], list[Obj] | None]] = {
    "pods": pod_row_conditions,
}


# --- the Table -----------------------------------------------------------------

INCLUDE_OBJECT_VALUES = ("None", "Metadata", "Object")


def partial_object_metadata(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": _meta(obj)}


def table_spec(kind: Kind) -> tuple[list[Column], RowFn]:
    """The columns and row builder for ``kind``, or upstream's default Name / Created At."""
    if kind.columns and kind.row is not None:
        return kind.columns, kind.row
    return TABLES.get(kind.plural, (DEFAULT_COLUMNS, default_row))


def build_table(kind: Kind, objs: list[Obj], now: float, include_object: str = "Metadata",
                list_meta: Obj | None = None, with_headers: bool = True) -> Obj:
    """A meta.k8s.io/v1 Table of ``objs``.

    ``include_object`` is the request's ``includeObject``: "Metadata" (default,
    also for ""), "Object" or "None". The server sends every column, wide ones
    included; kubectl hides priority > 0 columns unless asked for ``-o wide``.
    ``with_headers=False`` leaves out the column definitions (later watch events).
    """
    columns, row_fn = table_spec(kind)
    conditions_fn = ROW_CONDITIONS.get(kind.plural)
    rows = []
    for obj in objs:
        row: Obj = {"cells": row_fn(obj, now)}
        if conditions_fn is not None:
            conditions = conditions_fn(obj)
            if conditions:
                row["conditions"] = conditions
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "None":
            row["object"] = None
        else:
            row["object"] = partial_object_metadata(obj)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta or {}),
        "columnDefinitions": [c.definition() for c in columns] if with_headers else None,
        "rows": rows,
    }
