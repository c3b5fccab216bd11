"""DaemonSet: identity and registry strategy."""

from __future__ import annotations

from everynode.api.kind import Kind

KIND = Kind(
    group="apps",
    version="v1",
    kind="DaemonSet",
    plural="daemonsets",
    singular="daemonset",
    namespaced=True,
    type_name="V1DaemonSet",
    short_names=("ds",),
    categories=("all",),
    subresources=("status",),
)
