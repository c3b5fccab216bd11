"""In-process calls (``ApiServer.local_call``) answer as the emulated HTTP request does."""

import asyncio

import orjson
import pytest

from everynode.api.errors import ApiError
from everynode.apiserver.app import ApiServer
from everynode.client.local import LocalClient
from everynode.client.rest import Config, path_for
from everynode.storage.sqlite import SqliteStore


def lease(name, **spec):
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"holderIdentity": "holder", "leaseDurationSeconds": 40, **spec}}


def run(tmp_path, body, token="t"):
    async def go():
        store = SqliteStore(tmp_path / "db")
        await store.start()
        server = ApiServer(store, "t")
        await server.bootstrap()
        try:
            return await body(server, LocalClient(Config(server="https://127.0.0.1:1", token=token), server))
        finally:
            await store.close()
    return asyncio.run(go())


async def both(client, call, via_request):
    """(typed answer or error, request answer or error)."""
    out = []
    for fn in (call, via_request):
        try:
            out.append(await fn())
        except ApiError as exc:
            out.append((exc.code, exc.reason, exc.message, exc.details))
    return out


def strip(obj):
    if not isinstance(obj, dict):
        return obj
    meta = {k: v for k, v in obj["metadata"].items() if k not in ("uid", "resourceVersion", "creationTimestamp", "name")}
    return {**obj, "metadata": meta}


def test_create_replace_patch_get_answer_as_requests(tmp_path):
    async def body(server, c):
        out = {}
        a, b = await both(c, lambda: c.create("leases", lease("a")),
                          lambda: c.request("POST", path_for("leases", "default"), lease("b")))
        out["create"] = (strip(a), strip(b))
        a["spec"]["renewTime"] = b["spec"]["renewTime"] = "2026-11-23T10:00:00.000000Z"
        a2, b2 = await both(c, lambda: c.replace("leases", a),
                            lambda: c.request("PUT", path_for("leases", "default", "b"), b))
        out["replace"] = (strip(a2), strip(b2))
        patch = {"spec": {"leaseDurationSeconds": 7}}
        out["patch"] = tuple(map(strip, await both(
            c, lambda: c.patch("leases", "a", patch, "default", "merge"),
            lambda: c.request("PATCH", path_for("leases", "default", "b"), patch,
                              content_type="application/merge-patch+json"))))
        out["get"] = tuple(map(strip, await both(
            c, lambda: c.get("leases", "a", "default"),
            lambda: c.request("GET", path_for("leases", "default", "b")))))
        return out

    out = run(tmp_path, body)
    for verb, (typed, requested) in out.items():
        assert typed == requested, verb
    assert out["patch"][0]["spec"]["leaseDurationSeconds"] == 7


@pytest.mark.parametrize("case", ["missing", "conflict", "invalid", "namespace", "empty", "method", "large",
                                  "not-json"])
def test_errors_are_the_requests_errors(tmp_path, case):
    async def body(server, c):
        await c.create("leases", lease("x"))
        if case == "missing":
            return await both(c, lambda: c.get("leases", "nope", "default"),
                              lambda: c.request("GET", path_for("leases", "default", "nope")))
        if case == "conflict":
            stale = lease("x")
            stale["metadata"]["resourceVersion"] = "1"
            return await both(c, lambda: c.replace("leases", stale),
                              lambda: c.request("PUT", path_for("leases", "default", "x"), stale))
        if case == "invalid":
            bad = lease("Bad_Name", leaseDurationSeconds=-1)
            return await both(c, lambda: c.create("leases", bad),
                              lambda: c.request("POST", path_for("leases", "default"), bad))
        if case == "namespace":
            return await both(c, lambda: c.create("leases", lease("y"), "nowhere"),
                              lambda: c.request("POST", path_for("leases", "nowhere"), lease("y")))
        if case == "empty":
            return await both(c, lambda: c._call("PUT", "leases", "default", "x", None, None),
                              lambda: c.request("PUT", path_for("leases", "default", "x")))
        if case == "large":
            big = lease("x", holderIdentity="h" * (3 * 1024 * 1024))
            return await both(c, lambda: c.create("leases", big),
                              lambda: c.request("POST", path_for("leases", "default"), big))
        if case == "not-json":
            return await both(c, lambda: c._call("PUT", "leases", "default", "x", None, b"{nope"),
                              lambda: c.request("PUT", path_for("leases", "default", "x"), b"{nope"))
        # a patch of a collection: not allowed
        return await both(c, lambda: c._call("PATCH", "leases", "default", None, None, {"a": 1}),
                          lambda: c.request("PATCH", path_for("leases", "default"), {"a": 1}))

    typed, requested = run(tmp_path, body)
    assert isinstance(typed, tuple) and typed[0] >= 400
    assert typed == requested


def test_a_wrong_token_is_refused(tmp_path):
    async def body(server, c):
        return await both(c, lambda: c.get("leases", "x", "default"),
                          lambda: c.request("GET", path_for("leases", "default", "x")))

    typed, requested = run(tmp_path, body, token="wrong")
    assert typed[0] == 401 and typed == requested


def _pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def _binding(name, node="n1"):
    return {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}}


@pytest.mark.parametrize("case", ["bind", "bind-twice", "bind-missing", "bind-not-object", "bind-large",
                                  "evict", "evict-missing"])
