import gc
import weakref

import pytest

from everynode import gcpolicy


@pytest.fixture
def policy():
    yield gcpolicy
    gcpolicy.uninstall()


def test_survivors_of_a_full_collection_are_frozen(policy):
    policy.install(sweep_every=3600)
    policy.install(sweep_every=3600)  # idempotent: one callback
    assert sum(cb in gc.callbacks for cb in policy._installed) == 1
    keep = [{"x": [i]} for i in range(1000)]
    gc.collect()
    assert gc.get_freeze_count() >= len(keep)
    # Young collections do not freeze anything new.
    before = gc.get_freeze_count()
    more = [{"y": [i]} for i in range(1000)]
    gc.collect(0)
    assert gc.get_freeze_count() == before
    del keep, more


class _Cyclic:
    pass


def test_sweep_releases_the_permanent_generation_and_collects_frozen_cycles(policy):
    policy.install(sweep_every=3600)
    obj = _Cyclic()
    obj.me = obj
    ref = weakref.ref(obj)
    gc.collect()  # obj survives (still referenced) and is frozen
    del obj
    gc.collect()
    assert ref() is not None  # frozen cyclic garbage waits for the sweep
    policy.uninstall()
    gc.freeze()
    assert ref() is not None and gc.get_freeze_count() > 0
    policy.install(sweep_every=0, growth=0, heap_size=gc.get_freeze_count)  # every full collection is due for a sweep
    gc.collect()  # the first one sets the baseline
    gc.collect()  # unfreezes after freezing
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None


def test_no_sweep_until_the_permanent_generation_grows(policy):
    policy.install(sweep_every=0, growth=1.25, heap_size=gc.get_freeze_count)
    gc.collect()
    baseline = gc.get_freeze_count()
    gc.collect()
    assert gc.get_freeze_count() >= baseline  # no growth: stays frozen
    keep = [{"x": [i]} for i in range(baseline)]  # the heap grows by well over a quarter
    gc.collect()
    assert gc.get_freeze_count() == 0  # due: released for the next full collection
    gc.collect()
    assert gc.get_freeze_count() >= baseline + len(keep)


def test_uninstall_restores_the_default(policy):
    policy.install()
    gc.collect()
    policy.uninstall()
    assert gc.get_freeze_count() == 0
    assert not any(cb in gc.callbacks for cb in policy._installed)


def test_thresholds_while_installed_and_defaults_after(policy):
    before = gc.get_threshold()
    policy.install(sweep_every=3600)
    assert gc.get_threshold() == policy.THRESHOLDS
    policy.uninstall()
    assert gc.get_threshold() == before


def test_gc_clock_counts_collections_per_generation():
    with gcpolicy.GcClock() as clock:
        gc.collect(0)
        gc.collect(2)
    counted = list(clock.collections)
    gc.collect(2)  # outside the block: not counted
    report = clock.report()
    assert report["gc_collections"] == counted
    assert report["gc_collections"][0] >= 1 and report["gc_collections"][2] >= 1
    assert report["gc_s"] >= 0 and len(report["gc_s_per_generation"]) == 3
    assert clock._on_gc not in gc.callbacks


class _Cycle:
    def __init__(self):
        self.me = self


def test_gc_clock_counts_the_cyclic_garbage_found():
    gc.collect()
    with gcpolicy.GcClock() as clock:
        for _ in range(10):
            _Cycle()  # unreachable at once, but only a collection frees it
        gc.collect(2)
    assert clock.report()["gc_collected"][2] >= 10


@pytest.mark.parametrize("young, middle, generation", [
    (0, 0, 0),
    (7, 4, 0),
    (8, 0, 1),      # the eighth young collection since the last middle one
    (30, 4, 1),
    (0, 5, 2),      # the fifth middle collection since the last full one
    (8, 5, 2),
])
def test_paced_generation(young, middle, generation):
    assert gcpolicy.paced_generation(young, middle) == generation


@pytest.mark.parametrize("installed", [False, True])
def test_pace_collects_on_a_clock_each_generation_in_turn(policy, installed):
    # Installed, the policy freezes after every paced collection, which resets CPython's own
    # counts: the middle and full collections must come all the same (the sweep follows a full one).
    import asyncio

    if installed:
        policy.install(sweep_every=3600)

    async def run():
        with gcpolicy.GcClock() as clock:
            task = asyncio.create_task(gcpolicy.pace(0.005))
            await asyncio.sleep(0.5)
            task.cancel()
        return clock

    clock = asyncio.run(run())
    young, middle, full = clock.collections
    assert young >= 20 and middle >= 2 and full >= 1
    assert young > middle > full
    assert clock.longest > 0


