"""Wake-up microbenchmark: what an event loop pays to wake, and the heartbeat clock's cost per call.

1. A bare loop: one task in ``asyncio.sleep(1 / rate)``, nothing else. The process's CPU time
   per wake-up is what the machine charges for going idle and waking (on the development VM,
   far more than the few microseconds of Python each wake-up runs: docs/benchmarks.md item 72).
2. The node agents' ``HeartbeatClock`` with N callbacks, each due once per period at a random
   phase and booking its next call from a loop callback (as a renewal task does when it ends),
   at several resolutions: the process's CPU time per call.

Prints a table and writes a JSON report (default bench/results/wakeups.json).
Usage: python bench/wakeups.py [--rates 100 1000] [--callbacks 10000] [--period 10]
       [--resolutions 0.01 0.05 0.1] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import uvloop  # noqa: E402

from everynode.node.heartbeats import HeartbeatClock  # noqa: E402


async def bare_loop(rate: float, seconds: float) -> dict:
    async def tick() -> None:
        while True:
            await asyncio.sleep(1 / rate)

    task = asyncio.create_task(tick())
    await asyncio.sleep(min(1.0, seconds))  # settle
    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    task.cancel()
    return {"rate": rate, "cpu_percent": round(100 * cpu / wall, 3),
            "us_per_wakeup": round(cpu / (wall * rate) * 1e6, 1)}


async def clock_calls(callbacks: int, period: float, resolution: float, seconds: float) -> dict:
    loop = asyncio.get_running_loop()
    clock = HeartbeatClock(resolution)
    calls = [0]
    ids: list[int] = []

    def due(i: int) -> None:
        calls[0] += 1
        loop.call_soon(clock.call_in, ids[i], period)

    for i in range(callbacks):
        ids.append(clock.add(lambda i=i: due(i)))
        clock.call_in(ids[i], random.random() * period)
    await asyncio.sleep(period)  # every callback called once: the heap in its steady shape
    cpu, wall, before = time.process_time(), time.monotonic(), calls[0]
    await asyncio.sleep(seconds)
    cpu, wall, made = time.process_time() - cpu, time.monotonic() - wall, calls[0] - before
    await clock.stop()
    return {"callbacks": callbacks, "period_s": period, "resolution_s": resolution, "calls": made,
            "cpu_percent": round(100 * cpu / wall, 3), "us_per_call": round(cpu / max(made, 1) * 1e6, 2)}


async def run(args: argparse.Namespace) -> dict:
    bare = [await bare_loop(r, args.seconds) for r in args.rates]
    clock = [await clock_calls(args.callbacks, args.period, res, args.seconds) for res in args.resolutions]
    return {"bare_loop": bare, "heartbeat_clock": clock, "python": platform.python_version(),
            "python_executable": sys.executable, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--rates", type=float, nargs="+", default=[100.0, 1000.0], help="bare loop wake-ups a second")
    p.add_argument("--callbacks", type=int, default=10000, help="heartbeats on the clock (nodes)")
    p.add_argument("--period", type=float, default=10.0, help="seconds between two calls of a callback")
    p.add_argument("--resolutions", type=float, nargs="+", default=[0.01, 0.05, 0.1],
                   help="clock resolutions to measure (seconds)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured time of each case")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "wakeups.json"))
    args = p.parse_args()
    if min(args.rates) <= 0 or args.callbacks < 1 or args.period <= 0 or args.seconds <= 0:
        p.error("--rates, --callbacks, --period and --seconds must be positive")
    if min(args.resolutions) < 0:
        p.error("--resolutions must not be negative")
    report = uvloop.run(run(args))
    print(f"{'bare loop wake-ups/s':>20} {'% of a core':>12} {'us per wake-up':>15}")
    for r in report["bare_loop"]:
        print(f"{r['rate']:>20.0f} {r['cpu_percent']:>12.2f} {r['us_per_wakeup']:>15.1f}")
    print(f"\n{'clock callbacks':>15} {'period s':>9} {'resolution s':>13} {'calls':>7} {'% of a core':>12} "
          f"{'us per call':>12}")
    for r in report["heartbeat_clock"]:
        print(f"{r['callbacks']:>15} {r['period_s']:>9g} {r['resolution_s']:>13g} {r['calls']:>7} "
              f"{r['cpu_percent']:>12.2f} {r['us_per_call']:>12.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