def test_pod_binding_and_eviction_answer_as_requests(tmp_path, case):
    """POST pods/<name>/binding and /eviction: the typed call and the request, each on a fresh
    server, give the same answer or the same Status and leave the pod alike."""
    def scenario(typed):
        async def body(server, c):
            await c.create("pods", _pod("a"))
            sub = "eviction" if case.startswith("evict") else "binding"
            name = "gone" if case.endswith("missing") else "a"
            payload = _binding(name)
            if case.startswith("evict"):
                payload = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}
            if case == "bind-not-object":
                payload = b"[1]"
            if case == "bind-large":
                payload = _binding(name, "n" * (3 * 1024 * 1024))
            if case == "bind-twice":
                await c.request("POST", path_for("pods", "default", "a", "binding"), _binding("a", "n0"))
            if typed:
                # the typed call must not fall back to the request
                c.request = None
                call = c.post_subresource("pods", name, "default", sub, payload)
            else:
                call = c.request("POST", path_for("pods", "default", name, sub), payload)
            try:
                out = await call
            except ApiError as exc:
                out = (exc.code, exc.reason, exc.message, exc.details)
            try:
                p = server.store.get("pods/default/a").value
                pod = (p["spec"].get("nodeName"), bool(p["metadata"].get("deletionTimestamp")))
            except AttributeError:
                pod = None
            return out, pod
        d = tmp_path / ("typed" if typed else "request")
        d.mkdir()
        return run(d, body)

    typed, requested = scenario(True), scenario(False)
    assert typed == requested
    answer, pod = typed
    if case == "bind":
        assert answer["status"] == "Success" and pod == ("n1", False)
    elif case == "evict":
        assert answer["status"] == "Success" and pod in (None, (None, True))
    else:
        assert isinstance(answer, tuple) and answer[0] >= 400


def test_as_bytes_answers_the_servers_json_undecoded(tmp_path):
    async def body(server, c):
        created = await c.create("leases", lease("a"))
        typed = await c.replace("leases", created, as_bytes=True)
        requested = await c.request("PUT", path_for("leases", "default", "a"), orjson.loads(typed), as_bytes=True)
        return typed, requested, server.store.get("leases.coordination.k8s.io/default/a").raw

    typed, requested, stored = run(tmp_path, body)
    assert isinstance(typed, bytes) and orjson.loads(typed)["metadata"]["name"] == "a"
    assert requested == stored  # the unchanged object: the stored JSON as it is


@pytest.mark.parametrize("params", [{}, {"labelSelector": "app=x"}, {"fieldSelector": "spec.nodeName=n1"},
                                    {"fieldSelector": "spec.nodeName!="}, {"limit": 2},
                                    {"labelSelector": "app in (x,"}, {"fieldSelector": "spec.nope=1"},
                                    {"limit": "many"}])
def test_list_for_cache_answers_as_the_list_request_with_the_stores_objects(tmp_path, params):
    """An informer's in-process list: the same items, metadata or Status as the request, and
    the items are the store's own objects (no copy)."""
    async def body(server, c):
        for i, (app, node) in enumerate([("x", "n1"), ("y", "n1"), ("x", None), ("x", "n2")]):
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "default",
                                                                    "labels": {"app": app}},
                   "spec": {"containers": [{"name": "c", "image": "busybox"}], **({"nodeName": node} if node else {})}}
            await c.create("pods", pod)

        async def requested():
            return await c.list("pods", "default", **params)

        typed, req = await both(c, lambda: c.list_for_cache("pods", "default", **params), requested)
        shared = None
        if isinstance(typed, dict):
            shared = all(item is server.store.get(f"pods/default/{item['metadata']['name']}").value
                         for item in typed["items"])
        return typed, req, shared

    typed, requested, shared = run(tmp_path, body)
    assert typed == requested
    if isinstance(typed, dict):
        assert shared
    else:
        assert typed[0] == 400


@pytest.mark.parametrize("own_rv", [False, True])
def test_eviction_retries_a_conflict_unless_the_client_set_a_resource_version(tmp_path, monkeypatch, own_rv):
    """As upstream's eviction handler: a pending pod is deleted with the resourceVersion just
    read; when the pod changes in between (the kubelet's status write) the eviction reads it
    again and retries, unless the client's own precondition caused the conflict."""
    from everynode.apiserver import app as appmod

    monkeypatch.setattr(appmod, "EVICTION_RETRY_SECONDS", 0.01)

    async def body(server, c):
        created = await c.create("pods", {**_pod("a"), "status": {}})
        created["status"] = {"phase": "Pending"}
        pending = await c.replace("pods", created, "status")
        real_delete = server.resources.delete
        calls = []

        async def delete_after_a_status_write(kind, ns, name, options):
            calls.append(options.get("preconditions"))
            if len(calls) == 1:  # the kubelet writes the status between the read and the delete
                cur = server.store.get("pods/default/a").value
                await c.replace("pods", {**cur, "status": {**cur["status"], "podIP": "10.0.0.9"}}, "status")
            return await real_delete(kind, ns, name, options)

        server.resources.delete = delete_after_a_status_write
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "a"}}
        if own_rv:
            eviction["deleteOptions"] = {"preconditions": {"resourceVersion": pending["metadata"]["resourceVersion"]}}
        try:
            out = await c.post_subresource("pods", "a", "default", "eviction", eviction)
        except ApiError as exc:
            out = (exc.code, exc.reason)
        entry = server.store.get("pods/default/a")
        return out, calls, entry is None or bool(entry.value["metadata"].get("deletionTimestamp"))

    out, calls, evicted = run(tmp_path, body)
    if own_rv:
        assert out == (409, "Conflict") and len(calls) == 1 and not evicted
    else:
        assert out["status"] == "Success" and evicted
        assert len(calls) == 2 and calls[0]["resourceVersion"] != calls[1]["resourceVersion"]
