"""Objects survive `everynode down` + `up` and a kill -9 of the server."""

from __future__ import annotations

import os
import signal

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.conftest import RunningCluster, free_port, wait_for

pytestmark = pytest.mark.integration


def test_restart_keeps_objects_and_watch_from_before_restart_is_gone(tmp_path):
    c = RunningCluster(tmp_path / "d", free_port())
    c.up("--nodes", "1")
    try:
        core = client.CoreV1Api(c.api_client())
        ns = core.create_namespace({"metadata": {"name": "keep"}})
        before = core.read_namespace("keep")
        assert before.metadata.uid == ns.metadata.uid
        old_rv = core.list_namespace().metadata.resource_version
        c.down()
        assert c.pid() is None
        c.up()
        after = client.CoreV1Api(c.api_client()).read_namespace("keep")
        assert after.metadata.uid == before.metadata.uid
        assert after.metadata.resource_version == before.metadata.resource_version
        # The history window starts at the restart: watching from before it is 410 Gone.
        core = client.CoreV1Api(c.api_client())
        with pytest.raises(ApiException) as exc:
            for _ in watch.Watch().stream(core.list_namespace, resource_version=str(int(old_rv) - 1),
                                          timeout_seconds=5):
                pass
        assert exc.value.status == 410
    finally:
        c.down()


def test_kill_9_loses_no_acknowledged_write(tmp_path):
    c = RunningCluster(tmp_path / "d", free_port())
    c.up("--nodes", "1")
    core = client.CoreV1Api(c.api_client())
    names = [f"ns-{i}" for i in range(30)]
    for n in names:
        core.create_namespace({"metadata": {"name": n}})
    pid = c.pid()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: c.pid() is None, 10, message="server to die")
    c.up()
    try:
        core = client.CoreV1Api(c.api_client())
        have = {n.metadata.name for n in core.list_namespace().items}
        assert set(names) <= have
    finally:
        c.down()


def test_up_twice_and_down_when_stopped(tmp_path):
    from tests.conftest import everynode

    c = RunningCluster(tmp_path / "d", free_port())
    c.up("--nodes", "1")
    try:
        second = everynode("up", "--detach", "--data-dir", str(c.data_dir), check=False)
        assert second.returncode != 0
        assert "already running" in second.stderr and str(c.pid()) in second.stderr
    finally:
        c.down()
    again = c.down()
    assert again.returncode == 0 and "No everynode cluster is running" in again.stdout


def test_taken_port_is_a_clear_error(tmp_path):
    import socket

    from tests.conftest import everynode

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = everynode("up", "--detach", "--data-dir", str(tmp_path / "d"), "--port", str(port), check=False)
    assert proc.returncode != 0
    assert "--port" in proc.stderr and str(port) in proc.stderr
