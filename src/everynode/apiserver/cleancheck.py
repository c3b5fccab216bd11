"""Compiled predicates: is this request body already what the schema check would leave it?

The schema check (``decode.check``) walks a body field by field through tables, building a
path for every nested object in case it must report one: 2-3 us per object on this project's
VM, 37 us for a pod status. Nearly every body is clean (no unknown field, every value of its
exact JSON type), and for a clean body the walk changes nothing and reports nothing. So each
schema type gets a generated Python function that answers "clean?" with straight-line code
(one ``dict.get`` and a type test per field, no paths, no lists); only a body that is not
clean is walked, and the walk alone decides what happens to it. A predicate may be stricter
than the walk (then the walk runs and accepts), never looser.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from everynode.api import schema

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# The exact Python types the walk accepts as they are, per scalar schema type (bool is its own
# type, so no scalar but "boolean" accepts it). Integers also need their range checked.
_EXACT = {
    "string": ("str",), "date-time": ("str",), "boolean": ("bool",), "integer": ("int",),
    "number": ("int", "float"), "quantity": ("str", "int", "float"), "int-or-string": ("str", "int"),
}

_namespace: dict[str, Any] = {"INT64_MIN": INT64_MIN, "INT64_MAX": INT64_MAX}
_generated: set[str] = set()


def _fn(type_name: str) -> str:
    return "c_" + type_name.replace(".", "_")


def _scalar_fails(typ: str, var: str) -> str:
    """An expression true when scalar ``var`` (not None) is not accepted as it is."""
    if typ == "integer":
        return f"type({var}) is not int or not INT64_MIN <= {var} <= INT64_MAX"
    return " and ".join(f"type({var}) is not {t}" for t in _EXACT[typ])


def _value_lines(typ: str, var: str, indent: str, depth: int, todo: list[str]) -> list[str]:
    """Lines that ``return False`` unless ``var`` (known not None) is clean as a ``typ``."""
    if typ == "any":
        return []
    if typ in _EXACT:
        return [f"{indent}if {_scalar_fails(typ, var)}: return False"]
    if schema.is_list(typ) or schema.is_map(typ):
        el, is_list = schema.element(typ), schema.is_list(typ)
        lines = [f"{indent}if type({var}) is not {'list' if is_list else 'dict'}: return False"]
        if el == "any":
            return lines
        item = f"x{depth}"
        if is_list:  # a null item is made a zero value by the walk: not clean
            head = [f"{indent}for {item} in {var}:", f"{indent}    if {item} is None: return False"]
            inner = _value_lines(el, item, indent + "    ", depth + 1, todo)
        else:  # a null map value is left as it is
            head = [f"{indent}for {item} in {var}.values():", f"{indent}    if {item} is not None:"]
            inner = _value_lines(el, item, indent + "        ", depth + 1, todo)
        return lines + head + inner
    todo.append(typ)
    return [f"{indent}if type({var}) is not dict or not {_fn(typ)}({var}): return False"]


def _source(type_name: str, todo: list[str]) -> str:
    fields = schema.fields(type_name)
    _namespace["K_" + _fn(type_name)] = frozenset(fields)
    lines = [f"def {_fn(type_name)}(o):", f"    if not o.keys() <= K_{_fn(type_name)}: return False"]
    for name, typ in fields.items():
        body = _value_lines(typ, "v", "        ", 0, todo)
        if body:
            lines += [f"    v = o.get({name!r})", "    if v is not None:", *body]
    lines.append("    return True")
    return "\n".join(lines)


@cache
def predicate(type_name: str) -> Callable[[dict], bool]:
    """The compiled "clean?" of ``type_name`` (and of every type it reaches, compiled with it)."""
    todo, new = [type_name], set()
    sources = []
    while todo:
        t = todo.pop()
        if t in _generated or t in new:
            continue
        new.add(t)
        sources.append(_source(t, todo))
    exec(compile("\n\n".join(sources), f"<cleancheck {type_name}>", "exec"), _namespace)
    _generated.update(new)
    return _namespace[_fn(type_name)]
