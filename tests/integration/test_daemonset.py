"""The DaemonSet controller end to end, driven by the real kubectl.

The session cluster has 3 nodes: the control plane (tainted NoSchedule) and
two workers, so an untolerating DaemonSet wants 2 pods.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.conftest import wait_for

pytestmark = pytest.mark.integration

WORKERS = ["everynode-worker", "everynode-worker2"]
ALL_NODES = ["everynode-control-plane", *WORKERS]


def manifest(name: str, image: str = "busybox:1.35", strategy: str = "", extra_spec: str = "",
             pod_spec: str = "", template_annotations: str = "") -> str:
    return f"""apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
spec:
  selector:
    matchLabels:
      app: {name}
{strategy}{extra_spec}  template:
    metadata:
      labels:
        app: {name}
{template_annotations}    spec:
      terminationGracePeriodSeconds: 1
{pod_spec}      containers:
      - name: main
        image: {image}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"""


def apply(cluster, ns: str, text: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=text)


def pods(cluster, ns: str, selector: str) -> list[dict]:
    return cluster.kubectl_json("get", "pods", "-n", ns, "-l", selector)["items"]


def live(items: list[dict]) -> list[dict]:
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def nodes_of(items: list[dict]) -> list[str]:
    return sorted(p["spec"].get("nodeName", "") for p in live(items))


def wait_nodes(cluster, ns: str, selector: str, expected: list[str], timeout: float = 60) -> list[dict]:
    def check():
        items = pods(cluster, ns, selector)
        return items if nodes_of(items) == sorted(expected) else None
    return wait_for(check, timeout, message=f"pods of {selector} on {expected}")


def wait_ready(cluster, ns: str, name: str, timeout: float = 90) -> dict:
    def check():
        ds = cluster.kubectl_json("get", "ds", name, "-n", ns)
        st = ds.get("status") or {}
        desired = st.get("desiredNumberScheduled", -1)
        ok = (st.get("observedGeneration") == ds["metadata"]["generation"]
              and desired > 0 and st.get("numberReady") == desired
              and st.get("updatedNumberScheduled") == desired and st.get("numberAvailable") == desired)
        return ds if ok else None
    return wait_for(check, timeout, interval=0.3, message=f"daemonset {name} ready")


def test_simple_daemon_runs_on_every_eligible_node_and_revives(cluster, namespace):
    apply(cluster, namespace, manifest("simple"))
    items = wait_nodes(cluster, namespace, "app=simple", WORKERS)
    ds = wait_ready(cluster, namespace, "simple")
    assert ds["status"]["desiredNumberScheduled"] == 2
    victim = live(items)[0]
    cluster.kubectl("delete", "pod", victim["metadata"]["name"], "-n", namespace, "--wait=false")
    def revived():
        now = live(pods(cluster, namespace, "app=simple"))
        names = {p["metadata"]["name"] for p in now}
        return victim["metadata"]["name"] not in names and nodes_of(now) == WORKERS
    wait_for(revived, 60, message="deleted pod revived")
    pod = live(pods(cluster, namespace, "app=simple"))[0]
    owner = pod["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "DaemonSet" and owner["controller"] is True and owner["blockOwnerDeletion"] is True
    assert "controller-revision-hash" in pod["metadata"]["labels"]
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    keys = {(t["key"], t.get("effect")) for t in pod["spec"]["tolerations"]}
    assert ("node.kubernetes.io/not-ready", "NoExecute") in keys
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in keys
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchFields"][0]["key"] == "metadata.name"


def test_tolerating_daemon_runs_on_control_plane(cluster, namespace):
    pod_spec = """      tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
"""
    apply(cluster, namespace, manifest("everywhere", pod_spec=pod_spec))
    wait_nodes(cluster, namespace, "app=everywhere", ALL_NODES)


def test_node_selector_follows_labels(cluster, namespace):
    label = f"sel-{namespace[-6:]}"
    pod_spec = f"""      nodeSelector:
        {label}: "yes"
