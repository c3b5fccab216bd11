"""The HTTP layer of the API server: authentication, routing, content
negotiation (JSON, YAML, server-side Tables), watch streaming, discovery and
OpenAPI. REST semantics live in ``resources.py``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import orjson
import yaml
from aiohttp import web

from everynode import __version__
from everynode.api import errors
from everynode.api.errors import ApiError
from everynode.api.kind import Kind
from everynode.api.kinds import KINDS
from everynode.apiserver import decode, discovery
from everynode.apiserver.objects import key_of, prefix_of, success_status
from everynode.apiserver.resources import Filter, Resources, WriteOptions, make_filter
from everynode.storage.interface import Compacted, Event, Store

log = logging.getLogger("everynode.apiserver")

JSON = "application/json"
BOOKMARK_INTERVAL = 60.0
BOOKMARK_BEFORE_DEADLINE = 2.0


def next_bookmark(now: float, deadline: float) -> float:
    """When a watch stream sends its next bookmark: a minute from ``now``, or, when sooner, 2 s
    before the stream's deadline (upstream's cache watcher does both). The one before the
    deadline lets the client resume from a fresh resourceVersion: resumed from a bookmark up to
    a minute old, it fell outside the store's history (50,000 events, under a minute of lease
    renewals at 10,000 nodes) and relisted everything, every watch timeout."""
    pre = deadline - BOOKMARK_BEFORE_DEADLINE
    return pre if now < pre < now + BOOKMARK_INTERVAL else now + BOOKMARK_INTERVAL
EVENT_TTL = 3600.0
EXPIRY_CHUNK = 5000
# Upstream's EvictionsRetry: 20 attempts, 0.5 s apart (+ up to 10% jitter), on a conflict.
EVICTION_ATTEMPTS = 20
EVICTION_RETRY_SECONDS = 0.5

# Extra handlers for subresources served outside the generic REST path
# (pods/log, pods/eviction, ...): (plural, subresource) -> handler.
SubHandler = Callable[[web.Request, Kind, str | None, str], Awaitable[web.StreamResponse]]


@dataclass
class Route:
    kind: Kind | None
    namespace: str | None
    name: str | None
    subresource: str | None
    watch: bool = False


@dataclass(frozen=True)
class Negotiated:
    table: bool = False
    yaml: bool = False
    table_version: str = "v1"


@lru_cache(maxsize=256)
def _negotiate(accept: str | None) -> Negotiated:
    """What the Accept header asks for (a pure function of it: clients send a handful of
    distinct headers, so the answers are remembered, shared and immutable)."""
    if not accept:
        return Negotiated()
    for part in accept.split(","):
        items = [p.strip() for p in part.split(";")]
        mt = items[0].lower()
        params = dict(p.split("=", 1) for p in items[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g", "meta.k8s.io") == "meta.k8s.io":
            return Negotiated(table=True, table_version=params.get("v", "v1"))
        if params.get("as"):
            continue  # some other conversion (PartialObjectMetadata...) we do not offer
        if mt in ("application/json", "*/*", "application/*"):
            return Negotiated()
        if mt == "application/yaml":
            return Negotiated(yaml=True)
    return Negotiated()


_DEFAULT_WRITE_OPTIONS = WriteOptions()


@lru_cache(maxsize=64)
def _subresource_methods(subresource: str) -> frozenset[str]:
    """The HTTP methods a subresource's verbs allow."""
    allowed = {"get": "GET", "patch": "PATCH", "update": "PUT", "create": "POST"}
    verbs = discovery.SUBRESOURCE_VERBS.get(subresource, ("get",))
    return frozenset(allowed[v] for v in verbs if v in allowed)


def _is_write(method: str, r: Route) -> bool:
    """A create (POST to a collection), update (PUT) or patch (PATCH) of a named object."""
    return (method == "POST" and r.name is None) or (method in ("PUT", "PATCH") and r.name is not None)


def _not_allowed() -> ApiError:
    return errors.method_not_allowed("the server does not allow this method on the requested resource")


