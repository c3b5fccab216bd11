"""A pod worker never misses its pod's deletion (regression: a lost wake-up left pods
Terminating forever when the deletion landed while a status write was in flight)."""

from __future__ import annotations

import asyncio

import pytest

from everynode.node.worker import PodWorker


def pod(deleting: bool = False, rv: str = "1") -> dict:
    meta = {"name": "p", "namespace": "ns", "uid": "u1", "resourceVersion": rv}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:30Z"
        meta["deletionGracePeriodSeconds"] = 30
    return {"metadata": meta, "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {}}


@pytest.mark.parametrize("before,after,wakes", [
    (pod(), pod(rv="2"), False),  # nothing the worker acts on changed
    (pod(), pod(deleting=True, rv="2"), True),  # the deletion arrives by watch
    # a status write already returned the deletion; the watch event then repeats it
    (pod(deleting=True, rv="2"), pod(deleting=True, rv="3"), True),
])
def test_update_wakes_the_worker_for_a_deleting_pod(before, after, wakes):
    async def main():
        w = PodWorker(agent=None, pod=before)  # update() needs no agent
        w._wake.clear()
        w.update(after)
        return w._wake.is_set()

    assert asyncio.run(main()) is wakes
