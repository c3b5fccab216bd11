"""``everynode bench create|join|rollout|steady|process``: the scale benchmarks of issue 6.

Each benchmark starts an embedded cluster (store, API server, controllers and
node agents in this process, as ``everynode up`` runs them) in a temporary
data dir, drives it through the API like a user would, prints a table and
writes a JSON report (and a PNG plot when matplotlib is installed) under
``--out`` (default bench/results).

The bench only *observes* through an in-process watch on the store (timing
pod and node transitions without adding HTTP load); every change it makes
goes through the API client.

  create   N simulated nodes, one DaemonSet: time until status.numberReady == N,
           pods/s, and the store alone committing the same number and size of writes
  join     N nodes with 5 DaemonSets; add nodes one by one: Node created -> its 5 pods Ready
  rollout  image change, maxUnavailable=10% and maxSurge=10%/maxUnavailable=0: time to
           complete, most unavailable nodes observed (asserted <= the bound)
  steady   N idle nodes with 5 DaemonSets: CPU and resident memory of the cluster process
  process  3 nodes running real processes, seed 002's log collector: apply -> all Running
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from everynode import gcpolicy
from everynode.aiotools import cancel_and_wait

NS = "default"
GOALS = {
    "create": "10,000 nodes <= 20 s, 1,000 nodes <= 2 s, cluster/store <= 3",
    "join": "p99 <= 250 ms at 10,000 nodes with 5 DaemonSets",
    "rollout": "10,000 nodes, maxUnavailable 10%, 0 s startup: <= 60 s, bound never exceeded",
    "steady": "10,000 idle nodes, 5 DaemonSets: <= 25% of one core, <= 2 GiB RSS",
    "process": "3 pods Running <= 1 s after apply",
}


# ------------------------------------------------------------------ helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_name(i: int) -> str:
    return f"sim-{i:05d}"


def daemonset(name: str, image: str = "busybox:1.35", max_unavailable: Any = 1, max_surge: Any = 0) -> dict:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"maxUnavailable": max_unavailable,
                                                          "maxSurge": max_surge}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image,
                                                           "command": ["sleep", "infinity"]}]}}}}


def pod_ready(pod: dict) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "python_executable": sys.executable, "python_build": python_build(_own_maps()),
            "platform": platform.platform(), "loadavg_start": [round(x, 2) for x in load]}


def python_build(maps: str) -> dict:
    """How the running CPython is linked: from a shared ``libpython`` (``--enable-shared``, as
    pyenv builds it here) or with it linked into the executable (as Debian's python3.11), read
    from ``maps``, this process's memory map. The build matters as much as the host: at the
    same moment on this project's VM, pyenv's 3.11.7 (shared, not profile-guided) measured a
    host speed of 15 ms and Debian's python3.11 9 ms, and the creation benchmarks ran 8-24%
    slower under pyenv's (docs/benchmarks.md, item 68)."""
    return {"shared_libpython": "/libpython" in maps}


def _own_maps() -> str:
    try:
        with open("/proc/self/maps") as f:
            return f.read()
    except OSError:
        return ""


def host_speed(rounds: int = 15) -> float:
    """Milliseconds of CPU a fixed piece of Python work takes here (the fastest of ``rounds``):
    dicts built, JSON encoded and decoded, strings formatted, as the cluster's hot paths do.
    This shared VM's speed changes by up to 2x within an hour; a benchmark's figure means
    little without it (lower is faster; see docs/benchmarks.md)."""
    import orjson

    def work() -> None:
        for i in range(2000):
            pod = {"metadata": {"name": f"pod-{i}", "labels": {"app": "x", "n": str(i)}},
                   "spec": {"containers": [{"name": "c", "image": "busybox", "args": ["sleep", str(i)]}]},
                   "status": {"conditions": [{"type": t, "status": "True"} for t in ("Ready", "Scheduled")]}}
            back = orjson.loads(orjson.dumps(pod))
            assert back["metadata"]["name"] == pod["metadata"]["name"]

    warm = time.monotonic() + 0.3  # warm-up: the first rounds are slower (a heap, a vCPU to wake)
    while time.monotonic() < warm:
        work()
    times = []
    for _ in range(rounds):
        c = time.thread_time()
        work()
        times.append(time.thread_time() - c)
    return round(min(times) * 1000, 2)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    i = min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))
    return s[i]


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [header] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for j, r in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
        if j == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def write_report(out: Path, name: str, report: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    report.setdefault("machine", machine())
    report["goal"] = GOALS.get(name, "")
    report["date"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    try:
        report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    path = out / f"{name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"report: {path}")
    return path


def plot(out: Path, name: str, series: list[tuple[str, list[float], list[float]]], xlabel: str,
         ylabel: str, title: str) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, xs, ys in series:
        ax.plot(xs, ys, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if len(series) > 1:
        ax.legend()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"plot: {path}")
    return path


def rss_bytes(others: Iterable[int | None] = ()) -> tuple[int, int]:
    """(current, peak) resident set size of this process plus the processes ``others`` (the
    store's writer): the sum of each one's current and of each one's peak."""
    cur = peak = 0
    for pid in ("self", *(p for p in others if p)):
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    cur += int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    peak += int(line.split()[1]) * 1024
        except OSError:
            if pid == "self":
                peak += resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return cur, peak


def cpu_seconds(others: Iterable[int | None] = ()) -> float:
    """CPU seconds (user and system) of this process and of the processes ``others``."""
    t = os.times()
    total = t.user + t.system
    for pid in others:
        if pid:
            total += process_cpu_seconds(pid)
    return total


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- observer


@dataclass
class Observer:
    """Times pod and node transitions from an in-process watch on the store."""

    store: Any
    node_added: dict[str, float] = field(default_factory=dict)
    pods: dict[str, dict] = field(default_factory=dict)  # key -> pod
    ready_at: dict[str, float] = field(default_factory=dict)  # pod key -> first Ready time
    by_node: dict[str, set[str]] = field(default_factory=dict)  # node -> pod keys
    listeners: list = field(default_factory=list)
    # Kept as pods change, so that sampling availability costs nothing per event:
    # Keyed by "app node" strings, not (app, node) tuples: dicts of strings and ints are never
    # tracked by the cyclic collector, which would otherwise walk them whole (50,000 pods)
    # in every young collection after a change. A space is in neither a label value nor a name.
    counted: dict[str, str] = field(default_factory=dict)  # pod key -> "app node" it makes available
    available: dict[str, int] = field(default_factory=dict)  # "app node" -> available pods
    available_nodes: dict[str, int] = field(default_factory=dict)  # app -> nodes with an available pod

    def start(self) -> None:
        rev = self.store.revision
        self._tasks = [asyncio.create_task(self._run("nodes/", rev)),
                       asyncio.create_task(self._run("pods/", rev))]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    async def _run(self, prefix: str, rev: int) -> None:
        while True:  # a watch the store ends (too far behind, compacted) is reopened
            try:
                w = self.store.watch(prefix, rev)
            except Exception:
                rev = self.store.revision  # compacted: events in between are lost for timing only
                w = self.store.watch(prefix, rev)
            try:
                rev = await self._drain(w, prefix, rev)
            finally:
                w.close()

    async def _drain(self, w, prefix: str, rev: int) -> int:
        while True:
            evs = await w.poll(1.0)
            if evs is None:
                return rev
            now = time.monotonic()
            for ev in evs:
                rev = ev.rev
                if prefix == "nodes/":
                    if ev.type == "ADDED":
                        self.node_added.setdefault(ev.entry.value["metadata"]["name"], now)
                elif ev.type == "DELETED":
                    gone = self.pods.pop(ev.key, None)
                    if gone is not None:
                        self.by_node.get((gone.get("spec") or {}).get("nodeName") or "", set()).discard(ev.key)
                    self._count(ev.key, None)
                else:
                    self._pod(ev.key, ev.entry.value, now)
            for fn in self.listeners:
                fn(now)

    def _pod(self, key: str, pod: dict, now: float | None = None) -> None:
        self.pods[key] = pod
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            self.by_node.setdefault(node, set()).add(key)
        ready = pod_ready(pod)
        if key not in self.ready_at and ready:
            self.ready_at[key] = now if now is not None else time.monotonic()
        meta = pod["metadata"]
        app = (meta.get("labels") or {}).get("app")
        self._count(key, f"{app} {node}" if app and node and ready and not meta.get("deletionTimestamp") else None)

    def _count(self, key: str, app_node: str | None) -> None:
        before = self.counted.get(key)
        if before == app_node:
            return
        if before is not None:
            del self.counted[key]
            left = self.available[before] = self.available[before] - 1
            if left == 0:
                del self.available[before]
                self.available_nodes[before.partition(" ")[0]] -= 1
        if app_node is not None:
            self.counted[key] = app_node
            self.available[app_node] = self.available.get(app_node, 0) + 1
            if self.available[app_node] == 1:
                app = app_node.partition(" ")[0]
                self.available_nodes[app] = self.available_nodes.get(app, 0) + 1

    def unavailable(self, app: str, nodes: int) -> int:
        """Nodes without an available (Ready, not terminating) pod of ``app``."""
        return nodes - self.available_nodes.get(app, 0)


def _pod_key(pod: dict) -> str:
    m = pod["metadata"]
    return f"pods/{m.get('namespace')}/{m['name']}"


# ------------------------------------------------------------------ cluster


class BenchCluster:
    """An embedded cluster (control-plane node + N simulated workers) in a temp dir."""

    def __init__(self, startup: float = 0.0, runtime: str = "simulated", control_plane_only: bool = True,
                 nodes: int = 1, keep: bool = False):
        self.startup = startup
        self.runtime = runtime
        self.nodes = nodes
        self.keep = keep
        self.dir = Path(tempfile.mkdtemp(prefix="everynode-bench-"))
        self.cluster = None
        self.observer: Observer | None = None
        self._next = 1

    async def start(self) -> None:
        from everynode.cluster import Cluster, Settings

        os.environ["EVERYNODE_SIM_STARTUP"] = str(self.startup)
        os.environ.setdefault("EVERYNODE_SIM_FAILURE_RATE", "0")
        settings = Settings(port=free_port(), nodes=self.nodes, runtime=self.runtime, controllers=True)
        self.cluster = Cluster(self.dir, settings)
        await self.cluster.start()
        self.observer = Observer(self.cluster.store)
        self.observer.start()

    @property
    def client(self):
        return self.cluster.client

    @property
    def store(self):
        return self.cluster.store

    async def add_workers(self, n: int, concurrency: int = 50) -> list[str]:
        from everynode.node.agent import NodeConfig

        names = [worker_name(self._next + i) for i in range(n)]
        self._next += n
        sem = asyncio.Semaphore(concurrency)

        async def one(name: str) -> None:
            async with sem:
                cfg = NodeConfig(name=name, runtime="simulated", sim_startup=str(self.startup),
                                 sim_failure_rate=0.0, static_pods=False,
                                 capacity={"cpu": "8", "memory": "32Gi", "ephemeral-storage": "100Gi",
                                           "pods": "110", "hugepages-2Mi": "0"})
                await self.cluster.add_agent(cfg)

        await asyncio.gather(*(one(name) for name in names))
        gcpolicy.settle()  # as the cluster does once it registered its nodes at start
        return names

    def ds_status(self, name: str) -> dict:
        e = self.store.get(f"daemonsets.apps/{NS}/{name}")
        return (e.value.get("status") or {}) if e is not None else {}

    async def run_daemonsets(self, names: list[str], n: int, timeout: float, interval: float) -> None:
        """Create the DaemonSets and wait until each is Ready on all ``n`` workers."""
        for name in names:
            await self.client.create("daemonsets", daemonset(name), NS)
        for name in names:
            if not await self.wait_ds(name, ready_all(n), timeout, interval):
                raise RuntimeError(f"{name} not ready on {n} nodes within {timeout}s")

    async def wait_ds(self, name: str, pred, timeout: float, interval: float = 0.01) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            e = self.store.get(f"daemonsets.apps/{NS}/{name}")
            if e is not None and pred(e.value):
                return True
            await asyncio.sleep(interval)
        return False

    async def stop(self) -> None:
        if self.observer is not None:
            await self.observer.stop()
        if self.cluster is not None:
            await self.cluster.stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def ready_all(n: int):
    def pred(ds: dict) -> bool:
        st = ds.get("status") or {}
        return (st.get("observedGeneration") == ds["metadata"].get("generation")
                and st.get("desiredNumberScheduled") == n and st.get("numberReady") == n)
    return pred


def rolled_out(n: int):
    def pred(ds: dict) -> bool:
        st = ds.get("status") or {}
        return (st.get("observedGeneration") == ds["metadata"].get("generation")
                and st.get("desiredNumberScheduled") == n and st.get("updatedNumberScheduled") == n
                and st.get("numberAvailable") == n and st.get("numberReady") == n
                and not st.get("numberUnavailable"))
    return pred


class _Profile:
    """A profile of a measured phase: cProfile when EVERYNODE_BENCH_PROFILE names an output
    file; py-spy sampling this process (all threads) when EVERYNODE_BENCH_PYSPY does (py-spy's
    raw collapsed stacks, EVERYNODE_BENCH_PYSPY_RATE samples/s, default 100: little slow-down
    at 100/s, about 3x at 1,000/s on this project's 2-core VM). EVERYNODE_BENCH_PYSPY_GIL=1
    samples only the thread holding the GIL: on this VM py-spy cannot tell an idle thread
    (a loop waiting in epoll, a thread blocked on a queue) from a running one, and counts it."""

    def __init__(self, others: Iterable[int | None] = ()) -> None:
        self.others = [p for p in others if p]  # the cluster's other processes (the store's writer)
        self.path = os.environ.get("EVERYNODE_BENCH_PROFILE")
        self.pyspy_path = os.environ.get("EVERYNODE_BENCH_PYSPY")
        self.prof = None
        self.sampler: subprocess.Popen | None = None
        self.gc = gcpolicy.GcClock()
        self.cpu0 = self.cpu1 = (0.0, 0.0, 0.0)

    def __enter__(self) -> _Profile:
        self.gc.__enter__()
        self.cpu0 = self._cpu()
        if self.path:
            import cProfile

            self.prof = cProfile.Profile()
            self.prof.enable()
        if self.pyspy_path:
            self.sampler = subprocess.Popen(
                ["py-spy", "record", "--pid", str(os.getpid()), "-r",
                 os.environ.get("EVERYNODE_BENCH_PYSPY_RATE", "100"), "-f", "raw",
                 "-o", self.pyspy_path, *(["--gil"] if os.environ.get("EVERYNODE_BENCH_PYSPY_GIL") == "1" else [])],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # attached before the phase starts
        return self

    def __exit__(self, *exc) -> None:
        self.cpu1 = self._cpu()
        self.gc.__exit__()
        if self.prof is not None:
            self.prof.disable()
            self.prof.dump_stats(self.path)
        if self.sampler is not None:
            self.sampler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            self.sampler.wait(timeout=60)

    def _cpu(self) -> tuple[float, float, float]:
        return (time.process_time(), time.thread_time(), sum(process_cpu_seconds(p) for p in self.others))

    def report(self) -> dict:
        """The collector's figures and the phase's CPU: the cluster's (this process and the
        store's writer), the event loop's thread's (it runs every component's Python: a phase
        whose loop CPU is near its wall time is bound by it) and the writer's."""
        process, loop, others = (b - a for a, b in zip(self.cpu0, self.cpu1, strict=True))
        return {**self.gc.report(), "cpu_s": round(process + others, 3), "cpu_loop_thread_s": round(loop, 3),
                "cpu_writer_s": round(others, 3)}


# ------------------------------------------------------------- store limit


async def store_limit(writes: int, avg_bytes: int) -> float:
    """Seconds for a fresh SQLite store to commit ``writes`` writes of ``avg_bytes`` each, submitted at once."""
    from everynode.storage.sqlite import SqliteStore

    d = Path(tempfile.mkdtemp(prefix="everynode-store-"))
    store = SqliteStore(d / "state.db")
    await store.start()
    pad = "x" * max(0, avg_bytes - 120)
    try:
        start = time.perf_counter()
        futs = [store.create(f"pods/bench/p{i:07d}", {"apiVersion": "v1", "kind": "Pod",
                                                        "metadata": {"name": f"p{i:07d}", "namespace": "bench"},
                                                        "spec": {"pad": pad}})
                for i in range(writes)]
        await asyncio.gather(*futs)
        return time.perf_counter() - start
    finally:
        await store.close()
        shutil.rmtree(d, ignore_errors=True)


# -------------------------------------------------------------- benchmarks


async def bench_create(n: int, startup: float, timeout: float) -> dict:
    bc = BenchCluster(startup=startup)
    await bc.start()
    try:
        t0 = time.monotonic()
        await bc.add_workers(n)
        register_s = time.monotonic() - t0
        await asyncio.sleep(0.5)
        stats = bc.store.stats
        w0, b0, k0, ks0 = stats.writes, stats.bytes, stats.commits, stats.commit_seconds
        samples: list[tuple[float, int]] = []
        start = time.monotonic()
        ok = False
        with _Profile([bc.store.writer_pid]) as prof:
            await bc.client.create("daemonsets", daemonset("bench-create"), NS)
            while time.monotonic() - start < timeout:
                st = bc.ds_status("bench-create")
                samples.append((time.monotonic() - start, int(st.get("numberReady") or 0)))
                if ready_all(n)(bc.store.get(f"daemonsets.apps/{NS}/bench-create").value):
                    ok = True
                    break
                await asyncio.sleep(0.01)
        elapsed = time.monotonic() - start
        writes, nbytes = stats.writes - w0, stats.bytes - b0
        commits, commit_s = stats.commits - k0, stats.commit_seconds - ks0
    finally:
        await bc.stop()
    store_s = await store_limit(writes, nbytes // max(1, writes))
    return {"nodes": n, "startup_s": startup, "complete": ok, "seconds": round(elapsed, 3),
            "pods_per_s": round(n / elapsed, 1) if ok else None, "register_nodes_s": round(register_s, 2),
            "writes": writes, "write_bytes": nbytes, "commits": commits, "commit_s": round(commit_s, 3),
            "store_only_s": round(store_s, 3),
            "ratio": round(elapsed / store_s, 2) if store_s else None, **prof.report(),
            "curve": [(round(t, 3), r) for t, r in samples[:: max(1, len(samples) // 400)]]}


async def bench_join(n: int, joins: int, startup: float, timeout: float) -> dict:
    bc = BenchCluster(startup=startup)
    await bc.start()
    names = [f"join-{i}" for i in range(5)]
    lat: list[float] = []
    gc_in_join: list[float] = []  # collector time during each join: tells a GC pause from slow work
    incomplete = 0
    try:
        await bc.add_workers(n)
        await bc.run_daemonsets(names, n, timeout, 0.05)
        obs = bc.observer
        with _Profile([bc.store.writer_pid]) as prof:
            for _ in range(joins):
                t0 = time.monotonic()
                gc0 = sum(prof.gc.seconds)
                [node] = await bc.add_workers(1)
                end = time.monotonic() + min(timeout, 60.0)  # a join slower than a minute counts as timed out
                while True:
                    mine = list(obs.by_node.get(node, ()))
                    if len(mine) >= 5 and all(k in obs.ready_at for k in mine):
                        break
                    if time.monotonic() >= end:
                        incomplete += 1
                        break
                    await asyncio.sleep(0.005)
                created = obs.node_added.get(node, t0)
                lat.append(max((obs.ready_at.get(k, time.monotonic()) for k in mine), default=time.monotonic())
                           - created)
                gc_in_join.append(sum(prof.gc.seconds) - gc0)
    finally:
        await bc.stop()
    slowest = sorted(range(len(lat)), key=lambda i: lat[i])[-3:]
    return {"nodes": n, "daemonsets": 5, "joins": joins, "startup_s": startup, "incomplete": incomplete,
            "p50_ms": round(pct(lat, 50) * 1000, 1), "p99_ms": round(pct(lat, 99) * 1000, 1),
            "max_ms": round(max(lat) * 1000, 1) if lat else None, **prof.report(),
            "slowest_ms_and_gc_ms": [(round(lat[i] * 1000, 1), round(gc_in_join[i] * 1000, 1)) for i in slowest],
            "latencies_ms": [round(x * 1000, 1) for x in lat]}


async def bench_rollout(n: int, startup: float, surge: bool, timeout: float) -> dict:
    bc = BenchCluster(startup=startup)
    await bc.start()
    name = "bench-roll"
    mu, ms = (0, "10%") if surge else ("10%", 0)
    bound = 0 if surge else n // 10  # upstream rounds maxUnavailable down
    max_unavail = 0
    curve: list[tuple[float, int, int]] = []
    try:
        await bc.add_workers(n)
        await bc.client.create("daemonsets", daemonset(name, "busybox:1.35", mu, ms), NS)
        if not await bc.wait_ds(name, ready_all(n), timeout, 0.05):
            raise RuntimeError(f"{name} not ready on {n} nodes within {timeout}s")
        obs = bc.observer
        start = time.monotonic()
        await bc.client.patch("daemonsets", name, {"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "busybox:1.36"}]}}}}, NS, "strategic")

        def sample(now: float) -> None:
            nonlocal max_unavail
            u = obs.unavailable(name, n)
            max_unavail = max(max_unavail, u)
            if not curve or now - start - curve[-1][0] > 0.05 or u != curve[-1][1]:
                curve.append((round(now - start, 3), u, 0))

        obs.listeners.append(sample)
        with _Profile([bc.store.writer_pid]) as prof:
            ok = await bc.wait_ds(name, rolled_out(n), timeout, 0.02)
        elapsed = time.monotonic() - start
        obs.listeners.remove(sample)
    finally:
        await bc.stop()
    return {"nodes": n, "startup_s": startup, "maxUnavailable": mu, "maxSurge": ms, "complete": ok,
            "seconds": round(elapsed, 3), "max_unavailable_observed": max_unavail, "bound": bound,
            "bound_respected": max_unavail <= bound, **prof.report(),
            "curve": curve[:: max(1, len(curve) // 500)]}


async def bench_steady(n: int, seconds: float, timeout: float) -> dict:
    bc = BenchCluster(startup=0.0)
    await bc.start()
    names = [f"steady-{i}" for i in range(5)]
    samples: list[tuple[float, float, int]] = []
    try:
        await bc.add_workers(n)
        await bc.run_daemonsets(names, n, timeout, 0.1)
        await asyncio.sleep(min(5.0, seconds / 4))  # let the creation burst settle
        others = [bc.store.writer_pid]  # the cluster's other process
        _, peak_setup = rss_bytes(others)
        t0, c0 = time.monotonic(), cpu_seconds(others)
        w0, k0 = bc.store.stats.writes, bc.store.stats.commits
        last_t, last_c = t0, c0
        with _Profile([bc.store.writer_pid]) as prof:
            while time.monotonic() - t0 < seconds:
                await asyncio.sleep(1.0)
                t, c = time.monotonic(), cpu_seconds(others)
                samples.append((round(t - t0, 2), (c - last_c) / (t - last_t) * 100, rss_bytes(others)[0]))
                last_t, last_c = t, c
        cpu = (cpu_seconds(others) - c0) / (time.monotonic() - t0) * 100
        writes, commits = bc.store.stats.writes - w0, bc.store.stats.commits - k0
        cur, peak = rss_bytes(others)
        pods = bc.store.count("pods/")
    finally:
        await bc.stop()
    return {"nodes": n, "daemonsets": 5, "pods": pods, "window_s": seconds,
            "cpu_percent_of_one_core": round(cpu, 1), "writes_per_s": round(writes / seconds, 1),
            "commits_per_s": round(commits / seconds, 1), **prof.report(), "rss_steady_mib": round(cur / 2**20, 1), "rss_peak_mib": round(max(peak, peak_setup) / 2**20, 1),
            "curve": samples}


def log_collector_manifest() -> dict:
    here = Path(__file__).resolve()
    candidates = [p / "tests/e2e/data/002/01-log-collector-daemonset.yaml" for p in here.parents]
    for c in candidates:
        if c.exists():
            return yaml.safe_load(c.read_text())
    for seed in sorted(Path("/work/shared/seeds").glob("002_*.txt")):
        text = seed.read_text()
        for block in text.split("```yaml")[1:]:
            doc = yaml.safe_load(block.split("```", 1)[0])
            if isinstance(doc, dict) and doc.get("metadata", {}).get("name") == "log-collector":
                return doc
    raise FileNotFoundError("seed 002's log-collector manifest not found")


async def bench_process(runs: int, timeout: float) -> dict:
    bc = BenchCluster(runtime="process", nodes=3)
    await bc.start()
    times: list[float] = []
    try:
        manifest = log_collector_manifest()
        name = manifest["metadata"]["name"]
        for _ in range(runs):
            start = time.monotonic()
            await bc.client.create("daemonsets", manifest, NS)
            ok = False
            while time.monotonic() - start < timeout:
                pods = [p for p in bc.observer.pods.values()
                        if (p["metadata"].get("labels") or {}).get("name") == name
                        and not p["metadata"].get("deletionTimestamp")]
                if len(pods) == 3 and all(_running(p) for p in pods):
                    ok = True
                    break
                await asyncio.sleep(0.005)
            if not ok:
                raise RuntimeError("log-collector pods not Running in time")
            times.append(time.monotonic() - start)
            await bc.client.delete("daemonsets", name, NS)
            while any((p["metadata"].get("labels") or {}).get("name") == name for p in bc.observer.pods.values()):
                await asyncio.sleep(0.05)
    finally:
        await bc.stop()
    return {"nodes": 3, "runs": runs, "seconds": [round(t, 3) for t in times],
            "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


def _running(pod: dict) -> bool:
    st = pod.get("status") or {}
    if st.get("phase") != "Running":
        return False
    cs = st.get("containerStatuses") or []
    return bool(cs) and all("running" in (c.get("state") or {}) for c in cs)


# ---------------------------------------------------------------------- CLI


def add_parser(sub) -> None:
    b = sub.add_parser("bench", help="scale benchmarks (create, join, rollout, steady, process)")
    b.add_argument("which", choices=["create", "join", "rollout", "steady", "process"])
    b.add_argument("--nodes", type=int, nargs="+", help="cluster sizes (default per benchmark)")
    b.add_argument("--startup", type=float, nargs="+", help="simulated container startup seconds")
    b.add_argument("--joins", type=int, default=200, help="join: nodes added one by one")
    b.add_argument("--seconds", type=float, default=60.0, help="steady: measurement window")
    b.add_argument("--runs", type=int, default=3, help="process: repetitions")
    b.add_argument("--timeout", type=float, default=600.0)
    b.add_argument("--out", default="bench/results", help="report directory")
    b.add_argument("--no-plot", action="store_true")


def run(args: argparse.Namespace) -> int:
    from everynode.cli.main import run_async

    logging_quiet()
    return run_async(_run(args))


def logging_quiet() -> None:
    import logging

    logging.disable(logging.WARNING)


async def _run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    which = args.which
    results: list[dict] = []
    ok = True
    host = machine()
    host["host_speed_ms_start"] = host_speed()
    if which == "create":
        for n in args.nodes or [1000, 5000, 10000]:
            for s in args.startup or [0.0]:
                r = await bench_create(n, s, args.timeout)
                print(f"create {n} nodes: {r['seconds']} s (register {r['register_nodes_s']} s), "
                      f"store-only {r['store_only_s']} s", flush=True)
                results.append(r)
                ok &= r["complete"]
        print_table("create: one DaemonSet on N simulated nodes (goal: " + GOALS["create"] + ")",
                    ["nodes", "startup s", "seconds", "pods/s", "writes", "store-only s", "cluster/store", "gc s"],
                    [[r["nodes"], r["startup_s"], r["seconds"], r["pods_per_s"] or "-", r["writes"],
                      r["store_only_s"], r["ratio"], r["gc_s"]] for r in results])
        if not args.no_plot:
            plot(out, "create", [(f"{r['nodes']} nodes", [c[0] for c in r["curve"]], [c[1] for c in r["curve"]])
                                 for r in results], "seconds after apply", "numberReady", "create")
    elif which == "join":
        for n in args.nodes or [1000]:
            r = await bench_join(n, args.joins, (args.startup or [0.0])[0], args.timeout)
            results.append(r)
            ok &= r["incomplete"] == 0
        print_table("join: Node created -> its 5 daemon pods Ready (goal: " + GOALS["join"] + ")",
                    ["nodes", "joins", "timed out", "p50 ms", "p99 ms", "max ms", "slowest 3 (ms, of it GC ms)"],
                    [[r["nodes"], r["joins"], r["incomplete"], r["p50_ms"], r["p99_ms"], r["max_ms"],
                      " ".join(f"{t:g}/{g:g}" for t, g in r["slowest_ms_and_gc_ms"])] for r in results])
        if not args.no_plot:
            plot(out, "join", [(f"{r['nodes']} nodes", sorted(r["latencies_ms"]),
                                [i / len(r["latencies_ms"]) for i in range(len(r["latencies_ms"]))])
                               for r in results], "latency ms", "fraction of joins", "join latency CDF")
    elif which == "rollout":
        for n in args.nodes or [1000]:
            for s in args.startup or [0.0, 2.0]:
                for surge in (False, True):
                    r = await bench_rollout(n, s, surge, args.timeout)
                    results.append(r)
                    ok &= r["complete"] and r["bound_respected"]
        print_table("rollout: image change (goal: " + GOALS["rollout"] + ")",
                    ["nodes", "startup s", "maxUnavailable", "maxSurge", "seconds", "max unavailable", "bound", "ok"],
                    [[r["nodes"], r["startup_s"], r["maxUnavailable"], r["maxSurge"], r["seconds"],
                      r["max_unavailable_observed"], r["bound"], r["complete"] and r["bound_respected"]]
                     for r in results])
        if not args.no_plot:
            plot(out, "rollout", [(f"{r['nodes']}n s={r['startup_s']} mu={r['maxUnavailable']} ms={r['maxSurge']}",
                                   [c[0] for c in r["curve"]], [c[1] for c in r["curve"]]) for r in results],
                 "seconds after image change", "unavailable nodes", "rollout")
    elif which == "steady":
        for n in args.nodes or [1000]:
            results.append(await bench_steady(n, args.seconds, args.timeout))
        print_table("steady: idle nodes heartbeating, 5 DaemonSets (goal: " + GOALS["steady"] + ")",
                    ["nodes", "pods", "cpu % of one core", "writes/s", "commits/s", "gc s", "RSS steady MiB",
                     "RSS peak MiB"],
                    [[r["nodes"], r["pods"], r["cpu_percent_of_one_core"], r["writes_per_s"], r["commits_per_s"],
                      r["gc_s"], r["rss_steady_mib"], r["rss_peak_mib"]] for r in results])
        if not args.no_plot:
            plot(out, "steady", [(f"{r['nodes']} nodes", [c[0] for c in r["curve"]], [c[1] for c in r["curve"]])
                                 for r in results], "seconds", "cpu % of one core", "steady state CPU")
    elif which == "process":
        r = await bench_process(args.runs, args.timeout)
        results.append(r)
        print_table("process: seed 002 log-collector on 3 process nodes (goal: " + GOALS["process"] + ")",
                    ["nodes", "runs", "median s", "max s"], [[r["nodes"], r["runs"], r["median_s"], r["max_s"]]])
    host["host_speed_ms_end"] = host_speed()
    print(f"host speed: {host['host_speed_ms_start']} ms before, {host['host_speed_ms_end']} ms after "
          "(CPU for a fixed piece of Python work; lower is faster)")
    shared = host["python_build"]["shared_libpython"]
    print(f"python: {host['python']} at {host['python_executable']} "
          f"({'a shared libpython' if shared else 'libpython linked in'}; the interpreter's build changes "
          "every figure: docs/benchmarks.md)")
    write_report(out, which, {"benchmark": which, "command": "everynode " + " ".join(sys.argv[1:]),
                              "machine": host, "results": results})
    return 0 if ok else 1
