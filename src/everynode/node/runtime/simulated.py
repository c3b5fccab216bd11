"""The simulated runtime: containers without processes, for clusters of thousands of nodes.

An instance "starts" after a startup delay (fixed, ``a-b`` uniform, or
``exp:m`` exponential with mean m seconds) and then runs until stopped, or
until it crashes (exit code 1) when the failure rate says so. Probes
always pass. Logs are synthesised on demand from the start time (a line
every 10 s), so nothing is written or kept per container. Pod workers,
status reporting and events are the same as with real processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator
from functools import lru_cache

from everynode.node.images import Catalog, Image, parse_ref
from everynode.node.logs import LogOptions, format_ts
from everynode.node.podstatus import ContainerRun
from everynode.node.runtime.base import ContainerConfig, RunHandle, Runtime

TICK = 10.0


def parse_delay(spec: str) -> tuple[str, float, float]:
    spec = (spec or "0").strip()
    if spec.startswith("exp:"):
        return "exp", float(spec[4:]), 0.0
    if "-" in spec.lstrip("-"):
        a, b = spec.split("-", 1)
        return "uniform", float(a), float(b)
    return "fixed", float(spec), 0.0


def sample_delay(dist: tuple[str, float, float], rng: random.Random) -> float:
    kind, a, b = dist
    if kind == "exp":
        return rng.expovariate(1.0 / a) if a > 0 else 0.0
    if kind == "uniform":
        return rng.uniform(min(a, b), max(a, b))
    return max(0.0, a)


def synthetic_lines(container: str, node: str, started: float, until: float) -> list[tuple[int, bytes]]:
    """The log of a simulated instance between its start and ``until``: (timestamp ns, text)."""
    out = [(int(started * 1e9), f"{container}: started (simulated) on node {node}".encode())]
    n = int((until - started) // TICK)
    for i in range(1, n + 1):
        ts = started + i * TICK
        out.append((int(ts * 1e9), f"{container}: tick {i} on node {node}".encode()))
    return out


class SimHandle(RunHandle):
    def __init__(self, run: ContainerRun, cfg: ContainerConfig):
        super().__init__(run, None)
        self.cfg = cfg
        self.crash: asyncio.TimerHandle | None = None


class SimulatedRuntime(Runtime):
    name = "simulated"
    probes_real = False
    writes_files = False  # logs are synthesised; nothing on disk per container

    def __init__(self, catalog: Catalog, node: str, startup: str = "1", failure_rate: float = 0.0,
                 seed: int | None = None):
        super().__init__(catalog)
        self.node = node
        self.delay = parse_delay(startup)
        self.failure_rate = failure_rate
        self.rng = random.Random(seed)
        self.handles: dict[str, SimHandle] = {}
        self.limits_note = "simulated (no processes)"

    def resolve_image(self, image: str, has_command: bool) -> Image:
        ref, image_id = _simulated_image(image)
        return Image(ref, image_id, source="simulated")

    async def start(self, cfg: ContainerConfig) -> RunHandle:
        run = ContainerRun(id=f"{self.id_scheme}://{cfg.container_id}", name=cfg.name, attempt=cfg.attempt,
                           image=cfg.image.ref, image_id=cfg.image.image_id)
        h = SimHandle(run, cfg)
        delay = sample_delay(self.delay, self.rng)
        if delay:
            await asyncio.sleep(delay)
        run.started_at = time.time()
        self.handles[run.id] = h
        if self.failure_rate and self.rng.random() < self.failure_rate:
            after = self.rng.uniform(1.0, 30.0)
            h.crash = asyncio.get_running_loop().call_later(after, self._end, h, 1, "Error")
        return h

    def _end(self, h: SimHandle, code: int, reason: str) -> None:
        if h.crash is not None:
            h.crash.cancel()
        self.handles.pop(h.run.id, None)
        h.finish(code, reason, "", time.time())

    async def stop(self, handle: RunHandle, grace: float) -> None:
        if isinstance(handle, SimHandle) and not handle.exited.done():
            self._end(handle, 0, "Completed")

    def kill_all_now(self) -> None:
        for h in list(self.handles.values()):
            self._end(h, 137, "Error")

    async def exec(self, handle: RunHandle, argv: list[str], timeout: float) -> tuple[int, str]:
        return 0, ""

    def logs(self, handle_or_path, opts: LogOptions, running) -> AsyncIterator[bytes]:
        return self._logs(handle_or_path, opts, running)

    async def _logs(self, h, opts: LogOptions, running) -> AsyncIterator[bytes]:
        if not isinstance(h, SimHandle) or h.run.started_at is None:
            return  # a previous instance: nothing was kept
        left = opts.limit_bytes
        started = h.run.started_at
        end = h.run.finished_at or time.time()
        lines = synthetic_lines(h.cfg.name, self.node, started, end)
        if opts.tail_lines is not None:
            lines = lines[-opts.tail_lines:] if opts.tail_lines else []
        sent = len(synthetic_lines(h.cfg.name, self.node, started, end))
        while True:
            out = []
            for ts, text in lines:
                if opts.since_ns is not None and ts < opts.since_ns:
                    continue
                if opts.stream == "Stderr":
                    continue
                line = text + b"\n"
                if opts.timestamps:
                    line = format_ts(ts).encode() + b" " + line
                out.append(line)
            if out:
                data = b"".join(out)
                if left is not None:
                    data, left = data[:left], left - len(data)
                yield data
                if left is not None and left <= 0:
                    return
            if not opts.follow or not running():
                return
            next_at = started + sent * TICK
            await asyncio.wait([h.exited], timeout=max(0.05, next_at - time.time()))
            if h.exited.done():
                return
            now = time.time()
            fresh = synthetic_lines(h.cfg.name, self.node, started, now)
            lines, sent = fresh[sent:], len(fresh)

    def usage(self, handles: list[RunHandle]) -> dict[str, tuple[int, int]]:
        now = time.time()
        return {h.run.id: (int((now - (h.run.started_at or now)) * 1e6), 8 * 1024 * 1024)
                for h in handles if not h.exited.done()}


@lru_cache(maxsize=1024)
def _simulated_image(image: str) -> tuple[str, str]:
    """(normalised reference, image ID) of a simulated image: a digest of its reference. Every
    pod of a DaemonSet resolves the same image (a parse and a sha256 each)."""
    ref = parse_ref(image)
    return str(ref), f"{ref.repository}@sha256:{hashlib.sha256(str(ref).encode()).hexdigest()}"
