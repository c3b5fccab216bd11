"""Namespace: identity and registry strategy.

Create marks the namespace Active and makes sure spec.finalizers holds
"kubernetes"; spec.finalizers can then only change through /finalize and
status only through /status. The "kubernetes.io/metadata.name" label always
equals the name.
"""

from __future__ import annotations

from everynode.api.errors import FieldError, invalid, not_supported
from everynode.api.kind import Kind, Obj
from everynode.api.validation import (
    is_dns1123_label,
    is_dns1123_subdomain,
    validate_finalizer_name,
)

FINALIZER_KUBERNETES = "kubernetes"
LABEL_METADATA_NAME = "kubernetes.io/metadata.name"
ACTIVE = "Active"
TERMINATING = "Terminating"
# Finalizer names without a domain prefix that a namespace spec may carry.
STANDARD_FINALIZERS = ("foregroundDeletion", "kubernetes", "orphan")


def _set_name_label(ns: Obj) -> None:
    meta = ns.setdefault("metadata", {})
    name = meta.get("name")
    if name:
        labels = meta.get("labels") or {}
        labels[LABEL_METADATA_NAME] = name
        meta["labels"] = labels


def default(ns: Obj) -> None:
    _set_name_label(ns)
    status = ns.get("status")
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = ACTIVE


def prepare_create(ns: Obj) -> None:
    ns["status"] = {"phase": ACTIVE}
    spec = ns.get("spec") or {}
    finalizers = list(spec.get("finalizers") or [])
    if FINALIZER_KUBERNETES not in finalizers:
        finalizers.append(FINALIZER_KUBERNETES)
    spec["finalizers"] = finalizers
    ns["spec"] = spec
    _set_name_label(ns)


def prepare_update(new: Obj, old: Obj) -> None:
    spec = dict(new.get("spec") or {})
    old_finalizers = (old.get("spec") or {}).get("finalizers")
    if old_finalizers is None:
        spec.pop("finalizers", None)
    else:
        spec["finalizers"] = list(old_finalizers)
    new["spec"] = spec
    _copy_or_drop(new, old, "status")
    _set_name_label(new)


def prepare_status_update(new: Obj, old: Obj) -> None:
    _copy_or_drop(new, old, "spec")
    _set_name_label(new)


def prepare_finalize(new: Obj, old: Obj) -> None:
    """The /finalize subresource: only spec.finalizers may change."""
    _copy_or_drop(new, old, "status")
    _set_name_label(new)


def _copy_or_drop(new: Obj, old: Obj, key: str) -> None:
    if key in old:
        new[key] = old[key]
    else:
        new.pop(key, None)


def _kube_finalizer_errors(name: str, path: str) -> list[FieldError]:
    errs = validate_finalizer_name(name, path)
    if "/" not in name and name not in STANDARD_FINALIZERS:
        errs.append(not_supported(path, name, STANDARD_FINALIZERS))
    return errs


def _name_errors(ns: Obj) -> list[FieldError]:
    # The server already reports names that are not DNS subdomains; a namespace
    # name must also be a DNS label (no dots, at most 63 characters).
    name = (ns.get("metadata") or {}).get("name") or ""
    if not name or is_dns1123_subdomain(name):
        return []
    return [invalid("metadata.name", name, m) for m in is_dns1123_label(name)]


def validate_create(ns: Obj) -> list[FieldError]:
    errs = _name_errors(ns)
    for f in (ns.get("spec") or {}).get("finalizers") or []:
        errs.extend(_kube_finalizer_errors(f, "spec.finalizers"))
    return errs


def validate_update(new: Obj, old: Obj) -> list[FieldError]:
    return []


def validate_status_update(new: Obj, old: Obj) -> list[FieldError]:
    phase = (new.get("status") or {}).get("phase") or ""
    if not (new.get("metadata") or {}).get("deletionTimestamp"):
        if phase != ACTIVE:
            return [invalid("status.Phase", phase, "may only be 'Active' if `deletionTimestamp` is empty")]
    elif phase != TERMINATING:
        return [invalid("status.Phase", phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")]
    return []


def validate_finalize(new: Obj, old: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, f in enumerate((new.get("spec") or {}).get("finalizers") or []):
        errs.extend(_kube_finalizer_errors(f, f"spec.finalizers[{i}]"))
    return errs


def _phase(ns: Obj) -> str | None:
    return (ns.get("status") or {}).get("phase") or ""


KIND = Kind(
    group="",
    version="v1",
    kind="Namespace",
    plural="namespaces",
    singular="namespace",
    namespaced=False,
    type_name="V1Namespace",
    short_names=("ns",),
    categories=(),
    subresources=("status", "finalize"),
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),  # no deletecollection
    default=default,
    prepare_create=prepare_create,
    prepare_update=prepare_update,
    prepare_status_update=prepare_status_update,
    validate_create=validate_create,
    validate_update=validate_update,
    validate_status_update=validate_status_update,
    field_getters={"status.phase": _phase},
)
