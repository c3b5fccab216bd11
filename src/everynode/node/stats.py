"""Resource usage for the metrics API: rates from cumulative counters, as metrics-server computes them.

The agent samples cumulative CPU time and the working set of every
container (from its cgroups, or its process group in /proc) when asked,
and turns two samples into a usage rate over their window. The summary
has the shape of the kubelet's /stats/summary (node, pods, containers).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MIN_WINDOW = 1.0
MAX_AGE = 300.0


@dataclass
class Sample:
    t: float
    cpu_ns: int
    mem: int


@dataclass
class RateTracker:
    """Remembers the last sample per key; rate() needs a previous one at least MIN_WINDOW old."""

    samples: dict[str, Sample] = field(default_factory=dict)

    def rate(self, key: str, now: float, cpu_ns: int, mem: int) -> tuple[int, float] | None:
        """(nanocores, window seconds) since the previous sample, or None without a usable one."""
        prev = self.samples.get(key)
        if prev is None or now - prev.t > MAX_AGE or cpu_ns < prev.cpu_ns:
            self.samples[key] = Sample(now, cpu_ns, mem)
            return None
        window = now - prev.t
        if window < MIN_WINDOW:
            return None
        self.samples[key] = Sample(now, cpu_ns, mem)
        return int((cpu_ns - prev.cpu_ns) / window), window

    def forget_except(self, keys: set[str]) -> None:
        for k in list(self.samples):
            if k not in keys:
                del self.samples[k]


def self_usage() -> tuple[int, int]:
    """This process: cumulative cpu ns and resident bytes."""
    t = os.times()
    try:
        rss_pages = int(Path("/proc/self/statm").read_text().split()[1])
        rss = rss_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        rss = 0
    return int((t.user + t.system) * 1e9), rss


def host_usage() -> tuple[int, int]:
    """The whole host: cumulative cpu ns (all cpus) and memory in use (total - available)."""
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        vals = [int(v) for v in first]
        busy = sum(vals) - vals[3] - (vals[4] if len(vals) > 4 else 0)
        cpu_ns = busy * 1_000_000_000 // ticks
        mem = {}
        for line in Path("/proc/meminfo").read_text().splitlines():
            k, _, v = line.partition(":")
            mem[k] = int(v.split()[0]) * 1024
        used = mem.get("MemTotal", 0) - mem.get("MemAvailable", 0)
    except (OSError, ValueError, IndexError):
        return 0, 0
    return cpu_ns, used


def cpu_quantity(nanocores: int) -> str:
    return f"{max(0, nanocores)}n"


def memory_quantity(nbytes: int) -> str:
    return f"{max(0, nbytes) // 1024}Ki"


async def two_samples(take: Callable[[], dict[str, tuple[int, int]]], tracker: RateTracker,
                      wait: float = MIN_WINDOW) -> dict[str, tuple[int, int, float]]:
    """Rates for every key; keys seen for the first time are sampled again after ``wait``."""
    now = time.time()
    current = take()
    out: dict[str, tuple[int, int, float]] = {}
    missing = False
    for key, (cpu, mem) in current.items():
        r = tracker.rate(key, now, cpu, mem)
        if r is None:
            missing = True
        else:
            out[key] = (r[0], mem, r[1])
    if missing:
        await asyncio.sleep(wait)
        now = time.time()
        for key, (cpu, mem) in take().items():
            if key in out:
                continue
            r = tracker.rate(key, now, cpu, mem)
            if r is not None:
                out[key] = (r[0], mem, r[1])
    tracker.forget_except(set(current) | set(out))
    return out
