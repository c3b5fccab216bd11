"""Regenerate src/everynode/api/types.json from the official kubernetes client's models.

The file records facts only: for each API type reachable from the served
kinds, its JSON field names, their types and which are required. Run with the
``kubernetes`` package installed:  python tools/gen_types.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import kubernetes.client as k8s

ROOTS = [
    "V1Namespace", "V1NamespaceList", "V1Node", "V1Pod", "CoreV1Event", "V1DaemonSet",
    "V1ControllerRevision", "V1Lease", "V1PriorityClass", "V1Binding", "V1Eviction",
    "EventsV1Event", "V1DeleteOptions", "V1Status", "V1PodTemplateSpec",
]
OUT = Path(__file__).resolve().parent.parent / "src" / "everynode" / "api" / "types.json"


def normalise(t: str) -> str:
    t = t.strip()
    m = re.fullmatch(r"List\[(.+)\]", t)
    if m:
        return "[" + normalise(m.group(1)) + "]"
    m = re.fullmatch(r"Dict\[str, (.+)\]", t)
    if m:
        return "{" + normalise(m.group(1)) + "}"
    return {"int": "integer", "str": "string", "bool": "boolean", "float": "number",
            "datetime": "date-time", "object": "any"}.get(t, t)


def model_names(t: str) -> list[str]:
    return [n for n in re.findall(r"[A-Za-z0-9]+", t) if hasattr(k8s, n) and n not in ("List", "Dict", "str")]


def main() -> None:
    out: dict[str, dict] = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        cls = getattr(k8s, name)
        fields = {}
        required = []
        for attr, typ in cls.openapi_types.items():
            json_name = cls.attribute_map[attr]
            fields[json_name] = normalise(typ)
            info = cls.model_fields.get(attr)
            if info is not None and info.is_required():
                required.append(json_name)
            todo.extend(model_names(typ))
        out[name] = {"fields": fields, "required": required}
    OUT.write_text(json.dumps(dict(sorted(out.items())), indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(out)} types to {OUT}")


if __name__ == "__main__":
    main()
