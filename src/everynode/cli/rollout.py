"""`everynode rollout pause|resume ds/NAME`: the rollout pause extension.

Upstream DaemonSets cannot be paused (kubectl refuses). everynode stores the
pause in the annotation ``everynode.io/rollout-paused: "true"``; while it is
set the DaemonSet controller replaces no pods (new nodes still get one), and
`kubectl describe ds` shows the annotation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from everynode.api.errors import ApiError
from everynode.client.rest import Client, load_kubeconfig
from everynode.controllers.daemonset.planner import PAUSED_ANNOTATION


def parse_target(target: str) -> str:
    kind, sep, name = target.partition("/")
    if not sep or kind not in ("ds", "daemonset", "daemonsets", "daemonset.apps", "daemonsets.apps") or not name:
        raise ValueError(f"expected ds/NAME (a DaemonSet), got {target!r}")
    return name


async def _set_paused(kubeconfig: Path, namespace: str, name: str, paused: bool) -> str:
    client = Client(load_kubeconfig(kubeconfig), user_agent="everynode-rollout")
    try:
        ds = await client.get("daemonsets", name, namespace)
        current = ((ds["metadata"].get("annotations") or {}).get(PAUSED_ANNOTATION) == "true")
        verb = "paused" if paused else "resumed"
        if current == paused:
            raise ValueError(f'daemonsets.apps "{name}" is {"already paused" if paused else "not paused"}')
        patch = {"metadata": {"annotations": {PAUSED_ANNOTATION: "true" if paused else None}}}
        await client.patch("daemonsets", name, patch, namespace, "merge")
        return f"daemonset.apps/{name} {verb}"
    finally:
        await client.close()


def run(kubeconfig: Path, namespace: str, target: str, paused: bool) -> tuple[int, str]:
    try:
        name = parse_target(target)
        return 0, asyncio.run(_set_paused(kubeconfig, namespace, name, paused))
    except ValueError as exc:
        return 1, f"error: {exc}"
    except ApiError as exc:
        return 1, f"Error from server ({exc.reason}): {exc.message}"
