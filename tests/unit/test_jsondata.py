"""The JSON helpers every layer uses: copies are deep and independent, kept bytes equal orjson's."""

import orjson
import pytest

from everynode.jsondata import json_bytes_kept, json_copy

VALUES = [
    {},
    {"a": 1, "b": [1, 2, {"c": None}], "d": "é", "e": 1.5, "f": True},
    {"metadata": {"name": "x" * 300, "labels": {"k": "v"}}, "spec": {"containers": [{"name": "c"}] * 40}},
    [1, "two", {"three": 3}],
]


@pytest.mark.parametrize("value", VALUES)
def test_json_bytes_kept_equals_orjson(value):
    kept = json_bytes_kept(value)
    assert type(kept) is bytes
    assert kept == orjson.dumps(value)
    assert orjson.loads(kept) == value


@pytest.mark.parametrize("value", VALUES)
def test_json_copy_is_deep(value):
    copied = json_copy(value)
    assert copied == value
    if isinstance(value, dict) and "b" in value:
        copied["b"][2]["c"] = "changed"
        assert value["b"][2]["c"] is None


def test_non_json_is_refused():
    with pytest.raises(TypeError):
        json_bytes_kept({"x": object()})
    with pytest.raises(TypeError):
        json_copy({"x": {1, 2}})
