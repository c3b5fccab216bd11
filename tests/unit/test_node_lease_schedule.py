"""When a node agent's next lease renewal is due: a period after the last one was due, so a
late renewal does not shift the node's phase (simulated agents sharing one event loop would
otherwise fall into step after a stall)."""

from __future__ import annotations

import asyncio

import pytest

from everynode.node import agent


@pytest.mark.parametrize("due, now, expected", [
    (100.0, 100.2, 110.0),   # on time: one period after it was due, not after it finished
    (100.0, 109.9, 110.0),   # slow, but within the period
    (100.0, 110.0, 120.0),   # exactly one period late: the missed renewal is skipped
    (100.0, 113.0, 120.0),   # a stall: the next renewal keeps the phase (x0.0 s)
    (100.0, 145.5, 150.0),   # several periods missed
])
def test_next_renewal_keeps_the_phase(monkeypatch, due, now, expected):
    monkeypatch.setattr(agent, "jittered", lambda period: period)
    assert agent.next_renewal(due, now) == pytest.approx(expected)


def test_next_renewal_is_jittered_up_to_four_percent():
    for _ in range(200):
        nxt = agent.next_renewal(100.0, 100.1)
        assert 110.0 <= nxt <= 110.0 + agent.LEASE_RENEW * agent.JITTER


class _Renewer:
    """Just what a renewal touches of an agent."""

    def __init__(self, fail: bool = False):
        from everynode.node.heartbeats import HeartbeatClock

        self.config = type("C", (), {"name": "n1"})()
        self.clock = HeartbeatClock()
        self._lease_beat = self.clock.add(lambda: None)
        self._lease_next = 0.0
        self._last_renewal = 0.0
        self._renewing = None
        self.status_wanted = 0
        self.fail = fail
        self.renewed = 0

    async def renew_lease(self) -> None:
        await asyncio.sleep(0)
        self.renewed += 1
        if self.fail:
            raise OSError("API down")

    _renew_once = agent.NodeAgent._renew_once

    def want_status(self) -> None:
        self.status_wanted += 1


@pytest.mark.parametrize("fail", [False, True])
def test_a_finished_renewal_lets_its_task_go_and_books_the_next(fail):
    async def go() -> _Renewer:
        r = _Renewer(fail)
        agent.NodeAgent._lease_due(r)
        task = r._renewing
        assert task is not None  # held while it runs
        await task
        assert r._renewing is None  # not kept until the next renewal (10 s of collector walks)
        assert r.clock.scheduled == 1
        await r.clock.stop()
        return r

    r = asyncio.run(go())
    assert r.renewed == 1
    assert r.status_wanted == 1  # first renewal (and a failed one) ask for a status post


def test_renewals_update_the_last_lease_written_and_keep_the_servers_json(tmp_path):
    """Through the in-process client and a real API server: the first renewal creates the
    lease, the next ones update the last lease written (a label someone added is kept, as the
    kubelet's copy of the latest lease keeps it) and keep the server's own JSON answer; after
    a conflicting write by someone else, one renewal falls back to get-and-update."""
    import orjson

    from everynode.apiserver.app import ApiServer
    from everynode.client.local import LocalClient
    from everynode.client.rest import Config
    from everynode.storage.sqlite import SqliteStore

    class _Agent:
        def __init__(self, client):
            self.config = type("C", (), {"name": "n1"})()
            self.client = client
            self._latest_lease = None

        _lease = agent.NodeAgent._lease
        renew_lease = agent.NodeAgent.renew_lease

    async def go():
        store = SqliteStore(tmp_path / "db")
        await store.start()
        server = ApiServer(store, "t")
        await server.bootstrap()
        client = LocalClient(Config(server="https://127.0.0.1:1", token="t"), server)
        try:
            await client.create("nodes", {"metadata": {"name": "n1"}})
            a = _Agent(client)
            await a.renew_lease()  # created
            stored = lambda: store.get("leases.coordination.k8s.io/kube-node-lease/n1")  # noqa: E731
            assert a._latest_lease == stored().raw
            lease = orjson.loads(a._latest_lease)
            lease["metadata"]["labels"] = {"team": "a"}
            await client.replace("leases", lease)  # someone else's write: the agent's copy is stale
            await a.renew_lease()  # conflict, then get-and-update
            await a.renew_lease()  # from the last lease written
            kept = orjson.loads(stored().raw)
            assert a._latest_lease == stored().raw
            return kept
        finally:
            await store.close()

    kept = asyncio.run(go())
    assert kept["metadata"]["labels"] == {"team": "a"}
    assert kept["spec"]["holderIdentity"] == "n1" and kept["spec"]["leaseDurationSeconds"] == agent.LEASE_DURATION
    assert kept["metadata"]["ownerReferences"][0]["name"] == "n1"
