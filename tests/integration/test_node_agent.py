"""The node agent with real processes, through the real kubectl.

Pods are pinned with spec.nodeName (no scheduler needed). Each test checks
one behaviour of the kubelet: env and volumes, logs, restarts and back-off,
probes, graceful deletion, memory limits, static pods, drain, top; and that
no container process outlives its pod, the cluster, or a crashed agent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import RunningCluster, everynode, free_port, wait_for

pytestmark = pytest.mark.integration

WORKER = "everynode-worker"
WORKER2 = "everynode-worker2"
CONTROL_PLANE = "everynode-control-plane"


def pod_yaml(name: str, command: str, node: str = WORKER, extra_container: str = "", pod_extra: str = "",
             container_extra: str = "", image: str = "busybox:1.35") -> str:
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  nodeName: {node}
{pod_extra}  containers:
  - name: main
    image: {image}
    command: ["sh", "-c", {json.dumps(command)}]
{container_extra}{extra_container}"""


def create(cluster: RunningCluster, namespace: str, manifest: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest)


def get_pod(cluster: RunningCluster, namespace: str, name: str) -> dict:
    return cluster.kubectl_json("get", "pod", name, "-n", namespace)


def container_status(pod: dict, name: str = "main") -> dict:
    for s in (pod.get("status") or {}).get("containerStatuses") or []:
        if s["name"] == name:
            return s
    return {}


def condition(pod: dict, type_: str) -> str | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c["status"]
    return None


def running(cluster, namespace, name, timeout=30) -> dict:
    return wait_for(lambda: (p := get_pod(cluster, namespace, name)) and "running" in
                    (container_status(p).get("state") or {}) and p, timeout, message=f"{name} running")


def records(cluster: RunningCluster, node: str) -> list[dict]:
    out = []
    for f in (cluster.data_dir / "nodes" / node / "containers").glob("*.json"):
        try:
            out.append(json.loads(f.read_text()))
        except (OSError, ValueError):
            pass
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# ----------------------------------------------------------------- env & volumes


def test_env_field_refs_and_volumes(cluster, namespace):
    create(cluster, namespace, pod_yaml(
        "envvol", "echo node=$NODE_NAME pod=$POD_NAME ns=$POD_NS ip=$POD_IP mem=$MEM; "
                  "echo from-pod > /host-data/hello; cat /shared/note; ls /host-data; sleep 3600",
        node=WORKER2,
        pod_extra="""  volumes:
  - {name: data, hostPath: {path: /srv/everynode-it, type: DirectoryOrCreate}}
  - {name: shared, emptyDir: {}}
  initContainers:
  - name: init
    image: busybox:1.35
    command: ["sh", "-c", "echo written-by-init > /shared/note"]
    volumeMounts: [{name: shared, mountPath: /shared}]
""",
        container_extra="""    env:
    - {name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    resources: {limits: {memory: 96Mi}}
    volumeMounts:
    - {name: data, mountPath: /host-data}
    - {name: shared, mountPath: /shared, readOnly: true}
"""))
    pod = running(cluster, namespace, "envvol")
    ip = pod["status"]["podIP"]
    assert pod["status"]["hostIP"] == ip and pod["status"]["startTime"]
    init = pod["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed" and init["ready"]
    logs = wait_for(lambda: (out := cluster.kubectl("logs", "envvol", "-n", namespace).stdout).count("\n") >= 3
                    and out, 10, message="logs")
    assert f"node={WORKER2} pod=envvol ns={namespace} ip={ip} mem=96" in logs
    assert "written-by-init" in logs
    # The hostPath lives under the node's own root, not the host's /srv.
    host_file = cluster.data_dir / "nodes" / WORKER2 / "root" / "srv" / "everynode-it" / "hello"
    assert host_file.read_text() == "from-pod\n"
    conds = {c["type"]: c for c in pod["status"]["conditions"]}
    assert [conds[t]["status"] for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                         "PodScheduled")] == ["True"] * 5
    assert all(c["lastTransitionTime"] for c in conds.values())
    status = container_status(pod)
    assert status["ready"] and status["started"] and status["restartCount"] == 0
    assert status["image"] == "docker.io/library/busybox:1.35"
    assert status["imageID"].startswith("docker.io/library/busybox@sha256:")
    assert status["containerID"].startswith("everynode://")


