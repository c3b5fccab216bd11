"""A generated name that is taken gets a new suffix (upstream RetryGenerateName)."""

import asyncio
import itertools

import pytest

from everynode.api.errors import ApiError
from everynode.apiserver import resources as res_mod
from everynode.apiserver.resources import WriteOptions
from tests.server_harness import started_server


def pod(name=None, generate=None):
    meta = {"namespace": "default"}
    if name:
        meta["name"] = name
    if generate:
        meta["generateName"] = generate
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def with_server(tmp_path, fn):
    async with started_server(tmp_path) as srv:
        return await fn(srv, srv.by_gv["v1"]["pods"])


@pytest.mark.parametrize("suffixes, expect", [
    (["taken", "free1"], "web-free1"),
    (["taken"] * 7 + ["free8"], "web-free8"),
    (["taken"] * 8, 409),
])
def test_generated_name_collisions_are_retried(tmp_path, monkeypatch, suffixes, expect):
    names = itertools.chain((f"web-{s}" for s in suffixes), itertools.repeat("web-never"))
    monkeypatch.setattr(res_mod, "generate_name", lambda base: next(names))

    async def scenario(srv, kind):
        await srv.resources.create(kind, "default", pod(name="web-taken"), WriteOptions())
        try:
            obj, _ = await srv.resources.create(kind, "default", pod(generate="web-"), WriteOptions())
            return obj["metadata"]["name"]
        except ApiError as exc:
            return exc.code

    assert asyncio.run(with_server(tmp_path, scenario)) == expect


def test_an_explicit_name_that_is_taken_is_not_retried(tmp_path, monkeypatch):
    monkeypatch.setattr(res_mod, "generate_name", lambda base: pytest.fail("must not generate"))

    async def scenario(srv, kind):
        await srv.resources.create(kind, "default", pod(name="web-a"), WriteOptions())
        with pytest.raises(ApiError) as exc:
            await srv.resources.create(kind, "default", pod(name="web-a"), WriteOptions())
        return exc.value.code

    assert asyncio.run(with_server(tmp_path, scenario)) == 409
