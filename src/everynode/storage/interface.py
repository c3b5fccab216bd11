"""The storage interface the API server is written against.

It is the subset of etcd's model Kubernetes relies on: a flat key space,
one global revision counter bumped by every write, compare-and-swap on an
object's modification revision, and a watch that can resume from any
revision still in the history window (older ones are "compacted" and
answer ``Compacted``). An etcd implementation can be dropped in later: no
SQL, file or thread detail leaks through this interface.

Keys are ``<resource>/<namespace>/<name>`` strings (namespace empty for
cluster-scoped kinds); prefixes end with ``/``. Values are JSON objects; the
store stamps ``metadata.resourceVersion`` with the revision of the write.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

Obj = dict[str, Any]


class StorageError(Exception):
    pass


class KeyExists(StorageError):
    pass


class KeyNotFound(StorageError):
    pass


class RevisionConflict(StorageError):
    """The object's current revision differs from the expected one."""

    def __init__(self, current: Entry | None):
        super().__init__("revision conflict")
        self.current = current


class Compacted(StorageError):
    """The requested revision is older than the history kept."""

    def __init__(self, requested: int, oldest: int):
        super().__init__(f"revision {requested} is compacted (oldest available {oldest})")
        self.requested = requested
        self.oldest = oldest


class Entry:
    """A stored object: its key, JSON bytes, revisions and decoded value.

    A store may keep only the bytes of a kind nobody holds decoded (events: most of the
    objects, read only by lists); ``value`` then decodes a fresh copy on each read."""

    __slots__ = ("key", "_value", "raw", "mod_rev", "create_rev")

    def __init__(self, key: str, value: Obj | None, raw: bytes, mod_rev: int, create_rev: int):
        self.key = key
        self._value = value
        self.raw = raw
        self.mod_rev = mod_rev
        self.create_rev = create_rev

    @property
    def value(self) -> Obj:
        v = self._value
        return orjson.loads(self.raw) if v is None else v

    def holds(self, obj: Obj) -> bool:
        """Whether ``obj`` is this entry's own decoded value (so ``raw`` is its JSON)."""
        return self._value is obj

    def forget_value(self) -> None:
        """Keep only the bytes from now on."""
        self._value = None

    def __repr__(self) -> str:
        return f"Entry({self.key!r}, mod_rev={self.mod_rev}, create_rev={self.create_rev})"


@dataclass(slots=True)
class Event:
    """One change. ``prev`` is the value before the change (None for ADDED)."""

    type: str  # ADDED, MODIFIED, DELETED
    key: str
    rev: int
    entry: Entry
    prev: Entry | None


class Watch(abc.ABC):
    """A stream of events for a key prefix, in revision order."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[Event]: ...

    @abc.abstractmethod
    async def poll(self, timeout: float) -> list[Event] | None:
        """The events queued so far, waiting up to ``timeout`` for the first;
        an empty list on timeout, None when the watch has ended."""

    @abc.abstractmethod
    def close(self) -> None: ...


class Store(abc.ABC):
    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @property
    @abc.abstractmethod
    def revision(self) -> int:
        """The revision of the last committed write."""

    @abc.abstractmethod
    def get(self, key: str) -> Entry | None: ...

    @abc.abstractmethod
    def list(self, prefix: str) -> tuple[list[Entry], int]:
        """Entries under ``prefix`` sorted by key, and the revision they reflect."""

    @abc.abstractmethod
    def count(self, prefix: str) -> int: ...

    @abc.abstractmethod
    async def create(self, key: str, value: Obj) -> Entry: ...

    @abc.abstractmethod
    async def update(self, key: str, value: Obj, expected_rev: int | None, delay: float = 0.0) -> Entry:
        """Replace ``key``; ``expected_rev`` None means unconditionally. ``delay``: seconds the
        write may wait for others to share its commit (a heartbeat's latency does not matter,
        a commit's fixed cost does)."""

    @abc.abstractmethod
    async def delete(self, key: str, expected_rev: int | None) -> Entry:
        """Delete ``key``; returns the deleted entry stamped with the delete revision."""

    @abc.abstractmethod
    def watch(self, prefix: str, after_rev: int) -> Watch:
        """Events under ``prefix`` with revision > ``after_rev``; raises Compacted."""

    @abc.abstractmethod
    def compact(self, rev: int) -> None:
        """Forget history at and before ``rev``."""
