"""Shared fixtures: a real cluster started with `everynode up --detach`,
driven by the real kubectl and the official kubernetes client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Clusters started by the tests check at shutdown that no in-process reader modified the
# store's shared objects (RunningCluster.down fails the test if one did).
os.environ.setdefault("EVERYNODE_VERIFY_CACHE", "1")
# ... and that every incremental DaemonSet sync decided what a full sync decides.
os.environ.setdefault("EVERYNODE_VERIFY_DS_VIEW", "1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def everynode(*args: str, check: bool = True, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "everynode.cli.main", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


class RunningCluster:
    def __init__(self, data_dir: Path, port: int):
        self.data_dir = data_dir
        self.port = port
        self.kubeconfig = data_dir / "kubeconfig"

    def up(self, *extra: str) -> subprocess.CompletedProcess:
        return everynode("up", "--detach", "--data-dir", str(self.data_dir), "--port", str(self.port), *extra)

    def down(self) -> subprocess.CompletedProcess:
        proc = everynode("down", "--data-dir", str(self.data_dir))
        violations = self.data_dir / "cache-violations.txt"
        if violations.exists():
            raise AssertionError(f"stored objects were modified in memory: {violations.read_text()[:2000]}")
        mismatches = self.data_dir / "ds-view-mismatches.txt"
        if mismatches.exists():
            raise AssertionError(f"incremental DaemonSet plans differed: {mismatches.read_text()[:4000]}")
        return proc

    def kubectl(self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60,
                env: dict | None = None) -> subprocess.CompletedProcess:
        from everynode.cli.main import kubectl_binary

        proc = subprocess.run([kubectl_binary(), *args], capture_output=True, text=True, input=input,
                              timeout=timeout,
                              env={**os.environ, "KUBECONFIG": str(self.kubeconfig), **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def kubectl_json(self, *args: str) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def api_client(self):
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=cfg)
        return client.ApiClient(cfg)

    def pid(self) -> int | None:
        from everynode.cluster import read_pid

        return read_pid(self.data_dir)


def wait_for(predicate, timeout: float = 30, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:  # keep polling through transient errors
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message} (last: {last!r})")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> RunningCluster:
    """The shared test cluster. With EVERYNODE_TEST_CONTROLLERS=external the
    cluster runs without its built-in controllers and a standalone
    `everynode controller-manager` process drives it instead."""
    data_dir = tmp_path_factory.mktemp("cluster")
    c = RunningCluster(data_dir, free_port())
    external = os.environ.get("EVERYNODE_TEST_CONTROLLERS") == "external"
    cm = None
    if external:
        c.up("--no-controllers")
        log = open(data_dir / "controller-manager.log", "wb")
        cm = subprocess.Popen([sys.executable, "-m", "everynode.cli.main", "controller-manager",
                               "--kubeconfig", str(c.kubeconfig)], stdout=log, stderr=subprocess.STDOUT)
    else:
        c.up()
    yield c
    if cm is not None:
        cm.terminate()
        try:
            cm.wait(20)
        except subprocess.TimeoutExpired:
            cm.kill()
    c.down()
    log = data_dir / "everynode.log"
    if log.exists():
        errors = [line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line]
        if errors:
            print(f"cluster log has {len(errors)} tracebacks: {log}")


@pytest.fixture
def namespace(cluster, request) -> str:
    import hashlib
    import re

    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:6]
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower().replace("_", "-"))[:40].strip("-")
    name = f"t-{base}-{digest}"
    cluster.kubectl("create", "-f", "-", input=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
    yield name
    # Wait for the namespace to be gone so one test's leftovers never meet the next test.
    done = cluster.kubectl("delete", "namespace", name, "--timeout=90s", check=False, timeout=120)
    if done.returncode != 0:
        print(f"namespace {name} was not deleted in time: {done.stderr.strip()}")
