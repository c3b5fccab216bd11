"""The process runtime: every container is a real process group on this host.

A container instance is started through ``launch.py`` (cgroups, mount and
UTS namespaces, user, working directory, then exec) in its own session, so
its process group id is its pid. Its stdout and stderr are pipes the agent
reads on the event loop and writes to the CRI log file; its exit is seen
through a pidfd, without threads or polling.

Stopping sends SIGTERM to the container's main process only (as a container
runtime signals PID 1), waits up to the grace period, then SIGKILLs the
whole group and cgroup. When the main process exits for any reason, the
rest of its group is killed too: a container does not outlive its main
process.

No process outlives the agent: the launcher sets PR_SET_PDEATHSIG so the
kernel kills the main process when the agent dies, and on start the agent
kills whatever a previous incarnation left (recorded pids in
``<node-dir>/containers/*.json`` and every process still in this node's
cgroups). Containers are cleaned up, not adopted: a pod whose container was
running before comes back as a new instance (restartCount + 1).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from everynode.node import logs as logfiles
from everynode.node.images import Catalog
from everynode.node.logs import LogOptions, LogWriter
from everynode.node.podstatus import ContainerRun
from everynode.node.runtime.base import ContainerConfig, RunHandle, Runtime
from everynode.node.runtime.cgroups import Cgroups, Group

log = logging.getLogger("everynode.node.process")

LAUNCHER = Path(__file__).resolve().parent / "launch.py"


def _proc_start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat: tells a live process from a recycled pid."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[-1].split()[19]


def can_use_namespaces() -> bool:
    return os.geteuid() == 0


class ProcessHandle(RunHandle):
    def __init__(self, run: ContainerRun, log_path: Path):
        super().__init__(run, log_path)
        self.popen: subprocess.Popen | None = None
        self.writer: LogWriter | None = None
        self.group = Group()
        self.record: Path | None = None
        self.fds: list[int] = []
        self.pidfd: int | None = None
        self.cfg: ContainerConfig | None = None
        self.open_streams = 0


class ProcessRuntime(Runtime):
    name = "process"

    def __init__(self, catalog: Catalog, node_dir: Path, cluster_id: str, node: str,
                 use_cgroups: bool = True):
        super().__init__(catalog)
        self.node_dir = node_dir
        self.records = node_dir / "containers"
        self.records.mkdir(parents=True, exist_ok=True)
        self.cgroups = Cgroups.detect(cluster_id, node) if use_cgroups else Cgroups({}, "cgroups disabled")
        self.namespaces = can_use_namespaces()
        self.handles: dict[str, ProcessHandle] = {}
        enforced = self.cgroups.enforced()
        self.limits_note = (f"enforced: {', '.join(enforced)}" if enforced else "not enforced") + (
            f" ({self.cgroups.note})" if self.cgroups.note else "")
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------ lifecycle

    async def init(self) -> None:
        self._loop = asyncio.get_running_loop()
        killed = self.cleanup_orphans()
        if killed:
            log.info("%s: killed %d processes left by a previous run", self.node_dir.name, killed)
        if not self.cgroups.enforced():
            log.warning("%s: resource limits are not enforced: %s", self.node_dir.name, self.cgroups.note)

    def cleanup_orphans(self) -> int:
        killed = 0
        for rec in list(self.records.glob("*.json")):
            try:
                data = json.loads(rec.read_text())
            except (OSError, ValueError):
                rec.unlink(missing_ok=True)
                continue
            pid = data.get("pid")
            # The group id is the main process's pid. A live process with that pid but another start
            # time means the number was reused, which the kernel only does once the old group is empty.
            start = _proc_start_time(pid) if pid else None
            if pid and (start is None or start == data.get("start")):
                try:
                    os.killpg(pid, signal.SIGKILL)
                    killed += 1
                except OSError:
                    pass
            group = Group({str(i): Path(d) for i, d in enumerate(data.get("cgroups") or [])})
            killed += Cgroups.kill(group)
            Cgroups.remove(group)
            rec.unlink(missing_ok=True)
        killed += self.cgroups.sweep()
        for base in self.cgroups.bases.values():
            for child in list(base.iterdir()) if base.exists() else []:
                if child.is_dir():
                    self.cgroups.remove_tree(str(child.relative_to(base)))
        return killed

    # --------------------------------------------------------------- start

    async def start(self, cfg: ContainerConfig) -> RunHandle:
        loop = asyncio.get_running_loop()
        cid = cfg.container_id
        run = ContainerRun(id=f"{self.id_scheme}://{cid}", name=cfg.name, attempt=cfg.attempt,
                           image=cfg.image.ref, image_id=cfg.image.image_id)
        h = ProcessHandle(run, cfg.log_path)
        h.cfg = cfg
        state_dir = self.node_dir / "pods" / cfg.pod_uid / "containers" / f"{cfg.name}-{cfg.attempt}"
        state_dir.mkdir(parents=True, exist_ok=True)
        h.group = self.cgroups.create(f"pod{cfg.pod_uid}/{cfg.name}-{cfg.attempt}", cfg.memory_limit,
                                      cfg.cpu_limit_milli, cfg.cpu_request_milli)
        mounts = [{"src": m.host_path, "dst": m.container_path, "ro": m.read_only}
                  for m in sorted(cfg.mounts, key=lambda m: m.container_path.count("/"))]
        if cfg.hosts_file and os.path.exists("/etc/hosts"):
            mounts.append({"src": cfg.hosts_file, "dst": "/etc/hosts", "ro": False})
        spec = {"argv": cfg.argv, "env": cfg.env, "cwd": cfg.working_dir or cfg.image.working_dir,
                "mounts": mounts, "hostname": cfg.hostname, "namespaces": self.namespaces,
                "cgroups": h.group.procs_files(), "uid": cfg.run_as_user if self.namespaces else None,
                "gid": cfg.run_as_group if self.namespaces else None,
                "groups": cfg.supplemental_groups if self.namespaces else [],
                "parent": os.getpid()}
        if not self.namespaces:
            spec["env"] = {**cfg.env, **_mount_env(mounts)}
        spec_path = state_dir / "spec.json"
        spec_path.write_text(json.dumps(spec))
        h.writer = LogWriter(cfg.log_path)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        st_r, st_w = os.pipe()
        try:
            popen = subprocess.Popen(
                [sys.executable, "-I", "-S", str(LAUNCHER), str(spec_path), str(st_w)],
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w, pass_fds=(st_w,),
                start_new_session=True, close_fds=True, env={"LANG": "C.UTF-8"})
        except OSError as exc:
            for fd in (out_r, out_w, err_r, err_w, st_r, st_w):
                os.close(fd)
            h.writer.close()
            now = time.time()
            run.started_at = now
            h.finish(128, "StartError", f"failed to start the launcher: {exc}", now)
            return h
        for fd in (out_w, err_w, st_w):
            os.close(fd)
        h.popen = popen
        h.pid = popen.pid
        self.handles[run.id] = h
        h.record = self.records / f"{cid}.json"
        h.record.write_text(json.dumps({"pid": popen.pid, "start": _proc_start_time(popen.pid),
                                        "pod": cfg.pod_uid, "container": cfg.name, "attempt": cfg.attempt,
                                        "cgroups": [str(d) for d in h.group.dirs.values()]}))
        status = await _read_all(loop, st_r)
        run.started_at = time.time()
        for fd, stream in ((out_r, "stdout"), (err_r, "stderr")):
            os.set_blocking(fd, False)
            h.fds.append(fd)
            h.open_streams += 1
            loop.add_reader(fd, self._on_output, h, fd, stream)
        self._watch_exit(h)
        if status:
            h.start_error = status.decode(errors="replace")  # type: ignore[attr-defined]
        return h

    def _on_output(self, h: ProcessHandle, fd: int, stream: str) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            if h.writer is not None:
                h.writer.write(stream, data)
            return
        self._close_fd(h, fd)

    def _close_fd(self, h: ProcessHandle, fd: int) -> None:
        if fd not in h.fds:
            return
        loop = self._loop or asyncio.get_running_loop()
        loop.remove_reader(fd)
        h.fds.remove(fd)
        os.close(fd)
        h.open_streams -= 1
        if h.open_streams == 0 and h.exited.done() and h.writer is not None:
            h.writer.close()

    def _watch_exit(self, h: ProcessHandle) -> None:
        loop = self._loop or asyncio.get_running_loop()
        assert h.popen is not None
        try:
            h.pidfd = os.pidfd_open(h.popen.pid)
        except (AttributeError, OSError):
            h.pidfd = None
        if h.pidfd is not None:
            loop.add_reader(h.pidfd, self._on_exit, h)
        else:
            loop.create_task(self._poll_exit(h))

    async def _poll_exit(self, h: ProcessHandle) -> None:
        while h.popen is not None and h.popen.poll() is None:
            await asyncio.sleep(0.5)
        self._on_exit(h)

    def _on_exit(self, h: ProcessHandle) -> None:
        loop = self._loop or asyncio.get_running_loop()
        if h.pidfd is not None:
            loop.remove_reader(h.pidfd)
            os.close(h.pidfd)
            h.pidfd = None
        popen = h.popen
        assert popen is not None
        # The main process is a zombie until reaped, so its pid (= the group id) cannot be reused yet.
        _killpg(popen.pid)
        Cgroups.kill(h.group)
        code = popen.wait()
        now = time.time()
        oom = Cgroups.oom_killed(h.group)
        start_error = getattr(h, "start_error", "")
        if start_error:
            exit_code, reason, message = 128, "StartError", start_error
        else:
            exit_code = code if code >= 0 else 128 - code
            if oom and exit_code in (137, -9):
                reason = "OOMKilled"
            else:
                reason = "Completed" if exit_code == 0 else "Error"
            message = ""
        h.finish(exit_code, reason, message, now)
        self.handles.pop(h.run.id, None)
        if h.record is not None:
            h.record.unlink(missing_ok=True)
        # Remaining output arrives until every writer of the pipes is gone; then the log closes.
        if h.open_streams == 0 and h.writer is not None:
            h.writer.close()
        loop.create_task(self._release(h))

    async def _release(self, h: ProcessHandle) -> None:
        for _ in range(50):
            Cgroups.kill(h.group)
            if Cgroups.remove(h.group):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        for fd in list(h.fds):  # pipes still held by an unkillable straggler: stop reading them
            self._close_fd(h, fd)

    # ---------------------------------------------------------------- stop

    async def stop(self, handle: RunHandle, grace: float) -> None:
        h = handle
        if h.exited.done() or h.pid is None:
            return
        try:
            os.kill(h.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(asyncio.shield(h.exited), timeout=max(0.0, grace))
            return
        except TimeoutError:
            pass
        _killpg(h.pid)
        if isinstance(h, ProcessHandle):
            Cgroups.kill(h.group)
        await asyncio.shield(h.exited)

    def kill_all_now(self) -> None:
        for h in list(self.handles.values()):
            if h.pid is not None and not h.exited.done():
                _killpg(h.pid)
                Cgroups.kill(h.group)

    async def close(self) -> None:
        self.kill_all_now()
        for _ in range(20):
            if not self.handles:
                break
            await asyncio.sleep(0.05)
        self.cgroups.sweep()
        self.cgroups.remove_all()

    async def stop_all(self, grace: float) -> None:
        await asyncio.gather(*(self.stop(h, grace) for h in list(self.handles.values())), return_exceptions=True)

    # --------------------------------------------------------------- exec

    async def exec(self, handle: RunHandle, argv: list[str], timeout: float) -> tuple[int, str]:
        h = handle
        cfg = h.cfg if isinstance(h, ProcessHandle) else None
        env = dict(cfg.env) if cfg else {}
        cwd = (cfg.working_dir or cfg.image.working_dir) if cfg else None
        cmd = list(argv)
        if self.namespaces and h.pid is not None and not h.exited.done() and _has("nsenter"):
            cmd = ["nsenter", "-t", str(h.pid), "-m", "-u", "--", *cmd]
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, env=env, cwd=cwd if cwd and os.path.isdir(cwd) else None,
                start_new_session=True)
        except OSError as exc:
            return 126, f"exec failed: {exc.strerror}"
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            _killpg(proc.pid)
            await proc.wait()
            return -1, f"command {argv!r} timed out"
        return proc.returncode or 0, (out or b"").decode(errors="replace")

    # --------------------------------------------------------------- logs

    def logs(self, handle_or_path, opts: LogOptions, running) -> AsyncIterator[bytes]:
        if isinstance(handle_or_path, ProcessHandle):
            h = handle_or_path
            return logfiles.read_file_log(h.log_path, opts, running, lambda: h.writer)
        return logfiles.read_file_log(Path(handle_or_path), opts, running)

    # -------------------------------------------------------------- usage

    def usage(self, handles: list[RunHandle]) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        fallback = []
        for h in handles:
            if not isinstance(h, ProcessHandle) or h.exited.done():
                continue
            u = Cgroups.usage(h.group)
            if u is None:
                fallback.append(h)
            else:
                out[h.run.id] = u
        if fallback:
            out.update(_proc_usage({h.pid: h.run.id for h in fallback if h.pid}))
        return out

    async def cleanup_pod(self, pod_uid: str) -> None:
        self.cgroups.remove_tree(f"pod{pod_uid}")


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


async def _read_all(loop: asyncio.AbstractEventLoop, fd: int) -> bytes:
    """Read a pipe to EOF without blocking the loop."""
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    done = loop.create_future()

    def ready() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            chunks.append(data)
            return
        loop.remove_reader(fd)
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, ready)
    try:
        await asyncio.wait_for(done, 30)
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    return b"".join(chunks)


def _mount_env(mounts: list[dict]) -> dict[str, str]:
    """Without mount namespaces, volumes are announced to the container in its environment."""
    if not mounts:
        return {}
    return {"EVERYNODE_MOUNTS": ":".join(f"{m['dst']}={m['src']}" for m in mounts)}


_HAS: dict[str, bool] = {}


def _has(binary: str) -> bool:
    if binary not in _HAS:
        import shutil

        _HAS[binary] = shutil.which(binary) is not None
    return _HAS[binary]


def _proc_usage(pids: dict[int, str]) -> dict[str, tuple[int, int]]:
    """Usage of process groups from /proc (no cgroups): cpu ns and resident bytes per group."""
    ticks = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    totals: dict[int, list[int]] = {pgid: [0, 0] for pgid in pids}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[-1].split()
        try:
            pgrp = int(fields[2])
        except (IndexError, ValueError):
            continue
        if pgrp in totals:
            totals[pgrp][0] += (int(fields[11]) + int(fields[12])) * 1_000_000_000 // ticks
            totals[pgrp][1] += int(fields[21]) * page
    return {pids[pgid]: (v[0], v[1]) for pgid, v in totals.items()}