def _paced(collections: int, period: float = 0.005) -> None:
    import asyncio

    async def run():
        task = asyncio.create_task(gcpolicy.pace(period))
        while gcpolicy_collections[0] < collections:
            await asyncio.sleep(period)
        task.cancel()

    gcpolicy_collections = [0]

    def count(phase, info):
        if phase == "stop":
            gcpolicy_collections[0] += 1

    gc.callbacks.append(count)
    try:
        asyncio.run(run())
    finally:
        gc.callbacks.remove(count)


def test_paced_collections_freeze_their_survivors_when_installed(policy):
    policy.install(sweep_every=3600)
    gc.collect()
    before = gc.get_freeze_count()
    keep = [{"x": [i]} for i in range(1000)]
    _paced(3)  # young collections only, at first
    assert gc.get_freeze_count() >= before + len(keep)
    del keep


def test_paced_collections_freeze_nothing_without_the_policy():
    gc.collect()
    assert gc.get_freeze_count() == 0
    keep = [{"x": [i]} for i in range(1000)]
    _paced(3)
    assert gc.get_freeze_count() == 0
    del keep


def test_paced_collections_freeze_nothing_while_cyclic_garbage_appears(policy):
    # A workload that makes reference cycles: what survives waits for the next full
    # collection, which may find the cycles that die meanwhile; then freezing resumes.
    policy.install(sweep_every=3600)
    gc.collect()
    before = gc.get_freeze_count()
    for _ in range(10):
        _Cycle()  # garbage at once: the next collection finds it
    keep = [{"x": [i]} for i in range(1000)]
    _paced(1)
    assert gc.get_freeze_count() == before
    gc.collect()  # the full collection: found what there was, froze the survivors
    more = [{"y": [i]} for i in range(1000)]
    frozen = gc.get_freeze_count()
    _paced(1)
    assert gc.get_freeze_count() >= frozen + len(more)
    del keep, more


def test_a_due_sweep_is_not_undone_by_the_paced_freeze(policy):
    # Every full collection is due for a sweep once the baseline is set: the paced collections
    # that follow the one that unfroze must leave the heap unfrozen for the sweep's walk.
    policy.install(sweep_every=0, growth=0, heap_size=gc.get_freeze_count)
    obj = _Cyclic()
    obj.me = obj
    ref = weakref.ref(obj)
    gc.collect()  # baseline; obj frozen
    del obj
    gc.collect()  # due: unfrozen after freezing
    assert gc.get_freeze_count() == 0
    _paced(1)  # a young collection: must not freeze again
    assert gc.get_freeze_count() == 0
    gc.collect()  # the sweep's full collection
    assert ref() is None


def test_resident_bytes_is_this_processes_memory():
    before = gcpolicy.resident_bytes()
    block = bytearray(64 * 2**20)  # touched: resident
    for i in range(0, len(block), 4096):
        block[i] = 1
    assert 0 < before and gcpolicy.resident_bytes() >= before + 48 * 2**20
    del block


@pytest.mark.parametrize("env, pace", [
    ({}, gcpolicy.PACE),
    ({"EVERYNODE_GC_PACE": ""}, gcpolicy.PACE),
    ({"EVERYNODE_GC_PACE": "0"}, 0.0),
    ({"EVERYNODE_GC_PACE": "1.5"}, 1.5),
])
def test_pace_from_env(env, pace):
    assert gcpolicy.pace_from_env(env) == pace


@pytest.mark.parametrize("bad", ["abc", "-1", "nan", "inf", "0.5s"])
def test_pace_from_env_names_the_variable_on_bad_input(bad):
    with pytest.raises(ValueError, match="EVERYNODE_GC_PACE must be a number of seconds"):
        gcpolicy.pace_from_env({"EVERYNODE_GC_PACE": bad})


def test_settle_collects_and_freezes_what_survives(policy):
    policy.install(sweep_every=3600)
    gc.collect()
    before = gc.get_freeze_count()
    keep = [{"x": [i]} for i in range(1000)]
    policy.settle()
    assert gc.get_count()[0] < 50  # the young generation was just collected
    assert gc.get_freeze_count() >= before + len(keep)
    del keep
