"""The write paths of a daemon pod copy only what they change and share the rest with the
stored object (stored values are read-only): pods/binding (``pod._binding_copy``) and status
updates (``Resources._prepare_update`` with ``subresource="status"``).

Oracles: the full copies they replaced. Over many generated objects (of odd shapes too:
nulls, wrong JSON types, missing parts), both ways must give equal results or the same
error, and the stored object must come out unchanged.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import orjson
import pytest

from everynode.api.errors import ApiError
from everynode.api.kinds import KINDS
from everynode.api.kinds import pod as podkind
from everynode.apiserver import resources as resmod
from everynode.apiserver.objects import deep_copy
from everynode.apiserver.resources import Resources

NOW = "2025-01-02T03:04:05Z"


def _outcome(fn, *args) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except ApiError as exc:
        return "api", (exc.code, exc.reason, exc.message)
    except Exception as exc:  # an internal error: same type either way
        return "exc", type(exc).__name__


MISSING = object()


def _choice(rng: random.Random, *options: Any) -> Any:
    value = rng.choice(options)
    return value if value is MISSING else copy.deepcopy(value)


def _put(d: dict, key: str, value: Any) -> None:
    if value is not MISSING:
        d[key] = value


# --- pods/binding ---------------------------------------------------------------------------

def _random_pod(rng: random.Random) -> dict:
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "7"}
    _put(meta, "labels", _choice(rng, MISSING, None, {}, {"app": "web"}, ["x"]))
    _put(meta, "annotations", _choice(rng, MISSING, None, {}, {"a": "1", "b": "2"}, "x"))
    _put(meta, "ownerReferences", _choice(rng, MISSING, [{"kind": "DaemonSet", "name": "ds", "uid": "d1"}]))
    _put(meta, "deletionTimestamp", _choice(rng, MISSING, MISSING, MISSING, NOW))
    spec: Any = {"containers": [{"name": "app", "image": "nginx"}],
                 "affinity": {"nodeAffinity": {"x": [1, 2]}}}
    _put(spec, "nodeName", _choice(rng, MISSING, MISSING, MISSING, "", "node-2"))
    _put(spec, "schedulingGates", _choice(rng, MISSING, MISSING, [], [{"name": "g"}]))
    spec = _choice(rng, spec, spec, spec, MISSING, None, []) if rng.random() < 0.3 else spec
    status: Any = {"phase": "Pending", "qosClass": "BestEffort"}
    _put(status, "nominatedNodeName", _choice(rng, MISSING, "node-9"))
    _put(status, "conditions", _choice(
        rng, MISSING, None, [], "x",
        [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": "old"}],
        [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True",
                                               "lastTransitionTime": "then"}]))
    status = _choice(rng, status, status, status, MISSING, None, "x") if rng.random() < 0.3 else status
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": meta}
    _put(pod, "spec", spec)
    _put(pod, "status", status)
    if rng.random() < 0.05:
        pod["metadata"] = _choice(rng, None, [], {"name": "web"})
    return pod


def _random_binding(rng: random.Random) -> dict:
    bmeta: dict[str, Any] = {"name": _choice(rng, "web", "web", "web", "other")}
    _put(bmeta, "uid", _choice(rng, MISSING, MISSING, "u1", "u2"))
    _put(bmeta, "resourceVersion", _choice(rng, MISSING, MISSING, "7", "8"))
    _put(bmeta, "annotations", _choice(rng, MISSING, MISSING, {}, {"b": "3", "c": "4"}, None))
    _put(bmeta, "labels", _choice(rng, MISSING, MISSING, {"tier": "x"}, {"app": "other"}))
    target = _choice(rng, {"kind": "Node", "name": "node-1"}, {"name": "node-1"}, {"kind": "Node", "name": ""},
                     {"kind": "Pod", "name": "n"})
    return {"apiVersion": "v1", "kind": "Binding", "metadata": bmeta, "target": target}


def test_binding_copy_matches_the_full_copy(monkeypatch):
    rng = random.Random(5)
    fast_ok = 0
    for _ in range(4000):
        pod, binding = _random_pod(rng), _random_binding(rng)
        before = orjson.dumps(pod)
        fast = _outcome(podkind.bind_pod, pod, binding, NOW)
        assert orjson.dumps(pod) == before  # the stored pod is not modified
        with monkeypatch.context() as m:
            m.setattr(podkind, "_binding_copy", lambda *_: None)
            slow = _outcome(podkind.bind_pod, pod, binding, NOW)
        assert fast == slow, (pod, binding)
        if fast[0] == "ok":
            fast_ok += 1
            assert orjson.dumps(fast[1]) == orjson.dumps(slow[1])  # key order too
    assert fast_ok > 120  # the generated cases reach the successful path often enough


def test_binding_copy_owns_what_binding_changes():
    pod = {"metadata": {"name": "web", "labels": {"a": "1"}, "annotations": {}, "ownerReferences": [{"uid": "d"}]},
           "spec": {"containers": [{"name": "c"}]}, "status": {"conditions": [{"type": "Ready"}]}}
    out = podkind._binding_copy(pod, {"name": "web", "labels": {"b": "2"}, "annotations": {"c": "3"}})
    assert out == pod
    for path in ((), ("metadata",), ("metadata", "labels"), ("metadata", "annotations"), ("spec",),
                 ("status",), ("status", "conditions")):
        a, b = out, pod
        for key in path:
            a, b = a[key], b[key]
        assert a is not b, path
    assert out["spec"]["containers"] is pod["spec"]["containers"]  # shared: binding never changes it
    assert out["metadata"]["ownerReferences"] is pod["metadata"]["ownerReferences"]
    # Labels and annotations the binding does not add to stay shared.
    out = podkind._binding_copy(pod, {"name": "web"})
    assert out["metadata"]["labels"] is pod["metadata"]["labels"]
    assert out["metadata"]["annotations"] is pod["metadata"]["annotations"]


@pytest.mark.parametrize("pod", [
    {"metadata": None, "spec": {}},
    {"metadata": {}, "spec": None},
    {"metadata": {}},
    {"metadata": {}, "spec": {}, "status": None},
    {"metadata": {"labels": None}, "spec": {}},
    {"metadata": {"annotations": []}, "spec": {}},
    {"metadata": {}, "spec": {}, "status": {"conditions": None}},
])
def test_binding_copy_leaves_odd_shapes_to_the_full_copy(pod):
    assert podkind._binding_copy(pod, {"labels": {"a": "1"}, "annotations": {"b": "2"}}) is None


# --- status updates -------------------------------------------------------------------------

STATUS_KINDS = {k.kind: k for k in KINDS if "status" in k.subresources}


def _reference_status_merge(kind, new: dict, old: dict) -> dict:
    """``_prepare_update``'s status branch as it was: everything of ``old`` copied first."""
    merged = deep_copy(old)
    if "status" in new:
        merged["status"] = new["status"]
    else:
        merged.pop("status", None)
    for f in ("labels", "annotations"):
        if f in new["metadata"]:
            merged["metadata"][f] = new["metadata"][f]
    kind.prepare_status_update(merged, old)
    errs = kind.validate_status_update(merged, old)
    if errs:
        from everynode.api import errors

        raise errors.invalid_object(kind.kind, kind.group, old["metadata"]["name"], errs)
    return merged


