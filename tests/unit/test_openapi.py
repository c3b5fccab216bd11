from __future__ import annotations

from typing import Any

import orjson
import pytest

from everynode.api import schema
from everynode.api.kinds import KINDS
from everynode.apiserver import openapi

V2 = openapi.build_v2(KINDS)
V3_PATHS = sorted({openapi.group_version_path(k.group, k.version) for k in KINDS})
V3 = {path: openapi.build_v3_group_version(KINDS, path) for path in V3_PATHS}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def refs(node: Any) -> list[str]:
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                out.append(value)
            else:
                out.extend(refs(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(refs(value))
    return out


def operations(doc: dict) -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, item in doc["paths"].items()
            for method, op in item.items() if method in METHODS]


def schemas_of(doc: dict) -> dict:
    return doc["definitions"] if "definitions" in doc else doc["components"]["schemas"]


def resolve(doc: dict, ref: str) -> dict:
    return schemas_of(doc)[ref.rsplit("/", 1)[-1]]


def docs() -> list[tuple[str, dict]]:
    return [("v2", V2), *V3.items()]


@pytest.mark.parametrize(("model", "name"), [
    ("V1DaemonSet", "io.k8s.api.apps.v1.DaemonSet"),
    ("V1RollingUpdateDaemonSet", "io.k8s.api.apps.v1.RollingUpdateDaemonSet"),
    ("V1ControllerRevisionList", "io.k8s.api.apps.v1.ControllerRevisionList"),
    ("V1PodSpec", "io.k8s.api.core.v1.PodSpec"),
    ("V1Toleration", "io.k8s.api.core.v1.Toleration"),
    ("CoreV1Event", "io.k8s.api.core.v1.Event"),
    ("CoreV1EventList", "io.k8s.api.core.v1.EventList"),
    ("EventsV1Event", "io.k8s.api.events.v1.Event"),
    ("V1ObjectMeta", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
    ("V1LabelSelector", "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
    ("V1DeleteOptions", "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"),
    ("V1Lease", "io.k8s.api.coordination.v1.Lease"),
    ("V1PriorityClass", "io.k8s.api.scheduling.v1.PriorityClass"),
    ("V1Eviction", "io.k8s.api.policy.v1.Eviction"),
])
def test_definition_names(model: str, name: str) -> None:
    assert openapi.definition_name(model) == name


@pytest.mark.parametrize(("label", "doc"), docs())
def test_every_ref_resolves(label: str, doc: dict) -> None:
    prefix = "#/definitions/" if label == "v2" else "#/components/schemas/"
    names = schemas_of(doc)
    found = refs(doc)
    assert found
    for ref in found:
        assert ref.startswith(prefix), ref
        assert ref[len(prefix):] in names, ref


@pytest.mark.parametrize(("label", "doc"), docs())
def test_operation_gvks_have_tagged_schemas(label: str, doc: dict) -> None:
    tagged = [g for s in schemas_of(doc).values() for g in s.get("x-kubernetes-group-version-kind", [])]
    for path, method, op in operations(doc):
        gvk = op["x-kubernetes-group-version-kind"]
        assert set(gvk) == {"group", "version", "kind"}, (path, method)
        if op["x-kubernetes-action"] != "connect":
            assert gvk in tagged, (path, method, gvk)


def test_every_served_kind_and_list_has_a_gvk_schema() -> None:
    for k in KINDS:
        for doc in (V2, V3[openapi.group_version_path(k.group, k.version)]):
            for kind_name in (k.kind, f"{k.kind}List"):
                gvk = {"group": k.group, "version": k.version, "kind": kind_name}
                hits = [n for n, s in schemas_of(doc).items() if gvk in s.get("x-kubernetes-group-version-kind", [])]
                assert len(hits) == 1, (k.plural, kind_name, hits)


@pytest.mark.parametrize(("label", "doc"), docs())
def test_write_operations_accept_field_validation(label: str, doc: dict) -> None:
    seen = 0
    for path, method, op in operations(doc):
        if method not in ("post", "put", "patch") or op["x-kubernetes-action"] == "connect":
            continue
        names = {p["name"]: p for p in op["parameters"]}
        for param in ("dryRun", "fieldManager", "fieldValidation"):
            assert names[param]["in"] == "query", (path, method, param)
        if method == "patch":
            assert "force" in names
            seen += 1
    assert seen


def test_daemonset_patch_ops_all_offer_field_validation() -> None:
    # kubectl checks the first PATCH operation it finds for the GVK, in map order
    doc = V3["apis/apps/v1"]
    gvk = {"group": "apps", "version": "v1", "kind": "DaemonSet"}
    patches = [op for _, method, op in operations(doc)
               if method == "patch" and op["x-kubernetes-group-version-kind"] == gvk]
    assert len(patches) == 2  # the object and its status
    for op in patches:
        assert "fieldValidation" in [p["name"] for p in op["parameters"]]


@pytest.mark.parametrize(("label", "doc"), docs())
def test_max_surge_is_int_or_string(label: str, doc: dict) -> None:
    if "apps" not in label and label != "v2":
        return
    rolling = schemas_of(doc)["io.k8s.api.apps.v1.RollingUpdateDaemonSet"]["properties"]
    for field in ("maxSurge", "maxUnavailable"):
        prop = rolling[field]
        ref = prop["$ref"] if label == "v2" else prop["allOf"][0]["$ref"]
        assert ref.endswith("io.k8s.apimachinery.pkg.util.intstr.IntOrString")
        assert resolve(doc, ref)["format"] == "int-or-string"
        assert prop["description"]


def test_update_strategy_descriptions() -> None:
    names = V3["apis/apps/v1"]["components"]["schemas"]
    strategy = names["io.k8s.api.apps.v1.DaemonSetUpdateStrategy"]
    assert strategy["description"]
    assert all(p.get("description") for p in strategy["properties"].values())
    spec = names["io.k8s.api.apps.v1.DaemonSetSpec"]
    assert spec["properties"]["updateStrategy"]["description"]
    assert spec["required"] == ["selector", "template"]


def test_patch_meta_extensions() -> None:
    containers = V3["api/v1"]["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    tolerations = V2["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["tolerations"]
    assert "x-kubernetes-patch-strategy" not in tolerations


def test_scalar_types() -> None:
    meta = V3["api/v1"]["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
    assert meta["properties"]["creationTimestamp"]["allOf"][0]["$ref"].endswith("meta.v1.Time")
    assert meta["properties"]["labels"] == {"type": "object", "additionalProperties": {"type": "string", "default": ""},
                                            "description": meta["properties"]["labels"]["description"]}
    lease = V3["apis/coordination.k8s.io/v1"]["components"]["schemas"]["io.k8s.api.coordination.v1.LeaseSpec"]
    assert lease["properties"]["renewTime"]["allOf"][0]["$ref"].endswith("meta.v1.MicroTime")
    cr = V2["definitions"]["io.k8s.api.apps.v1.ControllerRevision"]
    assert cr["properties"]["data"]["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.runtime.RawExtension"
    limits = V2["definitions"]["io.k8s.api.core.v1.ResourceRequirements"]["properties"]["limits"]
    assert limits["additionalProperties"] == {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"}


def test_required_and_gvk_of_meta_types() -> None:
    defs = V2["definitions"]
    assert defs["io.k8s.api.core.v1.Container"]["required"] == schema.required("V1Container")
    delete = defs["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]["x-kubernetes-group-version-kind"]
    assert {"group": "apps", "version": "v1", "kind": "DeleteOptions"} in delete
    assert {"group": "", "version": "v1", "kind": "DeleteOptions"} in delete
    assert defs["io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"]["required"] == ["type", "object"]


def test_paths_of_a_namespaced_kind() -> None:
    paths = V3["apis/apps/v1"]["paths"]
    item = paths["/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}"]
    assert sorted(k for k in item if k in METHODS) == ["delete", "get", "patch", "put"]
    assert [p["name"] for p in item["parameters"]] == ["name", "namespace", "pretty"]
    assert item["patch"]["operationId"] == "patchAppsV1NamespacedDaemonSet"
    assert set(item["patch"]["requestBody"]["content"]) >= {"application/strategic-merge-patch+json",
                                                           "application/merge-patch+json",
                                                           "application/json-patch+json"}
    coll = paths["/apis/apps/v1/namespaces/{namespace}/daemonsets"]
    assert coll["get"]["x-kubernetes-action"] == "list"
    assert coll["delete"]["x-kubernetes-action"] == "deletecollection"
    assert paths["/apis/apps/v1/daemonsets"]["get"]["operationId"] == "listAppsV1DaemonSetForAllNamespaces"
    status = paths["/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}/status"]
    assert status["put"]["operationId"] == "replaceAppsV1NamespacedDaemonSetStatus"
    assert "/apis/apps/v1/watch/namespaces/{namespace}/daemonsets/{name}" in paths


def test_paths_of_core_kinds() -> None:
    paths = V3["api/v1"]["paths"]
    assert paths["/api/v1/nodes/{name}"]["get"]["operationId"] == "readCoreV1Node"
    assert "/api/v1/namespaces/{namespace}/nodes" not in paths
    binding = paths["/api/v1/namespaces/{namespace}/pods/{name}/binding"]["post"]
    assert binding["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1", "kind": "Binding"}
    eviction = paths["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]
    assert eviction["x-kubernetes-group-version-kind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    log = paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]
    assert "follow" in [p["name"] for p in log["parameters"]]
    assert paths["/api/v1/namespaces/{name}/finalize"]["put"]["operationId"] == "replaceCoreV1NamespaceFinalize"


def test_v2_operation_shape() -> None:
    op = V2["paths"]["/apis/apps/v1/namespaces/{namespace}/daemonsets"]["post"]
    body = [p for p in op["parameters"] if p["in"] == "body"]
    assert body == [{"in": "body", "name": "body", "required": True,
                     "schema": {"$ref": "#/definitions/io.k8s.api.apps.v1.DaemonSet"}}]
    field_validation = next(p for p in op["parameters"] if p["name"] == "fieldValidation")
    assert field_validation["type"] == "string"
    assert op["responses"]["201"]["schema"] == {"$ref": "#/definitions/io.k8s.api.apps.v1.DaemonSet"}


# --- what kubectl explain (OpenAPI v3, plaintext template) does --------------------------


def explain(doc: dict, group: str, version: str, plural: str, field_path: list[str]) -> tuple[dict, dict]:
    """Find the GVK from the resource's operations, its schema, then walk field_path.

    Returns (field schema as written in its parent, resolved schema)."""
    prefix = f"/apis/{group}" if group else "/api"
    candidates = [f"{prefix}/{version}/{plural}", f"{prefix}/{version}/{plural}/{{name}}",
                  f"{prefix}/{version}/namespaces/{{namespace}}/{plural}",
                  f"{prefix}/{version}/namespaces/{{namespace}}/{plural}/{{name}}"]
    gvk = None
    for path in candidates:
        for method in ("get", "post", "put", "patch", "delete"):
            op = doc["paths"].get(path, {}).get(method)
            if op and "x-kubernetes-group-version-kind" in op:
                gvk = op["x-kubernetes-group-version-kind"]
                break
        if gvk:
            break
    assert gvk is not None, plural
    top = next(s for s in doc["components"]["schemas"].values()
               if gvk in s.get("x-kubernetes-group-version-kind", []))

    def deref(node: dict) -> dict:
        while True:
            if "$ref" in node:
                node = resolve(doc, node["$ref"])
            elif "allOf" in node and "properties" not in node:
                node = node["allOf"][0]
            elif "items" in node:
                node = node["items"]
            else:
                return node

    written, current = top, top
    for name in field_path:
        written = current["properties"][name]
        current = deref(written)
    return written, current


@pytest.mark.parametrize(("group", "plural", "field_path", "must_have"), [
    ("apps", "daemonsets", ["spec", "updateStrategy"], {"type", "rollingUpdate"}),
    ("apps", "daemonsets", ["spec", "updateStrategy", "rollingUpdate"], {"maxSurge", "maxUnavailable"}),
    ("apps", "daemonsets", ["spec", "template", "spec", "containers"], {"name", "image", "ports"}),
    ("", "pods", ["spec", "containers"], {"name", "image", "env"}),
    ("", "pods", ["spec", "tolerations"], {"key", "operator", "effect"}),
    ("", "nodes", ["spec"], {"taints", "unschedulable"}),
    ("apps", "controllerrevisions", [], {"data", "revision"}),
    ("coordination.k8s.io", "leases", ["spec"], {"holderIdentity"}),
    ("scheduling.k8s.io", "priorityclasses", [], {"value", "globalDefault"}),
    ("", "events", ["involvedObject"], {"kind", "name"}),
    ("", "namespaces", ["status"], {"phase"}),
])
def test_kubectl_explain_walk(group: str, plural: str, field_path: list[str], must_have: set[str]) -> None:
    doc = V3[openapi.group_version_path(group, "v1")]
    written, resolved = explain(doc, group, "v1", plural, field_path)
    assert must_have <= set(resolved["properties"])
    if field_path:
        assert written.get("description"), field_path
    assert resolved.get("description")


def test_v3_index_points_at_served_documents() -> None:
    index = orjson.loads(openapi.v3_index_bytes(KINDS))
    assert sorted(index["paths"]) == ["api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1",
                                      "apis/scheduling.k8s.io/v1"]
    for path, entry in index["paths"].items():
        url = entry["serverRelativeURL"]
        assert url.startswith(f"/openapi/v3/{path}?hash=")
        body = openapi.v3_group_version_bytes(KINDS, path)
        assert url.endswith(openapi.content_hash(body))
        assert orjson.loads(body)["openapi"].startswith("3.0")


def test_bytes_are_cached_and_unknown_paths_are_none() -> None:
    assert openapi.v2_bytes(KINDS) is openapi.v2_bytes(tuple(KINDS))
    assert openapi.v3_group_version_bytes(KINDS, "apis/apps/v1") is openapi.v3_group_version_bytes(
        None, "/apis/apps/v1")
    assert openapi.v3_group_version_bytes(KINDS, "apis/batch/v1") is None
    assert orjson.loads(openapi.v2_bytes())["swagger"] == "2.0"


def test_descriptions_name_real_fields() -> None:
    from everynode.api import descriptions

    for type_name, text in descriptions.TYPES.items():
        assert type_name in schema.types() and text
    for type_name, fields in descriptions.FIELDS.items():
        known = schema.fields(type_name)
        for name in fields:
            assert name in known, (type_name, name)


def test_enums_name_real_string_fields() -> None:
    for (type_name, name), values in openapi.ENUMS.items():
        assert schema.fields(type_name)[name] == "string", (type_name, name)
        assert list(values) == sorted(values)
    strategy = V2["definitions"]["io.k8s.api.apps.v1.DaemonSetUpdateStrategy"]["properties"]["type"]
    assert strategy["enum"] == ["OnDelete", "RollingUpdate"]
