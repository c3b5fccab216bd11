"""Seed 002 ("Running Pods on Every Node"): five example DaemonSets, the management,
troubleshooting and debugging commands, the best-practice fragments and the cleanup.

Tests follow the document's order and share its cluster state. The reader
saves examples 1-3 under the file names the document gives, and examples 4
and 5 as gpu-monitor.yaml and comprehensive-monitor.yaml. Placeholders are
filled with what the reader would have at hand at that point:
<name>/<app> security-scanner while it has no pods (issue 1), the reader's
own `daemon` DaemonSet while its update is stuck (issue 2), log-collector
and everynode-worker for a node's troubles (issue 3).

The best-practice fragments name a container `daemon-container`; they are
pasted into that reader's own DaemonSet (DAEMON below), one after the other.
"""

from __future__ import annotations

import re

import yaml

from tests.conftest import everynode, wait_for
from tests.e2e.conftest import (
    ALL_NODES,
    CONTROL_PLANE,
    WORKERS,
    PodRecorder,
    assert_node_by_node,
    current_hash,
    live,
    node_of,
    paste,
    pods,
    stays,
    table,
    wait_gone,
    wait_pods_on,
    wait_rolled_out,
)

SEED_ID = "002"
EXAMPLES = {"log-collector": "log-collector-daemonset", "node-monitor": "node-monitor-daemonset",
            "security-scanner": "security-scanner-daemonset"}
DAEMON = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: daemon
spec:
  selector:
    matchLabels:
      app: daemon
  template:
    metadata:
      labels:
        app: daemon
    spec:
      containers:
      - name: daemon-container
        image: busybox:1.35
        command: ["sh", "-c", "echo uid=$(id -u); while true; do sleep 1; done"]
