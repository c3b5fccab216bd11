"""DaemonSet: identity and registry strategy (apps/v1; pkg/registry/apps/daemonset).

The internal ``spec.templateGeneration`` of upstream lives, in apps/v1, only in
the server-owned annotation ``deprecated.daemonset.template.generation``: set to
1 (or a larger value the creator supplied) on create, kept on updates and
incremented when the template changes. ``metadata.generation`` is bumped by the
generic server for spec changes (``has_generation``).
"""

from __future__ import annotations

from typing import Any

from everynode.api.errors import FieldError, bad_request, forbidden, invalid, not_supported, required
from everynode.api.intstr import (
    int_value,
    percent_value,
    validate_int_or_percent,
    validate_not_more_than_100_percent,
)
from everynode.api.kind import Kind
from everynode.api.podspec import default_pod_template, semantic_equal, validate_pod_template_spec
from everynode.api.selectors import from_label_selector
from everynode.api.validation import (
    FIELD_IMMUTABLE,
    validate_label_selector,
    validate_nonnegative,
    validate_object_meta_update,
)
from everynode.jsondata import json_copy

Obj = dict[str, Any]

TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
DEFAULT_REVISION_HISTORY_LIMIT = 10
# Status counters Go always serializes (no omitempty) and the ones it omits at zero.
ALWAYS_SERIALIZED = ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady")
OMITTED_AT_ZERO = ("observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable")


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- defaulting ----------------------------------------------------------------------

def default(ds: Obj) -> None:
    """SetDefaults_DaemonSet plus the pod template defaults."""
    spec = ds.get("spec")
    if not isinstance(spec, dict):
        return
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = 1
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = DEFAULT_REVISION_HISTORY_LIMIT
    template = spec.get("template")
    if isinstance(template, dict):
        default_pod_template(template)


# --- template generation ---------------------------------------------------------------

