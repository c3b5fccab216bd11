import pytest

from everynode.api import selectors as s
from everynode.api.errors import ApiError

LABELS = {"app": "web", "tier": "front", "n": "5", "in": "notin", "empty": ""}


@pytest.mark.parametrize("text,matches,canonical", [
    ("", True, ""),
    ("app=web", True, "app=web"),
    ("app==web", True, "app==web"),
    ("app=db", False, "app=db"),
    ("app!=db", True, "app!=db"),
    ("missing!=x", True, "missing!=x"),
    ("app!=web", False, "app!=web"),
    ("app=web,tier=front", True, "app=web,tier=front"),
    ("tier=front,app=web", True, "app=web,tier=front"),
    ("app=web,tier=back", False, "app=web,tier=back"),
    ("app in (web, db)", True, "app in (db,web)"),
    ("app in (db)", False, "app in (db)"),
    ("app notin (db)", True, "app notin (db)"),
    ("app notin (web,db)", False, "app notin (db,web)"),
    ("missing notin (x)", True, "missing notin (x)"),
    ("missing in (x)", False, "missing in (x)"),
    ("app", True, "app"),
    ("missing", False, "missing"),
    ("!missing", True, "!missing"),
    ("!app", False, "!app"),
    ("  !missing ,  app = web  ", True, "app=web,!missing"),
    ("empty=", True, "empty="),
    ("empty in ()", True, "empty in ()"),
    ("app in (,web)", True, "app in (,web)"),
    ("in=notin", True, "in=notin"),
    ("n>4", True, "n>4"),
    ("n<5", False, "n<5"),
    ("app>1", False, "app>1"),
    ("example.com/key", False, "example.com/key"),
])
def test_parse_and_match(text, matches, canonical):
    sel = s.parse_label_selector(text)
    assert sel.matches(LABELS) is matches
    assert str(sel) == canonical
    assert sel.empty is (canonical == "")


KEY_MSG = ("a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
           "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
           "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
           "and '/' (e.g. 'example.com/MyName')")
VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
             "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
             "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


