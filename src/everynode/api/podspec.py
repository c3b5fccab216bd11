"""Pod spec and pod template: defaulting and validation (core/v1).

Shared by Pods and by every pod template (DaemonSet ``spec.template``).
Defaulting follows upstream ``SetObjectDefaults_Pod`` / ``_PodTemplate``;
validation follows ``ValidatePodSpec`` / ``ValidatePodTemplateSpec`` with the
feature gates at their current defaults, including upstream's field-path
quirks (``downwarAPI``, ``spec.template.labels``, init-container host ports
reported at index 0). Everything here is a pure function over JSON dicts;
``default_*`` mutate in place, ``validate_*`` return ``FieldError`` lists.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from fractions import Fraction
from functools import lru_cache
from typing import Any

import orjson

from everynode.api.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
    too_long,
)
from everynode.api.quantity import (
    format_quantity,
    parse_quantity,
    parse_quantity_with_format,
)
from everynode.api.validation import (
    IS_NEGATIVE,
    inclusive_range_error,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    is_valid_port_num,
    mask_trailing_dash,
    max_len_error,
    regex_error,
    validate_annotations,
    validate_label_name,
    validate_label_selector,
    validate_labels,
)

Obj = dict[str, Any]

DEFAULT_TERMINATION_GRACE_PERIOD = 30
DEFAULT_SCHEDULER_NAME = "default-scheduler"
DEFAULT_FILE_MODE = 0o644  # 420: secret, configMap, downwardAPI and projected volumes
TERMINATION_MESSAGE_PATH = "/dev/termination-log"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"

FILE_MODE_MSG = "must be a number between 0 and 0777 (octal), both inclusive"
NOT_POSITIVE_MSG = "must be greater than zero"
NOT_INTEGER_MSG = "must be an integer"
MAX_INT32 = 2**31 - 1


# --- small accessors ---------------------------------------------------------

def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list:
    return value if isinstance(value, list) else []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _all_containers(spec: Obj) -> list[Obj]:
    return [c for key in ("initContainers", "containers", "ephemeralContainers")
            for c in _l(spec.get(key)) if isinstance(c, dict)]


# --- image references (distribution/reference, as ParseImageName uses it) ------

_ALNUM = "[a-z0-9]+"
_SEPARATOR = "(?:[._]|__|[-]+)"
_PATH_COMPONENT = f"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = f"{_DOMAIN_COMPONENT}(?:\\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = f"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_NAME = f"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE_RE = re.compile(f"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?")
_IDENTIFIER_RE = re.compile("[a-f0-9]{64}")


def image_tag(image: str) -> str:
    """The tag ParseImageName reports: "latest" when neither tag nor digest, "" when unparsable."""
    if not image or _IDENTIFIER_RE.fullmatch(image):
        return ""
    # The repository part (after a registry host) must be lower case.
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        remote = rest
    else:
        remote = image
    remote_name = re.split("[:@]", remote, maxsplit=1)[0]
    if remote_name.lower() != remote_name:
        return ""
    m = _REFERENCE_RE.fullmatch(image)
    if m is None or len(m.group(1)) > 255:
        return ""
    tag, digest = m.group(2) or "", m.group(3) or ""
    if not tag and not digest:
        return "latest"
    return tag


def default_pull_policy(image: str) -> str:
    return "Always" if image_tag(image) == "latest" else "IfNotPresent"


# --- defaulting --------------------------------------------------------------

def _default_field_ref(ref: Any) -> None:
    if isinstance(ref, dict) and not ref.get("apiVersion"):
        ref["apiVersion"] = "v1"


def _canonical_quantity(value: Any) -> Any:
    """Round up to milli precision and write canonically, as storage would; invalid text untouched."""
    try:
        q, fmt = parse_quantity_with_format(value)
    except ValueError:
        return value
    milli = q * 1000
    if milli.denominator != 1:
        whole = milli.numerator // milli.denominator
        q = Fraction(whole + 1 if q > 0 else whole, 1000)
    return format_quantity(q, fmt)


def _default_resource_list(resources: Any) -> None:
    if isinstance(resources, dict):
        for k, v in list(resources.items()):
            resources[k] = _canonical_quantity(v)


def default_probe(probe: Obj) -> None:
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                       ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = value
    _default_handler(probe)


def _default_handler(handler: Obj) -> None:
    http = handler.get("httpGet")
    if isinstance(http, dict):
        if not http.get("path"):
            http["path"] = "/"
        if not http.get("scheme"):
            http["scheme"] = "HTTP"
    grpc = handler.get("grpc")
    if isinstance(grpc, dict) and grpc.get("service") is None:
        grpc["service"] = ""


def default_container(c: Obj) -> None:
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = default_pull_policy(_s(c.get("image")))
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = TERMINATION_MESSAGE_PATH
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    for port in _l(c.get("ports")):
        if isinstance(port, dict) and not port.get("protocol"):
            port["protocol"] = "TCP"
    for env in _l(c.get("env")):
        if isinstance(env, dict):
            _default_field_ref(_d(env.get("valueFrom")).get("fieldRef"))
    resources = _d(c.get("resources"))
    _default_resource_list(resources.get("limits"))
    _default_resource_list(resources.get("requests"))
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(c.get(key), dict):
            default_probe(c[key])
    lifecycle = _d(c.get("lifecycle"))
    for key in ("postStart", "preStop"):
        http = _d(lifecycle.get(key)).get("httpGet")
        if isinstance(http, dict):
            _default_handler({"httpGet": http})


_VOLUME_DEFAULTS: dict[str, tuple[tuple[str, Any], ...]] = {
    "secret": (("defaultMode", DEFAULT_FILE_MODE),),
    "configMap": (("defaultMode", DEFAULT_FILE_MODE),),
    "downwardAPI": (("defaultMode", DEFAULT_FILE_MODE),),
    "projected": (("defaultMode", DEFAULT_FILE_MODE),),
    "iscsi": (("iscsiInterface", "default"),),
    "rbd": (("pool", "rbd"), ("user", "admin"), ("keyring", "/etc/ceph/keyring")),
    "azureDisk": (("cachingMode", "ReadWrite"), ("fsType", "ext4"), ("readOnly", False),
                  ("kind", "Shared")),
    "scaleIO": (("storageMode", "ThinProvisioned"), ("fsType", "xfs")),
}


def default_volume(vol: Obj) -> None:
    if not any(vol.get(k) is not None for k in VOLUME_SOURCES):
        vol["emptyDir"] = {}
    for source, defaults in _VOLUME_DEFAULTS.items():
        src = vol.get(source)
        if isinstance(src, dict):
            for key, value in defaults:
                if src.get(key) is None or (isinstance(value, str) and src.get(key) == ""):
                    src[key] = value
    host_path = vol.get("hostPath")
    if isinstance(host_path, dict) and host_path.get("type") is None:
        host_path["type"] = ""
    for item in _l(_d(vol.get("downwardAPI")).get("items")):
        if isinstance(item, dict):
            _default_field_ref(item.get("fieldRef"))
    for source in _l(_d(vol.get("projected")).get("sources")):
        if not isinstance(source, dict):
            continue
        for item in _l(_d(source.get("downwardAPI")).get("items")):
            if isinstance(item, dict):
                _default_field_ref(item.get("fieldRef"))
        token = source.get("serviceAccountToken")
        if isinstance(token, dict) and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = 3600
    claim_spec = _d(_d(_d(vol.get("ephemeral")).get("volumeClaimTemplate")).get("spec"))
    if claim_spec and claim_spec.get("volumeMode") is None:
        claim_spec["volumeMode"] = "Filesystem"
    size = _d(vol.get("emptyDir")).get("sizeLimit")
    if size is not None:
        vol["emptyDir"]["sizeLimit"] = _canonical_quantity(size)


def _default_pod_only(spec: Obj) -> None:
    """SetDefaults_Pod: what lands on pods but never in templates."""
    for key in ("containers", "initContainers"):
        for c in _l(spec.get(key)):
            if not isinstance(c, dict):
                continue
            resources = _d(c.get("resources"))
            limits = resources.get("limits")
            if isinstance(limits, dict):
                requests = resources.get("requests")
                requests = requests if isinstance(requests, dict) else {}
                for name, value in limits.items():
                    requests.setdefault(name, value)
                if requests:
                    resources["requests"] = requests
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        for key in ("containers", "initContainers"):
            for c in _l(spec.get(key)):
                for port in _l(_d(c).get("ports")):
                    if isinstance(port, dict) and not port.get("hostPort") and "containerPort" in port:
                        port["hostPort"] = port["containerPort"]


# Memoised entry points. A controller creates thousands of pods from one template; their specs
# differ only in the node affinity the DaemonSet controller pins to each node. Defaulting and
# validation are pure functions of the spec's JSON, so they are computed once per distinct
# spec (affinity left out: defaulting never reads it, validation checks it separately).
_MEMO_SIZE = 1024


MEMO_MAX_KEY = 64 * 1024  # larger specs (rare) are not worth keeping: no memo


def _memo_key(spec: Obj) -> bytes | None:
    """The spec's JSON with a null affinity, or None when it is not plain JSON or too large
    (then no memo)."""
    try:
        key = orjson.dumps({**spec, "affinity": None} if "affinity" in spec else spec,
                           option=orjson.OPT_PASSTHROUGH_DATETIME)
    except (orjson.JSONEncodeError, TypeError):
        return None
    return key if len(key) <= MEMO_MAX_KEY else None


@lru_cache(maxsize=_MEMO_SIZE)
def _defaulted_json(key: bytes, for_template: bool) -> bytes:
    spec = orjson.loads(key)
    _default_pod_spec(spec, for_template)
    return orjson.dumps(spec)


def default_pod_spec(spec: Obj, for_template: bool) -> None:
    """Apply core/v1 defaults to a pod spec in place (``for_template``: no pod-only defaults)."""
    key = _memo_key(spec)
    if key is None:
        _default_pod_spec(spec, for_template)
        return
    defaulted = orjson.loads(_defaulted_json(key, for_template))
    if "affinity" in spec:
        defaulted["affinity"] = spec["affinity"]
    spec.clear()
    spec.update(defaulted)


def _default_pod_spec(spec: Obj, for_template: bool) -> None:
    if not for_template:
        _default_pod_only(spec)
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = DEFAULT_TERMINATION_GRACE_PERIOD
    if not spec.get("schedulerName"):
        spec["schedulerName"] = DEFAULT_SCHEDULER_NAME
    for vol in _l(spec.get("volumes")):
        if isinstance(vol, dict):
            default_volume(vol)
    for c in _all_containers(spec):
        default_container(c)
    _default_resource_list(spec.get("overhead"))


def default_pod_template(template: Obj) -> None:
    """Defaults of a PodTemplateSpec (``{metadata, spec}``) in place."""
    spec = template.get("spec")
    if isinstance(spec, dict):
        default_pod_spec(spec, for_template=True)


# --- quantities and resources --------------------------------------------------

def _quantity(value: Any, path: str, errs: list[FieldError]) -> tuple[Fraction, str] | None:
    try:
        return parse_quantity_with_format(value)
    except ValueError as e:
        errs.append(invalid(path, value, str(e)))
        return None


def _qstr(q: tuple[Fraction, str]) -> str:
    return format_quantity(*q)


_STANDARD_RESOURCES = frozenset({
    "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
    "pods", "resourcequotas", "services", "replicationcontrollers", "secrets",
    "persistentvolumeclaims", "configmaps", "services.nodeports", "services.loadbalancers",
    "storage", "requests.storage"})
_STANDARD_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_INTEGER_RESOURCES = frozenset({
    "pods", "resourcequotas", "services", "replicationcontrollers", "secrets", "configmaps",
    "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"})


def is_hugepage_resource(name: str) -> bool:
    return name.startswith("hugepages-")


def is_native_resource(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def is_extended_resource(name: str) -> bool:
    if is_native_resource(name) or name.startswith("requests."):
        return False
    return not is_qualified_name("requests." + name)


def is_overcommit_allowed(name: str) -> bool:
    return is_native_resource(name) and not is_hugepage_resource(name)


def _is_standard_resource(name: str) -> bool:
    return (name in _STANDARD_RESOURCES or name.startswith("hugepages-")
            or name.startswith("requests.hugepages-"))


def _validate_resource_name(name: str, path: str) -> list[FieldError]:
    errs = [invalid(path, name, m) for m in is_qualified_name(name)]
    if errs:
        return errs
    if "/" not in name and not _is_standard_resource(name):
        return [invalid(path, name, "must be a standard resource type or fully qualified")]
    return []


def _validate_container_resource_name(name: str, path: str) -> list[FieldError]:
    errs = _validate_resource_name(name, path)
    if "/" not in name:
        if name not in _STANDARD_CONTAINER_RESOURCES and not is_hugepage_resource(name):
            errs.append(invalid(path, name, "must be a standard resource for containers"))
    elif not is_native_resource(name) and not is_extended_resource(name):
        errs.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return errs


def _validate_quantity_value(name: str, q: tuple[Fraction, str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if q[0] < 0:
        errs.append(invalid(path, _qstr(q), IS_NEGATIVE))
    if name in _INTEGER_RESOURCES or is_extended_resource(name):
        if q[0].denominator != 1:
            errs.append(invalid(path, _qstr(q), NOT_INTEGER_MSG))
    return errs


def _hugepage_error(name: str, q: tuple[Fraction, str], path: str) -> list[FieldError]:
    try:
        page = parse_quantity(name[len("hugepages-"):])
    except ValueError:
        page = Fraction(0)
    if page > 0 and (q[0] / page).denominator == 1:
        return []
    return [invalid(path, _qstr(q), f"{_qstr(q)} is not positive integer multiple of {name}")]


def validate_resource_requirements(res: Any, path: str, pod_claim_names: set[str] | None = None,
                                   *, pod_level: bool = False) -> list[FieldError]:
    """ValidateContainerResourceRequirements (``pod_level``: the pod's own ``resources``)."""
    res = _d(res)
    errs: list[FieldError] = []
    lim_path, req_path = f"{path}.limits", f"{path}.requests"
    limits = _d(res.get("limits"))
    requests = _d(res.get("requests"))
    parsed_limits: dict[str, tuple[Fraction, str]] = {}
    lim_cpu_mem = req_cpu_mem = lim_huge = req_huge = False
    name_check = _validate_pod_resource_name if pod_level else _validate_container_resource_name
    for name, value in limits.items():
        p = f"{lim_path}[{name}]"
        errs.extend(name_check(name, p))
        q = _quantity(value, p, errs)
        if q is None:
            continue
        parsed_limits[name] = q
        errs.extend(_validate_quantity_value(name, q, p))
        if is_hugepage_resource(name):
            lim_huge = True
            errs.extend(_hugepage_error(name, q, p))
        lim_cpu_mem = lim_cpu_mem or name in ("cpu", "memory")
    for name, value in requests.items():
        p = f"{req_path}[{name}]"
        errs.extend(name_check(name, p))
        q = _quantity(value, p, errs)
        if q is None:
            continue
        errs.extend(_validate_quantity_value(name, q, p))
        limit = parsed_limits.get(name)
        if name in limits:
            if limit is None:
                pass
            elif q[0] != limit[0] and not is_overcommit_allowed(name):
                errs.append(invalid(req_path, _qstr(q),
                                    f"must be equal to {name} limit of {_qstr(limit)}"))
            elif q[0] > limit[0]:
                errs.append(invalid(req_path, _qstr(q),
                                    f"must be less than or equal to {name} limit of {_qstr(limit)}"))
        elif not is_overcommit_allowed(name):
            errs.append(required(lim_path, "Limit must be set for non overcommitable resources"))
        if is_hugepage_resource(name):
            req_huge = True
            errs.extend(_hugepage_error(name, q, p))
        req_cpu_mem = req_cpu_mem or name in ("cpu", "memory")
    if not lim_cpu_mem and not req_cpu_mem and (lim_huge or req_huge):
        errs.append(forbidden(path, "HugePages require cpu or memory"))
    errs.extend(_validate_claim_refs(res.get("claims"), pod_claim_names or set(), f"{path}.claims"))
    return errs


def _validate_pod_resource_name(name: str, path: str) -> list[FieldError]:
    errs = _validate_resource_name(name, path)
    if errs:
        return errs
    if name not in ("cpu", "memory") and not is_hugepage_resource(name):
        return [not_supported(path, name, ["cpu", "memory"])]
    return []


def _validate_claim_refs(claims: Any, pod_claim_names: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, claim in enumerate(_l(claims)):
        p = f"{path}[{i}]"
        name = _s(_d(claim).get("name"))
        request = _s(_d(claim).get("request"))
        if not name:
            errs.append(required(p))
            continue
        if name in seen:
            errs.append(duplicate(p, name))
        else:
            key = name
            if request:
                errs.extend(invalid(f"{p}.request", request, m) for m in is_dns1123_label(request))
                key += "/" + request
            if key in seen:
                errs.append(duplicate(p, key))
            elif not request and any(k.split("/", 1)[0] == name for k in seen if "/" in k):
                errs.append(duplicate(p, name))
            seen.add(key)
        if name not in pod_claim_names:
            detail = "must be one of the names in pod.spec.resourceClaims"
            detail += " which is empty" if not pod_claim_names else ": " + ", ".join(sorted(pod_claim_names))
            errs.append(FieldError("Not found", p, detail, name))
    return errs


# --- volumes -----------------------------------------------------------------

# (JSON field, name upstream uses in the "more than 1 volume type" error), upstream order.
_VOLUME_SOURCE_ORDER: tuple[tuple[str, str], ...] = (
    ("emptyDir", "emptyDir"), ("hostPath", "hostPath"), ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"), ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"), ("nfs", "nfs"), ("iscsi", "iscsi"), ("glusterfs", "glusterfs"),
    ("flocker", "flocker"), ("persistentVolumeClaim", "persistentVolumeClaim"), ("rbd", "rbd"),
    ("cinder", "cinder"), ("cephfs", "cephFS"), ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"), ("fc", "fc"), ("flexVolume", "flexVolume"),
    ("configMap", "configMap"), ("azureFile", "azureFile"), ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"), ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"), ("storageos", "storageos"), ("projected", "projected"),
    ("scaleIO", "scaleIO"), ("csi", "csi"), ("ephemeral", "ephemeral"), ("image", "image"))
