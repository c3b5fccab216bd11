"""Label and field selectors (apimachinery ``labels`` and ``fields``).

``parse_label_selector`` reads the query-string grammar (``a=b,c in (d,e),!f``);
``from_label_selector`` converts a metav1.LabelSelector dict. Both give a
``LabelSelector`` whose ``matches`` is precompiled, since list filtering runs it
over every stored object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from everynode.api.errors import ApiError, FieldError, bad_request, invalid
from everynode.api.validation import is_qualified_name, is_valid_label_value

# Operator spellings as in apimachinery's selection package.
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)

Labels = Mapping[str, str]


def _int64(text: str) -> int | None:
    """Go strconv.ParseInt(text, 10, 64), None on failure."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    value = int(text)
    return value if -(1 << 63) <= value < (1 << 63) else None


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...]  # sorted and de-duplicated

    def matches(self, labels: Labels) -> bool:
        return _compile_requirement(self)(labels)

    def __str__(self) -> str:
        op = self.operator
        head = ("!" if op == DOES_NOT_EXIST else "") + self.key
        if op in (EXISTS, DOES_NOT_EXIST):
            return head
        sep = {EQUALS: "=", DOUBLE_EQUALS: "==", NOT_EQUALS: "!=", IN: " in ", NOT_IN: " notin ",
               GREATER_THAN: ">", LESS_THAN: "<"}[op]
        body = ",".join(self.values)
        if op in (IN, NOT_IN):
            body = f"({body})"
        return head + sep + body


def _compile_requirement(r: Requirement) -> Callable[[Labels], bool]:
    key, op = r.key, r.operator
    if op in (EQUALS, DOUBLE_EQUALS, IN):
        if len(r.values) == 1:
            want = r.values[0]
            return lambda ls: ls.get(key) == want
        allowed = frozenset(r.values)
        return lambda ls: key in ls and ls[key] in allowed
    if op in (NOT_EQUALS, NOT_IN):
        denied = frozenset(r.values)
        return lambda ls: key not in ls or ls[key] not in denied
    if op == EXISTS:
        return lambda ls: key in ls
    if op == DOES_NOT_EXIST:
        return lambda ls: key not in ls
    if op in (GREATER_THAN, LESS_THAN):
        bound = _int64(r.values[0]) if len(r.values) == 1 else None
        if bound is None:
            return lambda ls: False
        greater = op == GREATER_THAN

        def cmp(ls: Labels) -> bool:
            if key not in ls:
                return False
            v = _int64(ls[key])
            if v is None:
                return False
            return v > bound if greater else v < bound
        return cmp
    return lambda ls: False


class LabelSelector:
    """A conjunction of requirements; ``nothing=True`` is the nil selector that matches nothing."""

    __slots__ = ("requirements", "nothing", "matches")

    def __init__(self, requirements: Iterable[Requirement] = (), nothing: bool = False):
        # Upstream keeps requirements sorted by key (stable here for equal keys).
        self.requirements: tuple[Requirement, ...] = tuple(sorted(requirements, key=lambda r: r.key))
        self.nothing = nothing
        self.matches: Callable[[Labels], bool] = self._compile()

    def _compile(self) -> Callable[[Labels], bool]:
        if self.nothing:
            return lambda labels: False
        if not self.requirements:
            return lambda labels: True
        if all(r.operator in (EQUALS, DOUBLE_EQUALS) or (r.operator == IN and len(r.values) == 1)
               for r in self.requirements):
            pairs = tuple((r.key, r.values[0]) for r in self.requirements)
            if len(pairs) == 1:
                (k, v), = pairs
                return lambda labels: labels is not None and labels.get(k) == v

            def eq_all(labels: Labels | None) -> bool:
                if not labels:
                    return False
                get = labels.get
                for k, v in pairs:
                    if get(k) != v:
                        return False
                return True
            return eq_all
        checks = tuple(_compile_requirement(r) for r in self.requirements)

        def all_match(labels: Labels | None) -> bool:
            ls = labels or {}
            for check in checks:
                if not check(ls):
                    return False
            return True
        return all_match

    @property
    def empty(self) -> bool:
        """True for the selector that matches everything."""
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return "LabelSelector(<nothing>)" if self.nothing else f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LabelSelector) and self.nothing == other.nothing
                and self.requirements == other.requirements)

    def __hash__(self) -> int:
        return hash((self.nothing, self.requirements))


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(nothing=True)


