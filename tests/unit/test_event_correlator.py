"""client-go's event correlation (tools/record): aggregation of similar events, counting of
repeats, the spam filter per source and object; and the recorder that writes what it lets
through."""

from __future__ import annotations

import asyncio

import pytest

from everynode.api.errors import ApiError
from everynode.client import record
from everynode.client.record import AGGREGATE_PREFIX, ConcurrentEventRecorder, EventCorrelator, EventRecorder

DS = {"kind": "DaemonSet", "apiVersion": "apps/v1", "metadata": {"name": "ds", "namespace": "ns", "uid": "u-ds"}}
OTHER = {"kind": "DaemonSet", "apiVersion": "apps/v1", "metadata": {"name": "ds2", "namespace": "ns", "uid": "u-2"}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Client:
    """Records the writes; ``missing`` names events a patch finds gone."""

    def __init__(self) -> None:
        self.writes: list[tuple] = []
        self.missing: set[str] = set()

    async def create(self, plural, obj, namespace=None, result=True):
        self.writes.append(("create", obj["metadata"]["name"], obj["message"], obj["count"]))

    async def patch(self, plural, name, patch, namespace=None, patch_type="strategic", subresource=None):
        if name in self.missing:
            raise ApiError(404, "NotFound", f'events "{name}" not found')
        self.writes.append(("patch", name, patch["message"], patch["count"]))


def recorded(events: list[tuple], recorder_cls=EventRecorder, clock: Clock | None = None,
             client: Client | None = None) -> list[tuple]:
    """Record ``events`` ((obj, reason, message) or a number of seconds to wait) and return the
    writes."""
    async def go() -> list[tuple]:
        c = client or Client()
        rec = recorder_cls(c, "daemonset-controller")
        if clock is not None:
            rec.correlator.clock = clock
        for item in events:
            if isinstance(item, float | int):
                assert clock is not None
                clock.now += item
                continue
            obj, reason, message = item
            rec.event(obj, "Normal", reason, message)
        await rec.flush()
        return c.writes

    return asyncio.run(go())


def created(n: int, obj: dict = DS, start: int = 0) -> list[tuple]:
    return [(obj, "SuccessfulCreate", f"Created pod: p{i}") for i in range(start, start + n)]


def test_a_new_event_is_created_once_and_an_identical_repeat_patches_its_count():
    writes = recorded([(DS, "SuccessfulCreate", "Created pod: a")] * 3)
    assert [w[0] for w in writes] == ["create", "patch", "patch"]
    assert {w[1] for w in writes} == {writes[0][1]}  # one event, counted
    assert [w[3] for w in writes] == [1, 2, 3]


@pytest.mark.parametrize("n, creates, combined_count", [
    (9, 9, None),    # below the aggregation threshold: each message its own event
    (10, 10, 1),     # the 10th similar event starts the combined event
    (25, 10, 16),    # counted onto it up to the spam filter's burst
    (40, 10, 16),    # the rest are dropped: 25 events per source and object
])
def test_similar_events_are_aggregated_and_a_burst_is_limited(n, creates, combined_count):
    writes = recorded(created(n))
    assert sum(1 for w in writes if w[0] == "create") == creates
    assert len(writes) == min(n, 25)
    combined = [w for w in writes if w[2].startswith(AGGREGATE_PREFIX)]
    if combined_count is None:
        assert not combined
    else:
        assert combined[-1][3] == combined_count
        assert combined[-1][2] == f"{AGGREGATE_PREFIX}Created pod: p{min(n, 25) - 1}"  # the latest message
        assert len({w[1] for w in combined}) == 1  # all onto one event


def test_the_spam_filter_is_per_source_and_object_and_refills_one_event_per_5_minutes():
    clock = Clock()
    events = created(30) + created(3, OTHER) + [299.0] + created(1, start=30) + [2.0] + created(2, start=31)
    writes = recorded(events, clock=clock)
    per_object = [w for w in writes if w[1].startswith("ds.") or w[2].startswith(AGGREGATE_PREFIX)]
    assert len([w for w in writes if w[1].startswith("ds2.")]) == 3  # another object: its own burst
    # 25 at once; after 299 s no token yet (the 30th was dropped); at 301 s one more.
    assert len(per_object) == 26
    last = per_object[-1]
    # The dropped events were still counted (upstream observes before it filters).
    assert last[0] == "patch" and last[2] == f"{AGGREGATE_PREFIX}Created pod: p31" and last[3] == 23


def test_aggregation_starts_over_after_10_quiet_minutes():
    clock = Clock()
    writes = recorded(created(12) + [601.0] + created(3, start=12), clock=clock)
    # 9 plain, then the combined one (created, patched, patched); after the pause: plain again.
    tail = writes[-3:]
    assert all(not w[2].startswith(AGGREGATE_PREFIX) and w[0] == "create" for w in tail)


def event_for(msg: str, field_path: str = "") -> dict:
    obj = {"kind": "Pod", "name": "x", "uid": "u"}
    if field_path:
        obj["fieldPath"] = field_path
    return {"metadata": {"name": f"x.{msg}.{field_path}", "namespace": "ns"}, "involvedObject": obj,
            "source": {"component": "c"}, "type": "Normal", "reason": "R", "message": msg, "count": 1}


def test_the_caches_keep_the_keys_used_last():
    c = EventCorrelator(size=2, burst=None, max_events=None)
    assert c.correlate(event_for("a")).patch is None
    c.correlate(event_for("b"))
    assert c.correlate(event_for("a")).patch["count"] == 2  # "a" used last: "b" is now the oldest
    c.correlate(event_for("c"))  # evicts "b", not "a"
    assert c.correlate(event_for("a")).patch["count"] == 3
    again = c.correlate(event_for("b"))
    assert again.patch is None and again.event["metadata"]["name"] == "x.b."


def test_the_token_bucket_holds_at_most_the_burst():
    clock = Clock()
    c = EventCorrelator(clock=clock, max_events=None)
    assert c.correlate(event_for("first")) is not None
    clock.now += 36_000.0  # ten hours refill 120 tokens, but the bucket holds 25
    allowed = [c.correlate(event_for(f"m{i}")) is not None for i in range(26)]
    assert allowed == [True] * 25 + [False]


def test_events_about_two_containers_of_a_pod_are_two_events():
    c = EventCorrelator()
    first = c.correlate(event_for("Started", "spec.containers{a}"))
    second = c.correlate(event_for("Started", "spec.containers{b}"))
    assert first.patch is None and second.patch is None  # not one counted twice


def test_recording_never_fails_the_caller():
    async def go() -> list[tuple]:
        client = Client()
        rec = EventRecorder(client, "daemonset-controller")
        rec.event({"kind": "DaemonSet", "metadata": "not a dict"}, "Normal", "R", "m")
        rec.event(DS, "Normal", "R", None)  # type: ignore[arg-type]
        rec.event("not an object", "Normal", "R", "m")  # type: ignore[arg-type]
        rec.event(DS, "Normal", "R", "fine")
        await rec.flush()
        return client.writes

    assert [w[2] for w in asyncio.run(go())] == ["fine"]


def test_a_count_whose_event_is_gone_creates_it_again_with_its_count():
    async def go() -> list[tuple]:
        client = Client()
        rec = EventRecorder(client, "daemonset-controller")
        rec.event(DS, "Normal", "Unhealthy", "m")  # first: created
        await rec.flush()
        client.missing.add(client.writes[0][1])  # then expired
        rec.event(DS, "Normal", "Unhealthy", "m")  # the count's patch finds nothing: created again
        await rec.flush()
        return client.writes

    first, again = asyncio.run(go())
    assert first[0] == "create" and first[3] == 1
    assert again[0] == "create" and again[3] == 2 and again[1] == first[1]  # under the first one's name


class SlowCreates(Client):
    async def create(self, plural, obj, namespace=None, result=True):
        await asyncio.sleep(0.02)
        await super().create(plural, obj, namespace, result)


def test_the_schedulers_recorder_counts_a_repeat_after_its_first_write():
    writes = recorded([(DS, "FailedScheduling", "no nodes")] * 3, ConcurrentEventRecorder, client=SlowCreates())
    assert [(w[0], w[3]) for w in writes] == [("create", 1), ("patch", 2), ("patch", 3)]


def test_the_schedulers_recorder_writes_in_parallel_without_filter_or_aggregation():
    writes = recorded(created(40), ConcurrentEventRecorder)
    assert len(writes) == 40 and all(w[0] == "create" and not w[2].startswith(AGGREGATE_PREFIX) for w in writes)


def test_the_recorder_writes_in_order_with_one_writer(monkeypatch):
    monkeypatch.setattr(record, "MAX_QUEUED", 5)
    # 5 wait for the writer, the 6th is dropped before it runs; the filter never sees 25.
    writes = recorded(created(6))
    assert [w[2] for w in writes] == [f"Created pod: p{i}" for i in range(5)]
