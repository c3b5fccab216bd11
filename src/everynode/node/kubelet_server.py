"""The agent's own HTTPS endpoint (the kubelet port), for API servers in another process.

A joined agent serves, on ``<address>:<kubelet port>`` (published in the
Node's ``status.daemonEndpoints.kubeletEndpoint.Port``):

- ``/containerLogs/<namespace>/<pod>/<container>`` with the pods/log query
  (follow, tailLines, sinceSeconds, sinceTime, timestamps, limitBytes,
  previous), which the API server proxies for ``kubectl logs``;
- ``/stats/summary`` with node and pod usage, for the metrics API;
- ``/healthz``.

Requests must carry the cluster token as a bearer token. The certificate is
self-signed, generated into the node directory (the API server does not
verify kubelet certificates, as upstream without --kubelet-certificate-authority).
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import ssl
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from everynode.node.logaccess import InvalidOptions, LogError, parse_query

if TYPE_CHECKING:
    from everynode.node.agent import NodeAgent


def ensure_cert(directory: Path, name: str, address: str) -> tuple[Path, Path]:
    cert, key = directory / "kubelet.crt", directory / "kubelet.key"
    if cert.exists() and key.exists():
        return cert, key
    directory.mkdir(parents=True, exist_ok=True)
    pk = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}@{int(time.time())}")])
    sans: list[x509.GeneralName] = [x509.DNSName(name)]
    try:
        sans.append(x509.IPAddress(ipaddress.ip_address(address)))
    except ValueError:
        pass
    c = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(pk.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now)
         .not_valid_after(now + dt.timedelta(days=3650))
         .add_extension(x509.SubjectAlternativeName(sans), critical=False)
         .sign(pk, hashes.SHA256()))
    key.write_bytes(pk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    key.chmod(0o600)
    cert.write_bytes(c.public_bytes(serialization.Encoding.PEM))
    return cert, key


class KubeletServer:
    def __init__(self, agent: NodeAgent, token: str, bind: str = "0.0.0.0"):
        self.agent = agent
        self.token = token
        self.bind = bind
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self.container_logs)
        app.router.add_get("/stats/summary", self.summary)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        cfg = self.agent.config
        cert, key = ensure_cert(self.agent.node_dir / "pki", cfg.name, cfg.address)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert), str(key))
        await web.TCPSite(self.runner, self.bind, cfg.kubelet_port, ssl_context=ctx).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def _check(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not hmac.compare_digest(auth[7:].encode(), self.token.encode()):
            raise web.HTTPUnauthorized(text="Unauthorized")

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def summary(self, request: web.Request) -> web.Response:
        self._check(request)
        return web.json_response(await self.agent.stats_summary())

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        self._check(request)
        ns, name, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        found = self.agent.find_pod(ns, name)
        if found is None:
            return web.Response(status=404, text=f'pod "{name}" cannot be found - no logs available')
        try:
            _c, previous, opts = parse_query(request.query, time.time())
            stream = self.agent.container_logs(found[0], container, previous, opts)
        except (LogError, InvalidOptions) as exc:
            return web.Response(status=400, text=str(exc))
        resp = web.StreamResponse()
        resp.content_type = "text/plain"
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            async for chunk in stream:
                await resp.write(chunk)
            await resp.write_eof()
        except ConnectionResetError:
            pass
        return resp
