"""now_micro formats the second once and the microseconds apart: it must give exactly what
``datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` gives, rounding included
(half to even, a fraction that rounds up to a whole second carried into the second)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from everynode.apiserver.objects import now_micro


def _ref(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


EDGES = [0.0, 1.0, 0.5e-6, 1.5e-6, 2.5e-6, 0.4999999e-6, 0.999999, 0.9999994999, 0.9999995, 0.9999995001,
         0.99999999, 1767225599.9999995, 1767225599.9999996, 1767225600.0000004, 1767225600.0000005,
         1767225600.1234565, 951782399.9999999, 4102444799.9999995, 1700000000.25, 1700000000.000001]


@pytest.mark.parametrize("ts", EDGES)
def test_edges(ts):
    assert now_micro(ts) == _ref(ts)
    assert now_micro(ts) == _ref(ts)  # the second's text from the memo


def test_many_timestamps():
    rng = random.Random(7)
    for _ in range(50_000):
        ts = rng.choice([rng.uniform(0, 4e9), rng.uniform(1.7e9, 1.8e9),
                         rng.randint(0, 4 * 10**9) + rng.choice([0.9999995, 0.0000005, 0.9999994999, 0.0000015])])
        assert now_micro(ts) == _ref(ts), ts


def test_now():
    text = now_micro()
    assert len(text) == 27 and text.endswith("Z") and text[19] == "."
