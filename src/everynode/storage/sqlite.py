"""Embedded durable store: SQLite for durability, memory for reads and watch.

Every committed object lives in memory (the watch cache), so get, list and
watch never touch SQLite. Writes are queued; one committer task takes
everything queued, checks each write against the state (including earlier
writes of the same batch), assigns revisions, and commits the whole batch in
a single SQLite transaction (group commit) in the store's writer process
(``sqlite_writer``), which owns the file. Only after the commit is durable
does the batch become visible to readers and watchers and the writers get
their answer, so a crash never loses an acknowledged write and never shows
an unacknowledged one.

History for watch is an in-memory window of recent events; a watch from a
revision before the window (e.g. from before a restart) gets ``Compacted``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import marshal
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from everynode.jsondata import SharedSubtrees, json_bytes_kept
from everynode.storage import sqlite_writer
from everynode.storage.interface import (
    Compacted,
    Entry,
    Event,
    KeyExists,
    KeyNotFound,
    Obj,
    RevisionConflict,
    StorageError,
    Store,
    Watch,
)

log = logging.getLogger("everynode.storage")

MAX_BATCH = 2000
# Under load (LOAD_WRITES or more writes came in while a commit was in flight), a commit starts
# at most every COMMIT_INTERVAL seconds; writes that come meanwhile share the next one. Each
# commit wakes every watcher of what it touched (informers, the controllers' syncs after
# them) once, so a cluster busy creating pods did more work in all when commits came as fast
# as the writer process answers them (a creation at 3,000 nodes: 682-806 commits and 5.3-5.8 s
# of the loop's CPU, against 262-276 and 5.0-5.4 s at 10 ms).
COMMIT_INTERVAL = 0.01
# Not for a few writes: a node joining 10,000 others waits for six commits in a row, and with
# the interval after any commit that found a due write its daemon pods were Ready after 85-92
# ms (p50) instead of 42 ms without it (41 ms with this threshold). A higher threshold (32)
# let a creation of 1,000 pods make 161-251 commits instead of 113-117, and take 0.1 s longer.
LOAD_WRITES = 8
WATCH_QUEUE_LIMIT = 200_000  # a watcher this far behind is closed; the client re-lists

@dataclass(slots=True)
class _Op:
    kind: str  # create, update, delete
    key: str
    value: Obj | None
    expected_rev: int | None
    future: asyncio.Future
    due: float  # monotonic time by which its commit must start; 0.0: at once


def commit_pause(started: float, now: float, pending: int, due: float | None) -> float:
    """Seconds to wait before the next commit, just after one that started at ``started``:
    the rest of ``COMMIT_INTERVAL`` under load (at least ``LOAD_WRITES`` writes queued, one
    of them due), else none. A write or a few that follow a commit (a controller reacting to
    what it published) go at once, so a chain of them is not slowed."""
    if pending < LOAD_WRITES or due is None or due > now:
        return 0.0
    return max(0.0, started + COMMIT_INTERVAL - now)


def _split(key: str) -> tuple[str, str]:
    """'pods/ns/name' -> ('pods', 'ns/name')."""
    resource, _, rest = key.partition("/")
    return resource, rest


class _Watcher(Watch):
    def __init__(self, store: SqliteStore, resource: str, sub_prefix: str):
        self.store = store
        self.resource = resource
        self.sub_prefix = sub_prefix
        self.queue: collections.deque[Event | None] = collections.deque()
        self.wake = asyncio.Event()
        self.closed = False

    def matches(self, key_rest: str) -> bool:
        return not self.sub_prefix or key_rest.startswith(self.sub_prefix)

    def push(self, ev: Event | None) -> None:
        if self.closed:
            return
        if len(self.queue) >= WATCH_QUEUE_LIMIT:
            self.queue.clear()
            self.queue.append(None)
            self.close()
        else:
            self.queue.append(ev)
        self.wake.set()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.store._unregister(self)
            self.wake.set()

    async def _iter(self):
        while True:
            while self.queue:
                ev = self.queue.popleft()
                if ev is None:
                    return
                yield ev
            if self.closed:
                return
            self.wake.clear()
            await self.wake.wait()

    def __aiter__(self):
        return self._iter()

    async def poll(self, timeout: float) -> list[Event] | None:
        """Queued events (waiting up to ``timeout`` for one); None once closed."""
        if not self.queue:
            if self.closed:
                return None
            self.wake.clear()
            try:
                async with asyncio.timeout(timeout):  # no task per poll, unlike wait_for
                    await self.wake.wait()
            except TimeoutError:
                return []
        out: list[Event] = []
        while self.queue:
            ev = self.queue.popleft()
            if ev is None:
                self.closed = True
                return out or None
            out.append(ev)
        return out


# An event of the watch history: (rev, key, type, raw, mod_rev, create_rev, prev), prev being
# (raw, mod_rev, create_rev) of the version before or None. Kept as JSON bytes: decoded objects
# are several times the size of their JSON, and the history holds up to ``history`` old versions
# nobody else references; a watch replaying from the history decodes them again. A plain tuple
# of strings, numbers and bytes, which the garbage collector stops tracking at its first look:
# an object of a class would be walked by every generation while in the window (50,000 records).
_REV, _KEY = 0, 1


def _record(ev: Event) -> tuple:
    e, p = ev.entry, ev.prev
    return (ev.rev, ev.key, ev.type, e.raw, e.mod_rev, e.create_rev,
            None if p is None else (p.raw, p.mod_rev, p.create_rev))


def _replayed(rec: tuple) -> Event:
    rev, key, type_, raw, mod_rev, create_rev, prev = rec
    entry = Entry(key, orjson.loads(raw), raw, mod_rev, create_rev)
    before = None if prev is None else Entry(key, orjson.loads(prev[0]), *prev)
    return Event(type_, key, rev, entry, before)


@dataclass
class _Stats:
    commits: int = 0
    writes: int = 0
    bytes: int = 0
    commit_seconds: float = 0.0
    batches: list[int] = field(default_factory=list)


class _Writer:
    """The store's end of its writer process (``sqlite_writer``): one request in flight at a
    time, the commit loop's."""

    def __init__(self, path: str, durable: bool):
        self.path, self.durable = path, durable
        self._proc: subprocess.Popen | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._gone = False  # the process exited: every write fails at once

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self, on_rows: Callable[[list], None]) -> int:
        """Start the process; hand each chunk of the stored rows to ``on_rows`` as it reads
        them, and return the store's revision."""
        ours, theirs = socket.socketpair()
        # The child imports this package from wherever this process does.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "everynode.storage.sqlite_writer", str(theirs.fileno()), self.path,
                 "1" if self.durable else "0"],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env)
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        self._reader, self._writer = await asyncio.open_connection(sock=ours)
        while (answer := await self._receive()) is not None and answer[0] == "rows":
            on_rows(answer[1])
        if answer is None or answer[0] != "ready":
            await self.close()
            raise StorageError(f"cannot open {self.path}: "
                               f"{answer[1] if answer else 'the writer process exited'}")
        return answer[1]

    async def write(self, rows: list[tuple], rev: int) -> None:
        """Commit ``rows`` and ``rev`` as one transaction; StorageError if it did not commit."""
        assert self._writer is not None
        if self._gone:
            raise StorageError("the store's writer process exited")
        try:
            self._writer.writelines(sqlite_writer.frame(("write", rows, rev)))
            await self._writer.drain()
        except ConnectionError:
            pass  # the answer below tells
        answer = await self._receive()
        if answer is None:
            self._gone = True
            raise StorageError("the store's writer process exited")
        if answer[0] != "ok":
            raise StorageError(f"write failed: {answer[1]}")

    async def _receive(self) -> tuple | None:
        assert self._reader is not None
        try:
            head = await self._reader.readexactly(sqlite_writer.HEADER.size)
            payload = await self._reader.readexactly(sqlite_writer.HEADER.unpack(head)[0])
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return marshal.loads(payload)

    async def close(self) -> None:
        """Ask the process to close the file and wait until it has (its end of the socket
        closes last); then reap it."""
        if self._writer is not None:
            writer, reader = self._writer, self._reader
            self._writer = self._reader = None
            try:
                writer.writelines(sqlite_writer.frame(("close",)))
                await writer.drain()
                assert reader is not None
                while await reader.read(65536):
                    pass
            except ConnectionError:
                pass
            writer.close()
        if self._proc is not None:
            proc, self._proc = self._proc, None
            # Its end of the socket is closed: it is exiting. Reaped without blocking the loop.
            deadline = time.monotonic() + 10
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    break
                await asyncio.sleep(0.005)


