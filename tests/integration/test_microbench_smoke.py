"""Smoke runs of the microbenchmarks under ``bench/`` at tiny sizes: each still runs end to
end, measures something and writes its report. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run_script(name: str, out: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(BENCH / name), *args, "--out", str(out)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("path", ["agent", "local", "handle"])
def test_lease_update(tmp_path, path):
    report = run_script("lease_update.py", tmp_path / "lease.json", "--leases", "30", "--concurrency", "7",
                        "--rounds", "2", "--repeat", "2", "--path", path)
    assert report["leases"] == 30 and report["concurrency"] == 7 and report["path"] == path
    assert len(report["cpu_us_per_renewal"]) == 2 and report["median_us"] > 0
    assert len(report["process_cpu_us_per_renewal"]) == 2 and report["process_median_us"] > 0


def test_pod_writes(tmp_path):
    report = run_script("pod_writes.py", tmp_path / "pods.json", "--pods", "10", "--repeat", "2")
    assert report["pods"] == 10 and len(report["cpu_us_per_pod"]) == 2 and report["median_us"] > 0
    assert set(report["per_kind_median_us"]) == {"create", "ev-create", "bind", "ev-sched", "ev-pulled",
                                                 "ev-created", "ev-started", "status"}
    assert all(us > 0 for us in report["per_kind_median_us"].values())


@pytest.mark.parametrize("args", [["--concurrency", "-1"], ["--leases", "0"], ["--rounds", "0"]])
def test_lease_update_refuses_bad_sizes(tmp_path, args):
    proc = subprocess.run([sys.executable, str(BENCH / "lease_update.py"), *args, "--out", str(tmp_path / "x.json")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "must be at least 1" in proc.stderr
    assert not (tmp_path / "x.json").exists()


def test_wakeups(tmp_path):
    report = run_script("wakeups.py", tmp_path / "wake.json", "--rates", "200", "--callbacks", "50",
                        "--period", "0.2", "--resolutions", "0.01", "0.05", "--seconds", "0.4")
    assert [r["rate"] for r in report["bare_loop"]] == [200]
    assert report["bare_loop"][0]["us_per_wakeup"] > 0
    assert [r["resolution_s"] for r in report["heartbeat_clock"]] == [0.01, 0.05]
    for r in report["heartbeat_clock"]:
        assert r["calls"] >= 50  # every callback called at least once in two periods
        assert r["us_per_call"] > 0


@pytest.mark.parametrize("args", [["--rates", "0"], ["--callbacks", "0"], ["--seconds", "0"],
                                  ["--resolutions", "-1"]])
def test_wakeups_refuses_bad_values(tmp_path, args):
    proc = subprocess.run([sys.executable, str(BENCH / "wakeups.py"), *args, "--out", str(tmp_path / "x.json")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "must" in proc.stderr
    assert not (tmp_path / "x.json").exists()
