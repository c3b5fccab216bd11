"""PriorityClass (scheduling.k8s.io/v1): identity and registry strategy.

Names starting with "system-" are reserved for the two built-in classes the
API server creates at start (``BUILTIN_PRIORITY_CLASSES``), which cannot be
deleted; user classes may not exceed ``HIGHEST_USER_DEFINABLE_PRIORITY``.
"""

from __future__ import annotations

import copy

from everynode.api.errors import ApiError, FieldError, forbidden, invalid, not_supported, required
from everynode.api.kind import Kind, Obj

SYSTEM_PREFIX = "system-"
HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY
SYSTEM_NODE_CRITICAL = "system-node-critical"
SYSTEM_CLUSTER_CRITICAL = "system-cluster-critical"
PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPT_NEVER = "Never"
PREEMPTION_POLICIES = (PREEMPT_LOWER_PRIORITY, PREEMPT_NEVER)


def _builtin(name: str, value: int, description: str) -> Obj:
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name},
        "value": value,
        "description": description,
        "preemptionPolicy": PREEMPT_LOWER_PRIORITY,
    }


BUILTIN_PRIORITY_CLASSES: tuple[Obj, ...] = (
    _builtin(SYSTEM_NODE_CRITICAL, SYSTEM_CRITICAL_PRIORITY + 1000,
             "Used for system critical pods that must not be moved from their current node."),
    _builtin(SYSTEM_CLUSTER_CRITICAL, SYSTEM_CRITICAL_PRIORITY,
             "Used for system critical pods that must run in the cluster, but can be moved to another "
             "node if necessary."),
)


def builtin_priority_classes() -> list[Obj]:
    """Fresh copies of the built-in classes, ready to create."""
    return [copy.deepcopy(pc) for pc in BUILTIN_PRIORITY_CLASSES]


def _known_system_class_error(name: str, value: object, global_default: bool) -> str | None:
    for pc in BUILTIN_PRIORITY_CLASSES:
        if pc["metadata"]["name"] == name:
            if pc["value"] != value:
                return f"value of {name} PriorityClass must be {pc['value']}"
            if bool(pc.get("globalDefault")) != global_default:
                return f"globalDefault of {name} PriorityClass must be {'true' if pc.get('globalDefault') else 'false'}"
            return None
    return f"{name} is not a known system priority class"


def default(pc: Obj) -> None:
    if pc.get("preemptionPolicy") is None:
        pc["preemptionPolicy"] = PREEMPT_LOWER_PRIORITY
    # value is a plain int32 upstream: absent reads as 0.
    if pc.get("value") is None:
        pc["value"] = 0


def validate_create(pc: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    name = (pc.get("metadata") or {}).get("name") or ""
    value = pc.get("value")
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**31) <= value < 2**31:
        errs.append(invalid("value", value, "must be a 32-bit integer"))
        value = None
    if name.startswith(SYSTEM_PREFIX):
        why = _known_system_class_error(name, value, bool(pc.get("globalDefault")))
        if why:
            errs.append(forbidden("metadata.name", f"priority class names with '{SYSTEM_PREFIX}' prefix are "
                                  f"reserved for system use only. error: {why}"))
    elif value is not None and value > HIGHEST_USER_DEFINABLE_PRIORITY:
        errs.append(forbidden("value", "maximum allowed value of a user defined priority is "
                              f"{HIGHEST_USER_DEFINABLE_PRIORITY}"))
    policy = pc.get("preemptionPolicy")
    if policy is not None:
        if policy == "":
            errs.append(required("preemptionPolicy"))
        elif policy not in PREEMPTION_POLICIES:
            errs.append(not_supported("preemptionPolicy", policy, PREEMPTION_POLICIES))
    return errs


def validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_create(new)
    if new.get("value") != old.get("value"):
        errs.append(forbidden("value", "may not be changed in an update."))
    if new.get("preemptionPolicy") != old.get("preemptionPolicy"):
        errs.append(invalid("preemptionPolicy", new.get("preemptionPolicy"), "field is immutable"))
    return errs


def delete_forbidden(name: str) -> ApiError | None:
    """The error for deleting a built-in class, None when the delete may go ahead."""
    if any(pc["metadata"]["name"] == name for pc in BUILTIN_PRIORITY_CLASSES):
        return ApiError(403, "Forbidden",
                        f'priorityclasses.scheduling.k8s.io "{name}" is forbidden: '
                        "this is a system priority class and cannot be deleted",
                        {"name": name, "group": "scheduling.k8s.io", "kind": "priorityclasses"})
    return None


KIND = Kind(
    group="scheduling.k8s.io",
    version="v1",
    kind="PriorityClass",
    plural="priorityclasses",
    singular="priorityclass",
    namespaced=False,
    type_name="V1PriorityClass",
    short_names=("pc",),
    categories=(),
    subresources=(),
    default=default,
    validate_create=validate_create,
    validate_update=validate_update,
)
