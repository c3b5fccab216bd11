"""ControllerRevision history of a DaemonSet: data bytes, hash, and the pure decisions.

Revision data is what upstream's ``getPatch`` produces: the DaemonSet reduced
to ``{"spec":{"template":{...,"$patch":"replace"}}}``, marshalled by Go from
generic maps, i.e. compact JSON with keys sorted at every level and Go's HTML
escaping. Because Go first marshals the typed DaemonSet, the template carries
Go's zero-value rules: optional value fields (``hostNetwork: false``,
``args: []``) disappear, struct-valued fields are always present
(``"resources":{}``, a resourceFieldRef's ``"divisor":"0"``), and required
fields appear with their zero value. ``normalize_template`` applies those rules
using the type information in ``api/schema.py``. A zero
``metadata.creationTimestamp`` is omitted, as upstream does since v1.33
(kubernetes#130989); before that it was written as ``null``.

The hash is FNV-32a over the canonical template bytes (upstream hashes a Go
object dump, which cannot be reproduced; only determinism matters), followed
by the collision count as 8 bytes when set, then "safe-encoded".
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from everynode.api import schema
from everynode.controllers.daemonset.podtemplate import HASH_LABEL, controller_ref

DEFAULT_REVISION_HISTORY_LIMIT = 10
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193

# ----------------------------------------------------------- Go JSON encoding

_GO_ESCAPES = str.maketrans({
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
})


def _go_number(value: Any) -> Any:
    """Numbers as Go prints them after decoding into interface{} (float64)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -(2**53) <= value <= 2**53 else _go_number(float(value))
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def _go_values(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _go_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_go_values(v) for v in value]
    return _go_number(value)


