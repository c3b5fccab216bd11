"""pods/log: container logs through the API server, as ``kubectl logs`` reads them.

The API server checks the request as upstream does (PodLogOptions
validation, the container choice) and then asks the pod's node agent for
the stream: an agent running in this process directly (same semantics, no
extra hop), any other through its kubelet endpoint
(``https://<InternalIP>:<daemonEndpoints.kubeletEndpoint.Port>/containerLogs/...``,
authenticated with the cluster token), streaming the answer back. Errors
read as upstream's: ``Error from server (BadRequest): container "x" in pod
"y" is waiting to start: ContainerCreating``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from everynode.api import errors
from everynode.api.errors import ApiError
from everynode.api.kind import Kind
from everynode.node.logaccess import InvalidOptions, LogError, choose_container, parse_query

AgentLookup = Callable[[str], Any]  # node name -> NodeAgent in this process, or None


def _invalid(name: str, exc: InvalidOptions) -> ApiError:
    return errors.invalid_object("PodLogOptions", "", name,
                                 [errors.invalid(f, v, d) if f else errors.forbidden("", d)
                                  for f, v, d in exc.problems])


def node_endpoint(node: dict) -> tuple[str, int]:
    status = node.get("status") or {}
    addr = next((a["address"] for a in status.get("addresses") or [] if a.get("type") == "InternalIP"), "")
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") or 10250
    return addr, int(port)


class PodLogs:
    def __init__(self, server, local: AgentLookup):
        self.server = server
        self.local = local
        self._session: aiohttp.ClientSession | None = None

    def install(self) -> None:
        self.server.sub_handlers[("pods", "log")] = self.handle

    async def handle(self, request: web.Request, kind: Kind, namespace: str | None, name: str) -> web.StreamResponse:
        if request.method != "GET":
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        pod = self.server.resources.get(kind, namespace, name).value
        try:
            container, previous, opts = parse_query(request.query, time.time())
            container = choose_container(pod, container)
        except InvalidOptions as exc:
            raise _invalid(name, exc) from None
        except LogError as exc:
            raise errors.bad_request(exc.message) from None
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            return web.Response(body=b"", content_type="text/plain")
        agent = self.local(node_name)
        if agent is not None and not agent.stopped:
            try:
                stream = agent.container_logs(pod, container, previous, opts)
            except LogError as exc:
                raise ApiError(exc.code, "BadRequest", exc.message) from None
            return await _stream(request, stream)
        return await self._proxy(request, node_name, pod, container)

    async def _proxy(self, request: web.Request, node_name: str, pod: dict, container: str) -> web.StreamResponse:
        node_kind = self.server.by_gv["v1"]["nodes"]
        try:
            node = self.server.resources.get(node_kind, None, node_name).value
        except ApiError:
            raise errors.internal(f'nodes "{node_name}" not found') from None
        addr, port = node_endpoint(node)
        meta = pod["metadata"]
        query = {k: v for k, v in request.query.items() if k != "container"}
        url = f"https://{addr}:{port}/containerLogs/{meta['namespace']}/{meta['name']}/{container}"
        if query:
            url += "?" + urlencode(query)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))
        try:
            resp = await self._session.get(url, headers={"Authorization": f"Bearer {self.server.token}"},
                                           timeout=aiohttp.ClientTimeout(total=None, sock_connect=5))
        except (aiohttp.ClientError, OSError) as exc:
            raise errors.internal(f'Get "{url}": dial tcp {addr}:{port}: connect: {_reason(exc)}') from None
        try:
            if resp.status != 200:
                text = (await resp.read()).decode(errors="replace").strip()
                raise ApiError(resp.status if resp.status < 500 else 500,
                               "BadRequest" if resp.status == 400 else "InternalError", text)

            async def body() -> AsyncIterator[bytes]:
                async for chunk in resp.content.iter_any():
                    yield chunk

            return await _stream(request, body())
        finally:
            resp.release()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _reason(exc: Exception) -> str:
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, ConnectionRefusedError):
        return "connection refused"
    return str(os_error or exc)


async def _stream(request: web.Request, chunks: AsyncIterator[bytes]) -> web.StreamResponse:
    resp = web.StreamResponse(status=200)
    resp.content_type = "text/plain"
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        async for chunk in chunks:
            if chunk:
                await resp.write(chunk)
        await resp.write_eof()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:
                pass
    return resp


def install(server, local: AgentLookup) -> PodLogs:
    logs = PodLogs(server, local)
    logs.install()
    return logs
