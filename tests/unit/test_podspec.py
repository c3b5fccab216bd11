import copy

import pytest

from everynode.api import podspec as ps

DIGEST = "sha256:" + "a" * 64
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                 "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                 "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
             "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
             "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
QUANTITY_MSG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
ENV_MSG = "a valid environment variable name must consist only of printable ASCII characters other than '='"
PORT_RANGE = "must be between 1 and 65535, inclusive"


# --- image references and pull policy -------------------------------------------------

@pytest.mark.parametrize("image,tag,policy", [
    ("busybox", "latest", "Always"),
    ("busybox:latest", "latest", "Always"),
    ("busybox:1.35", "1.35", "IfNotPresent"),
    (f"busybox@{DIGEST}", "", "IfNotPresent"),
    (f"busybox:1.35@{DIGEST}", "1.35", "IfNotPresent"),
    ("registry.example.com:5000/team/app", "latest", "Always"),
    ("localhost:5000/app:latest", "latest", "Always"),
    ("localhost/app:v2", "v2", "IfNotPresent"),
    ("Example.COM/app:v1", "v1", "IfNotPresent"),
    ("Busybox", "", "IfNotPresent"),  # upper-case repository: unparsable
    ("busybox:", "", "IfNotPresent"),
    ("", "", "IfNotPresent"),
    ("a" * 64, "", "IfNotPresent"),  # a bare image ID
])
def test_image_tag_and_pull_policy(image, tag, policy):
    assert ps.image_tag(image) == tag
    assert ps.default_pull_policy(image) == policy


# --- defaulting --------------------------------------------------------------------

def _get(obj, path):
    for part in path:
        obj = obj[part]
    return obj


def _spec(**extra):
    spec = {"containers": [{"name": "c", "image": "busybox:1.35"}]}
    spec.update(extra)
    return spec


