"""Smoke runs of the scale benchmarks (``everynode bench ...``) at small N.

No timing is asserted: these check that every benchmark still runs end to
end, reaches its completion condition and writes its report. The rollout
benchmark asserts the maxUnavailable bound itself (non-zero exit otherwise).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import everynode

pytestmark = pytest.mark.integration


def run_bench(tmp_path, *args: str) -> dict:
    everynode("bench", *args, "--out", str(tmp_path), "--no-plot", "--timeout", "120", timeout=240)
    return json.loads((tmp_path / f"{args[0]}.json").read_text())


def test_create(tmp_path):
    report = run_bench(tmp_path, "create", "--nodes", "200")
    [r] = report["results"]
    assert r["complete"] and r["nodes"] == 200
    assert r["writes"] >= 200 * 3  # at least create, bind and a status write per pod
    assert r["store_only_s"] > 0 and r["ratio"] > 0
    assert 0 < r["commits"] <= r["writes"] and r["commit_s"] > 0
    assert 0 < r["cpu_loop_thread_s"] <= r["cpu_s"] and r["cpu_writer_s"] > 0


def test_join(tmp_path):
    report = run_bench(tmp_path, "join", "--nodes", "50", "--joins", "5")
    [r] = report["results"]
    assert r["joins"] == 5 and len(r["latencies_ms"]) == 5
    assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]


def test_rollout(tmp_path):
    report = run_bench(tmp_path, "rollout", "--nodes", "50", "--startup", "0")
    rows = report["results"]
    assert [(r["maxUnavailable"], r["maxSurge"]) for r in rows] == [("10%", 0), (0, "10%")]
    for r in rows:
        assert r["complete"] and r["bound_respected"]
        assert r["max_unavailable_observed"] <= r["bound"]


def test_steady(tmp_path):
    report = run_bench(tmp_path, "steady", "--nodes", "50", "--seconds", "3")
    [r] = report["results"]
    assert r["pods"] >= 250
    assert r["cpu_percent_of_one_core"] >= 0 and r["rss_steady_mib"] > 0


def test_process(tmp_path):
    report = run_bench(tmp_path, "process", "--runs", "1")
    [r] = report["results"]
    assert r["nodes"] == 3 and len(r["seconds"]) == 1
