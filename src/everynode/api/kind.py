"""What the API server knows about one served kind.

A ``Kind`` bundles the resource's identity (group, version, plural, short
names), the schema type it is built from (see ``api/schema.py``) and the
behaviour hooks of its registry strategy: defaulting, validation, how create,
update and status updates prepare the object, which fields a fieldSelector
may use, and the server-side table columns.

The API server is generic over ``Kind``; everything kind-specific lives in
``api/kinds/<kind>.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from everynode.api.errors import FieldError

Obj = dict[str, Any]
FieldGetter = Callable[[Obj], "str | None"]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def _no_errors(*_args: Any) -> list[FieldError]:
    return []


def _noop(*_args: Any) -> None:
    return None


@dataclass
class Column:
    """A server-side table column (metav1.TableColumnDefinition)."""

    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0

    def definition(self) -> dict:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description, "priority": self.priority}


@dataclass
class Kind:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    type_name: str  # schema type, e.g. "V1DaemonSet"
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "binding", "eviction", "log", ...
    verbs: tuple[str, ...] = ALL_VERBS
    # True when spec changes bump metadata.generation (kinds with a spec).
    has_generation: bool = False
    # Seconds an update may wait in the store's queue to share a commit with others: for
    # heartbeats, whose latency does not matter and whose count (one per node every 10 s) would
    # otherwise make one commit each.
    commit_delay: float = 0.0

    # Strategy hooks. They mutate the object in place.
    default: Callable[[Obj], None] = _noop
    prepare_create: Callable[[Obj], None] = _noop
    prepare_update: Callable[[Obj, Obj], None] = _noop  # (new, old)
    prepare_status_update: Callable[[Obj, Obj], None] = _noop  # (new, old)
    validate_create: Callable[[Obj], list[FieldError]] = _no_errors
    validate_update: Callable[[Obj, Obj], list[FieldError]] = _no_errors  # (new, old)
    validate_status_update: Callable[[Obj, Obj], list[FieldError]] = _no_errors

    # fieldSelector support beyond metadata.name / metadata.namespace.
    field_getters: dict[str, FieldGetter] = field(default_factory=dict)
    # Selectable fields whose value is a string read verbatim from the object: a list can skip
    # an object whose JSON does not contain the wanted value without decoding it.
    verbatim_fields: frozenset[str] = frozenset()

    # Server-side table: column definitions and a row builder (obj, now) -> cells.
    columns: list[Column] = field(default_factory=list)
    row: Callable[[Obj, float], list[Any]] | None = None

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_plural(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind
