"""An in-process transport for the REST client of components embedded with the API server.

``everynode up`` runs the API server, the controllers and thousands of
simulated node agents in one process. Over HTTPS every call of theirs
costs TLS, HTTP framing and two socket hops, which dominated the profile
of a 1,000-node DaemonSet creation. ``LocalClient`` hands the very same
request (method, path, query, headers, JSON body bytes) to the API server's
request handler instead: authentication, routing, decoding, admission,
validation, storage and watch notification are exactly those of an HTTP
request, and the answer is the same status and body bytes. The verbs called
thousands of times a second (get, create, replace, patch) skip even the
request object: ``ApiServer.local_call`` takes the route's parts and the body
bytes and runs the same checks and the same write (``ApiServer._write``).
Watches read the store's events as objects (``local_watch``); streaming
subresources (logs, exec, metrics) still go over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from everynode.api.errors import ApiError
from everynode.client.rest import PATCH_TYPES, RESOURCES, Client, Config, Obj, _api_error, path_for

# Paths that stream or are answered outside the REST layer keep using HTTP.
_STREAMING = frozenset(("log", "exec", "attach", "portforward", "proxy"))  # subresources
_HTTP_ONLY = (*(f"/{s}" for s in sorted(_STREAMING)), "metrics.k8s.io")
# A path prefix of RESOURCES -> the group/version the API server routes it by.
_GROUP_VERSION = {prefix: prefix.split("/", 2)[2] for prefix, _ in RESOURCES.values()}


class _Body:
    def __init__(self, raw: bytes):
        self.raw = raw

    async def iter_chunked(self, n: int):
        for i in range(0, len(self.raw), n):
            yield self.raw[i:i + n]


class _Query(dict):
    """Query parameters (one value each) with the multidict method the server calls."""

    def getall(self, key: str, default: Any = None) -> list[str]:
        return [self[key]] if key in self else default


class _Headers(dict):
    """Request headers, case-insensitive for reads (keys stored lower-case)."""

    def __init__(self, headers: dict[str, str]):
        super().__init__((k.lower(), v) for k, v in headers.items())

    @classmethod
    def lowered(cls, headers: dict[str, str]) -> _Headers:
        """A copy of ``headers`` whose keys are lower-case already (no per-key work)."""
        out = cls.__new__(cls)
        dict.update(out, headers)
        return out

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class LocalRequest:
    """The parts of ``aiohttp.web.Request`` the API server's handler reads. Plain dicts
    (not multidicts): every in-process request builds them, thousands per second."""

    def __init__(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes):
        self.method = method
        self.path = path
        self.query = _Query(query)
        self.headers = headers if type(headers) is _Headers else _Headers(headers)
        self.content_length = len(body) if body else None
        self.content = _Body(body)
        # The whole body, already in memory: decode.read_body takes it as it is.
        self.local_body = body

    async def read(self) -> bytes:
        return self.local_body


class LocalClient(Client):
    def __init__(self, config: Config, server: Any, limit: int = 100, user_agent: str = "everynode"):
        super().__init__(config, limit, user_agent)
        self.server = server
        self._local_headers = _Headers(self._headers)  # the headers of every request, lower-cased once
        self._auth = self._local_headers.get("authorization", "")  # one str object, for every call

    # The verbs the embedded components call thousands of times a second go to the server's
    # ``local_call``: the same operation as the request, without building and parsing one.

    async def get(self, plural: str, name: str, namespace: str | None = None) -> Obj:
        return await self._call("GET", plural, namespace, name, None, None)

    async def create(self, plural: str, obj: Obj, namespace: str | None = None, result: bool = True) -> Obj:
        ns = namespace or (obj.get("metadata") or {}).get("namespace")
        return await self._call("POST", plural, ns, None, None, obj, result=result)

    async def replace(self, plural: str, obj: Obj, subresource: str | None = None, as_bytes: bool = False) -> Any:
        meta = obj["metadata"]
        return await self._call("PUT", plural, meta.get("namespace"), meta["name"], subresource, obj,
                                as_bytes=as_bytes)

    async def patch(self, plural: str, name: str, patch: Any, namespace: str | None = None,
                    patch_type: str = "strategic", subresource: str | None = None) -> Obj:
        return await self._call("PATCH", plural, namespace, name, subresource, patch,
                                content_type=PATCH_TYPES[patch_type])

    async def post_subresource(self, plural: str, name: str, namespace: str | None, subresource: str,
                               body: Obj) -> Obj:
        return await self._call("POST", plural, namespace, name, subresource, body)

    async def list_for_cache(self, plural: str, namespace: str | None = None, **params: Any) -> Obj:
        gv, rest = _route_parts(plural, namespace)
        self.requests += 1
        try:
            body = self.server.local_list(self._auth, gv, rest,
                                          {k: _param(v) for k, v in params.items() if v is not None})
        except ApiError as exc:  # as the request's Status answer would be read
            raise _api_error(exc.code, orjson.dumps(exc.status())) from None
        if body is None:  # served by an extra API: its own handler
            self.requests -= 1
            return await self.list(plural, namespace, **params)
        return body

    async def _call(self, method: str, plural: str, ns: str | None, name: str | None, sub: str | None,
                    body: Any, content_type: str = "application/json", result: bool = True,
                    as_bytes: bool = False) -> Any:
        if sub in _STREAMING:
            return await self.request(method, path_for(plural, ns, name, sub), body, content_type=content_type,
                                      result=result, as_bytes=as_bytes)
        gv, rest = _route_parts(plural, ns, name, sub)
        data = b"" if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
        self.requests += 1
        try:
            raw = await self.server.local_call(self._auth, method, gv, rest,
                                               content_type if body is not None else None, data)
        except ApiError as exc:  # as the request's Status answer would be read
            raise _api_error(exc.code, orjson.dumps(exc.status())) from None
        if raw is None:  # needs the full handler (which counts the request)
            self.requests -= 1
            return await self.request(method, path_for(plural, ns, name, sub), body, content_type=content_type,
                                      result=result, as_bytes=as_bytes)
        if as_bytes:
            return raw
        return orjson.loads(raw) if raw and result else None

    async def request(self, method: str, path: str, body: Any = None, params: dict | None = None,
                      content_type: str = "application/json", timeout: float | None = 60,
                      result: bool = True, as_bytes: bool = False) -> Any:
        if any(s in path for s in _HTTP_ONLY) or (params and params.get("watch")):
            return await super().request(method, path, body, params, content_type, timeout, result, as_bytes)
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        headers = _Headers.lowered(self._local_headers)
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else orjson.dumps(body)
            headers["content-type"] = content_type
            headers["content-length"] = str(len(data))
        self.requests += 1
        resp = await self.server.handle(LocalRequest(method, path, query, headers, data))
        if not isinstance(resp, web.Response):
            raise RuntimeError(f"{method} {path}: streaming answer on the local transport")
        raw = resp.body or b""
        if not isinstance(raw, bytes):
            raw = bytes(raw._value) if hasattr(raw, "_value") else b""
        if resp.status >= 400:
            raise _api_error(resp.status, raw)
        if as_bytes:
            return raw
        return orjson.loads(raw) if raw and result else None


    async def watch(self, plural: str, namespace: str | None = None, resource_version: str | None = None,
                    timeout_seconds: int = 300, **params: Any) -> AsyncIterator[Obj]:
        q = {"watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": str(timeout_seconds)}
        if resource_version is not None:
            q["resourceVersion"] = resource_version
        q.update({k: _param(v) for k, v in params.items() if v is not None})
        self.requests += 1
        # The events carry the store's own decoded objects (no encoding, no parsing, one copy
        # in memory however many informers watch): callers must treat them as read-only.
        stream = await self.server.local_watch(
            LocalRequest("GET", path_for(plural, namespace), q, dict(self._headers), b""), as_objects=True)
        try:
            async for events in stream:
                for event in events:
                    yield event
        finally:
            await stream.aclose()


def _route_parts(plural: str, ns: str | None, name: str | None = None,
                 sub: str | None = None) -> tuple[str, list[str]]:
    """The group/version and the path's parts after it, as ``path_for``'s path has them."""
    prefix, namespaced = RESOURCES[plural]
    rest = ["namespaces", ns, plural] if namespaced and ns else [plural]
    if name:
        rest.append(name)
    if sub:
        rest.append(sub)
    return _GROUP_VERSION[prefix], rest


def _param(v: Any) -> str:
    return str(v)  # what urlencode sends over HTTP
