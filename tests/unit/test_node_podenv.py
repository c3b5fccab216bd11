"""Container environment: $(VAR) expansion, fieldRef and resourceFieldRef, command/args rules."""

import pytest

from everynode.node.podenv import EnvError, container_argv, container_env, expand, field_ref_value

POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"app": "web"},
                    "annotations": {"note": "a \"q\""}},
       "spec": {"nodeName": "n1", "containers": [{"name": "c", "resources": {"limits": {"memory": "128Mi"},
                                                                             "requests": {"cpu": "250m"}}}]},
       "status": {"hostIP": "10.0.0.1", "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]}}


@pytest.mark.parametrize("text,want", [
    ("$(A)", "x"),
    ("pre-$(A)-post", "pre-x-post"),
    ("$(MISSING)", "$(MISSING)"),
    ("$$(A)", "$(A)"),
    ("$$", "$"),
    ("$A", "$A"),
    ("$(A", "$(A"),
    ("$", "$"),
    ("$()", "$()"),
    ("$(A)$(B)", "xy"),
])
def test_expand(text, want):
    assert expand(text, {"A": "x", "B": "y"}) == want


@pytest.mark.parametrize("path,want", [
    ("metadata.name", "p"),
    ("metadata.namespace", "ns"),
    ("metadata.uid", "u-1"),
    ("metadata.labels['app']", "web"),
    ("metadata.labels['none']", ""),
    ("metadata.annotations['note']", 'a "q"'),
    ("spec.nodeName", "n1"),
    ("spec.serviceAccountName", "default"),
    ("status.hostIP", "10.0.0.1"),
    ("status.podIPs", "10.0.0.1,fd00::1"),
])
def test_field_ref(path, want):
    assert field_ref_value(POD, path) == want


def test_field_ref_unsupported():
    with pytest.raises(EnvError):
        field_ref_value(POD, "spec.hostname")


def test_labels_as_volume_file():
    assert field_ref_value(POD, "metadata.annotations", for_volume=True) == 'note="a \\"q\\""'


def test_env_in_order_with_references_and_resources():
    c = {"name": "c", "resources": POD["spec"]["containers"][0]["resources"],
         "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                 {"name": "WHERE", "value": "on-$(NODE)-$(LATER)"},
                 {"name": "LATER", "value": "z"},
                 {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                 {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
                 {"name": "CPULIM", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}
    env = container_env(POD, c, {"BASE": "1"}, {"cpu": "4"})
    assert env["WHERE"] == "on-n1-$(LATER)"
    assert env["MEM"] == "128" and env["CPU"] == "250" and env["CPULIM"] == "4"
    assert env["BASE"] == "1"


@pytest.mark.parametrize("env,message", [
    ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}], 'configmap "cm" not found'),
    ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}], 'secret "s" not found'),
])
def test_missing_sources(env, message):
    with pytest.raises(EnvError, match=message):
        container_env(POD, {"name": "c", "env": env}, {})


def test_optional_sources_are_skipped():
    c = {"name": "c", "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k",
                                                                              "optional": True}}}],
         "envFrom": [{"secretRef": {"name": "s", "optional": True}}]}
    assert "X" not in container_env(POD, c, {})


@pytest.mark.parametrize("container,entrypoint,cmd,want", [
    ({"command": ["sh", "-c", "echo $(A)"]}, ["/ep"], ["default"], ["sh", "-c", "echo x"]),
    ({"command": ["run"], "args": ["$(A)"]}, ["/ep"], ["default"], ["run", "x"]),
    ({"args": ["--flag"]}, ["/ep"], ["default"], ["/ep", "--flag"]),
    ({}, ["/ep"], ["default"], ["/ep", "default"]),
    ({}, [], ["sh"], ["sh"]),
])
def test_argv(container, entrypoint, cmd, want):
    assert container_argv(container, entrypoint, cmd, {"A": "x"}) == want
