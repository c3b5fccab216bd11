"""Namespace: identity and registry strategy."""

from __future__ import annotations

from everynode.api.kind import Kind

KIND = Kind(
    group="",
    version="v1",
    kind="Namespace",
    plural="namespaces",
    singular="namespace",
    namespaced=False,
    type_name="V1Namespace",
    short_names=("ns",),
    categories=(),
    subresources=("status","finalize",),
)
