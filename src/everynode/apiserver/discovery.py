"""Legacy discovery documents (/api, /apis, group and group-version lists)."""

from __future__ import annotations

from collections import OrderedDict

from everynode.api.kind import Kind

SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "binding": ("create",),
    "eviction": ("create",),
    "log": ("get",),
    "finalize": ("update",),
    "proxy": ("create", "delete", "get", "patch", "update"),
}
SUBRESOURCE_KIND = {
    "binding": ("", "", "Binding"),
    "eviction": ("policy", "v1", "Eviction"),
}


def group_versions(kinds: list[Kind]) -> OrderedDict[str, list[Kind]]:
    out: OrderedDict[str, list[Kind]] = OrderedDict()
    for k in kinds:
        out.setdefault(k.group_version, []).append(k)
    return out


def api_versions() -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}


def _group_doc(group: str, versions: list[str]) -> dict:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def api_group_list(kinds: list[Kind], extra_groups: list[tuple[str, str]] = ()) -> dict:
    groups: OrderedDict[str, list[str]] = OrderedDict()
    for k in kinds:
        if k.group and k.version not in groups.setdefault(k.group, []):
            groups[k.group].append(k.version)
    for g, v in extra_groups:
        if v not in groups.setdefault(g, []):
            groups[g].append(v)
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_doc(g, vs) for g, vs in groups.items()]}


def api_group(kinds: list[Kind], group: str, extra_groups: list[tuple[str, str]] = ()) -> dict | None:
    versions = [k.version for k in kinds if k.group == group]
    versions += [v for g, v in extra_groups if g == group]
    if not versions:
        return None
    doc = _group_doc(group, list(OrderedDict.fromkeys(versions)))
    return {"kind": "APIGroup", "apiVersion": "v1", **doc}


def resource_list(group_version: str, kinds: list[Kind]) -> dict:
    resources = []
    for k in kinds:
        entry = {"name": k.plural, "singularName": k.singular, "namespaced": k.namespaced,
                 "kind": k.kind, "verbs": list(k.verbs)}
        if k.short_names:
            entry["shortNames"] = list(k.short_names)
        if k.categories:
            entry["categories"] = list(k.categories)
        resources.append(entry)
        for sub in k.subresources:
            sentry = {"name": f"{k.plural}/{sub}", "singularName": "", "namespaced": k.namespaced,
                      "kind": k.kind, "verbs": list(SUBRESOURCE_VERBS.get(sub, ("get",)))}
            if sub in SUBRESOURCE_KIND:
                g, v, kind = SUBRESOURCE_KIND[sub]
                sentry["kind"] = kind
                if g:
                    sentry["group"], sentry["version"] = g, v
            resources.append(sentry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": resources}
