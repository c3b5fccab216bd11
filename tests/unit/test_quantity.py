from fractions import Fraction

import pytest

from everynode.api import quantity as q


@pytest.mark.parametrize("text,value", [
    ("0", Fraction(0)),
    ("1", Fraction(1)),
    ("100m", Fraction(1, 10)),
    ("0.1", Fraction(1, 10)),
    ("1.5", Fraction(3, 2)),
    ("+2", Fraction(2)),
    ("-3m", Fraction(-3, 1000)),
    ("1k", Fraction(1000)),
    ("1M", Fraction(10**6)),
    ("1G", Fraction(10**9)),
    ("1T", Fraction(10**12)),
    ("1P", Fraction(10**15)),
    ("1E", Fraction(10**18)),
    ("5n", Fraction(5, 10**9)),
    ("5u", Fraction(5, 10**6)),
    ("1Ki", Fraction(1024)),
    ("128Mi", Fraction(128 * 2**20)),
    ("1.5Gi", Fraction(3 * 2**29)),
    ("2Ti", Fraction(2 * 2**40)),
    ("1Pi", Fraction(2**50)),
    ("1e3", Fraction(1000)),
    ("1E3", Fraction(1000)),
    ("12e-3", Fraction(12, 1000)),
    ("1e+2", Fraction(100)),
    ("0.0000000001", Fraction(1, 10**9)),  # rounded up to one nano unit
    ("-0.0000000001", Fraction(-1, 10**9)),
    ("99999999999999999999", Fraction(2**63 - 1)),  # capped at int64
    ("007", Fraction(7)),
    ("1.", Fraction(1)),
    (2, Fraction(2)),
    (0.5, Fraction(1, 2)),
])
def test_parse(text, value):
    assert q.parse_quantity(text) == value
    assert q.is_valid(text)


@pytest.mark.parametrize("text,message", [
    ("", q.ERR_FORMAT_WRONG),
    ("abc", q.ERR_FORMAT_WRONG),
    ("1KiB", q.ERR_FORMAT_WRONG),
    ("1.5.5", q.ERR_FORMAT_WRONG),
    ("1 Gi", q.ERR_FORMAT_WRONG),
    ("1k2", q.ERR_SUFFIX),
    ("1e", q.ERR_SUFFIX),
    ("1Mb", q.ERR_FORMAT_WRONG),
    ("1ki", q.ERR_SUFFIX),
    ("1m5", q.ERR_SUFFIX),
])
def test_parse_errors(text, message):
    with pytest.raises(ValueError) as e:
        q.parse_quantity(text)
    assert str(e.value) == message
    assert not q.is_valid(text)


def test_not_a_string():
    assert not q.is_valid(None)
    assert not q.is_valid(True)


@pytest.mark.parametrize("text,canonical", [
    ("0", "0"),
    ("0Mi", "0"),
    ("1", "1"),
    ("100m", "100m"),
    ("0.1", "100m"),
    ("0.5", "500m"),
    ("1.5", "1500m"),
    ("1000", "1k"),
    ("1500", "1500"),
    ("2000m", "2"),
    ("1000000", "1M"),
    ("128Mi", "128Mi"),
    ("1024Mi", "1Gi"),
    ("1.5Gi", "1536Mi"),
    ("1Ki", "1Ki"),
    ("1023", "1023"),
    ("100Ki", "100Ki"),
    ("0.5Ki", "512"),  # small binary values print as decimal
    ("1e3", "1e3"),
    ("1.5e3", "1500"),
    ("1e0", "1"),
    ("12e-3", "12e-3"),
    ("-1.5", "-1500m"),
    ("-1Gi", "-1Gi"),
    ("0.0000000001", "1n"),
    ("10G", "10G"),
    ("250M", "250M"),
    (1, "1"),
    (0.25, "250m"),
])
def test_canonical(text, canonical):
    assert q.canonical_string(text) == canonical


@pytest.mark.parametrize("text,milli,whole", [
    ("100m", 100, 1),
    ("1", 1000, 1),
    ("1.5", 1500, 2),
    ("1n", 1, 1),
    ("250M", 250_000_000_000, 250_000_000),
    ("1Gi", 1073741824000, 1073741824),
    ("0", 0, 0),
    ("-1.5", -1500, -2),
])
def test_scaled_values(text, milli, whole):
    assert q.to_milli(text) == milli
    assert q.to_int(text) == whole
    assert q.to_milli(q.parse_quantity(text)) == milli


@pytest.mark.parametrize("milli,text", [(1500, "1500m"), (2000, "2"), (100, "100m"), (0, "0")])
def test_milli_string(milli, text):
    assert q.milli_string(milli) == text


def test_format_quantity_families():
    assert q.format_quantity(Fraction(3 * 2**29), q.BINARY_SI) == "1536Mi"
    assert q.format_quantity(Fraction(3, 2), q.BINARY_SI) == "1500m"
    assert q.format_quantity(Fraction(1000), q.DECIMAL_EXPONENT) == "1e3"
