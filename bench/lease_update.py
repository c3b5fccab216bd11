"""Lease renewal microbenchmark: main-thread CPU per PUT of a node Lease, in process.

Builds an API server on a temporary SQLite store (no cluster, no controllers), creates N
node leases as the node agent does (with an owner reference to the node), then renews each
of them R times the way ``NodeAgent.renew_lease`` does: a PUT of the last lease written with
a new spec.renewTime, through ``LocalClient`` (or straight to ``ApiServer.handle`` with
--path handle). Measures the thread CPU time of the main thread (the store's SQLite writer
thread is not counted), so other load on the machine inflates it less than wall time;
still, compare medians of several runs. The process's CPU time (both threads, and the
kernel's work for the commits) is reported beside it.

Prints a table and writes a JSON report (default bench/results/lease_update.json).
Usage: python bench/lease_update.py [--leases 300] [--concurrency C] [--rounds 20] [--repeat 5]
       [--path local|agent|handle] [--profile tottime|cumulative]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import orjson  # noqa: E402
import uvloop  # noqa: E402

from everynode.apiserver.app import ApiServer  # noqa: E402
from everynode.apiserver.objects import now_micro  # noqa: E402
from everynode.client.local import LocalClient  # noqa: E402
from everynode.client.rest import Config  # noqa: E402
from everynode.storage.sqlite import SqliteStore  # noqa: E402

NS = "kube-node-lease"


def lease(i: int) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": f"node-{i:05d}", "namespace": NS,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": f"node-{i:05d}",
                                              "uid": f"00000000-0000-0000-0000-{i:012d}"}]},
            "spec": {"holderIdentity": f"node-{i:05d}", "leaseDurationSeconds": 40, "renewTime": now_micro()}}


async def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as d:
        store = SqliteStore(Path(d) / "db")
        await store.start()
        server = ApiServer(store, "t")
        await server.bootstrap()
        client = LocalClient(Config(server="https://127.0.0.1:1", token="t"), server)
        latest = [await client.create("leases", lease(i), NS) for i in range(args.leases)]

        kept = [orjson.dumps(x) for x in latest]

        async def renew(i: int) -> None:
            if args.path == "agent":
                # NodeAgent.renew_lease: the last lease kept as JSON, the answer kept undecoded
                cur = orjson.loads(kept[i])
                cur["spec"] = {**cur["spec"], "holderIdentity": cur["metadata"]["name"],
                               "leaseDurationSeconds": 40, "renewTime": now_micro()}
                kept[i] = await client.replace("leases", cur, as_bytes=True)
                return
            cur = latest[i]
            cur["spec"] = {**cur["spec"], "holderIdentity": cur["metadata"]["name"],
                           "leaseDurationSeconds": 40, "renewTime": now_micro()}
            if args.path == "local":
                latest[i] = await client.replace("leases", cur)
            else:
                from everynode.client.local import LocalRequest

                meta = cur["metadata"]
                resp = await server.handle(LocalRequest(
                    "PUT", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/{meta['name']}", {},
                    {"Authorization": "Bearer t", "Accept": "application/json",
                     "Content-Type": "application/json"}, orjson.dumps(cur)))
                assert resp.status == 200, resp.body
                latest[i] = orjson.loads(resp.body)

        # At most ``concurrency`` renewals in flight: with many leases and a small concurrency
        # the working set grows (each lease and its store entry touched once per round) while
        # the commit batches and the objects in flight stay as with few leases.
        step = args.concurrency or args.leases

        async def block() -> tuple[float, float]:
            c, p = time.thread_time(), time.process_time()
            for _ in range(args.rounds):
                for start in range(0, args.leases, step):
                    await asyncio.gather(*(renew(i) for i in range(start, min(start + step, args.leases))))
            n = args.leases * args.rounds
            return (time.thread_time() - c) / n * 1e6, (time.process_time() - p) / n * 1e6

        await block()  # warm-up: caches, first writes
        prof = None
        if args.profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        blocks = [await block() for _ in range(args.repeat)]
        samples = [main for main, _ in blocks]
        process = [whole for _, whole in blocks]
        if prof is not None:
            import pstats

            prof.disable()
            pstats.Stats(prof).sort_stats(args.profile).print_stats(45)
        await store.close()
    return {"leases": args.leases, "concurrency": step, "rounds": args.rounds, "repeat": args.repeat,
            "path": args.path, "cpu_us_per_renewal": samples, "median_us": statistics.median(samples), "min_us": min(samples),
            "process_cpu_us_per_renewal": process, "process_median_us": statistics.median(process),
            "python": platform.python_version(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--leases", type=int, default=300, help="leases (nodes), each renewed once per round")
    p.add_argument("--concurrency", type=int, default=0,
                   help="renewals in flight at once (default: every lease of a round)")
    p.add_argument("--rounds", type=int, default=20, help="renewals of every lease per measured block")
    p.add_argument("--repeat", type=int, default=5, help="measured blocks (the median is reported)")
    p.add_argument("--path", choices=("local", "agent", "handle"), default="local",
                   help="LocalClient.replace of a decoded lease, the node agent's way (the last lease "
                        "kept as JSON bytes, the answer undecoded), or ApiServer.handle directly")
    p.add_argument("--profile", choices=("tottime", "cumulative"), help="print a cProfile of the blocks")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "lease_update.json"))
    args = p.parse_args()
    for name in ("leases", "rounds", "repeat"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.concurrency < 0:
        p.error("--concurrency must be at least 1 (0: every lease of a round)")
    report = uvloop.run(run(args))
    print(f"{'path':<8} {'leases':>7} {'in flight':>9} {'renewals':>9} {'median us':>10} {'min us':>8} "
          f"{'process us':>10}  blocks")
    print(f"{report['path']:<8} {report['leases']:>7} {report['concurrency']:>9} "
          f"{report['leases'] * report['rounds']:>9} {report['median_us']:>10.1f} {report['min_us']:>8.1f} "
          f"{report['process_median_us']:>10.1f}  " + " ".join(f"{s:.0f}" for s in report["cpu_us_per_renewal"]))
    if not args.profile:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
