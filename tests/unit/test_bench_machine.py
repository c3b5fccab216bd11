"""What a benchmark report says about the machine and the interpreter it ran on."""

from __future__ import annotations

import sys

import pytest

from everynode.cli import bench


@pytest.mark.parametrize("maps, shared", [
    ("7f00-7f01 r-xp 00000000 08:01 12 /root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0\n", True),
    ("5600-5601 r-xp 00000000 08:01 12 /usr/bin/python3.11\n7f00-7f01 r-xp 0 08:01 13 /lib/libc.so.6\n", False),
    ("", False),  # no /proc: not claimed shared
])
def test_python_build_tells_a_shared_libpython(maps, shared):
    assert bench.python_build(maps) == {"shared_libpython": shared}


def test_machine_names_the_interpreter():
    m = bench.machine()
    assert m["python_executable"] == sys.executable
    assert isinstance(m["python_build"]["shared_libpython"], bool)