# ------------------------------------------------------------------------ logs


def test_logs(cluster, namespace):
    create(cluster, namespace, pod_yaml(
        "talker", "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.3; done",
        extra_container="""  - name: side
    image: busybox:1.35
    command: ["sh", "-c", "echo side-car; sleep 3600"]
"""))
    running(cluster, namespace, "talker")
    wait_for(lambda: "line 3" in cluster.kubectl("logs", "talker", "-n", namespace, "-c", "main").stdout, 10)
    tail = cluster.kubectl("logs", "talker", "-n", namespace, "-c", "main", "--tail=2").stdout.splitlines()
    assert len(tail) == 2 and all(t.startswith("line ") for t in tail)
    stamped = cluster.kubectl("logs", "talker", "-n", namespace, "-c", "main", "--tail=1", "--timestamps").stdout
    assert stamped[:4].isdigit() and stamped[10] == "T" and " line " in stamped
    assert cluster.kubectl("logs", "talker", "-n", namespace, "-c", "main", "--since=1h").stdout.startswith("line 1\n")
    # -f streams new lines as they come.
    from everynode.cli.main import kubectl_binary

    proc = subprocess.Popen([kubectl_binary(), "logs", "-f", "talker", "-n", namespace, "-c", "main", "--tail=1"],
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)})
    try:
        got = [proc.stdout.readline() for _ in range(4)]
    finally:
        proc.kill()
        proc.wait()
    nums = [int(g.split()[1]) for g in got]
    assert nums == sorted(nums) and nums[-1] - nums[0] == 3
    # The API's own choice errors, as upstream.
    raw = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{namespace}/pods/talker/log", check=False)
    assert "a container name must be specified for pod talker, choose one of: [main side]" in raw.stderr
    bad = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{namespace}/pods/talker/log?container=nope",
                          check=False)
    assert "container nope is not valid for pod talker" in bad.stderr
    every = cluster.kubectl("logs", "-n", namespace, "-l", "app=talker", "--all-containers", "--prefix",
                            "--tail=1").stdout
    assert "[pod/talker/side] side-car" in every and "[pod/talker/main] line" in every


def test_unknown_image_waits_with_pull_errors(cluster, namespace):
    create(cluster, namespace, f"""apiVersion: v1
kind: Pod
metadata: {{name: noimage}}
spec:
  nodeName: {WORKER}
  containers: [{{name: main, image: registry.example.com/does-not-exist:1.0}}]
""")
    seen = set()

    def reasons():
        w = (container_status(get_pod(cluster, namespace, "noimage")).get("state") or {}).get("waiting") or {}
        seen.add(w.get("reason"))
        return {"ErrImagePull", "ImagePullBackOff"} <= seen
    wait_for(reasons, 20, interval=0.3, message="ErrImagePull then ImagePullBackOff")
    pod = get_pod(cluster, namespace, "noimage")
    assert pod["status"]["phase"] == "Pending"
    msg = cluster.kubectl("logs", "noimage", "-n", namespace, check=False).stderr
    assert 'container "main" in pod "noimage" is waiting to start' in msg


# ------------------------------------------------------------- restarts & probes


