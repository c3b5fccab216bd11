"""Event: identity and registry strategy."""

from __future__ import annotations

from everynode.api.kind import Kind

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
)
