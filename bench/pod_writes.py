"""Daemon pod write path microbenchmark: main-thread CPU of the 8 API writes each daemon pod causes.

Builds an API server on a temporary SQLite store configured as the cluster's (events kept as
bytes, shared pod subtrees; no cluster, no controllers, no watchers),
creates the benchmark DaemonSet (``everynode.cli.bench.daemonset``), then replays, for N pods
at a time, the writes a daemon pod causes in a cluster, in the cluster's order, through
``LocalClient`` as the embedded components send them:

1. ``create``     the DaemonSet controller creates the pod (``new_pod``, as ``_create_one``);
2. ``ev-create``  its SuccessfulCreate Event (``EventRecorder``, ``result=False``; in a burst the
   correlator lets 25 through per DaemonSet, the bench writes one per pod);
3. ``bind``       the scheduler's POST pods/<name>/binding (the body ``Scheduler._bind`` sends);
4. ``ev-sched``   the Scheduled Event;
5-7. ``ev-pulled``, ``ev-created``, ``ev-started``: the node agent's container Events (``PodEvents``);
8. ``status``     the node agent's PUT pods/<name>/status (``PodWorker._write_status``, built
   by ``PodWorker.build_status`` with the container running and ready).

Bodies come from the real builders: the recorders and the pod worker write to a capturing
client first (not measured), then the captured request is replayed through ``LocalClient``
(measured). The N requests of one kind run concurrently (``asyncio.gather``), as the
cluster's create burst does, so they share store commits. Measures the thread CPU time of the
main thread (the store's SQLite writer thread is not counted) per pod and per write kind,
with the cluster's garbage-collector policy (``gcpolicy``); reports the median of several blocks (noisy machine: compare medians of several runs).

Prints a table and writes a JSON report (default bench/results/pod_writes.json).
Usage: python bench/pod_writes.py [--pods 200] [--repeat 7] [--profile tottime|cumulative [--kind KIND]]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import uvloop  # noqa: E402

from everynode import gcpolicy  # noqa: E402
from everynode.apiserver.app import ApiServer  # noqa: E402
from everynode.cli.bench import NS, daemonset  # noqa: E402
from everynode.client.local import LocalClient  # noqa: E402
from everynode.client.record import ConcurrentEventRecorder, EventRecorder  # noqa: E402
from everynode.client.rest import Config  # noqa: E402
from everynode.cluster import SHARED_SUBTREES  # noqa: E402
from everynode.controllers.daemonset import compute_hash, new_pod  # noqa: E402
from everynode.controllers.daemonset.controller import DaemonSetController  # noqa: E402
from everynode.controllers.scheduler.scheduler import Scheduler  # noqa: E402
from everynode.node.events import PodEvents  # noqa: E402
from everynode.node.podstatus import ContainerRun  # noqa: E402
from everynode.node.runtime.simulated import SimulatedRuntime  # noqa: E402
from everynode.node.worker import PodWorker  # noqa: E402
from everynode.storage.sqlite import SqliteStore  # noqa: E402

KINDS = ("create", "ev-create", "bind", "ev-sched", "ev-pulled", "ev-created", "ev-started", "status")


class Capture:
    """A client that records the one write a builder sends instead of sending it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any, Any]] = []

    async def create(self, plural: str, obj: dict, namespace: str | None = None, result: bool = True) -> Any:
        self.sent.append(("create", plural, obj, namespace))
        return None if not result else obj

    async def replace(self, plural: str, obj: dict, subresource: str | None = None) -> dict:
        self.sent.append(("replace", plural, obj, subresource))
        return {**obj, "metadata": dict(obj["metadata"])}

    def take(self) -> tuple[str, str, Any, Any]:
        assert len(self.sent) == 1, self.sent
        return self.sent.pop()


