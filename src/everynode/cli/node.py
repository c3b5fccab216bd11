"""``everynode node ...``: add, remove, stop and start nodes of a running cluster; join one from anywhere.

``add``/``remove``/``stop``/``start``/``list`` talk to the running
``everynode up`` through its control channel (``<data-dir>/control.json``,
authenticated with the cluster token). ``join`` runs a standalone node
agent in the foreground against any API server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

from everynode.cluster import default_data_dir, read_pid


def _fail(msg: str, code: int = 1) -> int:
    print(f"everynode: {msg}", file=sys.stderr)
    return code


def parse_labels(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"invalid label {item!r}: expected key=value")
        out[key] = value
    return out


def add_parser(sub, data_dir_arg) -> None:
    node = sub.add_parser("node", help="add, remove, stop, start or join nodes")
    nsub = node.add_subparsers(dest="node_command", required=True)

    def shape(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--label", action="append", default=[], help="node label key=value (repeatable)")
        sp.add_argument("--taint", action="append", default=[], help="node taint key[=value]:Effect (repeatable)")
        sp.add_argument("--cpu", help="cpu capacity (default: the host's)")
        sp.add_argument("--memory", help="memory capacity (default: the host's)")
        sp.add_argument("--pods", type=int, help="pod capacity (default 110)")
        sp.add_argument("--runtime", choices=["process", "simulated"], help="how this node runs pods")

    add = nsub.add_parser("add", help="add a node to the running cluster (returns once it is Ready)")
    data_dir_arg(add)
    add.add_argument("name")
    shape(add)
    for verb, text in (("remove", "cordon, evict non-daemon pods, stop the agent and delete the Node"),
                       ("stop", "stop the node's agent: no heartbeats, its containers die (a crashed host)"),
                       ("start", "start a stopped node's agent again")):
        sp = nsub.add_parser(verb, help=text)
        data_dir_arg(sp)
        sp.add_argument("name")
    ls = nsub.add_parser("list", help="nodes run by the cluster process")
    data_dir_arg(ls)

    join = nsub.add_parser("join", help="run a node agent here, against a cluster's API server")
    join.add_argument("--server", required=True, help="API server URL, e.g. https://10.0.0.1:6443")
    join.add_argument("--token", required=True, help="bearer token (the cluster's pki/admin.token)")
    join.add_argument("--name", required=True, help="node name")
    join.add_argument("--ca-file", help="CA certificate of the API server (the cluster's pki/ca.crt)")
    join.add_argument("--insecure-skip-tls-verify", action="store_true", help="do not verify the API server")
    join.add_argument("--data-dir", help="where the node keeps its state (default ./.everynode-node)")
    join.add_argument("--address", help="this node's address for the API server and pods (default: detected)")
    join.add_argument("--kubelet-port", type=int, default=10250, help="port for logs and stats (default 10250)")
    join.add_argument("--host-root", help="directory hostPath volumes map to (default <data-dir>/root; '/' for "
                                          "the real host)")
    join.add_argument("--host-metrics", action=argparse.BooleanOptionalAction, default=True,
                      help="report the whole host's usage as the node's (default on)")
    join.add_argument("--sim-startup", default="1", help="simulated runtime: startup delay s, a-b or exp:m")
    join.add_argument("--sim-failure-rate", type=float, default=0.0, help="simulated runtime: crash chance")
    shape(join)


def _control(data_dir: Path) -> tuple[str, str] | None:
    from everynode.node.control import control_url

    url = control_url(data_dir)
    try:
        token = (data_dir / "pki" / "admin.token").read_text().strip()
    except OSError:
        return None
    if url is None:
        return None
    return url, token


def _call(data_dir: Path, method: str, path: str, body: dict | None = None, timeout: float = 300) -> tuple[int, dict]:
    ctl = _control(data_dir)
    if ctl is None or read_pid(data_dir) is None:
        raise ConnectionError(f"no everynode cluster is running from {data_dir}; start one with 'everynode up'")
    url, token = ctl
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {"error": str(exc)}
    except OSError as exc:
        raise ConnectionError(f"cannot reach the cluster's control channel at {url}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    if args.node_command == "join":
        return cmd_join(args)
    data_dir = Path(args.data_dir).resolve() if args.data_dir else default_data_dir()
    try:
        if args.node_command == "add":
            try:
                labels = parse_labels(args.label)
            except ValueError as exc:
                return _fail(str(exc))
            body = {"name": args.name, "labels": labels, "taints": args.taint, "cpu": args.cpu,
                    "memory": args.memory, "pods": args.pods, "runtime": args.runtime}
            status, out = _call(data_dir, "POST", "/nodes", {k: v for k, v in body.items() if v is not None})
            if status >= 300:
                return _fail(out.get("error", f"HTTP {status}"))
            print(f"node/{args.name} added ({out.get('address')}) and Ready")
            return 0
        if args.node_command == "list":
            status, out = _call(data_dir, "GET", "/nodes")
            if status >= 300:
                return _fail(out.get("error", f"HTTP {status}"))
            print(f"{'NAME':<32}{'RUNTIME':<12}{'ADDRESS':<18}STATE")
            for n in out.get("nodes") or []:
                print(f"{n['name']:<32}{n['runtime']:<12}{n['address']:<18}{'stopped' if n['stopped'] else 'running'}")
            return 0
        name = args.name
        if args.node_command == "remove":
            status, out = _call(data_dir, "DELETE", f"/nodes/{name}")
            if status >= 300:
                return _fail(out.get("error", f"HTTP {status}"))
            for pod in out.get("evicted") or []:
                print(f"evicted pod/{pod}")
            print(f"node/{name} removed")
            return 0
        status, out = _call(data_dir, "POST", f"/nodes/{name}/{args.node_command}")
        if status >= 300:
            return _fail(out.get("error", f"HTTP {status}"))
        print(f"node/{name} {'stopped' if args.node_command == 'stop' else 'started'}")
        return 0
    except ConnectionError as exc:
        return _fail(str(exc))


# ------------------------------------------------------------------------- join


def detect_address(server: str) -> str:
    """The local address used to reach the API server (what the kubelet picks as node IP)."""
    import socket
    from urllib.parse import urlparse

    u = urlparse(server)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((u.hostname or "127.0.0.1", u.port or 443))
            return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def cmd_join(args: argparse.Namespace) -> int:
    from everynode.client.rest import Client, Config
    from everynode.node.agent import NodeConfig, host_capacity, parse_taint
    from everynode.node.control import node_spec_errors

    spec = {"name": args.name, "taints": args.taint, "cpu": args.cpu, "memory": args.memory, "pods": args.pods,
            "runtime": args.runtime}
    errs = node_spec_errors(spec)
    try:
        labels = parse_labels(args.label)
    except ValueError as exc:
        errs.append(str(exc))
    if not args.ca_file and not args.insecure_skip_tls_verify and args.server.startswith("https"):
        errs.append("give --ca-file (the cluster's pki/ca.crt) or --insecure-skip-tls-verify")
    if errs:
        return _fail("; ".join(errs))
    data_dir = Path(args.data_dir or ".everynode-node").resolve()
    capacity = host_capacity()
    for key in ("cpu", "memory"):
        if getattr(args, key):
            capacity[key] = getattr(args, key)
    if args.pods:
        capacity["pods"] = str(args.pods)
    cfg = NodeConfig(name=args.name, labels=labels, taints=[parse_taint(t) for t in args.taint], capacity=capacity,
                     runtime=args.runtime or "process", address=args.address or detect_address(args.server),
                     node_dir=data_dir / "nodes" / args.name,
                     host_root=Path(args.host_root).resolve() if args.host_root else None,
                     cluster_id=args.name, kubelet_port=args.kubelet_port, host_metrics=args.host_metrics,
                     sim_startup=args.sim_startup, sim_failure_rate=args.sim_failure_rate)
    client = Client(Config(server=args.server.rstrip("/"), token=args.token, ca_file=args.ca_file,
                           insecure=args.insecure_skip_tls_verify))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_join(client, cfg, args.token))
    except OSError as exc:
        return _fail(f"cannot run the node agent: {exc}")
    return 0


async def _join(client, cfg, token: str) -> None:
    from everynode.node.agent import NodeAgent
    from everynode.node.kubelet_server import KubeletServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    cfg.node_dir.mkdir(parents=True, exist_ok=True)
    (cfg.node_dir / "agent.pid").write_text(f"{os.getpid()}\n")
    agent = NodeAgent(client, cfg)
    server = KubeletServer(agent, token)
    await server.start()
    try:
        await agent.start()
        print(f"node {cfg.name} joined {client.config.server} (address {cfg.address}, kubelet port "
              f"{cfg.kubelet_port}, {cfg.runtime} runtime); Ctrl-C stops it", flush=True)
        await stop.wait()
    finally:
        await agent.stop()
        await server.stop()
        await client.close()
