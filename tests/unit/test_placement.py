"""Taints/tolerations and node selector / required node affinity matching."""

from __future__ import annotations

import pytest

from everynode.api.placement import (
    NodeSelectorMatcher,
    RequiredNodeAffinity,
    find_untolerated_taint,
    node_selector_matches,
    parse_int64,
    pod_matches_node_affinity,
    toleration_tolerates_taint,
    tolerations_tolerate_taint,
)


def node(name="n1", labels=None, taints=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def expr(key, op, *values):
    e = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return e


def ns(*terms):
    return {"nodeSelectorTerms": list(terms)}


def term(exprs=None, fields=None):
    t = {}
    if exprs is not None:
        t["matchExpressions"] = exprs
    if fields is not None:
        t["matchFields"] = fields
    return t


@pytest.mark.parametrize("value,expected", [
    ("0", 0), ("42", 42), ("-7", -7), ("+7", 7), ("9223372036854775807", 2**63 - 1),
    ("9223372036854775808", None), ("", None), (" 1", None), ("1_0", None), ("1.5", None),
    ("0x10", None), (None, None), (5, None),
])
def test_parse_int64(value, expected):
    assert parse_int64(value) == expected


T_NS = {"key": "k", "value": "v", "effect": "NoSchedule"}


@pytest.mark.parametrize("toleration,taint,expected", [
    ({"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}, T_NS, True),
    ({"key": "k", "value": "v", "effect": "NoSchedule"}, T_NS, True),  # empty operator = Equal
    ({"key": "k", "operator": "Equal", "value": "w", "effect": "NoSchedule"}, T_NS, False),
    ({"key": "k", "operator": "Equal", "effect": "NoSchedule"}, T_NS, False),  # "" != "v"
    ({"key": "k", "operator": "Exists", "effect": "NoSchedule"}, T_NS, True),
    ({"key": "k", "operator": "Exists"}, T_NS, True),  # empty effect = all effects
    ({"key": "k", "operator": "Exists", "effect": "NoExecute"}, T_NS, False),
    ({"key": "other", "operator": "Exists"}, T_NS, False),
    ({"operator": "Exists"}, T_NS, True),  # empty key + Exists = everything
    ({"operator": "Exists", "effect": "NoExecute"}, T_NS, False),
    ({"key": "k", "operator": "Bogus", "value": "v"}, T_NS, False),
    ({"key": "n", "operator": "Gt", "value": "5"}, {"key": "n", "value": "7", "effect": "NoSchedule"}, True),
    ({"key": "n", "operator": "Gt", "value": "7"}, {"key": "n", "value": "7", "effect": "NoSchedule"}, False),
    ({"key": "n", "operator": "Lt", "value": "9"}, {"key": "n", "value": "7", "effect": "NoSchedule"}, True),
    ({"key": "n", "operator": "Lt", "value": "x"}, {"key": "n", "value": "7", "effect": "NoSchedule"}, False),
    ({"key": "n", "operator": "Gt", "value": "1"}, {"key": "n", "value": "x", "effect": "NoSchedule"}, False),
    ({"key": "k", "operator": "Equal", "value": "", "effect": ""}, {"key": "k", "effect": "NoExecute"}, True),
])
def test_toleration_tolerates_taint(toleration, taint, expected):
    assert toleration_tolerates_taint(toleration, taint) is expected


def test_tolerations_any_and_find_untolerated():
    taints = [
        {"key": "a", "effect": "PreferNoSchedule"},
        {"key": "b", "effect": "NoSchedule"},
        {"key": "c", "effect": "NoExecute"},
    ]
    tols = [{"key": "b", "operator": "Exists"}]
    assert tolerations_tolerate_taint(tols, taints[1])
    assert not tolerations_tolerate_taint(None, taints[1])
    assert find_untolerated_taint(taints, tols) == taints[0]
    assert find_untolerated_taint(taints, tols, ("NoSchedule", "NoExecute")) == taints[2]
    assert find_untolerated_taint(taints, tols, ("NoSchedule",)) is None
    assert find_untolerated_taint(None, None) is None


LABELS = {"zone": "a", "gpu": "true", "cores": "8", "name": "not-a-number"}


@pytest.mark.parametrize("requirement,expected", [
    (expr("zone", "In", "a", "b"), True),
    (expr("zone", "In", "b"), False),
    (expr("missing", "In", "a"), False),
    (expr("zone", "NotIn", "b"), True),
    (expr("zone", "NotIn", "a"), False),
    (expr("missing", "NotIn", "a"), True),
    (expr("gpu", "Exists"), True),
    (expr("missing", "Exists"), False),
    (expr("gpu", "DoesNotExist"), False),
    (expr("missing", "DoesNotExist"), True),
    (expr("cores", "Gt", "4"), True),
    (expr("cores", "Gt", "8"), False),
    (expr("cores", "Lt", "16"), True),
    (expr("cores", "Lt", "8"), False),
    (expr("missing", "Gt", "1"), False),
    (expr("name", "Gt", "1"), False),  # label not an integer
    # parse errors: the term never matches
    (expr("cores", "Gt", "4", "5"), False),
    (expr("cores", "Gt", "four"), False),
    (expr("cores", "Gt"), False),
    (expr("zone", "In"), False),
    (expr("missing", "NotIn"), False),
    (expr("gpu", "Exists", "true"), False),
    (expr("missing", "DoesNotExist", "x"), False),
    (expr("zone", "Equals", "a"), False),
    (expr("bad key!", "Exists"), False),
    (expr("zone", "In", "bad value!"), False),
])
def test_match_expression_operators(requirement, expected):
    assert node_selector_matches(ns(term([requirement])), node(labels=LABELS)) is expected


@pytest.mark.parametrize("selector,expected", [
    (ns(term([expr("zone", "In", "a"), expr("gpu", "Exists")])), True),  # ANDed
    (ns(term([expr("zone", "In", "a"), expr("gpu", "DoesNotExist")])), False),
    (ns(term([expr("zone", "In", "b")]), term([expr("gpu", "Exists")])), True),  # ORed
    (ns(term([expr("zone", "In", "b")]), term([expr("gpu", "DoesNotExist")])), False),
    (ns(), False),  # no terms: nothing
    (ns(term()), False),  # an empty term selects nothing
    (ns(term([], [])), False),
    (ns(term(), term([expr("gpu", "Exists")])), True),
    (ns(term([expr("zone", "Bogus")]), term([expr("gpu", "Exists")])), True),  # bad term skipped
    (ns(term(fields=[expr("metadata.name", "In", "n1")])), True),
    (ns(term(fields=[expr("metadata.name", "In", "n2")])), False),
    (ns(term(fields=[expr("metadata.name", "NotIn", "n2")])), True),
    (ns(term(fields=[expr("metadata.name", "NotIn", "n1")])), False),
    (ns(term(fields=[expr("metadata.name", "In", "n1", "n2")])), False),  # must have one element
    (ns(term(fields=[expr("metadata.name", "Exists")])), False),
    (ns(term(fields=[expr("spec.other", "In", "")])), True),  # unknown field reads as ""
    (ns(term([expr("zone", "In", "a")], [expr("metadata.name", "In", "n1")])), True),
    (ns(term([expr("zone", "In", "a")], [expr("metadata.name", "In", "n9")])), False),
    ({"nodeSelectorTerms": None}, False),
    (None, False),
])
def test_node_selector_terms(selector, expected):
    assert node_selector_matches(selector, node(labels=LABELS)) is expected


def test_match_fields_ignored_for_nameless_node():
    matcher = NodeSelectorMatcher(ns(term(fields=[expr("metadata.name", "In", "n1")])))
    assert matcher.matches({"metadata": {"labels": {}}})


def affinity(selector):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": selector}}


@pytest.mark.parametrize("spec,expected", [
    ({}, True),
    ({"nodeSelector": {}}, True),
    ({"nodeSelector": {"zone": "a"}}, True),
    ({"nodeSelector": {"zone": "a", "gpu": "true"}}, True),
    ({"nodeSelector": {"zone": "b"}}, False),
    ({"nodeSelector": {"missing": ""}}, False),
    ({"affinity": {}}, True),
    ({"affinity": {"nodeAffinity": {}}}, True),
    ({"affinity": affinity(ns(term([expr("zone", "In", "a")])))}, True),
    ({"affinity": affinity(ns())}, False),
    ({"nodeSelector": {"zone": "a"}, "affinity": affinity(ns(term([expr("gpu", "DoesNotExist")])))}, False),
    ({"nodeSelector": {"zone": "b"}, "affinity": affinity(ns(term([expr("gpu", "Exists")])))}, False),
    ({"nodeSelector": {"zone": "a"}, "affinity": affinity(ns(term([expr("gpu", "Exists")])))}, True),
    # preferred terms never filter
    ({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": term([expr("zone", "In", "b")])}]}}}, True),
])
def test_required_node_affinity(spec, expected):
    assert pod_matches_node_affinity(spec, node(labels=LABELS)) is expected
    assert RequiredNodeAffinity(spec).matches(node(labels=LABELS)) is expected
