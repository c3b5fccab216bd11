"""Small object helpers shared by the API server's handlers."""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import time
from functools import lru_cache
from typing import Any

from everynode.api.kind import Kind
from everynode.jsondata import json_copy

Obj = dict[str, Any]

# The alphabet upstream uses for generated name suffixes (no vowels, no confusables).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_MAX_GENERATED_BASE = 58


def now_rfc3339(ts: float | None = None) -> str:
    return _rfc3339_second(int(time.time() if ts is None else ts))


@lru_cache(maxsize=4)
def _rfc3339_second(second: int) -> str:  # every write stamps the current second
    return dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro(ts: float | None = None) -> str:
    """``datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")``, with the part up to
    the second formatted once per second (every node's lease renewal stamps one; strftime was
    most of the cost). The split is fromtimestamp's own: the fraction rounded half to even to
    microseconds, carried into the second when it rounds up to a whole one."""
    if ts is None:
        ts = time.time()
    frac, whole = math.modf(ts)
    us = round(frac * 1e6)
    if us >= 1_000_000:
        us -= 1_000_000
        whole += 1.0
    elif us < 0:
        us += 1_000_000
        whole -= 1.0
    return f"{_micro_second(int(whole))}.{us:06d}Z"


@lru_cache(maxsize=4)
def _micro_second(second: int) -> str:
    return dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def generate_name(base: str) -> str:
    # Upstream draws the suffix from math/rand, not a cryptographic source.
    if len(base) > _MAX_GENERATED_BASE:
        base = base[:_MAX_GENERATED_BASE]
    return base + "".join(random.choices(_NAME_ALPHABET, k=5))


_uid_pool = bytearray()


def new_uid() -> str:
    """A random (version 4) UUID from the OS's random source, read 4 KiB at a time (one
    system call per 256 uids), formatted without building a uuid.UUID."""
    global _uid_pool
    if len(_uid_pool) < 16:
        _uid_pool = bytearray(os.urandom(4096))
    b = _uid_pool[-16:]
    del _uid_pool[-16:]
    b[6] = b[6] & 0x0F | 0x40
    b[8] = b[8] & 0x3F | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


deep_copy = json_copy


def spec_part(obj: Obj) -> Obj:
    """Everything but metadata, status and type meta: what bumps generation."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def key_of(kind: Kind, namespace: str | None, name: str) -> str:
    return f"{kind.qualified_plural}/{namespace or ''}/{name}"


def prefix_of(kind: Kind, namespace: str | None) -> str:
    if kind.namespaced and namespace:
        return f"{kind.qualified_plural}/{namespace}/"
    return f"{kind.qualified_plural}/"


def field_value(kind: Kind, obj: Obj, field: str) -> str | None:
    meta = obj.get("metadata") or {}
    if field == "metadata.name":
        return meta.get("name", "")
    if field == "metadata.namespace":
        return meta.get("namespace", "")
    getter = kind.field_getters.get(field)
    if getter is None:
        return None
    return getter(obj)


def supports_field(kind: Kind, field: str) -> bool:
    return field in ("metadata.name", "metadata.namespace") or field in kind.field_getters


def success_status(kind: Kind, obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    details: dict[str, Any] = {"name": meta.get("name", "")}
    if kind.group:
        details["group"] = kind.group
    details["kind"] = kind.plural
    details["uid"] = meta.get("uid", "")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}
