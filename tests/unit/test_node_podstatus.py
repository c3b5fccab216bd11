"""Pod status as the kubelet computes it: phase, conditions, container statuses, QoS."""

import pytest

from everynode.node import podstatus as ps
from everynode.node.podstatus import ContainerRun, CState


def running(name="c", restarts=0):
    return {"name": name, "state": {"running": {"startedAt": "t"}}, "lastState": {}, "ready": True,
            "restartCount": restarts, "started": True}


def terminated(name="c", code=0):
    return {"name": name, "state": {"terminated": {"exitCode": code}}, "lastState": {}}


def waiting(name="c", reason="ContainerCreating", last_code=None):
    s = {"name": name, "state": {"waiting": {"reason": reason}}, "lastState": {}}
    if last_code is not None:
        s["lastState"] = {"terminated": {"exitCode": last_code}}
    return s


def spec(policy="Always", containers=("c",), inits=()):
    return {"restartPolicy": policy, "containers": [{"name": n} for n in containers],
            "initContainers": [{"name": n} for n in inits]}


@pytest.mark.parametrize("sp,inits,regs,terminal,want", [
    (spec(), [], [], False, "Pending"),
    (spec(), [], [waiting()], False, "Pending"),
    (spec(), [], [running()], False, "Running"),
    (spec(), [], [waiting(reason="CrashLoopBackOff", last_code=1)], False, "Running"),
    (spec("Always"), [], [terminated(code=0)], False, "Running"),
    (spec("Never"), [], [terminated(code=0)], False, "Succeeded"),
    (spec("Never"), [], [terminated(code=2)], False, "Failed"),
    (spec("OnFailure"), [], [terminated(code=2)], False, "Running"),
    (spec("OnFailure"), [], [terminated(code=0)], False, "Succeeded"),
    (spec("Always"), [], [terminated(code=143)], True, "Failed"),
    (spec("Always"), [], [terminated(code=0)], True, "Succeeded"),
    (spec(containers=("a", "b")), [], [running("a"), waiting("b")], False, "Pending"),
    (spec(containers=("a", "b")), [], [running("a"), terminated("b", 1)], False, "Running"),
    (spec(inits=("i",)), [running("i")], [waiting(reason="PodInitializing")], False, "Pending"),
    (spec("Never", inits=("i",)), [terminated("i", 1)], [waiting(reason="PodInitializing")], False, "Failed"),
    (spec("Always", inits=("i",)), [waiting("i", "CrashLoopBackOff", 1)], [waiting(reason="PodInitializing")],
     False, "Pending"),
    (spec(inits=("i",)), [terminated("i", 0)], [running()], False, "Running"),
])
def test_phase(sp, inits, regs, terminal, want):
    assert ps.get_phase(sp, inits, regs, terminal) == want


def test_static_pods_keep_running_phase_when_terminal():
    assert ps.get_phase(spec(), [], [terminated(code=137)], terminal=True, static=True) == "Running"


@pytest.mark.parametrize("statuses,phase,want", [
    ([running()], "Running", {"type": "ContainersReady", "status": "True"}),
    ([{**running(), "ready": False}], "Running",
     {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
      "message": "containers with unready status: [c]"}),
    ([], "Pending", {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                     "message": "containers with unknown status: [c]"}),
    ([terminated()], "Succeeded", {"type": "ContainersReady", "status": "False", "reason": "PodCompleted"}),
    ([terminated(code=1)], "Failed", {"type": "ContainersReady", "status": "False", "reason": "PodFailed"}),
])
def test_containers_ready(statuses, phase, want):
    assert ps.containers_ready_condition(spec(), statuses, phase) == want


def test_ready_follows_readiness_gates():
    sp = {**spec(), "readinessGates": [{"conditionType": "example.com/gate"}]}
    c = ps.ready_condition(sp, [], [running()], "Running")
    assert c["status"] == "False" and c["reason"] == "ReadinessGatesNotReady"
    assert "does not exist" in c["message"]
    ok = ps.ready_condition(sp, [{"type": "example.com/gate", "status": "True"}], [running()], "Running")
    assert ok == {"type": "Ready", "status": "True"}