def _forget_values(entries: list[Entry]) -> None:
    for entry in entries:
        entry.forget_value()


class SqliteStore(Store):
    def __init__(self, path: str | Path, history: int = 50_000, durable: bool = True,
                 history_seconds: float = 300.0, bytes_only: Iterable[str] = (),
                 shared: Mapping[str, Iterable[tuple[str, ...]]] | None = None):
        self.path = str(path)
        # Per resource, the paths of subtrees its objects often repeat verbatim (a DaemonSet's
        # pods): stored values refer to one shared instance of each.
        self._shared = {resource: SharedSubtrees(paths) for resource, paths in (shared or {}).items()}
        # Resources kept as JSON bytes only, decoded on each read: a decoded object is about
        # four times the size of its JSON, and nothing in the process holds these decoded.
        self.bytes_only = frozenset(bytes_only)
        self.history_limit = history
        self.history_seconds = history_seconds
        self._log_times: collections.deque[float] = collections.deque()
        self.durable = durable
        # resource -> full key -> entry (the entry's own key string: one string per object)
        self._data: dict[str, dict[str, Entry]] = collections.defaultdict(dict)
        self._rev = 0
        self._oldest = 1  # oldest revision a watch may start after minus one
        self._log: collections.deque[tuple] = collections.deque()  # see _record
        self._watchers: dict[str, set[_Watcher]] = collections.defaultdict(set)
        self._pending: list[_Op] = []
        self._due: float | None = None  # earliest due time of the pending writes
        self._wake: asyncio.Event | None = None
        self._committer: asyncio.Task | None = None
        self._closing = False
        self._writer = _Writer(self.path, durable)
        self.stats = _Stats()

    # lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self._rev = await self._writer.start(self._load_rows)
        # History does not survive a restart: a watch must start at or after now.
        self._oldest = self._rev
        self._wake = asyncio.Event()
        self._committer = asyncio.create_task(self._commit_loop(), name="sqlite-committer")

    def _load_rows(self, rows: list) -> None:
        for key, create_rev, mod_rev, raw in rows:
            resource, _ = _split(key)
            value = None if resource in self.bytes_only else orjson.loads(raw)
            self._data[resource][key] = Entry(key, value, raw, mod_rev, create_rev)
            if value is not None and resource in self._shared:
                self._shared[resource].share(value)

    async def close(self) -> None:
        if self._committer is not None:
            # Refuse new writes, let the committer drain the queue and the batch in flight.
            self._closing = True
            assert self._wake is not None
            self._wake.set()
            try:
                await self._committer
            except asyncio.CancelledError:
                pass
            self._committer = None
        for watchers in list(self._watchers.values()):
            for w in list(watchers):
                w.close()
        await self._writer.close()

    @property
    def writer_pid(self) -> int | None:
        """The process id of the store's writer process while it runs (its CPU and memory are
        the store's too)."""
        return self._writer.pid

    # reads -----------------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._rev

    @property
    def oldest_revision(self) -> int:
        return self._oldest

    def get(self, key: str) -> Entry | None:
        table = self._data.get(key.partition("/")[0])
        return table.get(key) if table is not None else None

    def list(self, prefix: str) -> tuple[list[Entry], int]:
        resource, sub = _split(prefix)
        table = self._data.get(resource)
        if not table:
            return [], self._rev
        if sub:
            keys = sorted(k for k in table if k.startswith(prefix))
        else:
            keys = sorted(table)
        return [table[k] for k in keys], self._rev

    def entries(self, prefix: str) -> list[Entry]:
        """A snapshot of the entries under ``prefix``, in no particular order (no sort: a pass
        over all events at 10,000 nodes walks 300,000 of them)."""
        resource, sub = _split(prefix)
        table = self._data.get(resource) or {}
        return [e for k, e in table.items() if k.startswith(prefix)] if sub else list(table.values())

    def count(self, prefix: str) -> int:
        resource, sub = _split(prefix)
        table = self._data.get(resource)
        if not table:
            return 0
        if not sub:
            return len(table)
        return sum(1 for k in table if k.startswith(prefix))

    def modified_in_memory(self) -> list[str]:
        """Keys whose in-memory object no longer serialises to the JSON that was stored: some
        reader modified a shared object (a bug; see ``everynode.cluster``)."""
        return [key for resource, table in self._data.items() if resource not in self.bytes_only
                for key, e in table.items() if orjson.dumps(e.value) != e.raw]

    # writes ----------------------------------------------------------------------

    def _submit(self, kind: str, key: str, value: Obj | None, expected_rev: int | None,
                delay: float = 0.0):
        if self._wake is None:
            raise RuntimeError("store not started")
        if self._closing:
            raise StorageError("the store is closing")
        fut = asyncio.get_running_loop().create_future()
        due = time.monotonic() + delay if delay > 0 else 0.0
        self._pending.append(_Op(kind, key, value, expected_rev, fut, due))
        if self._due is None or due < self._due:
            self._due = due
            self._wake.set()
        return fut

    async def create(self, key: str, value: Obj) -> Entry:
        return await self._submit("create", key, value, None)

    async def update(self, key: str, value: Obj, expected_rev: int | None, delay: float = 0.0) -> Entry:
        return await self._submit("update", key, value, expected_rev, delay)

    async def delete(self, key: str, expected_rev: int | None) -> Entry:
        return await self._submit("delete", key, None, expected_rev)

    async def _commit_loop(self) -> None:
        """Commit what is queued as soon as one queued write is due (a write without a delay
        is due at once) and, under load, ``COMMIT_INTERVAL`` has passed since the last commit
        started; until then, writes gather, so a trickle of heartbeats shares one commit (its fsync and
        a round trip to the writer process) instead of paying one each."""
        assert self._wake is not None
        while True:
            if self._pending and (self._closing or self._due <= time.monotonic()):
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                self._due = min((op.due for op in self._pending), default=None)
                started = time.monotonic()
                try:
                    await self._commit_batch(batch)
                except Exception as exc:  # a bad value must not stop the committer for everyone
                    log.exception("store: a batch of %d writes failed", len(batch))
                    for op in batch:
                        if not op.future.done():
                            op.future.set_exception(StorageError(f"write failed: {exc}"))
                pause = commit_pause(started, time.monotonic(), len(self._pending), self._due)
                if pause > 0 and not self._closing:
                    await asyncio.sleep(pause)
                continue
            if self._closing:
                return
            self._wake.clear()
            wait = None if self._due is None else max(0.0, self._due - time.monotonic())
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()  # set by a write due sooner, or by close
            except TimeoutError:
                pass

    async def _commit_batch(self, batch: list[_Op]) -> None:
        overlay: dict[str, Entry | None] = {}
        rows: list[tuple] = []
        events: list[tuple[_Op, Event]] = []
        rev = self._rev
        for op in batch:
            current = overlay[op.key] if op.key in overlay else self.get(op.key)
            if op.kind == "create":
                if current is not None:
                    op.future.set_exception(KeyExists(op.key))
                    continue
            else:
                if current is None:
                    op.future.set_exception(KeyNotFound(op.key))
                    continue
                if op.expected_rev is not None and current.mod_rev != op.expected_rev:
                    op.future.set_exception(RevisionConflict(current))
                    continue
            rev += 1
            if op.kind == "delete":
                value = dict(current.value)
                value["metadata"] = dict(value["metadata"], resourceVersion=str(rev))
                entry = Entry(op.key, value, json_bytes_kept(value), rev, current.create_rev)
                overlay[op.key] = None
                rows.append(("delete", op.key))
                events.append((op, Event("DELETED", op.key, rev, entry, current)))
            else:
                value = op.value
                assert value is not None
                value.setdefault("metadata", {})["resourceVersion"] = str(rev)
                create_rev = rev if current is None else current.create_rev
                entry = Entry(op.key, value, json_bytes_kept(value), rev, create_rev)
                overlay[op.key] = entry
                rows.append(("put", op.key, create_rev, rev, entry.raw))
                kind = "ADDED" if current is None else "MODIFIED"
                events.append((op, Event(kind, op.key, rev, entry, current)))
        if not events:
            return
        started = time.perf_counter()
        try:
            await self._writer.write(rows, rev)
        except Exception as exc:  # disk full, I/O error: nothing becomes visible
            for op, _ in events:
                if not op.future.done():
                    op.future.set_exception(exc)
            return
        self.stats.commits += 1
        self.stats.writes += len(rows)
        self.stats.bytes += sum(len(r[4]) for r in rows if r[0] == "put")
        self.stats.commit_seconds += time.perf_counter() - started
        self._rev = rev
        forget: list[Entry] = []
        for op, ev in events:
            resource, rest = _split(ev.key)
            if ev.type == "DELETED":
                self._data[resource].pop(ev.key, None)
            else:
                self._data[resource][ev.key] = ev.entry
                if resource in self._shared:
                    self._shared[resource].share(ev.entry.value)
            self._publish(resource, rest, ev)
            if resource in self.bytes_only:
                forget.append(ev.entry)
            if not op.future.done():
                op.future.set_result(ev.entry)
        if forget:
            # Bytes only from now on, once the writers have had their decoded values (their own
            # objects): the futures' callbacks, queued above, resume them first. Forgotten at
            # the start of the next batch instead, the values of writers not yet resumed were
            # gone when the commit loop went straight on (a busy loop), and each such writer
            # decoded its event again and encoded it once more for the answer.
            asyncio.get_running_loop().call_soon(_forget_values, forget)
        self._trim_history()

    # watch ---------------------------------------------------------------------

    def _publish(self, resource: str, rest: str, ev: Event) -> None:
        self._log.append(_record(ev))
        self._log_times.append(time.monotonic())
        for w in self._watchers.get(resource, ()):
            if w.matches(rest):
                w.push(ev)

    def _trim_history(self) -> None:
        """Keep at most ``history_limit`` events and none older than ``history_seconds``
        (etcd is compacted every 5 minutes by the API server upstream)."""
        horizon = time.monotonic() - self.history_seconds
        while self._log and (len(self._log) > self.history_limit or self._log_times[0] < horizon):
            self._oldest = self._log.popleft()[_REV]
            self._log_times.popleft()

    def watch(self, prefix: str, after_rev: int) -> Watch:
        if after_rev < self._oldest:
            raise Compacted(after_rev, self._oldest)
        resource, sub = _split(prefix)
        w = _Watcher(self, resource, sub)
        if after_rev < self._rev:
            # Replay from the history window; the log is in revision order.
            for rec in self._iter_log_after(after_rev):
                r, rest = _split(rec[_KEY])
                if r == resource and w.matches(rest):
                    w.queue.append(_replayed(rec))
            w.wake.set()
        self._watchers[resource].add(w)
        return w

    def _iter_log_after(self, rev: int):
        log = self._log
        # binary search the first event with rev > rev
        lo, hi = 0, len(log)
        while lo < hi:
            mid = (lo + hi) // 2
            if log[mid][_REV] <= rev:
                lo = mid + 1
            else:
                hi = mid
        for i in range(lo, len(log)):
            yield log[i]

    def _unregister(self, w: _Watcher) -> None:
        self._watchers.get(w.resource, set()).discard(w)

    def compact(self, rev: int) -> None:
        rev = min(rev, self._rev)
        while self._log and self._log[0][_REV] <= rev:
            self._log.popleft()
            self._log_times.popleft()
        self._oldest = max(self._oldest, rev)