def test_crash_loop_back_off_grows(cluster, namespace):
    create(cluster, namespace, pod_yaml("crasher", "echo crashing; exit 3"))
    messages = []

    def second_window():
        st = container_status(get_pod(cluster, namespace, "crasher"))
        waiting = (st.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") == "CrashLoopBackOff":
            messages.append(waiting["message"])
        return any("back-off 20s" in m for m in messages)
    wait_for(second_window, 40, interval=0.5, message="back-off growing to 20s")
    assert any(m.startswith("back-off 10s restarting failed container=main pod=crasher_") for m in messages)
    st = container_status(get_pod(cluster, namespace, "crasher"))
    assert st["restartCount"] >= 2
    assert st["lastState"]["terminated"]["exitCode"] == 3 and st["lastState"]["terminated"]["reason"] == "Error"
    table = cluster.kubectl("get", "pod", "crasher", "-n", namespace).stdout
    assert "CrashLoopBackOff" in table
    assert "crashing" in cluster.kubectl("logs", "crasher", "-n", namespace, "--previous").stdout
    events = cluster.kubectl("get", "events", "-n", namespace, "--field-selector",
                             "involvedObject.name=crasher").stdout
    assert "BackOff" in events and "Back-off restarting failed container main in pod crasher_" in events


def test_failing_readiness_probe_keeps_pod_unready(cluster, namespace):
    create(cluster, namespace, pod_yaml("unready", "touch /tmp/unready-never; sleep 3600", container_extra="""    readinessProbe:
      exec: {command: ["sh", "-c", "exit 1"]}
      periodSeconds: 1
"""))
    pod = running(cluster, namespace, "unready")
    time.sleep(3)
    pod = get_pod(cluster, namespace, "unready")
    assert condition(pod, "Ready") == "False" and condition(pod, "ContainersReady") == "False"
    assert not container_status(pod)["ready"] and container_status(pod)["restartCount"] == 0
    assert "0/1" in cluster.kubectl("get", "pod", "unready", "-n", namespace).stdout
    events = cluster.kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.name=unready").stdout
    assert "Readiness probe failed" in events


def test_readiness_probe_passes_after_initial_delay(cluster, namespace):
    create(cluster, namespace, pod_yaml("ready-later", "sleep 3600", container_extra="""    readinessProbe:
      tcpSocket: {port: 1}
      initialDelaySeconds: 1
      periodSeconds: 1
    startupProbe:
      exec: {command: ["true"]}
      periodSeconds: 1
""", node=WORKER2))
    wait_for(lambda: container_status(get_pod(cluster, namespace, "ready-later")).get("started"), 15,
             message="startup probe passed")
    pod = get_pod(cluster, namespace, "ready-later")
    assert condition(pod, "Ready") == "False"  # nothing listens on port 1


def test_liveness_failure_restarts(cluster, namespace):
    create(cluster, namespace, pod_yaml("unlive", "echo alive; sleep 3600", pod_extra="  terminationGracePeriodSeconds: 2\n",
                                        container_extra="""    livenessProbe:
      httpGet: {path: /healthz, port: 8089}
      periodSeconds: 1
      failureThreshold: 2
"""))
    wait_for(lambda: container_status(get_pod(cluster, namespace, "unlive")).get("restartCount", 0) >= 1, 30,
             message="restart after liveness failure")
    events = cluster.kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.name=unlive").stdout
    assert "Liveness probe failed" in events and "failed liveness probe, will be restarted" in events


def test_graceful_deletion_honours_the_grace_period(cluster, namespace):
    create(cluster, namespace, pod_yaml(
        "graceful", "trap 'echo got TERM; sleep 2; echo bye; exit 0' TERM; echo ready; while true; do sleep 0.2; done",
        pod_extra="  terminationGracePeriodSeconds: 15\n"))
    running(cluster, namespace, "graceful")
    wait_for(lambda: "ready" in cluster.kubectl("logs", "graceful", "-n", namespace).stdout, 10)
    pids = [r["pid"] for r in records(cluster, WORKER)]
    from everynode.cli.main import kubectl_binary

    follow = subprocess.Popen([kubectl_binary(), "logs", "-f", "graceful", "-n", namespace], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)})
    time.sleep(0.5)
    start = time.monotonic()
    cluster.kubectl("delete", "pod", "graceful", "-n", namespace, timeout=60)
    took = time.monotonic() - start
    out, _ = follow.communicate(timeout=10)
    assert "got TERM" in out and "bye" in out
    assert 2 <= took < 12
    assert not [p for p in pids if alive(p) and p not in [r["pid"] for r in records(cluster, WORKER)]]


def test_memory_limit_kill_is_oomkilled(cluster, namespace):
    node = cluster.kubectl_json("get", "node", WORKER2)
    note = node["metadata"]["annotations"].get("everynode.io/resource-limits", "")
    if "memory" not in note.split("(")[0]:
        pytest.skip(f"memory limits are not enforced on this host: {note}")
    create(cluster, namespace, f"""apiVersion: v1
kind: Pod
metadata: {{name: hog}}
spec:
  nodeName: {WORKER2}
  restartPolicy: Never
  containers:
  - name: main
    image: python:3.11
    command: ["python3", "-c", "b = bytearray(400 * 1024 * 1024); print('survived')"]
    resources: {{limits: {{memory: 48Mi}}}}
""")
    pod = wait_for(lambda: (p := get_pod(cluster, namespace, "hog"))["status"].get("phase") == "Failed" and p, 30,
                   message="OOM kill")
    term = container_status(pod)["state"]["terminated"]
    assert term["reason"] == "OOMKilled" and term["exitCode"] == 137
    assert "OOMKilled" in cluster.kubectl("get", "pod", "hog", "-n", namespace).stdout


