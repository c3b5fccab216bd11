"""Which pod a worker keeps after its status write answers: the watch's object (the store's own,
shared) unless the answer is newer."""

from __future__ import annotations

import pytest

from everynode.node.worker import _later


def pod(rv: str | None) -> dict:
    meta = {"name": "p", "namespace": "default"}
    if rv is not None:
        meta["resourceVersion"] = rv
    return {"metadata": meta}


@pytest.mark.parametrize("held_rv, written_rv, keeps", [
    (None, "6", "written"),      # nothing held
    ("5", "6", "written"),       # the answer is newer than what the watch gave so far
    ("6", "6", "held"),          # the watch delivered this very version first: keep its object
    ("7", "6", "held"),          # the watch is already past the write
    ("x", "6", "written"),       # revisions of another server: trust the answer
    ("", "6", "written"),        # no revision held
])
def test_kept_pod(held_rv, written_rv, keeps):
    held = None if held_rv is None else pod(held_rv)
    written = pod(written_rv)
    got = _later(held, written)
    assert got is (held if keeps == "held" else written)
