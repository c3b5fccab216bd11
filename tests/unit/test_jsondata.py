"""The JSON helpers every layer uses: copies are deep and independent, kept bytes equal orjson's."""

import orjson
import pytest

from everynode.jsondata import MEMO_MAX_KEY, SharedSubtrees, json_bytes_kept, json_copy, memo_key

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


def test_shared_subtrees_give_equal_objects_one_instance():
    share = SharedSubtrees([("spec", "containers"), ("metadata", "labels"), ("spec", "missing", "x")], limit=2)
    a = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c"}], "nodeName": "n1"}}
    b = orjson.loads(orjson.dumps(a))
    b["spec"]["nodeName"] = "n2"
    c = {"metadata": {"labels": {"app": "y"}}, "spec": {"containers": [{"name": "c"}, {"name": "d"}]}}
    for obj in (a, b, c):
        share.share(obj)
    assert b["spec"]["containers"] is a["spec"]["containers"]
    assert b["metadata"]["labels"] is a["metadata"]["labels"]
    assert b["spec"]["nodeName"] == "n2"
    assert c["spec"]["containers"] is not a["spec"]["containers"]
    assert c["spec"]["containers"] == [{"name": "c"}, {"name": "d"}]
    # Same JSON in a different key order is a different subtree (orders are kept as written).
    d = {"metadata": {"labels": {"b": "1", "a": "2"}}}
    e = {"metadata": {"labels": {"a": "2", "b": "1"}}}
    share.share(d)
    share.share(e)
    assert list(e["metadata"]["labels"]) == ["a", "b"]
    # Empty values, scalars and paths through non-objects are left alone.
    f = {"metadata": {"labels": {}}, "spec": {"containers": "oops", "missing": 3}}
    share.share(f)
    assert f == {"metadata": {"labels": {}}, "spec": {"containers": "oops", "missing": 3}}
    assert len(share._pool) <= 2  # bounded


def test_shared_subtrees_in_the_store_keep_every_object_intact(tmp_path):
    import asyncio

    from everynode.storage.sqlite import SqliteStore

    async def main():
        s = SqliteStore(tmp_path / "db", shared={"pods": [("spec", "containers")]})
        await s.start()
        tpl = {"containers": [{"name": "app", "image": "busybox"}]}
        for i in range(3):
            await s.create(f"pods/ns/p{i}", {"metadata": {"name": f"p{i}"}, "spec": dict(tpl, nodeName=f"n{i}")})
        p0, p1, p2 = (s.get(f"pods/ns/p{i}").value for i in range(3))
        assert p0["spec"]["containers"] is p1["spec"]["containers"] is p2["spec"]["containers"]
        assert [p["spec"]["nodeName"] for p in (p0, p1, p2)] == ["n0", "n1", "n2"]
        assert s.modified_in_memory() == []
        await s.close()
        s2 = SqliteStore(tmp_path / "db", shared={"pods": [("spec", "containers")]})
        await s2.start()
        q0, q1 = s2.get("pods/ns/p0").value, s2.get("pods/ns/p1").value
        assert q0["spec"]["containers"] is q1["spec"]["containers"]
        assert q0 == p0
        await s2.close()

    asyncio.run(main())


@pytest.mark.parametrize("value, expected", [
    ([{"a": 1}, None], b'[{"a":1},null]'),
    ({1, 2}, None),                          # not JSON: no memo
    ("x" * (MEMO_MAX_KEY + 1), None),        # too large: no memo
    ("x" * (MEMO_MAX_KEY - 2), b'"' + b"x" * (MEMO_MAX_KEY - 2) + b'"'),  # exactly the limit
])
def test_memo_key(value, expected):
    assert memo_key(value) == expected
