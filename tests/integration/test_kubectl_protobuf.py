"""kubectl commands whose request bodies are Kubernetes protobuf (client-go's
typed clients): create namespace / priorityclass, debug node and
--copy-to (a Pod), drain --disable-eviction (DeleteOptions), plus drain by
eviction and the errors a bad protobuf body gets."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

PB = "application/vnd.kubernetes.protobuf"
NODE = "everynode-worker"


def plain_pod(name: str, node: str = NODE, labels: str = "app: pbtest") -> str:
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {{{labels}}}\nspec:\n"
            f"  nodeName: {node}\n  containers:\n  - name: c\n    image: busybox:1.35\n"
            f"    command: [sleep, '3600']\n    env: [{{name: A, value: '1'}}]\n"
            f"    resources: {{limits: {{cpu: 100m, memory: 32Mi}}}}\n")


def test_create_namespace(cluster):
    out = cluster.kubectl("create", "namespace", "t-pb-ns")
    assert out.stdout.strip() == "namespace/t-pb-ns created"
    try:
        ns = cluster.kubectl_json("get", "namespace", "t-pb-ns")
        assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "t-pb-ns"
        assert ns["status"]["phase"] == "Active"
        again = cluster.kubectl("create", "namespace", "t-pb-ns", check=False)
        assert again.returncode != 0 and "AlreadyExists" in again.stderr
    finally:
        cluster.kubectl("delete", "namespace", "t-pb-ns", "--wait=false", check=False)


def test_create_namespace_dry_run_server(cluster):
    out = cluster.kubectl("create", "namespace", "t-pb-dry", "--dry-run=server", "-o", "json")
    assert json.loads(out.stdout)["metadata"]["name"] == "t-pb-dry"
    assert cluster.kubectl("get", "namespace", "t-pb-dry", check=False).returncode != 0


def test_create_priorityclass_keeps_zero_value(cluster):
    cluster.kubectl("create", "priorityclass", "t-pb-pc", "--value=0", "--description=zero",
                    "--preemption-policy=Never")
    try:
        pc = cluster.kubectl_json("get", "priorityclass", "t-pb-pc")
        assert (pc["value"], pc["description"], pc["preemptionPolicy"]) == (0, "zero", "Never")
        assert "globalDefault" not in pc or pc["globalDefault"] is False
    finally:
        cluster.kubectl("delete", "priorityclass", "t-pb-pc", check=False)


def test_debug_node_creates_host_pod(cluster, namespace):
    out = cluster.kubectl("debug", f"node/{NODE}", "-n", namespace, "--image=busybox:1.35",
                          "--profile=sysadmin", "--", "true")
    assert "Creating debugging pod node-debugger-" in out.stdout + out.stderr
    pods = cluster.kubectl_json("get", "pods", "-n", namespace, "-l",
                                "app.kubernetes.io/managed-by=kubectl-debug")["items"]
    assert len(pods) == 1
    spec = pods[0]["spec"]
    assert spec["nodeName"] == NODE
    assert (spec["hostPID"], spec["hostNetwork"], spec["hostIPC"]) == (True, True, True)
    assert spec["volumes"][0]["hostPath"]["path"] == "/"
    assert spec["containers"][0]["securityContext"] == {"privileged": True}
    assert spec["containers"][0]["command"] == ["true"]


def test_debug_copy_to_keeps_the_pod_spec(cluster, namespace):
    cluster.kubectl("create", "-n", namespace, "-f", "-", input=plain_pod("orig"))
    cluster.kubectl("debug", "orig", "-n", namespace, "--copy-to=orig-copy", "--image=busybox:1.35",
                    "--container=dbg", "--", "true")
    copy = cluster.kubectl_json("get", "pod", "orig-copy", "-n", namespace)
    main, dbg = copy["spec"]["containers"]
    assert main["env"] == [{"name": "A", "value": "1"}]
    assert main["resources"]["limits"] == {"cpu": "100m", "memory": "32Mi"}
    assert dbg["name"] == "dbg" and dbg["command"] == ["true"]


def _drain(cluster, *flags: str):
    try:
        return cluster.kubectl("drain", NODE, "--pod-selector=app=pbtest", "--ignore-daemonsets",
                               "--force", "--grace-period=0", "--timeout=60s", *flags, timeout=90)
    finally:
        cluster.kubectl("uncordon", NODE, check=False)


def test_drain_disable_eviction_sends_protobuf_delete_options(cluster, namespace):
    cluster.kubectl("create", "-n", namespace, "-f", "-", input=plain_pod("victim-delete"))
    out = _drain(cluster, "--disable-eviction")
    assert "pod/victim-delete deleted" in out.stdout
    assert cluster.kubectl("get", "pod", "victim-delete", "-n", namespace, check=False).returncode != 0


def test_drain_evicts_plain_pod(cluster, namespace):
    cluster.kubectl("create", "-n", namespace, "-f", "-", input=plain_pod("victim-evict"))
    out = _drain(cluster)
    said = f"stdout:\n{out.stdout}\nstderr:\n{out.stderr}"  # this test failed twice in full runs
    assert "pod/victim-evict evicted" in out.stdout, said
    assert f"node/{NODE} drained" in out.stdout, said
    assert cluster.kubectl("get", "pod", "victim-evict", "-n", namespace, check=False).returncode != 0


def _post_raw(cluster, path: str, body: bytes) -> tuple[int, dict]:
    api = cluster.api_client()
    token = api.configuration.auth_settings()["BearerToken"]["value"]
    resp = api.rest_client.request("POST", api.configuration.host + path, body=body,
                                   headers={"Content-Type": PB, "Accept": "application/json",
                                            "Authorization": token})
    return resp.status, json.loads(resp.read())


def test_bad_protobuf_body_is_bad_request(cluster):
    code, status = _post_raw(cluster, "/api/v1/namespaces", b"k8s\x00\x0a\xff")
    assert code == 400 and status["reason"] == "BadRequest"
    assert status["message"].startswith("error decoding protobuf body:")


def test_protobuf_of_unknown_kind_is_unsupported_media_type(cluster, namespace):
    # runtime.Unknown{typeMeta: {v1, ConfigMap}, raw: {}} posted to pods
    body = b"k8s\x00" + b"\x0a\x0f\x0a\x02v1\x12\x09ConfigMap" + b"\x12\x00"
    code, status = _post_raw(cluster, f"/api/v1/namespaces/{namespace}/pods", body)
    assert code == 415 and status["reason"] == "UnsupportedMediaType"
    assert "no protobuf decoding for ConfigMap in v1" in status["message"]