"""
    apply(cluster, namespace, manifest("picky", pod_spec=pod_spec))
    time.sleep(1)
    assert live(pods(cluster, namespace, "app=picky")) == []
    cluster.kubectl("label", "node", "everynode-worker", f"{label}=yes")
    try:
        wait_nodes(cluster, namespace, "app=picky", ["everynode-worker"])
        cluster.kubectl("label", "node", "everynode-worker", f"{label}-")
        wait_nodes(cluster, namespace, "app=picky", [])
    finally:
        cluster.kubectl("label", "node", "everynode-worker", f"{label}-", check=False)


def test_required_node_affinity(cluster, namespace):
    pod_spec = """      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - key: kubernetes.io/hostname
                operator: In
                values: [everynode-worker2]
"""
    apply(cluster, namespace, manifest("affine", pod_spec=pod_spec))
    wait_nodes(cluster, namespace, "app=affine", ["everynode-worker2"])


def test_noexecute_taint_evicts_and_cordon_keeps(cluster, namespace):
    apply(cluster, namespace, manifest("tainted"))
    wait_nodes(cluster, namespace, "app=tainted", WORKERS)
    key = f"evict-{namespace[-6:]}"
    cluster.kubectl("taint", "node", "everynode-worker2", f"{key}=x:NoExecute")
    try:
        wait_nodes(cluster, namespace, "app=tainted", ["everynode-worker"])
        ds = cluster.kubectl_json("get", "ds", "tainted", "-n", namespace)
        assert ds["status"]["desiredNumberScheduled"] == 1
    finally:
        cluster.kubectl("taint", "node", "everynode-worker2", f"{key}=x:NoExecute-", check=False)
    wait_nodes(cluster, namespace, "app=tainted", WORKERS)
    cluster.kubectl("cordon", "everynode-worker2")
    try:
        victim = next(p for p in live(pods(cluster, namespace, "app=tainted"))
                      if p["spec"]["nodeName"] == "everynode-worker2")
        cluster.kubectl("delete", "pod", "-n", namespace, victim["metadata"]["name"], "--wait=false")
        wait_for(lambda: victim["metadata"]["name"] not in
                 {p["metadata"]["name"] for p in live(pods(cluster, namespace, "app=tainted"))}
                 and nodes_of(pods(cluster, namespace, "app=tainted")) == WORKERS, 60,
                 message="daemon pod recreated on the cordoned node")
    finally:
        cluster.kubectl("uncordon", "everynode-worker2")


def test_failed_pod_is_replaced(cluster, namespace):
    apply(cluster, namespace, manifest("failing"))
    items = wait_nodes(cluster, namespace, "app=failing", WORKERS)
    victim = live(items)[0]
    name = victim["metadata"]["name"]
    api = cluster.api_client()
    from kubernetes import client

    core = client.CoreV1Api(api)
    core.patch_namespaced_pod_status(name, namespace, {"status": {"phase": "Failed"}})
    def replaced():
        now = live(pods(cluster, namespace, "app=failing"))
        return name not in {p["metadata"]["name"] for p in now} and nodes_of(now) == WORKERS
    wait_for(replaced, 60, message="failed pod replaced")
    events = cluster.kubectl("get", "events", "-n", namespace,
                             "--field-selector", "involvedObject.name=failing").stdout
    assert "FailedDaemonPod" in events


def test_ondelete_updates_only_deleted_pods(cluster, namespace):
    strategy = "  updateStrategy:\n    type: OnDelete\n"
    apply(cluster, namespace, manifest("ondel", strategy=strategy))
    wait_ready(cluster, namespace, "ondel")
    before = {p["metadata"]["name"] for p in live(pods(cluster, namespace, "app=ondel"))}
    apply(cluster, namespace, manifest("ondel", image="busybox:1.36", strategy=strategy))
    time.sleep(3)
    assert {p["metadata"]["name"] for p in live(pods(cluster, namespace, "app=ondel"))} == before
    one = sorted(before)[0]
    cluster.kubectl("delete", "pod", one, "-n", namespace)
    def one_updated():
        now = live(pods(cluster, namespace, "app=ondel"))
        images = sorted(p["spec"]["containers"][0]["image"] for p in now)
        return len(now) == 2 and images == ["busybox:1.35", "busybox:1.36"]
    wait_for(one_updated, 60, message="only the deleted pod updated")
    out = cluster.kubectl("rollout", "status", "ds/ondel", "-n", namespace, check=False)
    assert out.returncode != 0 and "rollout status is only available for RollingUpdate" in out.stderr


class AvailabilityMonitor:
    """Samples the pods of a DaemonSet during a rollout."""

    def __init__(self, cluster, ns: str, selector: str):
        self.cluster, self.ns, self.selector = cluster, ns, selector
        self.min_ready = 99
        self.max_surging = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                items = pods(self.cluster, self.ns, self.selector)
            except Exception:
                continue
            ready = 0
            by_node: dict[str, list[bool]] = {}
            for p in live(items):
                conds = (p.get("status") or {}).get("conditions") or []
                is_ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
                ready += is_ready
                by_node.setdefault(p["spec"].get("nodeName", ""), []).append(is_ready)
            self.min_ready = min(self.min_ready, ready)
            # Surging nodes: an extra pod that is not yet ready next to another one.
            surging = sum(1 for flags in by_node.values() if len(flags) > 1 and not all(flags))
            self.max_surging = max(self.max_surging, surging)
            time.sleep(0.1)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(5)


def test_rolling_update_with_max_unavailable(cluster, namespace):
    strategy = "  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxUnavailable: 1\n"
    apply(cluster, namespace, manifest("roll", strategy=strategy))
    wait_ready(cluster, namespace, "roll")
    with AvailabilityMonitor(cluster, namespace, "app=roll") as mon:
        apply(cluster, namespace, manifest("roll", image="busybox:1.36", strategy=strategy))
        out = cluster.kubectl("rollout", "status", "ds/roll", "-n", namespace, "--timeout=90s", timeout=120)
        assert 'daemon set "roll" successfully rolled out' in out.stdout
    assert mon.min_ready >= 1  # 2 desired, maxUnavailable 1
    items = live(pods(cluster, namespace, "app=roll"))
    assert sorted(p["spec"]["containers"][0]["image"] for p in items) == ["busybox:1.36"] * 2


def test_rolling_update_with_surge(cluster, namespace):
    strategy = ("  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n"
                "      maxSurge: 1\n      maxUnavailable: 0\n")
    apply(cluster, namespace, manifest("surge", strategy=strategy))
    wait_ready(cluster, namespace, "surge")
    with AvailabilityMonitor(cluster, namespace, "app=surge") as mon:
        apply(cluster, namespace, manifest("surge", image="busybox:1.36", strategy=strategy))
        cluster.kubectl("rollout", "status", "ds/surge", "-n", namespace, "--timeout=90s", timeout=120)
    assert mon.min_ready >= 2  # never below desired with maxUnavailable 0
    assert mon.max_surging <= 1  # maxSurge 1: at most one node with an extra, not yet ready pod


def test_rollout_history_undo_restart(cluster, namespace):
    apply(cluster, namespace, manifest("hist"))
    wait_ready(cluster, namespace, "hist")
    cluster.kubectl("set", "image", "ds/hist", "main=busybox:1.36", "-n", namespace)
    cluster.kubectl("rollout", "status", "ds/hist", "-n", namespace, "--timeout=90s", timeout=120)
    out = cluster.kubectl("rollout", "history", "ds/hist", "-n", namespace).stdout
    assert "daemonset.apps/hist" in out and "REVISION" in out
    revs = [line.split()[0] for line in out.splitlines() if line[:1].isdigit()]
    assert revs == ["1", "2"]
    detail = cluster.kubectl("rollout", "history", "ds/hist", "-n", namespace, "--revision=1").stdout
    assert "busybox:1.35" in detail
    out = cluster.kubectl("rollout", "undo", "ds/hist", "-n", namespace).stdout
    assert "daemonset.apps/hist rolled back" in out
    cluster.kubectl("rollout", "status", "ds/hist", "-n", namespace, "--timeout=90s", timeout=120)
    images = {p["spec"]["containers"][0]["image"] for p in live(pods(cluster, namespace, "app=hist"))}
    assert images == {"busybox:1.35"}
    out = cluster.kubectl("rollout", "history", "ds/hist", "-n", namespace).stdout
    assert [line.split()[0] for line in out.splitlines() if line[:1].isdigit()] == ["2", "3"]
    out = cluster.kubectl("rollout", "restart", "ds/hist", "-n", namespace).stdout
    assert "daemonset.apps/hist restarted" in out
    cluster.kubectl("rollout", "status", "ds/hist", "-n", namespace, "--timeout=90s", timeout=120)
    ds = cluster.kubectl_json("get", "ds", "hist", "-n", namespace)
    assert "kubectl.kubernetes.io/restartedAt" in ds["spec"]["template"]["metadata"]["annotations"]
    paused = cluster.kubectl("rollout", "pause", "ds/hist", "-n", namespace, check=False)
    assert paused.returncode != 0 and "pausing is not supported" in paused.stderr


def test_cascading_deletes(cluster, namespace):
    for name in ("bg", "fg", "orph"):
        apply(cluster, namespace, manifest(name))
        wait_nodes(cluster, namespace, f"app={name}", WORKERS)
    cluster.kubectl("delete", "ds", "bg", "-n", namespace, "--cascade=background")
    wait_for(lambda: pods(cluster, namespace, "app=bg") == [], 60, message="background cascade")
    cluster.kubectl("delete", "ds", "fg", "-n", namespace, "--cascade=foreground", timeout=90)
    assert pods(cluster, namespace, "app=fg") == []
    before = {p["metadata"]["name"] for p in pods(cluster, namespace, "app=orph")}
    cluster.kubectl("delete", "ds", "orph", "-n", namespace, "--cascade=orphan")
    def orphaned():
        items = pods(cluster, namespace, "app=orph")
        return {p["metadata"]["name"] for p in items} == before and \
            all(not p["metadata"].get("ownerReferences") for p in items)
    wait_for(orphaned, 30, message="pods orphaned")
    revs = cluster.kubectl_json("get", "controllerrevisions", "-n", namespace, "-l", "app=orph")["items"]
    assert revs and all(not r["metadata"].get("ownerReferences") for r in revs)
    apply(cluster, namespace, manifest("orph"))
    def adopted():
        items = pods(cluster, namespace, "app=orph")
        return {p["metadata"]["name"] for p in items} == before and \
            all(p["metadata"].get("ownerReferences") for p in items)
    wait_for(adopted, 30, message="orphans re-adopted without restarts")


def test_status_and_describe_after_convergence(cluster, namespace):
    apply(cluster, namespace, manifest("described"))
    wait_ready(cluster, namespace, "described")
    out = cluster.kubectl("describe", "ds", "described", "-n", namespace).stdout
    assert "Desired Number of Nodes Scheduled: 2" in out
    assert "Pods Status:  2 Running / 0 Waiting / 0 Succeeded / 0 Failed" in out
    assert "SuccessfulCreate" in out
    wide = cluster.kubectl("get", "pods", "-n", namespace, "-l", "app=described", "-o", "wide").stdout
    assert "everynode-worker" in wide and "NODE" in wide.splitlines()[0]
    js = json.loads(cluster.kubectl("get", "ds", "described", "-n", namespace, "-o", "json").stdout)
    assert js["status"]["numberMisscheduled"] == 0


def test_everynode_rollout_pause_and_resume(cluster, namespace):
    from tests.conftest import everynode

    apply(cluster, namespace, manifest("pausable"))
    wait_ready(cluster, namespace, "pausable")
    before = {p["metadata"]["name"] for p in live(pods(cluster, namespace, "app=pausable"))}
    dd = ["--data-dir", str(cluster.data_dir)]
    out = everynode("rollout", "pause", "ds/pausable", "-n", namespace, *dd).stdout
    assert "daemonset.apps/pausable paused" in out
    assert "everynode.io/rollout-paused: true" in cluster.kubectl("describe", "ds", "pausable", "-n", namespace).stdout
    apply(cluster, namespace, manifest("pausable", image="busybox:1.36"))
    time.sleep(3)
    assert {p["metadata"]["name"] for p in live(pods(cluster, namespace, "app=pausable"))} == before
    again = everynode("rollout", "pause", "ds/pausable", "-n", namespace, *dd, check=False)
    assert again.returncode == 1 and "already paused" in again.stderr
    everynode("rollout", "resume", "ds/pausable", "-n", namespace, *dd)
    cluster.kubectl("rollout", "status", "ds/pausable", "-n", namespace, "--timeout=90s", timeout=120)
    images = {p["spec"]["containers"][0]["image"] for p in live(pods(cluster, namespace, "app=pausable"))}
    assert images == {"busybox:1.36"}


def test_second_controller_manager_waits_for_the_lease(cluster, tmp_path):
    """Two controller managers never both act: the second one waits on the Lease."""
    import os
    import subprocess
    import sys

    before = cluster.kubectl_json("get", "lease", "kube-controller-manager", "-n", "kube-system")
    holder = before["spec"]["holderIdentity"]
    log = tmp_path / "cm2.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "everynode.cli.main", "controller-manager",
                                 "--kubeconfig", str(cluster.kubeconfig)], stdout=out, stderr=subprocess.STDOUT,
                                env=os.environ.copy())
        try:
            time.sleep(4)
        finally:
            proc.terminate()
            proc.wait(20)
    after = cluster.kubectl_json("get", "lease", "kube-controller-manager", "-n", "kube-system")
    assert after["spec"]["holderIdentity"] == holder
    assert "started controllers" not in log.read_text()


def test_daemon_pod_that_does_not_fit_stays_pending_then_preempts_when_critical(cluster, namespace):
    """A daemon pod is a normal pod to the scheduler: too big -> Pending with FailedScheduling;
    system-node-critical -> lower-priority pods on its node are preempted to make room."""
    import uuid

    from everynode.api.quantity import parse_quantity, to_milli
    from tests.integration.test_scheduler import free_milli_cpu, pod_manifest

    target = "everynode-worker2"
    node = cluster.kubectl_json("get", "node", target)
    biggest = to_milli(parse_quantity(node["status"]["allocatable"]["cpu"]))
    pin = f"""      nodeSelector:
        kubernetes.io/hostname: {target}
