"""The generic REST semantics of every served kind: create, get, list, watch,
update, patch, delete and deletecollection, plus the status subresource.

Kind-specific behaviour comes from the ``Kind`` hooks; storage from the
``Store`` interface. Handlers return plain dicts or pre-encoded bytes; the
HTTP layer (``app.py``) renders them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

from everynode.api import errors, selectors, validation
from everynode.api.errors import ApiError
from everynode.api.kind import Kind
from everynode.apiserver import decode
from everynode.apiserver.objects import (
    deep_copy,
    field_value,
    generate_name,
    key_of,
    new_uid,
    now_rfc3339,
    prefix_of,
    spec_part,
    supports_field,
)
from everynode.storage.interface import Entry, KeyExists, KeyNotFound, Obj, RevisionConflict, Store

log = logging.getLogger("everynode.apiserver")

# Unconditional updates retry on a revision conflict until they win, as upstream's
# GuaranteedUpdate does; each retry waits for another writer's commit, so this
# bound is only a guard against a livelock, never reached in practice.
MAX_UPDATE_RETRIES = 10_000
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
# Kinds whose registry strategy allows PUT to create a missing object (upstream).
CREATE_ON_UPDATE = ("Lease", "Event")


@dataclass
class Filter:
    """Label and field selectors of a list or watch."""

    labels: Any = None
    fields: list | None = None
    # JSON strings a matching object's bytes must contain (from field equalities): a list tests
    # them on the stored bytes before decoding anything.
    needles: tuple[bytes, ...] = ()

    def matches(self, kind: Kind, obj: Obj) -> bool:
        if self.labels is not None and not self.labels.matches((obj.get("metadata") or {}).get("labels") or {}):
            return False
        if self.fields:
            return selectors.field_selector_matches(self.fields, lambda f: field_value(kind, obj, f))
        return True

    @property
    def empty(self) -> bool:
        return self.labels is None and not self.fields


def make_filter(kind: Kind, label_selector: str | None, field_selector: str | None,
                name: str | None = None) -> Filter:
    f = Filter()
    if label_selector:
        sel = selectors.parse_label_selector(label_selector)
        if not sel.empty:
            f.labels = sel
    reqs = []
    if field_selector:
        reqs = list(selectors.parse_field_selector(field_selector))
        for field, _op, _value in reqs:
            if not supports_field(kind, field):
                raise errors.bad_request(f'field label not supported: {field}')
    if name:
        reqs.append(("metadata.name", "=", name))
    f.fields = reqs or None
    needles = (_needle(value) for field, op, value in reqs
               if op in ("=", "==") and value
               and (field in ("metadata.name", "metadata.namespace") or field in kind.verbatim_fields))
    f.needles = tuple(n for n in needles if n is not None)
    return f


def _needle(value: str) -> bytes | None:
    """The JSON form of a selector value as the store's bytes would hold it (None if it has none,
    e.g. a lone surrogate: such a value cannot be in any stored object, the full match decides)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return None


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Warn"  # Strict, Warn, Ignore


GENERATE_NAME_ATTEMPTS = 8


