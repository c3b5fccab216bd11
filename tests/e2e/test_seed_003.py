"""Seed 003 ("DaemonSets in Kubernetes"): the fluentd-elasticsearch example and the
behaviour the document describes in prose.

The manifest hardcodes namespace kube-system and tolerates the control-plane
(and legacy master) taints; the module has a cluster of its own, so it is
applied as written. The reader saves it as fluentd-elasticsearch.yaml. The
image has no command: it runs from the node agent's image catalog.

The document has no kubectl command, only the inline flag `--cascade=orphan`;
each claim it makes (taints tolerated automatically, unschedulable nodes,
ineligible nodes, direct pod edits, immutable selector, restartPolicy,
orphaning, priority, custom schedulers, static pods) gets a test here.
"""

from __future__ import annotations

import re

import yaml

from tests.conftest import wait_for
from tests.e2e.conftest import (
    ALL_NODES,
    CONTROL_PLANE,
    live,
    node_of,
    pods,
    wait_gone,
    wait_pods_on,
    wait_rolled_out,
)

SEED_ID = "003"
NS = "kube-system"
NAME = "fluentd-elasticsearch"
SELECTOR = "name=fluentd-elasticsearch"


def uids(seed) -> dict[str, str]:
    return {node_of(p): p["metadata"]["uid"] for p in live(pods(seed.cluster, SELECTOR, NS))}


def test_apply_runs_one_pod_per_node_including_the_control_plane(seed):
    seed.save_as("daemonset-fluentd-elasticsearch", "fluentd-elasticsearch.yaml")
    out = seed.sh("kubectl apply -f fluentd-elasticsearch.yaml")
    assert out.stdout.strip() == f"daemonset.apps/{NAME} created", out.stderr
    items = wait_pods_on(seed.cluster, SELECTOR, ALL_NODES, ns=NS)
    for p in items:  # the image runs from the catalog
        cs = p["status"]["containerStatuses"][0]
        assert "running" in cs["state"] and cs["image"] == "quay.io/fluentd_elasticsearch/fluentd:v2.5.2", cs
        assert p["spec"]["restartPolicy"] == "Always"
    ds = wait_rolled_out(seed.cluster, NAME, NS)
    # "Default update strategy for DaemonSets": RollingUpdate.
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}


def test_pods_tolerate_node_problems_automatically(seed):
    want = [("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule")]
    for p in pods(seed.cluster, SELECTOR, NS):
        have = {(t.get("key"), t.get("effect")) for t in p["spec"]["tolerations"] if t.get("operator") == "Exists"}
        assert set(want) <= have, p["spec"]["tolerations"]
    # ...but the DaemonSet itself keeps only what the manifest says.
    ds = seed.json("get", "ds", NAME, "-n", NS)
    assert [t["key"] for t in ds["spec"]["template"]["spec"]["tolerations"]] == [
        "node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"]


def test_pods_run_on_cordoned_nodes(seed):
    node = "everynode-worker"
    assert seed.kubectl("cordon", node).stdout.strip() == f"node/{node} cordoned"
    try:
        before = uids(seed)
        seed.kubectl("delete", "pod", "-n", NS, next(p["metadata"]["name"] for p in pods(seed.cluster, SELECTOR, NS)
                                                       if node_of(p) == node))
        items = wait_pods_on(seed.cluster, SELECTOR, ALL_NODES, ns=NS)
        replacement = next(p for p in items if node_of(p) == node)
        assert replacement["metadata"]["uid"] != before[node]
        status = {r.split()[0]: r.split()[1] for r in seed.kubectl("get", "nodes").stdout.splitlines()[1:]}
        assert status[node] == "Ready,SchedulingDisabled"
    finally:
        seed.kubectl("uncordon", node)


def test_pods_leave_nodes_that_become_ineligible_and_come_back(seed):
    node = "everynode-worker2"
    seed.kubectl("taint", "nodes", node, "dedicated=logging:NoExecute")
    try:
        wait_pods_on(seed.cluster, SELECTOR, [CONTROL_PLANE, "everynode-worker"], ns=NS)
    finally:
        seed.kubectl("taint", "nodes", node, "dedicated=logging:NoExecute-")
    wait_pods_on(seed.cluster, SELECTOR, ALL_NODES, ns=NS)


def test_labels_and_annotations_of_a_pod_change_in_place_other_fields_do_not(seed):
    pod = pods(seed.cluster, SELECTOR, NS)[0]
    name = pod["metadata"]["name"]
    assert seed.kubectl("label", "pod", name, "-n", NS, "tier=logging").stdout.strip() == f"pod/{name} labeled"
    assert seed.kubectl("annotate", "pod", name, "-n", NS, "note=checked").stdout.strip() == f"pod/{name} annotated"
    patch = '{"spec":{"containers":[{"name":"fluentd-elasticsearch","resources":{"limits":{"memory":"300Mi"}}}]}}'
    out = seed.kubectl("patch", "pod", name, "-n", NS, "-p", patch, check=False)
    assert out.returncode == 1
    assert f'The Pod "{name}" is invalid' in out.stderr and "pod updates may not change fields other than" \
        in out.stderr, out.stderr
    # For those: delete the pod; the DaemonSet makes a new one from its template.
    seed.kubectl("delete", "pod", name, "-n", NS)
    items = wait_pods_on(seed.cluster, SELECTOR, ALL_NODES, ns=NS)
    assert name not in {p["metadata"]["name"] for p in items}


