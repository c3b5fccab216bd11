"""Bad input gets a clear Status, the server keeps serving, nothing is half-written."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration


class Api:
    def __init__(self, cluster):
        import yaml

        cfg = yaml.safe_load(cluster.kubeconfig.read_text())
        self.base = cfg["clusters"][0]["cluster"]["server"]
        self.token = cfg["users"][0]["user"]["token"]
        self.ctx = ssl.create_default_context(cafile=str(cluster.data_dir / "pki" / "ca.crt"))

    def call(self, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> tuple[int, dict]:
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


@pytest.fixture
def api(cluster):
    return Api(cluster)


def ds(name="x", **spec_overrides) -> dict:
    body = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    body["spec"].update(spec_overrides)
    return body


def assert_status(status: int, body: dict, code: int, reason: str, contains: str = ""):
    assert status == code, body
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["reason"] == reason and body["code"] == code
    assert contains in body["message"], body["message"]


def assert_absent(api, namespace, name):
    status, _ = api.call("GET", f"/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}")
    assert status == 404


def test_malformed_json(api, namespace):
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", b'{"apiVersion": ')
    assert_status(s, b, 400, "BadRequest")


def test_malformed_yaml(api, namespace):
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", b"a: [b\n", "application/yaml")
    assert_status(s, b, 400, "BadRequest", "YAML")


def test_wrong_kind_and_version_for_url(api, namespace):
    body = ds("wrongkind")
    body["kind"] = "Pod"
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", json.dumps(body).encode())
    assert_status(s, b, 400, "BadRequest", "kind")
    body = ds("wrongver")
    body["apiVersion"] = "apps/v1beta2"
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", json.dumps(body).encode())
    assert_status(s, b, 400, "BadRequest", "apps/v1beta2")
    assert_absent(api, namespace, "wrongkind")
    assert_absent(api, namespace, "wrongver")


def test_unknown_fields_strict_warn_ignore(api, namespace):
    body = ds("strict")
    body["spec"]["bogus"] = 1
    raw = json.dumps(body).encode()
    path = f"/apis/apps/v1/namespaces/{namespace}/daemonsets"
    s, b = api.call("POST", path + "?fieldValidation=Strict", raw)
    assert_status(s, b, 400, "BadRequest", 'unknown field "spec.bogus"')
    assert_absent(api, namespace, "strict")
    s, b = api.call("POST", path + "?fieldValidation=Ignore", raw)
    assert s == 201 and "bogus" not in b["spec"]


def test_wrong_type_is_bad_request(api, namespace):
    body = ds("wrongtype", minReadySeconds="five")
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", json.dumps(body).encode())
    assert_status(s, b, 400, "BadRequest", "minReadySeconds")


def test_body_too_large(api, namespace):
    body = ds("huge")
    body["metadata"]["annotations"] = {"big": "x" * (3 * 1024 * 1024 + 10)}
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", json.dumps(body).encode())
    assert_status(s, b, 413, "RequestEntityTooLarge")
    assert_absent(api, namespace, "huge")


def test_invalid_label_selector(api, namespace):
    s, b = api.call("GET", f"/apis/apps/v1/namespaces/{namespace}/daemonsets?labelSelector=a%20in%20(b")
    assert_status(s, b, 400, "BadRequest")
    s, b = api.call("GET", "/api/v1/pods?fieldSelector=spec.bogus%3Dx")
    assert_status(s, b, 400, "BadRequest", "spec.bogus")


def test_invalid_name_is_422_with_cause(api, namespace):
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets",
                    json.dumps(ds("Not_Valid")).encode())
    assert_status(s, b, 422, "Invalid", "metadata.name")
    assert b["details"]["causes"][0]["field"] == "metadata.name"
    assert_absent(api, namespace, "Not_Valid")


def test_invalid_daemonset_fields(api, namespace):
    body = ds("badspec")
    body["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    body["spec"]["updateStrategy"] = {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", json.dumps(body).encode())
    assert_status(s, b, 422, "Invalid")
    fields = {c["field"] for c in b["details"]["causes"]}
    assert "spec.template.spec.restartPolicy" in fields
    assert "spec.updateStrategy.rollingUpdate.maxUnavailable" in fields
    assert_absent(api, namespace, "badspec")


def test_server_keeps_serving_after_errors(api):
    s, b = api.call("GET", "/version")
    assert s == 200 and b["major"] == "1"


def test_unknown_priority_class_is_forbidden_and_known_sets_priority(api, namespace):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "prio"},
           "spec": {"schedulerName": "nobody", "priorityClassName": "no-such-class",
                    "containers": [{"name": "c", "image": "busybox"}]}}
    s, b = api.call("POST", f"/api/v1/namespaces/{namespace}/pods", json.dumps(pod).encode())
    assert_status(s, b, 403, "Forbidden", "no PriorityClass with name no-such-class was found")
    pod["spec"]["priorityClassName"] = "system-node-critical"
    s, b = api.call("POST", f"/api/v1/namespaces/{namespace}/pods", json.dumps(pod).encode())
    assert s == 201 and b["spec"]["priority"] == 2000001000
    assert b["spec"]["preemptionPolicy"] == "PreemptLowerPriority"


YAML_BOMB = b"""apiVersion: v1
kind: Pod
metadata:
  name: bomb
  annotations: {}
