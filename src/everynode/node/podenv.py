"""Container environment: env/valueFrom resolution and $(VAR) expansion.

Pure functions, following the kubelet: env entries are resolved in order,
each value expanded against the variables defined before it (plus the
service variables); command and args are expanded against the final
environment. ``$$`` escapes a dollar and a reference to an undefined
variable is left as written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from everynode.api.quantity import parse_quantity

Obj = dict[str, Any]

_SUBSCRIPT = re.compile(r"^(metadata\.(?:labels|annotations))\['(.*)'\]$")


class EnvError(Exception):
    """A container's env cannot be built: the container waits with CreateContainerConfigError."""


def expand(text: str, mapping: Mapping[str, str]) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end < 0:
                out.append(text[i:])
                break
            name = text[i + 2:end]
            if name and name in mapping:
                out.append(mapping[name])
            else:
                out.append(text[i:end + 1])
            i = end + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def field_ref_value(pod: Obj, path: str, for_volume: bool = False) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    m = _SUBSCRIPT.match(path)
    if m:
        which, key = m.group(1).split(".")[1], m.group(2)
        return str((meta.get(which) or {}).get(key, ""))
    if path in ("metadata.labels", "metadata.annotations") and for_volume:
        items = sorted((meta.get(path.split(".")[1]) or {}).items())
        return "\n".join(f'{k}="{_escape(v)}"' for k, v in items)
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName") or spec.get("serviceAccount") or "default",
        "status.hostIP": status.get("hostIP", ""),
        "status.podIP": status.get("podIP", ""),
        "status.hostIPs": ",".join(i.get("ip", "") for i in status.get("hostIPs") or []),
        "status.podIPs": ",".join(i.get("ip", "") for i in status.get("podIPs") or []),
    }
    if path not in simple:
        raise EnvError(f'unsupported fieldPath: "{path}"')
    return str(simple[path])


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def resource_field_value(pod: Obj, container: Obj, ref: Obj, node_allocatable: Mapping[str, str]) -> str:
    resource = ref.get("resource", "")
    if ref.get("containerName"):
        named = [c for c in _all_containers(pod) if c.get("name") == ref["containerName"]]
        if not named:
            raise EnvError(f'container "{ref["containerName"]}" not found')
        container = named[0]
    divisor = float(parse_quantity(ref.get("divisor") or "1"))
    if divisor <= 0:
        divisor = 1.0
    which, _, name = resource.partition(".")
    if which not in ("limits", "requests") or not name:
        raise EnvError(f'unsupported container resource: "{resource}"')
    res = (container.get("resources") or {})
    value = (res.get(which) or {}).get(name)
    if value is None and which == "limits":
        value = node_allocatable.get(name)  # an unset limit reads as the node's allocatable
    if value is None and which == "requests":
        value = (res.get("limits") or {}).get(name, "0")
    amount = float(parse_quantity(value or "0"))
    return str(int(math.ceil(amount / divisor)))


def _all_containers(pod: Obj) -> list[Obj]:
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def container_env(pod: Obj, container: Obj, base: Mapping[str, str],
                  node_allocatable: Mapping[str, str] | None = None) -> dict[str, str]:
    """The container's environment: ``base`` (service variables etc.), envFrom, then env in order."""
    env: dict[str, str] = dict(base)
    node_allocatable = node_allocatable or {}
    for src in container.get("envFrom") or []:
        ref = src.get("configMapRef") or src.get("secretRef")
        if ref is None:
            continue
        what = "configmap" if "configMapRef" in src else "secret"
        if not ref.get("optional"):
            raise EnvError(f'{what} "{ref.get("name", "")}" not found')
    for e in container.get("env") or []:
        name = e.get("name", "")
        if "valueFrom" not in e or e.get("valueFrom") is None:
            env[name] = expand(str(e.get("value") or ""), env)
            continue
        vf = e["valueFrom"]
        if vf.get("fieldRef"):
            env[name] = field_ref_value(pod, vf["fieldRef"].get("fieldPath", ""))
        elif vf.get("resourceFieldRef"):
            env[name] = resource_field_value(pod, container, vf["resourceFieldRef"], node_allocatable)
        elif vf.get("configMapKeyRef") or vf.get("secretKeyRef"):
            ref = vf.get("configMapKeyRef") or vf.get("secretKeyRef")
            what = "configmap" if vf.get("configMapKeyRef") else "secret"
            if ref.get("optional"):
                continue
            raise EnvError(f'{what} "{ref.get("name", "")}" not found')
        elif vf.get("fileKeyRef"):
            raise EnvError("fileKeyRef env sources are not supported by everynode")
    return env


def container_argv(container: Obj, image_entrypoint: list[str], image_cmd: list[str],
                   env: Mapping[str, str]) -> list[str]:
    """Docker/OCI rules: command replaces the entrypoint (and drops the image's cmd); args replace cmd."""
    command = container.get("command")
    args = container.get("args")
    if command:
        argv = [expand(str(c), env) for c in command] + [expand(str(a), env) for a in (args or [])]
    elif args:
        argv = list(image_entrypoint) + [expand(str(a), env) for a in args]
    else:
        argv = list(image_entrypoint) + list(image_cmd)
    return argv
