"""The node agent's pod events: one writer per node sends them in order (as the kubelet's
broadcaster), stamped when they happened, repeats counted, a bounded queue."""

import asyncio

from everynode.api.errors import ApiError
from everynode.client import record
from everynode.node.events import PodEvents

POD = {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
       "spec": {"containers": [{"name": "c"}]}}


class Client:
    def __init__(self, fail: bool = False):
        self.sent: list[tuple] = []
        self.fail = fail
        self.in_flight = 0
        self.most_in_flight = 0

    async def _slow(self, what: tuple) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        if self.fail:
            raise ApiError(500, "InternalError", "down")
        self.sent.append(what)

    async def create(self, plural, obj, namespace=None, result=True):
        await self._slow(("create", obj["reason"], obj["firstTimestamp"], obj["count"]))

    async def patch(self, plural, name, patch, namespace=None, patch_type="strategic", subresource=None):
        await self._slow(("patch", patch["count"]))


def test_events_are_written_in_order_by_one_writer_with_their_own_time(monkeypatch):
    stamps = iter(["2026-11-23T10:00:00Z", "2026-11-23T10:00:01Z", "2026-11-23T10:00:02Z"])
    monkeypatch.setattr(record, "now_rfc3339", lambda: next(stamps))

    async def go():
        c = Client()
        ev = PodEvents(c, "n1")
        for reason in ("Pulled", "Created", "Started"):
            ev.emit(POD, "Normal", reason, f"{reason} container c", "c")
        tasks = [t for t in asyncio.all_tasks() if t.get_name() == "events-n1"]
        await ev.flush()
        return c, len(tasks), ev._writer

    c, writers, left = asyncio.run(go())
    assert writers == 1 and left is None
    assert c.most_in_flight == 1
    # stamped at emit, not when the writer got to them
    assert c.sent == [("create", "Pulled", "2026-11-23T10:00:00Z", 1), ("create", "Created", "2026-11-23T10:00:01Z", 1),
                      ("create", "Started", "2026-11-23T10:00:02Z", 1)]


def test_a_repeat_is_counted_and_a_later_event_starts_a_new_writer():
    async def go():
        c = Client()
        ev = PodEvents(c, "n1")
        ev.emit(POD, "Warning", "BackOff", "Back-off restarting failed container c", "c")
        await ev.flush()
        ev.emit(POD, "Warning", "BackOff", "Back-off restarting failed container c", "c")
        await ev.flush()
        return c.sent

    sent = asyncio.run(go())
    assert [s[0] for s in sent] == ["create", "patch"] and sent[1] == ("patch", 2)


def test_failed_writes_are_dropped_and_the_writer_goes_on():
    async def go():
        c = Client(fail=True)
        ev = PodEvents(c, "n1")
        ev.emit(POD, "Normal", "Pulled", "x", "c")
        ev.emit(POD, "Normal", "Created", "y", "c")
        await ev.flush()
        c.fail = False
        ev.emit(POD, "Normal", "Started", "z", "c")
        await ev.flush()
        return c.sent

    assert [s[1] for s in asyncio.run(go())] == ["Started"]


def test_the_queue_is_bounded(monkeypatch):
    monkeypatch.setattr(record, "MAX_QUEUED", 3)

    async def go():
        c = Client()
        ev = PodEvents(c, "n1")
        for i in range(6):
            ev.emit(POD, "Normal", f"R{i}", "m", "c")
        await ev.flush()
        return c.sent

    # emitted in one go, before the writer runs: three wait, the rest are dropped
    assert [s[1] for s in asyncio.run(go())] == ["R0", "R1", "R2"]


def test_disabled_events_are_not_written():
    async def go():
        c = Client()
        ev = PodEvents(c, "n1", enabled=False)
        ev.emit(POD, "Normal", "Pulled", "x", "c")
        ev.emit_node("Normal", "Starting", "Starting kubelet.")
        await ev.flush()
        return c.sent, ev._writer

    assert asyncio.run(go()) == ([], None)
