"""Pod: identity and registry strategy (pkg/registry/core/pod), plus the
pods/binding and pods/eviction rules as pure helpers."""

from __future__ import annotations

import copy
from fractions import Fraction
from functools import lru_cache
from typing import Any

import orjson

from everynode.api.errors import (
    ApiError,
    FieldError,
    bad_request,
    conflict,
    forbidden,
    invalid,
    not_supported,
    required,
)
from everynode.api.kind import Kind
from everynode.api.podspec import (
    IP_MSG,
    MAX_INT32,
    MIRROR_POD_ANNOTATION,
    default_pod_spec,
    is_valid_ip,
    semantic_equal,
    validate_pod_spec,
    validate_pod_specific_annotations,
    validate_tolerations,
)
from everynode.api.quantity import parse_quantity
from everynode.api.validation import (
    FIELD_IMMUTABLE,
    inclusive_range_error,
    is_dns1123_subdomain,
    is_qualified_name,
    validate_object_meta_update,
)
from everynode.apiserver.objects import now_rfc3339
from everynode.jsondata import json_copy

Obj = dict[str, Any]

SCHEDULING_GATED_MESSAGE = "Scheduling is blocked due to non-empty scheduling gates"
UPDATABLE_SPEC_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
SPEC_UPDATE_FORBIDDEN = "pod updates may not change fields other than " + ",".join(UPDATABLE_SPEC_FIELDS)
_SYSTEM_CONDITIONS = ("PodScheduled", "Ready", "Initialized")


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list:
    return value if isinstance(value, list) else []


def _now() -> str:
    return now_rfc3339()  # the current second, formatted once per second


# --- QoS -------------------------------------------------------------------------

def _add_qos_resources(total: dict[str, Fraction], resources: Any) -> set[str]:
    """Add the positive cpu/memory quantities of a ResourceList; return the names found."""
    found: set[str] = set()
    for name, value in _d(resources).items():
        if name not in ("cpu", "memory"):
            continue
        try:
            q = parse_quantity(value)
        except ValueError:
            continue
        if q > 0:
            found.add(name)
            total[name] = total.get(name, Fraction(0)) + q
    return found


def compute_qos_class(pod: Obj) -> str:
    """ComputePodQOS: BestEffort, Burstable or Guaranteed (pod-level resources win when set)."""
    spec = _d(pod.get("spec"))
    # Memoised on the resources it reads: the pods of one template all have the same class.
    try:
        key = orjson.dumps([spec.get("resources"), [_d(c).get("resources") for c in _l(spec.get("containers"))],
                            [_d(c).get("resources") for c in _l(spec.get("initContainers"))]])
    except (orjson.JSONEncodeError, TypeError):
        return _compute_qos_class(spec)
    return _qos_of(key)


@lru_cache(maxsize=256)
def _qos_of(key: bytes) -> str:
    pod_res, containers, init_containers = orjson.loads(key)
    return _compute_qos_class({"resources": pod_res, "containers": [{"resources": r} for r in containers],
                               "initContainers": [{"resources": r} for r in init_containers]})


def _compute_qos_class(spec: Obj) -> str:
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    pod_resources = spec.get("resources")
    pod_level = isinstance(pod_resources, dict) and any(
        k in ("cpu", "memory") or k.startswith("hugepages-")
        for key in ("requests", "limits") for k in _d(pod_resources.get(key)))
    if pod_level:
        _add_qos_resources(requests, pod_resources.get("requests"))
        if _d(pod_resources.get("limits")):
            found = _add_qos_resources(limits, pod_resources.get("limits"))
            guaranteed = found == {"cpu", "memory"}
    else:
        for key in ("containers", "initContainers"):
            for c in _l(spec.get(key)):
                res = _d(_d(c).get("resources"))
                _add_qos_resources(requests, res.get("requests"))
                if _add_qos_resources(limits, res.get("limits")) != {"cpu", "memory"}:
                    guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(k) == v for k, v in requests.items()) and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


