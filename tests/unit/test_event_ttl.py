"""Events expire after the event TTL, as with kube-apiserver's --event-ttl."""

from __future__ import annotations

import asyncio

import pytest

from everynode.apiserver.resources import WriteOptions
from tests.server_harness import started_server


def event(name: str, last: str) -> dict:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "R", "message": "m", "type": "Normal", "source": {"component": "test"},
            "firstTimestamp": last, "lastTimestamp": last, "count": 1}


@pytest.mark.parametrize("bytes_only, chunk", [((), 5000), (("events",), 5000), (("events",), 2)],
                         ids=["decoded", "bytes-only", "bytes-only-small-chunks"])
def test_old_events_are_dropped_and_recent_ones_kept(tmp_path, monkeypatch, bytes_only, chunk):
    from everynode.apiserver import app

    monkeypatch.setattr(app, "EXPIRY_CHUNK", chunk)  # the pass yields to the loop every `chunk` events

    async def main():
        async with started_server(tmp_path, bytes_only=bytes_only) as server:
            store = server.store
            kind = server.by_gv["v1"]["events"]
            from everynode.apiserver.objects import now_rfc3339

            for i in range(3):
                await server.resources.create(kind, "default", event(f"old{i}", "2020-01-01T00:00:00Z"),
                                              WriteOptions())
            await server.resources.create(kind, "default", event("new", now_rfc3339()), WriteOptions())
            task = asyncio.create_task(server.expire_events(ttl=3600, every=0.05))
            await asyncio.sleep(0.3)
            server.stopping.set()
            await asyncio.wait_for(task, 2)
            names = [e.value["metadata"]["name"] for e in store.list("events/default/")[0]]
            assert names == ["new"]

    asyncio.run(main())


def test_an_event_written_while_running_lives_ttl_from_its_write(tmp_path):
    """Upstream attaches the TTL to each write: an event written now with an old lastTimestamp
    is kept for the TTL, and dropped once that much time has passed since the write."""
    async def main():
        async with started_server(tmp_path) as server:
            store = server.store
            kind = server.by_gv["v1"]["events"]
            fake = {"now": 1_000_000.0}
            task = asyncio.create_task(server.expire_events(ttl=3600, every=0.02, clock=lambda: fake["now"]))
            await asyncio.sleep(0.05)
            await server.resources.create(kind, "default", event("written-late", "2020-01-01T00:00:00Z"),
                                          WriteOptions())

            def names() -> list[str]:
                return [e.value["metadata"]["name"] for e in store.list("events/default/")[0]]

            await asyncio.sleep(0.1)  # several passes: first seen at 1,000,000
            assert names() == ["written-late"]
            fake["now"] += 3599
            await asyncio.sleep(0.1)
            assert names() == ["written-late"]
            fake["now"] += 2
            for _ in range(100):
                if not names():
                    break
                await asyncio.sleep(0.02)
            assert names() == []
            server.stopping.set()
            await asyncio.wait_for(task, 2)

    asyncio.run(main())