def _aggregate(errs: list[FieldError]) -> str:
    texts: list[str] = []
    for e in errs:
        t = e.error()
        if t not in texts:
            texts.append(t)
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def _requirement_errors(key: str, op: str, values: list[str], path: str = "") -> list[FieldError]:
    """labels.NewRequirement checks (field paths relative to ``path``)."""
    pre = f"{path}." if path else ""
    errs: list[FieldError] = []
    msgs = is_qualified_name(key)
    if msgs:
        errs.append(invalid(f"{pre}key", key, "; ".join(msgs)))
    vpath = f"{pre}values"
    if op in (IN, NOT_IN):
        if not values:
            errs.append(invalid(vpath, values, "for 'in', 'notin' operators, values set can't be empty"))
    elif op in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(values) != 1:
            errs.append(invalid(vpath, values, "exact-match compatibility requires one single value"))
    elif op in (EXISTS, DOES_NOT_EXIST):
        if values:
            errs.append(invalid(vpath, values, "values set must be empty for exists and does not exist"))
    elif op in (GREATER_THAN, LESS_THAN):
        if len(values) != 1:
            errs.append(invalid(vpath, values, "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(values):
            if _int64(v) is None:
                errs.append(invalid(f"{vpath}[{i}]", v,
                                    "for 'Gt', 'Lt' operators, the value must be an integer"))
    for i, v in enumerate(values):
        msgs = is_valid_label_value(v)
        if msgs:
            errs.append(invalid(f"{vpath}[{i}][{key}]", v, "; ".join(msgs)))
    return errs


def new_requirement(key: str, op: str, values: Iterable[str]) -> Requirement:
    """A validated requirement; ValueError with the upstream message when invalid."""
    vals = list(values)
    errs = _requirement_errors(key, op, vals)
    if errs:
        raise ValueError(_aggregate(errs))
    return Requirement(key, op, tuple(sorted(set(vals))))


# --- the query-string grammar (labels.Parse) --------------------------------

_ID, _EOS, _COMMA, _OPEN, _CLOSE, _NOT, _EQ, _DEQ, _NEQ, _GT, _LT, _IN, _NOTIN = range(13)
_TOKENS = {")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DEQ, "=": _EQ, ">": _GT, "in": _IN, "<": _LT,
           "!=": _NEQ, "notin": _NOTIN, "(": _OPEN}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")


def _lex(text: str) -> list[tuple[int, str]]:
    items: list[tuple[int, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n or text[i] == "\0":
            items.append((_EOS, ""))
            return items
        if text[i] in _SPECIAL:
            # Longest run of special characters that is still a known token.
            j, best = i, None
            while j < n and text[j] in _SPECIAL:
                tok = _TOKENS.get(text[i:j + 1])
                if tok is not None:
                    best = (tok, text[i:j + 1])
                elif best is not None:
                    break
                j += 1
            assert best is not None  # every single special character is a token
            items.append(best)
            i += len(best[1])
            continue
        j = i
        while j < n and text[j] not in _SPECIAL and text[j] not in _WHITESPACE and text[j] != "\0":
            j += 1
        word = text[i:j]
        items.append((_TOKENS.get(word, _ID), word))
        i = j


class _Parser:
    def __init__(self, text: str):
        self.items = _lex(text)
        self.pos = 0

    def _get(self, values: bool, advance: bool) -> tuple[int, str]:
        tok, lit = self.items[min(self.pos, len(self.items) - 1)]
        if advance:
            self.pos += 1
        if values and tok in (_IN, _NOTIN):
            tok = _ID  # keywords are plain identifiers where a value is expected
        return tok, lit

    def lookahead(self, values: bool = True) -> tuple[int, str]:
        return self._get(values, False)

    def consume(self, values: bool = True) -> tuple[int, str]:
        return self._get(values, True)

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok in (_ID, _NOT):
                try:
                    reqs.append(self.requirement())
                except ValueError as e:
                    raise ValueError(f"unable to parse requirement: {e}") from None
                t, lit2 = self.consume()
                if t == _EOS:
                    return reqs
                if t == _COMMA:
                    t2, l2 = self.lookahead()
                    if t2 not in (_ID, _NOT):
                        raise ValueError(f"found '{l2}', expected: identifier after ','")
                else:
                    raise ValueError(f"found '{lit2}', expected: ',' or 'end of string'")
            elif tok == _EOS:
                return reqs
            else:
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        key, op = self.key_and_operator()
        if op in (EXISTS, DOES_NOT_EXIST):
            return self._make(key, op, [])
        op = self.operator()
        values = self.values() if op in (IN, NOT_IN) else self.exact_value()
        return self._make(key, op, sorted(values))

    @staticmethod
    def _make(key: str, op: str, values: list[str]) -> Requirement:
        errs = _requirement_errors(key, op, values)
        if errs:
            raise ValueError(_aggregate(errs))
        return Requirement(key, op, tuple(values))

    def key_and_operator(self) -> tuple[str, str]:
        op = ""
        tok, lit = self.consume()
        if tok == _NOT:
            op = DOES_NOT_EXIST
            tok, lit = self.consume()
        if tok != _ID:
            raise ValueError(f"found '{lit}', expected: identifier")
        msgs = is_qualified_name(lit)
        if msgs:
            raise ValueError(invalid("<nil>", lit, "; ".join(msgs)).error())
        if self.lookahead()[0] in (_EOS, _COMMA) and op != DOES_NOT_EXIST:
            op = EXISTS
        return lit, op

    def operator(self) -> str:
        tok, lit = self.consume(values=False)
        ops = {_IN: IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _GT: GREATER_THAN, _LT: LESS_THAN,
               _NOTIN: NOT_IN, _NEQ: NOT_EQUALS}
        if tok not in ops:
            raise ValueError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return ops[tok]

    def values(self) -> set[str]:
        tok, lit = self.consume()
        if tok != _OPEN:
            raise ValueError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok in (_ID, _COMMA):
            s = self.identifiers()
            if self.consume()[0] != _CLOSE:
                raise ValueError(f"found '{lit}', expected: ')'")
            return s
        if tok == _CLOSE:
            self.consume()
            return {""}
        raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        s: set[str] = set()
        while True:
            tok, lit = self.consume()
            if tok == _ID:
                s.add(lit)
                t2, l2 = self.lookahead()
                if t2 == _COMMA:
                    continue
                if t2 == _CLOSE:
                    return s
                raise ValueError(f"found '{l2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not s:
                    s.add("")  # "(,"
                t2, _ = self.lookahead()
                if t2 == _CLOSE:
                    s.add("")  # ",)"
                    return s
                if t2 == _COMMA:
                    self.consume()
                    s.add("")  # ",,"
            else:
                raise ValueError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        tok, _ = self.lookahead()
        if tok in (_EOS, _COMMA):
            return {""}
        tok, lit = self.consume()
        if tok == _ID:
            return {lit}
        raise ValueError(f"found '{lit}', expected: identifier")


def parse_label_selector_or_raise_value_error(text: str) -> LabelSelector:
    return LabelSelector(_Parser(text).parse())


_PARSE_CACHE: dict[str, LabelSelector] = {}


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a ``labelSelector`` query string; ApiError 400 BadRequest when invalid."""
    if not text:
        return EVERYTHING
    cached = _PARSE_CACHE.get(text)
    if cached is not None:
        return cached
    try:
        sel = parse_label_selector_or_raise_value_error(text)
    except ValueError as e:
        raise bad_request(str(e)) from None
    if len(_PARSE_CACHE) > 1024:
        _PARSE_CACHE.clear()
    _PARSE_CACHE[text] = sel
    return sel


# --- metav1.LabelSelector ---------------------------------------------------

_EXPRESSION_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def from_label_selector(sel: dict | None) -> LabelSelector:
    """LabelSelectorAsSelector: None matches nothing, {} matches everything.

    Raises ValueError (upstream message) for an invalid selector.
    """
    if sel is None:
        return NOTHING
    match_labels = sel.get("matchLabels") or {}
    exprs = sel.get("matchExpressions") or []
    if not match_labels and not exprs:
        return EVERYTHING
    reqs = [new_requirement(k, EQUALS, [v]) for k, v in match_labels.items()]
    for expr in exprs:
        op = _EXPRESSION_OPS.get(expr.get("operator"))
        if op is None:
            raise ValueError(f'"{expr.get("operator") or ""}" is not a valid label selector operator')
        reqs.append(new_requirement(expr.get("key") or "", op, expr.get("values") or []))
    return LabelSelector(reqs)


def to_string(sel: dict | None) -> str:
    """The canonical selector string of a metav1.LabelSelector ('' for nil or empty)."""
    return str(from_label_selector(sel))


def format_label_selector(sel: dict | None) -> str:
    """metav1.FormatLabelSelector: as describe and table printers show selectors."""
    try:
        text = to_string(sel)
    except ValueError:
        return "<error>"
    return text or "<none>"


def selector_from_set(labels: Mapping[str, str] | None) -> LabelSelector:
    """labels.SelectorFromSet: equality on every pair (empty -> everything)."""
    return LabelSelector(Requirement(k, EQUALS, (v,)) for k, v in (labels or {}).items())


# --- field selectors (fields.ParseSelector) --------------------------------

FieldRequirement = tuple[str, str, str]  # (field, operator, unescaped value)
_TERM_OPERATORS = ("!=", "==", "=")


def _split_terms(text: str) -> list[str]:
    if not text:
        return []
    terms, start, in_slash = [], 0, False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in _TERM_OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def unescape_field_value(value: str) -> str:
    if not any(c in value for c in "\\,="):
        return value
    out: list[str] = []
    in_slash = False
    for c in value:
        if in_slash:
            if c not in "\\,=":
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            raise ValueError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise ValueError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def escape_field_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def parse_field_selector(text: str | None) -> list[FieldRequirement]:
    """Parse a ``fieldSelector`` query string; ApiError 400 BadRequest when invalid."""
    reqs: list[FieldRequirement] = []
    for part in sorted(_split_terms(text or "")):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        try:
            reqs.append((lhs, op, unescape_field_value(rhs)))
        except ValueError as e:
            raise bad_request(str(e)) from None
    return reqs


def check_field_selector(reqs: Iterable[FieldRequirement], supported: Iterable[str]) -> None:
    """ApiError 400 for a field the kind does not support (upstream conversion-func wording)."""
    allowed = set(supported)
    for field, _, _ in reqs:
        if field not in allowed:
            raise bad_request(f"field label not supported: {field}")


def field_selector_matches(reqs: Iterable[FieldRequirement], getter: Callable[[str], str | None]) -> bool:
    """True when every requirement holds; a missing field reads as ''."""
    for field, op, value in reqs:
        actual = getter(field)
        if actual is None:
            actual = ""
        if (actual == value) != (op != "!="):
            return False
    return True


def field_selector_string(reqs: Iterable[FieldRequirement]) -> str:
    return ",".join(f"{f}{'!=' if op == '!=' else '='}{escape_field_value(v)}" for f, op, v in reqs)


__all__ = [
    "ApiError", "EVERYTHING", "NOTHING", "LabelSelector", "Requirement", "check_field_selector",
    "field_selector_matches", "field_selector_string", "format_label_selector", "from_label_selector",
    "new_requirement", "parse_field_selector", "parse_label_selector", "selector_from_set", "to_string",
]