VOLUME_SOURCES = tuple(k for k, _ in _VOLUME_SOURCE_ORDER)

_HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                    "FileOrCreate", "Socket")
_VOLUME_DOWNWARD_PATHS = ("metadata.annotations", "metadata.labels", "metadata.name",
                          "metadata.namespace", "metadata.uid")
_ENV_DOWNWARD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                       "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP",
                       "status.podIPs")
_CONVERTIBLE_FIELD_PATHS = frozenset({
    "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
    "metadata.uid", "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName",
    "spec.schedulerName", "status.phase", "status.hostIP", "status.hostIPs", "status.podIP",
    "status.podIPs"})
_RESOURCE_FIELD_PATHS = ("limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
                         "requests.ephemeral-storage", "requests.memory")


def _path_no_backsteps(target: str, path: str) -> list[FieldError]:
    if ".." in target.replace("\\", "/").split("/"):
        return [invalid(path, target, "must not contain '..'")]
    return []


def _local_descending_path(target: str, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if target.startswith("/"):
        errs.append(invalid(path, target, "must be a relative path"))
    return errs + _path_no_backsteps(target, path)


def _local_non_reserved_path(target: str, path: str) -> list[FieldError]:
    errs = _local_descending_path(target, path)
    if target.startswith("..") and not target.startswith("../"):
        errs.append(invalid(path, target, "must not start with '..'"))
    return errs


def _validate_mode(mode: Any, path: str) -> list[FieldError]:
    if _is_int(mode) and not 0 <= mode <= 0o777:
        return [invalid(path, mode, FILE_MODE_MSG)]
    return []


def _validate_key_to_path(kp: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not kp.get("key"):
        errs.append(required(f"{path}.key"))
    target = _s(kp.get("path"))
    if not target:
        errs.append(required(f"{path}.path"))
    errs.extend(_local_non_reserved_path(target, f"{path}.path"))
    errs.extend(_validate_mode(kp.get("mode"), f"{path}.mode"))
    return errs


def _split_subscript(field_path: str) -> tuple[str, str] | None:
    if not field_path.endswith("']"):
        return None
    parts = field_path[:-2].split("['", 1)
    if len(parts) < 2 or not parts[0]:
        return None
    return parts[0], parts[1]


def _validate_object_field_selector(ref: Obj, expressions: tuple[str, ...], path: str) -> list[FieldError]:
    if not ref.get("apiVersion"):
        return [required(f"{path}.apiVersion")]
    field_path = _s(ref.get("fieldPath"))
    if not field_path:
        return [required(f"{path}.fieldPath")]
    version = ref["apiVersion"]
    if version != "v1":
        problem = f"unsupported pod version: {version}"
    else:
        sub = _split_subscript(field_path)
        if sub is not None:
            problem = ("" if sub[0] in ("metadata.annotations", "metadata.labels")
                       else f"field label does not support subscript: {field_path}")
        elif field_path in _CONVERTIBLE_FIELD_PATHS or field_path == "spec.host":
            problem = ""
        else:
            problem = f"field label not supported: {field_path}"
    if problem:
        return [invalid(f"{path}.fieldPath", field_path, f"error converting fieldPath: {problem}")]
    if field_path == "spec.host":
        field_path = "spec.nodeName"
    sub = _split_subscript(field_path)
    if sub is not None:
        key = sub[1].lower() if sub[0] == "metadata.annotations" else sub[1]
        return [invalid(path, key, m) for m in is_qualified_name(key)]
    if field_path not in expressions:
        return [not_supported(f"{path}.fieldPath", field_path, sorted(expressions))]
    return []


_CPU_DIVISORS = ("1m", "1")
_BYTE_DIVISORS = ("1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei")
_BYTE_DIVISOR_LIST = "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei"


def _validate_resource_field_selector(ref: Obj, path: str, volume: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    resource = _s(ref.get("resource"))
    if volume and not ref.get("containerName"):
        errs.append(required(f"{path}.containerName"))
    elif not resource:
        errs.append(required(f"{path}.resource"))
    elif resource not in _RESOURCE_FIELD_PATHS and not (
            resource.startswith("requests.hugepages-") or resource.startswith("limits.hugepages-")):
        errs.append(not_supported(f"{path}.resource", resource, _RESOURCE_FIELD_PATHS))
    divisor = ref.get("divisor")
    if divisor is None:
        return errs
    q = _quantity(divisor, f"{path}.divisor", errs)
    if q is None or q[0] == 0:
        return errs
    text = _qstr(q)
    if resource in ("limits.cpu", "requests.cpu"):
        if text not in _CPU_DIVISORS:
            errs.append(invalid(f"{path}.divisor", resource,
                                "only divisor's values 1m and 1 are supported with the cpu resource"))
    elif resource in ("limits.memory", "requests.memory"):
        if text not in _BYTE_DIVISORS:
            errs.append(invalid(f"{path}.divisor", resource, f"only divisor's values {_BYTE_DIVISOR_LIST} "
                                "are supported with the memory resource"))
    elif resource in ("limits.ephemeral-storage", "requests.ephemeral-storage"):
        if text not in _BYTE_DIVISORS:
            errs.append(invalid(f"{path}.divisor", resource, f"only divisor's values {_BYTE_DIVISOR_LIST} "
                                "are supported with the local ephemeral storage resource"))
    if resource.startswith("requests.hugepages-") or resource.startswith("limits.hugepages-"):
        if text not in _BYTE_DIVISORS:
            errs.append(invalid(f"{path}.divisor", resource, f"only divisor's values {_BYTE_DIVISOR_LIST} "
                                "are supported with the hugepages resource"))
    return errs


def _validate_downward_file(item: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    target = _s(item.get("path"))
    if not target:
        errs.append(required(f"{path}.path"))
    errs.extend(_local_non_reserved_path(target, f"{path}.path"))
    if isinstance(item.get("fieldRef"), dict):
        errs.extend(_validate_object_field_selector(item["fieldRef"], _VOLUME_DOWNWARD_PATHS,
                                                    f"{path}.fieldRef"))
        if item.get("resourceFieldRef") is not None:
            errs.append(invalid(path, "resource",
                                "fieldRef and resourceFieldRef can not be specified simultaneously"))
    elif isinstance(item.get("resourceFieldRef"), dict):
        errs.extend(_validate_resource_field_selector(item["resourceFieldRef"],
                                                      f"{path}.resourceFieldRef", True))
    else:
        errs.append(required(path, "one of fieldRef and resourceFieldRef is required"))
    errs.extend(_validate_mode(item.get("mode"), f"{path}.mode"))
    return errs


def _validate_projected(src: Obj, path: str) -> list[FieldError]:
    errs = _validate_mode(src.get("defaultMode"), f"{path}.defaultMode")
    seen_paths: set[str] = set()

    def note(target: str, value: Any) -> None:
        if target in seen_paths:
            errs.append(invalid(path, value, "conflicting duplicate paths"))
        seen_paths.add(target)

    for i, source in enumerate(_l(src.get("sources"))):
        source = _d(source)
        sp = f"{path}.sources[{i}]"
        count = 0
        for kind in ("secret", "configMap"):
            ref = source.get(kind)
            if not isinstance(ref, dict):
                continue
            count += 1
            if not ref.get("name"):
                errs.append(required(f"{sp}.{kind}.name"))
            for j, kp in enumerate(_l(ref.get("items"))):
                kp = _d(kp)
                errs.extend(_validate_key_to_path(kp, f"{sp}.{kind}.items[{j}]"))
                if kp.get("path"):
                    note(kp["path"], _s(ref.get("name")))
        if isinstance(source.get("downwardAPI"), dict):
            count += 1
            for item in _l(source["downwardAPI"].get("items")):
                item = _d(item)
                errs.extend(_validate_downward_file(item, f"{sp}.downwardAPI"))
                if item.get("path"):
                    note(item["path"], item["path"])
        if isinstance(source.get("serviceAccountToken"), dict):
            count += 1
            token = source["serviceAccountToken"]
            seconds = token.get("expirationSeconds")
            if _is_int(seconds) and seconds < 600:
                errs.append(invalid(f"{sp}.serviceAccountToken.expirationSeconds", seconds,
                                    "may not specify a duration less than 10 minutes"))
            if _is_int(seconds) and seconds > 1 << 32:
                errs.append(invalid(f"{sp}.serviceAccountToken.expirationSeconds", seconds,
                                    "may not specify a duration larger than 2^32 seconds"))
            if not token.get("path"):
                errs.append(required(f"{path}.path"))
            else:
                errs.extend(_local_non_reserved_path(token["path"], f"{path}.path"))
        if isinstance(source.get("clusterTrustBundle"), dict):
            count += 1
        if count > 1:
            errs.append(forbidden(sp, "may not specify more than 1 volume type per source"))
    return errs


def _validate_one_source(kind: str, src: Obj, path: str, pod_name: str, vol_name: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if kind == "emptyDir":
        size = src.get("sizeLimit")
        if size is not None:
            try:
                negative = parse_quantity(size) < 0
            except ValueError as e:
                return [invalid(f"{path}.sizeLimit", size, str(e))]
            if negative:
                errs.append(forbidden(f"{path}.sizeLimit", "SizeLimit field must be a valid resource quantity"))
    elif kind == "hostPath":
        target = _s(src.get("path"))
        if not target:
            return [required(f"{path}.path")]
        errs.extend(_path_no_backsteps(target, f"{path}.path"))
        kind_value = src.get("type")
        if kind_value is not None and kind_value not in _HOST_PATH_TYPES:
            errs.append(not_supported(f"{path}.type", kind_value, _HOST_PATH_TYPES))
    elif kind in ("secret", "configMap"):
        name_key = "secretName" if kind == "secret" else "name"
        if not src.get(name_key):
            errs.append(required(f"{path}.{name_key}"))
        errs.extend(_validate_mode(src.get("defaultMode"), f"{path}.defaultMode"))
        for i, kp in enumerate(_l(src.get("items"))):
            errs.extend(_validate_key_to_path(_d(kp), f"{path}.items[{i}]"))
    elif kind == "downwardAPI":
        errs.extend(_validate_mode(src.get("defaultMode"), f"{path}.defaultMode"))
        for item in _l(src.get("items")):
            errs.extend(_validate_downward_file(_d(item), path))
    elif kind == "projected":
        errs.extend(_validate_projected(src, path))
    elif kind == "persistentVolumeClaim":
        if not src.get("claimName"):
            errs.append(required(f"{path}.claimName"))
    elif kind == "nfs":
        if not src.get("server"):
            errs.append(required(f"{path}.server"))
        target = _s(src.get("path"))
        if not target:
            errs.append(required(f"{path}.path"))
        if not target.startswith("/"):
            errs.append(invalid(f"{path}.path", target, "must be an absolute path"))
    elif kind == "gitRepo":
        if not src.get("repository"):
            errs.append(required(f"{path}.repository"))
        errs.extend(_local_descending_path(_s(src.get("directory")), f"{path}.directory"))
    elif kind == "csi":
        if not src.get("driver"):
            errs.append(required(f"{path}.driver"))
    elif kind == "ephemeral":
        if pod_name and vol_name:
            pvc = f"{pod_name}-{vol_name}"
            errs.extend(invalid(f"{path[:path.rfind('.')]}.name", vol_name, f'PVC name "{pvc}": {m}')
                        for m in is_dns1123_subdomain(pvc))
    return errs


# Child path names upstream validates some sources under (quirks kept).
_VALIDATION_CHILD = {"gcePersistentDisk": "persistentDisk"}


def validate_volume_source(vol: Obj, path: str, pod_name: str = "") -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for key, forbid_name in _VOLUME_SOURCE_ORDER:
        src = vol.get(key)
        if src is None:
            continue
        if count > 0:
            errs.append(forbidden(f"{path}.{forbid_name}", "may not specify more than 1 volume type"))
            continue
        count += 1
        child = f"{path}.{_VALIDATION_CHILD.get(key, key)}"
        errs.extend(_validate_one_source(key, _d(src), child, pod_name, _s(vol.get("name"))))
    if count == 0:
        errs.append(required(path, "must specify a volume type"))
    return errs


def validate_volumes(volumes: Any, path: str, pod_name: str = "") -> tuple[dict[str, Obj], list[FieldError]]:
    """ValidateVolumes: (name -> volume of the valid ones, errors)."""
    errs: list[FieldError] = []
    valid: dict[str, Obj] = {}
    created_pvcs = {f"{pod_name}-{_s(_d(v).get('name'))}" for v in _l(volumes)
                    if pod_name and _d(v).get("ephemeral") is not None}
    for i, vol in enumerate(_l(volumes)):
        vol = _d(vol)
        p = f"{path}[{i}]"
        name = _s(vol.get("name"))
        el = validate_volume_source(vol, p, pod_name)
        if not name:
            el.append(required(f"{p}.name"))
        else:
            el.extend(invalid(f"{p}.name", name, m) for m in is_dns1123_label(name))
        if name in valid:
            el.append(duplicate(f"{p}.name", name))
        if not el:
            valid[name] = vol
        else:
            errs.extend(el)
        claim = _s(_d(vol.get("persistentVolumeClaim")).get("claimName"))
        if claim and claim in created_pvcs:
            errs.append(invalid(f"{p}.persistentVolumeClaim.claimName", claim,
                                "must not reference a PVC that gets created for an ephemeral volume"))
    return valid, errs


# --- containers ----------------------------------------------------------------

_PORT_NAME_RE = re.compile("[-a-z0-9]+")
_HTTP_HEADER_FMT = "[-A-Za-z0-9]+"
_HTTP_HEADER_RE = re.compile(_HTTP_HEADER_FMT)
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_RE = re.compile(_CONFIG_KEY_FMT)
_RELAXED_ENV_MSG = "a valid environment variable name must consist only of printable ASCII characters other than '='"


def is_valid_port_name(port: str) -> list[str]:
    errs: list[str] = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_RE.fullmatch(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_relaxed_env_var_name(name: str) -> list[str]:
    errs: list[str] = []
    if not name:
        errs.append("environment variable name must be non-empty")
    if any(not 0x20 <= ord(ch) <= 0x7E or ch == "=" for ch in name):
        errs.append(_RELAXED_ENV_MSG)
    return errs


def _has_chdir_prefix(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_config_map_key(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not _CONFIG_KEY_RE.fullmatch(value):
        errs.append(regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    return errs + _has_chdir_prefix(value)


def validate_port_num_or_name(port: Any, path: str) -> list[FieldError]:
    if isinstance(port, str):
        return [invalid(path, port, m) for m in is_valid_port_name(port)]
    value = port if _is_int(port) else 0
    return [invalid(path, value, m) for m in is_valid_port_num(value)]


def validate_container_ports(ports: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(_l(ports)):
        port = _d(port)
        p = f"{path}[{i}]"
        name = _s(port.get("name"))
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                errs.extend(invalid(f"{p}.name", name, m) for m in msgs)
            elif name in names:
                errs.append(duplicate(f"{p}.name", name))
            else:
                names.add(name)
        cport = port.get("containerPort") or 0
        if not cport:
            errs.append(required(f"{p}.containerPort"))
        elif _is_int(cport):
            errs.extend(invalid(f"{p}.containerPort", cport, m) for m in is_valid_port_num(cport))
        hport = port.get("hostPort") or 0
        if hport and _is_int(hport):
            errs.extend(invalid(f"{p}.hostPort", hport, m) for m in is_valid_port_num(hport))
        protocol = _s(port.get("protocol"))
        if not protocol:
            errs.append(required(f"{p}.protocol"))
        elif protocol not in ("SCTP", "TCP", "UDP"):
            errs.append(not_supported(f"{p}.protocol", protocol, ("SCTP", "TCP", "UDP")))
    return errs


def _validate_name_ref(name: str, path: str, prefix: bool = False) -> list[FieldError]:
    check = mask_trailing_dash(name) if prefix else name
    return [invalid(path, name, m) for m in is_dns1123_subdomain(check)]


def _validate_key_selector(ref: Obj, path: str) -> list[FieldError]:
    errs = _validate_name_ref(_s(ref.get("name")), f"{path}.name")
    key = _s(ref.get("key"))
    if not key:
        errs.append(required(f"{path}.key"))
    else:
        errs.extend(invalid(f"{path}.key", key, m) for m in is_config_map_key(key))
    return errs


def validate_env(env: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ev in enumerate(_l(env)):
        ev = _d(ev)
        p = f"{path}[{i}]"
        name = _s(ev.get("name"))
        if not name:
            errs.append(required(f"{p}.name"))
        else:
            errs.extend(invalid(f"{p}.name", name, m) for m in is_relaxed_env_var_name(name))
        value_from = ev.get("valueFrom")
        if not isinstance(value_from, dict):
            continue
        vp = f"{p}.valueFrom"
        sources = 0
        if isinstance(value_from.get("fieldRef"), dict):
            sources += 1
            errs.extend(_validate_object_field_selector(value_from["fieldRef"], _ENV_DOWNWARD_PATHS,
                                                        f"{vp}.fieldRef"))
        if isinstance(value_from.get("resourceFieldRef"), dict):
            sources += 1
            errs.extend(_validate_resource_field_selector(value_from["resourceFieldRef"],
                                                          f"{vp}.resourceFieldRef", False))
        if isinstance(value_from.get("configMapKeyRef"), dict):
            sources += 1
            errs.extend(_validate_key_selector(value_from["configMapKeyRef"], f"{vp}.configMapKeyRef"))
        if isinstance(value_from.get("secretKeyRef"), dict):
            sources += 1
            errs.extend(_validate_key_selector(value_from["secretKeyRef"], f"{vp}.secretKeyRef"))
        if sources == 0:
            errs.append(invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                "`configMapKeyRef` or `secretKeyRef`"))
        elif ev.get("value"):
            errs.append(invalid(vp, "", "may not be specified when `value` is not empty"))
        elif sources > 1:
            errs.append(invalid(vp, "", "may not have more than one field specified at a time"))
    return errs


def validate_env_from(env_from: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ev in enumerate(_l(env_from)):
        ev = _d(ev)
        p = f"{path}[{i}]"
        prefix = _s(ev.get("prefix"))
        if prefix:
            errs.extend(invalid(f"{p}.prefix", prefix, m) for m in is_relaxed_env_var_name(prefix))
        sources = 0
        for kind in ("configMapRef", "secretRef"):
            ref = ev.get(kind)
            if isinstance(ref, dict):
                sources += 1
                name = _s(ref.get("name"))
                if not name:
                    errs.append(required(f"{p}.{kind}.name"))
                else:
                    errs.extend(_validate_name_ref(name, f"{p}.{kind}.name", prefix=True))
        if sources == 0:
            errs.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif sources > 1:
            errs.append(invalid(path, "", "may not have more than one field specified at a time"))
    return errs


def validate_volume_mounts(mounts: Any, devices: dict[str, str], volumes: dict[str, Obj],
                           container: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    mount_points: set[str] = set()
    for i, m in enumerate(_l(mounts)):
        m = _d(m)
        p = f"{path}[{i}]"
        name = _s(m.get("name"))
        mount_path = _s(m.get("mountPath"))
        if not name:
            errs.append(required(f"{p}.name"))
        if name not in volumes:
            errs.append(FieldError("Not found", f"{p}.name", "", name))
        if not mount_path:
            errs.append(required(f"{p}.mountPath"))
        if mount_path in mount_points:
            errs.append(invalid(f"{p}.mountPath", mount_path, "must be unique"))
        mount_points.add(mount_path)
        if name in devices:
            errs.append(invalid(f"{p}.name", name, "must not already exist in volumeDevices"))
        if mount_path in devices.values():
            errs.append(invalid(f"{p}.mountPath", mount_path, "must not already exist as a path in volumeDevices"))
        sub_path = _s(m.get("subPath"))
        sub_expr = _s(m.get("subPathExpr"))
        if name in volumes and volumes[name].get("image") is not None:
            if sub_path:
                errs.append(invalid(f"{p}.subPath", sub_path, "not allowed in image volume sources"))
            if sub_expr:
                errs.append(invalid(f"{p}.subPathExpr", sub_expr, "not allowed in image volume sources"))
        if sub_path:
            errs.extend(_local_descending_path(sub_path, f"{path}.subPath"))
        if sub_expr:
            if sub_path:
                errs.append(invalid(f"{p}.subPathExpr", sub_expr, "subPathExpr and subPath are mutually exclusive"))
            errs.extend(_local_descending_path(sub_expr, f"{path}.subPathExpr"))
        propagation = m.get("mountPropagation")
        if propagation is not None:
            supported = ("Bidirectional", "HostToContainer", "None")
            if propagation not in supported:
                errs.append(not_supported(f"{path}.mountPropagation", propagation, supported))
            privileged = _d(container.get("securityContext")).get("privileged") is True
            if propagation == "Bidirectional" and not privileged:
                errs.append(forbidden(f"{path}.mountPropagation",
                                      "Bidirectional mount propagation is available only to privileged containers"))
        rro = m.get("recursiveReadOnly")
        if rro is not None and rro != "Disabled":
            rp = f"{path}.recursiveReadOnly"
            if rro in ("Enabled", "IfPossible"):
                if not m.get("readOnly"):
                    errs.append(forbidden(rp, "may only be specified when readOnly is true"))
                if propagation not in (None, "None"):
                    errs.append(forbidden(rp, "may only be specified when mountPropagation is None or not specified"))
            else:
                errs.append(not_supported(rp, rro, ("Disabled", "Enabled", "IfPossible")))
    return errs


def validate_volume_devices(devices: Any, mounts: dict[str, str], volumes: dict[str, Obj],
                            path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    paths: set[str] = set()
    names: set[str] = set()
    for i, dev in enumerate(_l(devices)):
        dev = _d(dev)
        p = f"{path}[{i}]"
        name, dev_path = _s(dev.get("name")), _s(dev.get("devicePath"))
        vol = volumes.get(name)
        if not name:
            errs.append(required(f"{p}.name"))
        if name in names:
            errs.append(invalid(f"{p}.name", name, "must be unique"))
        if vol is not None and vol.get("persistentVolumeClaim") is None and vol.get("ephemeral") is None:
            errs.append(invalid(f"{p}.name", name, "can only use volume source type of PersistentVolumeClaim "
                                "or Ephemeral for block mode"))
        if vol is None:
            errs.append(FieldError("Not found", f"{p}.name", "", name))
        if not dev_path:
            errs.append(required(f"{p}.devicePath"))
        if dev_path in paths:
            errs.append(invalid(f"{p}.devicePath", dev_path, "must be unique"))
        if dev_path and _path_no_backsteps(dev_path, p):
            errs.append(invalid(f"{p}.devicePath", dev_path, "can not contain backsteps ('..')"))
        else:
            paths.add(dev_path)
        if name in mounts:
            errs.append(invalid(f"{p}.name", name, "must not already exist in volumeMounts"))
        if dev_path in mounts.values():
            errs.append(invalid(f"{p}.devicePath", dev_path, "must not already exist as a path in volumeMounts"))
        if name:
            names.add(name)
    return errs


def _validate_handler(handler: Obj, grace: Any, path: str, allow_sleep: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    kinds = ("exec", "httpGet", "tcpSocket", "grpc", "sleep") if allow_sleep else (
        "exec", "httpGet", "tcpSocket", "grpc")
    for kind in kinds:
        action = handler.get(kind)
        if action is None:
            continue
        if count > 0:
            errs.append(forbidden(f"{path}.{kind}", "may not specify more than 1 handler type"))
            continue
        count += 1
        action = _d(action)
        kp = f"{path}.{kind}"
        if kind == "exec":
            if not _l(action.get("command")):
                errs.append(required(f"{kp}.command"))
        elif kind == "httpGet":
            if not action.get("path"):
                errs.append(required(f"{kp}.path"))
            errs.extend(validate_port_num_or_name(action.get("port"), f"{kp}.port"))
            scheme = _s(action.get("scheme"))
            if scheme not in ("HTTP", "HTTPS"):
                errs.append(not_supported(f"{kp}.scheme", scheme, ("HTTP", "HTTPS")))
            for header in _l(action.get("httpHeaders")):
                hname = _s(_d(header).get("name"))
                if not _HTTP_HEADER_RE.fullmatch(hname):
                    errs.append(invalid(f"{kp}.httpHeaders", hname, regex_error(
                        "a valid HTTP header must consist of alphanumeric characters or '-'",
                        _HTTP_HEADER_FMT, "X-Header-Name")))
        elif kind == "tcpSocket":
            errs.extend(validate_port_num_or_name(action.get("port"), f"{kp}.port"))
        elif kind == "grpc":
            port = action.get("port")
            errs.extend(validate_port_num_or_name(port if _is_int(port) else 0, f"{kp}.port"))
        elif kind == "sleep":
            seconds = action.get("seconds") or 0
            if _is_int(grace) and _is_int(seconds) and (seconds < 0 or seconds > grace):
                errs.append(invalid(kp, seconds, "must be non-negative and less than "
                                    f"terminationGracePeriodSeconds ({grace})"))
    if count == 0:
        errs.append(required(path, "must specify a handler type"))
    return errs


def _validate_lifecycle(lifecycle: Obj, grace: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for hook in ("postStart", "preStop"):
        if isinstance(lifecycle.get(hook), dict):
            errs.extend(_validate_handler(lifecycle[hook], grace, f"{path}.{hook}", True))
    return errs


def _validate_probe(probe: Any, grace: Any, path: str, kind: str) -> list[FieldError]:
    if not isinstance(probe, dict):
        return []
    errs = _validate_handler(probe, grace, path, False)
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                "failureThreshold"):
        value = probe.get(key)
        if _is_int(value) and value < 0:
            errs.append(invalid(f"{path}.{key}", value, IS_NEGATIVE))
    tgps = probe.get("terminationGracePeriodSeconds")
    if _is_int(tgps) and tgps <= 0:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", tgps, "must be greater than 0"))
    if kind in ("liveness", "startup") and probe.get("successThreshold") != 1:
        errs.append(invalid(f"{path}.successThreshold", probe.get("successThreshold") or 0, "must be 1"))
    if kind == "readiness" and tgps is not None:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", tgps, "must not be set for readinessProbes"))
    return errs


def _validate_probes(c: Obj, grace: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if isinstance(c.get("lifecycle"), dict):
        errs.extend(_validate_lifecycle(c["lifecycle"], grace, f"{path}.lifecycle"))
    errs.extend(_validate_probe(c.get("livenessProbe"), grace, f"{path}.livenessProbe", "liveness"))
    errs.extend(_validate_probe(c.get("readinessProbe"), grace, f"{path}.readinessProbe", "readiness"))
    errs.extend(_validate_probe(c.get("startupProbe"), grace, f"{path}.startupProbe", "startup"))
    return errs


def _validate_id(value: Any, path: str) -> list[FieldError]:
    if _is_int(value) and not 0 <= value <= 0xFFFFFFFF:
        return [invalid(path, value, inclusive_range_error(0, 0xFFFFFFFF))]
    return []


def _validate_seccomp(profile: Any, path: str) -> list[FieldError]:
    if not isinstance(profile, dict):
        return []
    errs: list[FieldError] = []
    kind = _s(profile.get("type"))
    if not kind:
        errs.append(required(f"{path}.type", "type is required when seccompProfile is set"))
    elif kind not in ("Localhost", "RuntimeDefault", "Unconfined"):
        errs.append(not_supported(f"{path}.type", kind, ("Localhost", "RuntimeDefault", "Unconfined")))
    local = profile.get("localhostProfile")
    if kind == "Localhost":
        if local is None:
            errs.append(required(f"{path}.localhostProfile", "must be set when seccomp type is Localhost"))
        else:
            errs.extend(_local_descending_path(_s(local), f"{path}.localhostProfile"))
    elif local is not None:
        errs.append(invalid(f"{path}.localhostProfile", profile, "can only be set when seccomp type is Localhost"))
    return errs


def _validate_apparmor(profile: Any, path: str) -> list[FieldError]:
    if not isinstance(profile, dict):
        return []
    kind = _s(profile.get("type"))
    local = profile.get("localhostProfile")
    if kind == "Localhost":
        if local is None:
            return [required(f"{path}.localhostProfile", "must be set when AppArmor type is Localhost")]
        errs: list[FieldError] = []
        if _s(local).strip() != local:
            errs.append(invalid(f"{path}.localhostProfile", local, "must not be padded with whitespace"))
        elif not _s(local):
            errs.append(required(f"{path}.localhostProfile", "must be set when AppArmor type is Localhost"))
        if len(_s(local)) > 4095:
            errs.append(too_long(f"{path}.localhostProfile", 4095))
        return errs
    if kind in ("RuntimeDefault", "Unconfined"):
        if local is not None:
            return [invalid(f"{path}.localhostProfile", local, "can only be set when AppArmor type is Localhost")]
        return []
    if not kind:
        return [required(f"{path}.type", "type is required when appArmorProfile is set")]
    return [not_supported(f"{path}.type", kind, ("Localhost", "RuntimeDefault", "Unconfined"))]


def validate_security_context(sc: Any, path: str, host_users: bool = True) -> list[FieldError]:
    """Container SecurityContext (privileged containers are allowed, as kind/kubeadm clusters do)."""
    if not isinstance(sc, dict):
        return []
    errs = _validate_id(sc.get("runAsUser"), f"{path}.runAsUser")
    errs += _validate_id(sc.get("runAsGroup"), f"{path}.runAsGroup")
    proc_mount = sc.get("procMount")
    if proc_mount is not None:
        if proc_mount not in ("Default", "Unmasked"):
            errs.append(not_supported(f"{path}.procMount", proc_mount, ("Default", "Unmasked")))
        if host_users and proc_mount == "Unmasked":
            errs.append(invalid(f"{path}.procMount", proc_mount, "`hostUsers` must be false to use `Unmasked`"))
    errs += _validate_seccomp(sc.get("seccompProfile"), f"{path}.seccompProfile")
    if sc.get("allowPrivilegeEscalation") is False:
        if sc.get("privileged") is True:
            errs.append(invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
        for cap in _l(_d(sc.get("capabilities")).get("add")):
            if cap == "CAP_SYS_ADMIN":
                errs.append(invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and "
                                    "`capabilities.Add` CAP_SYS_ADMIN"))
    errs += _validate_apparmor(sc.get("appArmorProfile"), f"{path}.appArmorProfile")
    return errs


def _validate_resize_policy(policies: Any, path: str, restart_policy: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, pol in enumerate(_l(policies)):
        pol = _d(pol)
        name, restart = _s(pol.get("resourceName")), _s(pol.get("restartPolicy"))
        if name in seen:
            errs.append(duplicate(f"{path}[{i}]", name))
        seen.add(name)
        if not name:
            errs.append(required(path))
        elif name not in ("cpu", "memory"):
            errs.append(not_supported(path, name, ("cpu", "memory")))
        if not restart:
            errs.append(required(path))
        elif restart not in ("NotRequired", "RestartContainer"):
            errs.append(not_supported(path, restart, ("NotRequired", "RestartContainer")))
        if restart_policy == "Never" and restart != "NotRequired":
            errs.append(invalid(path, restart, "must be 'NotRequired' when `restartPolicy` is 'Never'"))
    return errs


def validate_container_common(c: Obj, volumes: dict[str, Obj], claim_names: set[str], path: str,
                              restart_policy: str, host_users: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    name = _s(c.get("name"))
    if not name:
        errs.append(required(f"{path}.name"))
    else:
        errs.extend(invalid(f"{path}.name", name, m) for m in is_dns1123_label(name))
    if not c.get("image"):
        errs.append(required(f"{path}.image"))
    policy = _s(c.get("terminationMessagePolicy"))
    if not policy:
        errs.append(required(f"{path}.terminationMessagePolicy"))
    elif policy not in ("File", "FallbackToLogsOnError"):
        errs.append(not_supported(f"{path}.terminationMessagePolicy", policy, ("File", "FallbackToLogsOnError")))
    mounts = {_s(_d(m).get("name")): _s(_d(m).get("mountPath")) for m in _l(c.get("volumeMounts"))}
    devices = {_s(_d(d).get("name")): _s(_d(d).get("devicePath")) for d in _l(c.get("volumeDevices"))}
    errs.extend(validate_container_ports(c.get("ports"), f"{path}.ports"))
    errs.extend(validate_env(c.get("env"), f"{path}.env"))
    errs.extend(validate_env_from(c.get("envFrom"), f"{path}.envFrom"))
    errs.extend(validate_volume_mounts(c.get("volumeMounts"), devices, volumes, c, f"{path}.volumeMounts"))
    errs.extend(validate_volume_devices(c.get("volumeDevices"), mounts, volumes, f"{path}.volumeDevices"))
    pull = _s(c.get("imagePullPolicy"))
    if not pull:
        errs.append(required(f"{path}.imagePullPolicy"))
    elif pull not in ("Always", "IfNotPresent", "Never"):
        errs.append(not_supported(f"{path}.imagePullPolicy", pull, ("Always", "IfNotPresent", "Never")))
    errs.extend(validate_resource_requirements(c.get("resources"), f"{path}.resources", claim_names))
    errs.extend(_validate_resize_policy(c.get("resizePolicy"), f"{path}.resizePolicy", restart_policy))
    errs.extend(validate_security_context(c.get("securityContext"), f"{path}.securityContext", host_users))
    return errs


def _host_port_conflicts(containers: list[Obj], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for ci, c in enumerate(containers):
        for pi, port in enumerate(_l(c.get("ports"))):
            port = _d(port)
            host_port = port.get("hostPort") or 0
            if not host_port:
                continue
            key = f"{_s(port.get('protocol'))}/{_s(port.get('hostIP'))}/{host_port}"
            if key in seen:
                errs.append(duplicate(f"{path}[{ci}].ports[{pi}].hostPort", key))
            seen.add(key)
    return errs


def validate_containers(containers: Any, volumes: dict[str, Obj], claim_names: set[str], grace: Any,
                        path: str, restart_policy: str, host_users: bool) -> list[FieldError]:
    items = [_d(c) for c in _l(containers)]
    if not items:
        return [required(path)]
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, c in enumerate(items):
        p = f"{path}[{i}]"
        errs.extend(validate_container_common(c, volumes, claim_names, p, restart_policy, host_users))
        name = _s(c.get("name"))
        if name in names:
            errs.append(duplicate(f"{p}.name", name))
        else:
            names.add(name)
        errs.extend(_validate_probes(c, grace, p))
        if c.get("restartPolicy") is not None:
            errs.append(forbidden(f"{p}.restartPolicy", "may not be set for non-init containers"))
    errs.extend(_host_port_conflicts(items, path))
    return errs


_INIT_FORBIDDEN = "may not be set for init containers without restartPolicy=Always"


def validate_init_containers(containers: Any, regular: Any, volumes: dict[str, Obj], claim_names: set[str],
                             grace: Any, path: str, restart_policy: str, host_users: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    names = {_s(_d(c).get("name")) for c in _l(regular)}
    for i, c in enumerate(_l(containers)):
        c = _d(c)
        p = f"{path}[{i}]"
        errs.extend(validate_container_common(c, volumes, claim_names, p, restart_policy, host_users))
        policy = c.get("restartPolicy")
        if policy is not None and policy != "Always":
            errs.append(not_supported(f"{p}.restartPolicy", policy, ("Always",)))
        name = _s(c.get("name"))
        if name in names:
            errs.append(duplicate(f"{p}.name", name))
        elif name:
            names.add(name)
        # Upstream checks each init container on its own, hence index 0 in the path.
        errs.extend(_host_port_conflicts([c], path))
        if policy == "Always":
            errs.extend(_validate_probes(c, grace, p))
        else:
            for key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if c.get(key) is not None:
                    errs.append(forbidden(f"{p}.{key}", _INIT_FORBIDDEN))
        if _l(c.get("resizePolicy")) and policy != "Always":
            errs.append(invalid(f"{p}.resizePolicy", c["resizePolicy"], "must not be set for init containers"))
    return errs


# --- scheduling: tolerations, node selection, affinity ---------------------------

_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def validate_tolerations(tolerations: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, tol in enumerate(_l(tolerations)):
        tol = _d(tol)
        p = f"{path}[{i}]"
        key, op = _s(tol.get("key")), _s(tol.get("operator"))
        value, effect = _s(tol.get("value")), _s(tol.get("effect"))
        if key:
            errs.extend(validate_label_name(key, f"{p}.key"))
        if not key and op != "Exists":
            errs.append(invalid(f"{p}.operator", op, 'operator must be Exists when `key` is empty, '
                                'which means "match all values and all keys"'))
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(invalid(f"{p}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("Equal", ""):
            msgs = is_valid_label_value(value)
            if msgs:
                errs.append(invalid(f"{p}.operator", value, ";".join(msgs)))
        elif op == "Exists":
            if value:
                errs.append(invalid(f"{p}.operator", value, "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(not_supported(f"{p}.operator", op, ("Equal", "Exists")))
        if effect and effect not in _TAINT_EFFECTS:
            errs.append(not_supported(f"{p}.effect", effect, _TAINT_EFFECTS))
    return errs


def _validate_node_selector_requirement(req: Obj, path: str, allow_invalid_values: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    op, values = _s(req.get("operator")), _l(req.get("values"))
    if op in ("In", "NotIn"):
        if not values:
            errs.append(required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
    elif op in ("Exists", "DoesNotExist"):
        if values:
            errs.append(forbidden(f"{path}.values",
                                  "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    elif op in ("Gt", "Lt"):
        if len(values) != 1:
            errs.append(required(f"{path}.values", "must be specified single value when `operator` is 'Lt' or 'Gt'"))
    else:
        errs.append(invalid(f"{path}.operator", op, "not a valid selector operator"))
    errs.extend(validate_label_name(_s(req.get("key")), f"{path}.key"))
    if not allow_invalid_values:
        for j, v in enumerate(values):
            errs.extend(invalid(f"{path}.values[{j}]", v, m) for m in is_valid_label_value(_s(v)))
    return errs


def _validate_node_field_requirement(req: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    op, values = _s(req.get("operator")), _l(req.get("values"))
    if op in ("In", "NotIn"):
        if len(values) != 1:
            errs.append(required(f"{path}.values",
                                 "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
    else:
        errs.append(invalid(f"{path}.operator", op, "not a valid selector operator"))
    key = _s(req.get("key"))
    if key != "metadata.name":
        errs.append(invalid(f"{path}.key", key, "not a valid field selector key"))
    else:
        for j, v in enumerate(values):
            errs.extend(invalid(f"{path}.values[{j}]", v, m) for m in is_dns1123_subdomain(_s(v)))
    return errs


def validate_node_selector_term(term: Obj, path: str, allow_invalid_values: bool = False) -> list[FieldError]:
    errs: list[FieldError] = []
    for j, req in enumerate(_l(term.get("matchExpressions"))):
        errs.extend(_validate_node_selector_requirement(_d(req), f"{path}.matchExpressions[{j}]",
                                                        allow_invalid_values))
    for j, req in enumerate(_l(term.get("matchFields"))):
        errs.extend(_validate_node_field_requirement(_d(req), f"{path}.matchFields[{j}]"))
    return errs


def validate_node_selector(selector: Obj, path: str) -> list[FieldError]:
    terms = _l(selector.get("nodeSelectorTerms"))
    if not terms:
        return [required(f"{path}.nodeSelectorTerms", "must have at least one node selector term")]
    errs: list[FieldError] = []
    for i, term in enumerate(terms):
        errs.extend(validate_node_selector_term(_d(term), f"{path}.nodeSelectorTerms[{i}]"))
    return errs


def _validate_weight(weight: Any, path: str) -> list[FieldError]:
    w = weight if _is_int(weight) else 0
    return [] if 0 < w <= 100 else [invalid(path, w, "must be in the range 1-100")]


def _validate_pod_affinity_term(term: Obj, path: str) -> list[FieldError]:
    errs = validate_label_selector(term.get("labelSelector"), f"{path}.labelSelector")
    errs += validate_label_selector(term.get("namespaceSelector"), f"{path}.namespaceSelector")
    for ns in _l(term.get("namespaces")):
        errs.extend(invalid(f"{path}.namespace", ns, m) for m in is_dns1123_label(_s(ns)))
    selector = term.get("labelSelector")
    match_keys, mismatch_keys = _l(term.get("matchLabelKeys")), _l(term.get("mismatchLabelKeys"))
    for field, keys in (("matchLabelKeys", match_keys), ("mismatchLabelKeys", mismatch_keys)):
        if keys and selector is None:
            errs.append(forbidden(f"{path}.{field}", "must not be specified when labelSelector is not set"))
        elif keys:
            for i, k in enumerate(keys):
                errs.extend(validate_label_name(_s(k), f"{path}.{field}[{i}]"))
    if isinstance(selector, dict):
        positions = {k: i for i, k in enumerate(match_keys)}
        keys_seen = set(_d(selector.get("matchLabels")))
        for expr in _l(selector.get("matchExpressions")):
            key = _s(_d(expr).get("key"))
            if key in positions and key in keys_seen:
                errs.append(invalid(f"{path}[{positions[key]}]", key, "exists in both matchLabelKeys and labelSelector"))
            keys_seen.add(key)
    for i, k in enumerate(match_keys):
        if k in mismatch_keys:
            errs.append(invalid(f"{path}.matchLabelKeys[{i}]", k, "exists in both matchLabelKeys and mismatchLabelKeys"))
    topology_key = _s(term.get("topologyKey"))
    if not topology_key:
        errs.append(required(f"{path}.topologyKey", "can not be empty"))
    errs.extend(validate_label_name(topology_key, f"{path}.topologyKey"))
    return errs


def _validate_pod_affinity(aff: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    rp = f"{path}.requiredDuringSchedulingIgnoredDuringExecution"
    for i, term in enumerate(_l(aff.get("requiredDuringSchedulingIgnoredDuringExecution"))):
        errs.extend(_validate_pod_affinity_term(_d(term), f"{rp}[{i}]"))
    pp = f"{path}.preferredDuringSchedulingIgnoredDuringExecution"
    for i, wt in enumerate(_l(aff.get("preferredDuringSchedulingIgnoredDuringExecution"))):
        wt = _d(wt)
        errs.extend(_validate_weight(wt.get("weight"), f"{pp}[{i}].weight"))
        errs.extend(_validate_pod_affinity_term(_d(wt.get("podAffinityTerm")), f"{pp}[{i}].podAffinityTerm"))
    return errs


def validate_affinity(affinity: Any, path: str) -> list[FieldError]:
    if not isinstance(affinity, dict):
        return []
    errs: list[FieldError] = []
    node = affinity.get("nodeAffinity")
    if isinstance(node, dict):
        np = f"{path}.nodeAffinity"
        required_sel = node.get("requiredDuringSchedulingIgnoredDuringExecution")
        if isinstance(required_sel, dict):
            errs.extend(validate_node_selector(required_sel, f"{np}.requiredDuringSchedulingIgnoredDuringExecution"))
        pp = f"{np}.preferredDuringSchedulingIgnoredDuringExecution"
        for i, term in enumerate(_l(node.get("preferredDuringSchedulingIgnoredDuringExecution"))):
            term = _d(term)
            errs.extend(_validate_weight(term.get("weight"), f"{pp}[{i}].weight"))
            # Preferred terms may carry invalid label values (they can still match one node).
            errs.extend(validate_node_selector_term(_d(term.get("preference")), f"{pp}[{i}].preference", True))
    for key in ("podAffinity", "podAntiAffinity"):
        if isinstance(affinity.get(key), dict):
            errs.extend(_validate_pod_affinity(affinity[key], f"{path}.{key}"))
    return errs


def _validate_topology_spread(constraints: Any, path: str) -> list[FieldError]:
    items = [_d(c) for c in _l(constraints)]
    errs: list[FieldError] = []
    for i, c in enumerate(items):
        p = f"{path}[{i}]"
        skew = c.get("maxSkew") if _is_int(c.get("maxSkew")) else 0
        if skew <= 0:
            errs.append(invalid(f"{p}.maxSkew", skew, NOT_POSITIVE_MSG))
        key, action = _s(c.get("topologyKey")), _s(c.get("whenUnsatisfiable"))
        if not key:
            errs.append(required(f"{p}.topologyKey", "can not be empty"))
        if action not in ("DoNotSchedule", "ScheduleAnyway"):
            errs.append(not_supported(f"{p}.whenUnsatisfiable", action, ("DoNotSchedule", "ScheduleAnyway")))
        for rest in items[i + 1:]:
            if _s(rest.get("topologyKey")) == key and _s(rest.get("whenUnsatisfiable")) == action:
                errs.append(duplicate(f"{p}.{{topologyKey, whenUnsatisfiable}}", f"{{{key}, {action}}}"))
                break
        min_domains = c.get("minDomains")
        if min_domains is not None:
            if not _is_int(min_domains) or min_domains <= 0:
                errs.append(invalid(f"{p}.minDomains", min_domains, NOT_POSITIVE_MSG))
            if action != "DoNotSchedule":
                errs.append(invalid(f"{p}.minDomains", min_domains,
                                    f"can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}"))
        for policy in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            value = c.get(policy)
            if value is not None and value not in ("Honor", "Ignore"):
                errs.append(not_supported(f"{p}.{policy}", value, ("Honor", "Ignore")))
        match_keys = _l(c.get("matchLabelKeys"))
        selector = c.get("labelSelector")
        if match_keys:
            mp = f"{p}.matchLabelKeys"
            selector_keys: set[str] = set()
            if isinstance(selector, dict):
                selector_keys = set(_d(selector.get("matchLabels")))
                selector_keys |= {_s(_d(e).get("key")) for e in _l(selector.get("matchExpressions"))}
            else:
                errs.append(forbidden(mp, "must not be specified when labelSelector is not set"))
            for j, k in enumerate(match_keys):
                errs.extend(validate_label_name(_s(k), f"{mp}[{j}]"))
                if k in selector_keys:
                    errs.append(invalid(f"{mp}[{j}]", k, "exists in both matchLabelKeys and labelSelector"))
        errs.extend(validate_label_selector(selector, f"{p}.labelSelector"))
    return errs


# --- pod-level settings ----------------------------------------------------------

_SYSCTL_SEGMENT = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
_SYSCTL_FMT = f"({_SYSCTL_SEGMENT}[\\./])*{_SYSCTL_SEGMENT}"
_SYSCTL_RE = re.compile(_SYSCTL_FMT)


def _sysctl_namespace(name: str) -> str:
    normalized = name.replace("/", ".")
    if normalized.startswith("net."):
        return "net"
    if normalized.startswith(("kernel.shm", "kernel.msg", "fs.mqueue.")) or normalized == "kernel.sem":
        return "ipc"
    return ""


def _validate_pod_security_context(spec: Obj, path: str) -> list[FieldError]:
    sc = spec.get("securityContext")
    if not isinstance(sc, dict):
        return []
    errs = _validate_id(sc.get("fsGroup"), f"{path}.fsGroup")
    errs += _validate_id(sc.get("runAsUser"), f"{path}.runAsUser")
    errs += _validate_id(sc.get("runAsGroup"), f"{path}.runAsGroup")
    for i, gid in enumerate(_l(sc.get("supplementalGroups"))):
        errs += _validate_id(gid, f"{path}.supplementalGroups[{i}]")
    if spec.get("shareProcessNamespace") is True and spec.get("hostPID") is True:
        errs.append(invalid(f"{path}.shareProcessNamespace", True,
                            "ShareProcessNamespace and HostPID cannot both be enabled"))
    names: set[str] = set()
    for i, sysctl in enumerate(_l(sc.get("sysctls"))):
        name = _s(_d(sysctl).get("name"))
        np = f"{path}.sysctls[{i}].name"
        if not name:
            errs.append(required(np))
        elif len(name) > 253 or not _SYSCTL_RE.fullmatch(name):
            errs.append(invalid(np, name, f"must have at most 253 characters and match regex ^{_SYSCTL_FMT}$"))
        elif name in names:
            errs.append(duplicate(np, name))
        ns = _sysctl_namespace(name)
        if spec.get("hostNetwork") is True and ns == "net":
            errs.append(invalid(np, name, "may not be specified when 'hostNetwork' is true"))
        elif spec.get("hostIPC") is True and ns == "ipc":
            errs.append(invalid(np, name, "may not be specified when 'hostIPC' is true"))
        names.add(name)
    policy = sc.get("fsGroupChangePolicy")
    if policy is not None and policy not in ("Always", "OnRootMismatch"):
        errs.append(not_supported(f"{path}.fsGroupChangePolicy", policy, ("Always", "OnRootMismatch")))
    errs += _validate_seccomp(sc.get("seccompProfile"), f"{path}.seccompProfile")
    errs += _validate_apparmor(sc.get("appArmorProfile"), f"{path}.appArmorProfile")
    groups_policy = sc.get("supplementalGroupsPolicy")
    if groups_policy is not None and groups_policy not in ("Merge", "Strict"):
        errs.append(not_supported(f"{path}.supplementalGroupsPolicy", groups_policy, ("Merge", "Strict")))
    selinux = sc.get("seLinuxChangePolicy")
    if selinux is not None and selinux not in ("MountOption", "Recursive"):
        errs.append(not_supported(f"{path}.seLinuxChangePolicy", selinux, ("MountOption", "Recursive")))
    return errs


def is_valid_ip(value: str) -> bool:
    if type(value) is str:
        return _valid_ip_string(value)
    return _parses_as_ip(value)


def _parses_as_ip(value: object) -> bool:
    try:
        ipaddress.ip_address(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


# Every pod status write checks its pod and host IPs: the node's address, over and over.
_valid_ip_string = lru_cache(maxsize=16384)(_parses_as_ip)


IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
_DNS_UNDERSCORE_FMT = "_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*"
_DNS_UNDERSCORE_RE = re.compile(_DNS_UNDERSCORE_FMT)
_DNS_UNDERSCORE_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                       "'_', '-' or '.', and must start and end with an alphanumeric character")


def _validate_dns_config(spec: Obj, path: str) -> list[FieldError]:
    config = spec.get("dnsConfig")
    if spec.get("dnsPolicy") == "None":
        if not isinstance(config, dict):
            return [required(path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not _l(config.get("nameservers")):
            return [required(f"{path}.nameservers",
                             "must provide at least one DNS nameserver when `dnsPolicy` is None")]
    if not isinstance(config, dict):
        return []
    errs: list[FieldError] = []
    servers = _l(config.get("nameservers"))
    if len(servers) > 3:
        errs.append(invalid(f"{path}.nameservers", servers, "must not have more than 3 nameservers"))
    for i, ns in enumerate(servers):
        if not is_valid_ip(_s(ns)):
            errs.append(invalid(f"{path}.nameservers[{i}]", ns, IP_MSG))
    searches = _l(config.get("searches"))
    if len(searches) > 32:
        errs.append(invalid(f"{path}.searches", searches, "must not have more than 32 search paths"))
    if len(" ".join(_s(s) for s in searches)) > 2048:
        errs.append(invalid(f"{path}.searches", searches,
                            "must not have more than 2048 characters (including spaces) in the search list"))
    for i, search in enumerate(searches):
        search = _s(search)
        if search == ".":
            continue
        search = search.removesuffix(".")
        sp = f"{path}.searches[{i}]"
        if len(search) > 253:
            errs.append(invalid(sp, search, max_len_error(253)))
        if not _DNS_UNDERSCORE_RE.fullmatch(search):
            errs.append(invalid(sp, search, regex_error(_DNS_UNDERSCORE_MSG, _DNS_UNDERSCORE_FMT, "example.com")))
    for i, option in enumerate(_l(config.get("options"))):
        if not _d(option).get("name"):
            errs.append(required(f"{path}.options[{i}]", "must not be empty"))
    return errs


def _validate_host_network_deps(spec: Obj, path: str, is_pod: bool) -> list[FieldError]:
    if spec.get("hostNetwork") is not True:
        return []
    errs: list[FieldError] = []
    for i, c in enumerate(_l(spec.get("containers"))):
        for j, port in enumerate(_l(_d(c).get("ports"))):
            port = _d(port)
            hp, cp = port.get("hostPort") or 0, port.get("containerPort") or 0
            if (is_pod or hp != 0) and hp != cp:
                errs.append(invalid(f"{path}.containers[{i}].ports[{j}].hostPort", hp,
                                    "must match `containerPort` when `hostNetwork` is true"))
    return errs


def _validate_host_users(spec: Obj, path: str) -> list[FieldError]:
    if _d(spec.get("securityContext")).get("hostUsers") is not False:
        return []
    errs: list[FieldError] = []
    for field, label in (("hostNetwork", "hostNetwork"), ("hostPID", "HostPID"), ("hostIPC", "HostIPC")):
        if spec.get(field) is True:
            errs.append(forbidden(f"{path}.{label}", "when `pod.Spec.HostUsers` is false"))
    return errs


def _validate_pod_claims(claims: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, claim in enumerate(_l(claims)):
        claim = _d(claim)
        p = f"{path}[{i}]"
        name = _s(claim.get("name"))
        if not name:
            errs.append(required(f"{p}.name"))
        elif name in names:
            errs.append(duplicate(f"{p}.name", name))
        else:
            errs.extend(invalid(f"{p}.name", name, m) for m in is_dns1123_label(name))
            names.add(name)
        claim_name, template_name = claim.get("resourceClaimName"), claim.get("resourceClaimTemplateName")
        if claim_name is not None and template_name is not None:
            errs.append(invalid(p, claim, "at most one of `resourceClaimName` or `resourceClaimTemplateName` "
                                "may be specified"))
        if claim_name is None and template_name is None:
            errs.append(invalid(p, claim, "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"))
        for key, value in (("resourceClaimName", claim_name), ("resourceClaimTemplateName", template_name)):
            if value is not None:
                errs.extend(invalid(f"{p}.{key}", value, m) for m in is_dns1123_subdomain(_s(value)))
    return errs


def _validate_enum(value: Any, path: str, supported: tuple[str, ...]) -> list[FieldError]:
    if not value:
        return [required(path)]
    return [] if value in supported else [not_supported(path, value, supported)]


def validate_pod_spec(spec: Any, path: str, *, is_pod: bool = False, pod_name: str = "") -> list[FieldError]:
    """ValidatePodSpec (``is_pod``: the spec of a Pod rather than of a template)."""
    spec = _d(spec)
    key = _memo_key(spec)
    if key is None:
        before, after = _validate_pod_spec_parts(spec, path, is_pod, pod_name)
    else:
        # The pod's name only matters for generic ephemeral volumes (the PVC name it implies).
        name = pod_name if b'"ephemeral"' in key else ""
        before, after = ([_copy_error(e) for e in part] for part in _spec_errors(key, path, is_pod, name))
    return before + validate_affinity(spec.get("affinity"), f"{path}.affinity") + after


def _copy_error(e: FieldError) -> FieldError:
    """A memoised error for one caller: its own FieldError and its own copy of a list/dict value."""
    value = e.value
    if isinstance(value, list | dict):
        value = orjson.loads(orjson.dumps(value))
    return dataclasses.replace(e, value=value)


@lru_cache(maxsize=_MEMO_SIZE)
def _spec_errors(key: bytes, path: str, is_pod: bool, pod_name: str) -> tuple[tuple[FieldError, ...], ...]:
    return tuple(map(tuple, _validate_pod_spec_parts(orjson.loads(key), path, is_pod, pod_name)))


def _validate_pod_spec_parts(spec: Obj, path: str, is_pod: bool,
                             pod_name: str) -> tuple[list[FieldError], list[FieldError]]:
    """ValidatePodSpec without the affinity: the errors found before it and after it."""
    errs: list[FieldError] = []
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is None:
        errs.append(required(f"{path}.terminationGracePeriodSeconds"))
    host_users = _d(spec.get("securityContext")).get("hostUsers") is not False
    restart_policy = _s(spec.get("restartPolicy"))
    volumes, vol_errs = validate_volumes(spec.get("volumes"), f"{path}.volumes", pod_name)
    errs += vol_errs
    claim_names = {_s(_d(c).get("name")) for c in _l(spec.get("resourceClaims")) if _d(c).get("name")}
    errs += _validate_pod_claims(spec.get("resourceClaims"), f"{path}.resourceClaims")
    errs += validate_containers(spec.get("containers"), volumes, claim_names, grace, f"{path}.containers",
                                restart_policy, host_users)
    errs += validate_init_containers(spec.get("initContainers"), spec.get("containers"), volumes, claim_names,
                                     grace, f"{path}.initContainers", restart_policy, host_users)
    errs += _validate_ephemeral_containers(spec, volumes, claim_names, f"{path}.ephemeralContainers",
                                           restart_policy, host_users)
    if isinstance(spec.get("resources"), dict):
        res = spec["resources"]
        if res.get("claims") is not None:
            errs.append(forbidden(f"{path}.resources.claims", "claims cannot be set for Resources at pod-level"))
        errs += validate_resource_requirements({k: v for k, v in res.items() if k != "claims"},
                                               f"{path}.resources", claim_names, pod_level=True)
    errs += _validate_host_network_deps(spec, path, is_pod)
    errs += _validate_enum(restart_policy, f"{path}.restartPolicy", ("Always", "OnFailure", "Never"))
    errs += _validate_enum(spec.get("dnsPolicy"), f"{path}.dnsPolicy",
                           ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"))
    errs += validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    errs += _validate_pod_security_context(spec, f"{path}.securityContext")
    for i, secret in enumerate(_l(spec.get("imagePullSecrets"))):
        if not isinstance(secret, dict):
            errs.append(invalid(f"{path}.imagePullSecrets[{i}]", secret, "only name may be set"))
    before, errs = errs, []
    errs += _validate_dns_config(spec, f"{path}.dnsConfig")
    for i, gate in enumerate(_l(spec.get("readinessGates"))):
        ctype = _s(_d(gate).get("conditionType"))
        errs.extend(invalid(f"{path}.readinessGates[{i}].conditionType", ctype, m) for m in is_qualified_name(ctype))
    seen_gates: set[str] = set()
    for i, gate in enumerate(_l(spec.get("schedulingGates"))):
        gname = _s(_d(gate).get("name"))
        errs.extend(invalid(f"{path}.schedulingGates[{i}]", gname, m) for m in is_qualified_name(gname))
        if gname in seen_gates:
            errs.append(duplicate(f"{path}.schedulingGates[{i}]", gname))
        seen_gates.add(gname)
    errs += _validate_topology_spread(spec.get("topologySpreadConstraints"), f"{path}.topologySpreadConstraints")
    errs += _validate_host_users(spec, path)
    for key, check in (("serviceAccountName", is_dns1123_subdomain), ("nodeName", is_dns1123_subdomain)):
        value = _s(spec.get(key))
        if value:
            errs.extend(invalid(f"{path}.{key}", value, m) for m in check(value))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and (not _is_int(deadline) or not 1 <= deadline <= MAX_INT32):
        errs.append(invalid(f"{path}.activeDeadlineSeconds", deadline, inclusive_range_error(1, MAX_INT32)))
    for key in ("hostname", "subdomain"):
        value = _s(spec.get(key))
        if value:
            errs.extend(invalid(f"{path}.{key}", value, m) for m in is_dns1123_label(value))
    errs += validate_tolerations(spec.get("tolerations"), f"{path}.tolerations")
    for i, alias in enumerate(_l(spec.get("hostAliases"))):
        alias = _d(alias)
        ap = f"{path}.hostAliases[{i}]"
        if not is_valid_ip(_s(alias.get("ip"))):
            errs.append(invalid(f"{ap}.ip", _s(alias.get("ip")), IP_MSG))
        for j, host in enumerate(_l(alias.get("hostnames"))):
            errs.extend(invalid(f"{ap}.hostnames[{j}]", host, m) for m in is_dns1123_subdomain(_s(host)))
    for key in ("priorityClassName",):
        value = _s(spec.get(key))
        if value:
            errs.extend(invalid(f"{path}.{key}", value, m) for m in is_dns1123_subdomain(value))
    runtime_class = spec.get("runtimeClassName")
    if runtime_class is not None:
        errs.extend(invalid(f"{path}.runtimeClassName", runtime_class, m)
                    for m in is_dns1123_subdomain(_s(runtime_class)))
    preemption = spec.get("preemptionPolicy")
    if preemption is not None:
        errs += _validate_enum(preemption, f"{path}.preemptionPolicy", ("PreemptLowerPriority", "Never"))
    if spec.get("overhead") is not None:
        errs += validate_resource_requirements({"limits": spec["overhead"]}, f"{path}.overhead")
    os_field = spec.get("os")
    if isinstance(os_field, dict):
        os_name = _s(os_field.get("name"))
        if not os_name:
            errs.append(required(f"{path}.os.name", "cannot be empty"))
        elif os_name not in ("linux", "windows"):
            errs.append(not_supported(f"{path}.os", os_name, ("linux", "windows")))
    return before, errs


def _validate_ephemeral_containers(spec: Obj, volumes: dict[str, Obj], claim_names: set[str], path: str,
                                   restart_policy: str, host_users: bool) -> list[FieldError]:
    items = [_d(c) for c in _l(spec.get("ephemeralContainers"))]
    if not items:
        return []
    errs: list[FieldError] = []
    others = {_s(_d(c).get("name")) for k in ("containers", "initContainers") for c in _l(spec.get(k))}
    names = set(others)
    disallowed = ("ports", "resources", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
                  "resizePolicy", "restartPolicy")
    for i, c in enumerate(items):
        p = f"{path}[{i}]"
        errs.extend(validate_container_common(c, volumes, claim_names, p, restart_policy, host_users))
        errs.extend(_validate_container_only_for_pod(c, p))
        name = _s(c.get("name"))
        if name in names:
            errs.append(duplicate(f"{p}.name", name))
        else:
            names.add(name)
        target = _s(c.get("targetContainerName"))
        if target and target not in others:
            errs.append(FieldError("Not found", f"{p}.targetContainerName", "", target))
        for key in disallowed:
            if c.get(key) not in (None, [], {}):
                errs.append(forbidden(f"{p}.{key}", "cannot be set for an Ephemeral Container"))
        for j, m in enumerate(_l(c.get("volumeMounts"))):
            for key in ("subPath", "subPathExpr"):
                if _d(m).get(key):
                    errs.append(forbidden(f"{p}.volumeMounts[{j}].{key}", "cannot be set for an Ephemeral Container"))
    return errs


def _validate_container_only_for_pod(c: Obj, path: str) -> list[FieldError]:
    image = _s(c.get("image"))
    if len(image) != len(image.strip()):
        return [invalid(f"{path}.image", image, "must not have leading or trailing whitespace")]
    return []


def validate_pod_specific_annotations(annotations: Any, spec: Obj, path: str) -> list[FieldError]:
    annotations = _d(annotations)
    errs: list[FieldError] = []
    if MIRROR_POD_ANNOTATION in annotations and not spec.get("nodeName"):
        errs.append(invalid(f"{path}[{MIRROR_POD_ANNOTATION}]", annotations[MIRROR_POD_ANNOTATION],
                            "must set spec.nodeName if mirror pod annotation is set"))
    cost = annotations.get(DELETION_COST_ANNOTATION)
    if cost is not None and not _is_int32_text(_s(cost)):
        errs.append(invalid(f"{path}[{DELETION_COST_ANNOTATION}]", cost, "must be a 32bit integer"))
    return errs


def _is_int32_text(text: str) -> bool:
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        return False
    return -(2**31) <= int(text) <= MAX_INT32


def validate_pod_template_spec(template: Any, path: str) -> list[FieldError]:
    """ValidatePodTemplateSpec: labels, annotations and spec of a template (not its name)."""
    template = _d(template)
    meta = _d(template.get("metadata"))
    spec = _d(template.get("spec"))
    errs = validate_labels(meta.get("labels"), f"{path}.labels")
    errs += validate_annotations(meta.get("annotations"), f"{path}.annotations")
    errs += validate_pod_specific_annotations(meta.get("annotations"), spec, f"{path}.annotations")
    errs += validate_pod_spec(spec, f"{path}.spec")
    if _l(spec.get("ephemeralContainers")):
        errs.append(forbidden(f"{path}.spec.ephemeralContainers", "ephemeral containers not allowed in pod template"))
    return errs


# --- semantic equality -------------------------------------------------------------

# Fields whose Go type is a value struct or a map: nil and empty compare equal.
_EMPTY_EQUALS_MISSING = frozenset({"metadata", "resources", "labels", "annotations", "nodeSelector",
                                   "limits", "requests", "matchLabels", "overhead", "data"})
_QUANTITY_MAPS = frozenset({"limits", "requests", "overhead"})


def _normalize(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            nv = _normalize(v, k)
            if nv is None or nv == "" or nv is False or nv == []:
                continue
            if nv == {} and k in _EMPTY_EQUALS_MISSING:
                continue
            if key in _QUANTITY_MAPS and isinstance(v, str | int | float):
                try:
                    nv = ("quantity", parse_quantity(v))
                except ValueError:
                    pass
            out[k] = nv
        return out
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def semantic_equal(a: Any, b: Any) -> bool:
    """apimachinery Semantic.DeepEqual over JSON: quantities by value, nil == empty for lists and maps."""
    return _normalize({"x": a}) == _normalize({"x": b})
