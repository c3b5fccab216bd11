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


def test_subresources_with_handlers_of_their_own_go_through_the_full_handler(tmp_path):
    async def body(server, c):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
               "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        await c.create("pods", pod)
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"}}
        assert await server.local_call(c._auth, "POST", "v1", ["namespaces", "default", "pods", "p", "binding"],
                                       "application/json", orjson.dumps(binding)) is None
        await c.post_subresource("pods", "p", "default", "binding", binding)
        return (await c.get("pods", "p", "default"))["spec"]["nodeName"]

    assert run(tmp_path, body) == "n1"
