"""The store's writer: a child process that owns the SQLite file.

``SqliteStore`` keeps every object in memory and sends each batch of writes
here; the batch is one transaction, and the store makes it visible only once
this process answers that the transaction is committed (and, with
``durable``, fsynced).

Why a process and not a thread: the sqlite3 module lets the GIL go around
every statement step and takes it back after. A thread doing so inside the
cluster process waited for the event loop's thread each time (up to the
5 ms switch interval while the loop was busy): at 3,000 nodes a commit of
about 50 rows took 18 ms, 2 ms of it work, and the loop sat idle 13-17% of
a DaemonSet's creation waiting for commits. In its own process the writer
never waits for the loop, and the loop never waits for the writer's Python.

Protocol, over a socket pair: each message is a 4-byte little-endian length
and a ``marshal`` payload (both ends run the same interpreter).

- writer -> store, at start: ``("rows", rows)`` as many times as it takes
  (``LOAD_CHUNK`` stored rows ``(key, create_rev, mod_rev, value)`` each, so
  that neither process holds the whole file twice), then ``("ready", rev)``
  with the store's revision; or ``("error", text)`` when the file cannot be
  opened or read.
- store -> writer: ``("write", rows, rev)``, rows ``("put", key, create_rev,
  mod_rev, value)`` or ``("delete", key)`` applied in order; the writer
  answers ``("ok",)`` or ``("error", text)`` (the transaction rolled back).
- store -> writer: ``("close",)``, or the socket's end: the writer closes the
  file and exits.

Run as ``python -m everynode.storage.sqlite_writer FD PATH DURABLE``. Only the
standard library is imported here: the process starts in tens of milliseconds.
"""

from __future__ import annotations

import functools
import marshal
import signal
import socket
import sqlite3
import struct
import sys

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL,
  value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

HEADER = struct.Struct("<I")

# A batch's puts (and deletes) go to SQLite as multi-row statements of at most
# ROWS_PER_STATEMENT rows rather than executemany's one statement step per row. A run of n rows is written as chunks of
# ROWS_PER_STATEMENT and the binary digits of the rest: a few distinct statements, which the
# module's statement cache keeps prepared.
ROWS_PER_STATEMENT = 256
_PUT_SQL = ("INSERT INTO kv(key, create_rev, mod_rev, value) VALUES {} "
            "ON CONFLICT(key) DO UPDATE SET mod_rev=excluded.mod_rev, value=excluded.value")
_DELETE_SQL = "DELETE FROM kv WHERE key IN ({})"


def statement_sizes(n: int, most: int = ROWS_PER_STATEMENT) -> list[int]:
    """How many rows each statement of a run of ``n`` takes: ``most`` at a time, then the
    rest's binary digits, largest first (``most`` a power of two)."""
    sizes = [most] * (n // most)
    rest = n % most
    bit = most >> 1
    while bit:
        if rest & bit:
            sizes.append(bit)
        bit >>= 1
    return sizes


@functools.cache
def _put_sql(rows: int) -> str:
    return _PUT_SQL.format(",".join(["(?,?,?,?)"] * rows))


@functools.cache
def _delete_sql(rows: int) -> str:
    return _DELETE_SQL.format(",".join(["?"] * rows))


def frame(message: tuple) -> list[bytes]:
    """A message as the chunks to send: its length, then its payload."""
    payload = marshal.dumps(message)
    return [HEADER.pack(len(payload)), payload]


def open_db(path: str, durable: bool) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    db.executescript(SCHEMA)
    return db


LOAD_CHUNK = 10_000


def load(db: sqlite3.Connection, sock: socket.socket) -> None:
    """Send every stored row, a chunk at a time, then the revision."""
    row = db.execute("SELECT value FROM meta WHERE name='rev'").fetchone()
    cursor = db.execute("SELECT key, create_rev, mod_rev, value FROM kv")
    while rows := cursor.fetchmany(LOAD_CHUNK):
        send(sock, ("rows", rows))
    send(sock, ("ready", row[0] if row else 0))


def write(db: sqlite3.Connection, rows: list, rev: int) -> None:
    """One transaction: the rows in order (a key put then deleted in the same batch ends up
    deleted; within a statement rows apply in order too), then the store's revision."""
    db.execute("BEGIN IMMEDIATE")
    try:
        i = 0
        while i < len(rows):
            op = rows[i][0]
            j = i
            while j < len(rows) and rows[j][0] == op:
                j += 1
            for size in statement_sizes(j - i):
                chunk = rows[i:i + size]
                if op == "put":
                    db.execute(_put_sql(size), [v for row in chunk for v in row[1:]])
                else:
                    db.execute(_delete_sql(size), [row[1] for row in chunk])
                i += size
        db.execute("INSERT INTO meta(name, value) VALUES('rev', ?) "
                   "ON CONFLICT(name) DO UPDATE SET value=excluded.value", (rev,))
        db.execute("COMMIT")
    except BaseException:
        # On some errors (a full disk, an I/O error) SQLite has rolled back already; a
        # ROLLBACK then fails too, and its error must not hide the one that broke the batch.
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise


def send(sock: socket.socket, message: tuple) -> None:
    for chunk in frame(message):
        sock.sendall(chunk)


def _recv_exactly(sock: socket.socket, n: int) -> bytearray | None:
    buf = bytearray(n)  # filled in place: a batch of megabytes is copied once
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        if not k:
            return None
        got += k
    return buf


def receive(sock: socket.socket) -> tuple | None:
    """The next message, or None at the socket's end."""
    head = _recv_exactly(sock, HEADER.size)
    if head is None:
        return None
    payload = _recv_exactly(sock, HEADER.unpack(head)[0])
    return None if payload is None else marshal.loads(payload)


def serve(sock: socket.socket, path: str, durable: bool) -> None:
    try:
        db = open_db(path, durable)
    except (sqlite3.Error, OSError) as exc:
        send(sock, ("error", f"{type(exc).__name__}: {exc}"))
        return
    try:
        load(db, sock)
    except sqlite3.Error as exc:
        send(sock, ("error", f"{type(exc).__name__}: {exc}"))
        db.close()
        return
    try:
        while True:
            message = receive(sock)
            if message is None or message[0] == "close":
                return
            _, rows, rev = message
            try:
                write(db, rows, rev)
            except Exception as exc:  # disk full, I/O error: this batch fails, the writer goes on
                answer: tuple = ("error", f"{type(exc).__name__}: {exc}")
            else:
                answer = ("ok",)
            send(sock, answer)
    finally:
        db.close()


def main(argv: list[str]) -> int:
    fd, path, durable = int(argv[0]), argv[1], argv[2] == "1"
    # A Ctrl-C in the terminal reaches the whole process group: the store's process then shuts
    # down and still commits what is queued, so the writer must not stop before it. It stops
    # when the store closes it or its process is gone (the socket's end), and not by a signal
    # meant for the cluster.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with socket.socket(fileno=fd) as sock:
        try:
            serve(sock, path, durable)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the store's process is gone: nothing is waiting for an answer
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
