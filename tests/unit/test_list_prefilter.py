"""Lists test field equalities on the stored bytes before decoding: the answer must be exactly
what matching every decoded object gives."""

from __future__ import annotations

import asyncio

import pytest

from everynode.apiserver.resources import WriteOptions, make_filter
from tests.server_harness import started_server

EVENTS = [
    # name, involved name, field path, reason, type, component, message
    ("e1", "p1", "spec.containers{app}", "Started", "Normal", "kubelet", "started p2"),
    ("e2", "p2", "", "Pulled", "Normal", "kubelet", 'image "p1" present'),
    ("e3", "p1", "spec.containers{side}", "BackOff", "Warning", "kubelet", "restarting"),
    ("e4", "pod-é", "", "Scheduled", "Normal", "default-scheduler", "assigned"),
    ("e5", "p10", "", "Started", "Normal", "kubelet", "x"),
]

SELECTORS = [
    "involvedObject.name=p1",
    "involvedObject.name==p1",
    "involvedObject.name!=p1",
    "involvedObject.name=p2",  # also appears inside e1's message
    "involvedObject.name=p",  # a prefix of other names
    "involvedObject.name=pod-é",
    "involvedObject.fieldPath=spec.containers{app}",
    "involvedObject.fieldPath=",
    "involvedObject.namespace=default,involvedObject.kind=Pod",
    "source=default-scheduler",
    "type=Warning,reason=BackOff",
    "reason=Started,involvedObject.name=p1",
    "metadata.name=e4",
    "metadata.namespace=other",
    "involvedObject.uid=nope",
]


def event(name, involved, field_path, reason, typ, component, message) -> dict:
    obj = {"kind": "Pod", "name": involved, "namespace": "default", "uid": f"uid-{involved}"}
    if field_path:
        obj["fieldPath"] = field_path
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
            "involvedObject": obj, "reason": reason, "message": message, "type": typ,
            "source": {"component": component}, "count": 1}


@pytest.mark.parametrize("bytes_only", [(), ("events",)], ids=["decoded", "bytes-only"])
def test_field_selectors_give_the_same_answer_as_full_matching(tmp_path, bytes_only):
    async def main():
        async with started_server(tmp_path, bytes_only=bytes_only) as server:
            store = server.store
            kind = server.by_gv["v1"]["events"]
            for row in EVENTS:
                await server.resources.create(kind, "default", event(*row), WriteOptions())
            everything, _ = store.list("events/")
            for selector in SELECTORS:
                flt = make_filter(kind, None, selector)
                expected = [e.key for e in everything if flt.matches(kind, e.value)]
                got = [e.key for e in server.resources.list(kind, None, flt)[0]]
                assert got == expected, selector
                paged = [e.key for e in server.resources.list(kind, None, flt, limit=1)[0]]
                assert paged == expected[:1], selector

    asyncio.run(main())


def test_needles_come_only_from_verbatim_string_equalities(tmp_path):
    async def main():
        async with started_server(tmp_path) as server:
            events, nodes = server.by_gv["v1"]["events"], server.by_gv["v1"]["nodes"]
            assert make_filter(events, None, "involvedObject.name=p1,reason!=x").needles == (b'"p1"',)
            assert make_filter(events, None, "involvedObject.name=").needles == ()
            # spec.unschedulable is a boolean in the object: its selector value is not in the bytes.
            assert make_filter(nodes, None, "spec.unschedulable=false").needles == ()
            assert make_filter(nodes, None, None, name="n1").needles == (b'"n1"',)
            assert make_filter(events, None, "involvedObject.name=\ud800").needles == ()  # not encodable

    asyncio.run(main())