def _random_stored(rng: random.Random, kind_name: str) -> dict:
    meta: dict[str, Any] = {"name": "obj-1", "uid": "u1", "resourceVersion": "7", "generation": 2,
                            "creationTimestamp": NOW}
    if kind_name in ("Pod", "DaemonSet"):
        meta["namespace"] = "default"
    _put(meta, "labels", _choice(rng, MISSING, {}, {"app": "web"}, {"app": "web", "tier": "x"}))
    _put(meta, "annotations", _choice(rng, MISSING, {}, {"a": "1"},
                                      {"deprecated.daemonset.template.generation": "3"}))
    _put(meta, "ownerReferences", _choice(rng, MISSING, [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                                                         "name": "ds", "uid": "d1", "controller": True}]))
    _put(meta, "finalizers", _choice(rng, MISSING, ["example.com/f"]))
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind_name, "metadata": meta}
    if kind_name == "Pod":
        obj["spec"] = {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Always",
                       "nodeName": "node-1", "initContainers": _choice(rng, [], [{"name": "i", "image": "b"}])}
        obj["status"] = _choice(rng, {"phase": "Pending", "qosClass": "BestEffort"},
                                {"phase": "Running", "qosClass": "BestEffort", "observedGeneration": 2,
                                 "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 2}],
                                 "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 0}}}]})
    elif kind_name == "Node":
        obj["spec"] = _choice(rng, {}, {"podCIDR": "10.0.0.0/24", "taints": [{"key": "k", "effect": "NoSchedule"}]})
        obj["status"] = {"capacity": {"cpu": "4"}, "conditions": [{"type": "Ready", "status": "True"}]}
    elif kind_name == "Namespace":
        obj["spec"] = {"finalizers": ["kubernetes"]}
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = "obj-1"
        obj["status"] = {"phase": "Active"}
    else:
        obj["apiVersion"] = "apps/v1"
        obj["spec"] = {"selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
        obj["status"] = {"currentNumberScheduled": 1, "numberMisscheduled": 0, "desiredNumberScheduled": 1,
                         "numberReady": 0, "collisionCount": _choice(rng, 0, 2)}
    if rng.random() < 0.1:
        obj.pop("status")
    if rng.random() < 0.1:
        obj.pop("spec")
    return obj


def _random_status_body(rng: random.Random, stored: dict) -> dict:
    body = copy.deepcopy(stored)
    meta = body["metadata"]
    for key in ("labels", "annotations"):
        choice = rng.randrange(4)
        if choice == 0:
            meta.pop(key, None)
        elif choice == 1:
            meta[key] = {"new": "v", **(meta.get(key) or {})}
        elif choice == 2:
            meta[key] = {"Bad Key!": "v"}
    if rng.random() < 0.3:
        meta["ownerReferences"] = []
    if rng.random() < 0.3 and "spec" in body:
        body["spec"] = {"changed": True}
    st = body.get("status") if isinstance(body.get("status"), dict) else {}
    kind = stored["kind"]
    if kind == "Pod":
        st = _choice(rng, {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"},
                                                              {"type": "bad type!", "status": "True"}]},
                     {"phase": "Running", "podIPs": [{"ip": "10.0.0.7"}], "hostIP": "10.0.0.7",
                      "hostIPs": [{"ip": "10.0.0.7"}], "qosClass": "BestEffort"},
                     {"phase": "Running", "podIPs": [{"ip": "not-an-ip"}], "qosClass": "Guaranteed"},
                     {"phase": "Running", "containerStatuses": [{"name": "c", "state": {"running": {}}}]})
    elif kind == "DaemonSet":
        st = {**st, "numberReady": rng.choice([0, 1, -1]), "collisionCount": rng.choice([0, 1, 3])}
    elif kind == "Node":
        st = {**st, "allocatable": {"cpu": "3"}}
    else:
        st = {"phase": rng.choice(["Active", "Terminating"])}
    if rng.random() < 0.1:
        body.pop("status", None)
    else:
        body["status"] = st
    return body


@pytest.mark.parametrize("kind_name", sorted(STATUS_KINDS))
def test_status_merge_matches_the_full_copy(kind_name):
    kind = STATUS_KINDS[kind_name]
    res = Resources(store=None)  # type: ignore[arg-type]
    rng = random.Random(kind_name)
    passed = 0
    for _ in range(600):
        stored = _random_stored(rng, kind_name)
        body = _random_status_body(rng, stored)
        before = orjson.dumps(stored)
        fast = _outcome(res._prepare_update, kind, deep_copy(body), stored, "status")
        assert orjson.dumps(stored) == before  # the stored object is not modified
        slow = _outcome(_reference_status_merge, kind, deep_copy(body), deep_copy(stored))
        assert fast[0] == slow[0], (stored, body, fast, slow)
        if fast[0] == "ok":
            passed += 1
            assert orjson.dumps(fast[1]) == orjson.dumps(slow[1])  # key order too
            # What the strategy hooks modify in place is the merged object's own.
            assert fast[1]["metadata"] is not stored["metadata"]
            for key in ("labels", "annotations"):
                if key in stored["metadata"]:
                    assert fast[1]["metadata"].get(key) is not stored["metadata"][key]
        else:
            assert fast == slow
    assert passed > 100


def test_status_merge_shares_the_pod_spec():
    stored = _random_stored(random.Random(1), "Pod")
    stored["spec"] = {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Always"}
    body = {"metadata": {"name": "obj-1", "namespace": "default"}, "status": {"phase": "Running"}}
    merged = Resources(store=None)._prepare_update(STATUS_KINDS["Pod"], body, stored, "status")  # type: ignore[arg-type]
    assert merged["spec"] is stored["spec"]
    assert resmod.deep_copy is deep_copy  # the module still copies elsewhere (updates, deletes)


# --- IP checks of status writes (memoised for strings) ---------------------------------------

@pytest.mark.parametrize("value, ok", [
    ("10.0.0.7", True), ("127.0.3.9", True), ("::1", True), ("2001:db8::ffff", True),
    ("", False), ("10.0.0", False), ("10.0.0.256", False), (" 10.0.0.7", False), ("010.0.0.7", False),
    ("not-an-ip", False), (167772167, True), (None, False), (["10.0.0.7"], False), (1.5, False),
])
def test_is_valid_ip(value, ok):
    from everynode.api import podspec

    assert podspec.is_valid_ip(value) is ok
    assert podspec.is_valid_ip(value) is ok  # a remembered answer is the same
    assert podspec._parses_as_ip(value) is ok


def test_is_valid_ip_memo_matches_the_parse():
    from everynode.api import podspec

    rng = random.Random(3)
    alphabet = "0123456789.:abcdef"
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 16)))
        if rng.random() < 0.3:
            value = ".".join(str(rng.randrange(0, 300)) for _ in range(4))
        assert podspec.is_valid_ip(value) is podspec._parses_as_ip(value), value