# --- defaulting and strategy -------------------------------------------------------

def default(pod: Obj) -> None:
    spec = pod.get("spec")
    if isinstance(spec, dict):
        default_pod_spec(spec, for_template=False)


def update_pod_condition(status: Obj, condition: Obj, now: str) -> bool:
    """podutil.UpdatePodCondition: replace the condition of that type; keep the transition time
    when the status did not change. Returns True when anything changed."""
    condition = {"type": condition["type"], "status": condition["status"], "lastProbeTime": None,
                 **{k: v for k, v in condition.items() if k not in ("type", "status")},
                 "lastTransitionTime": now}
    conditions = status.setdefault("conditions", [])
    for i, old in enumerate(conditions):
        if _d(old).get("type") == condition["type"]:
            if old.get("status") == condition["status"]:
                condition["lastTransitionTime"] = old.get("lastTransitionTime")
            changed = any(old.get(k) != condition.get(k) for k in
                          ("status", "reason", "message", "lastProbeTime", "lastTransitionTime"))
            conditions[i] = condition
            return changed
    conditions.append(condition)
    return True


def _apply_label_keys(selector: Obj, keys: list, operator: str, labels: Obj) -> None:
    for key in keys:
        if key in labels:
            selector.setdefault("matchExpressions", []).append(
                {"key": key, "operator": operator, "values": [labels[key]]})


def _mutate_affinity_terms(pod: Obj) -> None:
    """matchLabelKeys / mismatchLabelKeys become selector requirements at creation."""
    labels = _d(_d(pod.get("metadata")).get("labels"))
    affinity = _d(_d(pod.get("spec")).get("affinity"))
    for kind in ("podAffinity", "podAntiAffinity"):
        aff = _d(affinity.get(kind))
        terms = [_d(t) for t in _l(aff.get("requiredDuringSchedulingIgnoredDuringExecution"))]
        terms += [_d(_d(t).get("podAffinityTerm")) for t in _l(aff.get("preferredDuringSchedulingIgnoredDuringExecution"))]
        for term in terms:
            selector = term.get("labelSelector")
            if isinstance(selector, dict):
                _apply_label_keys(selector, _l(term.get("matchLabelKeys")), "In", labels)
                _apply_label_keys(selector, _l(term.get("mismatchLabelKeys")), "NotIn", labels)
    for constraint in _l(_d(pod.get("spec")).get("topologySpreadConstraints")):
        selector = _d(constraint).get("labelSelector")
        if isinstance(selector, dict):
            _apply_label_keys(selector, _l(constraint.get("matchLabelKeys")), "In", labels)


def prepare_create(pod: Obj, now: str | None = None) -> None:
    """Generation 1; status becomes Pending with the computed QoS class (a client-sent qosClass
    is kept, as upstream evaluates it before resetting the status)."""
    meta = pod.setdefault("metadata", {})
    meta["generation"] = 1
    old_qos = _d(pod.get("status")).get("qosClass")
    pod["status"] = {"phase": "Pending", "qosClass": old_qos or compute_qos_class(pod)}
    if _l(_d(pod.get("spec")).get("schedulingGates")):
        update_pod_condition(pod["status"], {"type": "PodScheduled", "status": "False",
                                             "reason": "SchedulingGated",
                                             "message": SCHEDULING_GATED_MESSAGE}, now or _now())
    _mutate_affinity_terms(pod)


def prepare_update(new: Obj, old: Obj) -> None:
    """The main resource never writes status."""
    if "status" in old:
        new["status"] = json_copy(old["status"])
    else:
        new.pop("status", None)


