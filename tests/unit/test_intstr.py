import pytest

from everynode.api import intstr


@pytest.mark.parametrize("value,total,round_up,want", [
    (0, 10, True, 0),
    (3, 10, False, 3),
    ("0%", 10, True, 0),
    ("10%", 3, True, 1),
    ("10%", 3, False, 0),
    ("50%", 5, True, 3),
    ("50%", 5, False, 2),
    ("100%", 7, True, 7),
    ("25%", 100, False, 25),
    ("33%", 1000, True, 330),
    ("200%", 3, True, 6),
])
def test_get_scaled_value(value, total, round_up, want):
    assert intstr.get_scaled_value(value, total, round_up) == want


@pytest.mark.parametrize("value,message", [
    (None, "nil value for IntOrString"),
    ("5", "invalid value for IntOrString: invalid type: string is not a percentage"),
    ("abc%", 'invalid value for IntOrString: invalid value "abc%": '
             'strconv.Atoi: parsing "abc": invalid syntax'),
    (1.5, "invalid value for IntOrString: invalid type: neither int nor percentage"),
])
def test_get_scaled_value_errors(value, message):
    with pytest.raises(ValueError) as e:
        intstr.get_scaled_value(value, 10, True)
    assert str(e.value) == message


@pytest.mark.parametrize("value,ok", [
    ("10%", True), ("0%", True), ("10", False), ("%", False), ("-1%", False), ("1.5%", False),
    (10, False), (None, False),
])
def test_is_percent(value, ok):
    assert intstr.is_percent(value) is ok


@pytest.mark.parametrize("value,errors", [
    (0, []),
    (5, []),
    ("20%", []),
    ("200%", []),  # the 100% cap is a separate check
    (-1, ['p: Invalid value: -1: must be greater than or equal to 0']),
    ("abc", ['p: Invalid value: "abc": a valid percent string must be a numeric string followed by an '
             "ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"]),
    ("-5%", ['p: Invalid value: "-5%": a valid percent string must be a numeric string followed by an '
             "ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"]),
    (1.5, ["p: Invalid value: 1.5: must be an integer or percentage (e.g '5%')"]),
])
def test_validate_int_or_percent(value, errors):
    assert [e.error() for e in intstr.validate_int_or_percent(value, "p")] == errors


@pytest.mark.parametrize("value,errors", [
    ("100%", []), ("5", []), (150, []),
    ("101%", ['p: Invalid value: "101%": must not be greater than 100%']),
])
def test_not_more_than_100_percent(value, errors):
    assert [e.error() for e in intstr.validate_not_more_than_100_percent(value, "p")] == errors


@pytest.mark.parametrize("value,want", [(3, 3), ("7", 7), ("x", 0), (None, 0)])
def test_int_value(value, want):
    assert intstr.int_value(value) == want
