"""The pod worker: one asyncio task per pod bound to the node, as the kubelet's pod workers.

A worker wakes when its pod changes, a container exits, a probe result
changes or a timer (back-off, deadline) fires, and then syncs:

- a pod being deleted (or gone from the API) has its containers stopped
  within the grace period (SIGTERM, then SIGKILL), its final status
  written, and its API object deleted (gracePeriodSeconds=0, uid
  precondition);
- otherwise volumes are prepared, init containers run one after the
  other, then the containers start; exited containers are restarted by the
  restart policy with the CrashLoopBackOff back-off;
- the status (phase, conditions, container statuses) is written to
  pods/status when it changed.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from typing import TYPE_CHECKING, Any

from everynode.api.errors import ApiError
from everynode.api.quantity import parse_quantity, to_milli
from everynode.apiserver.objects import now_rfc3339, parse_time
from everynode.node import podstatus as ps
from everynode.node.backoff import Backoff
from everynode.node.images import ImageError, busybox_argv
from everynode.node.logs import container_log_path, pod_log_dir
from everynode.node.podenv import EnvError, container_argv, container_env
from everynode.node.podstatus import ContainerRun, CState
from everynode.node.probes import ContainerProbes, http_probe, tcp_probe
from everynode.node.runtime.base import ContainerConfig, RunHandle
from everynode.node.volumes import VolumeError, container_mounts, prepare_volumes, write_hosts_file

if TYPE_CHECKING:
    from everynode.node.agent import NodeAgent

log = logging.getLogger("everynode.node.worker")

Obj = dict[str, Any]
MIN_GRACE = 2.0


def should_restart(policy: str, exit_code: int | None) -> bool:
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return exit_code != 0
    return True


def spec_changed(old: Obj, new: Obj) -> bool:
    """Whether an update needs the worker's attention (not just our own status write)."""
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    return (old.get("spec") != new.get("spec") or om.get("deletionTimestamp") != nm.get("deletionTimestamp")
            or om.get("labels") != nm.get("labels") or om.get("annotations") != nm.get("annotations"))


def restore_state(cstates: dict[str, CState], statuses: list[Obj], now: float) -> None:
    """Rebuild the agent's view from the API status after an agent restart.

    Instances the status shows running are gone (the agent kills what a
    previous run left), so they become exited with reason Unknown (255), as
    containers a rebooted host lost.
    """
    for s in statuses:
        cs = cstates.get(s.get("name", ""))
        if cs is None:
            continue
        count = int(s.get("restartCount") or 0)
        cs.restart_count = count
        state, last = s.get("state") or {}, s.get("lastState") or {}
        if "running" in state:
            cs.current = ContainerRun(id=s.get("containerID", ""), name=cs.name, attempt=count,
                                      image=s.get("image", ""), image_id=s.get("imageID", ""),
                                      started_at=parse_time(state["running"].get("startedAt")) or now,
                                      finished_at=now, exit_code=255, reason="Unknown")
            if "terminated" in last:
                cs.previous = _run_from(cs.name, last["terminated"], max(0, count - 1), s)
        elif "terminated" in state:
            cs.current = _run_from(cs.name, state["terminated"], count, s)
            if "terminated" in last:
                cs.previous = _run_from(cs.name, last["terminated"], max(0, count - 1), s)
        elif "terminated" in last:
            cs.current = _run_from(cs.name, last["terminated"], count, s)


def _run_from(name: str, t: Obj, attempt: int, s: Obj) -> ContainerRun:
    return ContainerRun(id=t.get("containerID") or s.get("containerID", ""), name=name, attempt=attempt,
                        image=s.get("image", ""), image_id=s.get("imageID", ""),
                        started_at=parse_time(t.get("startedAt")), finished_at=parse_time(t.get("finishedAt")) or 0.0,
                        exit_code=int(t.get("exitCode") or 0), reason=t.get("reason", ""),
                        message=t.get("message", ""))