"""


def images(selector: str, seed) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in live(pods(seed.cluster, selector))}


def prefixed_logs(output: str) -> dict[str, list[str]]:
    """kubectl logs --prefix output -> {pod/NAME/CONTAINER: [lines]}."""
    out: dict[str, list[str]] = {}
    for line in output.splitlines():
        m = re.match(r"^\[(pod/[^/\]]+/[^\]]+)\] (.*)$", line)
        assert m, f"line without a prefix: {line!r}"
        out.setdefault(m.group(1), []).append(m.group(2))
    return out


# ------------------------------------------------------------ basic operations


def test_apply_the_three_examples(seed):
    for line, (name, stem) in zip((429, 430, 431), EXAMPLES.items(), strict=True):
        seed.save_as(stem, f"{stem}.yaml")
        assert seed.run(line).stdout.strip() == f"daemonset.apps/{name} created"
    # log-collector tolerates the control plane and selects kubernetes.io/os=linux: all three nodes.
    wait_pods_on(seed.cluster, "app=log-collector", ALL_NODES)
    # node-monitor tolerates every taint.
    monitors = wait_pods_on(seed.cluster, "app=node-monitor", ALL_NODES)
    for p in monitors:  # hostNetwork: the pod's IP is its node's
        assert p["status"]["podIP"] == p["status"]["hostIP"]
    # security-scanner wants node-role.kubernetes.io/worker nodes, and no node has that label yet.
    st = wait_rolled_out(seed.cluster, "security-scanner")["status"]
    assert st["desiredNumberScheduled"] == 0
    assert pods(seed.cluster, "app=security-scanner") == []


def test_list_describe_yaml_wide(seed):
    rows = {r["NAME"]: r for r in table(seed.run(434).stdout)}
    cols = ("DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR")
    assert [rows["log-collector"][c] for c in cols] == ["3"] * 5 + ["kubernetes.io/os=linux"]
    assert [rows["node-monitor"][c] for c in cols] == ["3"] * 5 + ["<none>"]
    assert [rows["security-scanner"][c] for c in cols] == ["0"] * 5 + ["node-role.kubernetes.io/worker="]

    out = seed.run(437).stdout
    for expected in ("Selector:       name=log-collector", "Node-Selector:  kubernetes.io/os=linux",
                     "Labels:         app=log-collector", "Desired Number of Nodes Scheduled: 3",
                     "Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed",
                     "NODE_NAME:   (v1:spec.nodeName)", "POD_NAME:    (v1:metadata.name)",
                     "/var/log from varlog (ro)", "Path:          /var/lib/docker/containers",
                     "Tolerations:     node-role.kubernetes.io/control-plane:NoSchedule op=Exists",
                     "node-role.kubernetes.io/master:NoSchedule op=Exists"):
        assert expected in out, f"{expected!r} not in:\n{out}"
    assert out.count("SuccessfulCreate") == 3

    doc = yaml.safe_load(seed.run(440).stdout)
    assert doc["kind"] == "DaemonSet" and doc["metadata"]["name"] == "log-collector"
    assert doc["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert doc["status"]["numberReady"] == 3 and doc["status"]["observedGeneration"] == 1

    row = table(seed.run(443).stdout)[0]
    assert (row["CONTAINERS"], row["IMAGES"], row["SELECTOR"]) == ("log-collector", "busybox:1.35",
                                                                    "name=log-collector")


# ------------------------------------------------------- monitoring and status


def test_rollout_status_pods_events_logs(seed):
    assert seed.run(450, timeout=90).stdout.strip().splitlines()[-1] == \
        'daemon set "log-collector" successfully rolled out'

    rows = table(seed.run(453).stdout)
    assert sorted(r["NODE"] for r in rows) == ALL_NODES
    assert all(r["STATUS"] == "Running" and r["READY"] == "1/1" and r["IP"] for r in rows), rows

    running = table(seed.run(456).stdout)
    assert len(running) == 3 and all(r["STATUS"] == "Running" for r in running)

    events = table(seed.run(459).stdout)
    created = [e for e in events if e["REASON"] == "SuccessfulCreate"]
    assert len(created) == 3 and all(e["OBJECT"] == "daemonset/log-collector" for e in created), events

    logs = prefixed_logs(seed.run(462).stdout)
    by_name = {p["metadata"]["name"]: node_of(p) for p in live(pods(seed.cluster, "app=log-collector"))}
    assert sorted(logs) == sorted(f"pod/{n}/log-collector" for n in by_name)
    for name, node in by_name.items():
        lines = logs[f"pod/{name}/log-collector"]
        assert f"Log Collector Agent starting on node: {node}" in lines, lines
        assert "Collecting logs from: /var/log/pods" in lines

    for p in live(pods(seed.cluster, "app=node-monitor")):  # fieldRef env and host access
        out = wait_for(lambda p=p: (o := seed.kubectl("logs", p["metadata"]["name"]).stdout)
                       and "Metrics sent" in o and o, 30, message="node-monitor's first check")
        assert f"Node Monitor starting on: {node_of(p)}" in out
        assert f"Pod: {p['metadata']['name']}" in out
        assert re.search(r"Running Processes: \d+", out)


# ------------------------------------------------------- examples 4 and 5


def test_gpu_monitor_runs_only_where_both_gpu_labels_match(seed):
    seed.save_as("daemonset-gpu-monitor", "gpu-monitor.yaml")
    assert seed.sh("kubectl apply -f gpu-monitor.yaml").stdout.strip() == "daemonset.apps/gpu-monitor created"
    assert wait_rolled_out(seed.cluster, "gpu-monitor")["status"]["desiredNumberScheduled"] == 0
    # Both expressions of the term must match: an accelerator label alone is not enough.
    seed.kubectl("label", "node", "everynode-worker", "accelerator=nvidia-tesla-p100")
    seed.kubectl("label", "node", "everynode-worker2", "accelerator=nvidia-tesla-k80", "instance-type=gpu-instance")
    (p,) = wait_pods_on(seed.cluster, "name=gpu-monitor", ["everynode-worker2"])
    out = wait_for(lambda: "GPU Monitor running" in (o := seed.kubectl("logs", p["metadata"]["name"]).stdout) and o,
                   30, message="gpu-monitor log")
    assert "GPU Monitor running on node with GPUs: everynode-worker2" in out


def test_comprehensive_monitor_runs_three_containers_per_node(seed):
    seed.save_as("daemonset-comprehensive-monitor", "comprehensive-monitor.yaml")
    out = seed.sh("kubectl apply -f comprehensive-monitor.yaml")
    assert out.stdout.strip() == "daemonset.apps/comprehensive-monitor created", out.stderr
    items = wait_pods_on(seed.cluster, "name=comprehensive-monitor", WORKERS)
    rows = table(seed.kubectl("get", "pods", "-l", "name=comprehensive-monitor").stdout)
    assert [r["READY"] for r in rows] == ["3/3", "3/3"]
    name = items[0]["metadata"]["name"]

    def all_three():
        logs = prefixed_logs(seed.kubectl("logs", name, "--all-containers", "--prefix").stdout)
        return logs if len(logs) == 3 else None
    logs = wait_for(all_three, 30, message="logs of the three containers")
    assert "Collecting system metrics..." in logs[f"pod/{name}/metrics-collector"]
    assert "Forwarding logs to central system..." in logs[f"pod/{name}/log-forwarder"]
    assert "Performing health checks..." in logs[f"pod/{name}/health-checker"]


# --------------------------------------------------------- updates, rollbacks


def test_set_image_rolls_out_node_by_node(seed):
    with PodRecorder(seed.cluster, "app=log-collector") as rec:
        assert seed.run(469).stdout.strip() == "daemonset.apps/log-collector image updated"
        wait_rolled_out(seed.cluster, "log-collector")
        wait_pods_on(seed.cluster, "app=log-collector", ALL_NODES)
    assert images("app=log-collector", seed) == {"busybox:1.36"}
    assert_node_by_node(rec, ALL_NODES, current_hash(seed.cluster, "log-collector"))


def test_history_and_undo(seed):
    out = seed.run(472).stdout
    assert re.findall(r"^(\d+)\s+<none>$", out, re.M) == ["1", "2"], out
    with PodRecorder(seed.cluster, "app=log-collector") as rec:
        assert seed.run(475).stdout.strip() == "daemonset.apps/log-collector rolled back"
        wait_rolled_out(seed.cluster, "log-collector")
        wait_pods_on(seed.cluster, "app=log-collector", ALL_NODES)
    assert images("app=log-collector", seed) == {"busybox:1.35"}
    assert_node_by_node(rec, ALL_NODES, current_hash(seed.cluster, "log-collector"))
    # The rolled-back-to revision is renumbered: 2, 3.
    assert re.findall(r"^(\d+)\s+<none>$", seed.run(472).stdout, re.M) == ["2", "3"]


def test_pause_and_resume_are_refused_as_upstream_does(seed):
    out = seed.run(478, ok=False)
    assert out.returncode == 1
    assert out.stderr.strip() == 'error: daemonsets.apps "log-collector" pausing is not supported'
    out = seed.run(481, ok=False)
    assert out.returncode == 1
    assert out.stderr.strip() == 'error: daemonsets.apps "log-collector" resuming is not supported'


def test_everynode_rollout_pause_extension(seed):
    data_dir = str(seed.cluster.data_dir)
    out = everynode("rollout", "pause", "ds/log-collector", "--data-dir", data_dir)
    assert out.stdout.strip() == "daemonset.apps/log-collector paused"
    assert "everynode.io/rollout-paused: true" in seed.run(437).stdout
    before = {p["metadata"]["uid"] for p in pods(seed.cluster, "app=log-collector")}
    seed.run(469)  # set image busybox:1.36 while paused

    def observed():
        ds = seed.json("get", "ds", "log-collector")
        return ds["status"].get("observedGeneration") == ds["metadata"]["generation"] and ds
    wait_for(observed, 30, message="paused DaemonSet observed")
    # Paused: nothing is replaced (a negative can only be watched for a while, not awaited).
    stays(lambda: {p["metadata"]["uid"] for p in pods(seed.cluster, "app=log-collector")} == before, 2.0,
          message="paused DaemonSet keeps its pods")
    assert seed.json("get", "ds", "log-collector")["status"].get("updatedNumberScheduled", 0) == 0
    out = everynode("rollout", "resume", "ds/log-collector", "--data-dir", data_dir)
    assert out.stdout.strip() == "daemonset.apps/log-collector resumed"
    wait_rolled_out(seed.cluster, "log-collector")
    wait_pods_on(seed.cluster, "app=log-collector", ALL_NODES)
    assert images("app=log-collector", seed) == {"busybox:1.36"}


# ------------------------------------------ troubleshooting: pods not scheduled


def test_issue1_pod_not_scheduled_on_some_nodes(seed):
    nodes = seed.run(674).stdout
    sections = {m.group(1): m.group(0) for m in re.finditer(r"^Name:\s+(\S+)\n(?:(?!^Name:).*\n?)*", nodes, re.M)}
    assert "Taints:             node-role.kubernetes.io/control-plane:NoSchedule" in sections[CONTROL_PLANE]
    for w in WORKERS:
        assert "Taints:             <none>" in sections[w]

    out = seed.run(677, name="security-scanner").stdout
    assert "nodeSelector:" in out and 'node-role.kubernetes.io/worker: ""' in out, out

    labels = {r["NAME"]: r["LABELS"] for r in table(seed.run(680).stdout)}
    assert sorted(labels) == ALL_NODES
    assert not any("node-role.kubernetes.io/worker" in v for v in labels.values())

    pod = next(p for p in pods(seed.cluster, "app=log-collector") if node_of(p) == "everynode-worker")
    out = seed.run(683, daemonset_pod_name=pod["metadata"]["name"]).stdout
    for expected in (r"Node:\s+everynode-worker/", r"Controlled By:\s+DaemonSet/log-collector",
                     r"node\.kubernetes\.io/unschedulable:NoSchedule op=Exists",
                     rf"Successfully assigned default/{pod['metadata']['name']} to everynode-worker"):
        assert re.search(expected, out), f"{expected!r} not in:\n{out}"

    # The fix the labels point to: give the workers the label the scanner selects.
    seed.kubectl("label", "node", *WORKERS, "node-role.kubernetes.io/worker=")
    wait_pods_on(seed.cluster, "app=security-scanner", WORKERS)
    roles = {r["NAME"]: r["ROLES"] for r in table(seed.kubectl("get", "nodes").stdout)}
    assert roles == {CONTROL_PLANE: "control-plane", "everynode-worker": "worker", "everynode-worker2": "worker"}


# ------------------------------------------------ best-practice fragments


def daemon_doc(seed, *fragments: str) -> dict:
    doc = yaml.safe_load(DAEMON)
    for stem in fragments:
        doc = paste(doc, yaml.safe_load(seed.text(stem)))
    return doc


def apply_daemon(seed, doc: dict, *flags: str):
    (seed.workdir / "daemon.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return seed.sh(" ".join(["kubectl apply -f daemon.yaml", *flags]))


def test_rolling_update_configuration_fragment(seed):
    out = apply_daemon(seed, daemon_doc(seed, "fragment-rolling-update-configuration"))
    assert out.stdout.strip() == "daemonset.apps/daemon created", out.stderr
    ds = wait_rolled_out(seed.cluster, "daemon")
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    wait_pods_on(seed.cluster, "app=daemon", WORKERS)


def test_resource_management_fragment_is_rejected_as_upstream_would(seed):
    # The fragment puts priorityClassName inside the container, where no such field exists:
    # kubectl apply validates strictly, and the server refuses the unknown field.
    doc = daemon_doc(seed, "fragment-rolling-update-configuration", "fragment-resource-management")
    out = apply_daemon(seed, doc)  # daemon exists: kubectl sends a patch
    assert out.returncode == 1
    assert 'strict decoding error: unknown field "spec.template.spec.containers[0].priorityClassName"' \
        in out.stderr, out.stderr
    # With the field where it belongs (the pod spec) it applies; system-node-critical exists.
    container = doc["spec"]["template"]["spec"]["containers"][0]
    doc["spec"]["template"]["spec"]["priorityClassName"] = container.pop("priorityClassName")
    out = apply_daemon(seed, doc)
    assert out.stdout.strip() == "daemonset.apps/daemon configured", out.stderr
    wait_rolled_out(seed.cluster, "daemon")
    items = wait_pods_on(seed.cluster, "app=daemon", WORKERS)
    for p in items:
        assert p["spec"]["priority"] == 2000001000
        assert p["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "200m", "memory": "128Mi"}


def test_resource_management_fragment_in_a_new_daemonset_is_rejected_with_upstreams_message(seed):
    # Applying it as a new object goes through create, whose decoder error names the kind.
    doc = daemon_doc(seed, "fragment-rolling-update-configuration", "fragment-resource-management")
    doc["metadata"]["name"] = "daemon-new"
    (seed.workdir / "daemon-new.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    out = seed.sh("kubectl apply -f daemon-new.yaml")
    assert out.returncode == 1
    assert out.stderr.strip() == (
        'Error from server (BadRequest): error when creating "daemon-new.yaml": DaemonSet in version "v1" cannot '
        'be handled as a DaemonSet: strict decoding error: unknown field '
        '"spec.template.spec.containers[0].priorityClassName"'), out.stderr


def fixed_resource_fragment_doc(seed, *more: str) -> dict:
    doc = daemon_doc(seed, "fragment-rolling-update-configuration", "fragment-resource-management", *more)
    spec = doc["spec"]["template"]["spec"]
    spec["priorityClassName"] = spec["containers"][0].pop("priorityClassName")
    return doc


def test_security_fragment_runs_the_daemon_as_uid_1000(seed):
    out = apply_daemon(seed, fixed_resource_fragment_doc(seed, "fragment-security-considerations"))
    assert out.returncode == 0, out.stderr
    wait_rolled_out(seed.cluster, "daemon")
    for p in wait_pods_on(seed.cluster, "app=daemon", WORKERS):
        name = p["metadata"]["name"]
        assert wait_for(lambda name=name: "uid=" in (o := seed.kubectl("logs", name).stdout) and o,
                        20, message="uid line").splitlines()[0] == "uid=1000"


def test_node_selection_fragment_needs_node_type_and_tolerates_dedicated(seed):
    doc = fixed_resource_fragment_doc(seed, "fragment-security-considerations",
                                      "fragment-node-selection-best-practices")
    out = apply_daemon(seed, doc)
    assert out.returncode == 0, out.stderr
    wait_gone(seed.cluster, "app=daemon")  # no node has node-type=worker yet
    seed.kubectl("label", "nodes", *WORKERS, "node-type=worker")
    seed.kubectl("taint", "nodes", "everynode-worker2", "dedicated=monitoring:NoSchedule")
    try:
        items = wait_pods_on(seed.cluster, "app=daemon", WORKERS)  # the toleration admits worker2
        for p in items:  # the preferred term survives the pinning to one node
            pref = p["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            assert pref[0]["preference"]["matchExpressions"][0]["key"] == "node-role.kubernetes.io/worker"
    finally:
        seed.kubectl("taint", "nodes", "everynode-worker2", "dedicated=monitoring:NoSchedule-")


def test_issue2_update_safety_fragment_stalls_the_update(seed):
    doc = fixed_resource_fragment_doc(seed, "fragment-security-considerations",
                                      "fragment-node-selection-best-practices", "fragment-update-safety")
    out = apply_daemon(seed, doc)
    assert out.returncode == 0, out.stderr

    # Nothing answers on :8080/health, so the first new pod never gets Ready and maxUnavailable: 1
    # stops the update there.
    def stalled():
        st = seed.json("get", "ds", "daemon")["status"]
        return st.get("updatedNumberScheduled") == 1 and st.get("numberUnavailable") == 1 and st
    wait_for(stalled, 60, message="update stalled at one node")
    out = seed.run_until(689, r'Waiting for daemon set "daemon" rollout to finish: 1 out of 2 new pods',
                         name="daemon")
    assert "successfully rolled out" not in out
    assert "Allocated resources:" in seed.run(692).stdout
    # Several pods: kubectl (1.37) shows no events for multiple objects unless asked, so the
    # probe shows in the container's Readiness line and Ready False...
    described = seed.run(695, daemonset_app="daemon").stdout
    assert "Events:" not in described
    assert re.search(r"Readiness:\s+http-get http://:8080/health delay=10s timeout=1s period=5s", described)
    assert re.search(r"^    Ready:\s+False$", described, re.M), described
    # ...and the failures themselves with --show-events=true.
    described = wait_for(lambda: "Readiness probe failed" in (o := seed.sh(
        seed.command(695, daemonset_app="daemon") + " --show-events=true").stdout) and o, 30,
        message="readiness probe failure event")
    assert re.search(r"Warning\s+Unhealthy\s+.*Readiness probe failed: Get \"http://[\d.]+:8080/health\"",
                     described), described
    out = seed.run(698, name="daemon").stdout
    for expected in ("updateStrategy:", "rollingUpdate:", "maxSurge: 0", "maxUnavailable: 1",
                     "type: RollingUpdate"):
        assert expected in out, out
    # Still stuck: the other node keeps its old, Ready pod.
    st = seed.json("get", "ds", "daemon")["status"]
    assert st["updatedNumberScheduled"] == 1 and st["numberAvailable"] == 1
    # The way out: roll back.
    assert seed.sh("kubectl rollout undo daemonset/daemon").stdout.strip() == "daemonset.apps/daemon rolled back"
    wait_rolled_out(seed.cluster, "daemon")
    seed.sh("kubectl delete daemonset daemon")
    wait_gone(seed.cluster, "app=daemon")


# ------------------------------------------ troubleshooting: a failing node


def test_issue3_pods_failing_on_a_node(seed):
    node = "everynode-worker"
    # kubectl logs has no --field-selector flag: real kubectl refuses it the same way.
    out = seed.run(704, ok=False, daemonset_app="log-collector", node_name=node)
    assert out.returncode == 1
    assert out.stderr.startswith("error: unknown flag: --field-selector"), out.stderr
    # What works: select the pod by node with get, then read its logs.
    out = seed.sh(f"kubectl logs $(kubectl get pods -l app=log-collector --field-selector spec.nodeName={node} "
                  "-o name)")
    assert out.returncode == 0 and f"starting on node: {node}" in out.stdout, out

    out = seed.run(707, node_name=node).stdout
    assert re.search(r"Ready\s+True\s+.*KubeletReady\s+kubelet is posting ready status", out), out
    assert "Non-terminated Pods:" in out and "log-collector-" in out

    def top():
        proc = seed.run(710, ok=False, node_name=node)
        return proc.returncode == 0 and proc
    rows = table(wait_for(top, 30, message="kubectl top node").stdout)
    assert list(rows[0]) == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert rows[0]["NAME"] == node and re.fullmatch(r"\d+m", rows[0]["CPU(cores)"])


def test_issue3_node_events(seed):
    # The kubelet records its node's events (Starting, NodeHasSufficientMemory, NodeReady, ...) and the
    # node controller RegisteredNode; they live in the default namespace.
    node = "everynode-worker"
    events = table(seed.run(713, node_name=node).stdout)
    assert events and all(e["OBJECT"] == f"node/{node}" for e in events), events
    assert {"NodeReady", "RegisteredNode"} <= {e["REASON"] for e in events}, events


# --------------------------------------------------------------- debugging


def test_debugging_one_liners(seed):
    out = seed.run(720, daemonset_app="log-collector").stdout
    counts = dict((b, int(a)) for a, b in (ln.split() for ln in out.splitlines()))
    assert counts == {"NODE": 1, CONTROL_PLANE: 1, "everynode-worker": 1, "everynode-worker2": 1}

    out = seed.run(723, app="security-scanner")
    assert out.stdout == f"{CONTROL_PLANE}\n", out
    out = seed.run(723, app="log-collector")
    assert out.stdout == "", out

    victim = pods(seed.cluster, "app=log-collector")[0]["metadata"]["name"]
    deleted = []

    def delete_once(text: str) -> None:
        if not deleted and victim in text:
            deleted.append(seed.kubectl("delete", "pod", victim, "--wait=false"))
    known = {p["metadata"]["name"].removeprefix("log-collector-") for p in pods(seed.cluster, "app=log-collector")}
    # The watch lists the pods, then shows the deleted pod terminating and its replacement starting.
    out = seed.run_until(726, r"log-collector-(?!(" + "|".join(known) + r")\b)\w+\s+1/1\s+Running",
                         timeout=60, during=delete_once, daemonset_app="log-collector")
    assert re.search(rf"{victim}\s+\S+\s+Terminating", out), out

    # The controllers' log is the static kube-controller-manager pod's. With -l kubectl shows the last 10
    # lines, so grep may find nothing there; kubectl itself must not fail.
    out = seed.run(729, ok=False)
    assert out.stderr == "" and all("daemonset" in ln for ln in out.stdout.splitlines()), out
    full = seed.sh("kubectl logs -n kube-system -l component=kube-controller-manager --tail=-1 | grep daemonset")
    assert re.search(r"^I\d{4} [\d:.]+ +\d+ controller-manager\] started controllers: .*daemonset", full.stdout,
                     re.M), full


# ----------------------------------------------------------------- cleanup


def test_cleanup(seed):
    for line, name in zip(range(836, 841), ("log-collector", "node-monitor", "security-scanner", "gpu-monitor",
                                           "comprehensive-monitor"), strict=True):
        assert seed.run(line).stdout.strip() == f'daemonset.apps "{name}" deleted from default namespace'
    out = seed.run(843)
    assert out.stdout == "" and out.stderr.strip() == "No resources found in default namespace."
    for line in (844, 845, 846):
        wait_for(lambda line=line: (o := seed.run(line)).stdout == "" and
                 o.stderr.strip() == "No resources found in default namespace.", 60,
                 message=f"line {line}: no pods left")
    out = seed.run(849, ok=False)
    assert out.returncode == 1 and out.stdout == ""


def test_every_command_was_run(seed):
    assert sorted(set(seed.commands) - seed.ran) == []
