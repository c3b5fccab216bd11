"""resource.Quantity: exact parsing and the canonical string form.

Values are ``fractions.Fraction``. As upstream, a parsed value is rounded away
from zero to a whole number of nano units and capped at the int64 range, and
the canonical form keeps the suffix family the value was written in (decimal
SI, binary SI or decimal exponent).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

ERR_FORMAT_WRONG = ("quantities must match the regular expression "
                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

_DEC_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BIN_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC_BY_EXP = {v: k for k, v in _DEC_SUFFIXES.items()}
_BIN_BY_EXP = {v // 10: k for k, v in _BIN_SUFFIXES.items()}
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")
_MAX = Fraction((1 << 63) - 1)
_NANO = 10 ** 9


def _split(text: str) -> tuple[bool, str, str, str]:
    """(positive, numerator digits, denominator digits, suffix) as upstream's scanner reads them."""
    n = len(text)
    pos = 0
    positive = True
    if text[0] in "+-":
        positive = text[0] == "+"
        pos = 1
    while pos < n and text[pos] == "0":
        pos += 1
    if pos >= n:
        return positive, "0", "", ""
    start = pos
    while pos < n and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < n and text[pos] == ".":
        pos += 1
        start = pos
        while pos < n and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < n and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < n and text[pos] in "+-":
        pos += 1
    while pos < n and text[pos] in _DIGITS:
        pos += 1
    if pos < n:
        raise ValueError(ERR_FORMAT_WRONG)
    return positive, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix."""
    if suffix in _DEC_SUFFIXES:
        return 10, _DEC_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BIN_SUFFIXES:
        return 2, _BIN_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[0] in "+-" else digits
        if body and all(c in _DIGITS for c in body):
            return 10, int(digits), DECIMAL_EXPONENT
    raise ValueError(ERR_SUFFIX)


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> tuple[Fraction, str]:
    if not text:
        raise ValueError(ERR_FORMAT_WRONG)
    if text == "0":
        return Fraction(0), DECIMAL_SI
    positive, num, denom, suffix = _split(text)
    base, exponent, fmt = _interpret(suffix)
    if len(num) + len(denom) > 400:
        raise ValueError(ERR_NUMERIC)
    magnitude = Fraction(int(num + denom), 10 ** len(denom))
    if base == 10:
        # Far outside the int64/nano window the result is the cap or one nano unit anyway.
        exponent = max(-60, min(60, exponent))
        magnitude *= Fraction(10) ** exponent
    else:
        magnitude *= 1 << exponent
    if magnitude:
        scaled = magnitude * _NANO
        whole = scaled.numerator // scaled.denominator
        if whole != scaled:
            magnitude = Fraction(whole + 1, _NANO)
    magnitude = min(magnitude, _MAX)
    return (magnitude if positive else -magnitude), fmt


def parse_quantity_with_format(value: str | int | float) -> tuple[Fraction, str]:
    """The exact value and the suffix family it was written in; ValueError when invalid."""
    if isinstance(value, bool):
        raise ValueError(ERR_FORMAT_WRONG)
    if isinstance(value, int):
        return _parse_text(str(value))
    if isinstance(value, float):
        return _parse_text(repr(value))
    if not isinstance(value, str):
        raise ValueError(ERR_FORMAT_WRONG)
    return _parse_text(value)


def parse_quantity(value: str | int | float) -> Fraction:
    return parse_quantity_with_format(value)[0]


def is_valid(value: object) -> bool:
    try:
        parse_quantity_with_format(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def _round_away(q: Fraction) -> int:
    whole = q.numerator // q.denominator  # floor
    if whole == q:
        return whole
    return whole + 1 if q > 0 else whole


def to_int(q: Fraction | str | int | float) -> int:
    """Quantity.Value(): whole units, rounded up (away from zero)."""
    return _round_away(_as_fraction(q))


def to_milli(q: Fraction | str | int | float) -> int:
    """Quantity.MilliValue(): thousandths, rounded up (away from zero)."""
    return _round_away(_as_fraction(q) * 1000)


def _as_fraction(q: Fraction | str | int | float) -> Fraction:
    if isinstance(q, Fraction):
        return q
    return parse_quantity(q)


def _decimal_canonical(value: Fraction, fmt: str) -> str:
    sign = "-" if value < 0 else ""
    # Every value is a whole number of nano units (ensured by parsing, rounded here otherwise).
    mantissa = _round_away(abs(value) * _NANO)
    exp = -9
    while mantissa % 10 == 0:
        mantissa //= 10
        exp += 1
    while exp % 3:
        mantissa *= 10
        exp -= 1
    if fmt == DECIMAL_EXPONENT:
        suffix = f"e{exp}" if exp else ""
    else:
        while exp > 18:
            mantissa *= 1000
            exp -= 3
        suffix = _DEC_BY_EXP[exp]
    return f"{sign}{mantissa}{suffix}"


def format_quantity(value: Fraction, fmt: str = DECIMAL_SI) -> str:
    """Upstream CanonicalizeBytes: the canonical text of ``value`` in family ``fmt``."""
    if value == 0:
        return "0"
    if fmt == BINARY_SI:
        if -1024 < value < 1024 or value.denominator != 1:
            fmt = DECIMAL_SI
        else:
            sign = "-" if value < 0 else ""
            amount, exp = abs(value.numerator), 0
            while amount % 1024 == 0 and exp < 6:
                amount //= 1024
                exp += 1
            return f"{sign}{amount}{_BIN_BY_EXP[exp]}"
    if fmt not in (DECIMAL_SI, DECIMAL_EXPONENT):
        fmt = DECIMAL_EXPONENT
    return _decimal_canonical(value, fmt)


def canonical_string(value: str | int | float) -> str:
    """The canonical form of a quantity as the API server writes it back ('100m', '128Mi', '1')."""
    q, fmt = parse_quantity_with_format(value)
    return format_quantity(q, fmt)


def milli_string(milli: int) -> str:
    """A DecimalSI quantity from thousandths (e.g. 1500 -> '1500m', 2000 -> '2')."""
    return format_quantity(Fraction(milli, 1000), DECIMAL_SI)
