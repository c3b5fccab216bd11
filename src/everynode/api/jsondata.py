"""Helpers for the JSON documents every layer passes around as plain dicts."""

from __future__ import annotations

from typing import Any

import orjson


def json_copy(value: Any) -> Any:
    """Deep copy of JSON data: an orjson round trip is several times faster than copy.deepcopy
    (it raises for what is not JSON, e.g. nesting deeper than 255)."""
    return orjson.loads(orjson.dumps(value))
