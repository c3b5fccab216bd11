"""Node: identity and registry strategy."""

from __future__ import annotations

from everynode.api.kind import Kind

KIND = Kind(
    group="",
    version="v1",
    kind="Node",
    plural="nodes",
    singular="node",
    namespaced=False,
    type_name="V1Node",
    short_names=("no",),
    categories=(),
    subresources=("status","proxy",),
)
