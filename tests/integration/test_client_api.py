"""The official kubernetes Python client against a running cluster: CRUD,
selectors, watch from a resourceVersion, optimistic concurrency."""

from __future__ import annotations

import json
import threading

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.conftest import wait_for

pytestmark = pytest.mark.integration


def ds_body(name: str, labels: dict | None = None, image: str = "busybox:1.35") -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": image,
                                                       "command": ["sleep", "3600"]}]}}},
    }


def test_daemonset_crud_defaults_and_generation(cluster, namespace):
    apps = client.AppsV1Api(cluster.api_client())
    created = apps.create_namespaced_daemon_set(namespace, ds_body("crud"))
    assert created.metadata.uid and created.metadata.generation == 1
    assert created.spec.update_strategy.type == "RollingUpdate"
    assert created.spec.update_strategy.rolling_update.max_unavailable == 1
    assert created.spec.revision_history_limit == 10
    assert created.spec.template.spec.restart_policy == "Always"
    assert created.metadata.annotations["deprecated.daemonset.template.generation"] == "1"

    got = apps.read_namespaced_daemon_set("crud", namespace)
    assert got.metadata.uid == created.metadata.uid

    # A metadata-only change keeps the generation; a template change bumps it.
    # (The controller writes status meanwhile, so read-modify-write retries on 409 as clients do.)
    def change(mutate):
        for _ in range(20):
            current = apps.read_namespaced_daemon_set("crud", namespace)
            mutate(current)
            try:
                return apps.replace_namespaced_daemon_set("crud", namespace, current)
            except ApiException as exc:
                if exc.status != 409:
                    raise
        raise AssertionError("kept conflicting")

    after_label = change(lambda d: setattr(d.metadata, "labels", {"tier": "infra"}))
    assert after_label.metadata.generation == 1
    after_image = change(lambda d: setattr(d.spec.template.spec.containers[0], "image", "busybox:1.36"))
    assert after_image.metadata.generation == 2
    assert after_image.metadata.annotations["deprecated.daemonset.template.generation"] == "2"

    apps.delete_namespaced_daemon_set("crud", namespace)
    with pytest.raises(ApiException) as exc:
        apps.read_namespaced_daemon_set("crud", namespace)
    assert exc.value.status == 404


def test_stale_update_conflicts(cluster, namespace):
    apps = client.AppsV1Api(cluster.api_client())
    body = ds_body("stale")
    # No node matches, so once the controller has written status nothing else modifies the object.
    body["spec"]["template"]["spec"]["nodeSelector"] = {"no-such-label": "x"}
    apps.create_namespaced_daemon_set(namespace, body)
    wait_for(lambda: (apps.read_namespaced_daemon_set("stale", namespace).status or
                      client.V1DaemonSetStatus(current_number_scheduled=0, desired_number_scheduled=0,
                                               number_misscheduled=0, number_ready=0)).observed_generation == 1,
             30, message="daemonset status written")
    first = apps.read_namespaced_daemon_set("stale", namespace)
    second = apps.read_namespaced_daemon_set("stale", namespace)
    first.metadata.labels = {"a": "1"}
    apps.replace_namespaced_daemon_set("stale", namespace, first)
    second.metadata.labels = {"b": "2"}
    with pytest.raises(ApiException) as exc:
        apps.replace_namespaced_daemon_set("stale", namespace, second)
    assert exc.value.status == 409
    assert json.loads(exc.value.body)["reason"] == "Conflict"
    assert "the object has been modified" in exc.value.body


def test_duplicate_create_is_already_exists(cluster, namespace):
    apps = client.AppsV1Api(cluster.api_client())
    apps.create_namespaced_daemon_set(namespace, ds_body("dup"))
    with pytest.raises(ApiException) as exc:
        apps.create_namespaced_daemon_set(namespace, ds_body("dup"))
    assert exc.value.status == 409
    body = json.loads(exc.value.body)
    assert body["reason"] == "AlreadyExists" and body["message"] == 'daemonsets.apps "dup" already exists'


def test_list_with_label_and_field_selectors(cluster, namespace):
    apps = client.AppsV1Api(cluster.api_client())
    for name, tier in (("sel-a", "web"), ("sel-b", "db"), ("sel-c", "web")):
        apps.create_namespaced_daemon_set(namespace, ds_body(name, {"tier": tier}))
    names = lambda lst: sorted(i.metadata.name for i in lst.items)  # noqa: E731
    assert names(apps.list_namespaced_daemon_set(namespace, label_selector="tier=web")) == ["sel-a", "sel-c"]
    assert names(apps.list_namespaced_daemon_set(namespace, label_selector="tier!=web")) == ["sel-b"]
    assert names(apps.list_namespaced_daemon_set(namespace, label_selector="tier in (db,web)")) == \
        ["sel-a", "sel-b", "sel-c"]
    assert names(apps.list_namespaced_daemon_set(namespace, label_selector="tier notin (web)")) == ["sel-b"]
    assert names(apps.list_namespaced_daemon_set(namespace, label_selector="tier")) == ["sel-a", "sel-b", "sel-c"]
    assert names(apps.list_namespaced_daemon_set(namespace, label_selector="!tier")) == []
    assert names(apps.list_namespaced_daemon_set(namespace, field_selector="metadata.name=sel-b")) == ["sel-b"]
    page = apps.list_namespaced_daemon_set(namespace, limit=2)
    assert len(page.items) == 2 and page.metadata._continue
    rest = apps.list_namespaced_daemon_set(namespace, limit=2, _continue=page.metadata._continue)
    assert names(page) + names(rest) == ["sel-a", "sel-b", "sel-c"]
    with pytest.raises(ApiException) as exc:
        apps.list_namespaced_daemon_set(namespace, label_selector="tier in (web")
    assert exc.value.status == 400


