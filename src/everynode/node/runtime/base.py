"""The runtime interface between pod workers and what actually runs containers.

A pod worker decides (start this container, stop that one, probe it); a
runtime carries it out and reports back through ``RunHandle``: the
``ContainerRun`` it fills in (ids, start and finish times, exit code and
reason) and the ``exited`` future that resolves when the instance ends.
Two runtimes implement it: ``process`` (real process groups) and
``simulated`` (no processes, for scale).
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from everynode.node.images import Catalog, Image
from everynode.node.logs import LogOptions
from everynode.node.podstatus import ContainerRun


@dataclass
class Mount:
    host_path: str
    container_path: str
    read_only: bool = False


@dataclass
class ContainerConfig:
    pod_uid: str
    pod_name: str
    namespace: str
    name: str
    attempt: int
    image: Image
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    working_dir: str | None = None
    mounts: list[Mount] = field(default_factory=list)
    hostname: str = ""
    hosts_file: str | None = None
    cpu_limit_milli: int | None = None
    cpu_request_milli: int | None = None
    memory_limit: int | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    supplemental_groups: list[int] = field(default_factory=list)

    @property
    def container_id(self) -> str:
        return container_id(self.pod_uid, self.name, self.attempt)


def container_id(pod_uid: str, name: str, attempt: int) -> str:
    """Deterministic: the log of any attempt can be found again from the id in the pod's status."""
    return hashlib.sha256(f"{pod_uid}/{name}/{attempt}".encode()).hexdigest()


class RunHandle:
    """One running (or finished) container instance."""

    def __init__(self, run: ContainerRun, log_path: Path | None = None):
        self.run = run
        self.log_path = log_path
        self.exited: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pid: int | None = None

    def finish(self, exit_code: int, reason: str, message: str, finished_at: float) -> None:
        if self.exited.done():
            return
        self.run.exit_code = exit_code
        self.run.reason = reason
        self.run.message = message
        self.run.finished_at = finished_at
        self.exited.set_result(None)


class StartError(Exception):
    """The container process could not be started (exit code 128, reason StartError)."""


class Runtime(abc.ABC):
    name = "runtime"
    id_scheme = "everynode"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        # What limits this runtime enforces, for node annotations and pod events.
        self.limits_note = ""

    async def init(self) -> None:  # noqa: B027 - optional hook
        """Called once when the agent starts: clean up what a previous incarnation left."""

    def resolve_image(self, image: str, has_command: bool) -> Image:
        return self.catalog.resolve(image, has_command)

    @abc.abstractmethod
    async def start(self, cfg: ContainerConfig) -> RunHandle:
        """Start an instance; returns once it runs (or has failed to start: ``run.exited``)."""

    @abc.abstractmethod
    async def stop(self, handle: RunHandle, grace: float) -> None:
        """SIGTERM (or the runtime's equivalent), wait up to ``grace`` s, then kill; returns once exited."""

    @abc.abstractmethod
    def kill_all_now(self) -> None:
        """Kill every instance at once, without waiting (a crashed host)."""

    @abc.abstractmethod
    async def exec(self, handle: RunHandle, argv: list[str], timeout: float) -> tuple[int, str]:
        """Run a command in the container's context (exec probes): (exit code, output)."""

    @abc.abstractmethod
    def logs(self, handle_or_path: RunHandle | Path, opts: LogOptions, running) -> AsyncIterator[bytes]:
        """The instance's log stream, formatted for pods/log."""

    def usage(self, handles: list[RunHandle]) -> dict[str, tuple[int, int]]:
        """Per container id: (cumulative cpu nanoseconds, working-set bytes)."""
        return {}

    async def cleanup_pod(self, pod_uid: str) -> None:  # noqa: B027 - optional hook
        """Release what the runtime holds for a pod whose containers are all gone."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """The agent stops: release what is left (containers are already stopped)."""

    probes_real = True  # False: probes always succeed (simulated)
    # False: containers leave no files behind (no /etc/hosts to mount, no log file to link)
    writes_files = True
