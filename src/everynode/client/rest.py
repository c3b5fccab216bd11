"""A small asyncio REST client for the Kubernetes API, working on raw JSON.

Controllers and node agents use it instead of the official client's typed
models: those cost a model construction per object on every list and watch
event, which dominates at thousands of nodes (see docs/architecture.md).
Kubeconfig loading covers what everynode and kubeadm-style clusters write:
server, certificate-authority(-data), bearer token or client certificate.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
import yaml

from everynode.api.errors import ApiError

Obj = dict[str, Any]

# plural -> (group/version path prefix, namespaced)
RESOURCES: dict[str, tuple[str, bool]] = {
    "namespaces": ("/api/v1", False),
    "nodes": ("/api/v1", False),
    "pods": ("/api/v1", True),
    "events": ("/api/v1", True),
    "daemonsets": ("/apis/apps/v1", True),
    "controllerrevisions": ("/apis/apps/v1", True),
    "leases": ("/apis/coordination.k8s.io/v1", True),
    "priorityclasses": ("/apis/scheduling.k8s.io/v1", False),
}


# Client.patch's patch_type -> the request's content type.
PATCH_TYPES = {"strategic": "application/strategic-merge-patch+json",
               "merge": "application/merge-patch+json", "json": "application/json-patch+json"}


@dataclass
class Config:
    server: str
    token: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.server.startswith("https"):
            return False
        if self.insecure:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file and self.key_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def _materialise(data_b64: str) -> str:
    """Write inline kubeconfig PEM data to a file ssl can load; one file per content,
    reused by every later load (no temp file per client)."""
    import hashlib
    import os

    data = base64.b64decode(data_b64)
    path = os.path.join(tempfile.gettempdir(), f"everynode-{hashlib.sha256(data).hexdigest()[:24]}.pem")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return path


def load_kubeconfig(path: str | Path, context: str | None = None) -> Config:
    cfg = yaml.safe_load(Path(path).read_text())
    ctx_name = context or cfg.get("current-context")
    ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
    user = next((u["user"] for u in cfg.get("users", []) if u["name"] == ctx.get("user")), {})
    ca = cluster.get("certificate-authority")
    if cluster.get("certificate-authority-data"):
        ca = _materialise(cluster["certificate-authority-data"])
    cert = user.get("client-certificate")
    if user.get("client-certificate-data"):
        cert = _materialise(user["client-certificate-data"])
    key = user.get("client-key")
    if user.get("client-key-data"):
        key = _materialise(user["client-key-data"])
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(user["tokenFile"]).read_text().strip()
    return Config(server=cluster["server"].rstrip("/"), token=token, ca_file=ca, cert_file=cert,
                  key_file=key, insecure=bool(cluster.get("insecure-skip-tls-verify")))


def path_for(plural: str, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
    prefix, namespaced = RESOURCES[plural]
    parts = [prefix]
    if namespaced and namespace:
        parts.append(f"namespaces/{namespace}")
    parts.append(plural)
    if name:
        parts.append(name)
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


class Client:
    """Async JSON client. One aiohttp session, keep-alive connections."""

    def __init__(self, config: Config, limit: int = 100, user_agent: str = "everynode"):
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        self._limit = limit
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        if config.token:
            self._headers["Authorization"] = f"Bearer {config.token}"
        self.requests = 0

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            conn = aiohttp.TCPConnector(ssl=self.config.ssl_context(), limit=self._limit)
            self._session = aiohttp.ClientSession(
                base_url=None, connector=conn, headers=self._headers, json_serialize=lambda o: orjson.dumps(o).decode(),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, body: Any = None, params: dict | None = None,
                      content_type: str = "application/json", timeout: float | None = 60,
                      result: bool = True, as_bytes: bool = False) -> Any:
        """The decoded answer; None when ``result`` is False (the caller only needs success);
        the answer's JSON bytes, undecoded, with ``as_bytes``."""
        url = self.config.server + path
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        data = None
        headers = None
        if body is not None:
            data = body if isinstance(body, bytes) else orjson.dumps(body)
            headers = {"Content-Type": content_type}
        self.requests += 1
        async with self.session().request(method, url, data=data, headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            raw = await resp.read()
            if resp.status >= 400:
                raise _api_error(resp.status, raw)
            if as_bytes:
                return raw
            return orjson.loads(raw) if raw and result else None

    # convenience verbs ---------------------------------------------------------

    async def get(self, plural: str, name: str, namespace: str | None = None) -> Obj:
        return await self.request("GET", path_for(plural, namespace, name))

    async def list(self, plural: str, namespace: str | None = None, **params: Any) -> Obj:
        return await self.request("GET", path_for(plural, namespace), params=params or None)

    async def list_for_cache(self, plural: str, namespace: str | None = None, **params: Any) -> Obj:
        """``list`` for an informer's cache: in process (``LocalClient``) the items may be the
        API server's own objects, to be treated as read-only."""
        return await self.list(plural, namespace, **params)

    async def create(self, plural: str, obj: Obj, namespace: str | None = None, result: bool = True) -> Obj:
        ns = namespace or (obj.get("metadata") or {}).get("namespace")
        return await self.request("POST", path_for(plural, ns), obj, result=result)

    async def replace(self, plural: str, obj: Obj, subresource: str | None = None, as_bytes: bool = False) -> Any:
        """The object stored (its JSON bytes with ``as_bytes``)."""
        meta = obj["metadata"]
        return await self.request("PUT", path_for(plural, meta.get("namespace"), meta["name"], subresource), obj,
                                  as_bytes=as_bytes)

    async def patch(self, plural: str, name: str, patch: Any, namespace: str | None = None,
                    patch_type: str = "strategic", subresource: str | None = None) -> Obj:
        return await self.request("PATCH", path_for(plural, namespace, name, subresource), patch,
                                  content_type=PATCH_TYPES[patch_type])

    async def delete(self, plural: str, name: str, namespace: str | None = None,
                     options: Obj | None = None) -> Obj:
        return await self.request("DELETE", path_for(plural, namespace, name), options)

    async def post_subresource(self, plural: str, name: str, namespace: str | None, subresource: str,
                               body: Obj) -> Obj:
        return await self.request("POST", path_for(plural, namespace, name, subresource), body)

    async def watch(self, plural: str, namespace: str | None = None, resource_version: str | None = None,
                    timeout_seconds: int = 300, **params: Any) -> AsyncIterator[Obj]:
        """Yield watch events (dicts with type and object) until the server ends the stream."""
        q = {"watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": str(timeout_seconds)}
        if resource_version is not None:
            q["resourceVersion"] = resource_version
        q.update({k: v for k, v in params.items() if v is not None})
        url = self.config.server + path_for(plural, namespace) + "?" + urlencode(q)
        self.requests += 1
        async with self.session().get(url, timeout=aiohttp.ClientTimeout(
                total=None, sock_read=timeout_seconds + 30)) as resp:
            if resp.status >= 400:
                raise _api_error(resp.status, await resp.read())
            buf = b""
            async for chunk in resp.content.iter_any():
                buf += chunk
                while True:
                    nl = buf.find(b"\n")
                    if nl < 0:
                        break
                    line, buf = buf[:nl], buf[nl + 1:]
                    if line.strip():
                        yield orjson.loads(line)


def _api_error(status: int, raw: bytes) -> ApiError:
    try:
        body = orjson.loads(raw)
        return ApiError(body.get("code", status), body.get("reason", ""), body.get("message", ""),
                        body.get("details"))
    except Exception:
        return ApiError(status, "Unknown", raw.decode(errors="replace")[:500])


async def wait_until(predicate, timeout: float, interval: float = 0.2) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        try:
            if await predicate():
                return True
        except Exception:
            pass
        await asyncio.sleep(interval)
    return False
