"""Strategic-merge-patch metadata of the served types (upstream struct tags).

Upstream declares, on the Go struct fields, a ``patchStrategy`` (``merge``,
``replace``, ``retainKeys`` or ``merge,retainKeys``) and for lists of objects a
``patchMergeKey``. Strategic merge patch reads them to decide whether a list
is merged element by element or replaced whole. Every field not listed here
has no strategy: its lists are replaced and its maps merged key by key.

The table below was checked against the struct tags compiled into kubectl
1.37.1 and against ``k8s.io/api`` ``core/v1/types.go`` and ``apps/v1/types.go``.
Notable absences (no strategy upstream): ``NodeSpec.taints``,
``PodSpec.tolerations``, ``PodSpec.readinessGates``, ``Container.command`` /
``args`` / ``envFrom``, ``NamespaceSpec.finalizers``, affinity term lists,
``PodStatus.containerStatuses``.

Importing this module fills ``schema.PATCH_META``; ``schema`` imports it at
its end so the table is always present.
"""

from __future__ import annotations

from everynode.api import schema

_MERGE = "merge"
_MERGE_RETAIN = "merge,retainKeys"

# (type, json field, strategy, merge key or None)
_TAGS: tuple[tuple[str, str, str, str | None], ...] = (
    # metav1.ObjectMeta
    ("V1ObjectMeta", "ownerReferences", _MERGE, "uid"),
    ("V1ObjectMeta", "finalizers", _MERGE, None),
    # core/v1 PodSpec
    ("V1PodSpec", "volumes", _MERGE_RETAIN, "name"),
    ("V1PodSpec", "initContainers", _MERGE, "name"),
    ("V1PodSpec", "containers", _MERGE, "name"),
    ("V1PodSpec", "ephemeralContainers", _MERGE, "name"),
    ("V1PodSpec", "imagePullSecrets", _MERGE, "name"),
    ("V1PodSpec", "hostAliases", _MERGE, "ip"),
    ("V1PodSpec", "topologySpreadConstraints", _MERGE, "topologyKey"),
    ("V1PodSpec", "schedulingGates", _MERGE, "name"),
    ("V1PodSpec", "resourceClaims", _MERGE_RETAIN, "name"),
    ("V1PodSpec", "evictionResponders", _MERGE, "name"),
    # core/v1 Container and EphemeralContainer (EphemeralContainerCommon)
    ("V1Container", "ports", _MERGE, "containerPort"),
    ("V1Container", "env", _MERGE, "name"),
    ("V1Container", "volumeMounts", _MERGE, "mountPath"),
    ("V1Container", "volumeDevices", _MERGE, "devicePath"),
    ("V1EphemeralContainer", "ports", _MERGE, "containerPort"),
    ("V1EphemeralContainer", "env", _MERGE, "name"),
    ("V1EphemeralContainer", "volumeMounts", _MERGE, "mountPath"),
    ("V1EphemeralContainer", "volumeDevices", _MERGE, "devicePath"),
    # core/v1 PodStatus and friends
    ("V1PodStatus", "conditions", _MERGE, "type"),
    ("V1PodStatus", "podIPs", _MERGE, "ip"),
    ("V1PodStatus", "hostIPs", _MERGE, "ip"),
    ("V1PodStatus", "resourceClaimStatuses", _MERGE_RETAIN, "name"),
    ("V1PodStatus", "nodeAllocatableResourceClaimStatuses", _MERGE, "resourceClaimName"),
    ("V1ContainerStatus", "volumeMounts", _MERGE, "mountPath"),
    ("V1ContainerStatus", "allocatedResourcesStatus", _MERGE, "name"),
    ("V1NodeAllocatableResourceClaimStatus", "mapping", _MERGE, "name"),
    ("V1NodeAllocatableResourceClaimStatus", "overhead", _MERGE, "name"),
    ("V1PodVolumeHealth", "healthConditions", _MERGE, "status"),
    # core/v1 Node
    ("V1NodeSpec", "podCIDRs", _MERGE, None),
    ("V1NodeStatus", "conditions", _MERGE, "type"),
    ("V1NodeStatus", "addresses", _MERGE, "type"),
    # core/v1 Namespace
    ("V1NamespaceStatus", "conditions", _MERGE, "type"),
    # apps/v1 DaemonSet
    ("V1DaemonSetStatus", "conditions", _MERGE, "type"),
)


def _fill() -> None:
    for type_name, field, strategy, key in _TAGS:
        schema.PATCH_META[(type_name, field)] = schema.PatchMeta(strategy, key)


_fill()
