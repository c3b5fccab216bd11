"""ControllerRevision (apps/v1): identity and registry strategy.

A revision is an immutable snapshot: ``data`` is required and never changes;
``revision`` is a non-negative number.
"""

from __future__ import annotations

from everynode.api.errors import FieldError, invalid, required
from everynode.api.kind import Kind, Obj
from everynode.api.validation import FIELD_IMMUTABLE, validate_nonnegative


def default(cr: Obj) -> None:
    # revision is a plain int64 upstream: absent reads as 0.
    if cr.get("revision") is None:
        cr["revision"] = 0


def validate_create(cr: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    if cr.get("data") is None:
        errs.append(required("data", "data is mandatory"))
    errs.extend(validate_nonnegative(cr.get("revision"), "revision"))
    return errs


def validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_create(new)
    if new.get("data") != old.get("data"):
        errs.append(invalid("data", new.get("data"), FIELD_IMMUTABLE))
    return errs


KIND = Kind(
    group="apps",
    version="v1",
    kind="ControllerRevision",
    plural="controllerrevisions",
    singular="controllerrevision",
    namespaced=True,
    type_name="V1ControllerRevision",
    short_names=(),
    categories=(),
    subresources=(),
    default=default,
    validate_create=validate_create,
    validate_update=validate_update,
)
