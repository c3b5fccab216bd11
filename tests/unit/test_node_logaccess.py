"""Which instance kubectl logs reads, and the upstream error messages."""

import pytest

from everynode.node.logaccess import InvalidOptions, LogError, choose_container, parse_query, select_instance


def pod(statuses, containers=("c",), inits=()):
    return {"metadata": {"name": "p"},
            "spec": {"containers": [{"name": n} for n in containers],
                     "initContainers": [{"name": n} for n in inits]},
            "status": {"containerStatuses": statuses}}


RUNNING = {"name": "c", "containerID": "x://cur", "state": {"running": {}},
           "lastState": {"terminated": {"containerID": "x://prev"}}}
CRASHLOOP = {"name": "c", "containerID": "x://cur", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"containerID": "x://cur"}}}


@pytest.mark.parametrize("status,previous,want", [
    (RUNNING, False, "x://cur"),
    (RUNNING, True, "x://prev"),
    (CRASHLOOP, False, "x://cur"),
    ({"name": "c", "state": {"terminated": {"containerID": "x://t"}}, "lastState": {}}, False, "x://t"),
])
def test_select(status, previous, want):
    assert select_instance(pod([status]), "c", previous) == want


@pytest.mark.parametrize("status,previous,message", [
    ({"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}, False,
     'container "c" in pod "p" is waiting to start: ContainerCreating'),
    ({"name": "c", "state": {"waiting": {"reason": "ErrImagePull"}}, "lastState": {}}, False,
     'container "c" in pod "p" is waiting to start: image can\'t be pulled'),
    ({"name": "c", "state": {"waiting": {"reason": "ImagePullBackOff"}}, "lastState": {}}, False,
     'container "c" in pod "p" is waiting to start: trying and failing to pull image'),
    ({"name": "c", "state": {"running": {}}, "lastState": {}}, True,
     'previous terminated container "c" in pod "p" not found'),
    ({"name": "other", "state": {}}, False, 'container "c" in pod "p" is not available'),
])
def test_select_errors(status, previous, message):
    with pytest.raises(LogError) as err:
        select_instance(pod([status]), "c", previous)
    assert err.value.message == message


@pytest.mark.parametrize("containers,inits,asked,want", [
    (("c",), (), "", "c"),
    (("a", "b"), (), "b", "b"),
    (("a",), ("i",), "i", "i"),
])
def test_choose(containers, inits, asked, want):
    assert choose_container(pod([], containers, inits), asked) == want


@pytest.mark.parametrize("containers,inits,asked,message", [
    (("a", "b"), ("i",), "", "a container name must be specified for pod p, choose one of: [i a b]"),
    (("a",), (), "zz", "container zz is not valid for pod p"),
    ((), (), "", "a container name must be specified for pod p"),
])
def test_choose_errors(containers, inits, asked, message):
    with pytest.raises(LogError) as err:
        choose_container(pod([], containers, inits), asked)
    assert err.value.message == message


def test_parse_query():
    c, prev, opts = parse_query({"container": "x", "previous": "true", "tailLines": "5", "sinceSeconds": "10",
                                 "timestamps": "true", "follow": "1", "limitBytes": "100"}, 1000.0)
    assert (c, prev) == ("x", True)
    assert opts.tail_lines == 5 and opts.since_ns == int(990 * 1e9) and opts.timestamps and opts.follow
    assert opts.limit_bytes == 100
    _, _, opts = parse_query({"sinceTime": "2023-11-14T22:13:20Z"}, 0)
    assert opts.since_ns == 1_700_000_000 * 10**9


@pytest.mark.parametrize("q,fragment", [
    ({"tailLines": "-1"}, "must be greater than or equal to 0"),
    ({"limitBytes": "0"}, "must be greater than 0"),
    ({"sinceSeconds": "0"}, "must be greater than 0"),
    ({"sinceSeconds": "5", "sinceTime": "2023-11-14T22:13:20Z"}, "at most one of"),
    ({"stream": "Both"}, "supported values"),
])
def test_invalid_options(q, fragment):
    with pytest.raises(InvalidOptions, match=fragment):
        parse_query(q, 0)


def test_non_integer_is_bad_request():
    with pytest.raises(LogError, match="tailLines"):
        parse_query({"tailLines": "abc"}, 0)
