"""Scheduler bookkeeping, filters and scoring (pure).

Mirrors kube-scheduler's default profile for the plugins that matter to
DaemonSets, run in upstream order and stopping at the first rejection:
NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts,
NodeResourcesFit. Each filter takes ``(pod, node, node_info)`` (``pod`` a
``PodInfo`` computed once per attempt) and returns None when the node passes
or a ``Rejection`` carrying upstream's reason strings.

``NodeInfo`` holds the per-node aggregates (requested resources, host ports,
pod count) that the scheduler updates incrementally as pods come and go.
Quantities are whole units as upstream counts them: cpu in millicores,
everything else via Quantity.Value() (rounded up).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import orjson

from everynode.api import placement
from everynode.api.quantity import parse_quantity, to_int, to_milli
from everynode.jsondata import memo_key

Obj = dict[str, Any]

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"
NATIVE_RESOURCES = (CPU, MEMORY, EPHEMERAL_STORAGE)

# Requests assumed for scoring when a container sets none (schedutil defaults).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

BIND_ALL_IP = "0.0.0.0"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
NODE_NAME_FIELD = "metadata.name"

REASON_NODE_NAME = "node(s) didn't match the requested node name"
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
# Since kubernetes#134740 (2025, backported to 1.32-1.34) the taint itself is no longer named.
REASON_TAINT = "node(s) had untolerated taint(s)"
REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_AFFINITY_CONFLICT = "pod affinity terms conflict"
REASON_PORTS = "node(s) didn't have free ports for the requested pod ports"
REASON_TOO_MANY_PODS = "Too many pods"
REASON_ABSENT_NODE_AFFINITY = "node(s) didn't satisfy plugin(s) [NodeAffinity]"
NO_NODES_AVAILABLE = "no nodes available to schedule pods"

MAX_NODE_SCORE = 100


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list:
    return value if isinstance(value, list) else []


# ------------------------------------------------------------------ rejections

@dataclass(frozen=True, slots=True)
class Rejection:
    """A filter's verdict on one node.

    ``resolvable`` is upstream's Unschedulable (removing pods could help, so
    preemption considers the node) versus UnschedulableAndUnresolvable.
    """

    reasons: tuple[str, ...]
    resolvable: bool = False


def rejected(*reasons: str, resolvable: bool = False) -> Rejection:
    return Rejection(tuple(reasons), resolvable)


# ------------------------------------------------------------- pod requests

def is_scalar_resource(name: str) -> bool:
    """schedutil.IsScalarResourceName: extended, hugepages, prefixed native, attachable volumes."""
    if name.startswith(("hugepages-", "attachable-volumes-")):
        return True
    return "/" in name and not name.startswith("requests.")


def _quantities(resource_list: Any) -> dict[str, Fraction]:
    out: dict[str, Fraction] = {}
    for name, value in _d(resource_list).items():
        try:
            out[name] = parse_quantity(value)
        except (ValueError, TypeError):
            continue  # the API server validates quantities; ignore what slips through
    return out


def _add_into(total: dict[str, Fraction], other: Mapping[str, Fraction]) -> None:
    for name, q in other.items():
        total[name] = total.get(name, Fraction(0)) + q


def _max_into(total: dict[str, Fraction], other: Mapping[str, Fraction]) -> None:
    for name, q in other.items():
        if q > total.get(name, Fraction(0)):
            total[name] = q


def _container_requests(container: Any, non_zero: bool) -> dict[str, Fraction]:
    reqs = _quantities(_d(_d(container).get("resources")).get("requests"))
    if non_zero:
        reqs.setdefault(CPU, Fraction(DEFAULT_MILLI_CPU_REQUEST, 1000))
        reqs.setdefault(MEMORY, Fraction(DEFAULT_MEMORY_REQUEST))
    return reqs


def _aggregate_requests(spec: Obj, non_zero: bool = False) -> dict[str, Fraction]:
    """resource.PodRequests: containers summed; init containers by the max rule, sidecars
    (restartPolicy Always) running alongside everything after them; pod-level requests
    override cpu/memory/hugepages; overhead added."""
    reqs: dict[str, Fraction] = {}
    for c in _l(spec.get("containers")):
        _add_into(reqs, _container_requests(c, non_zero))
    sidecars: dict[str, Fraction] = {}
    init_max: dict[str, Fraction] = {}
    for c in _l(spec.get("initContainers")):
        creq = _container_requests(c, non_zero)
        if _d(c).get("restartPolicy") == "Always":
            _add_into(reqs, creq)
            _add_into(sidecars, creq)
            effective = dict(sidecars)
        else:
            effective = dict(creq)
            _add_into(effective, sidecars)
        _max_into(init_max, effective)
    _max_into(reqs, init_max)
    for name, q in _quantities(_d(spec.get("resources")).get("requests")).items():
        if name in (CPU, MEMORY) or name.startswith("hugepages-"):
            reqs[name] = q
    _add_into(reqs, _quantities(spec.get("overhead")))
    return reqs


def to_units(resources: Mapping[str, Fraction]) -> dict[str, int]:
    """Whole scheduler units; resources the scheduler does not track are dropped, as are zeros."""
    out: dict[str, int] = {}
    for name, q in resources.items():
        if name == CPU:
            v = to_milli(q)
        elif name in (MEMORY, EPHEMERAL_STORAGE) or is_scalar_resource(name):
            v = to_int(q)
        else:
            continue
        if v:
            out[name] = v
    return out


def pod_requests(spec: Obj) -> dict[str, int]:
    return to_units(_aggregate_requests(spec))


def pod_non_zero_requests(spec: Obj) -> tuple[int, int]:
    """(milli cpu, memory) with the scoring defaults for containers that request nothing."""
    reqs = _aggregate_requests(spec, non_zero=True)
    return to_milli(reqs.get(CPU, Fraction(0))), to_int(reqs.get(MEMORY, Fraction(0)))


HostPort = tuple[str, str, int]  # (hostIP, protocol, hostPort)


def pod_host_ports(spec: Obj) -> tuple[HostPort, ...]:
    """Host ports of containers and sidecar init containers (schedutil.GetHostPorts), defaulted."""
    containers = [c for c in _l(spec.get("initContainers")) if _d(c).get("restartPolicy") == "Always"]
    containers += _l(spec.get("containers"))
    out: list[HostPort] = []
    for c in containers:
        for p in _l(_d(c).get("ports")):
            port = _d(p).get("hostPort")
            if isinstance(port, int) and not isinstance(port, bool) and port > 0:
                out.append((p.get("hostIP") or BIND_ALL_IP, p.get("protocol") or "TCP", port))
    return tuple(out)


# ----------------------------------------------------------------- pod info

@dataclass(eq=False, slots=True)
class PodInfo:
    """What the scheduler needs of a pod, computed once (upstream's PodInfo + PreFilter state)."""

    pod: Obj
    uid: str
    key: str
    priority: int
    requests: dict[str, int]
    non_zero_cpu: int
    non_zero_memory: int
    ports: tuple[HostPort, ...]
    start_time: float
    _affinity: placement.RequiredNodeAffinity | None = field(default=None, repr=False)

    @property
    def spec(self) -> Obj:
        return _d(self.pod.get("spec"))

    @property
    def affinity(self) -> placement.RequiredNodeAffinity:
        if self._affinity is None:
            self._affinity = placement.RequiredNodeAffinity(self.spec)
        return self._affinity

    @property
    def deleting(self) -> bool:
        return bool(_d(self.pod.get("metadata")).get("deletionTimestamp"))


def pod_key(pod: Obj) -> str:
    meta = _d(pod.get("metadata"))
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def new_pod_info(pod: Obj, priority: int = 0, start_time: float = 0.0) -> PodInfo:
    requests, cpu, mem, ports = _pod_resources(_d(pod.get("spec")))
    return PodInfo(pod=pod, uid=_d(pod.get("metadata")).get("uid") or pod_key(pod), key=pod_key(pod),
                   priority=priority, requests=dict(requests), non_zero_cpu=cpu, non_zero_memory=mem,
                   ports=ports, start_time=start_time)


_RESOURCE_PARTS = ("containers", "initContainers", "resources", "overhead")  # what the results depend on
_Resources = tuple[dict[str, int], int, int, tuple[HostPort, ...]]


def _pod_resources(spec: Obj) -> _Resources:
    """(requests, non-zero milli cpu, non-zero memory, host ports) of a pod spec. The pods of a
    DaemonSet share them, and quantities are parsed as exact fractions (tens of microseconds a
    pod): memoised on the JSON of the parts they come from (up to 64 KiB of it). The requests
    dict is the memo's: read-only (``new_pod_info`` copies it)."""
    key = memo_key([spec.get(part) for part in _RESOURCE_PARTS])
    return _resources_of(spec) if key is None else _memo_resources(key)


@lru_cache(maxsize=256)
def _memo_resources(key: bytes) -> _Resources:
    return _resources_of(dict(zip(_RESOURCE_PARTS, orjson.loads(key), strict=True)))


def _resources_of(spec: Obj) -> _Resources:
    cpu, mem = pod_non_zero_requests(spec)
    return pod_requests(spec), cpu, mem, pod_host_ports(spec)


# ---------------------------------------------------------------- node info

def node_allocatable(node: Obj) -> tuple[dict[str, int], int]:
    """(resources in scheduler units, allowed pod count) from status.allocatable."""
    alloc = _quantities(_d(_d(node.get("status")).get("allocatable")))
    pods = alloc.pop(PODS, Fraction(0))
    return to_units(alloc), to_int(pods)


class NodeInfo:
    """One node and the aggregates of the pods counted on it, maintained incrementally."""

    __slots__ = ("name", "node", "allocatable", "allowed_pods", "requested", "non_zero_cpu",
                 "non_zero_memory", "ports", "port_keys", "pods")

    def __init__(self, name: str, node: Obj | None = None):
        self.name = name
        self.node: Obj | None = None
        self.allocatable: dict[str, int] = {}
        self.allowed_pods = 0
        self.requested: Counter[str] = Counter()
        self.non_zero_cpu = 0
        self.non_zero_memory = 0
        self.ports: Counter[HostPort] = Counter()
        self.port_keys: Counter[tuple[str, int]] = Counter()  # (protocol, port) over all IPs
        self.pods: dict[str, PodInfo] = {}
        if node is not None:
            self.set_node(node)

    def set_node(self, node: Obj | None) -> None:
        self.node = node
        if node is None:
            self.allocatable, self.allowed_pods = {}, 0
        else:
            self.allocatable, self.allowed_pods = node_allocatable(node)

    def add_pod(self, pi: PodInfo) -> None:
        if pi.uid in self.pods:
            self.remove_pod(pi.uid)
        self.pods[pi.uid] = pi
        self.requested.update(pi.requests)
        self.non_zero_cpu += pi.non_zero_cpu
        self.non_zero_memory += pi.non_zero_memory
        for hp in pi.ports:
            self.ports[hp] += 1
            self.port_keys[(hp[1], hp[2])] += 1

    def remove_pod(self, uid: str) -> PodInfo | None:
        pi = self.pods.pop(uid, None)
        if pi is None:
            return None
        self.requested.subtract(pi.requests)
        self.non_zero_cpu -= pi.non_zero_cpu
        self.non_zero_memory -= pi.non_zero_memory
        for hp in pi.ports:
            self.ports[hp] -= 1
            if self.ports[hp] <= 0:
                del self.ports[hp]
            pk = (hp[1], hp[2])
            self.port_keys[pk] -= 1
            if self.port_keys[pk] <= 0:
                del self.port_keys[pk]
        return pi

    def clone(self) -> NodeInfo:
        c = NodeInfo.__new__(NodeInfo)
        c.name, c.node = self.name, self.node
        c.allocatable, c.allowed_pods = self.allocatable, self.allowed_pods
        c.requested = Counter(self.requested)
        c.non_zero_cpu, c.non_zero_memory = self.non_zero_cpu, self.non_zero_memory
        c.ports, c.port_keys = Counter(self.ports), Counter(self.port_keys)
        c.pods = dict(self.pods)
        return c

    def port_conflict(self, host_ip: str, protocol: str, port: int) -> bool:
        """HostPortInfo.CheckConflict: 0.0.0.0 clashes with the port on any IP, else IP or 0.0.0.0."""
        if host_ip == BIND_ALL_IP:
            return self.port_keys.get((protocol, port), 0) > 0
        return (self.ports.get((host_ip, protocol, port), 0) > 0
                or self.ports.get((BIND_ALL_IP, protocol, port), 0) > 0)


def with_pods(info: NodeInfo, pods: Iterable[PodInfo]) -> NodeInfo:
    """A copy of ``info`` that also counts ``pods`` (nominated pods, simulations)."""
    c = info.clone()
    for p in pods:
        c.add_pod(p)
    return c


# ------------------------------------------------------------------ filters

def node_unschedulable(pod: PodInfo, node: Obj, info: NodeInfo) -> Rejection | None:
    if not _d(node.get("spec")).get("unschedulable"):
        return None
    if placement.tolerations_tolerate_taint(_l(pod.spec.get("tolerations")), UNSCHEDULABLE_TAINT):
        return None
    return rejected(REASON_UNSCHEDULABLE)


def node_name(pod: PodInfo, node: Obj, info: NodeInfo) -> Rejection | None:
    wanted = pod.spec.get("nodeName")
    if wanted and wanted != _d(node.get("metadata")).get("name"):
        return rejected(REASON_NODE_NAME)
    return None


_DO_NOT_SCHEDULE = ("NoSchedule", "NoExecute")


def taint_toleration(pod: PodInfo, node: Obj, info: NodeInfo) -> Rejection | None:
    taint = placement.find_untolerated_taint(_l(_d(node.get("spec")).get("taints")),
                                             _l(pod.spec.get("tolerations")), _DO_NOT_SCHEDULE)
    return None if taint is None else rejected(REASON_TAINT)


def node_affinity(pod: PodInfo, node: Obj, info: NodeInfo) -> Rejection | None:
    return None if pod.affinity.matches(node) else rejected(REASON_NODE_AFFINITY)


def node_ports(pod: PodInfo, node: Obj, info: NodeInfo) -> Rejection | None:
    for host_ip, protocol, port in pod.ports:
        if info.port_conflict(host_ip, protocol, port):
            return rejected(REASON_PORTS, resolvable=True)
    return None


def insufficient_resources(pod: PodInfo, info: NodeInfo) -> list[str]:
    """fitsRequest: every shortfall, in upstream's order (pods, cpu, memory, storage, scalars)."""
    reasons: list[str] = []
    if len(info.pods) + 1 > info.allowed_pods:
        reasons.append(REASON_TOO_MANY_PODS)
    if not pod.requests:
        return reasons
    alloc, used = info.allocatable, info.requested
    for name in NATIVE_RESOURCES:
        want = pod.requests.get(name, 0)
        if want > 0 and want > alloc.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
    for name in sorted(pod.requests):
        if name in NATIVE_RESOURCES:
            continue
        want = pod.requests[name]
        if want > alloc.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def node_resources_fit(pod: PodInfo, node: Obj, info: NodeInfo) -> Rejection | None:
    reasons = insufficient_resources(pod, info)
    return rejected(*reasons, resolvable=True) if reasons else None


Filter = Callable[[PodInfo, Obj, NodeInfo], Rejection | None]
FILTERS: tuple[Filter, ...] = (node_unschedulable, node_name, taint_toleration, node_affinity, node_ports,
                               node_resources_fit)


def run_filters(pod: PodInfo, info: NodeInfo) -> Rejection | None:
    """The first rejection in upstream plugin order, or None when the node is feasible."""
    node = info.node or {}
    for f in FILTERS:
        r = f(pod, node, info)
        if r is not None:
            return r
    return None


# --------------------------------------------------------------- prefilter

def pinned_nodes(spec: Obj) -> set[str] | None:
    """NodeAffinity PreFilter: the only nodes a pod can land on when every required term names
    nodes with ``matchFields metadata.name In``; None when any node may do (empty set: conflict)."""
    required = _d(_d(_d(spec.get("affinity")).get("nodeAffinity"))
                  .get("requiredDuringSchedulingIgnoredDuringExecution"))
    terms = _l(required.get("nodeSelectorTerms"))
    if not terms:
        return None
    names: set[str] | None = None
    for term in terms:
        term_names: set[str] | None = None
        for req in _l(_d(term).get("matchFields")):
            req = _d(req)
            if req.get("key") == NODE_NAME_FIELD and req.get("operator") == "In":
                values = {v for v in _l(req.get("values")) if isinstance(v, str)}
                term_names = values if term_names is None else term_names & values
        if term_names is None:
            return None
        names = term_names if names is None else names | term_names
    return names


# ----------------------------------------------------------------- diagnosis

@dataclass
class Diagnosis:
    """Why nodes were rejected: explicit statuses plus one status for nodes never evaluated."""

    num_nodes: int
    statuses: dict[str, Rejection] = field(default_factory=dict)
    absent: Rejection | None = None
    prefilter_msg: str = ""

    def status(self, node: str) -> Rejection | None:
        return self.statuses.get(node, self.absent)

    def resolvable_nodes(self) -> list[str]:
        return [n for n, r in self.statuses.items() if r.resolvable]


def fit_error_message(diag: Diagnosis, postfilter_msg: str = "") -> str:
    """FitError.Error(): "0/N nodes are available: <sorted histogram>. <post-filter message>"."""
    msg = f"0/{diag.num_nodes} nodes are available:"
    if diag.prefilter_msg:
        msg += f" {diag.prefilter_msg}."
    else:
        counts: Counter[str] = Counter()
        for r in diag.statuses.values():
            counts.update(r.reasons)
        missing = diag.num_nodes - len(diag.statuses)
        if diag.absent is not None and missing > 0:
            for reason in diag.absent.reasons:
                counts[reason] += missing
        parts = sorted(f"{n} {reason}" for reason, n in counts.items())
        if parts:
            msg += f" {', '.join(parts)}."
    if postfilter_msg:
        msg += f" {postfilter_msg}"
    return msg


def num_feasible_nodes_to_find(num_nodes: int) -> int:
    """Adaptive percentageOfNodesToScore: all below 100 nodes, else 50% - n/125 (>= 5%, >= 100)."""
    if num_nodes < 100:
        return num_nodes
    pct = max(5, 50 - num_nodes // 125)
    return max(100, num_nodes * pct // 100)


NominatedFn = Callable[[str, PodInfo], list[PodInfo]]


def filter_node(pod: PodInfo, info: NodeInfo, nominated: NominatedFn | None = None) -> Rejection | None:
    """RunFilterPluginsWithNominatedPods: count pods nominated to the node with priority >= the
    pod's (adding pods can only turn these filters from pass to fail, so one pass suffices)."""
    extra = nominated(info.name, pod) if nominated is not None else []
    return run_filters(pod, with_pods(info, extra) if extra else info)


def find_feasible(pod: PodInfo, infos: Mapping[str, NodeInfo], order: Sequence[str],
                  nominated: NominatedFn | None = None, start: int = 0,
                  limit: int | None = None) -> tuple[list[NodeInfo], Diagnosis, int]:
    """findNodesThatFitPod: the feasible nodes, the diagnosis and how many nodes were processed.

    ``order`` lists the nodes (only those with a Node object); evaluation starts at ``start``
    and stops once ``limit`` feasible nodes are found. A pod's nominated node is tried first.
    """
    diag = Diagnosis(num_nodes=len(order))
    nominated_node = _d(pod.pod.get("status")).get("nominatedNodeName")
    if nominated_node and nominated_node in infos and infos[nominated_node].node is not None:
        info = infos[nominated_node]
        if filter_node(pod, info, nominated) is None:
            return [info], diag, 1
    pinned = pinned_nodes(pod.spec)
    if pinned is not None and not pinned:
        diag.prefilter_msg = REASON_AFFINITY_CONFLICT
        diag.absent = rejected(REASON_AFFINITY_CONFLICT)
        return [], diag, 0
    if pinned is not None:
        candidates = [infos[n] for n in sorted(pinned) if n in infos and infos[n].node is not None]
        diag.absent = rejected(REASON_ABSENT_NODE_AFFINITY)
        start = 0
    else:
        candidates = [infos[n] for n in order]
    want = len(candidates) if limit is None else limit
    feasible: list[NodeInfo] = []
    processed = 0
    n = len(candidates)
    for i in range(n):
        info = candidates[(start + i) % n]
        processed += 1
        r = filter_node(pod, info, nominated)
        if r is None:
            feasible.append(info)
            if len(feasible) >= want:
                break
        else:
            diag.statuses[info.name] = r
    return feasible, diag, processed


# ------------------------------------------------------------------ scoring

def _least_allocated(pod: PodInfo, info: NodeInfo) -> int:
    total = 0
    for capacity, requested in ((info.allocatable.get(CPU, 0), info.non_zero_cpu + pod.non_zero_cpu),
                                (info.allocatable.get(MEMORY, 0), info.non_zero_memory + pod.non_zero_memory)):
        if capacity > 0 and requested <= capacity:
            total += (capacity - requested) * MAX_NODE_SCORE // capacity
    return total // 2


def _balanced_allocation(pod: PodInfo, info: NodeInfo) -> int:
    fractions = []
    for capacity, requested in ((info.allocatable.get(CPU, 0), info.non_zero_cpu + pod.non_zero_cpu),
                                (info.allocatable.get(MEMORY, 0), info.non_zero_memory + pod.non_zero_memory)):
        fractions.append(min(1.0, requested / capacity) if capacity > 0 else 1.0)
    std = abs(fractions[0] - fractions[1]) / 2
    return int((1 - std) * MAX_NODE_SCORE)


def _prefer_no_schedule_count(pod: PodInfo, info: NodeInfo) -> int:
    tolerations = [t for t in _l(pod.spec.get("tolerations"))
                   if not _d(t).get("effect") or _d(t).get("effect") == "PreferNoSchedule"]
    return sum(1 for t in _l(_d((info.node or {}).get("spec")).get("taints"))
               if _d(t).get("effect") == "PreferNoSchedule"
               and not placement.tolerations_tolerate_taint(tolerations, t))


def _preferred_affinity(pod: PodInfo, info: NodeInfo) -> int:
    terms = _l(_d(_d(pod.spec.get("affinity")).get("nodeAffinity"))
               .get("preferredDuringSchedulingIgnoredDuringExecution"))
    score = 0
    for term in terms:
        weight = _d(term).get("weight") or 0
        pref = _d(term).get("preference")
        if weight and placement.node_selector_matches({"nodeSelectorTerms": [pref]}, info.node or {}):
            score += weight
    return score


def _normalize(scores: list[int], reverse: bool) -> list[int]:
    """helper.DefaultNormalizeScore."""
    top = max(scores, default=0)
    if top == 0:
        return [MAX_NODE_SCORE if reverse else 0 for _ in scores]
    out = [MAX_NODE_SCORE * s // top for s in scores]
    return [MAX_NODE_SCORE - s for s in out] if reverse else out


def score_nodes(pod: PodInfo, feasible: Sequence[NodeInfo]) -> list[int]:
    """Weighted default-profile scores: TaintToleration x3, NodeAffinity x2, NodeResourcesFit
    (LeastAllocated) x1, NodeResourcesBalancedAllocation x1."""
    taints = _normalize([_prefer_no_schedule_count(pod, i) for i in feasible], reverse=True)
    affinity = _normalize([_preferred_affinity(pod, i) for i in feasible], reverse=False)
    return [3 * t + 2 * a + _least_allocated(pod, i) + _balanced_allocation(pod, i)
            for t, a, i in zip(taints, affinity, feasible, strict=True)]


def select_host(pod: PodInfo, feasible: Sequence[NodeInfo]) -> NodeInfo:
    """The best-scoring node; ties go to the first in name order (upstream picks at random)."""
    if len(feasible) == 1:
        return feasible[0]
    scores = score_nodes(pod, feasible)
    best = min(range(len(feasible)), key=lambda i: (-scores[i], feasible[i].name))
    return feasible[best]
