"""The benchmark observer's running count of nodes with an available pod, against a recount."""

from __future__ import annotations

import random

from everynode.cli.bench import Observer, pod_ready


def recount(obs: Observer, app: str, nodes: int) -> int:
    avail = {p["spec"].get("nodeName") for p in obs.pods.values()
             if p["metadata"]["labels"].get("app") == app and not p["metadata"].get("deletionTimestamp")
             and pod_ready(p) and p["spec"].get("nodeName")}
    return nodes - len(avail)


def test_running_count_matches_a_recount():
    rng = random.Random(3)
    obs = Observer(store=None)
    for step in range(3000):
        key = f"pods/ns/p{rng.randrange(60)}"
        if rng.random() < 0.2:
            obs.pods.pop(key, None)
            obs._count(key, None)
        else:
            meta = {"name": key, "labels": {"app": rng.choice(["a", "b"])}}
            if rng.random() < 0.1:
                meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
            spec = {"nodeName": f"n{rng.randrange(8)}"} if rng.random() < 0.9 else {}
            ready = "True" if rng.random() < 0.6 else "False"
            obs._pod(key, {"metadata": meta, "spec": spec,
                           "status": {"conditions": [{"type": "Ready", "status": ready}]}}, float(step))
        for app in ("a", "b"):
            assert obs.unavailable(app, 8) == recount(obs, app, 8)
