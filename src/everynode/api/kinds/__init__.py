"""The registry of served kinds: one module per kind defines ``KIND``."""

from __future__ import annotations

from everynode.api.kind import Kind
from everynode.api.kinds import (
    controllerrevision,
    daemonset,
    event,
    lease,
    namespace,
    node,
    pod,
    priorityclass,
)

KINDS: list[Kind] = [
    namespace.KIND,
    node.KIND,
    pod.KIND,
    event.KIND,
    daemonset.KIND,
    controllerrevision.KIND,
    lease.KIND,
    priorityclass.KIND,
]


def _attach_tables() -> None:
    try:
        from everynode.api import tables
    except ImportError:  # tables not written yet
        return
    for k in KINDS:
        spec = tables.TABLES.get(k.plural)
        if spec is not None:
            k.columns, k.row = spec


_attach_tables()

BY_GROUP_VERSION_PLURAL: dict[tuple[str, str, str], Kind] = {
    (k.group, k.version, k.plural): k for k in KINDS
}
BY_GROUP_VERSION_KIND: dict[tuple[str, str, str], Kind] = {
    (k.group, k.version, k.kind): k for k in KINDS
}