@pytest.mark.parametrize("text,message", [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("a=b,", "found '', expected: identifier after ','"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("a=(", "unable to parse requirement: found '(', expected: identifier"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("a!b", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"),
    ("a/b/c=1", 'unable to parse requirement: <nil>: Invalid value: "a/b/c": ' + KEY_MSG),
    ("a=b_", 'unable to parse requirement: values[0][a]: Invalid value: "b_": ' + VALUE_MSG),
    ("a>b", 'unable to parse requirement: values[0]: Invalid value: "b": '
            "for 'Gt', 'Lt' operators, the value must be an integer"),
])
def test_parse_errors(text, message):
    with pytest.raises(ApiError) as e:
        s.parse_label_selector(text)
    assert e.value.code == 400
    assert e.value.reason == "BadRequest"
    assert e.value.message == message


@pytest.mark.parametrize("sel,canonical,matching,not_matching", [
    ({}, "", [{}, {"a": "b"}], []),
    ({"matchLabels": {"app": "web"}}, "app=web", [{"app": "web", "x": "y"}], [{}, {"app": "db"}]),
    ({"matchLabels": {"tier": "x", "app": "foo"},
      "matchExpressions": [{"key": "env", "operator": "In", "values": ["b", "a"]}]},
     "app=foo,env in (a,b),tier=x", [{"app": "foo", "tier": "x", "env": "a"}],
     [{"app": "foo", "tier": "x"}, {"app": "foo", "tier": "x", "env": "c"}]),
    ({"matchExpressions": [{"key": "k", "operator": "NotIn", "values": ["v"]}]}, "k notin (v)",
     [{}, {"k": "w"}], [{"k": "v"}]),
    ({"matchExpressions": [{"key": "k", "operator": "Exists"}]}, "k", [{"k": ""}], [{}]),
    ({"matchExpressions": [{"key": "k", "operator": "DoesNotExist"}]}, "!k", [{}], [{"k": "v"}]),
])
def test_from_label_selector(sel, canonical, matching, not_matching):
    selector = s.from_label_selector(sel)
    assert s.to_string(sel) == canonical
    for labels in matching:
        assert selector.matches(labels)
    for labels in not_matching:
        assert not selector.matches(labels)


def test_nil_selector_matches_nothing():
    sel = s.from_label_selector(None)
    assert not sel.matches({})
    assert not sel.matches({"a": "b"})
    assert not sel.empty
    assert s.format_label_selector(None) == "<none>"
    assert s.format_label_selector({}) == "<none>"
    assert s.format_label_selector({"matchLabels": {"a": "b"}}) == "a=b"


@pytest.mark.parametrize("sel,message", [
    ({"matchExpressions": [{"key": "k", "operator": "Equals", "values": ["v"]}]},
     '"Equals" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "k", "operator": "In", "values": []}]},
     "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"),
])
def test_from_label_selector_errors(sel, message):
    with pytest.raises(ValueError) as e:
        s.from_label_selector(sel)
    assert str(e.value) == message
    assert s.format_label_selector(sel) == "<error>"


def test_matches_none_labels():
    assert s.parse_label_selector("!a").matches(None)
    assert not s.parse_label_selector("a=b").matches(None)
    assert not s.parse_label_selector("a=b,c=d").matches(None)


def test_selector_from_set():
    sel = s.selector_from_set({"b": "2", "a": "1"})
    assert str(sel) == "a=1,b=2"
    assert sel.matches({"a": "1", "b": "2", "c": "3"})
    assert not sel.matches({"a": "1"})


@pytest.mark.parametrize("text,reqs", [
    ("", []),
    ("spec.nodeName=n1", [("spec.nodeName", "=", "n1")]),
    ("status.phase!=Running,spec.nodeName==n1",
     [("spec.nodeName", "==", "n1"), ("status.phase", "!=", "Running")]),
    ("spec.nodeName=", [("spec.nodeName", "=", "")]),
    (r"a=x\,y", [("a", "=", "x,y")]),
    (r"a=x\=y\\z", [("a", "=", "x=y\\z")]),
])
def test_parse_field_selector(text, reqs):
    assert s.parse_field_selector(text) == reqs


@pytest.mark.parametrize("text,message", [
    ("abc", "invalid selector: 'abc'; can't understand 'abc'"),
    ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),
    (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
])
def test_parse_field_selector_errors(text, message):
    with pytest.raises(ApiError) as e:
        s.parse_field_selector(text)
    assert e.value.code == 400
    assert e.value.message == message


@pytest.mark.parametrize("text,fields,ok", [
    ("spec.nodeName=n1", {"spec.nodeName": "n1"}, True),
    ("spec.nodeName=n1", {"spec.nodeName": "n2"}, False),
    ("spec.nodeName!=n1", {"spec.nodeName": "n2"}, True),
    ("spec.nodeName=", {}, True),
    ("spec.nodeName!=", {}, False),
    ("a=1,b!=2", {"a": "1", "b": "3"}, True),
    ("a=1,b!=2", {"a": "1", "b": "2"}, False),
])
def test_field_selector_matches(text, fields, ok):
    assert s.field_selector_matches(s.parse_field_selector(text), fields.get) is ok


def test_check_field_selector():
    s.check_field_selector([("metadata.name", "=", "x")], ["metadata.name"])
    with pytest.raises(ApiError) as e:
        s.check_field_selector([("spec.foo", "=", "x")], ["metadata.name"])
    assert e.value.code == 400 and e.value.message == "field label not supported: spec.foo"


def test_field_selector_string_round_trip():
    reqs = [("a", "=", "x,y=z"), ("b", "!=", "v")]
    assert s.parse_field_selector(s.field_selector_string(reqs)) == reqs
