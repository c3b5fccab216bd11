"""The store's writer process (``storage/sqlite_writer.py``): its protocol, its failures, its end."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import threading
import time

import pytest

from everynode.storage import sqlite_writer
from everynode.storage.interface import StorageError
from everynode.storage.sqlite import SqliteStore


def run(coro):
    return asyncio.run(coro)


def obj(name: str) -> dict:
    return {"metadata": {"name": name}}


def gone(pid: int, within: float = 5.0) -> bool:
    """True once ``pid`` has exited and been reaped (no /proc entry), or is a zombie."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def serve_in_thread(path: str) -> tuple[socket.socket, threading.Thread]:
    ours, theirs = socket.socketpair()
    t = threading.Thread(target=sqlite_writer.serve, args=(theirs, path, True), daemon=True)
    t.start()
    return ours, t


def test_protocol_a_failed_transaction_rolls_back_and_the_writer_goes_on(tmp_path):
    ours, t = serve_in_thread(str(tmp_path / "db"))
    assert sqlite_writer.receive(ours) == ("ready", 0)
    sqlite_writer.send(ours, ("write", [("put", "pods/ns/a", 1, 1, b'{"a":1}')], 1))
    assert sqlite_writer.receive(ours) == ("ok",)
    # A NULL value breaks the table's NOT NULL: the whole batch (the good row before it
    # included) rolls back and the answer names the error.
    sqlite_writer.send(ours, ("write", [("put", "pods/ns/b", 2, 2, b"{}"), ("put", "pods/ns/c", 3, 3, None)], 3))
    answer = sqlite_writer.receive(ours)
    assert answer[0] == "error" and "NOT NULL" in answer[1]
    sqlite_writer.send(ours, ("write", [("delete", "pods/ns/a"), ("put", "pods/ns/d", 2, 2, b"{}")], 2))
    assert sqlite_writer.receive(ours) == ("ok",)
    sqlite_writer.send(ours, ("close",))
    t.join(5)
    assert not t.is_alive()
    ours.close()
    db = sqlite3.connect(tmp_path / "db")
    assert db.execute("SELECT key FROM kv ORDER BY key").fetchall() == [("pods/ns/d",)]
    assert db.execute("SELECT value FROM meta WHERE name='rev'").fetchone() == (2,)
    db.close()


def test_protocol_the_stored_rows_come_in_chunks_then_the_revision(tmp_path, monkeypatch):
    db = sqlite_writer.open_db(str(tmp_path / "db"), True)
    sqlite_writer.write(db, [("put", f"pods/ns/p{i}", i + 1, i + 1, b"{}") for i in range(5)], 5)
    db.close()
    monkeypatch.setattr(sqlite_writer, "LOAD_CHUNK", 2)
    ours, t = serve_in_thread(str(tmp_path / "db"))
    messages = [sqlite_writer.receive(ours) for _ in range(4)]
    assert [m[0] for m in messages] == ["rows", "rows", "rows", "ready"]
    assert [len(m[1]) for m in messages[:3]] == [2, 2, 1]
    assert sorted(r[0] for m in messages[:3] for r in m[1]) == [f"pods/ns/p{i}" for i in range(5)]
    assert messages[3] == ("ready", 5)
    sqlite_writer.send(ours, ("close",))
    t.join(5)
    ours.close()


def test_protocol_the_writer_stops_at_the_sockets_end(tmp_path):
    ours, t = serve_in_thread(str(tmp_path / "db"))
    assert sqlite_writer.receive(ours)[0] == "ready"
    ours.close()  # as when the cluster's process dies
    t.join(5)
    assert not t.is_alive()


def test_protocol_a_file_that_cannot_be_opened_is_an_error_answer(tmp_path):
    ours, t = serve_in_thread(str(tmp_path / "no-such-dir" / "db"))
    answer = sqlite_writer.receive(ours)
    assert answer[0] == "error" and "unable to open" in answer[1]
    t.join(5)
    ours.close()


def test_store_that_cannot_open_its_file_raises_and_leaves_no_process(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "no-such-dir" / "db")
        with pytest.raises(StorageError, match="cannot open .*no-such-dir"):
            await s.start()
        assert s.writer_pid is None
    run(main())


def test_close_ends_the_writer_process(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        pid = s.writer_pid
        assert pid is not None and pid != os.getpid()
        await s.create("pods/ns/a", obj("a"))
        await s.close()
        assert s.writer_pid is None
        assert gone(pid)
    run(main())


def test_a_killed_writer_fails_writes_instead_of_hanging(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        await s.create("pods/ns/a", obj("a"))
        os.kill(s.writer_pid, 9)
        with pytest.raises(StorageError, match="writer process exited"):
            await asyncio.wait_for(s.create("pods/ns/b", obj("b")), 5)
        assert s.get("pods/ns/b") is None  # nothing unacknowledged becomes visible
        with pytest.raises(StorageError):
            await asyncio.wait_for(s.create("pods/ns/c", obj("c")), 5)
        await asyncio.wait_for(s.close(), 10)
        # What was acknowledged is on disk.
        s2 = SqliteStore(tmp_path / "db")
        await s2.start()
        assert s2.get("pods/ns/a") is not None and s2.get("pods/ns/b") is None
        await s2.close()
    run(main())


def test_the_writer_outlasts_a_ctrl_c_and_a_terminate_meant_for_the_cluster(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        os.kill(s.writer_pid, signal.SIGINT)
        os.kill(s.writer_pid, signal.SIGTERM)
        await asyncio.sleep(0.2)
        e = await asyncio.wait_for(s.create("pods/ns/a", obj("a")), 5)  # the writer still commits
        assert e.value["metadata"]["name"] == "a"
        await s.close()
    run(main())


def test_a_full_database_is_the_error_answer_and_a_later_batch_commits(tmp_path):
    # When the file cannot grow during a one-row statement (no statement journal to undo just
    # that statement), SQLite rolls the whole transaction back by itself: the error must be
    # that one, not the failure of a second ROLLBACK ("no transaction is active").
    path = str(tmp_path / "db")
    db = sqlite_writer.open_db(path, True)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages + 4}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        sqlite_writer.write(db, [("put", "pods/ns/big", 1, 1, b"x" * 100_000)], 1)
    assert not db.in_transaction
    db.execute(f"PRAGMA max_page_count={pages + 1000}")
    sqlite_writer.write(db, [("put", "pods/ns/a", 1, 1, b"{}")], 1)
    assert db.execute("SELECT key FROM kv").fetchall() == [("pods/ns/a",)]
    assert db.execute("SELECT value FROM meta WHERE name='rev'").fetchone() == (1,)
    db.close()