async def captured_event(recorder: EventRecorder, obj: dict, type_: str, reason: str, message: str,
                         container: str | None = None) -> dict:
    """The Event body a new ``recorder`` (EventRecorder, PodEvents) creates for its first event
    (a recorder per event: the correlator never counts, aggregates or drops it)."""
    if isinstance(recorder, PodEvents):
        recorder.emit(obj, type_, reason, message, container)
    else:
        recorder.event(obj, type_, reason, message)
    await recorder.flush()
    _, plural, ev, _ = recorder.client.take()
    assert plural == "events"
    return ev


def running_worker(pod: dict, node: str, address: str, runtime: SimulatedRuntime) -> PodWorker:
    """A pod worker whose containers were started by the simulated runtime and are ready, as
    after ``_sync_containers`` (no probes): what its first status write reports."""
    agent = types.SimpleNamespace(config=types.SimpleNamespace(address=address, name=node),
                                  client=Capture())
    w = PodWorker(agent, pod)  # type: ignore[arg-type]
    w.volumes = {}
    for c in (pod.get("spec") or {}).get("containers") or []:
        image = runtime.resolve_image(c["image"], bool(c.get("command")))
        cs = w.containers[c["name"]]
        cs.current = ContainerRun(id=f"simulated://{uuid.uuid4().hex}", name=c["name"], attempt=0,
                                  image=image.ref, image_id=image.image_id, started_at=time.time())
        cs.image = c["image"]
        cs.started = cs.ready = True
    return w


