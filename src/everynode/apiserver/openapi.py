"""OpenAPI documents of the served API: /openapi/v2 and /openapi/v3.

Both are generated from the kinds registry and ``api/schema.py`` and shaped
like the upstream documents, because clients read them:

- ``kubectl explain`` (v3) takes the group/version/kind from the operations of
  the resource's paths and then looks for the ``components.schemas`` entry
  whose ``x-kubernetes-group-version-kind`` lists it;
- kubectl decides it may ask for server-side field validation when the PATCH
  operations for a kind have a ``fieldValidation`` query parameter;
- client-side strategic merge patch reads ``x-kubernetes-patch-strategy`` /
  ``x-kubernetes-patch-merge-key`` from the property schemas.

Definition names follow upstream (``io.k8s.api.apps.v1.DaemonSet``, ...).
v3 wraps a described reference as ``{"allOf": [{"$ref": ...}], "description": ...}``
as upstream does; v2 puts the description beside the ``$ref``.

Documents are built once per process per set of kinds and served as bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from everynode.api import descriptions, schema  # importing descriptions fills schema.DESCRIPTIONS
from everynode.api.kind import Kind

Obj = dict[str, Any]

# --- definition names ------------------------------------------------------------

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
FIELDS_V1 = f"{META}.FieldsV1"
PATCH = f"{META}.Patch"
WATCH_EVENT = f"{META}.WatchEvent"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
RAW_EXTENSION = "io.k8s.apimachinery.pkg.runtime.RawExtension"

# Upstream package of each model whose package is not core/v1 (the default).
_PACKAGES: dict[str, tuple[str, ...]] = {
    META: ("ObjectMeta", "ListMeta", "LabelSelector", "LabelSelectorRequirement", "ManagedFieldsEntry",
           "OwnerReference", "Status", "StatusCause", "StatusDetails", "DeleteOptions", "Preconditions",
           "ShardInfo"),
    "io.k8s.api.apps.v1": ("DaemonSet", "DaemonSetList", "DaemonSetSpec", "DaemonSetStatus",
                           "DaemonSetCondition", "DaemonSetUpdateStrategy", "RollingUpdateDaemonSet",
                           "ControllerRevision", "ControllerRevisionList"),
    "io.k8s.api.coordination.v1": ("Lease", "LeaseList", "LeaseSpec"),
    "io.k8s.api.scheduling.v1": ("PriorityClass", "PriorityClassList"),
    "io.k8s.api.policy.v1": ("Eviction",),
}
_PACKAGE_OF = {name: pkg for pkg, names in _PACKAGES.items() for name in names}
# Model-name prefixes that carry their package (the client names clashing types this way).
_PREFIXED = {"CoreV1": "io.k8s.api.core.v1", "EventsV1": "io.k8s.api.events.v1"}
CORE = "io.k8s.api.core.v1"


def definition_name(model: str) -> str:
    """Upstream definition name of a schema model name (V1DaemonSetSpec, CoreV1Event, ...)."""
    for prefix, package in _PREFIXED.items():
        if model.startswith(prefix):
            return f"{package}.{model[len(prefix):]}"
    name = model[2:] if model.startswith("V1") else model
    return f"{_PACKAGE_OF.get(name, CORE)}.{name}"


# Time fields that are metav1.MicroTime upstream (the rest are metav1.Time).
MICRO_TIME_FIELDS = {
    ("CoreV1Event", "eventTime"),
    ("CoreV1EventSeries", "lastObservedTime"),
    ("EventsV1Event", "eventTime"),
    ("EventsV1EventSeries", "lastObservedTime"),
    ("V1LeaseSpec", "acquireTime"),
    ("V1LeaseSpec", "renewTime"),
}
FIELDS_V1_FIELDS = {("V1ManagedFieldsEntry", "fieldsV1")}

# Closed value sets that upstream marks as enums (kubectl explain prints them).
ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("V1DaemonSetUpdateStrategy", "type"): ("OnDelete", "RollingUpdate"),
    ("V1Toleration", "operator"): ("Equal", "Exists"),
    ("V1Toleration", "effect"): ("NoExecute", "NoSchedule", "PreferNoSchedule"),
    ("V1Taint", "effect"): ("NoExecute", "NoSchedule", "PreferNoSchedule"),
    ("V1Container", "imagePullPolicy"): ("Always", "IfNotPresent", "Never"),
    ("V1Container", "terminationMessagePolicy"): ("FallbackToLogsOnError", "File"),
    ("V1ContainerPort", "protocol"): ("SCTP", "TCP", "UDP"),
    ("V1PodSpec", "restartPolicy"): ("Always", "Never", "OnFailure"),
    ("V1PodSpec", "dnsPolicy"): ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"),
    ("V1PodSpec", "preemptionPolicy"): ("Never", "PreemptLowerPriority"),
    ("V1PriorityClass", "preemptionPolicy"): ("Never", "PreemptLowerPriority"),
    ("V1PodStatus", "phase"): ("Failed", "Pending", "Running", "Succeeded", "Unknown"),
    ("V1PodStatus", "qosClass"): ("BestEffort", "Burstable", "Guaranteed"),
    ("V1NamespaceStatus", "phase"): ("Active", "Terminating"),
    ("V1NodeAddress", "type"): ("ExternalDNS", "ExternalIP", "Hostname", "InternalDNS", "InternalIP"),
    ("V1NodeSelectorRequirement", "operator"): ("DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"),
    ("V1HostPathVolumeSource", "type"): ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate",
                                         "File", "FileOrCreate", "Socket"),
}

# Schemas of the named scalars and opaque types, with our own descriptions.
SPECIAL_SCHEMAS: dict[str, dict[str, Obj]] = {
    # name: {"v2": schema, "v3": schema}
    TIME: {"both": {"description": "A timestamp in RFC 3339 form, with second precision.",
                    "type": "string", "format": "date-time"}},
    MICRO_TIME: {"both": {"description": "A timestamp in RFC 3339 form, with microsecond precision.",
                          "type": "string", "format": "date-time"}},
    INT_OR_STRING: {
        "v2": {"description": "A value that is either an integer or a string, such as 1 or \"25%\".",
               "type": "string", "format": "int-or-string"},
        "v3": {"description": "A value that is either an integer or a string, such as 1 or \"25%\".",
               "format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]},
    },
    QUANTITY: {
        "v2": {"description": "A fixed-point amount of a resource, such as \"100m\", \"1.5\" or \"64Mi\".",
               "type": "string"},
        "v3": {"description": "A fixed-point amount of a resource, such as \"100m\", \"1.5\" or \"64Mi\".",
               "oneOf": [{"type": "string"}, {"type": "number"}]},
    },
    RAW_EXTENSION: {"both": {"description": "An embedded JSON object of any kind.", "type": "object"}},
    FIELDS_V1: {"both": {"description": "A set of field paths, in the server's internal JSON encoding.",
                         "type": "object"}},
    PATCH: {"both": {"description": "The body of a PATCH request; its format depends on the Content-Type.",
                     "type": "object"}},
}


# --- models: the served types plus synthetic lists and WatchEvent -------------------

WATCH_EVENT_MODEL = "WatchEvent"


def _list_item(model: str) -> str | None:
    """For a list model ``<Type>List`` (served or synthetic) the item model, else None."""
    if not model.endswith("List"):
        return None
    base = model[: -len("List")]
    return base if base in schema.types() else None


def _synthetic_list(model: str) -> bool:
    return model not in schema.types() and _list_item(model) is not None


def model_fields(model: str) -> dict[str, str]:
    if model == WATCH_EVENT_MODEL:
        return {"object": "any", "type": "string"}
    if _synthetic_list(model):
        return {"apiVersion": "string", "items": f"[{_list_item(model)}]", "kind": "string",
                "metadata": "V1ListMeta"}
    return schema.fields(model)


def model_required(model: str) -> list[str]:
    if model == WATCH_EVENT_MODEL:
        return ["type", "object"]
    if _synthetic_list(model):
        return ["items"]
    return schema.required(model)


def model_definition_name(model: str) -> str:
    return WATCH_EVENT if model == WATCH_EVENT_MODEL else definition_name(model)


def _short_name(model: str) -> str:
    return definition_name(model).rsplit(".", 1)[-1]


_LIST_FIELDS = {"apiVersion": descriptions.API_VERSION, "kind": descriptions.KIND,
                "metadata": descriptions.LIST_METADATA}
_WATCH_EVENT_FIELDS = {"type": "ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.",
                       "object": "The object after the change; a Status for ERROR events."}


def _field_description(model: str, name: str) -> str | None:
    text = schema.DESCRIPTIONS.get((model, name))
    if text:
        return text
    if model == WATCH_EVENT_MODEL:
        return _WATCH_EVENT_FIELDS.get(name)
    item = _list_item(model)
    if item is not None:
        if name == "items":
            return f"The {_short_name(item)} objects in the list."
        return _LIST_FIELDS.get(name)
    return None


def _type_description(model: str) -> str | None:
    text = schema.DESCRIPTIONS.get((model, ""))
    if text:
        return text
    if model == WATCH_EVENT_MODEL:
        return "One event of a watch stream."
    item = _list_item(model)
    if item is not None:
        return f"A list of {_short_name(item)} objects."
    return None


# --- schema rendering --------------------------------------------------------------


@dataclass
class _Renderer:
    version: str  # "v2" or "v3"
    gvks: dict[str, list[Obj]] = field(default_factory=dict)  # model -> x-kubernetes-group-version-kind
    definitions: dict[str, Obj] = field(default_factory=dict)
    _todo: list[str] = field(default_factory=list)

    def ref(self, name: str) -> Obj:
        prefix = "#/definitions/" if self.version == "v2" else "#/components/schemas/"
        return {"$ref": prefix + name}

    def need(self, model: str) -> Obj:
        name = model_definition_name(model)
        if name not in self.definitions and model not in self._todo:
            self._todo.append(model)
        return self.ref(name)

    def special(self, name: str) -> Obj:
        if name not in self.definitions:
            entry = SPECIAL_SCHEMAS[name]
            self.definitions[name] = dict(entry.get("both") or entry[self.version])
        return self.ref(name)

    def type_schema(self, typ: str, owner: str, name: str) -> Obj:
        if schema.is_list(typ):
            return {"type": "array", "items": self.item_schema(schema.element(typ))}
        if schema.is_map(typ):
            return {"type": "object", "additionalProperties": self.item_schema(schema.element(typ))}
        if typ == "string":
            return {"type": "string"}
        if typ == "integer":
            return {"type": "integer"}
        if typ == "number":
            return {"type": "number", "format": "double"}
        if typ == "boolean":
            return {"type": "boolean"}
        if typ == "date-time":
            return self.special(MICRO_TIME if (owner, name) in MICRO_TIME_FIELDS else TIME)
        if typ == "int-or-string":
            return self.special(INT_OR_STRING)
        if typ == "quantity":
            return self.special(QUANTITY)
        if typ == "any":
            if (owner, name) in FIELDS_V1_FIELDS:
                return self.special(FIELDS_V1)
            if (owner, name) in schema.RAW or owner == WATCH_EVENT_MODEL:
                return self.special(RAW_EXTENSION)
            return {"type": "object"}
        return self.need(typ)

    def item_schema(self, typ: str) -> Obj:
        out = self.type_schema(typ, "", "")
        if out.get("type") == "string":
            out["default"] = ""
        return out

    def property(self, owner: str, name: str, typ: str) -> Obj:
        out = self.type_schema(typ, owner, name)
        text = _field_description(owner, name)
        if "$ref" in out and text:
            out = {"allOf": [out]} if self.version == "v3" else dict(out)
        if text:
            out["description"] = text
        if (owner, name) in ENUMS:
            out["enum"] = list(ENUMS[owner, name])
        meta = schema.patch_meta(owner, name)
        if meta is not None:
            if meta.merge_key:
                out["x-kubernetes-patch-merge-key"] = meta.merge_key
            out["x-kubernetes-patch-strategy"] = meta.strategy
        return out

    def definition(self, model: str) -> Obj:
        props = {name: self.property(model, name, typ) for name, typ in sorted(model_fields(model).items())}
        out: Obj = {}
        text = _type_description(model)
        if text:
            out["description"] = text
        out["properties"] = props
        required = model_required(model)
        if required:
            out["required"] = list(required)
        out["type"] = "object"
        if model in self.gvks:
            out["x-kubernetes-group-version-kind"] = self.gvks[model]
        return out

    def drain(self) -> dict[str, Obj]:
        while self._todo:
            model = self._todo.pop()
            name = model_definition_name(model)
            if name not in self.definitions:
                self.definitions[name] = self.definition(model)
        return dict(sorted(self.definitions.items()))


def _gvk(group: str, version: str, kind: str) -> Obj:
    return {"group": group, "kind": kind, "version": version}


def group_version_kinds(kinds: Sequence[Kind]) -> dict[str, list[Obj]]:
    """model -> its x-kubernetes-group-version-kind list."""
    out: dict[str, list[Obj]] = {}
    served_gvs = sorted({(k.group, k.version) for k in kinds} | {("", "v1")})
    for k in kinds:
        out.setdefault(k.type_name, []).append(_gvk(k.group, k.version, k.kind))
        out.setdefault(f"{k.type_name}List", []).append(_gvk(k.group, k.version, f"{k.kind}List"))
    out.setdefault("V1Binding", [_gvk("", "v1", "Binding")])
    out.setdefault("V1Eviction", [_gvk("policy", "v1", "Eviction")])
    out.setdefault("V1Status", [_gvk("", "v1", "Status")])
    out["V1DeleteOptions"] = [_gvk(g, v, "DeleteOptions") for g, v in served_gvs]
    out[WATCH_EVENT_MODEL] = [_gvk(g, v, "WatchEvent") for g, v in served_gvs]
    return out


# --- operations --------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # "query" or "path"
    type: str
    description: str
    required: bool = False


P_NAME = "name of the {kind}"
P_NAMESPACE = Param("namespace", "path", "string", "Namespace of the object.", True)
P_PRETTY = Param("pretty", "query", "string", "Indent the JSON response when 'true'.")
P_DRY_RUN = Param("dryRun", "query", "string",
                  "When 'All', run every stage of the request without persisting anything.")
P_FIELD_MANAGER = Param("fieldManager", "query", "string",
                        "Name of the actor making the change, recorded in managedFields (at most 128 "
                        "printable characters). Required for apply patches.")
P_FIELD_VALIDATION = Param("fieldValidation", "query", "string",
                           "What to do with unknown or duplicate fields in the body: Ignore (drop them), "
                           "Warn (drop them and add a warning header; the default) or Strict (fail "
                           "with 400 Bad Request).")
P_FORCE = Param("force", "query", "boolean",
                "For apply patches: take over fields owned by other managers instead of failing.")
LIST_PARAMS = (
    Param("allowWatchBookmarks", "query", "boolean", "Ask for BOOKMARK events in a watch."),
    Param("continue", "query", "string", "Continue token from the previous page of a limited list."),
    Param("fieldSelector", "query", "string", "Only return objects whose fields match this selector."),
    Param("labelSelector", "query", "string", "Only return objects whose labels match this selector."),
    Param("limit", "query", "integer", "Return at most this many objects, with a continue token for the rest."),
    Param("resourceVersion", "query", "string",
          "Serve the request from this resource version (or newer, depending on resourceVersionMatch)."),
    Param("resourceVersionMatch", "query", "string", "How resourceVersion applies to a list: Exact or NotOlderThan."),
    Param("sendInitialEvents", "query", "boolean",
          "With watch=true, start with synthetic ADDED events for the current objects, then a BOOKMARK."),
    Param("timeoutSeconds", "query", "integer", "End the list or watch call after this many seconds."),
    Param("watch", "query", "boolean", "Stream changes (ADDED, MODIFIED, DELETED) instead of listing."),
)
DELETE_PARAMS = (
    P_DRY_RUN,
    Param("gracePeriodSeconds", "query", "integer",
          "Seconds before the object is removed; 0 deletes it at once. Unset uses the kind's default."),
    Param("ignoreStoreReadErrorWithClusterBreakingPotential", "query", "boolean",
          "Delete an object that cannot be read from storage. Dangerous."),
    Param("orphanDependents", "query", "boolean", "Deprecated: use propagationPolicy."),
    Param("propagationPolicy", "query", "string",
          "What happens to dependents: Orphan, Background or Foreground."),
)
WRITE_PARAMS = (P_DRY_RUN, P_FIELD_MANAGER, P_FIELD_VALIDATION)
PATCH_PARAMS = (*WRITE_PARAMS, P_FORCE)
LOG_PARAMS = (
    Param("container", "query", "string", "Container to read the log of; optional when the pod has one."),
    Param("follow", "query", "boolean", "Keep streaming the log as it grows."),
    Param("insecureSkipTLSVerifyBackend", "query", "boolean", "Do not verify the node agent's certificate."),
    Param("limitBytes", "query", "integer", "Stop after this many bytes."),
    Param("previous", "query", "boolean", "Read the log of the previous, terminated instance of the container."),
    Param("sinceSeconds", "query", "integer", "Only lines newer than this many seconds."),
    Param("stream", "query", "string", "Which stream to return: All, Stdout or Stderr."),
    Param("tailLines", "query", "integer", "Only the last this many lines."),
    Param("timestamps", "query", "boolean", "Prefix each line with its RFC 3339 timestamp."),
)
PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
               "application/merge-patch+json", "application/strategic-merge-patch+json")
STRING = "<string>"  # a response whose body is plain text


@dataclass
class Operation:
    method: str
    op_id: str
    description: str
    action: str
    gvk: Obj
    params: tuple[Param, ...] = ()
    body: str | None = None  # model, PATCH, or None
    responses: dict[str, str] = field(default_factory=dict)  # code -> model or STRING
    watch: bool = False


@dataclass
class PathItem:
    params: tuple[Param, ...]
    ops: list[Operation] = field(default_factory=list)


def _camel_group_version(group: str, version: str) -> str:
    if not group:
        return "Core" + version.capitalize()
    parts = group.removesuffix(".k8s.io").split(".")
    return "".join(p.capitalize() for p in parts) + version.capitalize()


def tag(group: str, version: str) -> str:
    if not group:
        return f"core_{version}"
    parts = group.removesuffix(".k8s.io").split(".")
    return parts[0] + "".join(p.capitalize() for p in parts[1:]) + "_" + version


def _prefix(k: Kind) -> str:
    return f"/apis/{k.group}/{k.version}" if k.group else f"/api/{k.version}"


def resource_paths(k: Kind) -> dict[str, PathItem]:
    """Every path of one kind, with its operations (before rendering to v2 or v3)."""
    gv = _camel_group_version(k.group, k.version)
    scoped = "Namespaced" if k.namespaced else ""
    gvk = _gvk(k.group, k.version, k.kind)
    verbs = set(k.verbs)
    base = _prefix(k)
    ns = "/namespaces/{namespace}" if k.namespaced else ""
    name_param = Param("name", "path", "string", P_NAME.format(kind=k.kind), True)
    coll_params = (P_NAMESPACE, P_PRETTY) if k.namespaced else (P_PRETTY,)
    item_params = (name_param, *coll_params)
    list_model = f"{k.type_name}List"
    out: dict[str, PathItem] = {}

    coll = PathItem(coll_params)
    if "list" in verbs:
        coll.ops.append(Operation("get", f"list{gv}{scoped}{k.kind}",
                                  f"List {k.kind} objects, or watch them with watch=true.", "list", gvk,
                                  LIST_PARAMS, None, {"200": list_model}, watch=True))
    if "create" in verbs:
        coll.ops.append(Operation("post", f"create{gv}{scoped}{k.kind}", f"Create a {k.kind}.", "post", gvk,
                                  WRITE_PARAMS, k.type_name,
                                  {"200": k.type_name, "201": k.type_name, "202": k.type_name}))
    if "deletecollection" in verbs:
        params = tuple(p for p in LIST_PARAMS if p.name not in ("watch", "allowWatchBookmarks"))
        coll.ops.append(Operation("delete", f"delete{gv}Collection{scoped}{k.kind}",
                                  f"Delete every {k.kind} that matches the selectors.", "deletecollection",
                                  gvk, DELETE_PARAMS + params, "V1DeleteOptions", {"200": "V1Status"}))
    if coll.ops:
        out[f"{base}{ns}/{k.plural}"] = coll

    item = PathItem(item_params)
    if "get" in verbs:
        item.ops.append(Operation("get", f"read{gv}{scoped}{k.kind}", f"Read the named {k.kind}.", "get", gvk,
                                  (), None, {"200": k.type_name}))
    if "update" in verbs:
        item.ops.append(Operation("put", f"replace{gv}{scoped}{k.kind}", f"Replace the named {k.kind}.", "put",
                                  gvk, WRITE_PARAMS, k.type_name, {"200": k.type_name, "201": k.type_name}))
    if "patch" in verbs:
        item.ops.append(Operation("patch", f"patch{gv}{scoped}{k.kind}", f"Partially update the named {k.kind}.",
                                  "patch", gvk, PATCH_PARAMS, PATCH, {"200": k.type_name, "201": k.type_name}))
    if "delete" in verbs:
        item.ops.append(Operation("delete", f"delete{gv}{scoped}{k.kind}", f"Delete the named {k.kind}.",
                                  "delete", gvk, DELETE_PARAMS, "V1DeleteOptions",
                                  {"200": "V1Status", "202": "V1Status"}))
    if item.ops:
        out[f"{base}{ns}/{k.plural}/{{name}}"] = item

    if k.namespaced and "list" in verbs:
        out[f"{base}/{k.plural}"] = PathItem((P_PRETTY,), [Operation(
            "get", f"list{gv}{k.kind}ForAllNamespaces", f"List {k.kind} objects in all namespaces.", "list",
            gvk, LIST_PARAMS, None, {"200": list_model}, watch=True)])

    if "watch" in verbs:
        watch_params = tuple(p for p in LIST_PARAMS)
        out[f"{base}/watch{ns}/{k.plural}"] = PathItem(watch_params + coll_params, [Operation(
            "get", f"watch{gv}{scoped}{k.kind}List",
            f"Watch changes to a list of {k.kind}. Deprecated: use watch=true on the list call.",
            "watchlist", gvk, (), None, {"200": WATCH_EVENT_MODEL}, watch=True)])
        out[f"{base}/watch{ns}/{k.plural}/{{name}}"] = PathItem(watch_params + item_params, [Operation(
            "get", f"watch{gv}{scoped}{k.kind}",
            f"Watch changes to one {k.kind}. Deprecated: use watch=true with a fieldSelector on the list call.",
            "watch", gvk, (), None, {"200": WATCH_EVENT_MODEL}, watch=True)])
        if k.namespaced:
            out[f"{base}/watch/{k.plural}"] = PathItem(watch_params + (P_PRETTY,), [Operation(
                "get", f"watch{gv}{k.kind}ListForAllNamespaces",
                f"Watch changes to {k.kind} objects in all namespaces. Deprecated: use watch=true on the list call.",
                "watchlist", gvk, (), None, {"200": WATCH_EVENT_MODEL}, watch=True)])

    item_path = f"{base}{ns}/{k.plural}/{{name}}"
    for sub in k.subresources:
        out.update(_subresource_paths(k, sub, item_path, item_params, gv, scoped, gvk))
    return out


def _subresource_paths(k: Kind, sub: str, item_path: str, params: tuple[Param, ...], gv: str, scoped: str,
                       gvk: Obj) -> dict[str, PathItem]:
    stem = f"{gv}{scoped}{k.kind}"
    if sub == "status":
        return {f"{item_path}/status": PathItem(params, [
            Operation("get", f"read{stem}Status", f"Read the status of the named {k.kind}.", "get", gvk,
                      (), None, {"200": k.type_name}),
            Operation("put", f"replace{stem}Status", f"Replace the status of the named {k.kind}.", "put", gvk,
                      WRITE_PARAMS, k.type_name, {"200": k.type_name, "201": k.type_name}),
            Operation("patch", f"patch{stem}Status", f"Partially update the status of the named {k.kind}.",
                      "patch", gvk, PATCH_PARAMS, PATCH, {"200": k.type_name, "201": k.type_name}),
        ])}
    if sub == "binding":
        binding = _gvk("", "v1", "Binding")
        return {f"{item_path}/binding": PathItem(params, [Operation(
            "post", f"create{stem}Binding", f"Bind the {k.kind} to a node.", "post", binding, WRITE_PARAMS,
            "V1Binding", {"200": "V1Binding", "201": "V1Binding", "202": "V1Binding"})])}
    if sub == "eviction":
        eviction = _gvk("policy", "v1", "Eviction")
        return {f"{item_path}/eviction": PathItem(params, [Operation(
            "post", f"create{stem}Eviction", f"Evict the {k.kind}, subject to disruption budgets.", "post",
            eviction, WRITE_PARAMS, "V1Eviction", {"200": "V1Eviction", "201": "V1Eviction", "202": "V1Eviction"})])}
    if sub == "log":
        return {f"{item_path}/log": PathItem(params, [Operation(
            "get", f"read{stem}Log", f"Read the log of a container of the named {k.kind}.", "get", gvk,
            LOG_PARAMS, None, {"200": STRING})])}
    if sub == "finalize":
        return {f"{item_path}/finalize": PathItem((params[0], P_PRETTY), [Operation(
            "put", f"replace{stem}Finalize", f"Replace the finalizers of the named {k.kind}.", "put", gvk,
            WRITE_PARAMS, k.type_name, {"200": k.type_name, "201": k.type_name})])}
    if sub == "proxy":
        options = _gvk(k.group, k.version, f"{k.kind}ProxyOptions")
        path_param = Param("path", "path", "string", "Path to forward the request to.", True)
        query_path = Param("path", "query", "string", "Path to forward the request to.")
        out = {}
        for url, extra, suffix in ((f"{item_path}/proxy", (query_path,), ""),
                                   (f"{item_path}/proxy/{{path}}", (path_param, query_path), "WithPath")):
            ops = [Operation(m, f"connect{gv}{m.capitalize()}{scoped}{k.kind}Proxy{suffix}",
                             f"Forward {m.upper()} requests to the proxy of the {k.kind}.", "connect", options,
                             (), None, {"200": STRING})
                   for m in ("delete", "get", "head", "options", "patch", "post", "put")]
            out[url] = PathItem(params[:1] + extra, ops)
        return out
    return {}


# --- rendering of operations ----------------------------------------------------------


def _render_param(p: Param, version: str) -> Obj:
    out: Obj = {"description": p.description, "in": p.location, "name": p.name}
    if p.required:
        out["required"] = True
    if version == "v2":
        out.update({"type": p.type, "uniqueItems": True})
    else:
        out["schema"] = {"type": p.type, "uniqueItems": True}
    return out


def _response_schema(r: _Renderer, model: str) -> Obj:
    return {"type": "string"} if model == STRING else r.need(model)


_STATUS_TEXT = {"200": "OK", "201": "Created", "202": "Accepted"}


def _render_operation(r: _Renderer, op: Operation, tags: list[str]) -> Obj:
    produces = ["application/json", "application/yaml"]
    if op.watch:
        produces.append("application/json;stream=watch")
    if STRING in op.responses.values():
        produces = ["text/plain", "application/json"]
    consumes = list(PATCH_TYPES) if op.body == PATCH else ["*/*"]
    out: Obj = {"description": op.description, "operationId": op.op_id,
                "parameters": [_render_param(p, r.version) for p in op.params]}
    if r.version == "v2":
        out = {"consumes": consumes, "produces": produces, "schemes": ["https"], **out}
        if op.body is not None:
            body_schema = r.special(PATCH) if op.body == PATCH else r.need(op.body)
            out["parameters"].append({"in": "body", "name": "body", "required": op.body != "V1DeleteOptions",
                                      "schema": body_schema})
        responses: Obj = {}
        for code, model in op.responses.items():
            responses[code] = {"description": _STATUS_TEXT[code], "schema": _response_schema(r, model)}
    else:
        if op.body is not None:
            body_schema = r.special(PATCH) if op.body == PATCH else r.need(op.body)
            out["requestBody"] = {"content": {mt: {"schema": body_schema} for mt in consumes}}
            if op.body != "V1DeleteOptions":
                out["requestBody"]["required"] = True
        responses = {}
        for code, model in op.responses.items():
            schema_ = _response_schema(r, model)
            responses[code] = {"content": {mt: {"schema": schema_} for mt in produces},
                               "description": _STATUS_TEXT[code]}
    if not out["parameters"]:
        del out["parameters"]
    responses["401"] = {"description": "Unauthorized"}
    out["responses"] = responses
    out["tags"] = tags
    out["x-kubernetes-action"] = op.action
    out["x-kubernetes-group-version-kind"] = op.gvk
    return out


def _render_paths(r: _Renderer, kinds: Iterable[Kind]) -> dict[str, Obj]:
    paths: dict[str, Obj] = {}
    for k in kinds:
        tags = [tag(k.group, k.version)]
        for url, item in resource_paths(k).items():
            rendered: Obj = {op.method: _render_operation(r, op, tags) for op in item.ops}
            rendered["parameters"] = [_render_param(p, r.version) for p in item.params]
            paths[url] = dict(sorted(rendered.items()))
    return dict(sorted(paths.items()))


_BEARER = {"description": "Bearer token authentication.", "in": "header", "name": "authorization",
           "type": "apiKey"}


def build_v2(kinds: Sequence[Kind]) -> Obj:
    """The swagger 2.0 document of every served kind (/openapi/v2)."""
    r = _Renderer("v2", group_version_kinds(kinds))
    paths = _render_paths(r, kinds)
    for k in kinds:  # lists and kinds are reachable from paths already; keep them even without verbs
        r.need(k.type_name)
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "definitions": r.drain(),
        "securityDefinitions": {"BearerToken": _BEARER},
        "security": [{"BearerToken": []}],
    }


def group_version_path(group: str, version: str) -> str:
    """The /openapi/v3 discovery key of a group version: "api/v1" or "apis/<group>/<version>"."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def build_v3_group_version(kinds: Sequence[Kind], path: str) -> Obj | None:
    """The OpenAPI 3.0 document of one group version (/openapi/v3/<path>), or None if not served."""
    selected = [k for k in kinds if group_version_path(k.group, k.version) == path.strip("/")]
    if not selected:
        return None
    r = _Renderer("v3", group_version_kinds(kinds))
    paths = _render_paths(r, selected)
    for k in selected:
        r.need(k.type_name)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": r.drain(), "securitySchemes": {"BearerToken": _BEARER}},
        "security": [{"BearerToken": []}],
    }