def _json_response(body: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return web.Response(body=raw, status=status, content_type=JSON, headers=headers)


def _error_response(exc: ApiError) -> web.Response:
    return _json_response(exc.status(), exc.code, exc.headers or None)


def _render(obj: Any, neg: Negotiated, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    headers = {"Warning": _warning_header(warnings)} if warnings else {}
    if neg.yaml:
        if isinstance(obj, bytes):
            obj = orjson.loads(obj)
        return web.Response(body=yaml.safe_dump(obj, sort_keys=False).encode(), status=status,
                            content_type="application/yaml", headers=headers)
    return _json_response(obj, status, headers)


def _warning_header(warnings: list[str]) -> str:
    return ", ".join('299 - ' + orjson.dumps(w).decode() for w in warnings)


async def _one_chunk(chunk: Any) -> AsyncIterator[Any]:
    yield chunk


def _bool_param(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def _int_param(q, name: str) -> int | None:
    v = q.get(name)
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise errors.bad_request(f"invalid value for {name}: {v!r} is not an integer") from None


@dataclass
class ApiServer:
    store: Store
    token: str
    kinds: list[Kind] = field(default_factory=lambda: list(KINDS))
    sub_handlers: dict[tuple[str, str], SubHandler] = field(default_factory=dict)
    extra_groups: list[tuple[str, str]] = field(default_factory=list)
    extra_routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = field(default_factory=dict)
    # Whole group-versions served by a handler of their own (metrics.k8s.io/v1beta1): gv -> handler(request, rest)
    extra_apis: dict[str, Callable[[web.Request, list[str]], Awaitable[web.StreamResponse]]] = field(
        default_factory=dict)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.resources = Resources(self.store)
        self.by_gv: dict[str, dict[str, Kind]] = {}
        for k in self.kinds:
            self.by_gv.setdefault(k.group_version, {})[k.plural] = k
            if k.kind == "Namespace":
                self.resources.namespace_kind = k
        self._token_bytes = self.token.encode()
        # The header string last accepted. In-process clients send the same str object with
        # every request (thousands a second), so an identity test settles them; any other
        # string, equal or not, goes through the constant-time comparison.
        self._accepted: str | None = None

    # ------------------------------------------------------------------ app

    def _authenticated(self, request: web.Request) -> bool:
        return self._token_ok(request.headers.get("Authorization", ""))

    def _token_ok(self, auth: str) -> bool:
        if auth is self._accepted:
            return True
        if not auth.startswith("Bearer "):
            return False
        if hmac.compare_digest(auth[7:].strip().encode(), self._token_bytes):
            self._accepted = auth
            return True
        return False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if not self._authenticated(request):
            return _error_response(errors.unauthorized())
        try:
            return await self._dispatch(request, path)
        except ApiError as exc:
            return _error_response(exc)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug must not take the server down
            log.exception("internal error serving %s %s", request.method, path)
            return _error_response(errors.internal(str(exc)))

    async def _dispatch(self, request: web.Request, path: str) -> web.StreamResponse:
        if path in self.extra_routes:
            return await self.extra_routes[path](request)
        parts = [unquote(p) if "%" in p else p for p in path.strip("/").split("/") if p]
        if not parts:
            return _json_response({"paths": sorted(["/api", "/apis", "/healthz", "/livez", "/readyz",
                                                    "/version", "/openapi/v2", "/openapi/v3"])})
        if parts == ["version"]:
            return _json_response(version_info())
        if parts[0] == "openapi":
            return await self._openapi(request, parts)
        if parts[0] == "api":
            if len(parts) == 1:
                return _json_response(discovery.api_versions())
            if parts[1] != "v1":
                raise errors.path_not_found()
            if len(parts) == 2:
                return _json_response(self._resource_list("v1"))
            return await self._resource(request, "v1", parts[2:])
        if parts[0] == "apis":
            if len(parts) == 1:
                return _json_response(discovery.api_group_list(self.kinds, self.extra_groups))
            if len(parts) == 2:
                doc = discovery.api_group(self.kinds, parts[1], self.extra_groups)
                if doc is None:
                    raise errors.path_not_found()
                return _json_response(doc)
            gv = f"{parts[1]}/{parts[2]}"
            if len(parts) == 3:
                if gv not in self.by_gv and (parts[1], parts[2]) not in self.extra_groups:
                    raise errors.path_not_found()
                return _json_response(self._resource_list(gv))
            if gv in self.extra_apis:
                return await self.extra_apis[gv](request, parts[3:])
            return await self._resource(request, gv, parts[3:])
        raise errors.path_not_found()

    def _resource_list(self, gv: str) -> dict:
        doc = discovery.resource_list(gv, list(self.by_gv.get(gv, {}).values()))
        extra = getattr(self, "extra_resources", {}).get(gv)
        if extra:
            doc["resources"].extend(extra)
        return doc

    async def _openapi(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        from everynode.apiserver import openapi

        if parts == ["openapi", "v2"]:
            from everynode.apiserver import openapi_proto

            media = openapi_proto.negotiate(request.headers.get("Accept"))
            if media is None:
                raise errors.not_acceptable("only application/json and "
                                            f"{openapi_proto.PROTOBUF} are supported")
            body = (openapi.v2_bytes(tuple(self.kinds)) if media == JSON
                    else openapi.v2_protobuf_bytes(tuple(self.kinds)))
            return web.Response(body=body, headers={"Content-Type": media, "Vary": "Accept"})
        if parts == ["openapi", "v3"]:
            return web.Response(body=openapi.v3_index_bytes(tuple(self.kinds)), content_type=JSON)
        if len(parts) > 2 and parts[1] == "v3":
            body = openapi.v3_group_version_bytes(tuple(self.kinds), "/".join(parts[2:]))
            if body is not None:
                return web.Response(body=body, content_type=JSON)
        raise errors.path_not_found()

    # ------------------------------------------------------------- resources

    def _route(self, gv: str, rest: list[str]) -> Route:
        kinds = self.by_gv.get(gv)
        if kinds is None:
            raise errors.path_not_found()
        watch = False
        if rest and rest[0] == "watch":
            watch, rest = True, rest[1:]
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] in kinds and kinds[rest[2]].namespaced:
            ns, rest = rest[1], rest[2:]
        if not rest or rest[0] not in kinds or len(rest) > 3:
            raise errors.path_not_found()
        kind = kinds[rest[0]]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if kind.namespaced and name is not None and ns is None:
            raise errors.path_not_found()
        if sub is not None and sub not in kind.subresources:
            raise errors.path_not_found()
        return Route(kind, ns, name, sub, watch)

    def _write_options(self, request: web.Request) -> WriteOptions:
        q = request.query
        if not q:
            return _DEFAULT_WRITE_OPTIONS  # most writes have no query (immutable options)
        dry = q.getall("dryRun", [])
        for d in dry:
            if d != "All":
                raise errors.bad_request(f'Unsupported dry run value "{d}": valid values: "All"')
        fv = q.get("fieldValidation", "Warn") or "Warn"
        if fv not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(f"fieldValidation must be one of Ignore, Warn or Strict, got {fv!r}")
        return WriteOptions(dry_run=bool(dry), field_validation=fv)

    async def _resource(self, request: web.Request, gv: str, rest: list[str]) -> web.StreamResponse:
        r = self._route(gv, rest)
        kind = r.kind
        assert kind is not None
        method = request.method
        q = request.query
        neg = _negotiate(request.headers.get("Accept"))
        if r.subresource and (kind.plural, r.subresource) in self.sub_handlers:
            return await self.sub_handlers[(kind.plural, r.subresource)](request, kind, r.namespace, r.name)
        if r.subresource in ("binding", "eviction") and method == "POST":
            return await self._pod_subresource_post(request, kind, r)
        self._check_method(kind, r, method)
        if method == "GET":
            if r.watch or _bool_param(q.get("watch")):
                return await self._watch(request, kind, r, neg)
            if r.name is not None:
                entry = self.resources.get(kind, r.namespace, r.name)
                if neg.table:
                    return self._table_response([entry.value], kind, neg, {"resourceVersion": str(entry.mod_rev)})
                return _render(entry.raw, neg)
            return self._list(request, kind, r, neg)
        opts = self._write_options(request)
        if _is_write(method, r):
            obj, status, warnings = await self._write(kind, r, method, opts, request.headers.get("Content-Type"),
                                                      await decode.read_body(request))
            return self._object_response(obj, kind, neg, status, warnings)
        if method == "DELETE":
            options = await self._delete_options(request, opts)
            if r.name is not None:
                obj, deleted_now = await self.resources.delete(kind, r.namespace, r.name, options)
                if deleted_now and kind.kind not in ("Pod", "Namespace"):
                    return _json_response(success_status(kind, obj))
                return self._object_response(obj, kind, neg, 200 if deleted_now or kind.kind != "Namespace"
                                             else 200, [])
            flt = make_filter(kind, q.get("labelSelector"), q.get("fieldSelector"))
            objs = await self.resources.delete_collection(kind, r.namespace, flt, options)
            return _json_response(self._list_body_from_objs(kind, objs))
        raise errors.method_not_allowed("the server does not allow this method on the requested resource")

    @staticmethod
    def _check_method(kind: Kind, r: Route, method: str) -> None:
        """405 for what upstream does not route: writes to the all-namespaces path,
        verbs a subresource does not have, deletecollection a kind does not offer."""
        if r.subresource is not None:
            if method not in _subresource_methods(r.subresource):
                raise _not_allowed()
            return
        if kind.namespaced and r.namespace is None and method != "GET":
            raise _not_allowed()
        if method == "DELETE" and r.name is None and "deletecollection" not in kind.verbs:
            raise _not_allowed()
        if method in ("PUT", "PATCH") and r.name is None:
            raise _not_allowed()
        if method == "POST" and r.name is not None:
            raise _not_allowed()

    async def _write(self, kind: Kind, r: Route, method: str, opts: WriteOptions, content_type: str | None,
                     raw: bytes) -> tuple[dict, int, list[str]]:
        """A create (POST), update (PUT) or patch (PATCH, ``_is_write``): the object stored (or
        that would be, on a dry run), the status code and the warnings. For HTTP requests and
        in-process calls (``local_call``) alike."""
        if method == "POST":
            body = decode.parse(raw, content_type)
            obj, warnings = await self.resources.create(kind, r.namespace, body, opts, owned=True)
            return obj, 201, warnings
        if method == "PUT":
            body = decode.parse(raw, content_type)
            if r.subresource == "finalize" and kind.kind == "Namespace":
                obj, warnings = await self.resources.update(kind, None, r.name, body, opts, "finalize", owned=True)
            else:
                obj, warnings = await self.resources.update(kind, r.namespace, r.name, body, opts, r.subresource,
                                                            owned=True)
            return obj, 200, warnings
        obj, warnings = await self.resources.patch(kind, r.namespace, r.name, decode.media_type(content_type),
                                                   raw, opts, r.subresource)
        return obj, 200, warnings

    async def local_call(self, auth: str, method: str, gv: str, rest: list[str], content_type: str | None,
                         raw: bytes) -> bytes | None:
        """An embedded component's get, create, update or patch, without emulating HTTP (no
        request object, path to parse or response to build: a fifth to a third of a lease
        renewal's CPU). The same token check, route, method check, decoding, admission,
        validation and storage as ``handle`` (``_route``, ``_check_method``, ``_write``); the
        answer is the JSON body ``handle`` would send. Raises the ApiError ``handle`` would
        answer as a Status. A pod binding or eviction runs ``_pod_post`` as the request does.
        None when the call needs the full handler (a subresource with a handler of its own, a
        watch, a list, a delete, an extra API group): the caller then makes the request."""
        try:
            if not self._token_ok(auth):
                raise errors.unauthorized()
            if self.extra_routes or gv in self.extra_apis:
                return None
            r = self._route(gv, rest)
            kind = r.kind
            assert kind is not None
            if r.watch or (r.subresource and (kind.plural, r.subresource) in self.sub_handlers):
                return None
            if r.subresource in ("binding", "eviction") and method == "POST":
                if len(raw) > decode.MAX_BODY:
                    raise errors.too_large()
                return orjson.dumps(await self._pod_post(kind, r, raw, content_type, _DEFAULT_WRITE_OPTIONS, []))
            self._check_method(kind, r, method)
            if method == "GET" and r.name is not None:
                return self.resources.get(kind, r.namespace, r.name).raw
            if not _is_write(method, r):
                return None
            if len(raw) > decode.MAX_BODY:
                raise errors.too_large()
            obj, _, _ = await self._write(kind, r, method, _DEFAULT_WRITE_OPTIONS, content_type, raw)
            return self._stored_json(kind, obj) or orjson.dumps(obj)
        except (ApiError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug: answered as handle answers it
            log.exception("internal error serving %s %s", method, "/".join([gv, *rest]))
            raise errors.internal(str(exc)) from None

    def local_list(self, auth: str, gv: str, rest: list[str], query: dict[str, str]) -> dict | None:
        """An embedded informer's list: what ``handle`` answers a GET of the collection with
        ``query`` (selectors, limit, continue), with the store's own decoded objects as items,
        shared, not copies (read-only, as the objects of ``local_watch``): a relist of 50,000 pods
        neither encodes nor decodes them, nor holds a second copy of each. None for an extra
        API group (its own handler answers)."""
        if not self._token_ok(auth):
            raise errors.unauthorized()
        if self.extra_routes or gv in self.extra_apis:  # as local_call
            return None
        r = self._route(gv, rest)
        kind = r.kind
        assert kind is not None
        if r.name is not None or r.subresource is not None or r.watch:
            raise errors.bad_request("not a list")
        self._check_method(kind, r, "GET")
        entries, meta = self._list_page(kind, r, query)
        return {"kind": f"{kind.kind}List", "apiVersion": kind.group_version, "metadata": meta,
                "items": [e.value for e in entries]}

    def _object_response(self, obj: dict, kind: Kind, neg: Negotiated, status: int,
                         warnings: list[str]) -> web.Response:
        headers = {"Warning": _warning_header(warnings)} if warnings else None
        if neg.table:
            resp = self._table_response([obj], kind, neg, {})
            resp.set_status(status)
            if headers:
                resp.headers.update(headers)
            return resp
        if neg.yaml:
            return _render(obj, neg, status, None)
        return _json_response(self._stored_json(kind, obj) or obj, status, headers)

    def _stored_json(self, kind: Kind, obj: dict) -> bytes | None:
        """The JSON the store encoded for ``obj`` when ``obj`` is the stored object itself (what a
        write just stored, or an unchanged object): the answer without encoding it again."""
        meta = obj.get("metadata")
        if type(meta) is not dict or type(meta.get("name")) is not str:
            return None
        entry = self.store.get(key_of(kind, meta.get("namespace") if kind.namespaced else None, meta["name"]))
        return entry.raw if entry is not None and entry.holds(obj) else None

    async def _delete_options(self, request: web.Request, opts: WriteOptions) -> dict:
        options: dict[str, Any] = {}
        raw = await decode.read_body(request)
        if raw.strip():
            body = decode.parse(raw, request.headers.get("Content-Type"))
            if not isinstance(body, dict):
                raise errors.bad_request("DeleteOptions must be a JSON object")
            try:
                decode.check("V1DeleteOptions", body)
            except decode.TypeMismatch as exc:
                raise errors.bad_request(f"DeleteOptions cannot be decoded: {exc}") from None
            options.update(body)
        q = request.query
        grace = _int_param(q, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        if q.get("propagationPolicy"):
            options["propagationPolicy"] = q["propagationPolicy"]
        if q.get("orphanDependents"):
            options["orphanDependents"] = _bool_param(q["orphanDependents"])
        if opts.dry_run or options.get("dryRun"):
            options["dryRun"] = ["All"]
        return options

    # ------------------------------------------------------------------ lists

    def _list_page(self, kind: Kind, r: Route, q) -> tuple[list, dict]:
        """The entries a list request (selectors, limit, continue) answers, and its metadata."""
        flt = make_filter(kind, q.get("labelSelector"), q.get("fieldSelector"))
        limit = _int_param(q, "limit") or 0
        entries, rev, cont, remaining = self.resources.list(kind, r.namespace, flt, limit, q.get("continue"))
        meta: dict[str, Any] = {"resourceVersion": str(rev)}
        if cont:
            meta["continue"] = cont
            if flt.empty:  # with selectors the count is unknown upstream, and omitted
                meta["remainingItemCount"] = remaining
        return entries, meta

    def _list(self, request: web.Request, kind: Kind, r: Route, neg: Negotiated) -> web.Response:
        q = request.query
        entries, meta = self._list_page(kind, r, q)
        if neg.table:
            return self._table_response([e.value for e in entries], kind, neg, meta,
                                        q.get("includeObject", "Metadata"))
        head = orjson.dumps({"kind": f"{kind.kind}List", "apiVersion": kind.group_version, "metadata": meta})
        body = head[:-1] + b',"items":[' + b",".join(e.raw for e in entries) + b"]}"
        return _render(body, neg)

    def _list_body_from_objs(self, kind: Kind, objs: list[dict]) -> dict:
        return {"kind": f"{kind.kind}List", "apiVersion": kind.group_version,
                "metadata": {"resourceVersion": str(self.store.revision)}, "items": objs}

    def _table(self, objs: list[dict], kind: Kind, neg: Negotiated, meta: dict,
               include_object: str = "Metadata", with_columns: bool = True) -> dict:
        from everynode.api import tables

        table = tables.build_table(kind, objs, time.time(), include_object, meta)
        if neg.table_version != "v1":
            table["apiVersion"] = f"meta.k8s.io/{neg.table_version}"
        if not with_columns:
            table["columnDefinitions"] = None
        return table

    def _table_response(self, objs: list[dict], kind: Kind, neg: Negotiated, meta: dict,
                        include_object: str = "Metadata") -> web.Response:
        table = self._table(objs, kind, neg, meta, include_object)
        return web.Response(body=orjson.dumps(table),
                            headers={"Content-Type": f"application/json;as=Table;v={neg.table_version};"
                                                     f"g=meta.k8s.io"})

    # ------------------------------------------------------------------ watch

    async def _watch(self, request: web.Request, kind: Kind, r: Route, neg: Negotiated) -> web.StreamResponse:
        await self.wait_for_revision(request.query.get("resourceVersion", ""))
        stream = await self.watch_stream(request.query, kind, r, neg)  # bad parameters fail before any output
        resp = web.StreamResponse(status=200)
        resp.content_type = JSON
        if neg.table:
            resp.headers["Content-Type"] = f"application/json;as=Table;v={neg.table_version};g=meta.k8s.io"
        resp.enable_chunked_encoding()
        try:
            await resp.prepare(request)
            async for chunk in stream:
                await resp.write(chunk)
            await resp.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            await stream.aclose()
        return resp

    async def wait_for_revision(self, rv_param: str, wait: float = 3.0) -> None:
        """A watch from a revision not yet reached waits briefly for it, as upstream's
        watch cache does (then watch_stream answers 'Too large resource version')."""
        try:
            want = int(rv_param)
        except ValueError:
            return
        deadline = time.monotonic() + wait
        while want > self.store.revision and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def watch_stream(self, q, kind: Kind, r: Route, neg: Negotiated,
                           as_objects: bool = False) -> AsyncIterator[Any]:
        """The body of a watch response as chunks of JSON lines. Parameters are checked and the
        store watch is opened now; the chunks follow as events arrive.

        ``as_objects`` (in-process watchers): chunks are lists of watch event dicts whose
        objects are the store's own decoded objects, shared, not copies: the watcher must not
        modify them (as with client-go's informer caches)."""
        flt = make_filter(kind, q.get("labelSelector"), q.get("fieldSelector"), r.name)
        rv_param = q.get("resourceVersion", "")
        timeout = _int_param(q, "timeoutSeconds")
        if timeout is None or timeout <= 0:
            timeout = random.randint(1800, 3600)
        bookmarks = _bool_param(q.get("allowWatchBookmarks"))
        send_initial = q.get("sendInitialEvents")
        include_object = q.get("includeObject", "Metadata")
        prefix = prefix_of(kind, r.namespace)
        initial: list = []
        explicit_no_initial = send_initial is not None and not _bool_param(send_initial)
        if (rv_param in ("", "0") and not explicit_no_initial) or _bool_param(send_initial):
            entries, start_rev = self.store.list(prefix)
            initial = [e for e in entries if flt.matches(kind, e.value)]
        elif rv_param in ("", "0"):
            start_rev = self.store.revision
        else:
            try:
                start_rev = int(rv_param)
            except ValueError:
                raise errors.bad_request(f'invalid resource version: "{rv_param}"') from None
            if start_rev > self.store.revision:
                raise ApiError(504, "Timeout", "Too large resource version: "
                               f"{start_rev}, current: {self.store.revision}",
                               {"causes": [{"reason": "ResourceVersionTooLarge",
                                            "message": "Too large resource version"}],
                                "retryAfterSeconds": 1})
        try:
            watch = self.store.watch(prefix, start_rev)
        except Compacted as exc:
            status = errors.gone(f"too old resource version: {exc.requested} ({exc.oldest})").status()
            if as_objects:
                return _one_chunk([{"type": "ERROR", "object": status}])
            return _one_chunk(orjson.dumps({"type": "ERROR", "object": status}) + b"\n")
        state = {"columns_sent": False}

        def encode(ev_type: str, obj: dict, raw: bytes | None) -> Any:
            if as_objects:
                return {"type": ev_type, "object": obj}
            if neg.table:
                table = self._table([obj], kind, neg, {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                                    include_object, with_columns=not state["columns_sent"])
                state["columns_sent"] = True
                return orjson.dumps({"type": ev_type, "object": table}) + b"\n"
            if raw is None:
                raw = orjson.dumps(obj)
            return b'{"type":"' + ev_type.encode() + b'","object":' + raw + b"}\n"

        async def chunks() -> AsyncIterator[bytes]:
            try:
                first = [encode("ADDED", e.value, e.raw) for e in initial]
                if _bool_param(send_initial) and bookmarks:
                    first.append(self._bookmark(kind, start_rev, initial_end=True, as_object=as_objects))
                if first:
                    yield first if as_objects else b"".join(first)
                deadline = time.monotonic() + timeout
                bookmark_at = next_bookmark(time.monotonic(), deadline)
                last_rev = start_rev
                while True:
                    now = time.monotonic()
                    if now >= deadline or self.stopping.is_set():
                        break
                    wait = min(deadline, bookmark_at) - now
                    batch = await watch.poll(min(wait, 5.0))
                    if batch is None:
                        break
                    out = []
                    for ev in batch:
                        last_rev = ev.rev
                        line = self._event_line(kind, flt, ev, encode)
                        if line:
                            out.append(line)
                    if bookmarks and time.monotonic() >= bookmark_at:
                        out.append(self._bookmark(kind, max(last_rev, self.store.revision), as_object=as_objects))
                        bookmark_at = next_bookmark(time.monotonic(), deadline)
                    if out:
                        yield out if as_objects else b"".join(out)
            finally:
                watch.close()

        return chunks()

    async def local_watch(self, request, as_objects: bool = False) -> AsyncIterator[Any]:
        """A watch for a client in this process (``client/local.py``, a request without a
        transport): the same authentication, routing and stream as over HTTP, or, with
        ``as_objects``, the events themselves (see ``watch_stream``). Raises ApiError
        where HTTP would answer 4xx."""
        if not self._authenticated(request):
            raise errors.unauthorized()
        parts = [unquote(p) for p in request.path.strip("/").split("/") if p]
        if len(parts) >= 3 and parts[0] == "api" and parts[1] == "v1":
            gv, rest = "v1", parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis":
            gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        r = self._route(gv, rest)
        assert r.kind is not None
        if request.method != "GET" or r.subresource is not None:
            raise errors.bad_request("not a watch request")
        return await self.watch_stream(request.query, r.kind, r, _negotiate(request.headers.get("Accept")),
                                       as_objects)

    @staticmethod
    def _event_line(kind: Kind, flt: Filter, ev: Event, encode) -> bytes | None:
        if flt.empty:
            return encode(ev.type, ev.entry.value, ev.entry.raw)
        now_match = flt.matches(kind, ev.entry.value)
        if ev.type == "ADDED":
            return encode("ADDED", ev.entry.value, ev.entry.raw) if now_match else None
        if ev.type == "DELETED":
            was = flt.matches(kind, ev.prev.value) if ev.prev is not None else now_match
            return encode("DELETED", ev.entry.value, ev.entry.raw) if (was or now_match) else None
        was = flt.matches(kind, ev.prev.value) if ev.prev is not None else False
        if was and now_match:
            return encode("MODIFIED", ev.entry.value, ev.entry.raw)
        if now_match:
            return encode("ADDED", ev.entry.value, ev.entry.raw)
        if was and ev.prev is not None:
            # Leaving the selection: upstream sends the previous state at the new revision.
            gone = dict(ev.prev.value)
            gone["metadata"] = dict(gone["metadata"], resourceVersion=str(ev.rev))
            return encode("DELETED", gone, None)
        return None

    @staticmethod
    def _bookmark(kind: Kind, rev: int, initial_end: bool = False, as_object: bool = False) -> Any:
        meta: dict[str, Any] = {"resourceVersion": str(rev)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        event = {"type": "BOOKMARK", "object": {"kind": kind.kind, "apiVersion": kind.group_version, "metadata": meta}}
        return event if as_object else orjson.dumps(event) + b"\n"

    # ---------------------------------------------------- pods/binding, eviction

    async def _pod_subresource_post(self, request: web.Request, kind: Kind, r: Route) -> web.Response:
        status = await self._pod_post(kind, r, await decode.read_body(request), request.headers.get("Content-Type"),
                                      self._write_options(request), request.query.getall("dryRun", []))
        return _json_response(status, 201)

    async def _pod_post(self, kind: Kind, r: Route, raw: bytes, content_type: str | None, opts: WriteOptions,
                        dry_run: list[str]) -> dict:
        """POST pods/<name>/binding or /eviction, for the request and ``local_call``: the Status."""
        body = decode.parse(raw, content_type)
        if not isinstance(body, dict):
            raise errors.bad_request("the body must be a JSON object")
        assert r.name is not None
        if not (body.get("metadata") or {}).get("name"):
            body.setdefault("metadata", {})["name"] = r.name
        if r.subresource == "binding":
            await self.resources.bind(kind, r.namespace, r.name, body, opts)
        else:
            await self._evict(kind, r, body, dry_run)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    async def _evict(self, kind: Kind, r: Route, body: dict, dry_run: list[str]) -> None:
        """An eviction: no PodDisruptionBudgets are served, so a checked delete of the pod as read
        now (a pending pod's delete carries its resourceVersion). As upstream's eviction handler,
        a conflict (the pod changed between the read and the delete: a status write) is retried
        with the pod read again, up to EVICTION_ATTEMPTS times 0.5 s apart, unless the client set
        a resourceVersion precondition of its own."""
        from everynode.api.kinds import pod as podkind

        given = body.get("deleteOptions")
        preconditions = given.get("preconditions") if isinstance(given, dict) else None
        own_rv = preconditions.get("resourceVersion") if isinstance(preconditions, dict) else None
        for attempt in range(EVICTION_ATTEMPTS):
            current = self.resources.get(kind, r.namespace, r.name).value
            options = podkind.eviction_delete_options(body, r.name, current, dry_run)
            try:
                await self.resources.delete(kind, r.namespace, r.name, options)
                return
            except ApiError as exc:
                if exc.code != 409 or own_rv is not None or attempt + 1 == EVICTION_ATTEMPTS:
                    raise
            await asyncio.sleep(EVICTION_RETRY_SECONDS * (1 + 0.1 * random.random()))

    # --------------------------------------------------------------- bootstrap

    async def expire_events(self, ttl: float = EVENT_TTL, every: float = 60.0,
                            clock: Callable[[], float] = time.time) -> None:
        """Events live for ``ttl`` seconds after their last write (kube-apiserver's --event-ttl,
        1 h: it attaches an etcd lease of that length to each write), then the store drops them
        (watchers see them DELETED). A version written while this runs is aged from the pass
        that first sees it (at most ``every`` late); one written before (a restart) from its
        own lastTimestamp, eventTime or creation time."""
        from everynode.apiserver.objects import parse_time
        from everynode.storage.interface import StorageError

        kind = self.by_gv["v1"]["events"]
        times: dict[int, float] = {}
        born = self.store.revision  # versions up to this one were written before
        while not self.stopping.is_set():
            try:
                await asyncio.wait_for(self.stopping.wait(), every)
                return
            except TimeoutError:
                pass
            now = clock()
            horizon = now - ttl
            # The last-seen time of each event version, by its revision. The pass yields to the
            # loop every CHUNK events: at 10,000 nodes there are some 300,000 of them.
            known, times = times, {}
            expired: list[tuple[str, int]] = []
            # A snapshot: an entry replaced or deleted meanwhile is seen as it was (its expiry
            # then fails the delete's revision check and is looked at again next round).
            entries = self.store.entries(prefix_of(kind, None))
            for i, e in enumerate(entries):
                if i % EXPIRY_CHUNK == EXPIRY_CHUNK - 1:
                    await asyncio.sleep(0)
                last = known.get(e.mod_rev)
                if last is None and e.mod_rev > born:
                    last = now  # no decoding: 300,000 events at 10,000 nodes
                elif last is None:
                    ev = e.value  # events are kept as bytes only: decoded once per version
                    last = (parse_time(ev.get("lastTimestamp")) or parse_time(ev.get("eventTime"))
                            or parse_time((ev.get("metadata") or {}).get("creationTimestamp")) or 0.0)
                times[e.mod_rev] = last
                if last < horizon:
                    expired.append((e.key, e.mod_rev))
            del entries
            for key, rev in expired:
                try:
                    await self.store.delete(key, rev)
                except StorageError:
                    pass  # changed or gone meanwhile: looked at again next round

    async def bootstrap(self) -> None:
        """Create what a fresh cluster has: system namespaces and priority classes."""
        from everynode.api.kinds import priorityclass

        ns_kind = self.resources.namespace_kind
        assert ns_kind is not None
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            if self.store.get(key_of(ns_kind, None, name)) is None:
                await self.resources.create(ns_kind, None, {"metadata": {"name": name}}, WriteOptions())
        pc_kind = self.by_gv["scheduling.k8s.io/v1"]["priorityclasses"]
        for pc in priorityclass.builtin_priority_classes():
            if self.store.get(key_of(pc_kind, None, pc["metadata"]["name"])) is None:
                await self.resources.create(pc_kind, None, pc, WriteOptions())
        self._event_expiry = asyncio.create_task(self.expire_events(), name="event-ttl")
        # Namespaces left terminating by a previous run finish now.
        entries, _ = self.store.list(prefix_of(ns_kind, None))
        for e in entries:
            if e.value["metadata"].get("deletionTimestamp"):
                self.resources._start_namespace_cleanup(e.value["metadata"]["name"])


def version_info() -> dict:
    return {"major": "1", "minor": "37", "emulationMajor": "1", "emulationMinor": "37",
            "minCompatibilityMajor": "1", "minCompatibilityMinor": "36",
            "gitVersion": f"v1.37.0-everynode.{__version__}", "gitCommit": "everynode",
            "gitTreeState": "clean", "buildDate": "2026-11-01T00:00:00Z", "goVersion": "python",
            "compiler": "cpython", "platform": "linux/amd64"}


def ssl_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


async def serve(server: ApiServer, host: str, port: int, ctx: ssl.SSLContext | None) -> web.BaseRunner:
    # aiohttp's low-level server: the API server routes every path itself, so the
    # Application layer (router, middlewares, signals) would only add work per request.
    runner = web.ServerRunner(web.Server(server.handle, handler_cancellation=True, access_log=None,
                                         keepalive_timeout=120))
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ctx, backlog=1024, reuse_address=True)
    await site.start()
    return runner
