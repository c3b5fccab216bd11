"""The DaemonSet controller: pure decisions here, IO in the controller module.

Pure pieces (no IO, plain Kubernetes dicts in and out):

- ``eligibility``: whether a node should run a DaemonSet's pod;
- ``podtemplate``: the pod created for a node, and a pod's target node;
- ``history``: ControllerRevision data bytes, hash, history decisions;
- ``rolling``: one rolling-update step and pod state helpers;
- ``planner``: ``plan_sync`` - one whole sync as a ``Plan``.
"""

from everynode.controllers.daemonset.eligibility import DaemonEligibility, node_should_run_daemon_pod
from everynode.controllers.daemonset.history import compute_hash, revision_data, revision_matches
from everynode.controllers.daemonset.planner import (
    Event,
    ObjectRef,
    Plan,
    PodDelete,
    gc_failed_backoff,
    plan_sync,
)
from everynode.controllers.daemonset.podtemplate import new_pod, target_node_of

__all__ = [
    "DaemonEligibility",
    "Event",
    "ObjectRef",
    "Plan",
    "PodDelete",
    "compute_hash",
    "gc_failed_backoff",
    "new_pod",
    "node_should_run_daemon_pod",
    "plan_sync",
    "revision_data",
    "revision_matches",
    "target_node_of",
]
