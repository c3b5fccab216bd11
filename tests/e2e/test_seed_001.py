"""Seed 001 ("Kubernetes DaemonSet"): the common kubectl commands on the fluentd example.

The document's manifest (daemonset-example.yaml) hardcodes namespace
kube-system and tolerates the control-plane taint. The module has a cluster
of its own, so it is applied as written, into kube-system: <namespace> is
kube-system and <daemonset-name> is fluentd-logging-agent. The reader saves
it under the name the first command uses, manifest.yaml. fluent/fluentd has
no command in the manifest: it runs from the node agent's image catalog.
"""

from __future__ import annotations

from tests.e2e.conftest import (
    ALL_NODES,
    PodRecorder,
    assert_node_by_node,
    current_hash,
    pods,
    table,
    wait_gone,
    wait_pods_on,
    wait_rolled_out,
)

SEED_ID = "001"
NS = "kube-system"
NAME = "fluentd-logging-agent"
SELECTOR = "name=fluentd-logging-agent"
VALUES = {"namespace": NS, "daemonset_name": NAME}


def test_apply_manifest_runs_a_pod_on_every_node(seed):
    seed.save_as("daemonset-example", "manifest.yaml")
    out = seed.run(20)
    assert out.stdout.strip() == f"daemonset.apps/{NAME} created"
    # It tolerates the control-plane taint: one pod on each of the 3 nodes, fluentd from the catalog.
    items = wait_pods_on(seed.cluster, SELECTOR, ALL_NODES, ns=NS)
    for p in items:
        cs = p["status"]["containerStatuses"][0]
        assert "running" in cs["state"] and cs["image"] == "docker.io/fluent/fluentd:v1.14.5-1.0", cs


def test_get_daemonsets_in_namespace(seed):
    wait_rolled_out(seed.cluster, NAME, NS)
    rows = table(seed.run(28, **VALUES).stdout)
    row = next(r for r in rows if r["NAME"] == NAME)
    assert [row[k] for k in ("DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE")] == ["3"] * 5


def test_describe_shows_scheduled_ready_and_available(seed):
    out = seed.run(36, **VALUES).stdout
    for expected in (f"Name:           {NAME}", f"Namespace:      {NS}", "Labels:         k8s-app=fluentd-logging",
                     "Desired Number of Nodes Scheduled: 3", "Current Number of Nodes Scheduled: 3",
                     "Number of Nodes Scheduled with Available Pods: 3",
                     "Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed",
                     "Image:      fluent/fluentd:v1.14.5-1.0",
                     "/var/log from varlog (rw)",
                     "/var/lib/docker/containers from varlibdockercontainers (ro)",
                     "Type:          HostPath (bare host directory volume)",
                     "node-role.kubernetes.io/control-plane:NoSchedule op=Exists"):
        assert expected in out, f"{expected!r} not in:\n{out}"


def test_rollout_status(seed):
    out = seed.run(44, **VALUES, timeout=90)
    assert out.stdout.strip().splitlines()[-1] == f'daemon set "{NAME}" successfully rolled out'


def test_edit_rolls_the_change_out_node_by_node(seed):
    # The editor the reader would use, replaced by a script: raise the memory request and limit.
    editor = "sed -i -e 's/memory: 200Mi/memory: 256Mi/'"
    before = {p["metadata"]["uid"] for p in pods(seed.cluster, SELECTOR, NS)}
    with PodRecorder(seed.cluster, SELECTOR, NS) as rec:
        out = seed.run(52, **VALUES, env={"KUBE_EDITOR": editor})
        assert out.stdout.strip() == f"daemonset.apps/{NAME} edited"
        status = seed.run(44, **VALUES, timeout=120)
        assert f'daemon set "{NAME}" successfully rolled out' in status.stdout
        items = wait_pods_on(seed.cluster, SELECTOR, ALL_NODES, ns=NS)
    assert not before & {p["metadata"]["uid"] for p in items}, "every pod was replaced"
    for p in items:
        assert p["spec"]["containers"][0]["resources"] == {"limits": {"memory": "256Mi"},
                                                          "requests": {"cpu": "100m", "memory": "256Mi"}}
    assert_node_by_node(rec, ALL_NODES, current_hash(seed.cluster, NAME, NS))


def test_delete_cleans_up_its_pods(seed):
    out = seed.run(59, **VALUES)
    assert out.stdout.strip() == f'daemonset.apps "{NAME}" deleted from {NS} namespace'
    wait_gone(seed.cluster, SELECTOR, NS)
    rows = seed.run(28, **VALUES)
    assert NAME not in rows.stdout


def test_every_command_was_run(seed):
    assert sorted(set(seed.commands) - seed.ran) == []
