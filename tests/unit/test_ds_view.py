"""DaemonSetView: the incremental sync must decide exactly what plan_sync decides.

Random worlds (nodes with labels and taints; owned, orphaned, foreign, failed,
succeeded, terminating, unscheduled and duplicate pods; every update
strategy) change a little at a time, as informer events report them; after
each change the view's plan is compared with ``plan_sync`` over the whole
world. A whole rollout is then driven by the view's plans alone.
"""

from __future__ import annotations

import random

import pytest

from everynode.controllers.daemonset.history import compute_hash, new_revision
from everynode.controllers.daemonset.planner import plan_sync
from everynode.controllers.daemonset.podtemplate import new_pod
from everynode.controllers.daemonset.view import DaemonSetView, World, comparable
from tests.unit.test_ds_planner import NOW, iso, make_ds, make_node, make_pod, rolling

NS = "default"


class Cluster:
    """Objects replaced, never modified, as in an informer cache; every change marks the view."""

    def __init__(self, view: DaemonSetView):
        self.view = view
        self.nodes: dict[str, dict] = {}
        self.pods: dict[str, dict] = {}
        self.world = World(node=self.nodes.get, nodes=lambda: list(self.nodes.values()),
                           pod=self.pods.get, candidate_pods=self._candidates)

    def _candidates(self, ds):
        # the controller's index: pods the DaemonSet controls, and orphans of its namespace
        uid = ds["metadata"]["uid"]
        for key, pod in self.pods.items():
            refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")]
            if not refs or refs[0]["uid"] == uid:
                yield key, pod

    def put_node(self, node):
        self.nodes[node["metadata"]["name"]] = node
        self.view.node_changed(node["metadata"]["name"])

    def drop_node(self, name):
        self.nodes.pop(name, None)
        self.view.node_changed(name)

    def put_pod(self, pod):
        key = f"{NS}/{pod['metadata']['name']}"
        self.pods[key] = pod
        self.view.pod_changed(key)

    def drop_pod(self, name):
        self.pods.pop(f"{NS}/{name}", None)
        self.view.pod_changed(f"{NS}/{name}")


def hash_of(ds):
    return compute_hash(ds["spec"]["template"], (ds.get("status") or {}).get("collisionCount"))


def assert_same(view, cluster, ds, revisions, now, backoff=None, **kw):
    got = view.plan(ds, cluster.world, revisions, now, backoff, **kw)
    want = plan_sync(ds, list(cluster.nodes.values()), list(cluster.pods.values()), revisions, now, backoff, **kw)
    assert comparable(got) == comparable(want)
    return got


STRATEGIES = [rolling(1, 0), rolling("30%", 0), rolling(0, 1), rolling(0, "50%"), {"type": "OnDelete"}]


def random_node(rng, i):
    labels = {"zone": rng.choice(["a", "b"])} if rng.random() < 0.7 else {}
    taints = []
    r = rng.random()
    if r < 0.1:
        taints = [{"key": "k", "effect": "NoSchedule"}]
    elif r < 0.2:
        taints = [{"key": "k", "effect": "NoExecute"}]
    return make_node(f"node-{i}", labels=labels, taints=taints)


def random_pod(rng, name, node, hashes):
    kind = rng.random()
    kw = dict(hash=rng.choice(hashes), ready=rng.random() < 0.7, age=rng.randint(1, 300),
              bound=rng.random() < 0.9, ready_for=rng.choice([None, 1, 5, 30]))
    if kind < 0.06:
        kw["phase"] = "Failed"
    elif kind < 0.1:
        kw["phase"] = "Succeeded"
    elif kind < 0.16:
        kw["deleting"] = True
    elif kind < 0.2:
        kw["owner"] = None  # an orphan: adopted when its labels match
    elif kind < 0.24:
        kw["owner"] = "someone-else"
    elif kind < 0.28:
        kw["labels"] = {"app": "other"}  # owned but no longer matching: released
    return make_pod(name, node, **kw)


