"""``validate_labels`` remembers label sets it found valid (``_VALID_LABEL_SETS``). Oracle: the
check itself (``_validate_labels``). Over many label maps, valid and not, seen once or again,
under any path, both must report the same errors."""

from __future__ import annotations

import random

import pytest

from everynode.api import validation
from everynode.api.validation import _validate_labels, validate_labels

KEYS = ["app", "tier", "example.com/role", "a/b/c", "", "-bad", "x" * 64, "Kubernetes.io/Name", "k8s.io/", "ok_1"]
VALUES = ["web", "", "v1.2", "-x", "x" * 64, "a b", "bench-ds", 3, None, ["x"], {"a": 1}, True]


def _outcome(fn, labels, path):
    try:
        return [(e.type, e.field, repr(e.value), e.detail) for e in fn(labels, path)]
    except Exception as exc:  # not a map at all: the same failure either way
        return type(exc).__name__


@pytest.mark.parametrize("labels", [None, {}, [], "x", {"app": "web"}, {"app": ["x"]}, {"app": {"a": 1}},
                                    {"bad key": "v"}, {"app": "web", "tier": 3}])
def test_table(labels):
    for _ in range(2):  # first seen, then (when valid) remembered
        path = "metadata.labels"
        assert _outcome(validate_labels, labels, path) == _outcome(_validate_labels, labels, path)


def test_remembered_answers_match_the_check(monkeypatch):
    rng = random.Random(9)
    seen = []
    for _ in range(4000):
        if seen and rng.random() < 0.5:
            labels = dict(rng.choice(seen))
        else:
            labels = {rng.choice(KEYS): rng.choice(VALUES) for _ in range(rng.randrange(1, 4))}
            seen.append(labels)
        path = rng.choice(["metadata.labels", "spec.nodeSelector", "spec.selector.matchLabels"])
        assert _outcome(validate_labels, labels, path) == _outcome(_validate_labels, labels, path), labels


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(validation, "_VALID_LABEL_SETS", set())
    monkeypatch.setattr(validation, "_VALID_LABEL_SETS_MAX", 5)
    for i in range(12):
        assert validate_labels({"app": f"v{i}"}, "metadata.labels") == []
        assert len(validation._VALID_LABEL_SETS) <= 5
    assert validate_labels({"app": "v11"}, "metadata.labels") == []
