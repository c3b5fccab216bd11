"""IntOrString values (maxUnavailable, maxSurge, probe ports): percent scaling and validation."""

from __future__ import annotations

import math
from typing import Any

from everynode.api.errors import FieldError, invalid
from everynode.api.validation import IS_NEGATIVE, is_valid_percent

IntOrStr = int | str


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_percent(value: Any) -> bool:
    """True for a string of digits followed by '%'."""
    return isinstance(value, str) and not is_valid_percent(value)


def _atoi(text: str) -> int | None:
    """Go strconv.Atoi: optional sign and ASCII digits."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    return int(text)


def get_scaled_value(value: IntOrStr | None, total: int, round_up: bool) -> int:
    """GetScaledValueFromIntOrPercent: ints as they are, "N%" of ``total`` rounded up or down.

    Raises ValueError with the upstream wording for anything else.
    """
    if value is None:
        raise ValueError("nil value for IntOrString")
    if _is_int(value):
        return value  # type: ignore[return-value]
    if not isinstance(value, str):
        raise ValueError("invalid value for IntOrString: invalid type: neither int nor percentage")
    if not value.endswith("%"):
        raise ValueError("invalid value for IntOrString: invalid type: string is not a percentage")
    n = _atoi(value[:-1])
    if n is None:
        raise ValueError(f'invalid value for IntOrString: invalid value "{value}": '
                         f'strconv.Atoi: parsing "{value[:-1]}": invalid syntax')
    # Float arithmetic on purpose: upstream computes in float64.
    scaled = float(n) * float(total) / 100
    return int(math.ceil(scaled) if round_up else math.floor(scaled))


def int_value(value: IntOrStr | None) -> int:
    """IntOrString.IntValue(): the int, or a string parsed as an int (0 when not numeric)."""
    if _is_int(value):
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        return _atoi(value) or 0
    return 0


def validate_int_or_percent(value: Any, path: str) -> list[FieldError]:
    """ValidatePositiveIntOrPercent: a non-negative int or a '^[0-9]+%$' string."""
    if isinstance(value, str):
        return [invalid(path, value, m) for m in is_valid_percent(value)]
    if _is_int(value):
        return [invalid(path, value, IS_NEGATIVE)] if value < 0 else []
    return [invalid(path, value, "must be an integer or percentage (e.g '5%')")]


def percent_value(value: Any) -> int | None:
    """The number of a valid percent string, else None."""
    if is_percent(value):
        return int(value[:-1])
    return None


def validate_not_more_than_100_percent(value: Any, path: str) -> list[FieldError]:
    """IsNotMoreThan100Percent."""
    p = percent_value(value)
    if p is None or p <= 100:
        return []
    return [invalid(path, value, "must not be greater than 100%")]
