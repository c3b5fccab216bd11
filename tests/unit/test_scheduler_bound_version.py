"""When the scheduler's own binding comes back, it keeps what it computed of the assumed pod."""

import pytest

from everynode.controllers.scheduler.scheduler import _bound_version

SPEC = {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "1"}}}],
        "priority": 0, "schedulerName": "default-scheduler"}


def pod(**spec):
    return {"metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize("assumed, bound, same", [
    (pod(**SPEC), pod(**SPEC, nodeName="n1"), True),
    (pod(**SPEC, nodeName="n1"), pod(**SPEC, nodeName="n1"), True),
    (pod(**SPEC), pod(**{**SPEC, "priority": 5}, nodeName="n1"), False),           # a value changed
    (pod(**SPEC), pod(**{**SPEC, "containers": []}, nodeName="n1"), False),
    (pod(**SPEC), pod(**SPEC, hostNetwork=True, nodeName="n1"), False),            # a field added
    (pod(**SPEC, hostNetwork=True), pod(**SPEC, nodeName="n1"), False),            # a field removed
    (pod(**SPEC, hostNetwork=True), pod(**SPEC, extra=None, nodeName="n1"), False),  # one for another
])
def test_bound_version(assumed, bound, same):
    assert _bound_version(assumed, bound) is same