def go_json(value: Any) -> bytes:
    """encoding/json.Marshal of a generic value: compact, sorted keys, HTML-escaped."""
    text = json.dumps(_go_values(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.translate(_GO_ESCAPES).encode("utf-8")


# ------------------------------------------------- Go zero-value normalisation

# Optional scalar fields that are plain values in Go (not pointers): a zero
# value is dropped by omitempty. Every other optional scalar is a pointer and
# keeps a zero value that is present.
_VALUE_SCALARS: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in {
    "V1ObjectMeta": "name generateName namespace selfLink uid resourceVersion generation",
    "V1PodSpec": "restartPolicy dnsPolicy serviceAccountName serviceAccount nodeName hostNetwork "
                 "hostPID hostIPC hostname subdomain schedulerName priorityClassName",
    "V1Container": "image imagePullPolicy terminationMessagePath terminationMessagePolicy workingDir "
                   "stdin stdinOnce tty",
    "V1EphemeralContainer": "image imagePullPolicy terminationMessagePath terminationMessagePolicy "
                            "workingDir stdin stdinOnce tty targetContainerName",
    "V1ContainerPort": "name hostPort protocol hostIP",
    "V1EnvVar": "value",
    "V1EnvFromSource": "prefix",
    "V1ConfigMapKeySelector": "name",
    "V1SecretKeySelector": "name",
    "V1ConfigMapEnvSource": "name",
    "V1SecretEnvSource": "name",
    "V1LocalObjectReference": "name",
    "V1ConfigMapVolumeSource": "name",
    "V1ConfigMapProjection": "name",
    "V1SecretProjection": "name",
    "V1SecretVolumeSource": "secretName",
    "V1ObjectFieldSelector": "apiVersion",
    "V1ResourceFieldSelector": "containerName",
    "V1VolumeMount": "readOnly subPath subPathExpr",
    "V1Probe": "initialDelaySeconds timeoutSeconds periodSeconds successThreshold failureThreshold",
    "V1HTTPGetAction": "path host scheme",
    "V1TCPSocketAction": "host",
    "V1SELinuxOptions": "user role type level",
    "V1Toleration": "key operator value effect",
    "V1PodDNSConfigOption": "name",
    "CoreV1ResourceClaim": "request",
    "V1EmptyDirVolumeSource": "medium",
    "V1ServiceAccountTokenProjection": "audience",
    "V1PodCertificateProjection": "credentialBundlePath keyPath certificateChainPath",
    "V1PersistentVolumeClaimVolumeSource": "readOnly",
    "V1PersistentVolumeClaimSpec": "volumeName",
    "V1ImageVolumeSource": "reference pullPolicy",
    "V1NFSVolumeSource": "readOnly",
    "V1AWSElasticBlockStoreVolumeSource": "fsType partition readOnly",
    "V1AzureFileVolumeSource": "readOnly",
    "V1CephFSVolumeSource": "path user secretFile readOnly",
    "V1CinderVolumeSource": "fsType readOnly",
    "V1FCVolumeSource": "fsType readOnly",
    "V1FlexVolumeSource": "fsType readOnly",
    "V1FlockerVolumeSource": "datasetName datasetUUID",
    "V1GCEPersistentDiskVolumeSource": "fsType partition readOnly",
    "V1GitRepoVolumeSource": "revision directory",
    "V1GlusterfsVolumeSource": "readOnly",
    "V1ISCSIVolumeSource": "iscsiInterface fsType readOnly chapAuthDiscovery chapAuthSession",
    "V1PhotonPersistentDiskVolumeSource": "fsType",
    "V1PortworxVolumeSource": "fsType readOnly",
    "V1QuobyteVolumeSource": "readOnly user group tenant",
    "V1RBDVolumeSource": "fsType pool user keyring readOnly",
    "V1ScaleIOVolumeSource": "protectionDomain sslEnabled storageMode storagePool volumeName fsType readOnly",
    "V1StorageOSVolumeSource": "volumeName volumeNamespace fsType readOnly",
    "V1VsphereVirtualDiskVolumeSource": "fsType storagePolicyName storagePolicyID",
}.items()}

# Optional fields that are Go struct values: omitempty cannot drop them.
_VALUE_STRUCTS: dict[str, frozenset[str]] = {
    "V1PodTemplateSpec": frozenset({"metadata", "spec"}),
    "V1Container": frozenset({"resources"}),
    "V1EphemeralContainer": frozenset({"resources"}),
    "V1ResourceFieldSelector": frozenset({"divisor"}),
    "V1PersistentVolumeClaimTemplate": frozenset({"metadata"}),
    "V1PersistentVolumeClaimSpec": frozenset({"resources"}),
}

# Zero-valued since v1.33 these are omitted instead of written as null.
_OMITZERO: dict[str, frozenset[str]] = {"V1ObjectMeta": frozenset({"creationTimestamp"})}

_EMPTY = frozenset[str]()


def _zero(typ: str) -> Any:
    if schema.is_list(typ) or schema.is_map(typ) or typ in ("any", "date-time"):
        return None
    if typ in ("string",):
        return ""
    if typ in ("integer", "number", "int-or-string"):
        return 0
    if typ == "boolean":
        return False
    if typ == "quantity":
        return "0"
    return _normalize_object({}, typ)


def _is_zero_scalar(value: Any) -> bool:
    return value == "" or value is False or (isinstance(value, int | float) and value == 0)


def _normalize(value: Any, typ: str) -> Any:
    if schema.is_list(typ):
        if not isinstance(value, list):
            return value
        elem = schema.element(typ)
        return [_normalize(v, elem) for v in value]
    if schema.is_map(typ):
        if not isinstance(value, dict):
            return value
        elem = schema.element(typ)
        return {k: _normalize(v, elem) for k, v in value.items()}
    if schema.is_object(typ):
        return _normalize_object(value, typ)
    return value


def _normalize_object(obj: Any, type_name: str) -> Any:
    if not isinstance(obj, dict) or type_name not in schema.types():
        return obj
    fields = schema.fields(type_name)
    required = schema.required(type_name)
    value_scalars = _VALUE_SCALARS.get(type_name, _EMPTY)
    value_structs = _VALUE_STRUCTS.get(type_name, _EMPTY)
    omitzero = _OMITZERO.get(type_name, _EMPTY)
    out: dict[str, Any] = {}
    for name, value in obj.items():
        typ = fields.get(name)
        if typ is None:
            out[name] = value  # unknown to the schema: keep rather than lose it
            continue
        if value is None:
            continue  # nil: omitted, or zero-filled below when required
        if name in omitzero:
            out[name] = value
        elif schema.is_list(typ) or schema.is_map(typ):
            if not value and name not in required:
                continue
            out[name] = _normalize(value, typ)
        elif schema.is_object(typ):
            out[name] = _normalize_object(value, typ)
        else:
            if name in value_scalars and name not in required and _is_zero_scalar(value):
                continue
            out[name] = value
    for name in (*required, *value_structs):
        if name not in out and name in fields:
            out[name] = _zero(fields[name])
    return out


def normalize_template(template: Mapping[str, Any] | None) -> dict[str, Any]:
    """A PodTemplateSpec as Go would marshal it after decoding (see the module doc)."""
    return _normalize_object(dict(template or {}), "V1PodTemplateSpec")


# --------------------------------------------------------------- data & hash

def _template(ds: Mapping[str, Any]) -> Mapping[str, Any]:
    return (ds.get("spec") or {}).get("template") or {}


def revision_data(ds: Mapping[str, Any]) -> bytes:
    """The exact bytes upstream stores as a revision's ``data`` for this DaemonSet."""
    template = normalize_template(_template(ds))
    template["$patch"] = "replace"
    return go_json({"spec": {"template": template}})


def canonical_data(data: Any) -> bytes:
    """A stored revision ``data`` (parsed JSON, or raw str/bytes) as comparable bytes."""
    if isinstance(data, bytes | bytearray | str):
        try:
            data = json.loads(data)
        except ValueError:
            return bytes(data, "utf-8") if isinstance(data, str) else bytes(data)
    return go_json(data)


def revision_matches(ds: Mapping[str, Any], revision: Mapping[str, Any], data: bytes | None = None) -> bool:
    """upstream Match: the revision records this DaemonSet's current template.

    ``data`` may pass a precomputed ``revision_data(ds)``.
    """
    if data is None:
        data = revision_data(ds)
    return canonical_data(revision.get("data")) == data


def fnv32a(data: bytes, h: int = _FNV32_OFFSET) -> int:
    for b in data:
        h = ((h ^ b) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(s: str) -> str:
    """apimachinery rand.SafeEncodeString: each byte mapped into a vowel-free alphabet."""
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in s.encode())


def compute_hash(template: Mapping[str, Any] | None, collision_count: int | None) -> str:
    """controller.ComputeHash: the ``controller-revision-hash`` value of a template."""
    h = fnv32a(go_json(normalize_template(template)))
    if collision_count is not None:
        h = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\0\0\0\0", h)
    return safe_encode(str(h))


# ------------------------------------------------------------ revision objects

def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def revision_number(revision: Mapping[str, Any]) -> int:
    return int(revision.get("revision") or 0)


def max_revision(revisions: Iterable[Mapping[str, Any]]) -> int:
    return max((revision_number(r) for r in revisions), default=0)


def new_revision(ds: Mapping[str, Any], hash: str, number: int, data: bytes | None = None) -> dict[str, Any]:
    """The ControllerRevision snapshotting the DaemonSet's current template."""
    meta = ds.get("metadata") or {}
    tmeta = _template(ds).get("metadata") or {}
    if data is None:
        data = revision_data(ds)
    rmeta: dict[str, Any] = {
        "name": f"{meta.get('name')}-{hash}",
        "namespace": meta.get("namespace") or "",
        "labels": {**(tmeta.get("labels") or {}), HASH_LABEL: hash},
    }
    if meta.get("annotations"):
        rmeta["annotations"] = dict(meta["annotations"])
    rmeta["ownerReferences"] = [controller_ref(ds)]
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": rmeta,
        # Parsed from the canonical bytes, so keys keep Go's sorted order.
        "data": json.loads(data),
        "revision": number,
    }