@pytest.mark.parametrize("spec,for_template,path,expected", [
    (_spec(), True, ("restartPolicy",), "Always"),
    (_spec(), True, ("dnsPolicy",), "ClusterFirst"),
    (_spec(), True, ("securityContext",), {}),
    (_spec(), True, ("terminationGracePeriodSeconds",), 30),
    (_spec(), True, ("schedulerName",), "default-scheduler"),
    (_spec(restartPolicy="OnFailure", terminationGracePeriodSeconds=0), True, ("restartPolicy",), "OnFailure"),
    (_spec(terminationGracePeriodSeconds=0), True, ("terminationGracePeriodSeconds",), 0),
    (_spec(), True, ("containers", 0, "imagePullPolicy"), "IfNotPresent"),
    (_spec(), True, ("containers", 0, "terminationMessagePath"), "/dev/termination-log"),
    (_spec(), True, ("containers", 0, "terminationMessagePolicy"), "File"),
    ({"containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}]}, True,
     ("containers", 0, "imagePullPolicy"), "Never"),
    ({"containers": [{"name": "c", "image": "nginx"}]}, True, ("containers", 0, "imagePullPolicy"), "Always"),
    ({"initContainers": [{"name": "i", "image": "nginx:latest"}], "containers": []}, True,
     ("initContainers", 0, "imagePullPolicy"), "Always"),
    ({"containers": [{"name": "c", "image": "x:1", "ports": [{"containerPort": 80}]}]}, True,
     ("containers", 0, "ports", 0, "protocol"), "TCP"),
    ({"containers": [{"name": "c", "image": "x:1", "livenessProbe": {"httpGet": {"port": 80}}}]}, True,
     ("containers", 0, "livenessProbe"),
     {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10,
      "successThreshold": 1, "failureThreshold": 3}),
    ({"containers": [{"name": "c", "image": "x:1", "readinessProbe": {"grpc": {"port": 9}, "periodSeconds": 5}}]},
     True, ("containers", 0, "readinessProbe"),
     {"grpc": {"port": 9, "service": ""}, "timeoutSeconds": 1, "periodSeconds": 5, "successThreshold": 1,
      "failureThreshold": 3}),
    ({"containers": [{"name": "c", "image": "x:1", "lifecycle": {"preStop": {"httpGet": {"port": 80}}}}]}, True,
     ("containers", 0, "lifecycle", "preStop", "httpGet"), {"port": 80, "path": "/", "scheme": "HTTP"}),
    ({"containers": [{"name": "c", "image": "x:1",
                      "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]},
     True, ("containers", 0, "env", 0, "valueFrom", "fieldRef", "apiVersion"), "v1"),
    ({"containers": [{"name": "c", "image": "x:1", "resources": {"limits": {"cpu": "0.5", "memory": "1Gi"}}}]},
     True, ("containers", 0, "resources"), {"limits": {"cpu": "500m", "memory": "1Gi"}}),
    ({"containers": [{"name": "c", "image": "x:1", "resources": {"requests": {"cpu": "0.0001"}}}]},
     True, ("containers", 0, "resources", "requests", "cpu"), "1m"),
    (_spec(volumes=[{"name": "v"}]), True, ("volumes", 0), {"name": "v", "emptyDir": {}}),
    (_spec(volumes=[{"name": "v", "hostPath": {"path": "/x"}}]), True, ("volumes", 0, "hostPath", "type"), ""),
    (_spec(volumes=[{"name": "v", "secret": {"secretName": "s"}}]), True,
     ("volumes", 0, "secret", "defaultMode"), 420),
    (_spec(volumes=[{"name": "v", "configMap": {"name": "c", "defaultMode": 256}}]), True,
     ("volumes", 0, "configMap", "defaultMode"), 256),
    (_spec(volumes=[{"name": "v", "downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]),
     True, ("volumes", 0, "downwardAPI"),
     {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels", "apiVersion": "v1"}}], "defaultMode": 420}),
    (_spec(volumes=[{"name": "v", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]), True,
     ("volumes", 0, "projected"), {"sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 3600}}],
                                   "defaultMode": 420}),
    (_spec(volumes=[{"name": "v", "emptyDir": {"sizeLimit": "0.5Gi"}}]), True,
     ("volumes", 0, "emptyDir", "sizeLimit"), "512Mi"),
])
def test_default_pod_spec(spec, for_template, path, expected):
    ps.default_pod_spec(spec, for_template)
    assert _get(spec, path) == expected


@pytest.mark.parametrize("spec,for_template,path,expected", [
    (_spec(), False, ("enableServiceLinks",), True),
    (_spec(enableServiceLinks=False), False, ("enableServiceLinks",), False),
    ({"hostNetwork": True, "containers": [{"name": "c", "image": "x:1", "ports": [{"containerPort": 53}]}],
      "initContainers": [{"name": "i", "image": "x:1", "ports": [{"containerPort": 54, "hostPort": 9}]}]},
     False, ("containers", 0, "ports", 0, "hostPort"), 53),
    ({"hostNetwork": True, "containers": [{"name": "c", "image": "x:1"}],
      "initContainers": [{"name": "i", "image": "x:1", "ports": [{"containerPort": 54, "hostPort": 9}]}]},
     False, ("initContainers", 0, "ports", 0, "hostPort"), 9),
    ({"containers": [{"name": "c", "image": "x:1",
                      "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "0.5"}}}]},
     False, ("containers", 0, "resources", "requests"), {"cpu": "500m", "memory": "1Gi"}),
    ({"containers": [{"name": "c", "image": "x:1", "resources": {"limits": {}}}]},
     False, ("containers", 0, "resources"), {"limits": {}}),
])
def test_default_pod_only(spec, for_template, path, expected):
    ps.default_pod_spec(spec, for_template)
    assert _get(spec, path) == expected


@pytest.mark.parametrize("spec,absent", [
    (_spec(), "enableServiceLinks"),
    ({"hostNetwork": True, "containers": [{"name": "c", "image": "x:1", "ports": [{"containerPort": 53}]}]}, None),
    ({"containers": [{"name": "c", "image": "x:1", "resources": {"limits": {"cpu": "1"}}}]}, None),
])
def test_template_gets_no_pod_only_defaults(spec, absent):
    ps.default_pod_spec(spec, for_template=True)
    if absent:
        assert absent not in spec
    c = spec["containers"][0]
    assert "requests" not in c.get("resources", {})
    assert all("hostPort" not in p for p in c.get("ports", []))


def test_defaulting_is_idempotent():
    spec = _spec(volumes=[{"name": "v"}])
    ps.default_pod_spec(spec, False)
    again = copy.deepcopy(spec)
    ps.default_pod_spec(again, False)
    assert again == spec


# --- validation ---------------------------------------------------------------------

def base_spec():
    spec = {
        "containers": [{"name": "app", "image": "busybox:1.35",
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "volumeMounts": [{"name": "logs", "mountPath": "/var/log"}]}],
        "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}],
    }
    ps.default_pod_spec(spec, for_template=True)
    return spec


def C(spec):
    return spec["containers"][0]


def _set(path, value):
    def mutate(spec):
        obj = spec
        for p in path[:-1]:
            obj = obj[p]
        obj[path[-1]] = value
    return mutate


def _c(**fields):
    return lambda s: C(s).update(fields)


def test_base_spec_is_valid():
    assert ps.validate_pod_spec(base_spec(), "spec") == []


CASES = [
    # containers
    ("no containers", _set(("containers",), []), "Required", "spec.containers", ""),
    ("container name missing", _c(name=""), "Required", "spec.containers[0].name", ""),
    ("container name invalid", _c(name="Bad_Name"), "Invalid", "spec.containers[0].name", LABEL_MSG),
    ("duplicate container", lambda s: s["containers"].append({**copy.deepcopy(C(s)), "ports": []}),
     "Duplicate value", "spec.containers[1].name", ""),
    ("image missing", _c(image=""), "Required", "spec.containers[0].image", ""),
    ("pull policy bad", _c(imagePullPolicy="Sometimes"), "Unsupported value", "spec.containers[0].imagePullPolicy",
     'supported values: "Always", "IfNotPresent", "Never"'),
    ("termination policy bad", _c(terminationMessagePolicy="X"), "Unsupported value",
     "spec.containers[0].terminationMessagePolicy", 'supported values: "File", "FallbackToLogsOnError"'),
    ("restartPolicy on container", _c(restartPolicy="Always"), "Forbidden", "spec.containers[0].restartPolicy",
     "may not be set for non-init containers"),
    # ports
    ("containerPort missing", _c(ports=[{"protocol": "TCP"}]), "Required", "spec.containers[0].ports[0].containerPort", ""),
    ("containerPort range", _c(ports=[{"containerPort": 70000, "protocol": "TCP"}]), "Invalid",
     "spec.containers[0].ports[0].containerPort", PORT_RANGE),
    ("hostPort range", _c(ports=[{"containerPort": 80, "hostPort": -1, "protocol": "TCP"}]), "Invalid",
     "spec.containers[0].ports[0].hostPort", PORT_RANGE),
    ("protocol missing", _c(ports=[{"containerPort": 80}]), "Required", "spec.containers[0].ports[0].protocol", ""),
    ("protocol bad", _c(ports=[{"containerPort": 80, "protocol": "HTTP"}]), "Unsupported value",
     "spec.containers[0].ports[0].protocol", 'supported values: "SCTP", "TCP", "UDP"'),
    ("port name charset", _c(ports=[{"name": "Web", "containerPort": 80, "protocol": "TCP"}]), "Invalid",
     "spec.containers[0].ports[0].name", "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"),
    ("port name long", _c(ports=[{"name": "a" * 16, "containerPort": 80, "protocol": "TCP"}]), "Invalid",
     "spec.containers[0].ports[0].name", "must be no more than 15 characters"),
    ("port name digits", _c(ports=[{"name": "80", "containerPort": 80, "protocol": "TCP"}]), "Invalid",
     "spec.containers[0].ports[0].name", "must contain at least one letter (a-z)"),
    ("port name hyphens", _c(ports=[{"name": "a--b", "containerPort": 80, "protocol": "TCP"}]), "Invalid",
     "spec.containers[0].ports[0].name", "must not contain consecutive hyphens"),
    ("port name duplicate", _c(ports=[{"name": "a", "containerPort": 80, "protocol": "TCP"},
                                      {"name": "a", "containerPort": 81, "protocol": "TCP"}]),
     "Duplicate value", "spec.containers[0].ports[1].name", ""),
    ("hostPort conflict", lambda s: s["containers"].extend([
        {**copy.deepcopy(C(s)), "name": "b", "ports": [{"containerPort": 1, "hostPort": 80, "protocol": "TCP"}]},
        {**copy.deepcopy(C(s)), "name": "d", "ports": [{"containerPort": 2, "hostPort": 80, "protocol": "TCP"}]}]),
     "Duplicate value", "spec.containers[2].ports[0].hostPort", ""),
    # env
    ("env name empty", _c(env=[{"name": ""}]), "Required", "spec.containers[0].env[0].name", ""),
    ("env name with =", _c(env=[{"name": "A=B"}]), "Invalid", "spec.containers[0].env[0].name", ENV_MSG),
    ("env name non-ascii", _c(env=[{"name": "Ä"}]), "Invalid", "spec.containers[0].env[0].name", ENV_MSG),
    ("env no source", _c(env=[{"name": "A", "valueFrom": {}}]), "Invalid", "spec.containers[0].env[0].valueFrom",
     "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),
    ("env value and source", _c(env=[{"name": "A", "value": "x", "valueFrom": {
        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}]),
     "Invalid", "spec.containers[0].env[0].valueFrom", "may not be specified when `value` is not empty"),
    ("env two sources", _c(env=[{"name": "A", "valueFrom": {
        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"},
        "secretKeyRef": {"name": "s", "key": "k"}}}]),
     "Invalid", "spec.containers[0].env[0].valueFrom", "may not have more than one field specified at a time"),
    ("fieldRef not for env", _c(env=[{"name": "A", "valueFrom": {
        "fieldRef": {"apiVersion": "v1", "fieldPath": "spec.restartPolicy"}}}]),
     "Unsupported value", "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
     'supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", '
     '"spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"'),
    ("fieldRef unknown", _c(env=[{"name": "A", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "foo"}}}]),
     "Invalid", "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
     "error converting fieldPath: field label not supported: foo"),
    ("fieldRef version", _c(env=[{"name": "A", "valueFrom": {"fieldRef": {"apiVersion": "v2",
                                                                          "fieldPath": "metadata.name"}}}]),
     "Invalid", "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
     "error converting fieldPath: unsupported pod version: v2"),
    ("fieldRef path missing", _c(env=[{"name": "A", "valueFrom": {"fieldRef": {"apiVersion": "v1"}}}]),
     "Required", "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath", ""),
    ("configMapKeyRef key", _c(env=[{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm"}}}]),
     "Required", "spec.containers[0].env[0].valueFrom.configMapKeyRef.key", ""),
    ("secretKeyRef name", _c(env=[{"name": "A", "valueFrom": {"secretKeyRef": {"name": "S", "key": "k"}}}]),
     "Invalid", "spec.containers[0].env[0].valueFrom.secretKeyRef.name", SUBDOMAIN_MSG),
    ("resourceFieldRef", _c(env=[{"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}}]),
     "Unsupported value", "spec.containers[0].env[0].valueFrom.resourceFieldRef.resource",
     'supported values: "limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", '
     '"requests.ephemeral-storage", "requests.memory"'),
    ("resourceFieldRef divisor", _c(env=[{"name": "A", "valueFrom": {"resourceFieldRef": {
        "resource": "limits.cpu", "divisor": "2"}}}]),
     "Invalid", "spec.containers[0].env[0].valueFrom.resourceFieldRef.divisor",
     "only divisor's values 1m and 1 are supported with the cpu resource"),
    ("envFrom no source", _c(envFrom=[{"prefix": "P_"}]), "Invalid", "spec.containers[0].envFrom",
     "must specify one of: `configMapRef` or `secretRef`"),
    ("envFrom name", _c(envFrom=[{"configMapRef": {"name": ""}}]), "Required",
     "spec.containers[0].envFrom[0].configMapRef.name", ""),
    # resources
    ("request above limit", _c(resources={"limits": {"cpu": "1"}, "requests": {"cpu": "1500m"}}), "Invalid",
     "spec.containers[0].resources.requests", "must be less than or equal to cpu limit of 1"),
    ("unknown resource", _c(resources={"limits": {"foo": "1"}}), "Invalid",
     "spec.containers[0].resources.limits[foo]", "must be a standard resource type or fully qualified"),
    ("non-container resource", _c(resources={"limits": {"pods": "1"}}), "Invalid",
     "spec.containers[0].resources.limits[pods]", "must be a standard resource for containers"),
    ("negative quantity", _c(resources={"requests": {"memory": "-1"}}), "Invalid",
     "spec.containers[0].resources.requests[memory]", "must be greater than or equal to 0"),
    ("bad quantity", _c(resources={"limits": {"cpu": "one"}}), "Invalid",
     "spec.containers[0].resources.limits[cpu]", QUANTITY_MSG),
    ("extended not integer", _c(resources={"limits": {"example.com/gpu": "500m"}}), "Invalid",
     "spec.containers[0].resources.limits[example.com/gpu]", "must be an integer"),
    ("extended request without limit", _c(resources={"requests": {"example.com/gpu": "1"}}), "Required",
     "spec.containers[0].resources.limits", "Limit must be set for non overcommitable resources"),
    ("extended request differs", _c(resources={"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}}),
     "Invalid", "spec.containers[0].resources.requests", "must be equal to example.com/gpu limit of 2"),
    ("hugepages alone", _c(resources={"limits": {"hugepages-2Mi": "4Mi"}, "requests": {"hugepages-2Mi": "4Mi"}}),
     "Forbidden", "spec.containers[0].resources", "HugePages require cpu or memory"),
    ("hugepages multiple", _c(resources={"limits": {"hugepages-2Mi": "3Mi", "memory": "1Gi"}}), "Invalid",
     "spec.containers[0].resources.limits[hugepages-2Mi]", "3Mi is not positive integer multiple of hugepages-2Mi"),
    # volumes and mounts
    ("mount unknown volume", _c(volumeMounts=[{"name": "nope", "mountPath": "/x"}]), "Not found",
     "spec.containers[0].volumeMounts[0].name", ""),
    ("mount path missing", _c(volumeMounts=[{"name": "logs", "mountPath": ""}]), "Required",
     "spec.containers[0].volumeMounts[0].mountPath", ""),
    ("mount path duplicate", _c(volumeMounts=[{"name": "logs", "mountPath": "/x"}, {"name": "logs", "mountPath": "/x"}]),
     "Invalid", "spec.containers[0].volumeMounts[1].mountPath", "must be unique"),
    ("mount subPath absolute", _c(volumeMounts=[{"name": "logs", "mountPath": "/x", "subPath": "/abs"}]),
     "Invalid", "spec.containers[0].volumeMounts.subPath", "must be a relative path"),
    ("mount bidirectional", _c(volumeMounts=[{"name": "logs", "mountPath": "/x", "mountPropagation": "Bidirectional"}]),
     "Forbidden", "spec.containers[0].volumeMounts.mountPropagation",
     "Bidirectional mount propagation is available only to privileged containers"),
    ("volume name duplicate", lambda s: s["volumes"].append({"name": "logs", "emptyDir": {}}), "Duplicate value",
     "spec.volumes[1].name", ""),
    ("volume name invalid", lambda s: s["volumes"].append({"name": "A", "emptyDir": {}}), "Invalid",
     "spec.volumes[1].name", LABEL_MSG),
    ("volume name missing", lambda s: s["volumes"].append({"emptyDir": {}}), "Required", "spec.volumes[1].name", ""),
    ("volume two sources", lambda s: s["volumes"][0].update(emptyDir={}), "Forbidden", "spec.volumes[0].hostPath",
     "may not specify more than 1 volume type"),
    ("volume two sources typo", lambda s: s["volumes"].append({"name": "d", "emptyDir": {}, "downwardAPI": {}}),
     "Forbidden", "spec.volumes[1].downwarAPI", "may not specify more than 1 volume type"),
    ("volume no source", lambda s: s["volumes"].append({"name": "d"}), "Required", "spec.volumes[1]",
     "must specify a volume type"),
    ("hostPath path", lambda s: s["volumes"][0].update(hostPath={"path": ""}), "Required",
     "spec.volumes[0].hostPath.path", ""),
    ("hostPath backsteps", lambda s: s["volumes"][0].update(hostPath={"path": "/a/../b"}), "Invalid",
     "spec.volumes[0].hostPath.path", "must not contain '..'"),
    ("hostPath type", lambda s: s["volumes"][0].update(hostPath={"path": "/a", "type": "Dir"}), "Unsupported value",
     "spec.volumes[0].hostPath.type", 'supported values: "", "BlockDevice", "CharDevice", "Directory", '
     '"DirectoryOrCreate", "File", "FileOrCreate", "Socket"'),
    ("secret name", lambda s: s["volumes"].append({"name": "s", "secret": {"defaultMode": 420}}), "Required",
     "spec.volumes[1].secret.secretName", ""),
    ("configMap mode", lambda s: s["volumes"].append({"name": "s", "configMap": {"name": "c", "defaultMode": 0o1000}}),
     "Invalid", "spec.volumes[1].configMap.defaultMode",
     "must be a number between 0 and 0777 (octal), both inclusive"),
    ("configMap item key", lambda s: s["volumes"].append({"name": "s", "configMap": {"name": "c", "items": [{"path": "p"}]}}),
     "Required", "spec.volumes[1].configMap.items[0].key", ""),
    ("configMap item path", lambda s: s["volumes"].append(
        {"name": "s", "configMap": {"name": "c", "items": [{"key": "k", "path": "/p"}]}}),
     "Invalid", "spec.volumes[1].configMap.items[0].path", "must be a relative path"),
    ("configMap item dotdot", lambda s: s["volumes"].append(
        {"name": "s", "configMap": {"name": "c", "items": [{"key": "k", "path": "..p"}]}}),
     "Invalid", "spec.volumes[1].configMap.items[0].path", "must not start with '..'"),
    ("downwardAPI item", lambda s: s["volumes"].append({"name": "s", "downwardAPI": {"items": [{"path": "p"}]}}),
     "Required", "spec.volumes[1].downwardAPI", "one of fieldRef and resourceFieldRef is required"),
    ("pvc claimName", lambda s: s["volumes"].append({"name": "s", "persistentVolumeClaim": {}}), "Required",
     "spec.volumes[1].persistentVolumeClaim.claimName", ""),
    ("projected token short", lambda s: s["volumes"].append(
        {"name": "s", "projected": {"sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 60}}]}}),
     "Invalid", "spec.volumes[1].projected.sources[0].serviceAccountToken.expirationSeconds",
     "may not specify a duration less than 10 minutes"),
    ("emptyDir negative", lambda s: s["volumes"].append({"name": "s", "emptyDir": {"sizeLimit": "-1Gi"}}),
     "Forbidden", "spec.volumes[1].emptyDir.sizeLimit", "SizeLimit field must be a valid resource quantity"),
    # probes and lifecycle
    ("probe no handler", _c(livenessProbe={"periodSeconds": 10, "successThreshold": 1}), "Required",
     "spec.containers[0].livenessProbe", "must specify a handler type"),
    ("probe two handlers", _c(livenessProbe={"exec": {"command": ["true"]}, "tcpSocket": {"port": 80},
                                             "successThreshold": 1}),
     "Forbidden", "spec.containers[0].livenessProbe.tcpSocket", "may not specify more than 1 handler type"),
    ("liveness success threshold", _c(livenessProbe={"exec": {"command": ["true"]}, "successThreshold": 2}),
     "Invalid", "spec.containers[0].livenessProbe.successThreshold", "must be 1"),
    ("probe negative period", _c(readinessProbe={"exec": {"command": ["true"]}, "periodSeconds": -1}), "Invalid",
     "spec.containers[0].readinessProbe.periodSeconds", "must be greater than or equal to 0"),
    ("readiness grace", _c(readinessProbe={"exec": {"command": ["true"]}, "terminationGracePeriodSeconds": 5}),
     "Invalid", "spec.containers[0].readinessProbe.terminationGracePeriodSeconds",
     "must not be set for readinessProbes"),
    ("probe grace zero", _c(startupProbe={"exec": {"command": ["true"]}, "successThreshold": 1,
                                          "terminationGracePeriodSeconds": 0}),
     "Invalid", "spec.containers[0].startupProbe.terminationGracePeriodSeconds", "must be greater than 0"),
    ("exec empty", _c(readinessProbe={"exec": {"command": []}}), "Required",
     "spec.containers[0].readinessProbe.exec.command", ""),
    ("httpGet port missing", _c(readinessProbe={"httpGet": {"path": "/", "scheme": "HTTP"}}), "Invalid",
     "spec.containers[0].readinessProbe.httpGet.port", PORT_RANGE),
    ("httpGet port name", _c(readinessProbe={"httpGet": {"path": "/", "scheme": "HTTP", "port": "8080"}}), "Invalid",
     "spec.containers[0].readinessProbe.httpGet.port", "must contain at least one letter (a-z)"),
    ("httpGet scheme", _c(readinessProbe={"httpGet": {"path": "/", "scheme": "FTP", "port": 80}}),
     "Unsupported value", "spec.containers[0].readinessProbe.httpGet.scheme", 'supported values: "HTTP", "HTTPS"'),
    ("httpGet header", _c(readinessProbe={"httpGet": {"path": "/", "scheme": "HTTP", "port": 80,
                                                       "httpHeaders": [{"name": "a b", "value": "x"}]}}),
     "Invalid", "spec.containers[0].readinessProbe.httpGet.httpHeaders",
     "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', "
     "regex used for validation is '[-A-Za-z0-9]+')"),
    ("sleep too long", _c(lifecycle={"preStop": {"sleep": {"seconds": 31}}}), "Invalid",
     "spec.containers[0].lifecycle.preStop.sleep",
     "must be non-negative and less than terminationGracePeriodSeconds (30)"),
    ("lifecycle no handler", _c(lifecycle={"postStart": {}}), "Required", "spec.containers[0].lifecycle.postStart",
     "must specify a handler type"),
    # init containers
    ("init probe", lambda s: s.update(initContainers=[{**copy.deepcopy(C(s)), "name": "init", "ports": [],
                                                        "readinessProbe": {"exec": {"command": ["x"]}}}]),
     "Forbidden", "spec.initContainers[0].readinessProbe",
     "may not be set for init containers without restartPolicy=Always"),
    ("init restart policy", lambda s: s.update(initContainers=[{**copy.deepcopy(C(s)), "name": "init", "ports": [],
                                                                 "restartPolicy": "OnFailure"}]),
     "Unsupported value", "spec.initContainers[0].restartPolicy", 'supported values: "Always"'),
    ("init duplicate name", lambda s: s.update(initContainers=[{**copy.deepcopy(C(s)), "ports": []}]),
     "Duplicate value", "spec.initContainers[0].name", ""),
    ("init host port conflict", lambda s: s.update(initContainers=[
        {"name": "a", "image": "x:1", "imagePullPolicy": "Always", "terminationMessagePolicy": "File",
         "ports": [{"containerPort": 1, "hostPort": 5, "protocol": "TCP"},
                   {"containerPort": 2, "hostPort": 5, "protocol": "TCP"}]}]),
     "Duplicate value", "spec.initContainers[0].ports[1].hostPort", ""),
    # pod-level fields
    ("restartPolicy bad", _set(("restartPolicy",), "Sometimes"), "Unsupported value", "spec.restartPolicy",
     'supported values: "Always", "OnFailure", "Never"'),
    ("restartPolicy missing", _set(("restartPolicy",), ""), "Required", "spec.restartPolicy", ""),
    ("dnsPolicy bad", _set(("dnsPolicy",), "Foo"), "Unsupported value", "spec.dnsPolicy",
     'supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'),
    ("dnsPolicy None", _set(("dnsPolicy",), "None"), "Required", "spec.dnsConfig",
     "must provide `dnsConfig` when `dnsPolicy` is None"),
    ("dns nameserver", _set(("dnsConfig",), {"nameservers": ["x"]}), "Invalid", "spec.dnsConfig.nameservers[0]",
     ps.IP_MSG),
    ("grace missing", lambda s: s.pop("terminationGracePeriodSeconds"), "Required",
     "spec.terminationGracePeriodSeconds", ""),
    ("activeDeadline zero", _set(("activeDeadlineSeconds",), 0), "Invalid", "spec.activeDeadlineSeconds",
     "must be between 1 and 2147483647, inclusive"),
    ("priorityClassName", _set(("priorityClassName",), "High"), "Invalid", "spec.priorityClassName", SUBDOMAIN_MSG),
    ("serviceAccountName", _set(("serviceAccountName",), "A"), "Invalid", "spec.serviceAccountName", SUBDOMAIN_MSG),
    ("nodeName", _set(("nodeName",), "Node_1"), "Invalid", "spec.nodeName", SUBDOMAIN_MSG),
    ("hostname", _set(("hostname",), "a.b"), "Invalid", "spec.hostname", "must not contain dots"),
    ("nodeSelector value", _set(("nodeSelector",), {"disk": "-ssd"}), "Invalid", "spec.nodeSelector", VALUE_MSG),
    ("hostNetwork hostPort", lambda s: (s.update(hostNetwork=True),
                                        C(s).update(ports=[{"containerPort": 80, "hostPort": 81, "protocol": "TCP"}])),
     "Invalid", "spec.containers[0].ports[0].hostPort", "must match `containerPort` when `hostNetwork` is true"),
    ("hostUsers hostNetwork", lambda s: s.update(hostNetwork=True, securityContext={"hostUsers": False}),
     "Forbidden", "spec.hostNetwork", "when `pod.Spec.HostUsers` is false"),
    ("runAsUser", _set(("securityContext",), {"runAsUser": -1}), "Invalid", "spec.securityContext.runAsUser",
     "must be between 0 and 4294967295, inclusive"),
    ("supplementalGroups", _set(("securityContext",), {"supplementalGroups": [1, -2]}), "Invalid",
     "spec.securityContext.supplementalGroups[1]", "must be between 0 and 4294967295, inclusive"),
    ("fsGroupChangePolicy", _set(("securityContext",), {"fsGroupChangePolicy": "Never"}), "Unsupported value",
     "spec.securityContext.fsGroupChangePolicy", 'supported values: "Always", "OnRootMismatch"'),
    ("seccomp type", _set(("securityContext",), {"seccompProfile": {}}), "Required",
     "spec.securityContext.seccompProfile.type", "type is required when seccompProfile is set"),
    ("sysctl hostNetwork", lambda s: s.update(hostNetwork=True, securityContext={
        "sysctls": [{"name": "net.ipv4.ip_forward", "value": "1"}]}),
     "Invalid", "spec.securityContext.sysctls[0].name", "may not be specified when 'hostNetwork' is true"),
    ("container runAsGroup", _c(securityContext={"runAsGroup": 2**32}), "Invalid",
     "spec.containers[0].securityContext.runAsGroup", "must be between 0 and 4294967295, inclusive"),
    ("privileged escalation", _c(securityContext={"privileged": True, "allowPrivilegeEscalation": False}), "Invalid",
     "spec.containers[0].securityContext",
     "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"),
    ("procMount", _c(securityContext={"procMount": "Masked"}), "Unsupported value",
     "spec.containers[0].securityContext.procMount", 'supported values: "Default", "Unmasked"'),
    ("readinessGate", _set(("readinessGates",), [{"conditionType": "a/b/c"}]), "Invalid",
     "spec.readinessGates[0].conditionType", None),
    ("schedulingGate duplicate", _set(("schedulingGates",), [{"name": "a"}, {"name": "a"}]), "Duplicate value",
     "spec.schedulingGates[1]", ""),
    ("topology maxSkew", _set(("topologySpreadConstraints",), [{"maxSkew": 0, "topologyKey": "zone",
                                                                 "whenUnsatisfiable": "DoNotSchedule"}]),
     "Invalid", "spec.topologySpreadConstraints[0].maxSkew", "must be greater than zero"),
    ("topology action", _set(("topologySpreadConstraints",), [{"maxSkew": 1, "topologyKey": "zone",
                                                                "whenUnsatisfiable": "Maybe"}]),
     "Unsupported value", "spec.topologySpreadConstraints[0].whenUnsatisfiable",
     'supported values: "DoNotSchedule", "ScheduleAnyway"'),
    ("os", _set(("os",), {"name": "plan9"}), "Unsupported value", "spec.os", 'supported values: "linux", "windows"'),
    ("overhead", _set(("overhead",), {"cpu": "-1"}), "Invalid", "spec.overhead.limits[cpu]",
     "must be greater than or equal to 0"),
    # tolerations
    ("toleration empty key", _set(("tolerations",), [{"operator": "Equal", "value": "x"}]), "Invalid",
     "spec.tolerations[0].operator",
     'operator must be Exists when `key` is empty, which means "match all values and all keys"'),
    ("toleration seconds", _set(("tolerations",), [{"key": "k", "operator": "Exists", "effect": "NoSchedule",
                                                    "tolerationSeconds": 5}]),
     "Invalid", "spec.tolerations[0].effect", "effect must be 'NoExecute' when `tolerationSeconds` is set"),
    ("toleration exists value", _set(("tolerations",), [{"key": "k", "operator": "Exists", "value": "v"}]),
     "Invalid", "spec.tolerations[0].operator", "value must be empty when `operator` is 'Exists'"),
    ("toleration equal value", _set(("tolerations",), [{"key": "k", "operator": "Equal", "value": "-v"}]),
     "Invalid", "spec.tolerations[0].operator", VALUE_MSG),
    ("toleration operator", _set(("tolerations",), [{"key": "k", "operator": "Gt"}]), "Unsupported value",
     "spec.tolerations[0].operator", 'supported values: "Equal", "Exists"'),
    ("toleration effect", _set(("tolerations",), [{"key": "k", "operator": "Exists", "effect": "Bogus"}]),
     "Unsupported value", "spec.tolerations[0].effect", 'supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'),
    ("toleration key", _set(("tolerations",), [{"key": "a b", "operator": "Exists"}]), "Invalid",
     "spec.tolerations[0].key", None),
    # node affinity
    ("affinity no terms", _set(("affinity",), {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": []}}}),
     "Required", "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
     "must have at least one node selector term"),
]

REQ = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"


def _node_term(**term):
    return _set(("affinity",), {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term]}}})


CASES += [
    ("In without values", _node_term(matchExpressions=[{"key": "k", "operator": "In"}]), "Required",
     f"{REQ}.matchExpressions[0].values", "must be specified when `operator` is 'In' or 'NotIn'"),
    ("Exists with values", _node_term(matchExpressions=[{"key": "k", "operator": "Exists", "values": ["a"]}]),
     "Forbidden", f"{REQ}.matchExpressions[0].values",
     "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
    ("Gt two values", _node_term(matchExpressions=[{"key": "k", "operator": "Gt", "values": ["1", "2"]}]),
     "Required", f"{REQ}.matchExpressions[0].values",
     "must be specified single value when `operator` is 'Lt' or 'Gt'"),
    ("bad operator", _node_term(matchExpressions=[{"key": "k", "operator": "Foo"}]), "Invalid",
     f"{REQ}.matchExpressions[0].operator", "not a valid selector operator"),
    ("bad value", _node_term(matchExpressions=[{"key": "k", "operator": "In", "values": ["-a"]}]), "Invalid",
     f"{REQ}.matchExpressions[0].values[0]", VALUE_MSG),
    ("matchFields key", _node_term(matchFields=[{"key": "metadata.labels", "operator": "In", "values": ["a"]}]),
     "Invalid", f"{REQ}.matchFields[0].key", "not a valid field selector key"),
    ("matchFields values", _node_term(matchFields=[{"key": "metadata.name", "operator": "In", "values": ["a", "b"]}]),
     "Required", f"{REQ}.matchFields[0].values",
     "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"),
    ("matchFields operator", _node_term(matchFields=[{"key": "metadata.name", "operator": "Exists"}]), "Invalid",
     f"{REQ}.matchFields[0].operator", "not a valid selector operator"),
    ("preferred weight", _set(("affinity",), {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 0, "preference": {}}]}}),
     "Invalid", "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
     "must be in the range 1-100"),
    ("pod affinity topologyKey", _set(("affinity",), {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchLabels": {"a": "b"}}}]}}),
     "Required", "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
     "can not be empty"),
]


@pytest.mark.parametrize("name,mutate,etype,field,detail", CASES, ids=[c[0] for c in CASES])
def test_validate_pod_spec(name, mutate, etype, field, detail):
    spec = base_spec()
    mutate(spec)
    errs = ps.validate_pod_spec(spec, "spec")
    found = [(e.type, e.field, e.detail) for e in errs]
    if detail is None:
        assert any(t == etype and f == field for t, f, _ in found), found
    else:
        assert (etype, field, detail) in found, found


def test_valid_rich_spec():
    spec = base_spec()
    C(spec).update(
        env=[{"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
             {"name": "LBL", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                          "fieldPath": "metadata.labels['app']"}}},
             {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
             {"name": "my.var-1", "value": "x"}],
        resources={"limits": {"cpu": "1", "memory": "1Gi", "example.com/gpu": "1"},
                   "requests": {"cpu": "250m", "memory": "1Gi", "example.com/gpu": "1"}},
        securityContext={"privileged": True, "runAsUser": 0})
    spec.update(hostNetwork=True, hostPID=True, dnsPolicy="ClusterFirstWithHostNet",
                priorityClassName="system-node-critical",
                tolerations=[{"operator": "Exists"}, {"key": "k", "operator": "Exists", "effect": "NoExecute",
                                                      "tolerationSeconds": 30}],
                nodeSelector={"kubernetes.io/os": "linux"},
                affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]},
                    {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["3"]}]}]}}})
    C(spec)["ports"] = [{"name": "http", "containerPort": 8080, "hostPort": 8080, "protocol": "TCP"}]
    assert ps.validate_pod_spec(spec, "spec") == []


def test_pod_spec_hostnetwork_hostport_zero_only_allowed_in_templates():
    spec = base_spec()
    spec["hostNetwork"] = True
    assert ps.validate_pod_spec(spec, "spec") == []
    errs = ps.validate_pod_spec(spec, "spec", is_pod=True)
    assert [(e.type, e.field) for e in errs] == [("Invalid", "spec.containers[0].ports[0].hostPort")]


@pytest.mark.parametrize("template,etype,field,detail", [
    ({"metadata": {"labels": {"a": "-b"}}}, "Invalid", "spec.template.labels", VALUE_MSG),
    ({"metadata": {"annotations": {"a b": "x"}}}, "Invalid", "spec.template.annotations", None),
    ({"metadata": {"annotations": {ps.DELETION_COST_ANNOTATION: "x"}}}, "Invalid",
     f"spec.template.annotations[{ps.DELETION_COST_ANNOTATION}]", "must be a 32bit integer"),
    ({"spec": {"ephemeralContainers": [{"name": "e", "image": "x:1"}]}}, "Forbidden",
     "spec.template.spec.ephemeralContainers", "ephemeral containers not allowed in pod template"),
    ({"spec": {"containers": [{"name": "c", "image": ""}]}}, "Required", "spec.template.spec.containers[0].image", ""),
])
def test_validate_pod_template_spec(template, etype, field, detail):
    full = {"metadata": {"labels": {"app": "x"}}, "spec": base_spec()}
    full["metadata"].update(template.get("metadata", {}))
    for k, v in template.get("spec", {}).items():
        if k == "containers":
            full["spec"]["containers"][0].update(v[0])
        else:
            full["spec"][k] = v
    found = [(e.type, e.field, e.detail) for e in ps.validate_pod_template_spec(full, "spec.template")]
    if detail is None:
        assert any(t == etype and f == field for t, f, _ in found), found
    else:
        assert (etype, field, detail) in found, found


@pytest.mark.parametrize("a,b,equal", [
    ({"cpu": "1"}, {"cpu": "1"}, True),
    ({"resources": {"limits": {"cpu": "1"}}}, {"resources": {"limits": {"cpu": "1000m"}}}, True),
    ({"resources": {"limits": {"cpu": "1"}}}, {"resources": {"limits": {"cpu": "2"}}}, False),
    ({"a": [], "b": None, "c": ""}, {}, True),
    ({"metadata": {}}, {}, True),
    ({"securityContext": {}}, {}, False),
    ({"x": 0}, {}, False),
    ({"labels": {}}, {"labels": None}, True),
    ([1, 2], [2, 1], False),
])
def test_semantic_equal(a, b, equal):
    assert ps.semantic_equal(a, b) is equal
