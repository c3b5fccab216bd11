"""Event (core/v1): identity and registry strategy.

Served through core/v1 only, so the lenient legacy validation applies: the
event's namespace must agree with involvedObject.namespace, and events that
carry an eventTime (the newer shape) must name their reporting component,
instance, action and reason.
"""

from __future__ import annotations

from everynode.api.errors import FieldError, invalid, required
from everynode.api.kind import Kind, Obj
from everynode.api.validation import is_dns1123_subdomain, is_qualified_name

REPORTING_INSTANCE_LIMIT = 128
ACTION_LIMIT = 128
REASON_LIMIT = 128
NOTE_LIMIT = 1024


def _too_long(path: str, limit: int) -> FieldError:
    return invalid(path, "", f"can have at most {limit} characters")


def _mismatch(involved_ns: str) -> FieldError:
    return invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")


def validate_event(ev: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    namespace = (ev.get("metadata") or {}).get("namespace") or ""
    involved = ev.get("involvedObject") or {}
    involved_ns = involved.get("namespace") or ""
    if not ev.get("eventTime"):
        if not involved_ns:
            # Empty involved namespace: the event must be cluster-wide or in "default" (old clients).
            if namespace not in ("", "default"):
                errs.append(_mismatch(involved_ns))
        elif namespace != involved_ns:
            errs.append(_mismatch(involved_ns))
    else:
        if not involved_ns and namespace not in ("default", "kube-system"):
            errs.append(_mismatch(involved_ns))
        controller = ev.get("reportingComponent") or ""
        if not controller:
            errs.append(required("reportingComponent"))
        errs.extend(invalid("reportingComponent", controller, m) for m in is_qualified_name(controller))
        instance = ev.get("reportingInstance") or ""
        if not instance:
            errs.append(required("reportingInstance"))
        if len(instance) > REPORTING_INSTANCE_LIMIT:
            errs.append(_too_long("reportingInstance", REPORTING_INSTANCE_LIMIT))
        action = ev.get("action") or ""
        if not action:
            errs.append(required("action"))
        if len(action) > ACTION_LIMIT:
            errs.append(_too_long("action", ACTION_LIMIT))
        reason = ev.get("reason") or ""
        if not reason:
            errs.append(required("reason"))
        if len(reason) > REASON_LIMIT:
            errs.append(_too_long("reason", REASON_LIMIT))
        if len(ev.get("message") or "") > NOTE_LIMIT:
            errs.append(_too_long("message", NOTE_LIMIT))
    errs.extend(invalid("namespace", namespace, m) for m in is_dns1123_subdomain(namespace))
    return errs


def validate_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_event(new)


def _involved(field: str):
    def get(ev: Obj) -> str | None:
        return str((ev.get("involvedObject") or {}).get(field) or "")
    return get


def _top(field: str):
    def get(ev: Obj) -> str | None:
        return str(ev.get(field) or "")
    return get


def _source(ev: Obj) -> str | None:
    return (ev.get("source") or {}).get("component") or ev.get("reportingComponent") or ""


FIELD_GETTERS = {
    "involvedObject.kind": _involved("kind"),
    "involvedObject.namespace": _involved("namespace"),
    "involvedObject.name": _involved("name"),
    "involvedObject.uid": _involved("uid"),
    "involvedObject.apiVersion": _involved("apiVersion"),
    "involvedObject.resourceVersion": _involved("resourceVersion"),
    "involvedObject.fieldPath": _involved("fieldPath"),
    "reason": _top("reason"),
    "reportingComponent": _top("reportingComponent"),
    "source": _source,
    "type": _top("type"),
}

KIND = Kind(
    group="",
    version="v1",
    kind="Event",
    plural="events",
    singular="event",
    namespaced=True,
    type_name="CoreV1Event",
    short_names=("ev",),
    categories=(),
    subresources=(),
    validate_create=validate_event,
    validate_update=validate_update,
    field_getters=FIELD_GETTERS,
    verbatim_fields=frozenset(FIELD_GETTERS),
)