def prepare_status_update(new: Obj, old: Obj) -> None:
    """/status keeps spec, deletionTimestamp and owner references (``old``'s own values, shared:
    neither object is modified afterwards); preserves qosClass and observedGeneration values a
    client left out."""
    new["spec"] = old.get("spec")
    meta = new.setdefault("metadata", {})
    old_meta = _d(old.get("metadata"))
    for key in ("deletionTimestamp", "ownerReferences"):
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    status = new.setdefault("status", {})
    if not isinstance(status, dict):
        status = new["status"] = {}
    old_status = _d(old.get("status"))
    if not status.get("qosClass") and old_status.get("qosClass"):
        status["qosClass"] = old_status["qosClass"]
    if not status.get("observedGeneration") and old_status.get("observedGeneration"):
        status["observedGeneration"] = old_status["observedGeneration"]
    old_generations: dict[str, list[Any]] = {}
    for cond in _l(old_status.get("conditions")):
        old_generations.setdefault(_d(cond).get("type"), []).append(_d(cond).get("observedGeneration"))
    for cond in _l(status.get("conditions")):
        if not isinstance(cond, dict):
            continue
        remembered = old_generations.get(cond.get("type")) or []
        old_gen = remembered.pop(0) if remembered else None
        if not cond.get("observedGeneration") and old_gen:
            cond["observedGeneration"] = old_gen


# --- validation --------------------------------------------------------------------

def _validate_metadata_and_spec(pod: Obj) -> list[FieldError]:
    """validatePodMetadataAndSpec minus ObjectMeta, which the server validates for every kind."""
    meta = _d(pod.get("metadata"))
    spec = _d(pod.get("spec"))
    errs = validate_pod_specific_annotations(meta.get("annotations"), spec, "metadata.annotations")
    errs += validate_pod_spec(spec, "spec", is_pod=True, pod_name=meta.get("name") or "")
    if not spec.get("serviceAccountName"):
        for vi, vol in enumerate(_l(spec.get("volumes"))):
            for si, source in enumerate(_l(_d(_d(vol).get("projected")).get("sources"))):
                if _d(source).get("serviceAccountToken") is not None:
                    errs.append(forbidden(f"spec.volumes[{vi}].projected.sources[{si}].serviceAccountToken",
                                          "must not be specified when serviceAccountName is not set"))
    for key in ("containers", "initContainers"):
        for i, c in enumerate(_l(spec.get(key))):
            image = _d(c).get("image")
            if isinstance(image, str) and image != image.strip():
                errs.append(invalid(f"spec.{key}[{i}].image", image, "must not have leading or trailing whitespace"))
    return errs


