"""PriorityClass: identity and registry strategy."""

from __future__ import annotations

from everynode.api.kind import Kind

KIND = Kind(
    group="scheduling.k8s.io",
    version="v1",
    kind="PriorityClass",
    plural="priorityclasses",
    singular="priorityclass",
    namespaced=False,
    type_name="V1PriorityClass",
    short_names=("pc",),
    categories=(),
    subresources=(),
)
