"""Placement predicates shared by the DaemonSet controller and the scheduler.

Pure functions over plain Kubernetes dicts:

- taints and tolerations (``toleration_tolerates_taint``, ``find_untolerated_taint``),
- a pod's ``nodeSelector`` and required node affinity (``RequiredNodeAffinity``),
  with every ``NodeSelectorRequirement`` operator (In, NotIn, Exists,
  DoesNotExist, Gt, Lt) and ``matchFields`` on ``metadata.name``.

Semantics follow k8s.io/component-helpers/scheduling/corev1 (nodeaffinity,
FindMatchingUntoleratedTaint) and core/v1 Toleration.ToleratesTaint: terms of a
node selector are ORed, the requirements inside a term ANDed; a term with no
requirements matches nothing; a term that fails to parse (unknown operator,
wrong number of values, non-integer Gt/Lt value, bad label key) never matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from everynode.api.validation import is_qualified_name, is_valid_label_value

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"

NODE_NAME_FIELD = "metadata.name"

_INT64_RE = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def parse_int64(value: Any) -> int | None:
    """Go's strconv.ParseInt(value, 10, 64): None when it would fail."""
    if not isinstance(value, str) or not _INT64_RE.fullmatch(value):
        return None
    n = int(value)
    return n if _INT64_MIN <= n <= _INT64_MAX else None


# ---------------------------------------------------------------- tolerations

