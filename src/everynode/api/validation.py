"""Common validation: names, labels, annotations and object metadata.

The ``is_*`` functions return the list of problem descriptions for a value
(empty when valid), worded as upstream apimachinery words them; the
``validate_*`` functions return ``FieldError`` lists ready for a 422.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from everynode.api.errors import FieldError, forbidden, invalid, not_supported, required, too_long

NameFn = Callable[[str], list[str]]

FIELD_IMMUTABLE = "field is immutable"
IS_NEGATIVE = "must be greater than or equal to 0"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_PERCENT_FMT = "[0-9]+%"

_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT)
_QNAME_RE = re.compile(_QNAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_PERCENT_RE = re.compile(_PERCENT_FMT)

_DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                      "'-', and must start and end with an alphanumeric character")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                          "characters, '-' or '.', and must start and end with an alphanumeric character")
_DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                      "start with an alphabetic character, and end with an alphanumeric character")
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
              "an alphanumeric character")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', "
                    "'_' or '.', and must start and end with an alphanumeric character")
_PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'"

# metav1 finalizers with garbage-collector meaning.
FINALIZER_ORPHAN = "orphan"
FINALIZER_DELETE_DEPENDENTS = "foregroundDeletion"


# --- message helpers (apimachinery wording) ---------------------------------

def max_len_error(length: int, unit: str = "characters") -> str:
    return f"must be no more than {length} {unit}"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    quoted = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {quoted}regex used for validation is '{fmt}')"


def empty_error() -> str:
    return "must be non-empty"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


def _full(regex: re.Pattern[str], value: str) -> bool:
    return regex.fullmatch(value) is not None


# --- value checks ----------------------------------------------------------

def is_dns1123_label(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _full(_DNS1123_LABEL_RE, value):
        if _full(_DNS1123_SUBDOMAIN_RE, value):
            # A valid subdomain that is not a label (length already checked): dots.
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _full(_DNS1123_SUBDOMAIN_RE, value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1035_LABEL_MAX:
        errs.append(max_len_error(DNS1035_LABEL_MAX))
    if not _full(_DNS1035_LABEL_RE, value):
        errs.append(regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """Label key / annotation key / finalizer name: optional DNS subdomain prefix and '/' name."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return ["a valid label key " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part " + empty_error())
    elif len(name) > QUALIFIED_NAME_MAX:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX, "bytes"))
    if not _full(_QNAME_RE, name):
        errs.append("name part " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(max_len_error(LABEL_VALUE_MAX, "bytes"))
    if not _full(_LABEL_VALUE_RE, value):
        errs.append(regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_valid_percent(value: str) -> list[str]:
    if _full(_PERCENT_RE, value):
        return []
    return [regex_error(_PERCENT_MSG, _PERCENT_FMT, "1%", "93%")]


def is_valid_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [inclusive_range_error(1, 65535)]


def mask_trailing_dash(name: str) -> str:
    """generateName may end in '-': upstream swaps the last two characters for 'a' before checking."""
    if name.endswith("-"):
        return name[:-2] + "a" if len(name) >= 2 else "a"
    return name


# --- field validators ------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_nonnegative(value: Any, path: str) -> list[FieldError]:
    if value is not None and _is_int(value) and value < 0:
        return [invalid(path, value, IS_NEGATIVE)]
    return []


def validate_positive(value: Any, path: str) -> list[FieldError]:
    if value is not None and _is_int(value) and value <= 0:
        return [invalid(path, value, "must be greater than zero")]
    return []


def validate_immutable(new: Any, old: Any, path: str) -> list[FieldError]:
    return [] if new == old else [invalid(path, new, FIELD_IMMUTABLE)]


def validate_label_name(key: str, path: str) -> list[FieldError]:
    return [invalid(path, key, m) for m in is_qualified_name(key)]


# Label sets found valid (their items, in order): the pods of a DaemonSet, and every write of
# one object, carry the same labels again and again. Bounded: cleared when full.
_VALID_LABEL_SETS: set[tuple] = set()
_VALID_LABEL_SETS_MAX = 16384


def validate_labels(labels: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    if type(labels) is not dict or not labels:
        return _validate_labels(labels, path)
    key = tuple(labels.items())
    try:
        if key in _VALID_LABEL_SETS:
            return []
    except TypeError:  # a value that is not a string (nor hashable): never valid, checked below
        return _validate_labels(labels, path)
    errs = _validate_labels(labels, path)
    if not errs:
        if len(_VALID_LABEL_SETS) >= _VALID_LABEL_SETS_MAX:
            _VALID_LABEL_SETS.clear()
        _VALID_LABEL_SETS.add(key)
    return errs


def _validate_labels(labels: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for k, v in (labels or {}).items():
        errs.extend(validate_label_name(k, path))
        if not isinstance(v, str):
            errs.append(invalid(path, v, "must be a string"))
            continue
        errs.extend(invalid(path, v, m) for m in is_valid_label_value(v))
    return errs


def validate_annotations(annotations: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    total = 0
    for k, v in (annotations or {}).items():
        # Annotation keys are qualified names in any letter case.
        errs.extend(invalid(path, k, m) for m in is_qualified_name(k.lower()))
        total += len(k.encode()) + len(str(v).encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def validate_finalizer_name(name: str, path: str) -> list[FieldError]:
    return [invalid(path, name, m) for m in is_qualified_name(name)]


def validate_finalizers(finalizers: Iterable[str] | None, path: str) -> list[FieldError]:
    finalizers = list(finalizers or [])
    errs: list[FieldError] = []
    for f in finalizers:
        errs.extend(validate_finalizer_name(f, path))
    if FINALIZER_ORPHAN in finalizers and FINALIZER_DELETE_DEPENDENTS in finalizers:
        errs.append(invalid(path, finalizers, f"finalizer {FINALIZER_ORPHAN} and "
                            f"{FINALIZER_DELETE_DEPENDENTS} cannot be both set"))
    return errs


def _split_api_version(api_version: str) -> tuple[str, str] | None:
    """(group, version) of an apiVersion string, None when malformed."""
    if not api_version:
        return "", ""
    if api_version == "v1":
        return "", "v1"
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


def validate_owner_references(refs: list[dict] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    first_controller = ""
    for ref in refs or []:
        api_version = ref.get("apiVersion") or ""
        kind = ref.get("kind") or ""
        gv = _split_api_version(api_version)
        group, version = gv if gv is not None else ("", "")
        if not version:
            errs.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
        if not kind:
            errs.append(invalid(f"{path}.kind", kind, "must not be empty"))
        if not ref.get("name"):
            errs.append(invalid(f"{path}.name", ref.get("name") or "", "must not be empty"))
        if not ref.get("uid"):
            errs.append(invalid(f"{path}.uid", ref.get("uid") or "", "must not be empty"))
        if group == "" and version == "v1" and kind == "Event":
            errs.append(invalid(path, ref, "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name') or ''}"
            if first_controller:
                errs.append(invalid(path, refs, "Only one reference can have Controller set to true. "
                                    f'Found "true" in references for {first_controller} and {current}'))
            else:
                first_controller = current
    return errs


def validate_managed_fields(entries: list[dict] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, e in enumerate(entries or []):
        p = f"{path}[{i}]"
        if e.get("operation") not in ("Apply", "Update"):
            errs.append(invalid(f"{p}.operation", e.get("operation") or "", "must be `Apply` or `Update`"))
        ft = e.get("fieldsType")
        if ft and ft != "FieldsV1":
            errs.append(invalid(f"{p}.fieldsType", ft, "must be `FieldsV1`"))
    return errs


def validate_object_meta(meta: dict, namespaced: bool, path: str = "metadata",
                         name_fn: NameFn = is_dns1123_subdomain, *,
                         lists: list[FieldError] | None = None) -> list[FieldError]:
    """Create-time metadata checks (ValidateObjectMetaAccessor); name generation already done.
    ``lists``: what ``validate_meta_lists(meta, path)`` returned, when the caller has it."""
    errs: list[FieldError] = []
    generate_name = meta.get("generateName") or ""
    if generate_name:
        errs.extend(invalid(f"{path}.generateName", generate_name, m)
                    for m in name_fn(mask_trailing_dash(generate_name)))
    name = meta.get("name") or ""
    if not name:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    else:
        errs.extend(invalid(f"{path}.name", name, m) for m in name_fn(name))
    errs.extend(_validate_meta_common(meta, namespaced, path, lists))
    return errs


_META_LISTS = (("labels", validate_labels), ("annotations", validate_annotations),
               ("ownerReferences", validate_owner_references), ("finalizers", validate_finalizers),
               ("managedFields", validate_managed_fields))


def validate_meta_lists(meta: dict, path: str = "metadata") -> list[FieldError]:
    """The checks of labels, annotations, owner references, finalizers and managed fields, in
    that order: the end of both the create-time and the update-time metadata checks (an update
    runs both, as upstream, so their errors are reported twice). Absent or empty fields have
    nothing to check (each validator treats them as empty)."""
    errs: list[FieldError] = []
    for field, check in _META_LISTS:
        v = meta.get(field)
        if v:
            errs.extend(check(v, f"{path}.{field}"))
    return errs


def _validate_meta_common(meta: dict, namespaced: bool, path: str,
                          lists: list[FieldError] | None = None) -> list[FieldError]:
    errs: list[FieldError] = []
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            errs.append(required(f"{path}.namespace"))
        else:
            errs.extend(invalid(f"{path}.namespace", namespace, m) for m in is_dns1123_label(namespace))
    elif namespace:
        errs.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    generation = meta.get("generation")
    if generation is not None:
        errs.extend(validate_nonnegative(generation, f"{path}.generation"))
    errs.extend(validate_meta_lists(meta, path) if lists is None else lists)
    return errs


def validate_object_meta_update(new_meta: dict, old_meta: dict, path: str = "metadata", *,
                                check_resource_version: bool = False,
                                lists: list[FieldError] | None = None) -> list[FieldError]:
    """Update-time metadata checks (ValidateObjectMetaAccessorUpdate).

    Upstream fills an empty resourceVersion from the stored object for kinds that
    allow unconditional updates before validating, so the "must be specified for
    an update" check is opt-in here. ``lists``: what ``validate_meta_lists(new_meta, path)``
    returned, when the caller has it.
    """
    if new_meta == old_meta and lists is None and (new_meta.get("resourceVersion") or not check_resource_version):
        return []  # unchanged (a status write): the stored metadata passed these checks
    errs: list[FieldError] = []
    if old_meta.get("deletionTimestamp"):
        extra = sorted(set(new_meta.get("finalizers") or []) - set(old_meta.get("finalizers") or []))
        if extra:
            listed = "[]string{" + ", ".join(f'"{f}"' for f in extra) + "}"
            errs.append(forbidden(f"{path}.finalizers", "no new finalizers can be added if the object is "
                                  f"being deleted, found new finalizers {listed}"))
    if check_resource_version and not new_meta.get("resourceVersion"):
        errs.append(invalid(f"{path}.resourceVersion", new_meta.get("resourceVersion") or "",
                            "must be specified for an update"))
    new_gen, old_gen = new_meta.get("generation") or 0, old_meta.get("generation") or 0
    if _is_int(new_gen) and _is_int(old_gen) and new_gen < old_gen:
        errs.append(invalid(f"{path}.generation", new_gen, "must not be decremented"))
    for key, empty in (("name", ""), ("namespace", ""), ("uid", ""), ("creationTimestamp", None),
                       ("deletionTimestamp", None), ("deletionGracePeriodSeconds", None)):
        new_v = new_meta.get(key) or empty
        old_v = old_meta.get(key) or empty
        if new_v != old_v:
            errs.append(invalid(f"{path}.{key}", new_v, FIELD_IMMUTABLE))
    errs.extend(validate_meta_lists(new_meta, path) if lists is None else lists)
    return errs


SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(sel: dict | None, path: str, *,
                            allow_invalid_values: bool = False) -> list[FieldError]:
    """metav1.LabelSelector structure: matchLabels and matchExpressions."""
    if sel is None:
        return []
    errs = validate_labels(sel.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(sel.get("matchExpressions") or []):
        p = f"{path}.matchExpressions[{i}]"
        op = expr.get("operator") or ""
        values = expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden(f"{p}.values",
                                      "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            errs.append(invalid(f"{p}.operator", op, "not a valid selector operator"))
        errs.extend(validate_label_name(expr.get("key") or "", f"{p}.key"))
        if not allow_invalid_values:
            for j, v in enumerate(values):
                errs.extend(invalid(f"{p}.values[{j}]", v, m) for m in is_valid_label_value(str(v)))
    return errs


def validate_enum(value: Any, path: str, supported: Iterable[str], *, required_: bool = True) -> list[FieldError]:
    """Required (when empty and ``required_``) or Unsupported value."""
    supported = tuple(supported)
    if value in (None, ""):
        return [required(path)] if required_ else []
    return [] if value in supported else [not_supported(path, value, supported)]
