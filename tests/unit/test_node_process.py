"""The process runtime with real processes (no cluster): output, exit codes, start errors, stop, OOM, cleanup."""

import asyncio
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from everynode.node.images import Catalog
from everynode.node.logs import LogOptions
from everynode.node.runtime.base import ContainerConfig, Mount
from everynode.node.runtime.process import ProcessRuntime


@pytest.fixture(autouse=True)
def _release_cgroups(tmp_path):
    yield
    from everynode.node.runtime.cgroups import Cgroups

    groups = Cgroups.detect(f"t{os.getpid()}", tmp_path.name)
    for _ in range(20):
        groups.remove_all()
        if not any(b.exists() for b in groups.bases.values()):
            break
        time.sleep(0.1)


def make(tmp_path, argv, attempt=0, **kw) -> tuple[ProcessRuntime, ContainerConfig]:
    rt = ProcessRuntime(Catalog(tmp_path), tmp_path / "node", f"t{os.getpid()}", tmp_path.name)
    img = rt.resolve_image("example.com/test:1", True)
    cfg = ContainerConfig("uid-1", "p", "ns", "c", attempt, img, argv, {"PATH": img.env["PATH"]},
                          tmp_path / f"{attempt}.log", **kw)
    return rt, cfg


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its (re)parent to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def logs(rt, h) -> bytes:
    return b"".join([c async for c in rt.logs(h, LogOptions(), lambda: False)])


def test_output_and_exit_code(tmp_path):
    async def go():
        rt, cfg = make(tmp_path, ["sh", "-c", "echo out; echo err >&2; exit 7"])
        await rt.init()
        h = await rt.start(cfg)
        await asyncio.wait_for(h.exited, 10)
        await asyncio.sleep(0.2)
        assert (h.run.exit_code, h.run.reason) == (7, "Error")
        assert h.run.started_at <= h.run.finished_at
        return await logs(rt, h)
    assert asyncio.run(go()) == b"out\nerr\n"


def test_missing_binary_is_a_start_error(tmp_path):
    async def go():
        rt, cfg = make(tmp_path, ["definitely-not-a-command-xyz"])
        h = await rt.start(cfg)
        await asyncio.wait_for(h.exited, 10)
        assert (h.run.exit_code, h.run.reason) == (128, "StartError")
        assert 'exec: "definitely-not-a-command-xyz": executable file not found in $PATH' in h.run.message
    asyncio.run(go())


def test_stop_sends_sigterm_then_waits(tmp_path):
    async def go():
        rt, cfg = make(tmp_path, ["sh", "-c", "trap 'echo term; exit 0' TERM; while true; do sleep 0.1; done"])
        h = await rt.start(cfg)
        await asyncio.sleep(0.3)
        t = time.monotonic()
        await rt.stop(h, 5)
        assert time.monotonic() - t < 3
        assert h.run.exit_code == 0
        await asyncio.sleep(0.2)
        assert b"term" in await logs(rt, h)
    asyncio.run(go())


def test_stop_kills_after_grace(tmp_path):
    async def go():
        rt, cfg = make(tmp_path, ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"])
        h = await rt.start(cfg)
        await asyncio.sleep(0.3)
        t = time.monotonic()
        await rt.stop(h, 1)
        assert 0.9 < time.monotonic() - t < 3
        assert h.run.exit_code == 137
    asyncio.run(go())


def test_group_dies_with_main_process(tmp_path):
    async def go():
        rt, cfg = make(tmp_path, ["sh", "-c", "sleep 300 & echo $!; sleep 0.3; exit 1"])
        h = await rt.start(cfg)
        await asyncio.wait_for(h.exited, 10)
        await asyncio.sleep(0.3)
        child = int((await logs(rt, h)).split()[0])
        assert not alive(child)
    asyncio.run(go())


def test_orphans_of_a_previous_run_are_killed(tmp_path):
    async def go():
        rt, cfg = make(tmp_path, ["sleep", "300"])
        h = await rt.start(cfg)
        pid = h.pid
        # Forget it without stopping it, as a crashed agent would.
        rt2, _ = make(tmp_path, ["true"])
        loop = asyncio.get_running_loop()
        if h.pidfd is not None:
            loop.remove_reader(h.pidfd)
        await rt2.init()
        for _ in range(50):
            if h.popen.poll() is not None:
                break
            await asyncio.sleep(0.05)
        assert h.popen.returncode == -signal.SIGKILL, pid
    asyncio.run(go())


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces need root")


@needs_root
def test_mounts_and_hostname(tmp_path):
    async def go():
        src = tmp_path / "vol"
        src.mkdir()
        (src / "f").write_text("hello")
        hosts = tmp_path / "hosts"
        hosts.write_text("127.9.9.9\tmypod\n")
        target = f"/tmp/everynode-test-mount-{os.getpid()}"
        rt, cfg = make(tmp_path, ["sh", "-c", f"cat {target}/f; hostname; cat /etc/hosts; touch {target}/g || echo ro"],
                       mounts=[Mount(str(src), target, True)], hostname="mypod", hosts_file=str(hosts))
        h = await rt.start(cfg)
        await asyncio.wait_for(h.exited, 10)
        await asyncio.sleep(0.2)
        out = await logs(rt, h)
        os.rmdir(target)
        return out
    out = asyncio.run(go())
    assert out.startswith(b"hellomypod\n127.9.9.9\tmypod\n")
    assert out.rstrip().endswith(b"ro")


def test_memory_limit_oom(tmp_path):
    rt, cfg = make(tmp_path, ["python3", "-c", "b = bytearray(256 * 1024 * 1024)"], memory_limit=32 * 1024 * 1024)
    if not rt.cgroups.has("memory"):
        pytest.skip(f"memory limits are not enforced here: {rt.cgroups.note}")

    async def go():
        h = await rt.start(cfg)
        await asyncio.wait_for(h.exited, 30)
        assert (h.run.exit_code, h.run.reason) == (137, "OOMKilled")
    asyncio.run(go())


@needs_root
def test_run_as_user_and_working_dir(tmp_path):
    async def go():
        wd = Path(f"/tmp/everynode-test-wd-{os.getpid()}/work")
        rt, cfg = make(tmp_path, ["sh", "-c", "id -u; id -g; pwd"], run_as_user=65534, run_as_group=65534,
                       working_dir=str(wd))
        h = await rt.start(cfg)
        await asyncio.wait_for(h.exited, 10)
        await asyncio.sleep(0.2)
        return await logs(rt, h)
    try:
        assert asyncio.run(go()).split() == [b"65534", b"65534", f"/tmp/everynode-test-wd-{os.getpid()}/work".encode()]
    finally:
        shutil.rmtree(f"/tmp/everynode-test-wd-{os.getpid()}", ignore_errors=True)
