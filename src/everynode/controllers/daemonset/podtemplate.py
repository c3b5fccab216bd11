"""Building a DaemonSet's pod for one node, and reading a pod's target node.

Mirrors upstream pkg/controller/daemon/util (CreatePodTemplate,
AddOrUpdateDaemonPodTolerations, ReplaceDaemonSetPodNodeNameNodeAffinity,
GetTargetNodeName) and controller.GetPodFromTemplate. Pure: inputs are never
mutated.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from everynode.api.placement import NO_EXECUTE, NO_SCHEDULE, NODE_NAME_FIELD, parse_int64
from everynode.api.validation import is_dns1123_subdomain, mask_trailing_dash
from everynode.jsondata import json_copy, memo_key

HASH_LABEL = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
TAINT_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
TAINT_PID_PRESSURE = "node.kubernetes.io/pid-pressure"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"


def _exists(key: str, effect: str) -> dict[str, str]:
    return {"key": key, "operator": "Exists", "effect": effect}


# Added to every daemon pod, in this order; never stored in the DaemonSet.
DEFAULT_TOLERATIONS: tuple[dict[str, str], ...] = (
    _exists(TAINT_NOT_READY, NO_EXECUTE),
    _exists(TAINT_UNREACHABLE, NO_EXECUTE),
    _exists(TAINT_DISK_PRESSURE, NO_SCHEDULE),
    _exists(TAINT_MEMORY_PRESSURE, NO_SCHEDULE),
    _exists(TAINT_PID_PRESSURE, NO_SCHEDULE),
    _exists(TAINT_UNSCHEDULABLE, NO_SCHEDULE),
)
# Only for pods with hostNetwork.
HOST_NETWORK_TOLERATION: dict[str, str] = _exists(TAINT_NETWORK_UNAVAILABLE, NO_SCHEDULE)

_TOLERATION_IDENTITY = ("key", "operator", "value", "effect")


def _same_toleration(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all((a.get(f) or "") == (b.get(f) or "") for f in _TOLERATION_IDENTITY)


def add_or_update_toleration(tolerations: list[dict] | None, toleration: Mapping[str, Any]) -> list[dict]:
    """v1helper.AddOrUpdateTolerationInPodSpec on a list: returns a new list.

    Entries with the same key/operator/value/effect are replaced by
    ``toleration`` (so their tolerationSeconds is dropped); otherwise it is
    appended. An identical entry already present leaves the list unchanged.
    """
    current = list(tolerations or ())
    out: list[dict] = []
    updated = False
    for t in current:
        if _same_toleration(t, toleration):
            if dict(t) == dict(toleration):
                return current
            out.append(dict(toleration))
            updated = True
        else:
            out.append(t)
    if not updated:
        out.append(dict(toleration))
    return out


def daemon_tolerations(pod_spec: Mapping[str, Any]) -> list[dict]:
    """The pod spec's tolerations with the daemon defaults added or replaced: new dicts each
    call. The same for every pod of a DaemonSet, and three quarters of ``new_pod``'s cost
    computed each time (seven merges of pairwise comparisons): memoised on the JSON of what it
    depends on."""
    key = memo_key([pod_spec.get("tolerations"), bool(pod_spec.get("hostNetwork"))])
    return _daemon_tolerations(pod_spec) if key is None else orjson.loads(_daemon_tolerations_json(key))


@lru_cache(maxsize=256)
def _daemon_tolerations_json(key: bytes) -> bytes:
    tolerations, host_network = orjson.loads(key)
    return orjson.dumps(_daemon_tolerations({"tolerations": tolerations, "hostNetwork": host_network}))


def _daemon_tolerations(pod_spec: Mapping[str, Any]) -> list[dict]:
    tolerations = list(pod_spec.get("tolerations") or ())
    for t in DEFAULT_TOLERATIONS:
        tolerations = add_or_update_toleration(tolerations, t)
    if pod_spec.get("hostNetwork"):
        tolerations = add_or_update_toleration(tolerations, HOST_NETWORK_TOLERATION)
    return tolerations


def template_generation_of(ds: Mapping[str, Any]) -> int | None:
    """The DaemonSet's template generation annotation as an int (None if absent or unparsable)."""
    annotations = (ds.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(TEMPLATE_GENERATION_ANNOTATION)
    return None if value is None else parse_int64(value)


def pod_name_prefix(ds_name: str) -> str:
    """generateName for the DaemonSet's pods: ``<name>-``, or the bare name if that is invalid."""
    prefix = ds_name + "-"
    if is_dns1123_subdomain(mask_trailing_dash(prefix)):
        return ds_name
    return prefix


def controller_ref(ds: Mapping[str, Any]) -> dict[str, Any]:
    meta = ds.get("metadata") or {}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def node_name_affinity(node_name: str) -> dict[str, Any]:
    """The single required node-selector term pinning a pod to ``node_name``."""
    return {"matchFields": [{"key": NODE_NAME_FIELD, "operator": "In", "values": [node_name]}]}


def pin_to_node(affinity: Mapping[str, Any] | None, node_name: str) -> dict[str, Any]:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: returns a new affinity.

    Required node-selector terms are replaced by one ``metadata.name In
    [node]`` term; preferred terms and pod (anti-)affinity are kept.
    """
    out = json_copy(dict(affinity or {}))
    node_affinity = dict(out.get("nodeAffinity") or {})
    required = dict(node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    required["nodeSelectorTerms"] = [node_name_affinity(node_name)]
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = required
    out["nodeAffinity"] = node_affinity
    return out


def new_pod(ds: Mapping[str, Any], node_name: str, hash: str,
            template_generation: int | None) -> dict[str, Any]:
    """The pod the controller creates for ``node_name`` (nodeName left for the scheduler)."""
    meta = ds.get("metadata") or {}
    template = (ds.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    spec = json_copy(template.get("spec") or {})

    labels = dict(tmeta.get("labels") or {})
    if template_generation is not None:
        labels[TEMPLATE_GENERATION_LABEL] = str(template_generation)
    if hash:
        labels[HASH_LABEL] = hash

    pod_meta: dict[str, Any] = {
        "generateName": pod_name_prefix(meta.get("name") or ""),
        "namespace": meta.get("namespace") or "",
        "labels": labels,
    }
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        pod_meta["finalizers"] = list(tmeta["finalizers"])
    pod_meta["ownerReferences"] = [controller_ref(ds)]

    spec["tolerations"] = daemon_tolerations(spec)
    spec["affinity"] = pin_to_node(spec.get("affinity"), node_name)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


def target_node_of(pod: Mapping[str, Any]) -> str | None:
    """GetTargetNodeName: ``spec.nodeName``, else the ``metadata.name In [node]`` match field.

    None when the pod names no node (or the match field has several values).
    """
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if not required:
        return None
    for term in required.get("nodeSelectorTerms") or ():
        for req in (term or {}).get("matchFields") or ():
            if req.get("key") == NODE_NAME_FIELD and req.get("operator") == "In":
                values = req.get("values") or []
                return values[0] if len(values) == 1 else None
    return None
