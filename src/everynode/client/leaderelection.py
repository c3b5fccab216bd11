"""Lease-based leader election (coordination.k8s.io/v1 Lease), as client-go does it.

A candidate acquires the lease when it is free or expired (renewTime +
leaseDurationSeconds in the past), renews it every ``retry_period`` while
leading, and steps down (calling ``on_stopped``) when a renewal fails for
longer than ``renew_deadline``. Writes carry the lease's resourceVersion,
so two candidates can never both win the same term.
"""

from __future__ import annotations

import asyncio
import logging
import time

from everynode.api.errors import ApiError
from everynode.apiserver.objects import now_micro, parse_time
from everynode.client.rest import Client

log = logging.getLogger("everynode.leader")


class LeaderElector:
    def __init__(self, client: Client, name: str, namespace: str, identity: str,
                 lease_duration: int = 15, renew_deadline: float = 10.0, retry_period: float = 2.0):
        self.client = client
        self.name, self.namespace, self.identity = name, namespace, identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.is_leader = False

    def _spec(self, acquire: float | None, transitions: int) -> dict:
        now = now_micro()
        return {"holderIdentity": self.identity, "leaseDurationSeconds": self.lease_duration,
                "acquireTime": now_micro(acquire) if acquire else now, "renewTime": now,
                "leaseTransitions": transitions}

    async def try_acquire_or_renew(self) -> bool:
        try:
            lease = await self.client.get("leases", self.name, self.namespace)
        except ApiError as exc:
            if exc.code != 404:
                raise
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": self._spec(None, 0)}
            try:
                await self.client.create("leases", body, self.namespace)
                return True
            except ApiError as exc2:
                if exc2.code == 409:
                    return False
                raise
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        renew = parse_time(spec.get("renewTime")) or 0
        duration = spec.get("leaseDurationSeconds") or self.lease_duration
        if holder and holder != self.identity and renew + duration > time.time():
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == self.identity:
            acquire = parse_time(spec.get("acquireTime"))
        else:
            acquire = None
            transitions += 1
        lease["spec"] = self._spec(acquire, transitions)
        try:
            await self.client.replace("leases", lease)
        except ApiError as exc:
            if exc.code == 409:
                return False
            raise
        return True

    async def release(self) -> None:
        """Give the lease up (client-go's ReleaseOnCancel) so a successor need not wait it out."""
        if not self.is_leader:
            return
        try:
            lease = await self.client.get("leases", self.name, self.namespace)
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            transitions = int((lease.get("spec") or {}).get("leaseTransitions") or 0)
            now = now_micro()
            lease["spec"] = {"holderIdentity": "", "leaseDurationSeconds": 1, "acquireTime": now,
                             "renewTime": now, "leaseTransitions": transitions}
            await self.client.replace("leases", lease)
        except Exception as exc:  # best effort: the lease then expires on its own
            log.debug("lease release failed: %s", exc)
        finally:
            self.is_leader = False

    async def run(self, on_started, on_stopped) -> None:
        """Campaign until leading, call ``on_started`` (a coroutine function), renew until lost."""
        while True:
            try:
                if await self.try_acquire_or_renew():
                    break
            except Exception as exc:
                log.debug("leader election: %s", exc)
            await asyncio.sleep(self.retry_period)
        self.is_leader = True
        log.info("%s became leader of %s/%s", self.identity, self.namespace, self.name)
        leading = asyncio.create_task(on_started())
        last_ok = time.monotonic()
        try:
            while not leading.done():
                await asyncio.sleep(self.retry_period)
                try:
                    if await self.try_acquire_or_renew():
                        last_ok = time.monotonic()
                        continue
                except Exception as exc:
                    log.debug("leader election renew: %s", exc)
                if time.monotonic() - last_ok > self.renew_deadline:
                    log.warning("%s lost leadership of %s/%s", self.identity, self.namespace, self.name)
                    break
        finally:
            leading.cancel()
            try:
                await leading
            except (asyncio.CancelledError, Exception):
                pass
            await on_stopped()
            await self.release()
