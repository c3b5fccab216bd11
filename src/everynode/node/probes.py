"""Liveness, readiness and startup probes (exec, httpGet, tcpSocket), as the kubelet runs them.

One task per probe of a running container instance. The first check runs
when the container starts, then every ``periodSeconds``; checks inside
``initialDelaySeconds`` are skipped; a result only changes after
``successThreshold`` / ``failureThreshold`` consecutive equal outcomes.
Readiness starts as failed, liveness as passed; until the startup probe
has passed, neither of the others runs. A failed liveness or startup probe
asks the pod worker to kill the container (it is then restarted by the
restart policy, with back-off).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

log = logging.getLogger("everynode.node.probes")

Obj = dict[str, Any]
USER_AGENT = "kube-probe/1.37"


def params(probe: Obj) -> dict[str, int]:
    def val(key: str, default: int, minimum: int) -> int:
        v = probe.get(key)
        try:
            v = int(v) if v is not None else default
        except (TypeError, ValueError):
            v = default
        return max(minimum, v) if v else default

    return {"initialDelaySeconds": max(0, int(probe.get("initialDelaySeconds") or 0)),
            "periodSeconds": val("periodSeconds", 10, 1), "timeoutSeconds": val("timeoutSeconds", 1, 1),
            "successThreshold": val("successThreshold", 1, 1), "failureThreshold": val("failureThreshold", 3, 1)}


def resolve_port(port: Any, container: Obj) -> int | None:
    if isinstance(port, int):
        return port
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        for p in container.get("ports") or []:
            if p.get("name") == port:
                return int(p.get("containerPort") or 0) or None
    return None


_session: aiohttp.ClientSession | None = None


def _http() -> aiohttp.ClientSession:
    global _session
    if _session is None or _session.closed:
        _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False, force_close=True),
                                         headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    return _session


async def http_probe(action: Obj, host: str, container: Obj, timeout: float) -> tuple[bool, str]:
    port = resolve_port(action.get("port"), container)
    if port is None:
        return False, f"invalid port {action.get('port')!r}"
    scheme = (action.get("scheme") or "HTTP").lower()
    host = action.get("host") or host
    path = action.get("path") or "/"
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{host}:{port}{path}"
    headers = {h.get("name", ""): h.get("value", "") for h in action.get("httpHeaders") or [] if h.get("name")}
    try:
        async with _http().get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout),
                               max_redirects=10) as resp:
            await resp.read()
            if 200 <= resp.status < 400:
                return True, ""
            return False, f"HTTP probe failed with statuscode: {resp.status}"
    except TimeoutError:
        return False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    except aiohttp.ClientConnectorError as exc:
        reason = "connection refused" if isinstance(exc.os_error, ConnectionRefusedError) else str(exc.os_error)
        return False, f'Get "{url}": dial tcp {host}:{port}: connect: {reason}'
    except aiohttp.ClientError as exc:
        return False, f'Get "{url}": {exc}'


async def tcp_probe(action: Obj, host: str, container: Obj, timeout: float) -> tuple[bool, str]:
    port = resolve_port(action.get("port"), container)
    host = action.get("host") or host
    if port is None:
        return False, f"invalid port {action.get('port')!r}"
    try:
        _r, w = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        w.close()
        return True, ""
    except TimeoutError:
        return False, f"dial tcp {host}:{port}: i/o timeout"
    except ConnectionRefusedError:
        return False, f"dial tcp {host}:{port}: connect: connection refused"
    except OSError as exc:
        return False, f"dial tcp {host}:{port}: {exc.strerror or exc}"


class ContainerProbes:
    """The probes of one running container instance."""

    KINDS = (("startupProbe", "Startup"), ("readinessProbe", "Readiness"), ("livenessProbe", "Liveness"))

    def __init__(self, container: Obj, started_at: float, run_check: Callable, on_change: Callable[[], None],
                 on_fail: Callable[[str, str, Obj], None], on_event: Callable[[str, str], None],
                 real: bool = True):
        self.container = container
        self.started_at = started_at
        self.run_check = run_check  # async (kind, action, timeout) -> (ok, message)
        self.on_change = on_change
        self.on_fail = on_fail
        self.on_event = on_event
        self.real = real
        self.started = not container.get("startupProbe")
        self.ready = not container.get("readinessProbe")
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        for key, label in self.KINDS:
            probe = self.container.get(key)
            if probe:
                self._tasks.append(asyncio.create_task(self._loop(key, label, probe),
                                                       name=f"probe-{label}-{self.container.get('name')}"))

    def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        self._tasks = []

    async def _check(self, probe: Obj, timeout: float) -> tuple[bool, str]:
        if not self.real:
            return True, ""
        for kind in ("exec", "httpGet", "tcpSocket", "grpc"):
            if probe.get(kind) is not None:
                return await self.run_check(kind, probe[kind], timeout)
        return False, "probe has no handler"

    async def _loop(self, key: str, label: str, probe: Obj) -> None:
        p = params(probe)
        last: bool | None = None
        run = 0
        try:
            while True:
                if (key == "startupProbe" and self.started) or (key != "startupProbe" and not self.started):
                    await asyncio.sleep(p["periodSeconds"] if key != "startupProbe" else 3600)
                    if key == "startupProbe":
                        return
                    continue
                if time.time() - self.started_at >= p["initialDelaySeconds"]:
                    ok, message = await self._check(probe, float(p["timeoutSeconds"]))
                    if not ok:
                        self.on_event(label, message)
                    if ok == last:
                        run += 1
                    else:
                        last, run = ok, 1
                    below = run < (p["successThreshold"] if ok else p["failureThreshold"])
                    if not below:
                        if key == "readinessProbe" and self.ready != ok:
                            self.ready = ok
                            self.on_change()
                        elif key == "startupProbe" and ok:
                            self.started = True
                            self.on_change()
                            return
                        elif not ok and key in ("livenessProbe", "startupProbe"):
                            self.on_fail(label, message, probe)
                            return
                await asyncio.sleep(p["periodSeconds"])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s probe of %s crashed", label, self.container.get("name"))
