"""The kubectl compatibility matrix (docs/compatibility.md): the rows that neither a seed
walkthrough nor an integration test keeps true.

"Not supported" rows assert today's failure, so the document changes when the behaviour does.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import wait_for
from tests.e2e.conftest import WORKERS, table, wait_pods_on, wait_rolled_out

DS = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: matrix
spec:
  selector:
    matchLabels:
      app: matrix
  template:
    metadata:
      labels:
        app: matrix
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: busybox:1.35
        command: ["sh", "-c", "echo ready; while true; do sleep 1; done"]
"""


@pytest.fixture(scope="module")
def c(seed_cluster):
    seed_cluster.kubectl("apply", "-f", "-", input=DS)
    wait_pods_on(seed_cluster, "app=matrix", WORKERS)
    return seed_cluster


def kubectl(c, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return c.kubectl(*args, check=False, input=input)


def a_pod(c) -> str:
    return c.kubectl_json("get", "pods", "-l", "app=matrix")["items"][0]["metadata"]["name"]


def test_events_for_an_object(c):
    rows = table(kubectl(c, "events", "--for", "daemonset/matrix").stdout)
    assert rows and {r["OBJECT"] for r in rows} == {"DaemonSet/matrix"}
    assert {r["REASON"] for r in rows} == {"SuccessfulCreate"}


def test_wait_for_condition(c):
    out = kubectl(c, "wait", "--for=condition=Ready", "pod", "-l", "app=matrix", "--timeout=30s")
    assert out.returncode == 0 and out.stdout.count("condition met") == 2, out


def test_diff_and_replace(c):
    assert kubectl(c, "diff", "-f", "-", input=DS).returncode == 0
    changed = DS.replace("busybox:1.35", "busybox:1.36")
    out = kubectl(c, "diff", "-f", "-", input=changed)
    assert out.returncode == 1 and "-        image: busybox:1.35" in out.stdout and "+        image: busybox:1.36" \
        in out.stdout, out
    out = kubectl(c, "replace", "-f", "-", input=changed)
    assert out.stdout.strip() == "daemonset.apps/matrix replaced", out.stderr
    wait_rolled_out(c, "matrix")


def test_rollout_history_revision_and_undo_to_revision(c):
    out = kubectl(c, "rollout", "history", "daemonset/matrix", "--revision=1")
    assert out.stdout.startswith("daemonset.apps/matrix with revision #1\nPod Template:"), out
    assert "busybox:1.35" in out.stdout
    out = kubectl(c, "rollout", "undo", "daemonset/matrix", "--to-revision=99")
    assert out.returncode == 1 and "unable to find specified revision 99 in history" in out.stderr, out
    out = kubectl(c, "rollout", "undo", "daemonset/matrix", "--to-revision=1")
    assert out.stdout.strip() == "daemonset.apps/matrix rolled back", out
    wait_rolled_out(c, "matrix")
    out = kubectl(c, "rollout", "undo", "daemonset/matrix", "--to-revision=3")
    assert "skipped rollback (current template already matches revision 3)" in out.stdout + out.stderr, out


def test_rollout_restart(c):
    out = kubectl(c, "rollout", "restart", "daemonset/matrix")
    assert out.stdout.strip() == "daemonset.apps/matrix restarted", out
    ds = wait_rolled_out(c, "matrix")
    assert "kubectl.kubernetes.io/restartedAt" in ds["spec"]["template"]["metadata"]["annotations"]


def test_set_image_of_an_unknown_container(c):
    out = kubectl(c, "set", "image", "daemonset/matrix", "nope=busybox:1.36")
    assert out.returncode == 1 and 'error: unable to find container named "nope"' in out.stderr, out


def test_rollout_status_of_on_delete(c):
    kubectl(c, "patch", "ds", "matrix", "--type", "merge", "-p",
            '{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}')
    try:
        out = kubectl(c, "rollout", "status", "daemonset/matrix")
        assert out.returncode == 1
        assert "rollout status is only available for RollingUpdate strategy type" in out.stderr, out
    finally:
        kubectl(c, "patch", "ds", "matrix", "--type", "merge", "-p", '{"spec":{"updateStrategy":{"type":"RollingUpdate"}}}')


def test_scale_is_refused_as_upstream_does(c):
    # DaemonSets have no scale subresource upstream either.
    out = kubectl(c, "scale", "daemonset", "matrix", "--replicas=3")
    assert out.returncode == 1
    assert out.stderr.strip() == "Error from server (NotFound): the server could not find the requested resource"


def test_exec_is_not_supported(c):
    out = kubectl(c, "exec", a_pod(c), "--", "echo", "hi")
    assert out.returncode == 1
    assert "unable to upgrade connection: the server could not find the requested resource" in out.stderr, out


def test_port_forward_is_not_supported(c):
    out = subprocess.run(["timeout", "20", *_kubectl(c), "port-forward", f"pod/{a_pod(c)}", "0:80"],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "unable to upgrade connection" in out.stderr, out


def _kubectl(c) -> list[str]:
    from everynode.cli.main import kubectl_binary

    return [kubectl_binary(), f"--kubeconfig={c.kubeconfig}"]


def test_debug_with_an_ephemeral_container_says_it_is_unsupported(c):
    # Without the ephemeralcontainers subresource, kubectl expects upstream's 404 Status (with an
    # empty "details") and says so; a Status without details makes kubectl 1.37 crash.
    out = kubectl(c, "debug", a_pod(c), "--image=busybox:1.35", "--", "true")
    assert "panic:" not in out.stderr, out.stderr[:400]
    assert out.returncode == 1
    assert "error: ephemeral containers are disabled for this cluster" in out.stderr, out


def test_server_side_apply_is_not_supported(c):
    out = kubectl(c, "apply", "--server-side", "-f", "-", input=DS)
    assert out.returncode == 1 and "Server-side apply not available on the server" in out.stderr, out


def test_auth_can_i_is_not_supported(c):
    out = kubectl(c, "auth", "can-i", "create", "daemonsets")
    assert out.returncode == 1
    assert "the server could not find the requested resource" in out.stderr, out


def test_cluster_info_is_not_supported(c):
    out = kubectl(c, "cluster-info")
    assert out.returncode == 1
    assert 'the server doesn\'t have a resource type "services"' in out.stderr, out


def test_logs_previous_of_a_container_that_never_restarted(c):
    out = kubectl(c, "logs", a_pod(c), "--previous")
    assert out.returncode == 1
    assert re.search(r'previous terminated container "main" in pod "matrix-\w+" not found', out.stderr), out


def test_get_all_and_watch_across_namespaces(c):
    rows = table(kubectl(c, "get", "all").stdout)
    assert {r["NAME"].split("/")[0] for r in rows if r.get("NAME")} >= {"pod", "daemonset.apps"}
    out = kubectl(c, "get", "ds", "-A", "-w", "--request-timeout=2s")
    assert re.search(r"^default\s+matrix\s+2\s+2\s+2", out.stdout, re.M), out


def test_drain_leaves_daemon_pods_alone(c):
    node = "everynode-worker"
    try:
        out = kubectl(c, "drain", node)
        assert out.returncode == 1
        assert re.search(r"cannot delete DaemonSet-managed Pods \(use --ignore-daemonsets to ignore\): "
                         r"default/matrix-\w+", out.stderr), out
        out = kubectl(c, "drain", node, "--ignore-daemonsets")
        assert out.returncode == 0 and f"node/{node} drained" in out.stdout, out
        assert re.search(r"Warning: ignoring DaemonSet-managed Pods: default/matrix-\w+", out.stderr), out
        wait_pods_on(c, "app=matrix", WORKERS)  # still there, node cordoned or not
    finally:
        kubectl(c, "uncordon", node)


def test_version_names_the_server(c):
    out = kubectl(c, "version")
    assert re.search(r"^Server Version: v1\.37\.\d+-everynode\.", out.stdout, re.M), out


def test_delete_daemonset_cleans_up(c):
    out = kubectl(c, "delete", "daemonset", "matrix")
    assert out.stdout.strip() == 'daemonset.apps "matrix" deleted from default namespace'
    wait_for(lambda: c.kubectl_json("get", "pods", "-l", "app=matrix")["items"] == [], 60,
             message="matrix pods gone")