def test_selector_is_immutable(seed):
    patch = '{"spec":{"selector":{"matchLabels":{"name":"other"}},"template":{"metadata":{"labels":{"name":"other"}}}}}'
    out = seed.kubectl("patch", "ds", NAME, "-n", NS, "--type", "merge", "-p", patch, check=False)
    assert out.returncode == 1
    assert f'The DaemonSet "{NAME}" is invalid: spec.selector: Invalid value:' in out.stderr, out.stderr
    assert "field is immutable" in out.stderr


def test_template_must_restart_always(seed):
    doc = yaml.safe_load(seed.text("daemonset-fluentd-elasticsearch"))
    doc["metadata"]["name"] = "never-restarts"
    doc["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    out = seed.kubectl("apply", "-f", "-", input=yaml.safe_dump(doc), check=False)
    assert out.returncode == 1
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"' \
        in out.stderr, out.stderr


def test_cascade_orphan_keeps_the_pods_and_a_new_daemonset_adopts_them(seed):
    seed.covered(149)
    before = uids(seed)
    out = seed.sh(f"kubectl delete daemonset {NAME} -n {NS} --cascade=orphan")
    assert out.stdout.strip() == f'daemonset.apps "{NAME}" deleted from {NS} namespace', out.stderr

    def orphaned():
        items = live(pods(seed.cluster, SELECTOR, NS))
        return len(items) == 3 and all(not p["metadata"].get("ownerReferences") for p in items) and items
    wait_for(orphaned, 30, message="pods orphaned")
    assert seed.kubectl("get", "ds", NAME, "-n", NS, check=False).returncode == 1
    assert uids(seed) == before
    # Applying the manifest again adopts the same pods, without restarting them.
    seed.sh("kubectl apply -f fluentd-elasticsearch.yaml")

    def adopted():
        items = live(pods(seed.cluster, SELECTOR, NS))
        return all(any(o.get("kind") == "DaemonSet" and o.get("controller") for o in
                       p["metadata"].get("ownerReferences") or []) for p in items) and items
    wait_for(adopted, 30, message="orphans adopted")
    wait_rolled_out(seed.cluster, NAME, NS)
    assert uids(seed) == before
    # Without --cascade=orphan the pods go with the DaemonSet.
    out = seed.sh(f"kubectl delete daemonset {NAME} -n {NS}")
    assert out.returncode == 0, out.stderr
    wait_gone(seed.cluster, SELECTOR, NS)


def test_priority_class_gives_daemon_pods_their_priority(seed):
    doc = yaml.safe_load(seed.text("daemonset-fluentd-elasticsearch"))
    doc["spec"]["template"]["spec"]["priorityClassName"] = "system-node-critical"
    seed.kubectl("apply", "-f", "-", input=yaml.safe_dump(doc))
    for p in wait_pods_on(seed.cluster, SELECTOR, ALL_NODES, ns=NS):
        assert p["spec"]["priority"] == 2000001000 and p["spec"]["priorityClassName"] == "system-node-critical"
    seed.kubectl("delete", "ds", NAME, "-n", NS)
    wait_gone(seed.cluster, SELECTOR, NS)


def test_custom_scheduler_name_leaves_pods_to_that_scheduler(seed):
    doc = yaml.safe_load(seed.text("daemonset-fluentd-elasticsearch"))
    doc["spec"]["template"]["spec"]["schedulerName"] = "my-scheduler"
    seed.kubectl("apply", "-f", "-", input=yaml.safe_dump(doc))
    # The DaemonSet controller creates one pod per node, pinned by node affinity; the default
    # scheduler leaves them alone, so they stay Pending and unbound.
    items = wait_pods_on(seed.cluster, SELECTOR, ALL_NODES, ns=NS, ready=False)
    for p in items:
        assert p["spec"]["schedulerName"] == "my-scheduler"
        assert not p["spec"].get("nodeName") and p["status"]["phase"] == "Pending"
    seed.kubectl("delete", "ds", NAME, "-n", NS)
    wait_gone(seed.cluster, SELECTOR, NS)


def test_static_pods_are_run_by_the_node_agent_not_the_api(seed):
    # The kubelet watches its manifest directory (inotify), so a new or removed manifest takes effect
    # within a moment, not at the next 20 s re-scan.
    node = "everynode-worker"
    manifests = seed.cluster.data_dir / "nodes" / node / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    (manifests / "static-web.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\n  labels:\n    app: static-web\n"
        "spec:\n  containers:\n  - name: web\n    image: busybox:1.35\n"
        "    command: [\"sh\", \"-c\", \"while true; do sleep 1; done\"]\n")
    mirror = f"static-web-{node}"
    (p,) = wait_pods_on(seed.cluster, "app=static-web", [node], timeout=5)
    assert p["metadata"]["name"] == mirror and "kubernetes.io/config.mirror" in p["metadata"]["annotations"]
    # Deleting the mirror through the API does not stop it: the agent puts it back.
    seed.kubectl("delete", "pod", mirror, "--wait=false")
    wait_for(lambda: (q := pods(seed.cluster, "app=static-web")) and q[0]["metadata"]["uid"] != p["metadata"]["uid"]
             and not q[0]["metadata"].get("deletionTimestamp"), 10, message="mirror pod recreated")
    # Removing the manifest is what stops it.
    (manifests / "static-web.yaml").unlink()
    wait_gone(seed.cluster, "app=static-web", timeout=5)


def test_every_command_was_run(seed):
    assert sorted(set(seed.commands) - seed.ran) == []
    assert re.fullmatch(r"--cascade=orphan", seed.commands[149][1])
