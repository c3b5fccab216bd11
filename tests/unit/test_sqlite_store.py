"""The SQLite store: CAS, durability across reopen, watch from a revision, compaction."""

from __future__ import annotations

import asyncio

import pytest

from everynode.storage.interface import Compacted, KeyExists, KeyNotFound, RevisionConflict
from everynode.storage.sqlite import SqliteStore


def run(coro):
    return asyncio.run(coro)


def obj(name: str, **extra) -> dict:
    return {"metadata": {"name": name}, **extra}


def test_create_get_update_delete_and_revisions(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        e1 = await s.create("pods/ns/a", obj("a"))
        assert e1.mod_rev == 1 and e1.value["metadata"]["resourceVersion"] == "1"
        with pytest.raises(KeyExists):
            await s.create("pods/ns/a", obj("a"))
        e2 = await s.update("pods/ns/a", obj("a", spec={"x": 1}), expected_rev=1)
        assert e2.mod_rev == 2 and e2.create_rev == 1
        with pytest.raises(RevisionConflict):
            await s.update("pods/ns/a", obj("a"), expected_rev=1)
        with pytest.raises(KeyNotFound):
            await s.update("pods/ns/missing", obj("missing"), expected_rev=None)
        d = await s.delete("pods/ns/a", expected_rev=2)
        assert d.value["metadata"]["resourceVersion"] == "3"
        assert s.get("pods/ns/a") is None
        assert s.revision == 3
        await s.close()
    run(main())


def test_list_by_prefix_is_sorted_and_scoped(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        for key in ("pods/b/x", "pods/a/y", "pods/a/x", "nodes//n1"):
            await s.create(key, obj(key.rsplit("/", 1)[1]))
        entries, rev = s.list("pods/a/")
        assert [e.value["metadata"]["name"] for e in entries] == ["x", "y"]
        assert rev == 4
        assert len(s.list("pods/")[0]) == 3
        assert s.count("nodes/") == 1
        await s.close()
    run(main())


def test_concurrent_writes_are_group_committed_and_all_durable(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        await asyncio.gather(*(s.create(f"pods/ns/p{i}", obj(f"p{i}")) for i in range(500)))
        assert s.stats.writes == 500
        assert s.stats.commits < 500  # batched
        await s.close()
        s2 = SqliteStore(tmp_path / "db")
        await s2.start()
        assert s2.count("pods/") == 500
        assert s2.revision == 500
        e = s2.get("pods/ns/p7")
        assert e is not None and e.value["metadata"]["resourceVersion"] == str(e.mod_rev)
        await s2.close()
    run(main())


def test_conflicting_writes_in_one_batch(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        await s.create("pods/ns/a", obj("a"))
        results = await asyncio.gather(
            s.update("pods/ns/a", obj("a", v=1), expected_rev=1),
            s.update("pods/ns/a", obj("a", v=2), expected_rev=1),
            return_exceptions=True)
        assert sum(isinstance(r, RevisionConflict) for r in results) == 1
        assert s.get("pods/ns/a").value["v"] == 1
        await s.close()
    run(main())


def test_watch_replays_history_and_streams_live(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        await s.create("pods/ns/a", obj("a"))
        await s.create("nodes//n", obj("n"))
        await s.update("pods/ns/a", obj("a", v=1), None)
        w = s.watch("pods/", 0)
        await s.delete("pods/ns/a", None)
        events = await w.poll(1.0)
        assert [(e.type, e.rev) for e in events] == [("ADDED", 1), ("MODIFIED", 3), ("DELETED", 4)]
        assert events[1].prev.value.get("v") is None
        w.close()
        assert await w.poll(0.01) is None
        await s.close()
    run(main())


def test_watch_from_compacted_revision_fails(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        for i in range(5):
            await s.create(f"pods/ns/p{i}", obj(f"p{i}"))
        s.compact(3)
        with pytest.raises(Compacted):
            s.watch("pods/", 2)
        w = s.watch("pods/", 3)
        assert [e.rev for e in await w.poll(0.5)] == [4, 5]
        await s.close()
        # After a restart history starts at the stored revision.
        s2 = SqliteStore(tmp_path / "db")
        await s2.start()
        with pytest.raises(Compacted):
            s2.watch("pods/", 4)
        s2.watch("pods/", 5).close()
        await s2.close()
    run(main())


def test_a_bad_value_fails_its_write_but_not_the_store(tmp_path):
    from everynode.storage.interface import StorageError

    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        with pytest.raises(StorageError):
            await s.create("pods/ns/bad", {"metadata": {"name": "bad"}, "x": {1: "not a str key"}})
        e = await asyncio.wait_for(s.create("pods/ns/good", obj("good")), 5)
        assert e.value["metadata"]["name"] == "good"
        await asyncio.wait_for(s.close(), 5)
    run(main())


def test_close_drains_every_queued_write(tmp_path):
    from everynode.storage.interface import StorageError

    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        writes = [asyncio.ensure_future(s.create(f"pods/ns/p{i}", obj(f"p{i}"))) for i in range(3000)]
        await asyncio.sleep(0)
        await asyncio.wait_for(s.close(), 30)
        assert all(w.done() and not w.exception() for w in writes)
        with pytest.raises(StorageError):
            await s.create("pods/ns/late", obj("late"))
        s2 = SqliteStore(tmp_path / "db")
        await s2.start()
        assert s2.count("pods/") == 3000
        await s2.close()
    run(main())


def test_history_window_is_bounded_by_count_and_age(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db", history=3)
        await s.start()
        for i in range(5):
            await s.create(f"pods/ns/p{i}", obj(f"p{i}"))
        with pytest.raises(Compacted):
            s.watch("pods/", 1)
        s.watch("pods/", 2).close()
        s.history_seconds = 0.0
        await s.create("pods/ns/p9", obj("p9"))
        with pytest.raises(Compacted):
            s.watch("pods/", 5)
        await s.close()
    run(main())


def test_modified_in_memory_names_objects_a_reader_changed(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        await s.create("pods/ns/a", obj("a", spec={"x": 1}))
        await s.create("pods/ns/b", obj("b", spec={"x": 1}))
        assert s.modified_in_memory() == []
        s.get("pods/ns/b").value["spec"]["x"] = 2  # a careless reader of a shared object
        assert s.modified_in_memory() == ["pods/ns/b"]
        await s.close()
    run(main())


def test_bytes_only_resources_decode_on_read_and_survive_reopen(tmp_path):
    async def main():
        s = SqliteStore(tmp_path / "db", bytes_only=("events",))
        await s.start()
        w = s.watch("events/", 0)
        created = await s.create("events/ns/e1", obj("e1", reason="Started"))
        await s.create("pods/ns/p", obj("p"))
        stored = s.get("events/ns/e1")
        assert stored is created and stored._value is None
        first, second = stored.value, stored.value
        assert first == second == {"metadata": {"name": "e1", "resourceVersion": "1"}, "reason": "Started"}
        assert first is not second  # a fresh copy per read: readers cannot alter the store
        first["reason"] = "changed"
        assert s.get("events/ns/e1").value["reason"] == "Started"
        assert s.get("pods/ns/p")._value is not None  # other resources stay decoded
        updated = await s.update("events/ns/e1", dict(stored.value, count=2), expected_rev=1)
        assert updated.value["count"] == 2
        events = []
        async for ev in w:
            events.append(ev)
            if len(events) == 2:
                break
        assert [(e.type, e.entry.value.get("count"), e.prev and e.prev.value["reason"]) for e in events] == [
            ("ADDED", None, None), ("MODIFIED", 2, "Started")]
        assert s.list("events/")[0][0].key == "events/ns/e1"
        assert s.modified_in_memory() == []
        await s.close()
        s2 = SqliteStore(tmp_path / "db", bytes_only=("events",))
        await s2.start()
        again = s2.get("events/ns/e1")
        assert again._value is None and again.value["count"] == 2 and again.mod_rev == 3
        assert s2.get("pods/ns/p").value["metadata"]["name"] == "p"
        await s2.close()
    run(main())


def test_a_bytes_only_writer_gets_its_own_value_when_the_next_batch_follows_at_once(tmp_path):
    """The writer of an event resumes after its commit; if the commit loop went straight on to
    the next batch (a write queued meanwhile), the writer must still find its own decoded
    value (``holds``): else it decodes the event again (and the server encodes it once more).
    Once the writers have resumed, only the bytes are kept."""
    async def main():
        s = SqliteStore(tmp_path / "db", bytes_only=("events",))
        await s.start()
        a, b = obj("a", reason="Pulled"), obj("b", reason="Created")

        async def write(key, value):  # as Resources.create: reads the entry's value on resuming
            entry = await s.create(key, value)
            return entry, entry.holds(value)

        ta = asyncio.create_task(write("events/ns/a", a))
        await asyncio.sleep(0)  # a's batch is committing on the store's thread
        tb = asyncio.create_task(write("events/ns/b", b))  # queued: the next batch
        (ea, held_a), (eb, held_b) = await ta, await tb
        await asyncio.sleep(0)
        forgotten = (ea._value, eb._value)
        await s.close()
        return held_a, held_b, forgotten

    assert run(main()) == (True, True, (None, None))


def test_delayed_updates_share_a_commit_and_an_undelayed_write_takes_them_along(tmp_path):
    """Heartbeats (a delay) wait for company up to their delay; a write without one commits
    everything queued at once; close commits what is still waiting. All stay durable."""
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        for i in range(4):
            await s.create(f"leases/ns/l{i}", obj(f"l{i}"))
        commits = s.stats.commits
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        got = await asyncio.gather(*(s.update(f"leases/ns/l{i}", obj(f"l{i}", spec={"n": 1}), None, delay=0.2)
                                     for i in range(3)))
        waited = loop.time() - t0
        assert s.stats.commits == commits + 1  # one commit for the three
        assert 0.15 <= waited < 2.0
        assert sorted(e.mod_rev for e in got) == [5, 6, 7]
        # An undelayed write does not wait, and carries the delayed ones queued before it.
        slow = asyncio.ensure_future(s.update("leases/ns/l0", obj("l0", spec={"n": 2}), None, delay=30.0))
        await asyncio.sleep(0.01)
        t0 = loop.time()
        await s.create("pods/ns/p", obj("p"))
        assert loop.time() - t0 < 1.0
        assert (await asyncio.wait_for(slow, 1.0)).value["spec"] == {"n": 2}
        # close() commits a delayed write still waiting.
        last = asyncio.ensure_future(s.update("leases/ns/l3", obj("l3", spec={"n": 3}), None, delay=30.0))
        await asyncio.sleep(0.01)
        await asyncio.wait_for(s.close(), 5.0)
        assert (await last).value["spec"] == {"n": 3}
        s2 = SqliteStore(tmp_path / "db")
        await s2.start()
        assert s2.get("leases/ns/l3").value["spec"] == {"n": 3}
        assert s2.get("leases/ns/l0").value["spec"] == {"n": 2}
        await s2.close()
    run(main())


@pytest.mark.parametrize("n, sizes", [
    (0, []),
    (1, [1]),
    (3, [2, 1]),
    (255, [128, 64, 32, 16, 8, 4, 2, 1]),
    (256, [256]),
    (600, [256, 256, 64, 16, 8]),
])
def test_statement_sizes(n, sizes):
    from everynode.storage.sqlite_writer import statement_sizes

    assert statement_sizes(n) == sizes
    assert sum(statement_sizes(n)) == n


def test_one_batch_of_puts_updates_and_deletes_lands_on_disk_in_order(tmp_path):
    # More rows than one statement takes, not a power of two; in the same batch a key is
    # written twice (the later wins), and one is put and then deleted (it stays deleted).
    async def main():
        s = SqliteStore(tmp_path / "db")
        await s.start()
        await asyncio.gather(*(s.create(f"pods/ns/p{i:04d}", obj(f"p{i}")) for i in range(10)))
        writes = [s.create(f"pods/ns/q{i:04d}", obj(f"q{i}", v=0)) for i in range(700)]
        writes += [s.update(f"pods/ns/q{i:04d}", obj(f"q{i}", v=1), None) for i in range(0, 700, 7)]
        writes += [s.delete(f"pods/ns/p{i:04d}", None) for i in range(0, 10, 2)]
        writes += [s.create("pods/ns/gone", obj("gone")), s.delete("pods/ns/gone", None)]
        await asyncio.gather(*writes)
        await s.close()
        s2 = SqliteStore(tmp_path / "db")
        await s2.start()
        assert s2.count("pods/ns/q") == 700
        assert s2.count("pods/ns/p") == 5 and s2.get("pods/ns/p0001") and not s2.get("pods/ns/p0002")
        assert s2.get("pods/ns/gone") is None
        assert {s2.get(f"pods/ns/q{i:04d}").value["v"] for i in range(0, 700, 7)} == {1}
        assert s2.get("pods/ns/q0001").value["v"] == 0
        assert s2.revision == s.revision
        await s2.close()
    run(main())


@pytest.mark.parametrize("started, now, pending, due, pause", [
    (10.0, 10.004, 100, 10.0, 0.006),   # under load: the rest of the interval
    (10.0, 10.004, 8, 10.003, 0.006),   # exactly LOAD_WRITES queued counts as load
    (10.0, 10.004, 7, 10.0, 0.0),       # a few writes after a commit go at once
    (10.0, 10.004, 100, None, 0.0),     # nothing queued is due
    (10.0, 10.004, 100, 10.05, 0.0),    # only delayed writes (lease renewals) queued
    (10.0, 10.02, 100, 10.0, 0.0),      # the commit took longer than the interval
])
def test_commit_pause(started, now, pending, due, pause):
    from everynode.storage.sqlite import COMMIT_INTERVAL, LOAD_WRITES, commit_pause

    assert COMMIT_INTERVAL == 0.01 and LOAD_WRITES == 8  # the table's figures
    assert commit_pause(started, now, pending, due) == pytest.approx(pause)
