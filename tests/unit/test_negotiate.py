"""Content negotiation is memoised on the Accept header: the memo must answer exactly as the
function it wraps, for every kind of header (including odd and malformed ones), on a cache
miss and on a hit, and its answers must be immutable (they are shared between requests)."""

from __future__ import annotations

import dataclasses

import pytest

from everynode.apiserver.app import Negotiated, _negotiate

ACCEPTS = [
    None, "", "application/json", "APPLICATION/JSON", "*/*", "application/*", "application/yaml",
    "application/json, */*", "application/yaml;q=0.9, application/json",
    "application/json;as=Table;v=v1;g=meta.k8s.io", "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    "application/json;as=Table;g=meta.k8s.io", "application/json;as=Table",
    "application/json;as=Table;g=example.com, application/json",
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json",
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=Table;v=v1;g=meta.k8s.io",
    "application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf, application/json",
    "text/html", "text/plain;q=0.5", ";;;", ",,,", "application/json;=;as", "application/json; as = Table ",
    "application/json;as=Table;v=v1;g=meta.k8s.io;extra", "application/json;as==Table",
]


@pytest.mark.parametrize("accept", ACCEPTS)
def test_memo_answers_as_the_function(accept):
    _negotiate.cache_clear()
    want = _negotiate.__wrapped__(accept)
    assert _negotiate(accept) == want  # miss
    assert _negotiate(accept) == want  # hit
    assert _negotiate(accept) is _negotiate(accept)


def test_answers_are_immutable():
    neg = _negotiate("application/json;as=Table;v=v1;g=meta.k8s.io")
    assert neg == Negotiated(table=True, table_version="v1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        neg.table = False  # type: ignore[misc]
