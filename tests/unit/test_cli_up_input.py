"""`everynode up` refuses bad settings with one clear line, before starting anything."""

import os
import subprocess
import sys


def up(tmp_path, *args, env=None):
    return subprocess.run([sys.executable, "-m", "everynode.cli.main", "up", "--data-dir", str(tmp_path / "d"),
                           "--port", "1", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_bad_gc_pace_is_named(tmp_path):
    out = up(tmp_path, env={"EVERYNODE_GC_PACE": "fast"})
    assert out.returncode != 0
    assert "EVERYNODE_GC_PACE must be a number of seconds" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


def test_nodes_below_one_is_refused(tmp_path):
    out = up(tmp_path, "--nodes", "0")
    assert out.returncode != 0
    assert "--nodes must be at least 1" in out.stderr + out.stdout
