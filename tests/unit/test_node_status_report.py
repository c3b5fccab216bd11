"""The node agent posts its status when it changed, else once per report period."""

import pytest

from everynode.node.agent import STATUS_CHECK, STATUS_REPORT, _status_digest


def status(ready="True", heartbeat="2026-01-01T00:00:00Z", transition="2026-01-01T00:00:00Z", cpu="8"):
    return {"capacity": {"cpu": cpu}, "allocatable": {"cpu": cpu},
            "conditions": [{"type": "Ready", "status": ready, "reason": "KubeletReady",
                            "lastHeartbeatTime": heartbeat, "lastTransitionTime": transition}]}


@pytest.mark.parametrize("other, same", [
    (status(heartbeat="2026-01-01T00:05:00Z"), True),
    (status(transition="2026-01-01T00:05:00Z"), True),
    (status(ready="False"), False),
    (status(cpu="4"), False),
    ({**status(), "addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}, False),
])
def test_digest_ignores_only_timestamps(other, same):
    assert (_status_digest(status()) == _status_digest(other)) is same


def test_report_period_is_upstreams():
    # kubelet: nodeStatusUpdateFrequency 10s, nodeStatusReportFrequency 5m.
    assert (STATUS_CHECK, STATUS_REPORT) == (10.0, 300.0)


def test_loops_wait_up_to_four_percent_longer_as_jitter_until_does():
    from everynode.node.agent import JITTER, jittered

    waits = [jittered(10.0) for _ in range(2000)]
    assert JITTER == 0.04
    assert all(10.0 <= w <= 10.4 for w in waits)
    assert max(waits) - min(waits) > 0.3  # spread, not a constant
