"""Garbage-collector policy for processes that hold a whole cluster in memory.

CPython's full (generation 2) collection walks every tracked object. A
cluster process holds hundreds of thousands of long-lived dicts and lists
(the watch cache, informer caches, node agents), so each full collection
stalls the event loop for a large fraction of a second, and one runs
whenever the heap has grown by a quarter. Nearly all those objects are
plain JSON data: they never form reference cycles and refcounting frees them.

Policy: every object that survives a full collection is moved to the
permanent generation (``gc.freeze``), so later full collections only walk
what was allocated since. Cyclic garbage among frozen objects would never be
collected, so at most every ``sweep_every`` seconds the permanent generation
is released again and the next full collection walks everything once.
"""

from __future__ import annotations

import gc
import time

_installed: list = []


def install(sweep_every: float = 600.0) -> None:
    """Idempotent; affects the whole process."""
    if _installed:
        return
    last_sweep = [time.monotonic()]

    def on_gc(phase: str, info: dict) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        now = time.monotonic()
        if now - last_sweep[0] >= sweep_every:
            last_sweep[0] = now
            gc.unfreeze()  # the next full collection walks everything once
        else:
            gc.freeze()

    gc.callbacks.append(on_gc)
    _installed.append(on_gc)


def uninstall() -> None:
    for cb in _installed:
        gc.callbacks.remove(cb)
    _installed.clear()
    gc.unfreeze()
