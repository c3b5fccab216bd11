"""Seed 000 ("DaemonSets" overview): the node-agent DaemonSet, its fragments and commands.

The document shows a toleration fragment, an updateStrategy fragment and a
node-agent DaemonSet (nginx, with requests), then three kubectl commands.
A reader saves the DaemonSet as node-agent.yaml, applies it, runs the
commands, then pastes the fragments into the file and applies it again.
nginx has no command in the manifest: it runs from the node agent's image
catalog (an HTTP server standing in for nginx).
"""

from __future__ import annotations

import yaml

from tests.conftest import wait_for
from tests.e2e.conftest import (
    ALL_NODES,
    CONTROL_PLANE,
    WORKERS,
    PodRecorder,
    assert_node_by_node,
    current_hash,
    is_ready,
    live,
    paste,
    pods,
    table,
    wait_pods_on,
    wait_rolled_out,
    waiting_reason,
)

SEED_ID = "000"


def save_manifest(seed, doc: dict) -> None:
    (seed.workdir / "node-agent.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def test_node_agent_runs_on_every_worker_not_the_control_plane(seed):
    seed.save_as("daemonset-node-agent", "node-agent.yaml")
    out = seed.sh("kubectl apply -f node-agent.yaml")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "daemonset.apps/node-agent created"
    # The control plane is tainted NoSchedule and node-agent has no toleration: 2 pods, on the workers.
    items = wait_pods_on(seed.cluster, "app=node-agent", WORKERS)
    for p in items:  # nginx without a command: runs from the image catalog
        cs = p["status"]["containerStatuses"][0]
        assert "running" in cs["state"], cs
        assert cs["image"] == "docker.io/library/nginx:latest"
        assert p["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}


def test_get_daemonsets(seed):
    wait_rolled_out(seed.cluster, "node-agent")
    out = seed.run(106)
    rows = table(out.stdout)
    assert list(rows[0]) == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                             "NODE SELECTOR", "AGE"]
    row = next(r for r in rows if r["NAME"] == "node-agent")
    assert [row[k] for k in ("DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR")] == \
        ["2", "2", "2", "2", "2", "<none>"]


def test_describe_daemonset(seed):
    out = seed.run(112, name="node-agent").stdout
    for expected in ("Name:           node-agent", "Selector:       app=node-agent",
                     "Desired Number of Nodes Scheduled: 2", "Current Number of Nodes Scheduled: 2",
                     "Number of Nodes Scheduled with Up-to-date Pods: 2",
                     "Number of Nodes Scheduled with Available Pods: 2", "Number of Nodes Misscheduled: 0",
                     "Pods Status:  2 Running / 0 Waiting / 0 Succeeded / 0 Failed",
                     "Pod Template:", "Image:      nginx", "cpu:         100m", "memory:      128Mi",
                     "Events:"):
        assert expected in out, f"{expected!r} not in describe output:\n{out}"
    assert out.count("SuccessfulCreate") == 2, out


def test_pods_per_node_wide(seed):
    rows = table(seed.run(118).stdout)
    mine = [r for r in rows if r["NAME"].startswith("node-agent-")]
    assert sorted(r["NODE"] for r in mine) == WORKERS
    assert all(r["READY"] == "1/1" and r["STATUS"] == "Running" for r in mine), mine


def test_requests_count_against_each_node(seed):
    # "Requests are especially important ... since every Node runs one copy."
    for node in WORKERS:
        out = seed.kubectl("describe", "node", node).stdout
        line = next(ln for ln in out.splitlines() if "node-agent-" in ln)
        assert "100m" in line and "128Mi" in line, line
        assert "Allocated resources:" in out


def test_update_strategy_fragment_changes_nothing_running(seed):
    before = {p["metadata"]["uid"] for p in pods(seed.cluster, "app=node-agent")}
    base = yaml.safe_load(seed.text("daemonset-node-agent"))
    doc = paste(base, yaml.safe_load(seed.text("fragment-update-strategies")), at=("spec",))
    save_manifest(seed, doc)
    out = seed.sh("kubectl apply -f node-agent.yaml")
    assert out.returncode == 0 and "daemonset.apps/node-agent configured" in out.stdout, out
    ds = seed.json("get", "ds", "node-agent")
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    wait_rolled_out(seed.cluster, "node-agent")
    assert {p["metadata"]["uid"] for p in pods(seed.cluster, "app=node-agent")} == before


def test_tolerate_everything_fragment_adds_control_plane_node_by_node(seed):
    base = yaml.safe_load(seed.text("daemonset-node-agent"))
    doc = paste(base, yaml.safe_load(seed.text("fragment-update-strategies")), at=("spec",))
    doc = paste(doc, yaml.safe_load(seed.text("fragment-taints-and-daemonsets")), at=("spec", "template", "spec"))
    save_manifest(seed, doc)
    with PodRecorder(seed.cluster, "app=node-agent") as rec:
        out = seed.sh("kubectl apply -f node-agent.yaml")
        assert out.returncode == 0, out.stderr
        wait_rolled_out(seed.cluster, "node-agent")
        items = wait_pods_on(seed.cluster, "app=node-agent", ALL_NODES)
    new_hash = current_hash(seed.cluster, "node-agent")
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in items} == {new_hash}
    assert CONTROL_PLANE in [p["spec"]["nodeName"] for p in items]
    # The workers' pods were replaced one node at a time (maxUnavailable: 1).
    assert_node_by_node(rec, WORKERS, new_hash)
    rows = table(seed.run(106).stdout)
    assert next(r for r in rows if r["NAME"] == "node-agent")["DESIRED"] == "3"


def test_image_typo_waits_with_an_honest_reason_and_stalls_the_rollout(seed):
    out = seed.sh("kubectl set image daemonset/node-agent agent=ngnix")
    assert out.returncode == 0 and "daemonset.apps/node-agent image updated" in out.stdout, out

    def stuck():
        items = live(pods(seed.cluster, "app=node-agent"))
        bad = [p for p in items if p["spec"]["containers"][0]["image"] == "ngnix"]
        if len(bad) != 1:
            return None
        reason, message = waiting_reason(bad[0])
        return (bad, items, reason, message) if reason in ("ErrImagePull", "ImagePullBackOff") else None
    bad, items, reason, message = wait_for(stuck, 60, message="one pod waiting on the bad image")
    assert "ngnix" in message, message
    # maxUnavailable 1: the two other nodes keep their Ready nginx pods, nothing more is replaced.
    old = [p for p in items if p["spec"]["containers"][0]["image"] == "nginx"]
    assert len(old) == 2 and all(is_ready(p) for p in old)
    st = seed.json("get", "ds", "node-agent")["status"]
    assert st["updatedNumberScheduled"] == 1 and st.get("numberUnavailable") == 1, st
    out = seed.sh("kubectl rollout undo daemonset/node-agent")
    assert out.returncode == 0 and "daemonset.apps/node-agent rolled back" in out.stdout, out
    wait_rolled_out(seed.cluster, "node-agent")
    items = wait_pods_on(seed.cluster, "app=node-agent", ALL_NODES)
    assert {p["spec"]["containers"][0]["image"] for p in items} == {"nginx"}


def test_every_command_was_run(seed):
    assert sorted(set(seed.commands) - seed.ran) == []