def _parse_int64(text: str) -> int:
    """Go strconv.ParseInt(text, 10, 64); ApiError 400 with Go's wording when invalid."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if body and body.isascii() and body.isdigit():
        value = int(text)
        if -(1 << 63) <= value < (1 << 63):
            return value
        raise bad_request(f'strconv.ParseInt: parsing "{text}": value out of range')
    raise bad_request(f'strconv.ParseInt: parsing "{text}": invalid syntax')


def template_generation(ds: Obj) -> int:
    """The template generation recorded in the annotation (0 when absent)."""
    value = _d(_d(ds.get("metadata")).get("annotations")).get(TEMPLATE_GENERATION_ANNOTATION)
    if value is None:
        return 0
    return _parse_int64(str(value))


def _set_template_generation(ds: Obj, generation: int) -> None:
    meta = ds.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = meta["annotations"] = {}
    annotations[TEMPLATE_GENERATION_ANNOTATION] = str(generation)


def normalize_status(status: Any) -> Obj:
    """The status as a Go round trip writes it: four counters always, zero-valued others omitted."""
    status = dict(status) if isinstance(status, dict) else {}
    for key in ALWAYS_SERIALIZED:
        status.setdefault(key, 0)
    for key in OMITTED_AT_ZERO:
        if status.get(key) == 0 or (key in status and status[key] is None):
            status.pop(key)
    if status.get("collisionCount", 0) is None:
        status.pop("collisionCount")
    if not status.get("conditions") and "conditions" in status:
        status.pop("conditions")
    return status


# --- strategy ----------------------------------------------------------------------------

def prepare_create(ds: Obj) -> None:
    ds["status"] = normalize_status({})
    ds.setdefault("metadata", {})["generation"] = 1
    _set_template_generation(ds, max(template_generation(ds), 1))


def prepare_update(new: Obj, old: Obj) -> None:
    """Status is kept; the template generation is the stored one, plus one on a template change."""
    template_generation(new)  # an unparsable annotation fails like upstream's decoding
    new["status"] = json_copy(old.get("status", normalize_status({})))
    generation = template_generation(old)
    if not semantic_equal(_d(new.get("spec")).get("template"), _d(old.get("spec")).get("template")):
        generation += 1
    _set_template_generation(new, generation)


def prepare_status_update(new: Obj, old: Obj) -> None:
    """/status keeps the stored spec (the template generation included)."""
    template_generation(new)
    new["spec"] = json_copy(old.get("spec"))
    new["status"] = normalize_status(new.get("status"))
    _set_template_generation(new, template_generation(old))


# --- validation ---------------------------------------------------------------------------

def validate_rolling_update(rolling: Obj, path: str) -> list[FieldError]:
    max_unavailable, max_surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    mu_path, ms_path = f"{path}.maxUnavailable", f"{path}.maxSurge"
    errs = validate_int_or_percent(max_unavailable, mu_path)
    errs += validate_int_or_percent(max_surge, ms_path)
    errs += validate_not_more_than_100_percent(max_unavailable, mu_path)
    errs += validate_not_more_than_100_percent(max_surge, ms_path)
    has_unavailable = _int_or_percent(max_unavailable) != 0
    has_surge = _int_or_percent(max_surge) != 0
    if has_unavailable and has_surge:
        errs.append(invalid(ms_path, max_surge, "may not be set when maxUnavailable is non-zero"))
    elif not has_unavailable and not has_surge:
        errs.append(required(mu_path, "cannot be 0 when maxSurge is 0"))
    return errs


def _int_or_percent(value: Any) -> int:
    percent = percent_value(value)
    return percent if percent is not None else int_value(value)


def validate_update_strategy(strategy: Any, path: str) -> list[FieldError]:
    strategy = _d(strategy)
    kind = strategy.get("type")
    if kind == "OnDelete":
        return []
    if kind == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            return [required(f"{path}.rollingUpdate")]
        return validate_rolling_update(rolling, f"{path}.rollingUpdate")
    return [not_supported(path, strategy, ("RollingUpdate", "OnDelete"))]


def validate_spec(spec: Any, path: str = "spec") -> list[FieldError]:
    """ValidateDaemonSetSpec."""
    spec = _d(spec)
    selector = spec.get("selector")
    template = _d(spec.get("template"))
    labels = _d(_d(template.get("metadata")).get("labels"))
    errs = validate_label_selector(selector if isinstance(selector, dict) else None, f"{path}.selector")
    try:
        matcher = from_label_selector(selector if isinstance(selector, dict) else None)
    except ValueError:
        matcher = None
    if matcher is not None and not matcher.matches(labels):
        errs.append(invalid(f"{path}.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    if isinstance(selector, dict) and not _d(selector.get("matchLabels")) and not selector.get("matchExpressions"):
        errs.append(invalid(f"{path}.selector", selector, "empty selector is invalid for daemonset"))
    errs += validate_pod_template_spec(template, f"{path}.template")
    pod_spec = _d(template.get("spec"))
    restart_policy = pod_spec.get("restartPolicy") or ""
    if restart_policy != "Always":
        errs.append(not_supported(f"{path}.template.spec.restartPolicy", restart_policy, ("Always",)))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden(f"{path}.template.spec.activeDeadlineSeconds",
                              "activeDeadlineSeconds in DaemonSet is not Supported"))
    errs += validate_nonnegative(spec.get("minReadySeconds"), f"{path}.minReadySeconds")
    errs += validate_update_strategy(spec.get("updateStrategy"), f"{path}.updateStrategy")
    errs += validate_nonnegative(spec.get("revisionHistoryLimit"), f"{path}.revisionHistoryLimit")
    return errs


def validate_create(ds: Obj) -> list[FieldError]:
    """ValidateDaemonSet minus ObjectMeta, which the server validates for every kind."""
    return validate_spec(ds.get("spec"))


def validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_spec(new.get("spec"))
    new_selector = _d(new.get("spec")).get("selector")
    old_selector = _d(old.get("spec")).get("selector")
    if not semantic_equal(new_selector, old_selector) or (new_selector is None) != (old_selector is None):
        errs.append(invalid("spec.selector", new_selector, FIELD_IMMUTABLE))
    return errs


def validate_status(status: Any, path: str = "status") -> list[FieldError]:
    status = _d(status)
    errs: list[FieldError] = []
    for key in ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
                "observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable",
                "collisionCount"):
        errs += validate_nonnegative(status.get(key), f"{path}.{key}")
    return errs


def validate_status_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(_d(new.get("metadata")), _d(old.get("metadata")))
    errs += validate_status(new.get("status"))
    new_count = _d(new.get("status")).get("collisionCount")
    old_count = _d(old.get("status")).get("collisionCount")
    decremented = (new_count is None and old_count is not None) or (
        _is_int(new_count) and _is_int(old_count) and new_count < old_count)
    if decremented:
        errs.append(invalid("status.collisionCount", new_count if _is_int(new_count) else 0, "cannot be decremented"))
    return errs


KIND = Kind(
    group="apps",
    version="v1",
    kind="DaemonSet",
    plural="daemonsets",
    singular="daemonset",
    namespaced=True,
    type_name="V1DaemonSet",
    short_names=("ds",),
    categories=("all",),
    subresources=("status",),
    has_generation=True,
    default=default,
    prepare_create=prepare_create,
    prepare_update=prepare_update,
    prepare_status_update=prepare_status_update,
    validate_create=validate_create,
    validate_update=validate_update,
    validate_status_update=validate_status_update,
)