# ------------------------------------------------------------------ static pods


def test_static_pod_and_its_mirror(cluster):
    name = f"kube-controller-manager-{CONTROL_PLANE}"
    mirror = cluster.kubectl_json("get", "pod", name, "-n", "kube-system")
    ann = mirror["metadata"]["annotations"]
    assert ann["kubernetes.io/config.mirror"] == ann["kubernetes.io/config.hash"]
    assert ann["kubernetes.io/config.source"] == "file"
    assert mirror["metadata"]["labels"] == {"component": "kube-controller-manager", "tier": "control-plane"}
    assert mirror["metadata"]["ownerReferences"][0]["kind"] == "Node"
    wait_for(lambda: get_pod(cluster, "kube-system", name)["status"].get("phase") == "Running", 20)
    logs = cluster.kubectl("logs", "-n", "kube-system", "-l", "component=kube-controller-manager", "--tail=-1").stdout
    assert "started controllers" in logs
    # Deleting a mirror pod only makes the agent create it again; the static pod keeps running.
    old_uid = mirror["metadata"]["uid"]
    cluster.kubectl("delete", "pod", name, "-n", "kube-system", "--wait=false")
    again = wait_for(lambda: (p := get_pod(cluster, "kube-system", name))["metadata"]["uid"] != old_uid
                     and p["status"].get("phase") == "Running" and p, 30, message="mirror recreated")
    assert container_status(again, "kube-controller-manager")["restartCount"] == \
        container_status(mirror, "kube-controller-manager")["restartCount"]


# ------------------------------------------------------------------ drain & top


DS_YAML = """apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: busybox:1.35
        command: ["sh", "-c", "sleep 3600"]
{extra}"""


def test_drain_ignore_daemonsets(cluster, namespace):
    create(cluster, namespace, DS_YAML.format(name="dsdrain", extra=""))
    create(cluster, namespace, pod_yaml("bare", "sleep 3600", node=WORKER2, pod_extra="  terminationGracePeriodSeconds: 2\n"))
    running(cluster, namespace, "bare")
    wait_for(lambda: any(p["spec"]["nodeName"] == WORKER2 for p in cluster.kubectl_json(
        "get", "pods", "-n", namespace, "-l", "app=dsdrain")["items"]), 30, message="daemon pod on worker2")
    try:
        out = cluster.kubectl("drain", WORKER2, "--ignore-daemonsets", "--force", "--timeout=60s", timeout=90)
        assert f"node/{WORKER2} drained" in out.stdout
        assert cluster.kubectl_json("get", "node", WORKER2)["spec"].get("unschedulable") is True
        assert cluster.kubectl("get", "pod", "bare", "-n", namespace, check=False).returncode != 0
        daemons = cluster.kubectl_json("get", "pods", "-n", namespace, "-l", "app=dsdrain")["items"]
        assert any(p["spec"]["nodeName"] == WORKER2 for p in daemons)
    finally:
        cluster.kubectl("uncordon", WORKER2)
    assert not cluster.kubectl_json("get", "node", WORKER2)["spec"].get("unschedulable")


def test_readiness_failure_blocks_a_rolling_update(cluster, namespace):
    create(cluster, namespace, DS_YAML.format(name="dsroll", extra=""))
    wait_for(lambda: (d := cluster.kubectl_json("get", "ds", "dsroll", "-n", namespace)["status"]).get("numberReady")
             == d.get("desiredNumberScheduled", -1) > 0, 30, message="ds ready")
    old = {p["metadata"]["name"] for p in cluster.kubectl_json("get", "pods", "-n", namespace, "-l", "app=dsroll")["items"]}
    create(cluster, namespace, DS_YAML.format(name="dsroll", extra="""        readinessProbe:
          exec: {command: ["false"]}
          periodSeconds: 1
"""))
    time.sleep(8)
    pods = cluster.kubectl_json("get", "pods", "-n", namespace, "-l", "app=dsroll")["items"]
    new = [p for p in pods if p["metadata"]["name"] not in old]
    still_old = [p for p in pods if p["metadata"]["name"] in old]
    assert len(new) == 1 and condition(new[0], "Ready") == "False"
    assert len(still_old) >= 1  # maxUnavailable 1: the unready new pod holds the rest back


