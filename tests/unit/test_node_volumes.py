"""Volumes on the host: hostPath under the node root, emptyDir, downward API, type checks, mounts."""

import os

import pytest

from everynode.node.volumes import (
    VolumeError,
    container_mounts,
    map_host_path,
    prepare_volumes,
    write_hosts_file,
)


@pytest.mark.parametrize("path,want", [
    ("/var/log", "ROOT/var/log"),
    ("/var/log/../lib", "ROOT/var/lib"),
    ("var/log", "ROOT/var/log"),
    ("/", "ROOT"),
    ("/proc", "/proc"),
    ("/sys/class/net", "/sys/class/net"),
    ("/dev/null", "/dev/null"),
    ("/procfs", "ROOT/procfs"),
])
def test_map_host_path(tmp_path, path, want):
    assert map_host_path(path, tmp_path) == want.replace("ROOT", str(tmp_path))


def test_map_host_path_real_root():
    assert map_host_path("/var/log", None) == "/var/log"


def pod(volumes, labels=None):
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": labels or {}},
            "spec": {"nodeName": "n", "volumes": volumes, "containers": [{"name": "c"}]}}


def test_prepare(tmp_path):
    root, pod_dir = tmp_path / "root", tmp_path / "pod"
    vols = prepare_volumes(pod([
        {"name": "logs", "hostPath": {"path": "/var/log"}},
        {"name": "made", "hostPath": {"path": "/etc/app.conf", "type": "FileOrCreate"}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                                                   {"path": "sub/name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        {"name": "opt", "configMap": {"name": "cm", "optional": True}},
    ], labels={"app": "x"}), pod_dir, root)
    assert vols["logs"] == str(root / "var/log") and os.path.isdir(vols["logs"])
    assert os.path.isfile(vols["made"])
    assert vols["scratch"].endswith("volumes/kubernetes.io~empty-dir/scratch")
    assert open(os.path.join(vols["info"], "labels")).read() == 'app="x"'
    assert open(os.path.join(vols["info"], "sub/name")).read() == "p"
    assert os.path.isdir(vols["opt"])


@pytest.mark.parametrize("volume,message", [
    ({"name": "v", "hostPath": {"path": "/nope", "type": "Directory"}}, "/nope is not a directory"),
    ({"name": "v", "hostPath": {"path": "/nope", "type": "File"}}, "is not a file"),
    ({"name": "v", "hostPath": {"path": "/x", "type": "Weird"}}, "invalid HostPathType"),
    ({"name": "v", "configMap": {"name": "cm"}}, 'configmap "cm" not found'),
    ({"name": "v", "secret": {"secretName": "s"}}, 'secret "s" not found'),
    ({"name": "v", "nfs": {"server": "x", "path": "/"}}, "volume type nfs is not supported"),
])
def test_prepare_errors(tmp_path, volume, message):
    with pytest.raises(VolumeError) as err:
        prepare_volumes(pod([volume]), tmp_path / "pod", tmp_path / "root")
    assert message in str(err.value)
    assert str(err.value).startswith('MountVolume.SetUp failed for volume "v" : ')


def test_container_mounts_with_subpaths(tmp_path):
    vols = {"data": str(tmp_path)}
    c = {"volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True},
                          {"name": "data", "mountPath": "/sub", "subPath": "a/b"},
                          {"name": "data", "mountPath": "/expr", "subPathExpr": "$(POD)"},
                          {"name": "data", "mountPath": "/evil", "subPath": "../../etc"},
                          {"name": "missing", "mountPath": "/m"}]}
    mounts = container_mounts(c, vols, {"POD": "p1"})
    assert [(m.container_path, m.read_only) for m in mounts] == [("/data", True), ("/sub", False), ("/expr", False)]
    assert mounts[1].host_path == str(tmp_path / "a/b") and os.path.isdir(mounts[1].host_path)
    assert mounts[2].host_path == str(tmp_path / "p1")


def test_hosts_file(tmp_path):
    path = write_hosts_file(tmp_path, "127.1.2.3", "mypod", host_network=False)
    text = open(path).read()
    assert text.startswith("# Kubernetes-managed hosts file.") and text.endswith("127.1.2.3\tmypod\n")