class Resources:
    def __init__(self, store: Store):
        self.store = store
        self.namespace_kind: Kind | None = None
        self._namespace_cleanups: dict[str, asyncio.Task] = {}

    # ----------------------------------------------------------------- reading

    def get(self, kind: Kind, ns: str | None, name: str) -> Entry:
        entry = self.store.get(key_of(kind, ns, name))
        if entry is None:
            raise errors.not_found(kind.plural, kind.group, name)
        return entry

    def list(self, kind: Kind, ns: str | None, flt: Filter, limit: int = 0,
             continue_token: str | None = None) -> tuple[list[Entry], int, str | None, int]:
        """Matching entries, the list revision, a continue token and the remaining count."""
        entries, rev = self.store.list(prefix_of(kind, ns))
        start_key = None
        if continue_token:
            try:
                token = orjson.loads(base64.urlsafe_b64decode(continue_token.encode()))
                start_key, rev = token["start"], int(token["rv"])
                if not isinstance(start_key, str):
                    raise TypeError("start")
            except Exception:
                raise errors.bad_request("continue key is not valid: incorrect encoded start "
                                         "resourceVersion (version meta.k8s.io/v1)") from None
        if flt.needles:
            needles = flt.needles
            entries = [e for e in entries if all(n in e.raw for n in needles)]
        if not flt.empty:
            entries = [e for e in entries if flt.matches(kind, e.value)]
        if start_key is not None:
            entries = [e for e in entries if self._entry_key(kind, e) > start_key]
        if limit > 0 and len(entries) > limit:
            page = entries[:limit]
            last = self._entry_key(kind, page[-1])
            token = base64.urlsafe_b64encode(orjson.dumps({"rv": rev, "start": last})).decode()
            return page, rev, token, len(entries) - limit
        return entries, rev, None, 0

    @staticmethod
    def _entry_key(kind: Kind, e: Entry) -> str:
        """``namespace/name`` (``/name`` when cluster-scoped): the store key without its resource."""
        return e.key.split("/", 1)[1]

    # ---------------------------------------------------------------- decoding

    def decode_object(self, kind: Kind, body: Any, opts: WriteOptions,
                      from_patch: bool = False, owned: bool = False) -> tuple[Obj, list[str]]:
        """Check type meta and schema of a request body; returns (object, warnings). ``owned``:
        the body was just decoded for this request, so it is used in place instead of copied."""
        if not isinstance(body, dict):
            raise errors.bad_request(
                f"{kind.kind} in version \"{kind.version}\" cannot be handled as a {kind.kind}: "
                f"the body must be a JSON object")
        api_version = body.get("apiVersion")
        k = body.get("kind")
        if api_version and api_version != kind.group_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({kind.group_version})")
        if k and k != kind.kind:
            raise errors.bad_request(
                f"the kind in the data ({k}) does not match the expected kind ({kind.kind})")
        if body.get("metadata") is not None and not isinstance(body.get("metadata"), dict):
            raise errors.bad_request(f"{kind.kind} in version \"{kind.version}\" cannot be handled as a "
                                     f"{kind.kind}: metadata must be an object")
        try:
            if owned:
                orjson.dumps(body)  # what the copy would refuse (nesting deeper than 255), without copying
                obj = body
            else:
                obj = deep_copy(body)
        except (orjson.JSONEncodeError, TypeError, ValueError) as exc:
            raise errors.bad_request(f'{kind.kind} in version "{kind.version}" cannot be handled as a '
                                     f"{kind.kind}: {exc}") from None
        obj["apiVersion"] = kind.group_version
        obj["kind"] = kind.kind
        obj.setdefault("metadata", {})
        if obj["metadata"] is None:
            obj["metadata"] = {}
        try:
            unknown = decode.check(kind.type_name, obj)
        except decode.TypeMismatch as exc:
            raise errors.bad_request(
                f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: {exc}'
            ) from None
        warnings: list[str] = []
        if unknown:
            msgs = [f'unknown field "{u}"' for u in unknown]
            if opts.field_validation == "Strict":
                # A request body fails in the decoder (upstream prefixes the codec's words);
                # a patched object fails after the patch, without them.
                prefix = "" if from_patch else (f'{kind.kind} in version "{kind.version}" cannot be '
                                                f"handled as a {kind.kind}: ")
                raise errors.bad_request(prefix + "strict decoding error: " + ", ".join(msgs))
            if opts.field_validation == "Warn":
                warnings.extend(msgs)
        return obj, warnings

    # ----------------------------------------------------------------- create

    def _check_namespace(self, kind: Kind, ns: str | None) -> None:
        if not kind.namespaced or self.namespace_kind is None:
            return
        entry = self.store.get(key_of(self.namespace_kind, None, ns or ""))
        if entry is None:
            raise errors.not_found("namespaces", "", ns or "")
        if (entry.value.get("metadata") or {}).get("deletionTimestamp"):
            raise ApiError(403, "Forbidden",
                           f'{kind.plural}{"." + kind.group if kind.group else ""} "'
                           f'{(entry.value["metadata"]).get("name")}" is forbidden: unable to create new '
                           f"content in namespace {ns} because it is being terminated",
                           {"name": ns, "kind": kind.plural, "causes": [{
                               "reason": "NamespaceTerminating",
                               "message": f"namespace {ns} is being terminated",
                               "field": "metadata.namespace"}]})

    def _validate(self, kind: Kind, obj: Obj, old: Obj | None) -> None:
        meta = obj["metadata"]
        if old is not None and meta == old["metadata"]:
            # Unchanged metadata (a lease renewal, most status writes) passed these checks when
            # it was stored, and an update that changes nothing in it cannot fail them.
            errs = kind.validate_update(obj, old)
        else:
            errs = self._validate_metadata(kind, meta, old)
            errs += kind.validate_create(obj) if old is None else kind.validate_update(obj, old)
        if errs:
            raise errors.invalid_object(kind.kind, kind.group, meta.get("name") or meta.get("generateName", ""),
                                        errs)

    @staticmethod
    def _validate_metadata(kind: Kind, meta: Obj, old: Obj | None) -> list:
        name_fn = validation.is_dns1123_label if kind.kind == "Namespace" else validation.is_dns1123_subdomain
        # Both metadata validations of an update end with the same checks of the same fields:
        # done once; when they found errors, done again (each report gets its own error objects).
        lists = validation.validate_meta_lists(meta, "metadata")
        errs = validation.validate_object_meta(meta, kind.namespaced, "metadata", name_fn, lists=lists)
        if old is not None:
            errs += validation.validate_object_meta_update(meta, old["metadata"], "metadata",
                                                           lists=None if lists else lists)
        return errs

    async def create(self, kind: Kind, ns: str | None, body: Any, opts: WriteOptions,
                     owned: bool = False) -> tuple[Obj, list[str]]:
        obj, warnings = self.decode_object(kind, body, opts, owned=owned)
        meta = obj["metadata"]
        if kind.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and ns and body_ns != ns:
                raise errors.bad_request("the namespace of the provided object does not match the "
                                         "namespace sent on the request")
            meta["namespace"] = ns or body_ns or "default"
            ns = meta["namespace"]
        else:
            meta.pop("namespace", None)
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        generated = not meta.get("name") and bool(meta.get("generateName"))
        if generated:
            meta["name"] = generate_name(meta["generateName"])
        # System-owned metadata is the server's to set.
        for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "selfLink", "managedFields", "generation"):
            meta.pop(f, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = now_rfc3339()
        if kind.has_generation:
            meta["generation"] = 1
        kind.default(obj)
        kind.prepare_create(obj)
        self._validate(kind, obj, None)
        self._check_namespace(kind, ns)
        if kind.kind == "Pod":
            self._admit_priority(obj)
        if opts.dry_run:
            if self.store.get(key_of(kind, ns, meta["name"])) is not None:
                raise errors.already_exists(kind.plural, kind.group, meta["name"])
            return obj, warnings
        # A generated name that is taken gets new suffixes (upstream's RetryGenerateName: up to
        # 8 attempts); five letters from 27 collide often enough at 10,000 pods of one DaemonSet.
        for attempt in range(GENERATE_NAME_ATTEMPTS if generated else 1):
            try:
                entry = await self.store.create(key_of(kind, ns, meta["name"]), obj)
                return entry.value, warnings
            except KeyExists:
                if attempt + 1 >= (GENERATE_NAME_ATTEMPTS if generated else 1):
                    raise errors.already_exists(kind.plural, kind.group, meta["name"]) from None
                meta["name"] = generate_name(meta["generateName"])
        raise AssertionError("unreachable")

    def _admit_priority(self, pod: Obj) -> None:
        """The Priority admission plugin: resolve spec.priority from the PriorityClass."""
        from everynode.api.kinds import KINDS

        spec = pod.setdefault("spec", {})
        pc_kind = next(k for k in KINDS if k.kind == "PriorityClass")
        name = spec.get("priorityClassName")
        if name:
            entry = self.store.get(key_of(pc_kind, None, name))
            if entry is None:
                raise ApiError(403, "Forbidden", f'pods "{pod["metadata"].get("name", "")}" is forbidden: '
                               f"no PriorityClass with name {name} was found",
                               {"name": pod["metadata"].get("name", ""), "kind": "pods"})
            pc = entry.value
        else:
            entries, _ = self.store.list(prefix_of(pc_kind, None))
            defaults = [e.value for e in entries if e.value.get("globalDefault")]
            pc = min(defaults, key=lambda p: p.get("value", 0)) if defaults else None
            if pc is not None:
                spec["priorityClassName"] = pc["metadata"]["name"]
        value = int((pc or {}).get("value") or 0)
        if spec.get("priority") is not None and spec["priority"] != value:
            raise ApiError(403, "Forbidden", f'pods "{pod["metadata"].get("name", "")}" is forbidden: the '
                           "integer value of priority must not be provided in pod spec; priority admission "
                           "controller computed " + str(value) + " from the given PriorityClass name",
                           {"name": pod["metadata"].get("name", ""), "kind": "pods"})
        spec["priority"] = value
        spec.setdefault("preemptionPolicy", (pc or {}).get("preemptionPolicy") or "PreemptLowerPriority")

    # ----------------------------------------------------------------- update

    def _prepare_update(self, kind: Kind, new: Obj, old: Obj, subresource: str | None) -> Obj:
        """Merge server-owned state of ``old`` into ``new`` and run the strategy."""
        if subresource == "status":
            # The stored object with the new status: its other parts (the spec, the owner
            # references, ...) are shared with ``old``, not copied, as stored values are read-only
            # (the status hooks replace what they reset, they do not modify it). The metadata and
            # its labels and annotations are this object's own: hooks set keys in them.
            merged = dict(old)
            meta = merged["metadata"] = dict(old["metadata"])
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            # Status writers may also set labels and annotations (as the kubelet does).
            for f in ("labels", "annotations"):
                if f in new["metadata"]:
                    meta[f] = new["metadata"][f]
                elif isinstance(meta.get(f), dict):
                    meta[f] = dict(meta[f])
            kind.prepare_status_update(merged, old)
            errs = kind.validate_status_update(merged, old)
            if errs:
                raise errors.invalid_object(kind.kind, kind.group, old["metadata"]["name"], errs)
            return merged
        meta, old_meta = new["metadata"], old["metadata"]
        for f in ("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if f in old_meta:
                meta[f] = old_meta[f]
            else:
                meta.pop(f, None)
        meta.setdefault("uid", old_meta.get("uid"))
        for f in ("selfLink", "managedFields"):
            meta.pop(f, None)
        if "status" in kind.subresources:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        kind.default(new)
        kind.prepare_update(new, old)
        if kind.has_generation and spec_part(new) != spec_part(old):
            meta["generation"] = int(old_meta.get("generation") or 0) + 1
        self._validate(kind, new, old)
        return new

    async def update(self, kind: Kind, ns: str | None, name: str, body: Any, opts: WriteOptions,
                     subresource: str | None = None, owned: bool = False) -> tuple[Obj, list[str]]:
        obj, warnings = self.decode_object(kind, body, opts, owned=owned)
        meta = obj["metadata"]
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name "
                                     f"on the URL ({name})")
        if kind.namespaced and meta.get("namespace") and meta["namespace"] != ns:
            raise errors.bad_request("the namespace of the provided object does not match the "
                                     "namespace sent on the request")
        meta["name"] = name
        if kind.namespaced:
            meta["namespace"] = ns
        want_rv = meta.get("resourceVersion") or None
        if (kind.kind in CREATE_ON_UPDATE and subresource is None and not want_rv
                and self.store.get(key_of(kind, ns, name)) is None):
            return await self.create(kind, ns, obj, opts, owned=True)
        # With a resourceVersion there is one attempt only (a conflict is the client's to
        # resolve), so the decoded object, this request's own, is used as it is; a retried
        # unconditional update starts each attempt from a fresh copy of it.
        make = (lambda _cur: obj) if want_rv is not None else (lambda _cur: deep_copy(obj))
        result = await self._guaranteed_update(kind, ns, name, make, want_rv, opts, subresource)
        return result, warnings

    async def patch(self, kind: Kind, ns: str | None, name: str, content_type: str, raw: bytes,
                    opts: WriteOptions, subresource: str | None = None) -> tuple[Obj, list[str]]:
        from everynode.api import patch as patching

        warnings: list[str] = []

        def apply(current: Obj) -> Obj:
            patched = patching.apply_patch(content_type, current, raw, kind.type_name)
            obj, warns = self.decode_object(kind, patched, opts, from_patch=True)
            warnings[:] = warns
            meta = obj["metadata"]
            if meta.get("name") != name:
                raise errors.bad_request("metadata.name: Invalid value: the name cannot be changed by "
                                         "a patch")
            return obj

        # A patch carrying a resourceVersion is a precondition; otherwise it is retried.
        result = await self._guaranteed_update(kind, ns, name, apply, None, opts, subresource,
                                               rv_from_patch=b'"resourceVersion"' in raw)
        return result, warnings

    async def _guaranteed_update(self, kind: Kind, ns: str | None, name: str, make, want_rv: str | None,
                                 opts: WriteOptions, subresource: str | None,
                                 rv_from_patch: bool = False) -> Obj:
        key = key_of(kind, ns, name)
        for _ in range(MAX_UPDATE_RETRIES):
            entry = self.store.get(key)
            if entry is None:
                raise errors.not_found(kind.plural, kind.group, name)
            old = entry.value
            new = make(old)
            rv = new["metadata"].get("resourceVersion") or None if rv_from_patch else want_rv
            if rv is not None and rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(kind.plural, kind.group, name)
            new["metadata"]["resourceVersion"] = old["metadata"].get("resourceVersion")
            new = self._prepare_update(kind, new, old, subresource)
            if new == old:
                return old  # no-op: nothing written, resourceVersion unchanged
            finishing = (new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers")
                         and not self._pending_grace(kind, new))
            if opts.dry_run:
                return new
            try:
                if finishing:
                    deleted = await self.store.delete(key, entry.mod_rev)
                    return deleted.value
                stored = await self.store.update(key, new, entry.mod_rev, kind.commit_delay)
                return stored.value
            except RevisionConflict:
                if rv is not None:
                    raise errors.conflict(kind.plural, kind.group, name) from None
                continue
            except KeyNotFound:
                raise errors.not_found(kind.plural, kind.group, name) from None
        raise errors.conflict(kind.plural, kind.group, name, "too many concurrent updates")

    async def bind(self, kind: Kind, ns: str | None, name: str, binding: Obj, opts: WriteOptions) -> Obj:
        """pods/binding: written straight to storage, only the revision is checked."""
        from everynode.api.kinds import pod as podkind

        key = key_of(kind, ns, name)
        for _ in range(MAX_UPDATE_RETRIES):
            entry = self.store.get(key)
            if entry is None:
                raise errors.not_found(kind.plural, kind.group, name)
            new = podkind.bind_pod(entry.value, binding)
            if opts.dry_run:
                return new
            try:
                return (await self.store.update(key, new, entry.mod_rev)).value
            except RevisionConflict:
                continue
            except KeyNotFound:
                raise errors.not_found(kind.plural, kind.group, name) from None
        raise errors.conflict(kind.plural, kind.group, name, "too many concurrent updates")

    # ----------------------------------------------------------------- delete

    @staticmethod
    def _pending_grace(kind: Kind, obj: Obj) -> bool:
        """A pod whose graceful deletion still waits for its node agent."""
        if kind.kind != "Pod":
            return False
        return bool(obj["metadata"].get("deletionGracePeriodSeconds"))

    async def delete(self, kind: Kind, ns: str | None, name: str, options: dict) -> tuple[Obj, bool]:
        """Delete one object; returns (object or Status, deleted_now)."""
        key = key_of(kind, ns, name)
        for _ in range(MAX_UPDATE_RETRIES):
            entry = self.store.get(key)
            if entry is None:
                raise errors.not_found(kind.plural, kind.group, name)
            try:
                return await self._delete_once(kind, key, entry, options)
            except RevisionConflict:
                continue
            except KeyNotFound:
                raise errors.not_found(kind.plural, kind.group, name) from None
        raise errors.conflict(kind.plural, kind.group, name, "too many concurrent updates")

    async def _delete_once(self, kind: Kind, key: str, entry: Entry, options: dict) -> tuple[Obj, bool]:
        old = entry.value
        meta = old["metadata"]
        name = meta["name"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise errors.conflict(kind.plural, kind.group, name,
                                  f"Precondition failed: UID in precondition: {pre['uid']}, UID in object "
                                  f"meta: {meta.get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            raise errors.conflict(kind.plural, kind.group, name,
                                  f"Precondition failed: ResourceVersion in precondition: "
                                  f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                  f"{meta.get('resourceVersion')}")
        dry_run = bool(options.get("dryRun"))
        if kind.kind == "PriorityClass":
            from everynode.api.kinds import priorityclass

            forbidden = priorityclass.delete_forbidden(name)
            if forbidden is not None:
                raise forbidden
        if kind.kind == "Namespace":
            if name in IMMORTAL_NAMESPACES:
                raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may '
                               f"not be deleted", {"name": name, "kind": "namespaces"})
        new = deep_copy(old)
        nmeta = new["metadata"]
        finalizers = list(nmeta.get("finalizers") or [])
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise errors.invalid_object("DeleteOptions", "", "", [errors.not_supported(
                "propagationPolicy", policy, ["Foreground", "Background", "Orphan"])])
        already_deleting = bool(nmeta.get("deletionTimestamp"))
        if not already_deleting or policy is not None:
            if policy == "Orphan":
                finalizers = [f for f in finalizers if f != "foregroundDeletion"]
                if "orphan" not in finalizers:
                    finalizers.append("orphan")
            elif policy == "Foreground":
                finalizers = [f for f in finalizers if f != "orphan"]
                if "foregroundDeletion" not in finalizers:
                    finalizers.append("foregroundDeletion")
            elif policy == "Background":
                finalizers = [f for f in finalizers if f not in ("orphan", "foregroundDeletion")]
        grace = self._grace_period(kind, old, options)
        namespace_pending = kind.kind == "Namespace" and bool((old.get("spec") or {}).get("finalizers"))
        if not finalizers and grace == 0 and not namespace_pending:
            if dry_run:
                return old, True
            deleted = await self.store.delete(key, entry.mod_rev)
            return deleted.value, True
        # Graceful or finalizer-gated deletion: mark the object and let its owner finish.
        if finalizers:
            nmeta["finalizers"] = finalizers
        else:
            nmeta.pop("finalizers", None)
        now = time.time()
        if not already_deleting:
            nmeta["deletionTimestamp"] = now_rfc3339(now + grace)
            nmeta["deletionGracePeriodSeconds"] = grace
            if kind.has_generation:
                nmeta["generation"] = int(nmeta.get("generation") or 0) + 1
        elif grace < int(nmeta.get("deletionGracePeriodSeconds") or 0):
            nmeta["deletionTimestamp"] = now_rfc3339(now + grace)
            nmeta["deletionGracePeriodSeconds"] = grace
        if kind.kind == "Namespace":
            new.setdefault("status", {})["phase"] = "Terminating"
        if new == old:
            return old, False
        if dry_run:
            return new, False
        stored = await self.store.update(key, new, entry.mod_rev)
        if kind.kind == "Namespace":
            self._start_namespace_cleanup(name)
        return stored.value, False

    @staticmethod
    def _grace_period(kind: Kind, obj: Obj, options: dict) -> int:
        if kind.kind != "Pod":
            return 0
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        requested = options.get("gracePeriodSeconds")
        # Unbound or finished pods have no process to stop: delete at once.
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is None:
            requested = spec.get("terminationGracePeriodSeconds", 30)
        try:
            requested = int(requested)
        except (TypeError, ValueError):
            raise errors.bad_request("gracePeriodSeconds must be an integer") from None
        return max(0, requested)

    async def delete_collection(self, kind: Kind, ns: str | None, flt: Filter, options: dict) -> list[Obj]:
        entries, _, _, _ = self.list(kind, ns, flt)
        out = []
        for e in entries:
            meta = e.value["metadata"]
            try:
                obj, _ = await self.delete(kind, meta.get("namespace"), meta["name"], options)
                out.append(obj)
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return out

    # ------------------------------------------------------- namespace cleanup

    def _start_namespace_cleanup(self, name: str) -> None:
        if name in self._namespace_cleanups and not self._namespace_cleanups[name].done():
            return
        task = asyncio.create_task(self._cleanup_namespace(name))
        self._namespace_cleanups[name] = task

        def restart_on_failure(t: asyncio.Task) -> None:
            if not t.cancelled() and t.exception() is not None:
                log.error("namespace %s cleanup failed: %s; retrying", name, t.exception())
                asyncio.get_running_loop().call_later(1.0, self._start_namespace_cleanup, name)

        task.add_done_callback(restart_on_failure)

    async def _cleanup_namespace(self, name: str) -> None:
        """What the namespace controller does: empty the namespace, then finalize it."""
        from everynode.api.kinds import KINDS

        ns_kind = self.namespace_kind
        assert ns_kind is not None
        pause = 0.2
        while True:
            remaining = 0
            for kind in KINDS:
                if not kind.namespaced:
                    continue
                entries, _ = self.store.list(prefix_of(kind, name))
                for e in entries:
                    remaining += 1
                    if e.value["metadata"].get("deletionTimestamp") and kind.kind != "Pod":
                        continue
                    try:
                        await self.delete(kind, name, e.value["metadata"]["name"],
                                          {"propagationPolicy": "Background"} if kind.kind != "Pod"
                                          else {})
                    except ApiError:
                        pass
            if remaining == 0:
                break
            # Content with finalizers or pods still terminating: the namespace stays
            # Terminating until they are gone, however long that takes (as upstream).
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
            if self.store.get(key_of(ns_kind, None, name)) is None:
                return
        key = key_of(ns_kind, None, name)
        entry = self.store.get(key)
        if entry is None:
            return
        new = deep_copy(entry.value)
        new.setdefault("spec", {})["finalizers"] = []
        try:
            if not new["metadata"].get("finalizers"):
                await self.store.delete(key, entry.mod_rev)
            else:
                await self.store.update(key, new, entry.mod_rev)
        except (RevisionConflict, KeyNotFound):
            self._namespace_cleanups.pop(name, None)
            if self.store.get(key) is not None:
                self._start_namespace_cleanup(name)
