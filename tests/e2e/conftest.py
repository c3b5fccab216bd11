"""Seed walkthroughs: each test module walks one seed document as a new user would.

Every module gets its own cluster (`everynode up --detach --nodes 3 --runtime
process`, about 2 s to start), so the seeds' manifests and commands run
exactly as written: in the `default` namespace, or in `kube-system` where a
manifest says so, with no namespace override.

`Seed` holds a seed's extracted data (tests/e2e/data/<id>/, written by
tools/extract_seeds.py) and runs its commands through bash, in a work
directory holding the manifests under the file names the document uses,
with KUBECONFIG set and the real kubectl first on PATH. It records which
command lines ran, so each module can check that it covered them all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import RunningCluster, everynode, free_port, wait_for

DATA = Path(__file__).resolve().parent / "data"
WORKERS = ["everynode-worker", "everynode-worker2"]
CONTROL_PLANE = "everynode-control-plane"
ALL_NODES = [CONTROL_PLANE, *WORKERS]
PLACEHOLDER = re.compile(r"<([a-z][a-z-]*)>")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: seed walkthrough, starts its own cluster")


# ------------------------------------------------------------------ seed data


def load_commands(seed_id: str) -> dict[int, tuple[str, str]]:
    """Source line -> (where, command) from commands.txt."""
    out: dict[int, tuple[str, str]] = {}
    for line in (DATA / seed_id / "commands.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        num, where, text = line.split("\t", 2)
        out[int(num)] = (where, text)
    return out


def load_manifests(seed_id: str) -> dict[str, tuple[int, str]]:
    """File name -> (source line, manifest|fragment) from manifests.txt."""
    out: dict[str, tuple[int, str]] = {}
    for line in (DATA / seed_id / "manifests.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, num, kind = line.split("\t")
        out[name] = (int(num), kind)
    return out


def fill(command: str, values: dict[str, str]) -> str:
    """Replace the <placeholders> of a seed command; every placeholder must be given."""
    def sub(m: re.Match) -> str:
        key = m.group(1)
        if key not in values:
            raise KeyError(f"no value for <{key}> in {command!r}")
        return values[key]
    return PLACEHOLDER.sub(sub, command)


# --------------------------------------------------------------------- seed


@dataclass
class Seed:
    seed_id: str
    cluster: RunningCluster
    workdir: Path
    commands: dict[int, tuple[str, str]] = field(default_factory=dict)
    manifests: dict[str, tuple[int, str]] = field(default_factory=dict)
    ran: set[int] = field(default_factory=set)

    def manifest_path(self, stem: str) -> Path:
        """The extracted file whose name (without NN-) is stem, e.g. 'log-collector-daemonset'."""
        for name in self.manifests:
            if name.split("-", 1)[1] == f"{stem}.yaml":
                return DATA / self.seed_id / name
        raise KeyError(f"seed {self.seed_id} has no manifest {stem}")

    def text(self, stem: str) -> str:
        return self.manifest_path(stem).read_text()

    def save_as(self, stem: str, filename: str) -> Path:
        """Copy a manifest into the work directory under the name a command uses."""
        target = self.workdir / filename
        shutil.copyfile(self.manifest_path(stem), target)
        return target

    def command(self, line: int, **values: str) -> str:
        where, text = self.commands[line]
        assert where != "inline-flag", f"line {line} is a flag, not a command"
        return fill(text, {k.replace("_", "-"): v for k, v in values.items()})

    def env(self) -> dict[str, str]:
        from everynode.cli.main import kubectl_binary

        bindir = str(Path(kubectl_binary()).parent)
        return {**os.environ, "KUBECONFIG": str(self.cluster.kubeconfig),
                "PATH": f"{bindir}:{os.environ.get('PATH', '')}"}

    def sh(self, script: str, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run a shell line as a user would (bash, in the work directory)."""
        return subprocess.run(["bash", "-c", script], cwd=self.workdir, capture_output=True, text=True,
                              timeout=timeout, env={**self.env(), **(env or {})})

    def run(self, line: int, *, ok: bool = True, timeout: float = 60, env: dict[str, str] | None = None,
            **values: str) -> subprocess.CompletedProcess:
        """Run the seed's command at `line` with its placeholders filled; ok=True asserts exit 0."""
        cmd = self.command(line, **values)
        proc = self.sh(cmd, timeout=timeout, env=env)
        self.ran.add(line)
        if ok and proc.returncode != 0:
            raise AssertionError(f"seed {self.seed_id} line {line}: {cmd}\nexit {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def run_until(self, line: int, pattern: str, timeout: float = 30, during=None, **values: str) -> str:
        """Start a command that does not end by itself (--watch, rollout status of a stuck update),
        read its output until `pattern` (a regex) shows, then stop it as Ctrl-C would.
        `during(output_so_far)` is called after each read; it may act on the cluster."""
        import select
        import signal

        cmd = self.command(line, **values)
        proc = subprocess.Popen(["bash", "-c", cmd], cwd=self.workdir, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=self.env(), start_new_session=True)
        self.ran.add(line)
        fd = proc.stdout.fileno()
        os.set_blocking(fd, False)
        out = b""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if ready:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    out += chunk
                    text = out.decode(errors="replace")
                    if re.search(pattern, text):
                        return text
                    if during is not None:
                        during(text)
            raise AssertionError(f"seed {self.seed_id} line {line}: {cmd}\nno {pattern!r} within {timeout}s; "
                                 f"output:\n{out.decode(errors='replace')}")
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            proc.stdout.close()

    def covered(self, line: int) -> None:
        """Mark an inline flag (or a command exercised by hand) as covered."""
        assert line in self.commands
        self.ran.add(line)

    def kubectl(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.cluster.kubectl(*args, **kw)

    def json(self, *args: str) -> dict:
        return self.cluster.kubectl_json(*args)


@pytest.fixture(scope="module")
def seed_cluster(tmp_path_factory, request) -> RunningCluster:
    seed_id = getattr(request.module, "SEED_ID", "x")
    data_dir = tmp_path_factory.mktemp(f"seed{seed_id}-cluster")
    c = RunningCluster(data_dir, free_port())
    c.up("--nodes", "3", "--runtime", "process")
    yield c
    everynode("down", "--data-dir", str(data_dir), check=False)
    log = data_dir / "everynode.log"
    if log.exists() and "Traceback" in log.read_text(errors="replace"):
        print(f"cluster log of seed {seed_id} has tracebacks: {log}")


@pytest.fixture(scope="module")
def seed(seed_cluster, tmp_path_factory, request) -> Seed:
    seed_id = request.module.SEED_ID
    s = Seed(seed_id, seed_cluster, tmp_path_factory.mktemp(f"seed{seed_id}-work"),
             load_commands(seed_id), load_manifests(seed_id))
    yield s


# ------------------------------------------------------------- observations


def is_ready(pod: dict) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def live(items: list[dict]) -> list[dict]:
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def pods(cluster: RunningCluster, selector: str, ns: str = "default") -> list[dict]:
    return cluster.kubectl_json("get", "pods", "-n", ns, "-l", selector)["items"]


def node_of(pod: dict) -> str:
    """The pod's node: spec.nodeName, else the node a DaemonSet pod is pinned to by its affinity."""
    if pod["spec"].get("nodeName"):
        return pod["spec"]["nodeName"]
    terms = (((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and len(f.get("values") or []) == 1:
                return f["values"][0]
    return ""


def wait_pods_on(cluster: RunningCluster, selector: str, nodes: list[str], ns: str = "default",
                 ready: bool = True, timeout: float = 60) -> list[dict]:
    """Wait until the live pods of selector sit on exactly `nodes` (one each), all Ready when ready=True."""
    def check():
        items = live(pods(cluster, selector, ns))
        if sorted(node_of(p) for p in items) != sorted(nodes):
            return None
        if ready and not all(is_ready(p) for p in items):
            return None
        return items
    return wait_for(check, timeout, interval=0.2,
                    message=f"pods {selector} in {ns} on {nodes}{' and Ready' if ready else ''}")


def stays(predicate, seconds: float, interval: float = 0.2, message: str = "condition") -> None:
    """Assert that predicate holds throughout `seconds` (for things that must not happen)."""
    deadline = time.monotonic() + seconds
    while True:
        assert predicate(), f"{message} stopped holding"
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)


def wait_gone(cluster: RunningCluster, selector: str, ns: str = "default", timeout: float = 60) -> None:
    wait_for(lambda: pods(cluster, selector, ns) == [], timeout, interval=0.2,
             message=f"no pods {selector} in {ns}")


def wait_rolled_out(cluster: RunningCluster, name: str, ns: str = "default", timeout: float = 90) -> dict:
    def check():
        ds = cluster.kubectl_json("get", "ds", name, "-n", ns)
        st = ds.get("status") or {}
        desired = st.get("desiredNumberScheduled", -1)
        # updatedNumberScheduled and numberAvailable are omitted when 0, as upstream's omitempty does.
        ok = (st.get("observedGeneration") == ds["metadata"]["generation"] and desired >= 0
              and st.get("currentNumberScheduled") == desired
              and st.get("updatedNumberScheduled", 0) == desired and st.get("numberAvailable", 0) == desired)
        return ds if ok else None
    return wait_for(check, timeout, interval=0.2, message=f"daemonset {ns}/{name} rolled out")


def waiting_reason(pod: dict) -> tuple[str, str]:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting:
            return waiting.get("reason", ""), waiting.get("message", "")
    return "", ""


class PodRecorder:
    """Records every change of the pods matching a selector (one watch, in a thread).

    `timeline()` replays the events into per-node states, so a rollout can be
    checked node by node: how many nodes lacked a Ready pod at any moment, and
    in which order new pods were created and became Ready.
    """

    def __init__(self, cluster: RunningCluster, selector: str, ns: str = "default"):
        self.cluster, self.selector, self.ns = cluster, selector, ns
        self.events: list[tuple[float, str, dict]] = []
        self.listed = 0  # the first `listed` events replay the initial list
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from kubernetes import client, watch

        api = client.CoreV1Api(self.cluster.api_client())
        listing = api.list_namespaced_pod(self.ns, label_selector=self.selector, _preload_content=False)
        body = json.loads(listing.data)
        rv = body["metadata"]["resourceVersion"]
        now = time.monotonic()
        for item in body["items"]:
            self.events.append((now, "ADDED", item))
        self.listed = len(body["items"])
        self._started.set()
        while not self._stop.is_set():
            w = watch.Watch()
            try:
                for ev in w.stream(api.list_namespaced_pod, self.ns, label_selector=self.selector,
                                   resource_version=rv, timeout_seconds=2, _preload_content=False):
                    raw = ev["raw_object"]
                    rv = raw["metadata"]["resourceVersion"]
                    self.events.append((time.monotonic(), ev["type"], raw))
                    if self._stop.is_set():
                        break
            except Exception:  # transient; resume from the last resourceVersion
                time.sleep(0.05)

    def __enter__(self) -> PodRecorder:
        self._thread.start()
        assert self._started.wait(10), "pod watch did not start"
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def report(self) -> str:
        """The recorded events, one line each, for assertion messages."""
        t0 = self.events[0][0] if self.events else 0.0
        lines = []
        for t, kind, p in self.events:
            m = p["metadata"]
            lines.append(f"{t - t0:7.3f} {kind:8} {m['name']:32} {node_of(p):24} "
                         f"hash={(m.get('labels') or {}).get('controller-revision-hash')} ready={is_ready(p)} "
                         f"deleting={bool(m.get('deletionTimestamp'))} phase={(p.get('status') or {}).get('phase')}")
        return "\n".join(lines)

    def timeline(self) -> list[dict[str, list[dict]]]:
        """After the initial list and after each later event: node -> the live (not deleting) pods on it."""
        current: dict[str, dict] = {}
        out = []
        for i, (_, kind, pod) in enumerate(self.events):
            uid = pod["metadata"]["uid"]
            if kind == "DELETED":
                current.pop(uid, None)
            else:
                current[uid] = pod
            by_node: dict[str, list[dict]] = {}
            for p in current.values():
                if not p["metadata"].get("deletionTimestamp"):
                    by_node.setdefault(node_of(p), []).append(p)
            if i + 1 >= self.listed:
                out.append(by_node)
        return out

    def max_nodes_without_ready_pod(self, nodes: list[str]) -> int:
        worst = 0
        for state in self.timeline():
            missing = sum(1 for n in nodes if not any(is_ready(p) for p in state.get(n, [])))
            worst = max(worst, missing)
        return worst

    def created(self, label: str, value: str) -> list[tuple[float, str]]:
        """(time first seen, node) of each pod with label=value, in creation order."""
        seen: dict[str, tuple[float, str]] = {}
        for t, kind, pod in self.events:
            uid = pod["metadata"]["uid"]
            if kind == "ADDED" and (pod["metadata"].get("labels") or {}).get(label) == value and uid not in seen:
                seen[uid] = (t, node_of(pod))
        return sorted(seen.values())

    def became_ready(self, label: str, value: str) -> list[tuple[float, str]]:
        seen: dict[str, tuple[float, str]] = {}
        for t, kind, pod in self.events:
            uid = pod["metadata"]["uid"]
            if kind != "DELETED" and (pod["metadata"].get("labels") or {}).get(label) == value \
                    and is_ready(pod) and uid not in seen:
                seen[uid] = (t, node_of(pod))
        return sorted(seen.values())


def assert_node_by_node(rec: PodRecorder, nodes: list[str], new_hash: str) -> None:
    """A maxUnavailable=1 rollout over `nodes` (those that had old pods): never two of them without
    a Ready pod; each new pod is created only after the previous new pod became Ready."""
    assert rec.max_nodes_without_ready_pod(nodes) <= 1, \
        f"more than one node lacked a Ready pod at once:\n{rec.report()}"
    created = [c for c in rec.created("controller-revision-hash", new_hash) if c[1] in nodes]
    ready = rec.became_ready("controller-revision-hash", new_hash)
    assert sorted(n for _, n in created) == sorted(nodes), f"new pods created on {created}:\n{rec.report()}"
    for i in range(1, len(created)):
        prev_node = created[i - 1][1]
        prev_ready = next(t for t, n in ready if n == prev_node)
        assert created[i][0] >= prev_ready, (
            f"new pod on {created[i][1]} created before the one on {prev_node} was Ready:\n{rec.report()}")


def current_hash(cluster: RunningCluster, name: str, ns: str = "default") -> str:
    """The controller-revision-hash of the DaemonSet's current template (its newest revision)."""
    ds = cluster.kubectl_json("get", "ds", name, "-n", ns)
    revs = cluster.kubectl_json("get", "controllerrevisions", "-n", ns)["items"]
    mine = [r for r in revs if any(o.get("uid") == ds["metadata"]["uid"]
                                   for o in r["metadata"].get("ownerReferences") or [])]
    newest = max(mine, key=lambda r: r["revision"])
    return newest["metadata"]["labels"]["controller-revision-hash"]


def table(output: str) -> list[dict[str, str]]:
    """Parse kubectl's column output (headers separated by 2+ spaces) into dicts."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    if not lines:
        return []
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?:(?<=\s\s)|^)\S", header)]
    names = [header[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
    rows = []
    for ln in lines[1:]:
        cells = [ln[s:e].strip() if s < len(ln) else "" for s, e in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def paste(base: dict, fragment: dict, at: tuple[str, ...] = ()) -> dict:
    """Paste a document's fragment into a manifest as a reader would, at the path `at`:
    mappings merge, lists of named items merge by name, anything else replaces."""
    import copy

    out = copy.deepcopy(base)
    node = out
    for key in at:
        node = node.setdefault(key, {})
    _merge(node, copy.deepcopy(fragment))
    return out


def _merge(into: dict, extra: dict) -> None:
    for key, value in extra.items():
        old = into.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            _merge(old, value)
        elif (isinstance(old, list) and isinstance(value, list) and value
              and all(isinstance(v, dict) and "name" in v for v in old + value)):
            by_name = {v["name"]: v for v in old}
            for item in value:
                if item["name"] in by_name:
                    _merge(by_name[item["name"]], item)
                else:
                    old.append(item)
        else:
            into[key] = value