"""
    huge = manifest("toobig", pod_spec=pin).replace(
        'command: ["sh"', f'resources: {{requests: {{cpu: "{biggest + 1000}m"}}}}\n        command: ["sh"')
    apply(cluster, namespace, huge)
    def pending_with_reason():
        items = pods(cluster, namespace, "app=toobig")
        if len(items) != 1 or items[0]["spec"].get("nodeName"):
            return None
        conds = {c["type"]: c for c in items[0]["status"].get("conditions") or []}
        return conds.get("PodScheduled", {}).get("reason") == "Unschedulable" and items[0]
    pod = wait_for(pending_with_reason, 30, message="daemon pod Pending and Unschedulable")
    events = cluster.kubectl("get", "events", "-n", namespace, "--field-selector",
                             f"involvedObject.name={pod['metadata']['name']}").stdout
    assert "FailedScheduling" in events and "Insufficient cpu" in events
    cluster.kubectl("delete", "ds", "toobig", "-n", namespace)

    free = free_milli_cpu(cluster, node)
    if free < 600:
        pytest.skip(f"{target} has only {free}m cpu free")
    low = f"low-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "-f", "-", input=f"apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\n"
                                                  f"metadata:\n  name: {low}\nvalue: 10\n")
    try:
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=pod_manifest(
            "filler", cpu=f"{free - 100}m", pin=target, priority_class=low))
        wait_for(lambda: cluster.kubectl_json("get", "pod", "filler", "-n", namespace)["spec"].get("nodeName")
                 == target, 30, message="filler bound")
        critical_spec = pin + "      priorityClassName: system-node-critical\n"
        critical = manifest("critical", pod_spec=critical_spec).replace(
            'command: ["sh"', 'resources: {requests: {cpu: "500m"}}\n        command: ["sh"')
        apply(cluster, "kube-system", critical.replace("name: critical\n", f"name: critical-{namespace[-6:]}\n", 1)
              .replace("app: critical", f"app: critical-{namespace[-6:]}"))
        wait_nodes(cluster, "kube-system", f"app=critical-{namespace[-6:]}", [target], timeout=60)
        gone = cluster.kubectl("get", "pod", "filler", "-n", namespace, check=False)
        assert gone.returncode != 0 and "NotFound" in gone.stderr
    finally:
        cluster.kubectl("delete", "ds", f"critical-{namespace[-6:]}", "-n", "kube-system", check=False)
        cluster.kubectl("delete", "priorityclass", low, check=False)


def test_pods_deleted_while_starting_still_terminate(cluster):
    """Regression: a pod deleted while its node agent was writing its first status
    must still be stopped and removed (it used to stay Terminating forever)."""
    from kubernetes import client

    core = client.CoreV1Api(cluster.api_client())
    apps = client.AppsV1Api(cluster.api_client())
    for round_ in range(3):
        ns = f"race-{round_}-{int(time.time() * 1000) % 100000}"
        core.create_namespace({"metadata": {"name": ns}})
        for name in ("ra", "rb"):
            apps.create_namespaced_daemon_set(ns, {
                "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "labels": {"g": "x"}},
                "spec": {"selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": "c", "image": "busybox:1.35",
                                                               "command": ["sleep", "3600"]}]}}}})
        apps.delete_collection_namespaced_daemon_set(ns, label_selector="g=x")
        core.delete_namespace(ns)
        wait_for(lambda ns=ns: not core.list_namespaced_pod(ns).items, 25,
                 message=f"pods of {ns} gone")


def test_a_large_burst_records_events_as_client_go_does(tmp_path):
    """40 pods created at once: the DaemonSet gets 25 events (client-go's spam filter: a burst
    of 25 per source and object), the 10th on combined into one counted event; every pod's own
    events (scheduler, kubelet) are all there."""
    from tests.conftest import RunningCluster, free_port

    c = RunningCluster(tmp_path / "d", free_port())
    c.up("--nodes", "41", "--runtime", "simulated")
    try:
        c.kubectl("create", "namespace", "burst")
        apply(c, "burst", manifest("burst"))
        wait_for(lambda: c.kubectl_json("get", "ds", "burst", "-n", "burst").get("status", {})
                 .get("numberReady") == 40, 60, message="40 pods ready")

        def ds_events() -> list[dict]:
            return [e for e in c.kubectl_json("get", "events", "-n", "burst")["items"]
                    if e["involvedObject"]["kind"] == "DaemonSet" and e["reason"] == "SuccessfulCreate"]

        wait_for(lambda: sum(e["count"] for e in ds_events()) == 25, 30, message="25 events counted")
        events = ds_events()
        combined = [e for e in events if e["message"].startswith("(combined from similar events): Created pod: ")]
        plain = [e for e in events if e not in combined]
        assert len(plain) == 9 and all(e["count"] == 1 for e in plain)
        assert len(combined) == 1 and combined[0]["count"] == 16
        scheduled = c.kubectl("get", "events", "-n", "burst", "--field-selector", "reason=Scheduled",
                              "-o", "name").stdout.split()
        assert len(scheduled) == 40
        out = c.kubectl("describe", "ds", "burst", "-n", "burst").stdout
        assert "(combined from similar events): Created pod: burst-" in out
    finally:
        c.down()
