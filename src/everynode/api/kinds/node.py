"""Node: identity and registry strategy.

A node may carry its status on create (the agent registers with capacity and
addresses); afterwards the main endpoint keeps the stored status and /status
keeps the stored spec.
"""

from __future__ import annotations

import ipaddress

from everynode.api.errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from everynode.api.kind import Kind, Obj
from everynode.api.quantity import canonical_string, parse_quantity, to_milli
from everynode.api.validation import IS_NEGATIVE, is_qualified_name, is_valid_label_value, validate_label_name

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

# Standard resource names whose quantities must be whole numbers.
_INTEGER_RESOURCES = frozenset({
    "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
    "persistentvolumeclaims", "services.nodeports", "services.loadbalancers",
})


def _is_extended_resource(name: str) -> bool:
    # Native resources have no domain or a kubernetes.io domain.
    if "/" not in name or "kubernetes.io/" in name or name.startswith("requests."):
        return False
    return not is_qualified_name("requests." + name)


def is_integer_resource(name: str) -> bool:
    return name in _INTEGER_RESOURCES or name.startswith("count/") or _is_extended_resource(name)


def default(node: Obj) -> None:
    spec = node.get("spec")
    if spec is None:
        # Go's encoder writes an empty struct: upstream answers a Node created without a spec
        # with "spec": {} (and a taint added by a JSON patch needs the object there).
        spec = node["spec"] = {}
    if isinstance(spec, dict):
        # v1 keeps podCIDR and podCIDRs in step (podCIDR is the first entry).
        cidrs = spec.get("podCIDRs")
        if cidrs:
            spec["podCIDR"] = cidrs[0]
        elif spec.get("podCIDR"):
            spec["podCIDRs"] = [spec["podCIDR"]]
    status = node.get("status")
    if isinstance(status, dict) and status.get("allocatable") is None and status.get("capacity") is not None:
        status["allocatable"] = dict(status["capacity"])


def prepare_update(new: Obj, old: Obj) -> None:
    if "status" in old:
        new["status"] = old["status"]
    else:
        new.pop("status", None)


def prepare_status_update(new: Obj, old: Obj) -> None:
    if "spec" in old:
        new["spec"] = old["spec"]
    else:
        new.pop("spec", None)


def validate_taints(taints: list[dict] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(taints or []):
        p = f"{path}[{i}]"
        key = t.get("key") or ""
        value = t.get("value") or ""
        effect = t.get("effect") or ""
        errs.extend(validate_label_name(key, f"{p}.key"))
        msgs = is_valid_label_value(value)
        if msgs:
            errs.append(invalid(f"{p}.value", value, ";".join(msgs)))
        if not effect:
            errs.append(required(f"{p}.effect"))
        elif effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{p}.effect", effect, TAINT_EFFECTS))
        if (key, effect) in seen:
            e = duplicate(p, t)
            e.detail = "taints must be unique by key and effect pair"
            errs.append(e)
            continue
        seen.add((key, effect))
    return errs


def _validate_resources(node: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    status = node.get("status") or {}
    for field in ("capacity", "allocatable"):
        for name, raw in (status.get(field) or {}).items():
            path = f"status.{field}.{name}"
            try:
                q = parse_quantity(raw)
            except ValueError as e:
                errs.append(invalid(path, raw, str(e)))
                continue
            if q < 0:
                errs.append(invalid(path, canonical_string(raw), IS_NEGATIVE))
            if is_integer_resource(name) and to_milli(q) % 1000:
                errs.append(invalid(path, canonical_string(raw), "must be an integer"))
    return errs


def _cidr_family(text: str) -> int | None:
    try:
        return ipaddress.ip_network(text, strict=False).version
    except ValueError:
        return None


def _validate_pod_cidrs(node: Obj) -> list[FieldError]:
    cidrs = (node.get("spec") or {}).get("podCIDRs") or []
    errs: list[FieldError] = []
    families = []
    for i, c in enumerate(cidrs):
        fam = _cidr_family(c) if isinstance(c, str) and "/" in c else None
        if fam is None:
            errs.append(invalid(f"spec.podCIDRs[{i}]", c,
                                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
        families.append(fam)
    if len(cidrs) > 1:
        if len(cidrs) > 2 or None in families or families[0] == families[1]:
            errs.append(invalid("spec.podCIDRs", cidrs, "may specify no more than one CIDR for each IP family"))
        seen: set[str] = set()
        for i, c in enumerate(cidrs):
            if c in seen:
                errs.append(duplicate(f"spec.podCIDRs[{i}]", c))
            seen.add(c)
    return errs


def validate_create(node: Obj) -> list[FieldError]:
    errs = validate_taints((node.get("spec") or {}).get("taints"), "metadata.taints")
    errs.extend(_validate_resources(node))
    errs.extend(_validate_pod_cidrs(node))
    return errs


def _validate_update_only(new: Obj, old: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: list[dict] = []
    for i, addr in enumerate((new.get("status") or {}).get("addresses") or []):
        if addr in seen:
            errs.append(duplicate(f"status.addresses[{i}]", addr))
        seen.append(addr)
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    old_cidrs = old_spec.get("podCIDRs") or []
    new_cidrs = new_spec.get("podCIDRs") or []
    msg = 'node updates may not change podCIDR except from "" to valid'
    if old_cidrs:
        if len(old_cidrs) != len(new_cidrs):
            errs.append(forbidden("spec.podCIDRs", msg))
        else:
            errs.extend(forbidden("spec.podCIDRs", msg) for a, b in zip(old_cidrs, new_cidrs, strict=True)
                        if a != b)
    old_provider = old_spec.get("providerID") or ""
    if old_provider and old_provider != (new_spec.get("providerID") or ""):
        errs.append(forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'))
    if (new_spec.get("externalID") or "") != (old_spec.get("externalID") or ""):
        errs.append(forbidden("spec.externalID", "may not be updated"))
    return errs


def validate_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_create(new) + _validate_update_only(new, old)


def validate_status_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = _validate_resources(new)
    errs.extend(_validate_update_only(new, old))
    errs.extend(validate_taints((new.get("spec") or {}).get("taints"), "metadata.taints"))
    return errs


def _unschedulable(node: Obj) -> str | None:
    return "true" if (node.get("spec") or {}).get("unschedulable") else "false"


KIND = Kind(
    group="",
    version="v1",
    kind="Node",
    plural="nodes",
    singular="node",
    namespaced=False,
    type_name="V1Node",
    short_names=("no",),
    categories=(),
    subresources=("status", "proxy"),
    default=default,
    prepare_update=prepare_update,
    prepare_status_update=prepare_status_update,
    validate_create=validate_create,
    validate_update=validate_update,
    validate_status_update=validate_status_update,
    field_getters={"spec.unschedulable": _unschedulable},
)