def toleration_tolerates_taint(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Whether one toleration tolerates one taint.

    Empty effect matches every effect; empty key matches every key; operator
    ``Exists`` ignores the value, ``Equal`` (or empty) compares it, ``Lt``/``Gt``
    compare taint and toleration values as int64.
    """
    effect = toleration.get("effect") or ""
    if effect and effect != (taint.get("effect") or ""):
        return False
    key = toleration.get("key") or ""
    if key and key != (taint.get("key") or ""):
        return False
    op = toleration.get("operator") or ""
    if op in ("", "Equal"):
        return (toleration.get("value") or "") == (taint.get("value") or "")
    if op == "Exists":
        return True
    if op in ("Lt", "Gt"):
        tol_val = parse_int64(toleration.get("value") or "")
        taint_val = parse_int64(taint.get("value") or "")
        if tol_val is None or taint_val is None:
            return False
        return taint_val < tol_val if op == "Lt" else taint_val > tol_val
    return False


def tolerations_tolerate_taint(tolerations: Iterable[Mapping[str, Any]] | None,
                               taint: Mapping[str, Any]) -> bool:
    return any(toleration_tolerates_taint(t, taint) for t in tolerations or ())


def find_untolerated_taint(taints: Iterable[Mapping[str, Any]] | None,
                           tolerations: Iterable[Mapping[str, Any]] | None,
                           effects: Collection[str] | None = None) -> Mapping[str, Any] | None:
    """The first taint (restricted to ``effects`` when given) no toleration tolerates."""
    tols = list(tolerations or ())
    for taint in taints or ():
        if effects is not None and (taint.get("effect") or "") not in effects:
            continue
        if not tolerations_tolerate_taint(tols, taint):
            return taint
    return None


# ------------------------------------------------------------- node selectors

LabelTest = Callable[[Mapping[str, str]], bool]


class _ParseError(Exception):
    pass


def _label_requirement(req: Mapping[str, Any]) -> LabelTest:
    """Compile one matchExpressions entry (labels.NewRequirement rules)."""
    key = req.get("key") or ""
    op = req.get("operator") or ""
    values = list(req.get("values") or ())
    if is_qualified_name(key):
        raise _ParseError(f"invalid label key {key!r}")
    if op in ("In", "NotIn"):
        if not values:
            raise _ParseError("for 'in', 'notin' operators, values set can't be empty")
    elif op in ("Exists", "DoesNotExist"):
        if values:
            raise _ParseError("values set must be empty for exists and does not exist")
    elif op in ("Gt", "Lt"):
        if len(values) != 1 or parse_int64(values[0]) is None:
            raise _ParseError("for 'Gt', 'Lt' operators, exactly one integer value is required")
    else:
        raise _ParseError(f"unsupported operator {op!r}")
    for v in values:
        if not isinstance(v, str) or is_valid_label_value(v):
            raise _ParseError(f"invalid label value {v!r}")

    if op == "In":
        allowed = frozenset(values)
        return lambda labels: key in labels and labels[key] in allowed
    if op == "NotIn":
        banned = frozenset(values)
        return lambda labels: key not in labels or labels[key] not in banned
    if op == "Exists":
        return lambda labels: key in labels
    if op == "DoesNotExist":
        return lambda labels: key not in labels
    bound = parse_int64(values[0])
    assert bound is not None

    def compare(labels: Mapping[str, str]) -> bool:
        if key not in labels:
            return False
        n = parse_int64(labels[key])
        if n is None:
            return False
        return n > bound if op == "Gt" else n < bound

    return compare


def _field_requirement(req: Mapping[str, Any]) -> tuple[str, str, bool]:
    """Compile one matchFields entry: (field, value, want_equal)."""
    op = req.get("operator") or ""
    values = list(req.get("values") or ())
    if op not in ("In", "NotIn"):
        raise _ParseError(f"unsupported field operator {op!r}")
    if len(values) != 1:
        raise _ParseError("must have one element")
    return req.get("key") or "", values[0], op == "In"


class _Term:
    __slots__ = ("label_tests", "field_tests", "has_labels", "has_fields")

    def __init__(self, term: Mapping[str, Any]) -> None:
        exprs = term.get("matchExpressions") or ()
        fields = term.get("matchFields") or ()
        self.has_labels = bool(exprs)
        self.has_fields = bool(fields)
        self.label_tests = [_label_requirement(r) for r in exprs]
        self.field_tests = [_field_requirement(r) for r in fields]

    def matches(self, labels: Mapping[str, str], node_name: str) -> bool:
        if self.has_labels and not all(test(labels) for test in self.label_tests):
            return False
        # Upstream only checks fields when the node has any (i.e. a non-empty name).
        if self.has_fields and node_name:
            for field, value, want_equal in self.field_tests:
                actual = node_name if field == NODE_NAME_FIELD else ""
                if (actual == value) != want_equal:
                    return False
        return True


def _compile_terms(node_selector: Mapping[str, Any]) -> list[_Term]:
    terms = []
    for term in node_selector.get("nodeSelectorTerms") or ():
        term = term or {}
        if not term.get("matchExpressions") and not term.get("matchFields"):
            continue  # an empty term selects nothing
        try:
            terms.append(_Term(term))
        except _ParseError:
            continue  # an unparsable term never matches
    return terms


def _node_name(node: Mapping[str, Any]) -> str:
    return (node.get("metadata") or {}).get("name") or ""


def _node_labels(node: Mapping[str, Any]) -> Mapping[str, str]:
    return (node.get("metadata") or {}).get("labels") or {}


class NodeSelectorMatcher:
    """A compiled ``v1.NodeSelector`` (terms ORed)."""

    __slots__ = ("_terms",)

    def __init__(self, node_selector: Mapping[str, Any] | None) -> None:
        self._terms = _compile_terms(node_selector or {})

    def matches(self, node: Mapping[str, Any]) -> bool:
        labels = _node_labels(node)
        name = _node_name(node)
        return any(t.matches(labels, name) for t in self._terms)


def node_selector_matches(node_selector: Mapping[str, Any] | None, node: Mapping[str, Any]) -> bool:
    """Whether ``node`` matches a ``v1.NodeSelector`` (nodeSelectorTerms ORed)."""
    return NodeSelectorMatcher(node_selector).matches(node)


class RequiredNodeAffinity:
    """A pod's ``spec.nodeSelector`` plus required node affinity, compiled once.

    Mirrors nodeaffinity.GetRequiredNodeAffinity(pod).Match(node).
    """

    __slots__ = ("_selector", "_affinity")

    def __init__(self, pod_spec: Mapping[str, Any] | None) -> None:
        spec = pod_spec or {}
        self._selector: dict[str, str] = dict(spec.get("nodeSelector") or {})
        required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution"))
        self._affinity = NodeSelectorMatcher(required) if required is not None else None

    def matches(self, node: Mapping[str, Any]) -> bool:
        if self._selector:
            labels = _node_labels(node)
            for k, v in self._selector.items():
                if k not in labels or labels[k] != v:
                    return False
        if self._affinity is not None:
            return self._affinity.matches(node)
        return True


def pod_matches_node_affinity(pod_spec: Mapping[str, Any] | None, node: Mapping[str, Any]) -> bool:
    """``spec.nodeSelector`` and required node affinity of a pod spec against a node."""
    return RequiredNodeAffinity(pod_spec).matches(node)