def test_watch_from_resource_version(cluster, namespace):
    apps = client.AppsV1Api(cluster.api_client())
    start = apps.list_namespaced_daemon_set(namespace).metadata.resource_version
    seen: list[tuple[str, str]] = []

    def watcher():
        w = watch.Watch()
        for ev in w.stream(apps.list_namespaced_daemon_set, namespace, resource_version=start,
                           timeout_seconds=10):
            seen.append((ev["type"], ev["object"].metadata.name, ev["object"].metadata.labels or {}))
            if ev["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=watcher)
    t.start()
    apps.create_namespaced_daemon_set(namespace, ds_body("w1"))
    apps.patch_namespaced_daemon_set("w1", namespace, {"metadata": {"labels": {"x": "y"}}})
    apps.delete_namespaced_daemon_set("w1", namespace)
    t.join(15)
    # The DaemonSet controller may write status in between (more MODIFIED events): only the
    # order and the patch's own event are certain.
    assert [(t, n) for t, n, _ in seen[:1] + seen[-1:]] == [("ADDED", "w1"), ("DELETED", "w1")]
    middle = seen[1:-1]
    assert middle and all(t == "MODIFIED" and n == "w1" for t, n, _ in middle)
    assert any(labels.get("x") == "y" for _, _, labels in middle)


def test_namespace_deletion_removes_contents(cluster):
    core = client.CoreV1Api(cluster.api_client())
    apps = client.AppsV1Api(cluster.api_client())
    core.create_namespace({"metadata": {"name": "doomed"}})
    apps.create_namespaced_daemon_set("doomed", ds_body("inside"))
    core.delete_namespace("doomed")
    import time
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            core.read_namespace("doomed")
        except ApiException as exc:
            assert exc.status == 404
            break
        time.sleep(0.2)
    else:
        raise AssertionError("namespace was not deleted")
    assert apps.list_namespaced_daemon_set("doomed").items == []


def test_unauthenticated_requests_are_refused(cluster):
    import ssl
    import urllib.error
    import urllib.request

    ctx = ssl.create_default_context(cafile=str(cluster.data_dir / "pki" / "ca.crt"))
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(f"https://127.0.0.1:{cluster.port}/api/v1/pods", context=ctx)
    assert exc.value.code == 401


def test_delete_collection_with_selector(cluster, namespace):
    apps = client.AppsV1Api(cluster.api_client())
    for name, group in (("dc-a", "x"), ("dc-b", "x"), ("dc-c", "y")):
        apps.create_namespaced_daemon_set(namespace, ds_body(name, {"group": group}))
    apps.delete_collection_namespaced_daemon_set(namespace, label_selector="group=x")
    left = sorted(d.metadata.name for d in apps.list_namespaced_daemon_set(namespace).items)
    assert left == ["dc-c"]


def test_dry_run_writes_nothing(cluster, namespace):
    apps = client.AppsV1Api(cluster.api_client())
    made = apps.create_namespaced_daemon_set(namespace, ds_body("dry"), dry_run="All")
    assert made.metadata.name == "dry" and made.spec.revision_history_limit == 10
    with pytest.raises(ApiException) as exc:
        apps.read_namespaced_daemon_set("dry", namespace)
    assert exc.value.status == 404
    apps.create_namespaced_daemon_set(namespace, ds_body("dry"))
    apps.delete_namespaced_daemon_set("dry", namespace, dry_run="All")
    assert apps.read_namespaced_daemon_set("dry", namespace).metadata.name == "dry"


def test_delete_preconditions(cluster, namespace):
    apps = client.AppsV1Api(cluster.api_client())
    made = apps.create_namespaced_daemon_set(namespace, ds_body("pre"))
    with pytest.raises(ApiException) as exc:
        apps.delete_namespaced_daemon_set("pre", namespace, body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid="not-the-uid")))
    assert exc.value.status == 409 and "Precondition failed: UID" in exc.value.body
    apps.delete_namespaced_daemon_set("pre", namespace, body=client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=made.metadata.uid)))


def test_status_subresource_rules(cluster, namespace):
    """The main endpoint ignores status; /status ignores everything else."""
    apps = client.AppsV1Api(cluster.api_client())
    apps.create_namespaced_daemon_set(namespace, ds_body("sub"))
    apps.patch_namespaced_daemon_set("sub", namespace, {"status": {"numberMisscheduled": 7}})
    assert (apps.read_namespaced_daemon_set("sub", namespace).status.number_misscheduled or 0) != 7
    before = apps.read_namespaced_daemon_set("sub", namespace)
    apps.patch_namespaced_daemon_set_status("sub", namespace, {"spec": {"minReadySeconds": 30}})
    after = apps.read_namespaced_daemon_set("sub", namespace)
    assert after.spec.min_ready_seconds == before.spec.min_ready_seconds
    assert after.metadata.generation == before.metadata.generation
