"""Pod volumes on the host, and the mounts each container gets.

- emptyDir: a directory per pod and volume under the node dir
  (``pods/<uid>/volumes/kubernetes.io~empty-dir/<name>``), removed with the pod.
- hostPath: the path inside the node's root directory
  (``<data-dir>/nodes/<node>/root``), so several nodes on one host never
  share or clobber each other's files; ``/proc``, ``/sys`` and ``/dev`` are
  the host's own. A joined agent can use the real ``/`` as its root. The
  ``type`` checks and creation follow the kubelet (DirectoryOrCreate,
  Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice; "" makes
  a missing directory).
- downwardAPI and projected (downwardAPI items, the cluster CA as
  ``ca.crt``): files written under the pod dir.
- configMap and secret: not served by everynode; optional ones are empty,
  others keep the pod in ContainerCreating with a FailedMount event.

How a container sees its mounts: when the agent is root, each container
gets its own mount namespace in which every volume is bind-mounted at its
mountPath (read-only when asked) and the pod's hosts file at /etc/hosts.
Otherwise the mapping is given to the container as EVERYNODE_MOUNTS.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from everynode.node.podenv import EnvError, expand, field_ref_value, resource_field_value
from everynode.node.runtime.base import Mount

Obj = dict[str, Any]

PASSTHROUGH = ("/proc", "/sys", "/dev")


class VolumeError(Exception):
    def __init__(self, volume: str, message: str):
        super().__init__(f'MountVolume.SetUp failed for volume "{volume}" : {message}')
        self.volume = volume


def map_host_path(path: str, host_root: Path | None) -> str:
    norm = os.path.normpath("/" + path.lstrip("/"))
    if host_root is None:
        return norm
    for p in PASSTHROUGH:
        if norm == p or norm.startswith(p + "/"):
            return norm
    return str(host_root / norm.lstrip("/")) if norm != "/" else str(host_root)


def _check_host_path(name: str, path: str, kind: str) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if kind in ("", "DirectoryOrCreate"):
        if st is None:
            os.makedirs(path, 0o755, exist_ok=True)
        return
    if kind == "FileOrCreate":
        if st is None:
            os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            open(path, "a").close()
        return
    checks = {"Directory": (stat.S_ISDIR, "a directory"), "File": (stat.S_ISREG, "a file"),
              "Socket": (stat.S_ISSOCK, "a socket file"), "CharDevice": (stat.S_ISCHR, "a character device"),
              "BlockDevice": (stat.S_ISBLK, "a block device")}
    if kind not in checks:
        raise VolumeError(name, f"invalid HostPathType {kind!r}")
    test, what = checks[kind]
    if st is None or not test(st.st_mode):
        raise VolumeError(name, f"hostPath type check failed: {path} is not {what}")


def _write_file(base: Path, rel: str, content: str, mode: int | None) -> None:
    target = (base / rel).resolve()
    if not str(target).startswith(str(base.resolve())):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    if mode is not None:
        os.chmod(target, mode)


def _downward_items(pod: Obj, items: list[Obj], base: Path, allocatable: dict[str, str], default_mode) -> None:
    containers = {c.get("name"): c for c in [*((pod.get("spec") or {}).get("containers") or [])]}
    for item in items:
        if item.get("fieldRef"):
            value = field_ref_value(pod, item["fieldRef"].get("fieldPath", ""), for_volume=True)
        elif item.get("resourceFieldRef"):
            ref = item["resourceFieldRef"]
            c = containers.get(ref.get("containerName")) or {}
            value = resource_field_value(pod, c, ref, allocatable)
        else:
            continue
        _write_file(base, item.get("path", ""), value, item.get("mode", default_mode))


def prepare_volumes(pod: Obj, pod_dir: Path, host_root: Path | None, ca_pem: bytes | None = None,
                    allocatable: dict[str, str] | None = None) -> dict[str, str]:
    """Create every volume of the pod; volume name -> host directory or file."""
    out: dict[str, str] = {}
    allocatable = allocatable or {}
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        name = vol.get("name", "")
        try:
            out[name] = _prepare_one(pod, vol, name, pod_dir, host_root, ca_pem, allocatable)
        except EnvError as exc:
            raise VolumeError(name, str(exc)) from None
        except OSError as exc:
            raise VolumeError(name, f"{exc.strerror}: {exc.filename}") from None
    return out


def _prepare_one(pod: Obj, vol: Obj, name: str, pod_dir: Path, host_root: Path | None, ca_pem: bytes | None,
                 allocatable: dict[str, str]) -> str:
    volumes = pod_dir / "volumes"
    if "emptyDir" in vol:
        d = volumes / "kubernetes.io~empty-dir" / name
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o777)
        return str(d)
    if vol.get("hostPath") is not None:
        hp = vol["hostPath"]
        path = map_host_path(hp.get("path", "/"), host_root)
        _check_host_path(name, path, hp.get("type") or "")
        return path
    if vol.get("downwardAPI") is not None:
        d = volumes / "kubernetes.io~downward-api" / name
        d.mkdir(parents=True, exist_ok=True)
        dw = vol["downwardAPI"]
        _downward_items(pod, dw.get("items") or [], d, allocatable, dw.get("defaultMode"))
        return str(d)
    if vol.get("projected") is not None:
        d = volumes / "kubernetes.io~projected" / name
        d.mkdir(parents=True, exist_ok=True)
        pj = vol["projected"]
        for src in pj.get("sources") or []:
            if src.get("downwardAPI"):
                _downward_items(pod, src["downwardAPI"].get("items") or [], d, allocatable, pj.get("defaultMode"))
            elif src.get("configMap"):
                cm = src["configMap"]
                if cm.get("name") == "kube-root-ca.crt" and ca_pem:
                    _write_file(d, "ca.crt", ca_pem.decode(), pj.get("defaultMode"))
                elif not cm.get("optional"):
                    raise VolumeError(name, f'configmap "{cm.get("name", "")}" not found')
            elif src.get("secret") and not src["secret"].get("optional"):
                raise VolumeError(name, f'secret "{src["secret"].get("name", "")}" not found')
            # serviceAccountToken: everynode issues no service account tokens.
        return str(d)
    for kind, what, key in (("configMap", "configmap", "name"), ("secret", "secret", "secretName")):
        if vol.get(kind) is not None:
            src = vol[kind]
            if src.get("optional"):
                d = volumes / f"kubernetes.io~{kind.lower()}" / name
                d.mkdir(parents=True, exist_ok=True)
                return str(d)
            raise VolumeError(name, f'{what} "{src.get(key, "")}" not found')
    kinds = [k for k in vol if k != "name"]
    raise VolumeError(name, f"volume type {kinds[0] if kinds else '?'} is not supported by everynode")


def container_mounts(container: Obj, volumes: dict[str, str], env: dict[str, str]) -> list[Mount]:
    out = []
    for vm in container.get("volumeMounts") or []:
        src = volumes.get(vm.get("name", ""))
        if src is None:
            continue
        sub = vm.get("subPath") or ""
        if vm.get("subPathExpr"):
            sub = expand(vm["subPathExpr"], env)
        if sub:
            sub = os.path.normpath(sub).lstrip("/")
            if sub.startswith(".."):
                continue
            target = os.path.join(src, sub)
            if not os.path.exists(target):
                os.makedirs(target, 0o755, exist_ok=True)
            src = target
        out.append(Mount(src, vm.get("mountPath", ""), bool(vm.get("readOnly"))))
    return out


def write_hosts_file(pod_dir: Path, ip: str, hostname: str, host_network: bool) -> str:
    path = pod_dir / "etc-hosts"
    if host_network:
        try:
            base = Path("/etc/hosts").read_text()
        except OSError:
            base = ""
        content = "# Kubernetes-managed hosts file (host network).\n" + base
        if hostname and hostname not in base.split():
            content += f"{ip}\t{hostname}\n"
    else:
        content = ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
                   "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
                   "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
                   f"{ip}\t{hostname}\n")
    pod_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return str(path)
