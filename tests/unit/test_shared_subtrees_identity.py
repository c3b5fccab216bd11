"""``SharedSubtrees.share`` recognises a pooled instance by its identity (a write that keeps
the stored object's subtree) instead of encoding it again. Oracle: the share that encodes every
subtree (kept below as it was). Over many objects, both must leave equal objects sharing the
same instances, with the same pool (keys and least-recently-used order), under eviction too.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from everynode.jsondata import SharedSubtrees


class _Reference(SharedSubtrees):
    """The share that encodes every subtree (the oracle)."""

    def share(self, obj: dict) -> None:
        pool = self._pool
        for path in self.paths:
            parent: Any = obj
            for key in path[:-1]:
                parent = parent.get(key)
                if not isinstance(parent, dict):
                    break
            else:
                value = parent.get(path[-1])
                if not value or not isinstance(value, dict | list):
                    continue
                raw = orjson.dumps(value)
                same = pool.pop(raw, None)
                if same is None:
                    same = value
                    raw = bytes(memoryview(raw))
                    if len(pool) >= self.limit:
                        del pool[next(iter(pool))]
                else:
                    parent[path[-1]] = same
                pool[raw] = same


PATHS = [("spec", "containers"), ("spec", "affinity"), ("metadata", "labels"), ("status", "conditions")]


def _subtree(rng: random.Random) -> Any:
    return rng.choice([
        [{"name": "c", "image": "busybox"}], [{"name": "c", "image": "nginx"}], {"app": "a"}, {"app": "b"},
        {"nodeAffinity": {"n": rng.randrange(6)}}, [], {}, "text", 3, None,
        [{"type": "Ready", "status": rng.choice(["True", "False"])}],
    ])


def _object(rng: random.Random, previous: list[dict]) -> dict:
    """A new object, or (as status writes and bindings do) a shallow copy of an earlier one
    keeping some of its subtrees (the very instances) and replacing others."""
    if previous and rng.random() < 0.6:
        old = rng.choice(previous)
        obj = {k: (dict(v) if isinstance(v, dict) else v) for k, v in old.items()}
        for part, key in PATHS:
            if rng.random() < 0.3 and isinstance(obj.get(part), dict):
                obj[part][key] = orjson.loads(orjson.dumps(_subtree(rng)))
        return obj
    obj: dict[str, Any] = {}
    for part, key in PATHS:
        if rng.random() < 0.9:
            obj.setdefault(part, {})[key] = orjson.loads(orjson.dumps(_subtree(rng)))
    if rng.random() < 0.05:
        obj["spec"] = "not an object"
    return obj


def _shape(objs: list[dict]) -> list:
    """Each object's JSON and, per shared path, which earlier subtree instance it holds."""
    seen: dict[int, int] = {}
    out = []
    for obj in objs:
        ids = []
        for part, key in PATHS:
            v = obj.get(part).get(key) if isinstance(obj.get(part), dict) else None
            if isinstance(v, dict | list) and v:
                ids.append(seen.setdefault(id(v), len(seen)))
            else:
                ids.append(None)
        out.append((orjson.dumps(obj), ids))
    return out


@pytest.mark.parametrize("limit", [3, 8, 1000])
def test_identity_share_matches_encoding_every_subtree(limit):
    rng_seed = 11 + limit
    results = []
    for cls in (SharedSubtrees, _Reference):
        rng = random.Random(rng_seed)
        share = cls(PATHS, limit=limit)
        objs: list[dict] = []
        for _ in range(2000):
            obj = _object(rng, objs[-50:])
            share.share(obj)
            objs.append(obj)
        results.append((_shape(objs), list(share._pool)))
        if cls is SharedSubtrees:
            assert len(share._key_of) == len(share._pool)
            assert all(share._key_of[id(v)] == k for k, v in share._pool.items())
    assert results[0] == results[1]


def test_a_kept_subtree_is_not_encoded_again(monkeypatch):
    from everynode import jsondata

    share = SharedSubtrees(PATHS)
    stored = {"spec": {"containers": [{"name": "c"}], "affinity": {"a": 1}}, "metadata": {"labels": {"x": "1"}}}
    share.share(stored)
    status_write = {**stored, "status": {"conditions": [{"type": "Ready"}]}}
    encoded = []
    real = orjson.dumps
    monkeypatch.setattr(jsondata.orjson, "dumps", lambda v, *a, **k: encoded.append(v) or real(v, *a, **k))
    share.share(status_write)
    assert encoded == [[{"type": "Ready"}]]  # only the new subtree
    assert status_write["spec"] is stored["spec"]