async def run(args: argparse.Namespace) -> dict:
    gcpolicy.install()  # the collector's policy of a cluster process (young collections every 50,000)
    with tempfile.TemporaryDirectory() as d:
        # The store as the cluster configures it: events kept as bytes, pods' repeated subtrees shared.
        store = SqliteStore(Path(d) / "db", bytes_only=("events",), shared=SHARED_SUBTREES)
        await store.start()
        server = ApiServer(store, "t")
        await server.bootstrap()
        client = LocalClient(Config(server="https://127.0.0.1:1", token="t"), server)
        ds = await client.create("daemonsets", daemonset("bench-ds"), NS)
        tmpl_hash = compute_hash(ds["spec"]["template"], ds.get("status", {}).get("collisionCount"))
        generation = ds["metadata"].get("generation")
        runtime = SimulatedRuntime(None, "node", "0")  # type: ignore[arg-type]
        counter = [0]

        async def block(times: dict[str, list[float]]) -> float:
            nodes = [f"node-{counter[0] + i:05d}" for i in range(args.pods)]
            counter[0] += args.pods
            spent: dict[str, float] = {}

            async def phase(name: str, calls: list) -> list:
                profiled = prof is not None and args.kind in (None, name)
                if profiled:
                    prof.enable()
                c = time.thread_time()
                out = await asyncio.gather(*calls)
                spent[name] = time.thread_time() - c
                if profiled:
                    prof.disable()
                return out

            # 1. the DaemonSet controller creates the pods
            pods = await phase("create", [client.create("pods", new_pod(ds, n, tmpl_hash, generation), NS)
                                          for n in nodes])
            # 2. SuccessfulCreate
            evs = [await captured_event(EventRecorder(Capture(), DaemonSetController.name), ds, "Normal", "SuccessfulCreate",
                                        f"Created pod: {p['metadata']['name']}") for p in pods]
            await phase("ev-create", [client.create("events", ev, NS, result=False) for ev in evs])
            # 3. the scheduler binds (the body of Scheduler._bind)
            bodies = [{"apiVersion": "v1", "kind": "Binding",
                       "metadata": {"name": p["metadata"]["name"], "namespace": p["metadata"]["namespace"],
                                    "uid": p["metadata"].get("uid")},
                       "target": {"apiVersion": "v1", "kind": "Node", "name": n}}
                      for p, n in zip(pods, nodes, strict=True)]
            await phase("bind", [client.post_subresource("pods", b["metadata"]["name"], NS, "binding", b)
                                 for b in bodies])
            # 4. Scheduled
            evs = [await captured_event(ConcurrentEventRecorder(Capture(), Scheduler.name), {**p, "kind": "Pod", "apiVersion": "v1"}, "Normal",
                                        "Scheduled", f"Successfully assigned {NS}/{p['metadata']['name']} to {n}")
                   for p, n in zip(pods, nodes, strict=True)]
            await phase("ev-sched", [client.create("events", ev, NS, result=False) for ev in evs])
            # the node agents see their bound pods (the watch: not measured)
            bound = [await client.get("pods", p["metadata"]["name"], NS) for p in pods]
            # 5-7. the container events of each node's agent
            for reason, message in (("Pulled", 'Container image "{}" already present on machine'),
                                    ("Created", "Created container: {}"), ("Started", "Started container {}")):
                evs = []
                for p, n in zip(bound, nodes, strict=True):
                    c = p["spec"]["containers"][0]
                    arg = c["image"] if reason == "Pulled" else c["name"]
                    evs.append(await captured_event(PodEvents(Capture(), n), p, "Normal", reason,
                                                    message.format(arg), c["name"]))
                await phase(f"ev-{reason.lower()}", [client.create("events", ev, NS, result=False) for ev in evs])
            # 8. the agent's status write (PodWorker._write_status's body)
            statuses = []
            for i, (p, n) in enumerate(zip(bound, nodes, strict=True)):
                k = counter[0] - args.pods + i  # each node has an address of its own (cluster.node_address)
                w = running_worker(p, n, f"127.{k >> 16 & 255}.{k >> 8 & 255}.{k & 255 or 1}", runtime)
                await w._write_status()
                _, _, body, sub = w.agent.client.take()
                assert sub == "status"
                statuses.append(body)
            done = await phase("status", [client.replace("pods", body, "status") for body in statuses])
            assert all(s["status"]["phase"] == "Running" for s in done)
            for k, v in spent.items():
                times[k].append(v / args.pods * 1e6)
            return sum(spent.values()) / args.pods * 1e6

        prof = None
        await block({k: [] for k in KINDS})  # warm-up: caches, first writes
        if args.profile:
            import cProfile

            prof = cProfile.Profile()
        per_kind: dict[str, list[float]] = {k: [] for k in KINDS}
        samples = [await block(per_kind) for _ in range(args.repeat)]
        if prof is not None:
            import pstats

            pstats.Stats(prof).sort_stats(args.profile).print_stats(args.lines)
        await store.close()
    return {"pods": args.pods, "repeat": args.repeat,
            "cpu_us_per_pod": samples, "median_us": statistics.median(samples), "min_us": min(samples),
            "per_kind_median_us": {k: statistics.median(v) for k, v in per_kind.items()},
            "per_kind_us": per_kind,
            "python": platform.python_version(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--pods", type=int, default=200, help="pods whose writes are replayed per measured block")
    p.add_argument("--repeat", type=int, default=7, help="measured blocks (the median is reported)")
    p.add_argument("--profile", choices=("tottime", "cumulative"), help="print a cProfile of the blocks")
    p.add_argument("--kind", choices=KINDS, help="profile the writes of this kind only")
    p.add_argument("--lines", type=int, default=45, help="profile lines printed")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "pod_writes.json"))
    args = p.parse_args()
    report = uvloop.run(run(args))
    print(f"{'write':<11} {'median us':>10} {'min us':>8}  blocks")
    for k in KINDS:
        v = report["per_kind_us"][k]
        print(f"{k:<11} {statistics.median(v):>10.1f} {min(v):>8.1f}  " + " ".join(f"{s:.0f}" for s in v))
    print(f"{'per pod':<11} {report['median_us']:>10.1f} {report['min_us']:>8.1f}  "
          + " ".join(f"{s:.0f}" for s in report["cpu_us_per_pod"]))
    if not args.profile:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
