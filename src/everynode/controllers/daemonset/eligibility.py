"""Whether a DaemonSet's pod should run on a node (upstream NodeShouldRunDaemonPod).

Only the node's name, labels and taints count: not readiness, not resources,
not ``spec.unschedulable`` (its taint is tolerated by default).

======================================  =========  =======================
Case                                    shouldRun  shouldContinueRunning
======================================  =========  =======================
template nodeName set, not this node    False      False
nodeSelector / required affinity miss   False      False
untolerated NoExecute taint             False      False
untolerated NoSchedule taint only       False      True
otherwise                               True       True
======================================  =========  =======================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from everynode.api.placement import NO_EXECUTE, NO_SCHEDULE, RequiredNodeAffinity, find_untolerated_taint
from everynode.controllers.daemonset.podtemplate import daemon_tolerations

_BLOCKING = (NO_SCHEDULE, NO_EXECUTE)
_EVICTING = (NO_EXECUTE,)


class DaemonEligibility:
    """NodeShouldRunDaemonPod compiled once per DaemonSet, evaluated per node."""

    __slots__ = ("_node_name", "_affinity", "_tolerations")

    def __init__(self, ds: Mapping[str, Any]) -> None:
        spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
        self._node_name = spec.get("nodeName") or ""
        self._affinity = RequiredNodeAffinity(spec)
        self._tolerations = daemon_tolerations(spec)

    def evaluate(self, node: Mapping[str, Any]) -> tuple[bool, bool]:
        """(should_run, should_continue_running) for ``node``."""
        name = (node.get("metadata") or {}).get("name") or ""
        if self._node_name and self._node_name != name:
            return False, False
        if not self._affinity.matches(node):
            return False, False
        taints = (node.get("spec") or {}).get("taints")
        if not taints:
            return True, True
        if find_untolerated_taint(taints, self._tolerations, _BLOCKING) is None:
            return True, True
        return False, find_untolerated_taint(taints, self._tolerations, _EVICTING) is None


def node_should_run_daemon_pod(node: Mapping[str, Any], ds: Mapping[str, Any]) -> tuple[bool, bool]:
    """(should_run, should_continue_running) of ``ds`` on ``node``; see the module table."""
    return DaemonEligibility(ds).evaluate(node)