def content_hash(body: bytes) -> str:
    """Hash used in serverRelativeURL and as ETag (upper-case hex SHA-512, like upstream)."""
    return hashlib.sha512(body).hexdigest().upper()


def build_v3_index(kinds: Sequence[Kind]) -> Obj:
    """The /openapi/v3 discovery document: each group version and the URL of its document."""
    paths = {}
    for path in sorted({group_version_path(k.group, k.version) for k in kinds}):
        body = v3_group_version_bytes(tuple(kinds), path)
        assert body is not None
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={content_hash(body)}"}
    return {"paths": paths}


# --- cached bytes -------------------------------------------------------------------------

_CACHE: dict[tuple[Any, ...], bytes | None] = {}


def _kinds_key(kinds: Sequence[Kind]) -> tuple[tuple[str, str, str], ...]:
    return tuple((k.group, k.version, k.plural) for k in kinds)


def _cached(key: tuple[Any, ...], build: Any, encode: Any = orjson.dumps) -> Any:
    if key not in _CACHE:
        doc = build()
        _CACHE[key] = None if doc is None else encode(doc)
    return _CACHE[key]


def _default_kinds(kinds: Sequence[Kind] | None) -> Sequence[Kind]:
    if kinds is not None:
        return kinds
    from everynode.api.kinds import KINDS

    return KINDS


def v2_bytes(kinds: Sequence[Kind] | None = None) -> bytes:
    kinds = _default_kinds(kinds)
    return _cached(("v2", _kinds_key(kinds)), lambda: build_v2(kinds))


def v2_protobuf_bytes(kinds: Sequence[Kind] | None = None) -> bytes:
    """The same document as gnostic's protobuf ``Document`` (what kubectl asks for)."""
    from everynode.apiserver import openapi_proto

    kinds = _default_kinds(kinds)
    return _cached(("v2-protobuf", _kinds_key(kinds)), lambda: orjson.loads(v2_bytes(kinds)),
                   openapi_proto.document)


def v3_index_bytes(kinds: Sequence[Kind] | None = None) -> bytes:
    kinds = _default_kinds(kinds)
    return _cached(("v3", _kinds_key(kinds)), lambda: build_v3_index(kinds))


def v3_group_version_bytes(kinds: Sequence[Kind] | None, path: str) -> bytes | None:
    """The document of ``path`` ("api/v1", "apis/apps/v1"; no leading slash, no query), or None."""
    kinds = _default_kinds(kinds)
    path = path.strip("/")
    return _cached(("v3", _kinds_key(kinds), path), lambda: build_v3_group_version(kinds, path))
