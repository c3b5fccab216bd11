"""The real kubectl against a running cluster: the everyday commands."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time

import pytest

pytestmark = pytest.mark.integration

DS = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: main
        image: {image}
        command: ["sleep", "3600"]
"""


def apply(cluster, namespace, name, image="busybox:1.35"):
    return cluster.kubectl("apply", "-n", namespace, "-f", "-", input=DS.format(name=name, image=image))


def test_apply_create_then_reapply_with_change(cluster, namespace):
    out = apply(cluster, namespace, "app1").stdout
    assert "daemonset.apps/app1 created" in out
    out = apply(cluster, namespace, "app1").stdout
    assert "daemonset.apps/app1 unchanged" in out
    out = apply(cluster, namespace, "app1", image="busybox:1.36").stdout
    assert "daemonset.apps/app1 configured" in out
    ds = cluster.kubectl_json("get", "ds", "app1", "-n", namespace)
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.36"
    assert ds["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in ds["metadata"]["annotations"]


def test_get_output_formats(cluster, namespace):
    apply(cluster, namespace, "fmt")
    table = cluster.kubectl("get", "ds", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                                "NODE", "SELECTOR", "AGE"]
    assert table[1].startswith("fmt ")
    wide = cluster.kubectl("get", "ds", "-n", namespace, "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert "busybox:1.35" in wide[1] and "app=fmt" in wide[1]
    y = cluster.kubectl("get", "ds", "fmt", "-n", namespace, "-o", "yaml").stdout
    assert "kind: DaemonSet" in y and "name: fmt" in y
    j = cluster.kubectl_json("get", "ds", "fmt", "-n", namespace)
    assert j["kind"] == "DaemonSet" and j["apiVersion"] == "apps/v1"
    jp = cluster.kubectl("get", "ds", "fmt", "-n", namespace,
                         "-o", "jsonpath={.spec.template.spec.containers[0].image}").stdout
    assert jp == "busybox:1.35"
    assert cluster.kubectl("get", "ds", "-n", namespace, "-o", "name").stdout.strip() == "daemonset.apps/fmt"
    labels = cluster.kubectl("get", "ds", "-n", namespace, "--show-labels").stdout.splitlines()
    assert labels[0].split()[-1] == "LABELS" and labels[1].split()[-1] == "app=fmt"
    nodes = cluster.kubectl("get", "nodes").stdout
    assert "everynode-control-plane" in nodes and "control-plane" in nodes


def test_get_watch_sees_changes(cluster, namespace):
    apply(cluster, namespace, "watched")
    proc = subprocess.Popen([_kubectl(), "get", "ds", "-n", namespace, "-w", "--request-timeout=20s",
                             "-o", "custom-columns=NAME:.metadata.name,IMAGE:.spec.template.spec.containers[0].image"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)})
    try:
        time.sleep(1.5)
        apply(cluster, namespace, "watched", image="busybox:1.36")
        deadline = time.time() + 20
        lines: list[str] = []
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "busybox:1.36" in line:
                break
        assert any("busybox:1.35" in x for x in lines), lines
        assert any("busybox:1.36" in x for x in lines), lines
    finally:
        proc.kill()
        proc.wait()


def _kubectl():
    from everynode.cli.main import kubectl_binary

    return kubectl_binary()


def test_describe_daemonset(cluster, namespace):
    apply(cluster, namespace, "desc")
    out = cluster.kubectl("describe", "ds", "desc", "-n", namespace).stdout
    for needle in ("Name:           desc", "Selector:       app=desc", "Desired Number of Nodes Scheduled:",
                   "Pods Status:", "Pod Template:", "Image:      busybox:1.35", "Events:"):
        assert needle in out, (needle, out)


def test_label_annotate_and_delete_by_label(cluster, namespace):
    apply(cluster, namespace, "lab1")
    apply(cluster, namespace, "lab2")
    assert "labeled" in cluster.kubectl("label", "ds", "lab1", "-n", namespace, "tier=infra").stdout
    assert "annotated" in cluster.kubectl("annotate", "ds", "lab1", "-n", namespace, "owner=me").stdout
    ds = cluster.kubectl_json("get", "ds", "lab1", "-n", namespace)
    assert ds["metadata"]["labels"]["tier"] == "infra"
    assert ds["metadata"]["annotations"]["owner"] == "me"
    cluster.kubectl("label", "ds", "lab1", "-n", namespace, "tier-")
    assert "tier" not in cluster.kubectl_json("get", "ds", "lab1", "-n", namespace)["metadata"]["labels"]
    cluster.kubectl("label", "ds", "lab2", "-n", namespace, "doomed=yes")
    out = cluster.kubectl("delete", "ds", "-n", namespace, "-l", "doomed=yes").stdout
    assert 'daemonset.apps "lab2" deleted' in out
    names = cluster.kubectl("get", "ds", "-n", namespace, "-o", "name").stdout.split()
    assert names == ["daemonset.apps/lab1"]


@pytest.mark.parametrize("ptype,patch,expect", [
    ("strategic", '{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"busybox:1.36"}]}}}}',
     "busybox:1.36"),
    ("merge", '{"metadata":{"labels":{"via":"merge"}}}', None),
    ("json", '[{"op":"add","path":"/spec/minReadySeconds","value":5}]', None),
])
def test_patch_types(cluster, namespace, ptype, patch, expect):
    apply(cluster, namespace, "patched")
    out = cluster.kubectl("patch", "ds", "patched", "-n", namespace, "--type", ptype, "-p", patch).stdout
    assert "daemonset.apps/patched patched" in out
    ds = cluster.kubectl_json("get", "ds", "patched", "-n", namespace)
    if ptype == "strategic":
        assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == expect
        assert len(ds["spec"]["template"]["spec"]["containers"]) == 1
    elif ptype == "merge":
        assert ds["metadata"]["labels"]["via"] == "merge"
    else:
        assert ds["spec"]["minReadySeconds"] == 5


def test_edit_with_noninteractive_editor(cluster, namespace, tmp_path):
    apply(cluster, namespace, "edited")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/busybox:1.35/busybox:1.37/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    out = cluster.kubectl("edit", "ds", "edited", "-n", namespace, env={"EDITOR": str(editor),
                                                                         "KUBE_EDITOR": str(editor)}).stdout
    assert "daemonset.apps/edited edited" in out
    ds = cluster.kubectl_json("get", "ds", "edited", "-n", namespace)
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"


def test_api_resources_and_explain(cluster):
    out = cluster.kubectl("api-resources").stdout
    rows = {(line.split()[0], line.split()[-3]): line.split() for line in out.splitlines()[1:]}
    assert rows[("daemonsets", "apps/v1")][1] == "ds"
    assert rows[("pods", "v1")][1] == "po" and rows[("nodes", "v1")][1] == "no"
    out = cluster.kubectl("explain", "daemonset.spec.updateStrategy").stdout
    assert "KIND:       DaemonSet" in out and "rollingUpdate" in out and "type" in out
    out = cluster.kubectl("explain", "ds.spec.template.spec.containers.image").stdout
    assert "FIELD: image <string>" in out


def test_json_output_of_list_is_a_list(cluster, namespace):
    apply(cluster, namespace, "listme")
    out = json.loads(cluster.kubectl("get", "ds", "-n", namespace, "-o", "json").stdout)
    assert out["kind"] == "List" and out["items"][0]["metadata"]["name"] == "listme"


def test_apply_a_list_is_validated_on_the_client(cluster, namespace):
    # kubectl validates a `kind: List` itself, against /openapi/v2 in protobuf (the file
    # `kubectl get -o yaml` writes for several objects is one).
    apply(cluster, namespace, "lista")
    apply(cluster, namespace, "listb")
    listed = cluster.kubectl("get", "ds", "lista", "listb", "-n", namespace, "-o", "yaml").stdout
    assert listed.startswith("apiVersion: v1\nitems:") and "kind: List" in listed
    # Without the resourceVersions (the controller writes status meanwhile: a conflict, as upstream).
    edited = "\n".join(line for line in listed.replace("busybox:1.35", "busybox:1.36").split("\n")
                        if not line.strip().startswith("resourceVersion:"))
    out = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=edited)
    assert out.stdout.split("\n")[:2] == ["daemonset.apps/lista configured", "daemonset.apps/listb configured"]
    bad = {"apiVersion": "v1", "kind": "List", "items": [
        json.loads(cluster.kubectl("create", "-f", "-", "--dry-run=client", "-o", "json",
                                   input=DS.format(name="listc", image="busybox:1.35")).stdout)]}
    bad["items"][0]["spec"]["bogusField"] = 1
    out = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(bad), check=False)
    assert out.returncode == 1
    assert ('ValidationError(DaemonSet.spec): unknown field "bogusField" in io.k8s.api.apps.v1.DaemonSetSpec'
            in out.stderr)
    assert cluster.kubectl("get", "ds", "listc", "-n", namespace, check=False).returncode != 0


def test_openapi_v2_in_json_and_protobuf_by_accept(cluster):
    from kubernetes.client.exceptions import ApiException

    api = cluster.api_client()

    def get(accept):
        method, url, headers, body, _ = api.param_serialize("GET", "/openapi/v2", header_params={"Accept": accept},
                                                             auth_settings=["BearerToken"])
        resp = api.call_api(method, url, headers, body)
        resp.read()
        if resp.status >= 400:
            raise ApiException(http_resp=resp)
        return resp.status, resp.getheader("Content-Type"), resp.data

    status, ctype, body = get("application/json")
    assert (status, ctype) == (200, "application/json") and json.loads(body)["swagger"] == "2.0"
    status, ctype, body = get("application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert (status, ctype) == (200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    assert body.startswith(b"\x0a\x032.0")  # field 1 (swagger): "2.0"
    with pytest.raises(ApiException) as exc:
        get("text/html")
    assert exc.value.status == 406 and json.loads(exc.value.body)["reason"] == "NotAcceptable"
