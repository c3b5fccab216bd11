"""Per-request work the API server now does once: the methods a subresource allows (memoised
per subresource) and the write options of a request without query parameters (one immutable
default). Tables against the rules they stand for."""

from __future__ import annotations

import dataclasses

import pytest

from everynode.api.errors import ApiError
from everynode.apiserver import app
from everynode.apiserver.app import ApiServer, _subresource_methods
from everynode.apiserver.resources import WriteOptions
from everynode.client.local import LocalRequest


@pytest.mark.parametrize("sub, methods", [
    ("status", {"GET", "PATCH", "PUT"}),
    ("binding", {"POST"}),
    ("eviction", {"POST"}),
    ("log", {"GET"}),
    ("finalize", {"PUT"}),
    ("proxy", {"POST", "GET", "PATCH", "PUT"}),  # delete is no REST method here
    ("unknown", {"GET"}),
])
def test_subresource_methods(sub, methods):
    assert _subresource_methods(sub) == methods
    allowed = {"get": "GET", "patch": "PATCH", "update": "PUT", "create": "POST"}
    verbs = app.discovery.SUBRESOURCE_VERBS.get(sub, ("get",))
    assert _subresource_methods(sub) == {allowed[v] for v in verbs if v in allowed}  # the rule


def _opts(query):
    srv = ApiServer.__new__(ApiServer)
    return srv._write_options(LocalRequest("POST", "/api/v1/namespaces/default/pods", query, {}, b""))


@pytest.mark.parametrize("query, expect", [
    ({}, WriteOptions(dry_run=False, field_validation="Warn")),
    ({"dryRun": "All"}, WriteOptions(dry_run=True, field_validation="Warn")),
    ({"fieldValidation": "Strict"}, WriteOptions(dry_run=False, field_validation="Strict")),
    ({"fieldValidation": ""}, WriteOptions(dry_run=False, field_validation="Warn")),
    ({"fieldManager": "me"}, WriteOptions()),
])
def test_write_options(query, expect):
    assert _opts(query) == expect


@pytest.mark.parametrize("query, message", [
    ({"dryRun": "Some"}, 'Unsupported dry run value "Some": valid values: "All"'),
    ({"fieldValidation": "Loose"}, "fieldValidation must be one of Ignore, Warn or Strict, got 'Loose'"),
])
def test_write_options_errors(query, message):
    with pytest.raises(ApiError) as exc:
        _opts(query)
    assert exc.value.code == 400 and exc.value.message == message


def test_default_write_options_are_shared_and_immutable():
    assert _opts({}) is _opts({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        _opts({}).dry_run = True  # type: ignore[misc]