@dataclass
class HistoryPlan:
    """What constructHistory decides for one sync."""

    hash: str  # the current revision's hash label: the value new pods carry
    current: dict[str, Any]  # the current revision (as it will be after updates, or to create)
    old: list[dict[str, Any]]  # every other claimed revision (labels fixed)
    create: dict[str, Any] | None = None  # new current revision to POST
    updates: list[dict[str, Any]] = field(default_factory=list)  # revisions to PUT (label fix, renumber)
    deletes: list[str] = field(default_factory=list)  # duplicate current revisions
    relabel_pods: list[str] = field(default_factory=list)  # pods to merge-patch with ``hash``


def plan_history(ds: Mapping[str, Any], revisions: Iterable[Mapping[str, Any]],
                 pods: Iterable[Mapping[str, Any]], data: bytes | None = None) -> HistoryPlan:
    """constructHistory over the DaemonSet's claimed revisions and pods."""
    if data is None:
        data = revision_data(ds)
    updates: dict[str, dict[str, Any]] = {}
    current: list[Mapping[str, Any]] = []
    old: list[dict[str, Any]] = []
    for rev in revisions:
        name = (rev.get("metadata") or {}).get("name") or ""
        if HASH_LABEL not in _labels(rev):
            # Use the name, not a recomputed hash, so a hash collision cannot mislabel it.
            fixed = copy.deepcopy(dict(rev))
            fixed.setdefault("metadata", {}).setdefault("labels", {})
            fixed["metadata"]["labels"] = {**(fixed["metadata"]["labels"] or {}), HASH_LABEL: name}
            updates[name] = fixed
            rev = fixed
        if canonical_data(rev.get("data")) == data:
            current.append(rev)
        else:
            old.append(dict(rev))

    next_number = max_revision(old) + 1
    if not current:
        status = ds.get("status") or {}
        h = compute_hash(_template(ds), status.get("collisionCount"))
        created = new_revision(ds, h, next_number, data)
        return HistoryPlan(hash=h, current=created, old=old, create=created,
                           updates=list(updates.values()))

    keep = current[0]
    for rev in current:
        if revision_number(rev) >= revision_number(keep):
            keep = rev
    keep_name = (keep.get("metadata") or {}).get("name")
    h = _labels(keep).get(HASH_LABEL, "")
    plan = HistoryPlan(hash=h, current=dict(keep), old=old)
    if len(current) > 1:
        # Upstream relabels every claimed pod whose hash differs, then drops the duplicates.
        plan.relabel_pods = [
            (p.get("metadata") or {}).get("name") for p in pods if _labels(p).get(HASH_LABEL) != h
        ]
        plan.deletes = [
            (r.get("metadata") or {}).get("name") for r in current
            if (r.get("metadata") or {}).get("name") != keep_name
        ]
    if revision_number(keep) < next_number:
        renumbered = copy.deepcopy(dict(keep))
        renumbered["revision"] = next_number
        updates[keep_name] = renumbered
        plan.current = renumbered
    plan.updates = list(updates.values())
    return plan


def history_to_delete(ds: Mapping[str, Any], old: Iterable[Mapping[str, Any]],
                      pods: Iterable[Mapping[str, Any]]) -> list[str]:
    """cleanupHistory: old revisions beyond revisionHistoryLimit, oldest first.

    ``pods`` are all claimed pods, terminating and terminal ones included; a
    revision whose hash any of them carries is never deleted.
    """
    old = list(old)
    limit = (ds.get("spec") or {}).get("revisionHistoryLimit")
    if limit is None:
        limit = DEFAULT_REVISION_HISTORY_LIMIT
    to_kill = len(old) - int(limit)
    if to_kill <= 0:
        return []
    live = {h for p in pods if (h := _labels(p).get(HASH_LABEL))}
    out: list[str] = []
    for rev in sorted(old, key=lambda r: (revision_number(r), (r.get("metadata") or {}).get("name") or "")):
        if to_kill <= 0:
            break
        if _labels(rev).get(HASH_LABEL) in live:
            continue
        out.append((rev.get("metadata") or {}).get("name"))
        to_kill -= 1
    return out
