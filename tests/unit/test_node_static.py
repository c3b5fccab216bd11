"""Static pods from manifests, and their mirror pods."""

from everynode.node.static import HASH, MIRROR, mirror_of, read_manifests, static_pod


def manifest(**extra):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", **extra},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def test_static_pod_identity():
    pod = static_pod(manifest(), "node-1")
    meta = pod["metadata"]
    assert meta["name"] == "web-node-1" and meta["namespace"] == "default"
    assert pod["spec"]["nodeName"] == "node-1"
    assert meta["uid"] == meta["annotations"][HASH]
    assert {"operator": "Exists", "effect": "NoExecute"} in pod["spec"]["tolerations"]
    assert meta["annotations"]["kubernetes.io/config.source"] == "file"


def test_uid_changes_with_the_manifest_and_the_node():
    a = static_pod(manifest(), "n")["metadata"]["uid"]
    assert a == static_pod(manifest(), "n")["metadata"]["uid"]
    assert a != static_pod(manifest(labels={"x": "y"}), "n")["metadata"]["uid"]
    assert a != static_pod(manifest(), "m")["metadata"]["uid"]


def test_not_pods_are_ignored():
    assert static_pod({"kind": "Service", "metadata": {"name": "s"}}, "n") is None
    assert static_pod({"kind": "Pod", "metadata": {}}, "n") is None
    assert static_pod("text", "n") is None


def test_read_manifests(tmp_path):
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: kube-system}\n"
                                     "spec: {containers: [{name: c, image: x}]}\n---\n"
                                     "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: []}\n")
    (tmp_path / "broken.yaml").write_text("metadata: [")
    (tmp_path / "notes.txt").write_text("kind: Pod")
    pods = read_manifests(tmp_path, "n")
    assert sorted(pods) == ["default/b-n", "kube-system/a-n"]
    assert read_manifests(tmp_path / "missing", "n") == {}


def test_mirror():
    pod = static_pod(manifest(), "n")
    m = mirror_of(pod, "node-uid")
    assert "uid" not in m["metadata"]
    assert m["metadata"]["annotations"][MIRROR] == pod["metadata"]["uid"]
    assert m["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Node", "name": "n",
                                                 "uid": "node-uid", "controller": True}]
