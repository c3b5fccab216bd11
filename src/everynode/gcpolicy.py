"""Garbage-collector policy for processes that hold a whole cluster in memory.

CPython's full (generation 2) collection walks every tracked object. A
cluster process holds hundreds of thousands of long-lived dicts and lists
(the watch cache, informer caches, node agents), so each full collection
stalls the event loop for a large fraction of a second, and one runs
whenever the heap has grown by a quarter. Nearly all those objects are
plain JSON data: they never form reference cycles and refcounting frees them.

Policy: young collections are rarer (``THRESHOLDS``), and every object that
survives a full collection, or any collection ``pace`` makes while no cyclic
garbage turns up, is moved to the permanent generation (``gc.freeze``), so
later collections only walk what was allocated since. Cyclic garbage among frozen objects would never be
collected, so the permanent generation is released again now and then (see
``install``) and the next full collection walks everything once.

Pauses: CPython starts a young collection when allocations minus
deallocations of container objects pass the first threshold, but the
deallocations it subtracts include old objects. A cluster that replaces
objects (1,000 lease renewals a second at 10,000 nodes: each new version
young, the one it replaces old) keeps that difference near zero while the
young generation grows for many seconds; one young collection then walked
hundreds of thousands of objects (160-260 ms at 10,000 nodes) and a middle
one almost a second. ``pace`` collects on a clock instead, so each pause
only walks what survived since the last. The price is CPU: objects that
would have died before a rarer collection are walked too (0.33-0.46 s a
minute, under 1% of a core, at 10,000 idle nodes since survivors are frozen
at once; ``EVERYNODE_GC_PACE=0`` leaves the pace to CPython's thresholds).
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable, Mapping

_installed: list = []
_sweep_pending: list = []  # non-empty from the moment a sweep is due until its full collection
_cycles_seen: list = []  # non-empty when a collection since the last full one found cyclic garbage

# A young collection every 50,000 container allocations instead of 700: most of a request's
# dicts and lists are freed by refcounting before they are ever walked, and the long-lived
# JSON that survives is walked far fewer times. Creating 5,000 daemon pods spent 5.7 s in the
# collector with the defaults (3,164 young, 288 middle, 26 full collections) and 0.9 s with
# these (14 young collections of about 60 ms each). The older generations' thresholds are
# higher than the defaults too (lower ones, 5 and 5, made shorter stalls but more work in
# total at 10,000 nodes: 6.2 s against 3.9 s). Python's defaults are restored on uninstall.
THRESHOLDS = (50_000, 20, 10)
_DEFAULTS = gc.get_threshold()


def resident_bytes() -> int:
    """This process's resident memory (Linux); what tells the heap grew. Cheap, unlike
    ``gc.get_freeze_count()``, which walks the permanent generation: 270-370 ms at 10,000
    nodes, paid in every full collection while the sweep rule used it."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0  # unknown: the sweep is then due every ``sweep_every`` only


def install(sweep_every: float = 3600.0, growth: float = 1.25,
            heap_size: Callable[[], int] = resident_bytes) -> None:
    """Idempotent; affects the whole process. A sweep is due at most every ``sweep_every``
    seconds, and only once the heap (``heap_size``) has grown by ``growth`` since the last
    one: a sweep walks the whole heap (about 6 s at 10,000 nodes and 50,000 pods), so a
    cluster that does not grow is not stalled every few minutes for garbage it does not make."""
    if _installed:
        return
    gc.set_threshold(*THRESHOLDS)
    state = {"last_sweep": time.monotonic(), "baseline": -1}

    def on_gc(phase: str, info: dict) -> None:
        if phase != "stop":
            return
        if info.get("collected") and not _cycles_seen:
            _cycles_seen.append(True)
        if info.get("generation") != 2:
            return
        _cycles_seen.clear()
        gc.freeze()
        if _sweep_pending or state["baseline"] < 0:  # this collection walked everything
            _sweep_pending.clear()
            state["baseline"] = heap_size()
            return
        now = time.monotonic()
        if now - state["last_sweep"] >= sweep_every and heap_size() >= state["baseline"] * growth:
            state["last_sweep"] = now
            _sweep_pending.append(True)
            gc.unfreeze()  # the next full collection walks everything once

    gc.callbacks.append(on_gc)
    _installed.append(on_gc)