def test_top_node_and_pod(cluster, namespace):
    create(cluster, namespace, pod_yaml("burner", "while true; do :; done", container_extra="""    resources:
      limits: {cpu: 200m}
"""))
    running(cluster, namespace, "burner")
    time.sleep(1)
    out = wait_for(lambda: (r := cluster.kubectl("top", "node", check=False)).returncode == 0 and r.stdout, 20)
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "CPU(cores)", "CPU(%)"]
    assert {line.split()[0] for line in lines[1:]} >= {CONTROL_PLANE, WORKER, WORKER2}
    pods = wait_for(lambda: (r := cluster.kubectl("top", "pod", "burner", "-n", namespace, check=False)).returncode
                    == 0 and r.stdout, 20)
    millicores = int(pods.splitlines()[1].split()[1].rstrip("m"))
    assert 100 <= millicores <= 260, pods  # one busy loop under a 200m cpu limit
    raw = json.loads(cluster.kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods").stdout)
    assert raw["kind"] == "PodMetricsList" and raw["items"][0]["containers"][0]["name"] == "main"


# ---------------------------------------------- node commands, crashes, cleanup


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory):
    """A cluster of its own (nodes are stopped, removed and killed here), with a short node grace period."""
    data_dir = tmp_path_factory.mktemp("agentcluster")
    (data_dir / "cluster.json").write_text(json.dumps({"port": free_port(), "nodes": 2, "runtime": "process",
                                                       "controllers": True, "node_grace_period": 15.0}))
    c = RunningCluster(data_dir, json.loads((data_dir / "cluster.json").read_text())["port"])
    c.up()
    yield c
    c.down()


def node_ready(c: RunningCluster, name: str) -> str:
    for cond in c.kubectl_json("get", "node", name)["status"]["conditions"]:
        if cond["type"] == "Ready":
            return cond["status"]
    return "Unknown"


def test_node_add_stop_start_remove(own_cluster):
    c = own_cluster
    d = str(c.data_dir)
    out = everynode("node", "add", "edge-1", "--label", "tier=edge", "--taint", "dedicated=edge:NoSchedule",
                    "--cpu", "2", "--memory", "2Gi", "--pods", "20", "--data-dir", d)
    assert "node/edge-1 added" in out.stdout
    node = c.kubectl_json("get", "node", "edge-1")
    assert node["metadata"]["labels"]["tier"] == "edge"
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "edge", "effect": "NoSchedule"}]
    assert node["status"]["capacity"]["cpu"] == "2" and node["status"]["capacity"]["pods"] == "20"
    assert node_ready(c, "edge-1") == "True"
    dup = everynode("node", "add", "edge-1", "--data-dir", d, check=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    c.kubectl("apply", "-f", "-", input=DS_YAML.format(name="everywhere", extra="") .replace(
        "      containers:", "      tolerations: [{operator: Exists}]\n      containers:"))
    daemon = wait_for(lambda: [p for p in c.kubectl_json("get", "pods", "-l", "app=everywhere")["items"]
                               if p["spec"]["nodeName"] == "edge-1" and p["status"].get("phase") == "Running"], 30,
                      message="daemon pod on the new node")[0]
    pids = [r["pid"] for r in records(c, "edge-1")]
    assert pids

    everynode("node", "stop", "edge-1", "--data-dir", d)
    wait_for(lambda: not any(alive(p) for p in pids), 5, message="containers died with the node")
    wait_for(lambda: node_ready(c, "edge-1") == "Unknown", 45, message="node NotReady after the grace period")
    taints = {(t["key"], t["effect"]) for t in c.kubectl_json("get", "node", "edge-1")["spec"]["taints"]}
    assert ("node.kubernetes.io/unreachable", "NoExecute") in taints
    time.sleep(2)
    still = c.kubectl_json("get", "pod", daemon["metadata"]["name"])
    assert still["spec"]["nodeName"] == "edge-1" and not still["metadata"].get("deletionTimestamp")

    everynode("node", "start", "edge-1", "--data-dir", d)
    wait_for(lambda: node_ready(c, "edge-1") == "True", 30)
    back = wait_for(lambda: (p := c.kubectl_json("get", "pod", daemon["metadata"]["name"]))["status"].get("phase")
                    == "Running" and container_status(p).get("ready") and p, 30, message="daemon pod running again")
    assert container_status(back)["restartCount"] == container_status(daemon)["restartCount"] + 1
    assert container_status(back)["lastState"]["terminated"]["reason"] == "Unknown"
    pids = [r["pid"] for r in records(c, "edge-1")]

    out = everynode("node", "remove", "edge-1", "--data-dir", d)
    assert "node/edge-1 removed" in out.stdout
    assert c.kubectl("get", "node", "edge-1", check=False).returncode != 0
    wait_for(lambda: not [p for p in c.kubectl_json("get", "pods", "-l", "app=everywhere")["items"]
                          if p["spec"]["nodeName"] == "edge-1"], 30, message="pods of the removed node gone")
    assert pids and not any(alive(p) for p in pids)


def test_no_process_left_after_crash_restart_and_down(own_cluster):
    c = own_cluster
    c.kubectl("apply", "-f", "-", input=pod_yaml("sleeper", "sleep 3600 & sleep 3600", node="everynode-worker"))
    wait_for(lambda: records(c, "everynode-worker") and
             "running" in container_status(c.kubectl_json("get", "pod", "sleeper")).get("state", {}), 30)
    main_pids = [r["pid"] for r in records(c, "everynode-worker")]
    children = _children_of(main_pids)
    assert children
    pid = c.pid()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: c.pid() is None, 10)
    wait_for(lambda: not any(alive(p) for p in main_pids), 5, message="main processes die with the agent")
    c.up()  # the restarted agent kills what the crashed one left
    wait_for(lambda: not any(alive(p) for p in children), 10, message="orphans cleaned up on restart")
    # Until the restarted agent reports, the pod still shows the crashed agent's "running".
    pod = wait_for(lambda: (p := c.kubectl_json("get", "pod", "sleeper")) and
                   "running" in container_status(p).get("state", {}) and
                   container_status(p).get("restartCount") == 1 and p, 30,
                   message="the container restarted once and running")
    assert container_status(pod)["restartCount"] == 1
    new_pids = [r["pid"] for r in records(c, "everynode-worker")]
    new_children = _children_of(new_pids)
    c.down()
    assert not any(alive(p) for p in new_pids + new_children)
    c.up()


