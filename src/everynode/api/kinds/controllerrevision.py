"""ControllerRevision: identity and registry strategy."""

from __future__ import annotations

from everynode.api.kind import Kind

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
)
