"""/openapi/v2 as gnostic's protobuf Document (``apiserver/openapi_proto.py``): field numbers
pinned against OpenAPIv2.proto, scalar encodings, refusals, and the Accept negotiation."""

from __future__ import annotations

import struct

import orjson
import pytest

from everynode.apiserver import openapi, openapi_proto
from everynode.apiserver.protobuf import iter_fields

PB = openapi_proto.PROTOBUF
PB_ANSWER = openapi_proto.PROTOBUF_ANSWER


def fields(buf: bytes) -> dict[int, list]:
    """Field number -> every value of it, in order (sub-messages as raw bytes)."""
    out: dict[int, list] = {}
    for number, _, value in iter_fields(buf):
        out.setdefault(number, []).append(value)
    return out


def named(buf: bytes, number: int) -> dict[str, bytes]:
    """A repeated Named* field as name -> value bytes."""
    out = {}
    for entry in fields(buf).get(number, []):
        f = fields(entry)
        out[f[1][0].decode()] = f[2][0]
    return out


def vendor(buf: bytes, number: int) -> dict[str, object]:
    return {k: orjson.loads(fields(v)[2][0]) for k, v in named(buf, number).items()}


DOC = orjson.loads(openapi.v2_bytes())
ENCODED = openapi.v2_protobuf_bytes()


def test_document_top_level_fields():
    top = fields(ENCODED)
    assert top[1] == [b"2.0"]  # swagger
    info = fields(top[2][0])
    assert info[1] == [b"Kubernetes"] and info[2] == [b"unversioned"]
    assert set(named(top[9][0], 1)) == set(DOC["definitions"])  # definitions
    security = fields(top[12][0])  # SecurityRequirement: BearerToken -> []
    assert fields(security[1][0])[1] == [b"BearerToken"]
    definitions = named(top[13][0], 1)  # securityDefinitions: apiKey is field 2 of the item
    api_key = fields(fields(definitions["BearerToken"])[2][0])
    assert (api_key[1], api_key[2], api_key[3]) == ([b"apiKey"], [b"authorization"], [b"header"])


def test_definition_schema_fields_and_vendor_extensions():
    definitions = named(fields(ENCODED)[9][0], 1)
    ds = fields(definitions["io.k8s.api.apps.v1.DaemonSet"])
    assert fields(ds[22][0])[1] == [b"object"]  # type -> TypeItem.value
    props = named(ds[25][0], 1)  # properties
    assert set(props) == set(DOC["definitions"]["io.k8s.api.apps.v1.DaemonSet"]["properties"])
    assert fields(props["spec"])[1] == [b"#/definitions/io.k8s.api.apps.v1.DaemonSetSpec"]  # $ref
    assert vendor(definitions["io.k8s.api.apps.v1.DaemonSet"], 31) == {
        "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "DaemonSet", "version": "v1"}]}
    spec = fields(definitions["io.k8s.api.apps.v1.DaemonSetSpec"])
    assert [r.decode() for r in spec[19]] == DOC["definitions"]["io.k8s.api.apps.v1.DaemonSetSpec"]["required"]


def test_paths_operations_and_parameters():
    paths = named(fields(ENCODED)[8][0], 2)  # Paths.path
    item = fields(paths["/apis/apps/v1/namespaces/{namespace}/daemonsets"])
    get, post = fields(item[2][0]), fields(item[4][0])
    assert get[5] == [b"listAppsV1NamespacedDaemonSet"] and post[5] == [b"createAppsV1NamespacedDaemonSet"]
    body = [fields(fields(p)[1][0]) for p in post[8]]  # ParametersItem.parameter -> Parameter
    body_param = fields(next(b[1][0] for b in body if 1 in b))  # Parameter.body_parameter
    assert body_param[3] == [b"body"] and body_param[4] == [1]  # in, required
    queries = [fields(b[2][0]) for b in body if 2 in b]  # Parameter.non_body_parameter
    names = {fields(q[3][0])[4][0].decode() for q in queries if 3 in q}  # query sub-schema, name
    assert {"dryRun", "fieldManager", "fieldValidation"} <= names
    path_param = fields(fields(fields(item[9][0])[1][0])[2][0])  # the path item's own parameter
    assert fields(path_param[4][0])[4] == [b"namespace"]  # path sub-schema: name is field 4
    responses = named(get[9][0], 1)
    assert set(responses) == {"200", "401"}
    ok = fields(fields(responses["200"])[1][0])  # ResponseValue.response
    assert ok[1] == [b"OK"]
    assert vendor(item[2][0], 13)["x-kubernetes-action"] == "list"


@pytest.mark.parametrize("schema, number, expected", [
    ({"maximum": 2.5}, 7, struct.unpack("<Q", struct.pack("<d", 2.5))[0]),
    ({"minLength": 3}, 12, 3),
    ({"minItems": -1}, 15, (1 << 64) - 1),  # a negative int64: ten bytes of two's complement
    ({"uniqueItems": True}, 16, 1),
    ({"description": ""}, None, None),  # proto3: zero values are left out
    ({"uniqueItems": False}, None, None),
])
def test_scalar_encodings(schema, number, expected):
    f = fields(openapi_proto.encode("Schema", schema))
    if number is None:
        assert f == {}
    else:
        assert f == {number: [expected]}


def test_additional_properties_false_is_written_and_types_may_be_lists():
    f = fields(openapi_proto.encode("Schema", {"additionalProperties": False, "type": ["string", "null"]}))
    assert fields(f[21][0]) == {2: [0]}
    assert fields(f[22][0])[1] == [b"string", b"null"]
    f = fields(openapi_proto.encode("Schema", {"enum": ["a", 1], "default": {"k": "v"}}))
    assert [fields(e)[2][0] for e in f[20]] == [b'"a"', b"1"]
    assert orjson.loads(fields(f[5][0])[2][0]) == {"k": "v"}


@pytest.mark.parametrize("message, value, words", [
    ("Schema", {"nullable": True}, "Schema: no protobuf field for 'nullable'"),
    ("Schema", {"minLength": "3"}, "Schema.minLength: expected an integer"),
    ("Schema", {"properties": []}, "expected an object of Schema"),
    ("Operation", {"parameters": [{"in": "cookie", "name": "c"}]}, "unknown location 'cookie'"),
    ("Document", {"securityDefinitions": {"o": {"type": "oauth2"}}}, "unsupported type 'oauth2'"),
])
def test_what_the_tables_do_not_know_is_refused(message, value, words):
    with pytest.raises(ValueError) as exc:
        openapi_proto.encode(message, value)
    assert words in str(exc.value)


@pytest.mark.parametrize("accept, expected", [
    (None, "application/json"),
    ("", "application/json"),
    ("application/json", "application/json"),
    ("*/*", "application/json"),
    ("application/*", "application/json"),
    (PB, PB_ANSWER),  # what client-go sends
    (PB_ANSWER, PB_ANSWER),
    (f"application/json;q=0.5, {PB}", PB_ANSWER),
    (f"{PB};q=0.9, application/json", "application/json"),
    (f"{PB};q=0, application/json", "application/json"),
    ("text/html", None),
    ("application/yaml", None),
    ("application/json;q=0", "application/json"),  # kube-openapi still serves a q=0 clause, last
    ("application/json;q=x", "application/json"),
    ("text/html, */*;q=0.8", "application/json"),
    (f"*/*, {PB}", PB_ANSWER),  # specific before wildcard at the same q
    (f"application/*, {PB}", PB_ANSWER),
    ("*", "application/json"),
])
def test_negotiation(accept, expected):
    assert openapi_proto.negotiate(accept) == expected
