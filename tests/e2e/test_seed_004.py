"""Seed 004 (KodeKloud notes): the fluentd-logger example and the node lifecycle it describes.

The manifest hardcodes namespace kube-system and has no toleration, so the
tainted control plane gets no pod. The module has a cluster of its own, so
the manifest is applied as written; the reader saves it as
fluentd-logger.yaml. fluent/fluentd has no command: it runs from the node
agent's image catalog. The document has no kubectl command; its claims
(one pod per node, pods added with new nodes and deleted with removed
ones, rolling updates, kube-system as the usual namespace) are tested.
"""

from __future__ import annotations

from tests.conftest import everynode
from tests.e2e.conftest import (
    CONTROL_PLANE,
    WORKERS,
    PodRecorder,
    assert_node_by_node,
    current_hash,
    table,
    wait_pods_on,
    wait_rolled_out,
)

SEED_ID = "004"
NS = "kube-system"
NAME = "fluentd-logger"
SELECTOR = "name=fluentd"
NEW_NODE = "everynode-worker3"


def test_one_pod_per_schedulable_node(seed):
    seed.save_as("daemonset-fluentd-logger", "fluentd-logger.yaml")
    out = seed.sh("kubectl apply -f fluentd-logger.yaml")
    assert out.stdout.strip() == f"daemonset.apps/{NAME} created", out.stderr
    items = wait_pods_on(seed.cluster, SELECTOR, WORKERS, ns=NS)
    for p in items:
        cs = p["status"]["containerStatuses"][0]
        assert "running" in cs["state"] and cs["image"] == "docker.io/fluent/fluentd:latest", cs
    # kube-system, the usual home of DaemonSets, lists it next to nothing else of ours
    # (once the controller has counted the pods it saw start).
    wait_rolled_out(seed.cluster, NAME, NS)
    rows = {r["NAME"]: r for r in table(seed.kubectl("get", "daemonsets", "-n", NS).stdout)}
    assert rows[NAME]["DESIRED"] == "2" and rows[NAME]["READY"] == "2"
    assert CONTROL_PLANE not in {p["spec"]["nodeName"] for p in items}


def test_a_new_node_gets_a_pod(seed):
    out = everynode("node", "add", NEW_NODE, "--data-dir", str(seed.cluster.data_dir))
    assert out.returncode == 0
    wait_pods_on(seed.cluster, SELECTOR, [*WORKERS, NEW_NODE], ns=NS)
    assert wait_rolled_out(seed.cluster, NAME, NS)["status"]["desiredNumberScheduled"] == 3


def test_a_removed_node_loses_its_pod(seed):
    everynode("node", "remove", NEW_NODE, "--data-dir", str(seed.cluster.data_dir))
    assert seed.kubectl("get", "node", NEW_NODE, check=False).returncode == 1
    wait_pods_on(seed.cluster, SELECTOR, WORKERS, ns=NS)
    assert wait_rolled_out(seed.cluster, NAME, NS)["status"]["desiredNumberScheduled"] == 2


def test_rolling_update_like_a_deployment(seed):
    with PodRecorder(seed.cluster, SELECTOR, NS) as rec:
        out = seed.sh(f"kubectl set image daemonset/{NAME} -n {NS} fluentd=fluent/fluentd:v1.16-1")
        assert out.stdout.strip() == f"daemonset.apps/{NAME} image updated", out.stderr
        out = seed.sh(f"kubectl rollout status daemonset/{NAME} -n {NS} --timeout=60s")
        assert out.stdout.strip().splitlines()[-1] == f'daemon set "{NAME}" successfully rolled out', out
        items = wait_pods_on(seed.cluster, SELECTOR, WORKERS, ns=NS)
    assert {p["spec"]["containers"][0]["image"] for p in items} == {"fluent/fluentd:v1.16-1"}
    assert_node_by_node(rec, WORKERS, current_hash(seed.cluster, NAME, NS))


def test_deployments_are_not_served(seed):
    # The comparison table contrasts DaemonSets with Deployments; everynode serves DaemonSets only.
    out = seed.kubectl("get", "deployments", check=False)
    assert out.returncode == 1
    assert 'the server doesn\'t have a resource type "deployments"' in out.stderr, out.stderr


def test_every_command_was_run(seed):
    assert sorted(set(seed.commands) - seed.ran) == []
