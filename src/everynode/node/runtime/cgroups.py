"""cgroup v1 control for container processes: memory and cpu limits, usage, OOM, cleanup.

Every container instance gets its own group under the agent's own cgroup in
each writable controller (memory, cpu, cpuacct):
``<own cgroup>/everynode/<cluster-id>-<node>/pod<uid>/<container>-<attempt>``.
The group lets the agent enforce ``resources.limits`` (memory.limit_in_bytes,
cpu.cfs_quota_us) and ``requests.cpu`` (cpu.shares), read usage for the
metrics API, tell an OOM kill apart from another SIGKILL, and kill every
process of a container, daemonised ones included. Hosts without writable
cgroup v1 controllers (cgroup v2 only, no root) run containers without
limits; ``Cgroups.note`` says why, and the agent reports it.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("everynode.node.cgroups")

CONTROLLERS = ("memory", "cpu", "cpuacct")
CFS_PERIOD = 100_000


def _mounts(mountinfo: str) -> dict[str, tuple[str, str]]:
    """controller -> (mount point, mount root) for cgroup v1 mounts."""
    out: dict[str, tuple[str, str]] = {}
    for line in mountinfo.splitlines():
        pre, sep, post = line.partition(" - ")
        if not sep:
            continue
        fields, sfields = pre.split(), post.split()
        if len(fields) < 5 or len(sfields) < 3 or sfields[0] != "cgroup":
            continue
        for opt in sfields[2].split(","):
            if opt in CONTROLLERS and opt not in out:
                out[opt] = (fields[4], fields[3])
    return out


def _own_paths(proc_cgroup: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for ctl in parts[1].split(","):
            out[ctl] = parts[2]
    return out


def controller_bases(mountinfo: str, proc_cgroup: str, leaf: str) -> dict[str, Path]:
    """Where this process's groups live in each controller, with ``leaf`` appended (pure)."""
    mounts = _mounts(mountinfo)
    own = _own_paths(proc_cgroup)
    out: dict[str, Path] = {}
    for ctl, (point, root) in mounts.items():
        path = own.get(ctl, "/")
        if root != "/" and path.startswith(root):
            path = path[len(root):] or "/"
        out[ctl] = Path(point) / path.lstrip("/") / leaf
    return out


@dataclass
class Group:
    dirs: dict[str, Path] = field(default_factory=dict)  # controller -> directory

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs.values()]


class Cgroups:
    def __init__(self, bases: dict[str, Path], note: str = ""):
        self.bases = bases
        self.note = note

    @classmethod
    def detect(cls, cluster_id: str, node: str) -> Cgroups:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
            own = Path("/proc/self/cgroup").read_text()
        except OSError as exc:
            return cls({}, f"cgroups unavailable: {exc}")
        candidates = controller_bases(mountinfo, own, f"everynode/{cluster_id}-{node}")
        bases: dict[str, Path] = {}
        problems = []
        for ctl in CONTROLLERS:
            base = candidates.get(ctl)
            if base is None:
                problems.append(f"no cgroup v1 {ctl} controller mounted")
                continue
            try:
                base.mkdir(parents=True, exist_ok=True)
                bases[ctl] = base
            except OSError as exc:
                problems.append(f"cgroup v1 {ctl} at {base.parent.parent} not writable ({exc.strerror})")
        note = "; ".join(problems)
        if not bases and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            note = "cgroup v2 hosts are not supported for limits yet; " + note
        return cls(bases, note)

    def has(self, controller: str) -> bool:
        return controller in self.bases

    def enforced(self) -> list[str]:
        out = []
        if self.has("memory"):
            out.append("memory")
        if self.has("cpu"):
            out.append("cpu")
        return out

    def create(self, rel: str, memory_limit: int | None, cpu_limit_milli: int | None,
               cpu_request_milli: int | None) -> Group:
        group = Group()
        for ctl, base in self.bases.items():
            d = base / rel
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                log.warning("cannot create cgroup %s: %s", d, exc)
                continue
            group.dirs[ctl] = d
        mem = group.dirs.get("memory")
        if mem is not None and memory_limit:
            _write(mem / "memory.limit_in_bytes", str(memory_limit))
        cpu = group.dirs.get("cpu")
        if cpu is not None:
            shares = max(2, (cpu_request_milli or 0) * 1024 // 1000) if cpu_request_milli else 2
            _write(cpu / "cpu.shares", str(shares))
            if cpu_limit_milli:
                _write(cpu / "cpu.cfs_period_us", str(CFS_PERIOD))
                _write(cpu / "cpu.cfs_quota_us", str(max(1000, cpu_limit_milli * CFS_PERIOD // 1000)))
        return group

    @staticmethod
    def oom_killed(group: Group) -> bool:
        mem = group.dirs.get("memory")
        if mem is None:
            return False
        try:
            for line in (mem / "memory.oom_control").read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1]) > 0
        except (OSError, ValueError):
            pass
        return False

    @staticmethod
    def pids(group: Group) -> set[int]:
        out: set[int] = set()
        for f in group.procs_files():
            try:
                out.update(int(x) for x in Path(f).read_text().split())
            except (OSError, ValueError):
                pass
        return out

    @classmethod
    def kill(cls, group: Group) -> int:
        n = 0
        for pid in cls.pids(group):
            try:
                os.kill(pid, signal.SIGKILL)
                n += 1
            except OSError:
                pass
        return n

    @classmethod
    def remove(cls, group: Group) -> bool:
        ok = True
        for d in group.dirs.values():
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                ok = False
        return ok

    @staticmethod
    def usage(group: Group) -> tuple[int, int] | None:
        """(cpu ns, working set bytes), or None when not measurable through cgroups."""
        acct = group.dirs.get("cpuacct")
        mem = group.dirs.get("memory")
        if acct is None or mem is None:
            return None
        try:
            cpu = int((acct / "cpuacct.usage").read_text())
            used = int((mem / "memory.usage_in_bytes").read_text())
            inactive = 0
            for line in (mem / "memory.stat").read_text().splitlines():
                if line.startswith("total_inactive_file "):
                    inactive = int(line.split()[1])
                    break
            return cpu, max(0, used - inactive)
        except (OSError, ValueError):
            return None

    def sweep(self, keep: set[str] | None = None) -> int:
        """Kill every process left in this node's groups and remove them (orphans of a previous run)."""
        killed = 0
        for base in self.bases.values():
            if not base.exists():
                continue
            # Deepest first, so parents are empty when their turn comes.
            dirs = sorted((Path(root) for root, _d, _f in os.walk(base)), key=lambda p: len(p.parts), reverse=True)
            for d in dirs:
                if d == base:
                    continue
                rel = str(d.relative_to(base))
                if keep and any(rel.startswith(k) for k in keep):
                    continue
                killed += Cgroups.kill(Group({"x": d}))
        return killed

    def remove_tree(self, rel: str) -> None:
        for base in self.bases.values():
            _rmdirs(base / rel)

    def remove_all(self) -> None:
        """Remove this node's groups (all empty by now), and the shared parent when it is empty."""
        for base in self.bases.values():
            _rmdirs(base)
            try:
                base.parent.rmdir()
            except OSError:
                pass


def _rmdirs(top: Path) -> None:
    """rmdir a cgroup tree, deepest first (cgroup directories go with rmdir, not unlink)."""
    if not top.exists():
        return
    for root, _dirs, _files in sorted(os.walk(top), key=lambda t: len(Path(t[0]).parts), reverse=True):
        try:
            Path(root).rmdir()
        except OSError:
            pass


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        log.warning("cannot write %s = %s: %s", path, value, exc)