@pytest.mark.parametrize("inits,regs,want_status,want_reason", [
    ([], [waiting()], "True", None),
    ([{**running("i"), "ready": False}], [waiting(reason="PodInitializing")], "False", "ContainersNotInitialized"),
    ([{**terminated("i"), "ready": True}], [running()], "True", None),
])
def test_initialized(inits, regs, want_status, want_reason):
    sp = spec(inits=tuple(s["name"] for s in inits))
    c = ps.initialized_condition(sp, [*inits, *regs], "Pending")
    assert c["status"] == want_status and c.get("reason") == want_reason


def test_kubelet_conditions_keep_foreign_ones_first_and_order():
    pod = {"spec": spec(), "status": {"conditions": [{"type": "DisruptionTarget", "status": "True"},
                                                     {"type": "Ready", "status": "False"}]}}
    conds = ps.kubelet_conditions(pod, [], [running()], "Running", True)
    assert [c["type"] for c in conds] == ["DisruptionTarget", "PodReadyToStartContainers", "Initialized", "Ready",
                                          "ContainersReady", "PodScheduled"]


def test_stamp_keeps_transition_time_while_unchanged():
    old = [{"type": "Ready", "status": "True", "lastTransitionTime": "T0"},
           {"type": "Initialized", "status": "False", "lastTransitionTime": "T0"}]
    new = [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"},
           {"type": "Custom", "status": "True"}]
    out = ps.stamp_conditions(new, old, "T1", generation=3)
    assert out[0]["lastTransitionTime"] == "T0" and out[1]["lastTransitionTime"] == "T1"
    assert out[0]["observedGeneration"] == 3 and out[0]["lastProbeTime"] is None
    assert out[2] == {"type": "Custom", "status": "True"}


def test_container_status_waiting_never_started():
    cs = CState("c", "busybox")
    out = ps.container_status(cs, "ContainerCreating")
    assert out["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert out["image"] == "busybox" and out["imageID"] == "" and out["restartCount"] == 0
    assert "containerID" not in out


def test_container_status_crashloop_moves_exit_to_last_state():
    run = ContainerRun("everynode://a", "c", 2, "docker.io/library/busybox:1.35", "id", 10.0, 11.0, 1, "Error")
    cs = CState("c", "busybox:1.35", current=run, restart_count=2, waiting_reason="CrashLoopBackOff",
                waiting_message="back-off 20s ...")
    out = ps.container_status(cs, "ContainerCreating")
    assert out["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s ..."}}
    assert out["lastState"]["terminated"]["exitCode"] == 1
    assert out["lastState"]["terminated"]["reason"] == "Error"
    assert out["restartCount"] == 2 and out["containerID"] == "everynode://a"
    assert out["ready"] is False


def test_container_status_running_with_previous():
    prev = ContainerRun("everynode://p", "c", 0, "img", "iid", 1.0, 2.0, 137, "OOMKilled")
    cur = ContainerRun("everynode://q", "c", 1, "img", "iid", 3.0)
    cs = CState("c", "img", current=cur, previous=prev, ready=True, started=True)
    out = ps.container_status(cs, "ContainerCreating")
    assert "running" in out["state"] and out["ready"] and out["started"] and out["restartCount"] == 1
    assert out["lastState"]["terminated"]["reason"] == "OOMKilled"


@pytest.mark.parametrize("containers,want", [
    ([{"name": "a"}], "BestEffort"),
    ([{"name": "a", "resources": {"requests": {"cpu": "100m"}}}], "Burstable"),
    ([{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}], "Guaranteed"),
    ([{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                  "requests": {"cpu": "500m", "memory": "1Gi"}}}], "Burstable"),
    ([{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}, {"name": "b"}], "Burstable"),
])
def test_qos(containers, want):
    assert ps.qos_class({"containers": containers}) == want


@pytest.mark.parametrize("seconds,want", [(10, "10s"), (80, "1m20s"), (160, "2m40s"), (300, "5m0s"),
                                          (3600, "1h0m0s")])
def test_go_duration(seconds, want):
    assert ps.go_duration(seconds) == want


def test_succeeded_init_container_is_ready():
    run = ContainerRun("everynode://i", "i", 0, "img", "iid", 1.0, 2.0, 0, "Completed")
    assert ps.container_status(CState("i", "img", current=run), "PodInitializing", init=True)["ready"] is True
    assert ps.container_status(CState("i", "img", current=run), "PodInitializing")["ready"] is False