# --- answers from the stored JSON -------------------------------------------------------------

def test_write_answers_are_the_stored_json(tmp_path):
    import asyncio

    from everynode.apiserver.objects import key_of
    from everynode.client.local import LocalRequest
    from tests.server_harness import started_server

    async def scenario():
        async with started_server(tmp_path) as srv:
            kind = srv.by_gv["v1"]["pods"]
            headers = {"Authorization": "Bearer token", "Content-Type": "application/json"}

            async def call(method, path, body, accept="application/json"):
                resp = await srv.handle(LocalRequest(method, path, {}, {**headers, "Accept": accept},
                                                     orjson.dumps(body)))
                return resp.status, resp.body

            pod = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
            status, body = await call("POST", "/api/v1/namespaces/default/pods", pod)
            entry = srv.store.get(key_of(kind, "default", "web"))
            assert status == 201 and body == entry.raw == orjson.dumps(entry.value)
            stored = orjson.loads(body)
            status, body = await call("PUT", "/api/v1/namespaces/default/pods/web/status",
                                      {**stored, "status": {**stored["status"], "phase": "Running"}})
            entry = srv.store.get(key_of(kind, "default", "web"))
            assert status == 200 and body == entry.raw and orjson.loads(body)["status"]["phase"] == "Running"
            latest = orjson.loads(body)
            status, body = await call("PUT", "/api/v1/namespaces/default/pods/web/status", latest)
            assert status == 200 and body == srv.store.get(key_of(kind, "default", "web")).raw  # a no-op
            # Not stored: a dry run is encoded from the object.
            resp = await srv.handle(LocalRequest("POST", "/api/v1/namespaces/default/pods", {"dryRun": "All"},
                                                 {**headers, "Accept": "application/json"},
                                                 orjson.dumps({**pod, "metadata": {"name": "dry"}})))
            assert resp.status == 201 and orjson.loads(resp.body)["metadata"]["name"] == "dry"
            assert srv.store.get(key_of(kind, "default", "dry")) is None
            # Other renderings are unchanged.
            status, body = await call("PUT", "/api/v1/namespaces/default/pods/web/status",
                                      {**latest, "status": {**latest["status"], "phase": "Pending"}},
                                      accept="application/yaml")
            assert status == 200 and body.startswith(b"metadata:\n") and b"\nkind: Pod\n" in body
            # A cluster-scoped kind.
            status, body = await call("POST", "/api/v1/namespaces", {"metadata": {"name": "team"}})
            ns_entry = srv.store.get(key_of(srv.by_gv["v1"]["namespaces"], None, "team"))
            assert status == 201 and body == ns_entry.raw

    asyncio.run(scenario())
