"""Watch bookmarks: every minute, and one 2 s before the stream's deadline, so that a client
resuming after the timeout starts from a resourceVersion the store still has."""

import asyncio

import pytest

from everynode.apiserver.app import BOOKMARK_INTERVAL, ApiServer, next_bookmark
from everynode.client.local import LocalClient
from everynode.client.rest import Config
from everynode.storage.sqlite import SqliteStore


@pytest.mark.parametrize("now, deadline, expected", [
    (0.0, 300.0, BOOKMARK_INTERVAL),           # far from the deadline: a minute from now
    (250.0, 300.0, 298.0),                     # the deadline is nearer: 2 s before it
    (298.0, 300.0, 298.0 + BOOKMARK_INTERVAL),  # the one before the deadline is sent: no repeat
    (299.0, 300.0, 299.0 + BOOKMARK_INTERVAL),  # past it
    (0.0, 1.0, BOOKMARK_INTERVAL),             # a watch shorter than 2 s: none before the end
    (0.0, 62.0, BOOKMARK_INTERVAL),            # a minute comes first
    (0.0, 61.5, 59.5),
])
def test_next_bookmark(now, deadline, expected):
    assert next_bookmark(now, deadline) == pytest.approx(expected)


def test_a_watch_resumed_after_its_timeout_needs_no_relist(tmp_path):
    """A pods watch sees no pod event while 30 leases are written (the store's history holds
    only the last 10 events). Resumed after its timeout from its last bookmark, it must not be
    told 410 Gone (before, the only bookmark was a minute away: it resumed from its start)."""
    async def go():
        store = SqliteStore(tmp_path / "db", history=10)
        await store.start()
        server = ApiServer(store, "t")
        await server.bootstrap()
        client = LocalClient(Config(server="https://127.0.0.1:1", token="t"), server)
        try:
            start = str(store.revision)

            async def watch(rv, seconds):
                return [ev async for ev in client.watch("pods", "default", rv, timeout_seconds=seconds)]

            first = asyncio.create_task(watch(start, 3))
            await asyncio.sleep(0)
            for i in range(30):
                await client.create("leases", {"metadata": {"name": f"l{i}"}, "spec": {}}, "default")
            events = await first
            bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
            assert bookmarks, events
            resume = bookmarks[-1]["object"]["metadata"]["resourceVersion"]
            return await watch(start, 1), await watch(resume, 1)
        finally:
            await store.close()

    from_start, resumed = asyncio.run(go())
    assert from_start[0]["type"] == "ERROR" and from_start[0]["object"]["code"] == 410  # out of the history
    assert not [e for e in resumed if e["type"] == "ERROR"], resumed
