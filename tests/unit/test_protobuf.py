"""The protobuf body decoder: bodies encoded here by hand, bodies captured from
kubectl (tests/data/protobuf), errors, and the field tables against the
served schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from everynode.api import schema
from everynode.api.errors import ApiError
from everynode.apiserver import decode, protobuf
from everynode.apiserver.protobuf_tables import MESSAGES, TOP_LEVEL, parse_table

DATA = Path(__file__).resolve().parent.parent / "data" / "protobuf"
PB = "application/vnd.kubernetes.protobuf"

# ------------------------------------------------------------- tiny encoder


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negatives as 10-byte two's complement, like Go
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(num: int, wt: int) -> bytes:
    return varint(num << 3 | wt)


def v(num: int, value: int | bool) -> bytes:
    return key(num, 0) + varint(int(value))


def b(num: int, data: bytes | str) -> bytes:
    data = data.encode() if isinstance(data, str) else data
    return key(num, 2) + varint(len(data)) + data


def m(num: int, *fields: bytes) -> bytes:
    return b(num, b"".join(fields))


def entry(num: int, k: str, value: bytes) -> bytes:
    """A map entry: key 1, value 2 (value already encoded as field 2)."""
    return m(num, b(1, k), value)


def envelope(api_version: str, kind: str, *fields: bytes, extra: bytes = b"") -> bytes:
    return b"k8s\x00" + m(1, b(1, api_version), b(2, kind)) + m(2, *fields) + extra


def go_meta(name: str = "", **more: bytes) -> bytes:
    """ObjectMeta as go-to-protobuf writes it: every non-pointer field, zero or not."""
    return m(1, b(1, name), b(2, ""), b(3, ""), b(4, ""), b(5, ""), b(6, ""), v(7, 0), b(8, b""),
             *more.values())


# ---------------------------------------------------------- hand-made bodies

CASES = [
    ("namespace-go-zeros",
     envelope("v1", "Namespace", go_meta("ns1"), m(2), m(3, b(1, ""))),
     {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "ns1"}, "spec": {}, "status": {}}),
    ("namespace-finalizers-and-labels",
     envelope("v1", "Namespace",
              m(1, b(1, "ns2"), entry(11, "team", b(2, "a")), entry(11, "empty", b""), b(14, "f1"), b(14, "f2")),
              m(2, b(1, "kubernetes"))),
     {"kind": "Namespace", "apiVersion": "v1",
      "metadata": {"name": "ns2", "labels": {"team": "a", "empty": ""}, "finalizers": ["f1", "f2"]},
      "spec": {"finalizers": ["kubernetes"]}}),
    ("eviction-keeps-zero-grace",
     envelope("policy/v1", "Eviction", m(1, b(1, "p"), b(3, "default")),
              m(2, v(1, 0), m(2, b(1, "uid-1")), b(5, "All"))),
     {"kind": "Eviction", "apiVersion": "policy/v1", "metadata": {"name": "p", "namespace": "default"},
      "deleteOptions": {"gracePeriodSeconds": 0, "preconditions": {"uid": "uid-1"}, "dryRun": ["All"]}}),
    ("eviction-v1beta1",
     envelope("policy/v1beta1", "Eviction", m(1, b(1, "p")), m(2, b(4, "Foreground"))),
     {"kind": "Eviction", "apiVersion": "policy/v1beta1", "metadata": {"name": "p"},
      "deleteOptions": {"propagationPolicy": "Foreground"}}),
    ("deleteoptions-pointers-keep-false",
     envelope("meta.k8s.io/v1", "DeleteOptions", v(1, 30), v(3, False), m(2, b(2, "")), v(6, True)),
     {"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1", "gracePeriodSeconds": 30,
      "orphanDependents": False, "preconditions": {"resourceVersion": ""},
      "ignoreStoreReadErrorWithClusterBreakingPotential": True}),
    ("binding",
     envelope("v1", "Binding", go_meta("pod-a"), m(2, b(1, "Node"), b(3, "worker-1"), b(5, "v1"), b(2, ""))),
     {"kind": "Binding", "apiVersion": "v1", "metadata": {"name": "pod-a"},
      "target": {"kind": "Node", "name": "worker-1", "apiVersion": "v1"}}),
    ("metadata-times-owners-managed-fields",
     envelope("v1", "Namespace", m(
         1, b(1, "ns3"), v(7, 4), m(8, v(1, 1700000000), v(2, 5)), v(10, 0),
         entry(12, "note", b(2, "hi")),
         m(13, b(5, "apps/v1"), b(1, "DaemonSet"), b(3, "ds"), b(4, "u1"), v(6, True), v(7, False)),
         m(17, b(1, "kubectl"), b(2, "Update"), b(3, "v1"), m(4, v(1, 0)), b(6, "FieldsV1"),
           m(7, b(1, b'{"f:metadata":{}}'))))),
     {"kind": "Namespace", "apiVersion": "v1", "metadata": {
         "name": "ns3", "generation": 4, "creationTimestamp": "2023-11-14T22:13:20Z",
         "deletionGracePeriodSeconds": 0, "annotations": {"note": "hi"},
         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "uid": "u1",
                              "controller": True, "blockOwnerDeletion": False}],
         "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                            "time": "1970-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                            "fieldsV1": {"f:metadata": {}}}]}}),
    ("priorityclass-negative-and-zero",
     envelope("scheduling.k8s.io/v1", "PriorityClass", go_meta("low"), v(2, -5), v(3, False), b(4, "")),
     {"kind": "PriorityClass", "apiVersion": "scheduling.k8s.io/v1", "metadata": {"name": "low"},
      "value": -5}),
    ("pod-probes-quantities-inline-packed",
     envelope("v1", "Pod", go_meta("p"), m(
         2,
         m(1, b(1, "cfg"), m(2, m(19, m(1, b(1, "my-cm")), v(3, 0o644)))),
         m(2, b(1, "c"), b(2, "busybox"), b(5, ""),
           m(8, entry(1, "cpu", m(2, b(1, "250m"))), entry(2, "memory", m(2, b(1, "64Mi")))),
           m(10, m(1, m(2, b(1, "/healthz"), m(2, v(1, 0), v(2, 8080), b(3, "")))), v(2, 0), v(4, 5)),
           m(11, m(1, m(3, m(1, v(1, 1), b(3, "http"))))),
           m(7, b(1, "K"), b(2, ""), m(3, m(3, m(1, b(1, "my-cm")), b(2, "key"), v(3, False)))),
           m(15, v(2, False), v(4, 0)), v(16, False)),
         m(14, b(4, varint(1000) + varint(2000)), key(4, 0) + varint(3000), v(2, 0)),
         v(11, True), v(21, False), v(25, 0), b(3, "Never"))),
     {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}, "spec": {
         "volumes": [{"name": "cfg", "configMap": {"name": "my-cm", "defaultMode": 420}}],
         "containers": [{
             "name": "c", "image": "busybox",
             "resources": {"limits": {"cpu": "250m"}, "requests": {"memory": "64Mi"}},
             "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5},
             "readinessProbe": {"tcpSocket": {"port": "http"}},
             "env": [{"name": "K", "valueFrom": {"configMapKeyRef": {"name": "my-cm", "key": "key",
                                                                      "optional": False}}}],
             "securityContext": {"privileged": False, "runAsUser": 0}}],
         "securityContext": {"supplementalGroups": [1000, 2000, 3000], "runAsUser": 0},
         "hostNetwork": True, "automountServiceAccountToken": False, "priority": 0,
         "restartPolicy": "Never"}}),
    ("ssar",
     envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", go_meta(),
              m(2, m(1, b(2, "get"), b(5, "nodes"), m(9, b(1, "a=b"))))),
     {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "metadata": {},
      "spec": {"resourceAttributes": {"verb": "get", "resource": "nodes",
                                      "labelSelector": {"rawSelector": "a=b"}}}}),
    ("selfsubjectreview-extra",
     envelope("authentication.k8s.io/v1", "SelfSubjectReview", go_meta(),
              m(2, m(1, b(1, "admin"), b(3, "system:masters"), entry(4, "scope", m(2, b(1, "x"), b(1, "y")))))),
     {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {},
      "status": {"userInfo": {"username": "admin", "groups": ["system:masters"],
                              "extra": {"scope": ["x", "y"]}}}}),
]


@pytest.mark.parametrize("name,raw,want", CASES, ids=[c[0] for c in CASES])
def test_decode(name, raw, want):
    assert protobuf.decode(raw) == want


@pytest.mark.parametrize("name,raw,want", CASES[:3], ids=[c[0] for c in CASES[:3]])
def test_parse_dispatches_protobuf(name, raw, want):
    assert decode.parse(raw, PB) == want
    assert decode.parse(raw, PB + "; charset=binary") == want


# ----------------------------------------------------------- captured bodies

CAPTURED = sorted(p.stem for p in DATA.glob("*.pb"))


def test_captured_bodies_present():
    assert {"namespace", "pod-debug-node", "pod-debug-copy", "deleteoptions", "priorityclass"} <= set(CAPTURED)


@pytest.mark.parametrize("name", CAPTURED)
def test_captured_kubectl_bodies(name):
    got = protobuf.decode((DATA / f"{name}.pb").read_bytes())
    assert got == json.loads((DATA / f"{name}.json").read_text())


@pytest.mark.parametrize("name,type_name", [
    ("namespace", "V1Namespace"), ("pod-debug-node", "V1Pod"), ("pod-debug-node-restricted", "V1Pod"),
    ("pod-debug-copy", "V1Pod"), ("pod-debug-copy-plain", "V1Pod"), ("priorityclass", "V1PriorityClass"),
    ("deleteoptions", "V1DeleteOptions"),
])
def test_captured_bodies_fit_the_served_schema(name, type_name):
    obj = protobuf.decode((DATA / f"{name}.pb").read_bytes())
    assert decode.check(type_name, obj) == []


def test_debug_node_pod_content():
    pod = protobuf.decode((DATA / "pod-debug-node.pb").read_bytes())
    spec = pod["spec"]
    assert (spec["hostPID"], spec["hostNetwork"], spec["hostIPC"]) == (True, True, True)
    assert spec["volumes"] == [{"name": "host-root", "hostPath": {"path": "/"}}]
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert "workingDir" not in spec["containers"][0]  # Go's zero strings are not carried over


# -------------------------------------------------------------------- errors

NS = envelope("v1", "Namespace", go_meta("x"))


@pytest.mark.parametrize("raw,code,fragment", [
    (b"\x0a\x00", 400, "does not start with the Kubernetes protobuf prefix"),
    (b"k8s\x00\x0a", 400, "unexpected end of data inside a varint"),
    (b"k8s\x00" + key(2, 2) + varint(50) + b"abc", 400, "runs past the end"),
    (b"k8s\x00" + key(1, 3), 400, "unsupported wire type 3"),
    (b"k8s\x00\x00", 400, "illegal field number 0"),
    (b"k8s\x00" + b"\xff" * 11, 400, "varint longer than 10 bytes"),
    (envelope("v1", "Namespace", m(1, v(1, 5))), 400, "metadata.name: wrong wire type 0"),
    (envelope("v1", "Namespace", m(1, b(1, b"\xff\xfe"))), 400, "metadata.name: string is not valid UTF-8"),
    (envelope("v1", "Namespace", b(1, b"\x08")), 400, "unexpected end of data"),
    (envelope("v1", "ConfigMap", go_meta("c")), 415, "no protobuf decoding for ConfigMap in v1"),
    (envelope("apps/v1", "DaemonSet", go_meta("d")), 415, "no protobuf decoding for DaemonSet in apps/v1"),
    (b"k8s\x00" + m(2, go_meta("x")), 415, "no protobuf decoding for <no kind>"),
    (envelope("v1", "Pod", m(2, v(99, 1))), 415, "field 99 of PodSpec at spec is not known"),
    (envelope("v1", "Namespace", go_meta("x", extra=v(15, 1))), 415, "field 15 of ObjectMeta at metadata"),
    (NS + b(3, "gzip"), 415, "content encoding 'gzip' is not supported"),
    (NS + b(4, "application/json"), 415, "inner content type 'application/json'"),
])
def test_errors(raw, code, fragment):
    with pytest.raises(ApiError) as e:
        decode.parse(raw, PB)
    assert e.value.code == code
    assert e.value.reason == ("BadRequest" if code == 400 else "UnsupportedMediaType")
    assert fragment in e.value.message


def test_time_out_of_range_is_bad_request():
    raw = envelope("v1", "Namespace", m(1, m(8, v(1, 10**15))))
    with pytest.raises(ApiError) as e:
        decode.parse(raw, PB)
    assert e.value.code == 400 and "time out of range" in e.value.message


def test_empty_content_encoding_and_type_are_accepted():
    assert protobuf.decode(NS + b(3, "") + b(4, PB))["metadata"] == {"name": "x"}


# -------------------------------------------------------------------- tables

# Fields the served 1.37 schema has whose protobuf numbers are newer than the
# generated.proto the tables were taken from (decoding them answers 415).
KNOWN_GAPS = {
    "ClusterTrustBundleProjection": {"user"}, "ConfigMapVolumeSource": {"defaultUser"},
    "DownwardAPIVolumeFile": {"user"}, "DownwardAPIVolumeSource": {"defaultUser"},
    "EmptyDirVolumeSource": {"mode"}, "GRPCAction": {"mode"}, "HTTPGetAction": {"protocol"},
    "KeyToPath": {"user"}, "PodCertificateProjection": {"user"},
    "PodSpec": {"evictionResponders", "schedulingGroup"},
    "PodStatus": {"volumeHealth", "nodeAllocatableResourceClaimStatuses"},
    "ProjectedVolumeSource": {"defaultUser"}, "SecretVolumeSource": {"defaultUser"},
    "ServiceAccountTokenProjection": {"user"}, "VolumeMount": {"bindMountOptions"},
}


def _json_fields(message: str) -> set[str]:
    out: set[str] = set()
    for f in MESSAGES[message].values():
        out |= _json_fields(f.type) if f.name == "-" else {f.name}
    return out


@pytest.mark.parametrize("message", sorted(n for n in MESSAGES if "V1" + n in schema.types()))
def test_table_names_match_served_schema(message):
    ours = _json_fields(message)
    served = set(schema.types()["V1" + message]["fields"])
    if message in set(TOP_LEVEL.values()) | {"DeleteOptions"}:
        served -= {"apiVersion", "kind"}  # carried by the envelope, not the message
    assert ours - served == set(), "field names not in the served schema (typo?)"
    assert served - ours == KNOWN_GAPS.get(message, set())


def test_every_referenced_message_exists():
    from everynode.apiserver.protobuf_tables import SCALARS, WRAPPERS

    missing = {(n, f.type) for n, fs in MESSAGES.items() for f in fs.values()
               if f.type not in SCALARS | WRAPPERS and f.type not in MESSAGES}
    assert missing == set()


@pytest.mark.parametrize("text,error", [
    ("A: x 1, y 1", "field number 1 used twice"),
    ("A: x 1\nA: y 2", "message A defined twice"),
])
def test_parse_table_rejects_mistakes(text, error):
    with pytest.raises(ValueError, match=error):
        parse_table(text)


def test_parse_table_format():
    t = parse_table("Msg: a 1, b 2 *int,\n    c 3 []Other, d 4 map:quantity, - 5 Inner\n")
    f = t["Msg"]
    assert (f[1].name, f[1].type, f[1].keep_zero) == ("a", "string", False)
    assert (f[2].type, f[2].keep_zero) == ("int", True)
    assert (f[3].type, f[3].repeated) == ("Other", True)
    assert (f[4].type, f[4].map) == ("quantity", True)
    assert f[5].name == "-"