# pace(): a young collection every PACE seconds, a middle one every MIDDLE_EVERY young ones and
# a full one (whose survivors are frozen) every FULL_EVERY middle ones: 0.25 s, 2 s, 10 s.
PACE = 0.25
MIDDLE_EVERY = 8
FULL_EVERY = 5


def paced_generation(young: int, middle: int, middle_every: int = MIDDLE_EVERY,
                     full_every: int = FULL_EVERY) -> int:
    """The generation a paced collection takes, from the paced collections made since the
    last middle one (``young``) and since the last full one (``middle``). The pace keeps its
    own counts: ``gc.get_count()``'s are reset by every ``gc.freeze()``."""
    if middle >= full_every:
        return 2
    if young >= middle_every:
        return 1
    return 0


def pace_from_env(environ: Mapping[str, str]) -> float:
    """``EVERYNODE_GC_PACE``: seconds between paced young collections; 0 turns pacing off."""
    text = environ.get("EVERYNODE_GC_PACE") or ""
    if not text:
        return PACE
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"EVERYNODE_GC_PACE must be a number of seconds (0 turns pacing off), got {text!r}")
    return value


async def pace(period: float = PACE) -> None:
    """Collect on a clock while the loop runs (see the module doc); cancel to stop. The
    automatic collections stay on for allocation bursts (creating thousands of objects).

    With the policy installed, what survives a paced collection of any generation is frozen
    at once, not only after a full one: each long-lived object is then walked once instead of
    three times (young, middle, full). In a cluster the collections found no cyclic garbage at
    all (``GcClock``'s ``gc_collected``: none in a creation of 1,000 pods or in a minute of
    3,000 or 10,000 idle nodes), so the older ones only walked live objects again. Where cycles
    do appear (some collection since the last full one found garbage), survivors wait for the
    next full collection as before, so cycles that die a little later are still collected;
    and while a sweep is due everything stays unfrozen for its walk."""
    young = middle = 0
    while True:
        await asyncio.sleep(period)
        generation = paced_generation(young, middle)
        gc.collect(generation)
        if generation == 0:
            young += 1
        elif generation == 1:
            young, middle = 0, middle + 1
        else:
            # Still made when everything else is frozen: it walks little then, and the
            # installed policy's sweep is decided after a full collection.
            young = middle = 0
        if _installed and not _sweep_pending and not _cycles_seen:
            gc.freeze()


def settle() -> None:
    """A full collection now, at the end of a burst of long-lived allocations (a cluster
    registering its nodes): the installed policy freezes what survives, so the walk of those
    objects is paid here, not by the first paced full collection in the middle of later work
    (300 ms at 3,000 nodes, inside the first seconds of a DaemonSet's creation)."""
    gc.collect()


def uninstall() -> None:
    for cb in _installed:
        gc.callbacks.remove(cb)
    _installed.clear()
    _sweep_pending.clear()
    _cycles_seen.clear()
    gc.unfreeze()
    gc.set_threshold(*_DEFAULTS)


class GcClock:
    """Time spent in the cyclic garbage collector while in the ``with`` block, per generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.collections = [0, 0, 0]
        self.collected = [0, 0, 0]  # unreachable objects found: the cyclic garbage each generation freed
        self.longest = 0.0  # the longest single collection
        self._started = 0.0

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            gen = info.get("generation", 2)
            took = time.perf_counter() - self._started
            self.seconds[gen] += took
            self.collections[gen] += 1
            self.collected[gen] += info.get("collected", 0)
            self.longest = max(self.longest, took)

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._on_gc)

    def report(self) -> dict:
        return {"gc_s": round(sum(self.seconds), 3), "gc_s_per_generation": [round(s, 3) for s in self.seconds],
                "gc_collections": list(self.collections), "gc_collected": list(self.collected),
                "gc_longest_ms": round(self.longest * 1000, 1)}
