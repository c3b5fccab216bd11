"""Synchronous readiness probe used by ``up --detach``: API answers, nodes Ready."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

import yaml


def _get(data_dir: Path, path: str) -> dict | None:
    kc = data_dir / "kubeconfig"
    if not kc.exists():
        return None
    cfg = yaml.safe_load(kc.read_text())
    server = cfg["clusters"][0]["cluster"]["server"]
    token = cfg["users"][0]["user"]["token"]
    ctx = ssl.create_default_context(cafile=str(data_dir / "pki" / "ca.crt"))
    req = urllib.request.Request(server + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=2) as resp:
            return json.loads(resp.read())
    except (OSError, ValueError):
        return None


def check(data_dir: Path, want_nodes: int) -> str:
    """A short state line: 'waiting for the API server', 'k/N nodes Ready', or 'ready'."""
    nodes = _get(data_dir, "/api/v1/nodes")
    if nodes is None:
        return "waiting for the API server"
    ready = 0
    for n in nodes.get("items", []):
        for c in (n.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready" and c.get("status") == "True":
                ready += 1
    if ready >= want_nodes:
        return "ready"
    return f"{ready}/{want_nodes} nodes Ready"