spec:
  containers: [{name: c, image: busybox}]
x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]
x1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
x2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
x3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
x4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
x5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
x6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
"""


def test_yaml_alias_bomb_is_refused_quickly(api, namespace):
    import time

    t0 = time.monotonic()
    s, b = api.call("POST", f"/api/v1/namespaces/{namespace}/pods", YAML_BOMB, "application/yaml")
    assert_status(s, b, 400, "BadRequest", "aliases")
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("body,contains", [
    (b"apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: k\n  labels: {1: a}\n", None),
    (b"apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: k\nspec:\n  minReadySeconds: 99999999999999999999999\n",
     "out of range"),
    (b"apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: k\n  annotations: {a: !!binary aGVsbG8=}\n",
     "unsupported value"),
])
def test_odd_yaml_values_are_client_errors(api, namespace, body, contains):
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", body, "application/yaml")
    assert s in (400, 422), b
    if contains:
        assert contains in b["message"]


def test_deeply_nested_json_and_null_items_are_client_errors(api, namespace):
    deep = "[" * 300 + "]" * 300
    body = json.loads(json.dumps(ds("deep")))
    raw = json.dumps(body).encode().replace(b'"spec": {', b'"spec": {"bogus": ' + deep.encode() + b", ", 1)
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", raw)
    assert s == 400, b
    body = ds("nulls")
    body["metadata"]["finalizers"] = [None]
    body["spec"]["selector"]["matchExpressions"] = [None]
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", json.dumps(body).encode())
    assert s == 422, b
    body = ds("hugeint", minReadySeconds=1e300)
    s, b = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", json.dumps(body).encode())
    assert_status(s, b, 400, "BadRequest", "minReadySeconds")


def test_list_limit_and_continue_edge_cases(api, namespace):
    s, b = api.call("GET", f"/apis/apps/v1/namespaces/{namespace}/daemonsets?limit=-1")
    assert s == 200 and b["items"] == [] and "continue" not in b["metadata"]
    import base64

    token = base64.urlsafe_b64encode(b'{"start":5,"rv":1}').decode()
    s, b = api.call("GET", f"/apis/apps/v1/namespaces/{namespace}/daemonsets?limit=1&continue={token}")
    assert_status(s, b, 400, "BadRequest", "continue")


def test_concurrent_unconditional_patches_all_land(api, namespace):
    from concurrent.futures import ThreadPoolExecutor

    s, _ = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", json.dumps(ds("busy")).encode())
    assert s == 201

    def patch(i):
        return api.call("PATCH", f"/apis/apps/v1/namespaces/{namespace}/daemonsets/busy",
                        json.dumps({"metadata": {"labels": {f"l{i}": "x"}}}).encode(),
                        "application/merge-patch+json")[0]

    with ThreadPoolExecutor(40) as pool:
        codes = list(pool.map(patch, range(60)))
    assert codes == [200] * 60
    s, b = api.call("GET", f"/apis/apps/v1/namespaces/{namespace}/daemonsets/busy")
    assert sum(1 for k in b["metadata"]["labels"] if k.startswith("l")) == 60


@pytest.mark.parametrize("method,path", [
    ("DELETE", "/api/v1/namespaces/default/pods/anything/status"),
    ("POST", "/apis/coordination.k8s.io/v1/leases"),
    ("DELETE", "/api/v1/pods"),
    ("DELETE", "/api/v1/namespaces?labelSelector=x%3Dy"),
    ("GET", "/api/v1/namespaces/default/pods/anything/binding"),
])
def test_methods_upstream_does_not_route(api, method, path):
    s, b = api.call(method, path, b"{}" if method == "POST" else None)
    assert_status(s, b, 405, "MethodNotAllowed")


def _watch_until(api, path, stop, timeout=10):
    req = urllib.request.Request(api.base + path, headers={"Authorization": f"Bearer {api.token}"})
    out = []
    with urllib.request.urlopen(req, context=api.ctx, timeout=timeout) as r:
        for line in r:
            out.append(json.loads(line))
            if stop(out[-1]):
                break
    return out


def test_watch_selector_transition_sends_the_previous_object(api, namespace):
    import threading

    body = ds("mover")
    body["metadata"]["labels"] = {"x": "2"}
    s, made = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", json.dumps(body).encode())
    rv = made["metadata"]["resourceVersion"]
    result = {}

    def watch():
        result["events"] = _watch_until(
            api, f"/apis/apps/v1/namespaces/{namespace}/daemonsets?watch=1&labelSelector=x%3D2"
                 f"&resourceVersion={rv}&timeoutSeconds=10", lambda e: e["type"] == "DELETED")

    t = threading.Thread(target=watch)
    t.start()
    import time

    time.sleep(0.5)
    api.call("PATCH", f"/apis/apps/v1/namespaces/{namespace}/daemonsets/mover",
             b'{"metadata":{"labels":{"x":"3"}}}', "application/merge-patch+json")
    t.join(15)
    ev = result["events"][-1]
    assert ev["type"] == "DELETED"
    assert ev["object"]["metadata"]["labels"]["x"] == "2"
    assert int(ev["object"]["metadata"]["resourceVersion"]) > int(rv)


def test_watch_from_a_future_revision_is_too_large(api, namespace):
    s, b = api.call("GET", f"/apis/apps/v1/namespaces/{namespace}/daemonsets?limit=1")
    future = int(b["metadata"]["resourceVersion"]) + 1_000_000
    s, b = api.call("GET", f"/apis/apps/v1/namespaces/{namespace}/daemonsets?watch=1&resourceVersion={future}")
    assert_status(s, b, 504, "Timeout", "Too large resource version")


def test_delete_options_are_type_checked(api, namespace):
    s, _ = api.call("POST", f"/apis/apps/v1/namespaces/{namespace}/daemonsets", json.dumps(ds("delopt")).encode())
    assert s == 201
    s, b = api.call("DELETE", f"/apis/apps/v1/namespaces/{namespace}/daemonsets/delopt",
                    b'{"gracePeriodSeconds": "x"}')
    assert_status(s, b, 400, "BadRequest", "gracePeriodSeconds")
    s, b = api.call("DELETE", f"/apis/apps/v1/namespaces/{namespace}/daemonsets/delopt", b'{"preconditions": "x"}')
    assert_status(s, b, 400, "BadRequest")
    s, _ = api.call("GET", f"/apis/apps/v1/namespaces/{namespace}/daemonsets/delopt")
    assert s == 200


def test_put_creates_a_missing_lease(api, namespace):
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "put-made", "namespace": namespace}, "spec": {"holderIdentity": "me"}}
    s, b = api.call("PUT", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/put-made",
                    json.dumps(lease).encode())
    assert s in (200, 201) and b["spec"]["holderIdentity"] == "me"