def _children_of(pids: list[int]) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[1]) in pids:
            out.append(int(entry.name))
    return out


def test_join_a_standalone_agent(own_cluster, tmp_path):
    c = own_cluster
    port = free_port()
    import sys

    token = (c.data_dir / "pki" / "admin.token").read_text().strip()
    agent = subprocess.Popen(
        [sys.executable, "-m", "everynode.cli.main", "node", "join", "--server", f"https://127.0.0.1:{c.port}",
         "--token", token, "--ca-file", str(c.data_dir / "pki" / "ca.crt"), "--name", "joined-1",
         "--data-dir", str(tmp_path), "--kubelet-port", str(port), "--label", "where=elsewhere"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        try:
            wait_for(lambda: node_ready(c, "joined-1") == "True", 30, message="joined node Ready")
        except AssertionError as exc:  # the agent's own output says why it did not join
            agent.kill()
            out = agent.communicate(timeout=10)[0]
            raise AssertionError(f"{exc}\nagent (exit {agent.returncode}) said:\n{out[-4000:]}") from None
        node = c.kubectl_json("get", "node", "joined-1")
        assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == port
        assert node["metadata"]["labels"]["where"] == "elsewhere"
        c.kubectl("apply", "-f", "-", input=pod_yaml("remote", "echo hello from afar; sleep 3600", node="joined-1"))
        wait_for(lambda: "hello from afar" in c.kubectl("logs", "remote", check=False).stdout, 30,
                 message="logs proxied to the joined agent")
        top = wait_for(lambda: (r := c.kubectl("top", "node", "joined-1", check=False)).returncode == 0 and r.stdout,
                       20, message="top of the joined node")
        assert "joined-1" in top
        pids = [json.loads(f.read_text())["pid"] for f in (tmp_path / "nodes" / "joined-1" / "containers").glob("*.json")]
        assert pids
        c.kubectl("delete", "pod", "remote", "--grace-period=1")
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(30)
    assert not any(alive(p) for p in pids)
    c.kubectl("delete", "node", "joined-1")
