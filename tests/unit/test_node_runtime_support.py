"""Pieces around the runtimes: cgroup discovery, usage rates, node-command helpers, the simulated runtime."""

import asyncio

import pytest

from everynode.node.control import is_daemon_pod, node_spec_errors, pods_to_evict
from everynode.node.logs import LogOptions
from everynode.node.runtime.cgroups import controller_bases
from everynode.node.runtime.simulated import parse_delay, sample_delay, synthetic_lines
from everynode.node.stats import RateTracker, cpu_quantity, memory_quantity

MOUNTINFO = """\
35 25 0:30 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
36 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
37 25 0:32 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
38 25 0:33 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
"""
PROC_CGROUP = """\
4:memory:/jobs/42
2:cpu,cpuacct:/
0::/
"""


def test_controller_bases():
    bases = controller_bases(MOUNTINFO, PROC_CGROUP, "everynode/x-node")
    assert str(bases["memory"]) == "/sys/fs/cgroup/memory/jobs/42/everynode/x-node"
    assert str(bases["cpu"]) == "/sys/fs/cgroup/cpu,cpuacct/everynode/x-node"
    assert str(bases["cpuacct"]) == "/sys/fs/cgroup/cpu,cpuacct/everynode/x-node"
    assert "pids" not in bases


def test_rates_need_a_window():
    t = RateTracker()
    assert t.rate("c", 100.0, 1_000_000_000, 10) is None  # first sample
    assert t.rate("c", 100.5, 1_200_000_000, 10) is None  # too soon
    nanocores, window = t.rate("c", 102.0, 1_500_000_000, 10)
    assert window == 2.0 and nanocores == 250_000_000
    assert t.rate("c", 103.0, 100, 10) is None  # counter went back (new instance): start over


@pytest.mark.parametrize("nanocores,nbytes,cpu,mem", [(250_000_000, 2048, "250000000n", "2Ki"), (-1, 0, "0n", "0Ki")])
def test_quantities(nanocores, nbytes, cpu, mem):
    assert cpu_quantity(nanocores) == cpu and memory_quantity(nbytes) == mem


@pytest.mark.parametrize("spec,errors", [
    ({"name": "n1"}, 0),
    ({"name": ""}, 1),
    ({"name": "Bad_Name"}, 1),
    ({"name": "n", "taints": ["k=v:NoSchedule", "k:NoExecute"]}, 0),
    ({"name": "n", "taints": ["k=v"]}, 1),
    ({"name": "n", "taints": ["k:Sometimes"]}, 1),
    ({"name": "n", "cpu": "2", "memory": "4Gi", "pods": 10}, 0),
    ({"name": "n", "cpu": "lots"}, 1),
    ({"name": "n", "pods": 0}, 1),
    ({"name": "n", "runtime": "docker"}, 1),
])
def test_node_spec_errors(spec, errors):
    assert len(node_spec_errors(spec)) == errors


def _pod(name, owner=None, mirror=False, phase="Running"):
    meta = {"name": name, "namespace": "d", "uid": name}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "controller": True, "name": "o"}]
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.mirror": "h"}
    return {"metadata": meta, "status": {"phase": phase}}


def test_pods_to_evict_like_drain_ignore_daemonsets():
    pods = [_pod("ds", "DaemonSet"), _pod("rs", "ReplicaSet"), _pod("bare"), _pod("mirror", mirror=True),
            _pod("done", phase="Succeeded")]
    assert [p["metadata"]["name"] for p in pods_to_evict(pods)] == ["rs", "bare"]
    assert is_daemon_pod(pods[0]) and not is_daemon_pod(pods[1])


@pytest.mark.parametrize("spec,kind", [("2", "fixed"), ("0.5-3", "uniform"), ("exp:2", "exp"), ("", "fixed")])
def test_parse_delay(spec, kind):
    dist = parse_delay(spec)
    assert dist[0] == kind
    import random

    d = sample_delay(dist, random.Random(1))
    assert d >= 0
    if kind == "uniform":
        assert 0.5 <= d <= 3


def test_synthetic_lines():
    lines = synthetic_lines("c", "n", 100.0, 131.0)
    assert len(lines) == 4 and lines[0][0] == 100 * 10**9 and lines[3][0] == 130 * 10**9
    assert lines[1][1] == b"c: tick 1 on node n"


def test_simulated_runtime_starts_and_stops(tmp_path):
    from everynode.node.images import Catalog
    from everynode.node.runtime.base import ContainerConfig
    from everynode.node.runtime.simulated import SimulatedRuntime

    async def go():
        rt = SimulatedRuntime(Catalog(tmp_path), "n", "0", 0.0, seed=1)
        img = rt.resolve_image("anything:1", False)
        cfg = ContainerConfig("uid", "p", "ns", "c", 0, img, [], {}, tmp_path / "0.log")
        h = await rt.start(cfg)
        assert h.run.running and h.run.id.startswith("everynode://")
        chunks = [c async for c in rt.logs(h, LogOptions(), lambda: False)]
        assert b"started (simulated)" in b"".join(chunks)
        await rt.stop(h, 1)
        assert h.exited.done() and h.run.exit_code == 0
    asyncio.run(go())
