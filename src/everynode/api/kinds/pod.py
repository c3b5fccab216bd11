"""Pod: identity and registry strategy."""

from __future__ import annotations

from everynode.api.kind import Kind

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
    subresources=("status","binding","eviction","log",),
)
