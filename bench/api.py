"""API server benchmark: creates/s, gets/s, list latency, watch fan-out.

Starts its own cluster (`everynode up --detach --no-controllers --nodes 1`
in a temporary data dir) unless --kubeconfig points at a running one, then
measures over HTTPS with keep-alive connections:

  create   N pods (unbound, so nothing runs them) with C concurrent clients
  get      N gets of those pods
  list     full list of all pods (JSON), repeated, median and p90 latency
  watch    W watchers on pods; M updates; time until every watcher saw all

Prints a table and writes a JSON report (default bench/results/api.json).
Usage: python bench/api.py [--pods 10000] [--concurrency 64] [--watchers 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from everynode.client.rest import load_kubeconfig  # noqa: E402
from everynode.cluster import read_pid  # noqa: E402

NS = "bench"


def pod(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"bench-{i:06d}", "namespace": NS,
                         "labels": {"app": "bench", "shard": str(i % 10)}},
            "spec": {"schedulerName": "none",
                     "containers": [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


async def run_pool(n: int, concurrency: int, fn) -> float:
    it = iter(range(n))
    start = time.perf_counter()

    async def worker():
        for i in it:
            await fn(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


def cpu_seconds(pid: int | None) -> float:
    """User+system CPU time of a local process (the server), 0 when unknown."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def host_steal() -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs: time the hypervisor gave to other guests."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields)


async def bench(server: str, token: str, ca: str | None, args, pid: int | None = None) -> dict:
    import ssl

    ctx = ssl.create_default_context(cafile=ca) if server.startswith("https") else False
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
               "Accept": "application/json"}
    conn = aiohttp.TCPConnector(ssl=ctx, limit=args.concurrency + args.watchers + 10)
    results: dict = {}
    async with aiohttp.ClientSession(connector=conn, headers=headers) as s:
        async def req(method: str, path: str, body=None, expect=(200, 201)):
            h = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else None
            async with s.request(method, server + path, headers=h,
                                 data=orjson.dumps(body) if body is not None else None) as r:
                raw = await r.read()
                if r.status not in expect:
                    raise RuntimeError(f"{method} {path}: {r.status} {raw[:300]!r}")
                return raw

        await req("POST", "/api/v1/namespaces", {"metadata": {"name": NS}}, expect=(201, 409))
        base = f"/api/v1/namespaces/{NS}/pods"

        for name, fn in (("create", lambda i: req("POST", base, pod(i))),
                         ("get", lambda i: req("GET", f"{base}/bench-{i:06d}"))):
            cpu0, own0, steal0 = cpu_seconds(pid), time.process_time(), host_steal()
            secs = await run_pool(args.pods, args.concurrency, fn)
            steal1 = host_steal()
            results[name] = {"count": args.pods, "seconds": secs, "per_second": args.pods / secs,
                             "server_cpu_us_each": (cpu_seconds(pid) - cpu0) / args.pods * 1e6,
                             "client_cpu_us_each": (time.process_time() - own0) / args.pods * 1e6,
                             "host_steal_percent": 100 * (steal1[0] - steal0[0]) / max(1, steal1[1] - steal0[1])}

        lat = []
        for _ in range(args.list_repeats):
            t0 = time.perf_counter()
            raw = await req("GET", base)
            lat.append(time.perf_counter() - t0)
        n_items = len(orjson.loads(raw)["items"])
        lat.sort()
        results["list"] = {"items": n_items, "bytes": len(raw), "median_ms": statistics.median(lat) * 1000,
                           "p90_ms": lat[int(len(lat) * 0.9) - 1] * 1000, "repeats": len(lat)}

        # Watch fan-out: W watchers from the current revision, M label updates.
        rv = orjson.loads(await req("GET", base + "?limit=1"))["metadata"]["resourceVersion"]
        m = args.watch_updates
        done_at: list[float] = []

        async def watcher():
            got = 0
            url = f"{server}{base}?watch=true&resourceVersion={rv}&timeoutSeconds=120"
            async with s.get(url) as r:
                buf = b""
                async for chunk in r.content.iter_any():
                    buf += chunk
                    got += chunk.count(b"\n")
                    if got >= m:
                        done_at.append(time.perf_counter())
                        return

        tasks = [asyncio.create_task(watcher()) for _ in range(args.watchers)]
        await asyncio.sleep(0.5)
        t0 = time.perf_counter()
        await run_pool(m, args.concurrency, lambda i: req(
            "PATCH", f"{base}/bench-{i % args.pods:06d}", {"metadata": {"labels": {"round": str(i)}}}))
        writes_done = time.perf_counter() - t0
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        total = max(done_at) - t0
        results["watch"] = {"watchers": args.watchers, "events_per_watcher": m,
                            "writes_seconds": writes_done, "delivery_seconds": total,
                            "events_delivered_per_second": args.watchers * m / total}
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubeconfig", help="measure an already running cluster")
    ap.add_argument("--pods", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--watchers", type=int, default=50)
    ap.add_argument("--watch-updates", type=int, default=2000)
    ap.add_argument("--list-repeats", type=int, default=10)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "api.json"))
    args = ap.parse_args()
    tmp = None
    if args.kubeconfig:
        kubeconfig = args.kubeconfig
    else:
        tmp = tempfile.mkdtemp(prefix="everynode-bench-")
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        subprocess.run([sys.executable, "-m", "everynode.cli.main", "up", "--detach", "--data-dir", tmp,
                        "--port", str(port), "--nodes", "1", "--no-controllers"], check=True)
        kubeconfig = os.path.join(tmp, "kubeconfig")
    try:
        cfg = load_kubeconfig(kubeconfig)
        pid = read_pid(Path(kubeconfig).parent)
        results = asyncio.run(bench(cfg.server, cfg.token or "", cfg.ca_file, args, pid))
    finally:
        if tmp:
            subprocess.run([sys.executable, "-m", "everynode.cli.main", "down", "--data-dir", tmp], check=False)
    report = {"benchmark": "api", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "python": platform.python_version()},
              "params": vars(args), "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    r = results
    print(f"{'metric':<34}{'value':>14}  goal")
    print(f"{'creates/s':<34}{r['create']['per_second']:>14.0f}  >= 2000")
    if r["create"]["server_cpu_us_each"]:
        print(f"{'server CPU per create, us':<34}{r['create']['server_cpu_us_each']:>14.0f}")
    print(f"{'bench client CPU per create, us':<34}{r['create']['client_cpu_us_each']:>14.0f}")
    print(f"{'host steal during creates, %':<34}{r['create']['host_steal_percent']:>14.1f}")
    print(f"{'gets/s':<34}{r['get']['per_second']:>14.0f}")
    if r["get"]["server_cpu_us_each"]:
        print(f"{'server CPU per get, us':<34}{r['get']['server_cpu_us_each']:>14.0f}")
    print(f"{'list ' + str(r['list']['items']) + ' pods, median ms':<34}{r['list']['median_ms']:>14.1f}  < 300")
    print(f"{'list p90 ms':<34}{r['list']['p90_ms']:>14.1f}")
    print(f"{'watch events/s (' + str(args.watchers) + ' watchers)':<34}"
          f"{r['watch']['events_delivered_per_second']:>14.0f}")
    print(f"{'watch delivery s':<34}{r['watch']['delivery_seconds']:>14.2f}")
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
