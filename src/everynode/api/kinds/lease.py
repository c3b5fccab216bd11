"""Lease (coordination.k8s.io/v1): identity and registry strategy."""

from __future__ import annotations

from everynode.api.errors import FieldError, forbidden, invalid, not_supported
from everynode.api.kind import Kind, Obj
from everynode.api.validation import is_qualified_name

# Coordinated leader election strategies defined by Kubernetes itself.
LEASE_STRATEGIES = ("OldestEmulationVersion",)


def validate_lease_spec(spec: dict | None, path: str = "spec") -> list[FieldError]:
    spec = spec or {}
    errs: list[FieldError] = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        errs.append(invalid(f"{path}.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if isinstance(transitions, int) and transitions < 0:
        errs.append(invalid(f"{path}.leaseTransitions", transitions, "must be greater than or equal to 0"))
    strategy = spec.get("strategy")
    if strategy is not None:
        # Upstream reports these one level deeper than the field itself.
        spath = f"{path}.strategy.strategy"
        if "/" not in strategy:
            if strategy not in LEASE_STRATEGIES:
                errs.append(not_supported(spath, strategy, LEASE_STRATEGIES))
        else:
            errs.extend(invalid(spath, strategy, m) for m in is_qualified_name(strategy))
    if spec.get("preferredHolder") and not strategy:
        errs.append(forbidden(f"{path}.preferredHolder", "may only be specified if `strategy` is defined"))
    return errs


def validate_create(lease: Obj) -> list[FieldError]:
    return validate_lease_spec(lease.get("spec"))


def validate_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_lease_spec(new.get("spec"))


KIND = Kind(
    group="coordination.k8s.io",
    version="v1",
    kind="Lease",
    plural="leases",
    singular="lease",
    namespaced=True,
    type_name="V1Lease",
    short_names=(),
    categories=(),
    subresources=(),
    validate_create=validate_create,
    validate_update=validate_update,
    commit_delay=0.05,  # renewals: 1,000 a second at 10,000 nodes
)