def validate_create(pod: Obj) -> list[FieldError]:
    errs = _validate_metadata_and_spec(pod)
    spec = _d(pod.get("spec"))
    if _l(spec.get("ephemeralContainers")):
        errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if spec.get("nodeName") and _l(spec.get("schedulingGates")):
        errs.append(forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"))
    return errs


def _validate_annotation_updates(new: Obj, old: Obj) -> list[FieldError]:
    new_ann = _d(_d(new.get("metadata")).get("annotations"))
    old_ann = _d(_d(old.get("metadata")).get("annotations"))
    path = "metadata.annotations"
    errs: list[FieldError] = []
    if MIRROR_POD_ANNOTATION in old_ann and new_ann.get(MIRROR_POD_ANNOTATION) != old_ann[MIRROR_POD_ANNOTATION]:
        errs.append(forbidden(f"{path}[{MIRROR_POD_ANNOTATION}]", "may not remove or update mirror pod annotation"))
    if MIRROR_POD_ANNOTATION in new_ann and MIRROR_POD_ANNOTATION not in old_ann:
        errs.append(forbidden(f"{path}[{MIRROR_POD_ANNOTATION}]", "may not add mirror pod annotation"))
    errs += validate_pod_specific_annotations(new_ann, _d(new.get("spec")), path)
    return errs


def _container_updates(new: Any, old: Any, path: str) -> tuple[list[FieldError], bool]:
    if len(_l(new)) != len(_l(old)):
        return [forbidden(path, "pod updates may not add or remove containers")], True
    errs: list[FieldError] = []
    for i, c in enumerate(_l(new)):
        image = _d(c).get("image") or ""
        if not image:
            errs.append(required(f"{path}[{i}].image"))
        if isinstance(image, str) and image.strip() != image:
            errs.append(invalid(f"{path}[{i}].image", image, "must not have leading or trailing whitespace"))
    return errs, False


def _only_added_tolerations(new: Any, old: Any, path: str) -> list[FieldError]:
    for old_tol in _l(old):
        old_tol = _d(old_tol)
        if not any(semantic_equal({**old_tol, "tolerationSeconds": _d(t).get("tolerationSeconds")}, t)
                   for t in _l(new)):
            return [forbidden(path, "existing toleration can not be modified except its tolerationSeconds")]
    return validate_tolerations(new, path)


def _only_deleted_gates(new: Any, old: Any, path: str) -> list[FieldError]:
    old_names = {_d(g).get("name") for g in _l(old)}
    added = {}
    for i, g in enumerate(_l(new)):
        added[_d(g).get("name")] = i
    return [forbidden(f"{path}[{i}].name", f"only deletion is allowed, but found new scheduling gate '{name}'")
            for name, i in added.items() if name not in old_names]


def _spec_diff(old: Any, new: Any, path: str = "") -> list[str]:
    """Readable differences (our own format; upstream prints a Go cmp.Diff)."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for key in sorted(set(old) | set(new)):
            lines += _spec_diff(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return lines
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        lines = []
        for i, (o, n) in enumerate(zip(old, new, strict=True)):
            lines += _spec_diff(o, n, f"{path}[{i}]")
        return lines
    if semantic_equal(old, new):
        return []
    return [f"-  {path}: {old!r}", f"+  {path}: {new!r}"]


def validate_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = _validate_metadata_and_spec(new)
    errs += _validate_annotation_updates(new, old)
    new_spec, old_spec = _d(new.get("spec")), _d(old.get("spec"))
    for key in ("containers", "initContainers"):
        container_errs, stop = _container_updates(new_spec.get(key), old_spec.get(key), f"spec.{key}")
        errs += container_errs
        if stop:
            return errs
    new_deadline, old_deadline = new_spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    if new_deadline is not None:
        if not isinstance(new_deadline, int) or not 0 <= new_deadline <= MAX_INT32:
            errs.append(invalid("spec.activeDeadlineSeconds", new_deadline, inclusive_range_error(0, MAX_INT32)))
            return errs
        if isinstance(old_deadline, int) and old_deadline < new_deadline:
            errs.append(invalid("spec.activeDeadlineSeconds", new_deadline, "must be less than or equal to previous value"))
            return errs
    elif old_deadline is not None:
        errs.append(invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"))
    errs += _only_added_tolerations(new_spec.get("tolerations"), old_spec.get("tolerations"), "spec.tolerations")
    errs += _only_deleted_gates(new_spec.get("schedulingGates"), old_spec.get("schedulingGates"),
                                "spec.schedulingGates")
    if semantic_equal(new_spec, old_spec):
        return errs
    munged = copy.deepcopy(new_spec)
    for key in ("containers", "initContainers"):
        for c, oc in zip(_l(munged.get(key)), _l(old_spec.get(key)), strict=False):
            if isinstance(c, dict):
                c["image"] = _d(oc).get("image")
    for key in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        if key in old_spec:
            munged[key] = copy.deepcopy(old_spec[key])
        else:
            munged.pop(key, None)
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if _l(old_spec.get("schedulingGates")):
        # Gated pods may gain nodeSelector entries (no mutation or removal).
        new_sel, old_sel = _d(munged.get("nodeSelector")), _d(old_spec.get("nodeSelector"))
        if not semantic_equal(new_sel, old_sel):
            if any(new_sel.get(k) != v for k, v in old_sel.items()):
                errs.append(invalid("spec.nodeSelector", new_sel,
                                    "only additions to spec.nodeSelector are allowed (no mutations or deletions)"))
            if "nodeSelector" in old_spec:
                munged["nodeSelector"] = copy.deepcopy(old_spec["nodeSelector"])
            else:
                munged.pop("nodeSelector", None)
    if not semantic_equal(munged, old_spec):
        diff = "\n".join(_spec_diff(old_spec, munged))
        errs.append(forbidden("spec", f"{SPEC_UPDATE_FORBIDDEN}\n{diff}"))
    return errs


def _state_transitions(new: Any, old: Any, path: str, restart_policy: str,
                       restartable: set[str] | None = None) -> list[FieldError]:
    if restart_policy == "Always":
        return []
    errs: list[FieldError] = []
    for i, old_status in enumerate(_l(old)):
        old_status = _d(old_status)
        terminated = _d(old_status.get("state")).get("terminated")
        if terminated is None:
            continue
        if _d(terminated).get("exitCode", 0) != 0 and restart_policy == "OnFailure":
            continue
        if restartable and old_status.get("name") in restartable:
            continue
        for new_status in _l(new):
            new_status = _d(new_status)
            if new_status.get("name") == old_status.get("name") and \
                    _d(new_status.get("state")).get("terminated") is None:
                errs.append(forbidden(f"{path}[{i}].state", "may not be transitioned to non-terminated state"))
    return errs


def _validate_ip_list(ips: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    items = _l(ips)
    for i, item in enumerate(items):
        ip = _d(item).get("ip") or ""
        if not is_valid_ip(ip):
            errs.append(invalid(f"{path}[{i}]", ip, IP_MSG))
    if len(items) > 1:
        values = [_d(item).get("ip") or "" for item in items]
        families = {("6" if ":" in v else "4") for v in values if is_valid_ip(v)}
        if len(families) < 2 or len(values) > 2:
            errs.append(invalid(path, items, "may specify no more than one IP for each IP family"))
        seen: set[str] = set()
        for i, v in enumerate(values):
            if v in seen:
                errs.append(FieldError("Duplicate value", f"{path}[{i}]", "", items[i]))
            seen.add(v)
    return errs


def validate_status_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(_d(new.get("metadata")), _d(old.get("metadata")))
    errs += _validate_annotation_updates(new, old)
    status, old_status = _d(new.get("status")), _d(old.get("status"))
    for i, cond in enumerate(_l(status.get("conditions"))):
        ctype = _d(cond).get("type") or ""
        if ctype in _SYSTEM_CONDITIONS:
            continue
        # Upstream reports these under "metadata.conditions" (sic).
        errs += [invalid(f"metadata.conditions[{i}].Type", ctype, m) for m in is_qualified_name(ctype)]
    new_spec, old_spec = _d(new.get("spec")), _d(old.get("spec"))
    if (new_spec.get("nodeName") or "") != (old_spec.get("nodeName") or ""):
        errs.append(forbidden("status.nodeName", "may not be changed directly"))
    nominated = status.get("nominatedNodeName") or ""
    if nominated and nominated != (old_status.get("nominatedNodeName") or ""):
        errs += [invalid("status.nominatedNodeName", nominated, m) for m in is_dns1123_subdomain(nominated)]
    if (status.get("qosClass") or "") != (old_status.get("qosClass") or ""):
        errs.append(invalid("status.qosClass", status.get("qosClass") or "", FIELD_IMMUTABLE))
    restart_policy = old_spec.get("restartPolicy") or ""
    errs += _state_transitions(status.get("containerStatuses"), old_status.get("containerStatuses"),
                               "status.containerStatuses", restart_policy)
    restartable = {_d(c).get("name") for c in _l(old_spec.get("initContainers"))
                   if _d(c).get("restartPolicy") == "Always"}
    errs += _state_transitions(status.get("initContainerStatuses"), old_status.get("initContainerStatuses"),
                               "status.initContainerStatuses", restart_policy, restartable)
    errs += _state_transitions(status.get("ephemeralContainerStatuses"),
                               old_status.get("ephemeralContainerStatuses"),
                               "status.ephemeralContainerStatuses", "Never")
    errs += _validate_ip_list(status.get("podIPs"), "status.podIPs")
    host_ips = _l(status.get("hostIPs"))
    if host_ips:
        if (status.get("hostIP") or "") != (_d(host_ips[0]).get("ip") or ""):
            errs.append(invalid("status.hostIPs[0].ip", _d(host_ips[0]).get("ip") or "", "must be equal to `hostIP`"))
        errs += _validate_ip_list(host_ips, "status.hostIPs")
    return errs


# --- pods/binding and pods/eviction ------------------------------------------------

def validate_binding(binding: Obj) -> list[FieldError]:
    target = _d(binding.get("target"))
    errs: list[FieldError] = []
    kind = target.get("kind") or ""
    if kind and kind != "Node":
        errs.append(not_supported("target.kind", kind, ("Node", "<empty>")))
    if not target.get("name"):
        errs.append(required("target.name"))
    return errs


def _binding_conflict(name: str, why: str) -> ApiError:
    return conflict("pods/binding", "", name, why)


def _binding_copy(pod: Obj, bmeta: Obj) -> Obj | None:
    """A copy of ``pod`` for ``bind_pod`` to modify: what binding changes is the copy's own (the
    top level, metadata, the labels and annotations the binding (``bmeta``) adds to, spec,
    status with its conditions list), the rest is shared with ``pod`` (stored values are
    read-only; a full copy of the pod was most of a binding's cost). None when a part binding
    changes is not of the expected JSON type: the caller then copies everything (and fails as
    it always did)."""
    meta, spec, status = pod.get("metadata"), pod.get("spec"), pod.get("status", {})
    if type(meta) is not dict or type(spec) is not dict or type(status) is not dict:
        return None
    out = dict(pod)
    out_meta = out["metadata"] = dict(meta)
    for key in ("annotations", "labels"):
        if key in meta and _d(bmeta.get(key)):
            if type(meta[key]) is not dict:
                return None
            out_meta[key] = dict(meta[key])
    out["spec"] = dict(spec)
    out_status = out["status"] = dict(status)
    if "conditions" in status:
        if type(status["conditions"]) is not list:
            return None
        out_status["conditions"] = list(status["conditions"])
    return out


def bind_pod(pod: Obj, binding: Obj, now: str | None = None) -> Obj:
    """The pod as pods/binding stores it, or ApiError. Written straight to storage: no
    strategy runs and metadata.generation does not change."""
    meta = _d(pod.get("metadata"))
    name = meta.get("name") or ""
    bmeta = _d(binding.get("metadata"))
    if (bmeta.get("name") or "") != name:
        raise bad_request("name in URL does not match name in Binding object")
    errs = validate_binding(binding)
    if errs:
        # Upstream returns the aggregate as a non-Status error: 500 with an empty reason.
        texts = [e.error() for e in errs]
        raise ApiError(500, "", texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]")
    for key, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
        want = bmeta.get(key)
        if want and want != meta.get(key):
            raise conflict("pods", "", name, f"Precondition failed: {label} in precondition: {want}, "
                           f"{label} in object meta: {meta.get(key) or ''}")
    spec = _d(pod.get("spec"))
    if meta.get("deletionTimestamp"):
        raise _binding_conflict(name, f"pod {name} is being deleted, cannot be assigned to a host")
    if spec.get("nodeName"):
        raise _binding_conflict(name, f'pod {name} is already assigned to node "{spec["nodeName"]}"')
    if _l(spec.get("schedulingGates")):
        raise _binding_conflict(name, f"pod {name} has non-empty .spec.schedulingGates")
    out = _binding_copy(pod, bmeta)
    if out is None:
        out = json_copy(pod)
    out.setdefault("spec", {})["nodeName"] = _d(binding.get("target")).get("name")
    status = out.setdefault("status", {})
    status.pop("nominatedNodeName", None)
    out_meta = out.setdefault("metadata", {})
    if _d(bmeta.get("annotations")):
        out_meta.setdefault("annotations", {}).update(bmeta["annotations"])
    if _d(bmeta.get("labels")):
        out_meta.setdefault("labels", {}).update(bmeta["labels"])
    update_pod_condition(status, {"type": "PodScheduled", "status": "True"}, now or _now())
    return out


def eviction_delete_options(eviction: Obj, name: str, pod: Obj, request_dry_run: list | None = None) -> Obj:
    """DeleteOptions for evicting ``pod`` when no PodDisruptionBudget covers it (none are served)."""
    if (_d(eviction.get("metadata")).get("name") or "") != name:
        raise bad_request("name in URL does not match name in Eviction object")
    options = copy.deepcopy(_d(eviction.get("deleteOptions")))
    own = _l(options.get("dryRun"))
    request = list(request_dry_run or [])
    if not own:
        if request or "deleteOptions" not in eviction:
            options["dryRun"] = request
    elif request and own != request:
        raise ApiError(500, "", "Non-matching dry-run options in request and content: "
                       f"[{' '.join(request)}] and [{' '.join(own)}]")
    if not options.get("dryRun"):
        options.pop("dryRun", None)
    status = _d(pod.get("status"))
    pod_meta = _d(pod.get("metadata"))
    phase = status.get("phase")
    deleting = bool(pod_meta.get("deletionTimestamp"))
    can_ignore_pdb = phase in ("Succeeded", "Failed", "Pending") or deleting
    enforce_rv = phase not in ("Succeeded", "Failed") and not deleting
    rv_unset = _d(options.get("preconditions")).get("resourceVersion") is None
    if can_ignore_pdb and enforce_rv and rv_unset:
        options.setdefault("preconditions", {})["resourceVersion"] = pod_meta.get("resourceVersion") or ""
    return options


# --- field selectors ---------------------------------------------------------------

def _pod_ip(pod: Obj) -> str:
    status = _d(pod.get("status"))
    ips = _l(status.get("podIPs"))
    if ips:
        return _d(ips[0]).get("ip") or ""
    return status.get("podIP") or ""


FIELD_GETTERS = {
    "spec.nodeName": lambda p: _d(p.get("spec")).get("nodeName") or "",
    "spec.restartPolicy": lambda p: _d(p.get("spec")).get("restartPolicy") or "",
    "spec.schedulerName": lambda p: _d(p.get("spec")).get("schedulerName") or "",
    "spec.serviceAccountName": lambda p: _d(p.get("spec")).get("serviceAccountName") or "",
    "spec.hostNetwork": lambda p: "true" if _d(p.get("spec")).get("hostNetwork") is True else "false",
    "status.phase": lambda p: _d(p.get("status")).get("phase") or "",
    "status.podIP": _pod_ip,
    "status.nominatedNodeName": lambda p: _d(p.get("status")).get("nominatedNodeName") or "",
}


KIND = Kind(
    group="",
    version="v1",
    kind="Pod",
    plural="pods",
    singular="pod",
    namespaced=True,
    type_name="V1Pod",
    short_names=("po",),
    categories=("all",),
    subresources=("status", "binding", "eviction", "log",),
    has_generation=True,
    default=default,
    prepare_create=prepare_create,
    prepare_update=prepare_update,
    prepare_status_update=prepare_status_update,
    validate_create=validate_create,
    validate_update=validate_update,
    validate_status_update=validate_status_update,
    field_getters=FIELD_GETTERS,
)