@pytest.mark.parametrize("seed", range(12))
def test_random_changes_match_the_full_plan(seed):
    rng = random.Random(seed)
    strategy = STRATEGIES[seed % len(STRATEGIES)]
    pod_spec = {"nodeSelector": {"zone": "a"}} if seed % 3 == 0 else {}
    min_ready = [0, 10][seed % 2]
    ds = make_ds(strategy=strategy, min_ready=min_ready, **pod_spec)
    revisions = [new_revision(ds, hash_of(ds), 1)]
    hashes = [hash_of(ds), "old-hash"]
    view = DaemonSetView()
    cluster = Cluster(view)
    n_nodes = 15
    for i in range(n_nodes):
        cluster.put_node(random_node(rng, i))
    names = iter(range(10**6))
    for _node in range(n_nodes):
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            cluster.put_pod(random_pod(rng, f"p{next(names)}", f"node-{rng.randrange(n_nodes + 2)}", hashes))
    now = NOW
    backoff: dict = {}
    for step in range(60):
        satisfied = rng.random() < 0.85
        plan = assert_same(view, cluster, ds, revisions, now, backoff, expectations_satisfied=satisfied)
        backoff = dict(plan.failed_backoff)
        now += rng.choice([0, 1, 3, 20])
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            if r < 0.15:
                cluster.put_node(random_node(rng, rng.randrange(n_nodes + 3)))
            elif r < 0.2:
                cluster.drop_node(f"node-{rng.randrange(n_nodes + 3)}")
            elif r < 0.6:
                cluster.put_pod(random_pod(rng, f"p{next(names)}", f"node-{rng.randrange(n_nodes + 2)}", hashes))
            elif r < 0.8 and cluster.pods:
                key = rng.choice(list(cluster.pods))
                old = cluster.pods[key]
                cluster.put_pod(random_pod(rng, old["metadata"]["name"], old["spec"].get("nodeName")
                                           or f"node-{rng.randrange(n_nodes)}", hashes))
            elif cluster.pods:
                cluster.drop_pod(rng.choice(list(cluster.pods))[len(NS) + 1:])
        if step % 15 == 14:
            # the DaemonSet itself changes: its status (observed generation), then its template
            ds = {**ds, "status": {**ds.get("status", {}), "observedGeneration": step}}
            if step == 29:
                ds = make_ds(strategy=strategy, min_ready=min_ready, image="img:2", generation=2,
                             template_generation=2, status=ds["status"], **pod_spec)
                revisions = revisions + [new_revision(ds, hash_of(ds), 2)]
                hashes = [hash_of(ds), hashes[0]]


def test_unchanged_world_needs_no_node_work():
    ds = make_ds()
    view = DaemonSetView()
    cluster = Cluster(view)
    for i in range(4):
        cluster.put_node(make_node(f"node-{i}"))
        cluster.put_pod(make_pod(f"p{i}", f"node-{i}", hash_of(ds)))
    revisions = [new_revision(ds, hash_of(ds), 1)]
    assert_same(view, cluster, ds, revisions, NOW)
    assert not view.dirty_nodes and not view.dirty_pods and not view.clock_bound
    # a new node: exactly one create, decided from that node alone
    cluster.put_node(make_node("node-9"))
    plan = assert_same(view, cluster, ds, revisions, NOW)
    assert plan.creates == ["node-9"]


def test_deleting_daemonset_resets_the_view():
    ds = make_ds()
    view = DaemonSetView()
    cluster = Cluster(view)
    cluster.put_node(make_node("node-0"))
    revisions = [new_revision(ds, hash_of(ds), 1)]
    assert view.plan(ds, cluster.world, revisions, NOW).creates == ["node-0"]
    gone = {**ds, "metadata": {**ds["metadata"], "deletionTimestamp": iso(NOW)}}
    plan = view.plan(gone, cluster.world, revisions, NOW)
    assert plan.creates == [] and plan.status is None and view.version is None


@pytest.mark.parametrize("strategy", [rolling(2, 0), rolling(0, 2)])
def test_whole_rollout_driven_by_the_view(strategy):
    """Launch and roll 12 nodes using only the view's plans; each one equals plan_sync's."""
    rng = random.Random(7)
    ds = make_ds(strategy=strategy)
    view = DaemonSetView()
    cluster = Cluster(view)
    for i in range(12):
        cluster.put_node(make_node(f"node-{i}"))
    revisions: list[dict] = []
    ready_at: dict[str, float] = {}
    now = NOW
    serial = iter(range(10**6))

    def step():
        nonlocal ds, revisions, now
        for key, pod in list(cluster.pods.items()):
            if not pod["status"]["conditions"] and ready_at[key] <= now:
                cluster.put_pod({**pod, "status": {"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": iso(now)}]}})
        plan = assert_same(view, cluster, ds, revisions, now)
        if plan.revision_create:
            revisions = revisions + [plan.revision_create]
        for d in plan.deletes:
            cluster.drop_pod(d.name)
        for node in plan.creates:
            pod = new_pod(ds, node, plan.hash, plan.template_generation)
            name = f"pod-{next(serial)}"
            pod["metadata"].update(name=name, uid=name, creationTimestamp=iso(now))
            pod["spec"]["nodeName"] = node
            pod["status"] = {"phase": "Pending", "conditions": []}
            cluster.put_pod(pod)
            ready_at[f"{NS}/{name}"] = now + rng.randint(1, 3)
        ds = {**ds, "status": plan.status}
        now += 1
        return plan

    for _ in range(30):
        step()
    assert ds["status"]["numberAvailable"] == 12
    ds = make_ds(strategy=strategy, image="img:2", generation=2, template_generation=2, status=ds["status"])
    for _ in range(200):
        plan = step()
        if ds["status"].get("updatedNumberScheduled") == 12 and ds["status"]["numberAvailable"] == 12 \
                and not plan.creates and not plan.deletes and len(cluster.pods) == 12:
            break
    else:
        raise AssertionError("rollout did not converge")
    assert not view.tally.plain["candidate"] and not view.tally.surge["candidate"]