def _milli(q: Any) -> int | None:
    if q is None:
        return None
    try:
        return to_milli(q)
    except (ValueError, ZeroDivisionError):
        return None


def _bytes(q: Any) -> int | None:
    if q is None:
        return None
    try:
        return int(parse_quantity(q))
    except (ValueError, ZeroDivisionError):
        return None


def _later(held: Obj | None, written: Obj) -> Obj:
    """The pod to keep after a write answered ``written``: the one already held when the watch
    has delivered this version or a later one meanwhile. The watch's object is the store's own
    (shared with every informer); the answer is a private decoded copy, about 25 dicts and lists
    per pod if kept (+28% resident memory at 10,000 nodes when the watch was the quicker)."""
    if held is None:
        return written
    try:
        held_rv = int(held["metadata"].get("resourceVersion") or 0)
        written_rv = int(written["metadata"].get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return written  # not this server's revisions: trust the answer
    return held if held_rv >= written_rv else written


class PodWorker:
    def __init__(self, agent: NodeAgent, pod: Obj, static: bool = False, mirror: Obj | None = None):
        self.agent = agent
        self.pod = pod
        self.static = static
        self.mirror = mirror
        meta = pod["metadata"]
        self.uid: str = meta["uid"]
        self.namespace: str = meta.get("namespace", "default")
        self.name: str = meta["name"]
        spec = pod.get("spec") or {}
        self.inits = {c["name"]: CState(c["name"], c.get("image", "")) for c in spec.get("initContainers") or []}
        self.containers = {c["name"]: CState(c["name"], c.get("image", "")) for c in spec.get("containers") or []}
        status_src = (mirror if static else pod) or {}
        st = status_src.get("status") or {}
        now = time.time()
        restore_state(self.inits, st.get("initContainerStatuses") or [], now)
        restore_state(self.containers, st.get("containerStatuses") or [], now)
        self.start_time = parse_time(st.get("startTime"))
        self.handles: dict[str, RunHandle] = {}
        self.probes: dict[str, ContainerProbes] = {}
        self.backoff = Backoff()
        self.image_backoff = Backoff()
        self.volumes: dict[str, str] | None = None
        self.volume_error = ""
        self.gone = False
        self.stopping = False  # a static pod whose manifest went away
        self.terminal = False
        self.pod_reason = ""
        self.pod_message = ""
        self._wake = asyncio.Event()
        self._next_at: float | None = None
        self._backoff_event_for: dict[str, float] = {}
        self.task: asyncio.Task | None = None

    # ------------------------------------------------------------ plumbing

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"pod-{self.key}")
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def schedule(self, at: float) -> None:
        if self._next_at is None or at < self._next_at:
            self._next_at = at

    def update(self, pod: Obj) -> None:
        old, self.pod = self.pod, pod
        # A status write may already have returned the deletionTimestamp (self.pod is then
        # newer than the watch event), so a deleting pod always wakes the worker.
        if spec_changed(old, pod) or (pod.get("metadata") or {}).get("deletionTimestamp"):
            self.wake()

    def removed(self) -> None:
        self.gone = True
        self.wake()

    async def _run(self) -> None:
        while True:
            timeout = None if self._next_at is None else max(0.0, self._next_at - time.time())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
            self._wake.clear()
            self._next_at = None
            try:
                if await self.sync():
                    break
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pod %s: sync failed", self.key)
                self.schedule(time.time() + 2)
        self.agent.worker_finished(self)

    @property
    def runtime(self):
        return self.agent.runtime_for(self.pod)

    def _event(self, type_: str, reason: str, message: str, container: str | None = None) -> None:
        self.agent.events.emit(self._event_target(), type_, reason, message, container)

    def _event_target(self) -> Obj:
        return self.mirror if self.static and self.mirror else self.pod

    # ----------------------------------------------------------------- sync

    async def sync(self) -> bool:
        """One pass; True when the worker is done (pod terminated and cleaned up)."""
        meta = self.pod.get("metadata") or {}
        if self.gone or self.stopping or (meta.get("deletionTimestamp") and not self.static):
            await self._terminate()
            return True
        if self.terminal or (not self.static and ps.is_terminal(self.pod)):
            self.terminal = True
            if self._running():
                await self._stop_all(self._grace())
            await self._write_status()
            return False
        now = time.time()
        if self.start_time is None:
            self.start_time = now
        spec = self.pod.get("spec") or {}
        deadline = spec.get("activeDeadlineSeconds")
        if deadline:
            if now - self.start_time >= int(deadline):
                self.pod_reason = "DeadlineExceeded"
                self.pod_message = "Pod was active on the node longer than the specified deadline"
                self._event("Normal", "DeadlineExceeded", self.pod_message)
                await self._stop_all(self._grace())
                self.terminal = True
                await self._write_status(terminal=True)
                return False
            self.schedule(self.start_time + int(deadline))
        if self.volumes is None and not await self._prepare_volumes():
            await self._write_status()
            return False
        if await self._sync_init():
            await self._sync_containers()
        status = await self._write_status()
        if status is not None and status.get("phase") in ps.TERMINAL:
            self.terminal = True
            await self._stop_all(self._grace())
        return False

    async def _prepare_volumes(self) -> bool:
        ag = self.agent
        try:
            self.volumes = prepare_volumes(self.pod, ag.pod_dir(self.uid), ag.host_root, ag.ca_pem,
                                           ag.allocatable())
            self.volume_error = ""
            return True
        except VolumeError as exc:
            if str(exc) != self.volume_error:
                self._event("Warning", "FailedMount", str(exc))
            self.volume_error = str(exc)
            self.schedule(time.time() + 10)
            return False

    def _running(self) -> list[str]:
        return [n for n, h in self.handles.items() if not h.exited.done()]

    def _grace(self) -> float:
        spec = self.pod.get("spec") or {}
        g = spec.get("terminationGracePeriodSeconds")
        return float(30 if g is None else g)

    # ------------------------------------------------------ init containers

    async def _sync_init(self) -> bool:
        """Run init containers in order; True once all have completed."""
        spec = self.pod.get("spec") or {}
        policy = spec.get("restartPolicy") or "Always"
        for c in spec.get("initContainers") or []:
            cs = self.inits[c["name"]]
            sidecar = c.get("restartPolicy") == "Always"
            h = self.handles.get(c["name"])
            if h is not None and not h.exited.done():
                if sidecar and cs.started:
                    continue
                return False
            run = cs.current
            if run is None:
                await self._start(c, cs)
                if sidecar and cs.started:
                    continue
                return False
            if not run.exited:
                return False
            if run.exit_code == 0 and not sidecar:
                continue
            if not sidecar and policy == "Never":
                return False  # the pod fails (get_phase)
            if not await self._restart_with_backoff(c, cs):
                return False
            if not (sidecar and cs.started):
                return False
        return True

    # ------------------------------------------------------ containers

    async def _sync_containers(self) -> None:
        spec = self.pod.get("spec") or {}
        policy = spec.get("restartPolicy") or "Always"
        # A restartable init container (sidecar) that stopped is restarted like a container.
        for c in spec.get("initContainers") or []:
            cs = self.inits[c["name"]]
            if c.get("restartPolicy") == "Always" and cs.current is not None and cs.current.exited:
                await self._restart_with_backoff(c, cs)
        for c in spec.get("containers") or []:
            cs = self.containers[c["name"]]
            h = self.handles.get(c["name"])
            if h is not None and not h.exited.done():
                if c.get("image", "") != cs.image:
                    self._event("Normal", "Killing", f"Container {c['name']} definition changed, will be restarted",
                                c["name"])
                    await self._stop_one(c["name"], self._grace())
                    cs.image = c.get("image", "")
                    self.backoff.reset(c["name"])
                else:
                    continue
            run = cs.current
            if run is None:
                await self._start(c, cs)
                continue
            if not run.exited:
                continue
            if not should_restart(policy, run.exit_code):
                cs.waiting_reason = ""
                continue
            await self._restart_with_backoff(c, cs)

    async def _restart_with_backoff(self, c: Obj, cs: CState) -> bool:
        """Restart an exited container unless it is in back-off; True when it was started."""
        run = cs.current
        assert run is not None and run.finished_at is not None
        name = c["name"]
        now = time.time()
        if self.backoff.in_backoff_since(name, run.finished_at, now):
            delay = self.backoff.get(name)
            cs.waiting_reason = "CrashLoopBackOff"
            cs.waiting_message = (f"back-off {ps.go_duration(delay)} restarting failed container={name} "
                                  f"pod={ps.format_pod(self.pod)}")
            if self._backoff_event_for.get(name) != run.finished_at:
                self._backoff_event_for[name] = run.finished_at
                self._event("Warning", "BackOff",
                            f"Back-off restarting failed container {name} in pod {ps.format_pod(self.pod)}", name)
            self.schedule(self.backoff.until(name, run.finished_at))
            return False
        self.backoff.next(name, run.finished_at, now)
        await self._start(c, cs)
        return True

    # ---------------------------------------------------------------- start

    async def _start(self, c: Obj, cs: CState) -> None:
        ag = self.agent
        name = c["name"]
        runtime = self.runtime
        image_name = c.get("image", "")
        now = time.time()
        try:
            image = runtime.resolve_image(image_name, bool(c.get("command")))
        except ImageError as exc:
            key = f"image/{name}"
            last = cs.extra.get("pull_failed_at", 0.0)
            if self.image_backoff.in_backoff_since(key, last, now):
                cs.waiting_reason = "ImagePullBackOff"
                cs.waiting_message = f'Back-off pulling image "{image_name}": ErrImagePull: {exc.message}'
                if cs.extra.get("pull_backoff_event") != last:
                    cs.extra["pull_backoff_event"] = last
                    self._event("Normal", "BackOff", f'Back-off pulling image "{image_name}"', name)
                self.schedule(self.image_backoff.until(key, last))
                return
            self.image_backoff.next(key, now, now)
            cs.extra["pull_failed_at"] = now
            cs.waiting_reason = "ErrImagePull"
            cs.waiting_message = exc.message
            self._event("Normal", "Pulling", f'Pulling image "{image_name}"', name)
            self._event("Warning", "Failed", f'Failed to pull image "{image_name}": {exc.message}', name)
            self._event("Warning", "Failed", "Error: ErrImagePull", name)
            self.schedule(now + 1.0)  # the next sync reports the back-off (ImagePullBackOff)
            return
        self.image_backoff.reset(f"image/{name}")
        cs.extra.pop("pull_failed_at", None)
        self._event("Normal", "Pulled", f'Container image "{image_name}" already present on machine', name)
        hostname = ag.config.name if self._host_network() else self.name
        ip = ag.config.address
        base = {**image.env, "HOSTNAME": hostname[:63], **ag.service_env()}
        try:
            env = container_env(self._env_pod(), c, base, ag.allocatable())
        except EnvError as exc:
            cs.waiting_reason = "CreateContainerConfigError"
            cs.waiting_message = str(exc)
            self._event("Warning", "Failed", f"Error: {exc}", name)
            self.schedule(now + 10)
            return
        argv = container_argv(c, image.entrypoint, image.cmd, env)
        if image.busybox:
            argv = busybox_argv(argv, ag.catalog.busybox_applets())
        mounts = container_mounts(c, self.volumes or {}, env)
        attempt = cs.current.attempt + 1 if cs.current is not None else cs.restart_count
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        sc = {**((self.pod.get("spec") or {}).get("securityContext") or {}), **(c.get("securityContext") or {})}
        cfg = ContainerConfig(
            pod_uid=self.uid, pod_name=self.name, namespace=self.namespace, name=name, attempt=attempt,
            image=image, argv=argv, env=env,
            log_path=container_log_path(ag.root_dir, self.namespace, self.name, self.uid, name, attempt),
            working_dir=c.get("workingDir") or None, mounts=mounts, hostname=hostname,
            hosts_file=(write_hosts_file(ag.pod_dir(self.uid), ip, hostname, self._host_network())
                        if runtime.writes_files else None),
            cpu_limit_milli=_milli(limits.get("cpu")), memory_limit=_bytes(limits.get("memory")),
            cpu_request_milli=_milli(requests.get("cpu", limits.get("cpu"))),
            run_as_user=sc.get("runAsUser"), run_as_group=sc.get("runAsGroup"),
            supplemental_groups=list((self.pod.get("spec") or {}).get("securityContext", {}).get(
                "supplementalGroups") or []))
        self._warn_unenforced(c, limits)
        handle = await runtime.start(cfg)
        if runtime.writes_files:
            ag.link_container_log(cfg)
        if cs.current is not None and cs.current.exited:
            cs.previous = cs.current
        cs.current = handle.run
        cs.restart_count = attempt
        cs.image = image_name
        cs.waiting_reason = cs.waiting_message = ""
        cs.ready = cs.started = False
        self.handles[name] = handle
        self._prune_logs(name, attempt)
        start_error = getattr(handle, "start_error", "")
        self._event("Normal", "Created", f"Created container: {name}", name)
        if start_error:
            self._event("Warning", "Failed", f"Error: {start_error}", name)
        else:
            self._event("Normal", "Started", f"Started container {name}", name)
        handle.exited.add_done_callback(lambda _f, n=name, h=handle: self._on_exit(n, h))
        if not handle.exited.done():
            self._start_probes(c, cs, handle)

    def _host_network(self) -> bool:
        return bool((self.pod.get("spec") or {}).get("hostNetwork"))

    def _env_pod(self) -> Obj:
        """The pod as env fieldRefs see it: with the IPs this agent assigns."""
        ip = self.agent.config.address
        status = {**(self.pod.get("status") or {}), "hostIP": ip, "hostIPs": [{"ip": ip}],
                  "podIP": ip, "podIPs": [{"ip": ip}]}
        return {**self.pod, "status": status}

    def _warn_unenforced(self, c: Obj, limits: Obj) -> None:
        rt = self.runtime
        cg = getattr(rt, "cgroups", None)
        if cg is None:
            return
        missing = [r for r in ("memory", "cpu") if r in limits and not cg.has(r)]
        if missing:
            self._event("Warning", "LimitsNotEnforced",
                        f"{' and '.join(missing)} limits of container {c['name']} are not enforced on this node: "
                        f"{cg.note or 'no writable cgroup controller'}", c["name"])

    def _prune_logs(self, name: str, attempt: int) -> None:
        """Keep the logs of the current and the previous instance, as container GC does."""
        for old in range(max(0, attempt - 3), attempt - 1):
            p = container_log_path(self.agent.root_dir, self.namespace, self.name, self.uid, name, old)
            for f in p.parent.glob(f"{old}.log*"):
                f.unlink(missing_ok=True)

    def _start_probes(self, c: Obj, cs: CState, handle: RunHandle) -> None:
        name = c["name"]

        async def check(kind: str, action: Obj, timeout: float) -> tuple[bool, str]:
            if kind == "exec":
                argv = [str(a) for a in action.get("command") or []]
                code, out = await self.runtime.exec(handle, argv, timeout)
                if code == 0:
                    return True, ""
                return False, out.strip() if code != -1 else f'command "{" ".join(argv)}" timed out'
            if kind == "httpGet":
                return await http_probe(action, self.agent.config.address, c, timeout)
            if kind == "tcpSocket":
                return await tcp_probe(action, self.agent.config.address, c, timeout)
            return False, f"{kind} probes are not supported by everynode"

        def changed() -> None:
            p = self.probes.get(name)
            if p is not None:
                cs.ready, cs.started = p.ready and p.started, p.started
            self.wake()

        def failed(label: str, message: str, probe: Obj) -> None:
            self._event("Normal", "Killing", f"Container {name} failed {label.lower()} probe, will be restarted",
                        name)
            grace = probe.get("terminationGracePeriodSeconds")
            asyncio.create_task(self._stop_one(name, float(grace) if grace is not None else self._grace()))

        def event(label: str, message: str) -> None:
            self._event("Warning", "Unhealthy", f"{label} probe failed: {message}", name)

        started_at = handle.run.started_at or time.time()
        probes = ContainerProbes(c, started_at, check, changed, failed, event, real=self.runtime.probes_real)
        self.probes[name] = probes
        cs.started = probes.started
        cs.ready = probes.ready and probes.started
        probes.start()

    def _on_exit(self, name: str, handle: RunHandle) -> None:
        p = self.probes.pop(name, None)
        if p is not None:
            p.stop()
        for cs in (self.containers.get(name), self.inits.get(name)):
            if cs is not None and cs.current is handle.run:
                cs.ready = cs.started = False
        if self.handles.get(name) is handle:
            del self.handles[name]
        self._fallback_message(name, handle)
        self.wake()

    def _fallback_message(self, name: str, handle: RunHandle) -> None:
        """terminationMessagePolicy FallbackToLogsOnError: the log's tail becomes the message."""
        spec = self.pod.get("spec") or {}
        c = next((c for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
                  if c.get("name") == name), {})
        run = handle.run
        if c.get("terminationMessagePolicy") != "FallbackToLogsOnError" or run.exit_code == 0 or run.message:
            return
        path = handle.log_path
        if path is None or not path.exists():
            return
        from everynode.node.logs import parse_line

        lines = path.read_bytes().splitlines()[-80:]
        text = b"".join((e[3] + b"\n") for e in (parse_line(raw) for raw in lines) if e is not None)
        run.message = text[-2048:].decode(errors="replace")

    # ------------------------------------------------------------- stopping

    async def _stop_one(self, name: str, grace: float) -> None:
        h = self.handles.get(name)
        if h is None or h.exited.done():
            return
        p = self.probes.pop(name, None)
        if p is not None:
            p.stop()
        await self.runtime.stop(h, max(MIN_GRACE, grace))

    async def _stop_all(self, grace: float, events: bool = True) -> None:
        names = self._running()
        if events:
            for n in names:
                self._event("Normal", "Killing", f"Stopping container {n}", n)
        await asyncio.gather(*(self._stop_one(n, grace) for n in names), return_exceptions=True)

    async def _terminate(self) -> None:
        meta = self.pod.get("metadata") or {}
        grace = meta.get("deletionGracePeriodSeconds")
        grace = float(grace) if grace is not None and not self.gone else (MIN_GRACE if self.gone else self._grace())
        await self._stop_all(grace)
        if not self.gone and not self.static:
            await self._write_status(terminal=True)
            try:
                await self.agent.client.delete("pods", self.name, self.namespace,
                                               {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}})
            except ApiError as exc:
                if exc.code not in (404, 409):
                    log.warning("pod %s: delete failed: %s", self.key, exc)
        await self.cleanup()

    async def cleanup(self) -> None:
        ag = self.agent
        await self.runtime.cleanup_pod(self.uid)
        shutil.rmtree(ag.pod_dir(self.uid), ignore_errors=True)
        shutil.rmtree(pod_log_dir(ag.root_dir, self.namespace, self.name, self.uid), ignore_errors=True)
        ag.unlink_container_logs(self.namespace, self.name, self.uid)

    async def shutdown(self, grace_cap: float) -> None:
        """The agent stops (cluster down): stop containers, write nothing."""
        if self.task is not None:
            self.task.cancel()
        for p in self.probes.values():
            p.stop()
        self.probes.clear()
        await asyncio.gather(*(self.runtime.stop(h, min(grace_cap, max(MIN_GRACE, self._grace())))
                               for h in list(self.handles.values()) if not h.exited.done()),
                             return_exceptions=True)

    def abort(self) -> None:
        """A crash: forget everything at once (the runtime kills the processes)."""
        if self.task is not None:
            self.task.cancel()
        for p in self.probes.values():
            p.stop()
        self.probes.clear()

    # --------------------------------------------------------------- status

    def build_status(self, terminal: bool = False) -> Obj:
        target = self.mirror if self.static and self.mirror else self.pod
        old = target.get("status") or {}
        spec = self.pod.get("spec") or {}
        default = "PodInitializing" if spec.get("initContainers") else "ContainerCreating"
        inits = [ps.container_status(self.inits[c["name"]], default, init=c.get("restartPolicy") != "Always")
                 for c in spec.get("initContainers") or []]
        regs = [ps.container_status(self.containers[c["name"]], default) for c in spec.get("containers") or []]
        phase = ps.get_phase(spec, inits, regs, terminal or self.terminal, self.static)
        if old.get("phase") in ps.TERMINAL:
            phase = old["phase"]
        if self.pod_reason:
            phase = "Failed"
        ip = self.agent.config.address
        sandbox = self.volumes is not None and not (terminal or self.terminal)
        conds = ps.kubelet_conditions({"spec": spec, "status": old}, inits, regs, phase, sandbox)
        generation = (target.get("metadata") or {}).get("generation")
        status: Obj = {k: v for k, v in old.items()
                       if k not in ("phase", "conditions", "containerStatuses", "initContainerStatuses")}
        status.update({
            "phase": phase,
            "conditions": ps.stamp_conditions(conds, old.get("conditions") or [], now_rfc3339(), generation),
            "hostIP": ip, "hostIPs": [{"ip": ip}], "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": old.get("startTime") or ps.rfc3339(self.start_time or time.time()),
            "containerStatuses": regs, "qosClass": ps.qos_class(spec),
        })
        if generation is not None:
            status["observedGeneration"] = generation
        if inits:
            status["initContainerStatuses"] = inits
        if self.pod_reason:
            status["reason"], status["message"] = self.pod_reason, self.pod_message
        return status

    async def _write_status(self, terminal: bool = False) -> Obj | None:
        for _attempt in range(3):
            target = self.mirror if self.static else self.pod
            if target is None:
                return None
            status = self.build_status(terminal)
            if status == (target.get("status") or {}):
                return status
            meta = target["metadata"]
            body = {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": meta["name"], "namespace": meta.get("namespace"),
                                 "resourceVersion": meta.get("resourceVersion")},
                    "status": status}
            try:
                updated = await self.agent.client.replace("pods", body, "status")
            except ApiError as exc:
                if exc.code == 404:
                    if not self.static:
                        self.gone = True
                        self.wake()
                    return None
                if exc.code != 409:
                    raise
                try:
                    fresh = await self.agent.client.get("pods", meta["name"], meta.get("namespace"))
                except ApiError as exc2:
                    if exc2.code == 404 and not self.static:
                        self.gone = True
                        self.wake()
                    return None
                if fresh["metadata"].get("uid") != meta.get("uid"):
                    if not self.static:
                        self.gone = True
                        self.wake()
                    return None
                if self.static:
                    self.mirror = fresh
                else:
                    self.pod = fresh
                continue
            if self.static:
                self.mirror = _later(self.mirror, updated)
            else:
                self.pod = _later(self.pod, updated)
                if (self.pod.get("metadata") or {}).get("deletionTimestamp"):
                    self.wake()  # deleted while this write was in flight: terminate next
            return status
        return None
