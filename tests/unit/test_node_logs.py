"""CRI log files: writing (partial lines, rotation) and reading (tail, since, timestamps, limit, stream)."""

import asyncio

import pytest

from everynode.node.logs import (
    LogOptions,
    LogWriter,
    format_ts,
    parse_line,
    parse_ts,
    read_file_log,
    tail_offset,
)

T0 = 1_700_000_000_000_000_000


@pytest.mark.parametrize("text,want", [
    ("2023-11-14T22:13:20.000000000Z", T0),
    ("2023-11-14T22:13:20.5Z", T0 + 500_000_000),
    ("2023-11-14T22:13:20Z", T0),
    ("garbage", None),
])
def test_parse_ts(text, want):
    assert parse_ts(text) == want


def test_format_roundtrip():
    assert parse_ts(format_ts(T0 + 123)) == T0 + 123


def read(path, **opts):
    async def go():
        out = b""
        async for chunk in read_file_log(path, LogOptions(**opts), lambda: False):
            out += chunk
        return out
    return asyncio.run(go())


@pytest.fixture
def logfile(tmp_path):
    async def write():
        w = LogWriter(tmp_path / "0.log")
        w.write("stdout", b"one\ntwo\n", T0)
        w.write("stderr", b"err\n", T0 + 1_000_000_000)
        w.write("stdout", b"thr", T0 + 2_000_000_000)
        w.write("stdout", b"ee\n", T0 + 3_000_000_000)
        w.write("stdout", b"tail-without-newline", T0 + 4_000_000_000)
        w.close()
    asyncio.run(write())
    return tmp_path / "0.log"


def test_lines_are_cri_formatted(logfile):
    lines = logfile.read_bytes().splitlines()
    assert lines[0] == format_ts(T0).encode() + b" stdout F one"
    assert parse_line(lines[2]) == (T0 + 1_000_000_000, "stderr", True, b"err")
    assert lines[3].endswith(b" stdout F three")
    assert lines[-1].endswith(b" F tail-without-newline")


@pytest.mark.parametrize("opts,want", [
    ({}, b"one\ntwo\nerr\nthree\ntail-without-newline\n"),
    ({"tail_lines": 2}, b"three\ntail-without-newline\n"),
    ({"tail_lines": 0}, b""),
    ({"tail_lines": 99}, b"one\ntwo\nerr\nthree\ntail-without-newline\n"),
    ({"since_ns": T0 + 1_000_000_000}, b"err\nthree\ntail-without-newline\n"),
    ({"limit_bytes": 6}, b"one\ntw"),
    ({"stream": "Stderr"}, b"err\n"),
    ({"stream": "Stdout", "tail_lines": 1}, b"tail-without-newline\n"),
])
def test_read(logfile, opts, want):
    assert read(logfile, **opts) == want


def test_timestamps(logfile):
    out = read(logfile, tail_lines=1, timestamps=True)
    assert out == format_ts(T0 + 4_000_000_000).encode() + b" tail-without-newline\n"


def test_long_lines_are_split_into_partials(tmp_path):
    async def go():
        w = LogWriter(tmp_path / "0.log")
        w.write("stdout", b"x" * 40000 + b"\n", T0)
        w.close()
    asyncio.run(go())
    tags = [line.split(b" ")[2] for line in (tmp_path / "0.log").read_bytes().splitlines()]
    assert tags == [b"P", b"P", b"F"]
    assert read(tmp_path / "0.log") == b"x" * 40000 + b"\n"


def test_rotation_keeps_max_files(tmp_path):
    async def go():
        w = LogWriter(tmp_path / "0.log", max_size=200, max_files=3)
        for i in range(50):
            w.write("stdout", f"line {i:03d}\n".encode(), T0 + i)
        w.close()
    asyncio.run(go())
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "0.log" in files and len(files) == 3
    assert read(tmp_path / "0.log", tail_lines=1) == b"line 049\n"


@pytest.mark.parametrize("content,lines,want", [
    (b"a\nb\nc\n", 1, 4), (b"a\nb\nc\n", 2, 2), (b"a\nb\nc\n", 3, 0), (b"a\nb\nc\n", 5, 0), (b"", 3, 0),
])
def test_tail_offset(tmp_path, content, lines, want):
    p = tmp_path / "f"
    p.write_bytes(content)
    with open(p, "rb") as f:
        assert tail_offset(f, lines, chunk=2) == want


def test_follow_ends_when_the_instance_stops(tmp_path):
    async def go():
        w = LogWriter(tmp_path / "0.log")
        w.write("stdout", b"first\n")
        state = {"running": True}
        got = []

        async def reader():
            async for chunk in read_file_log(tmp_path / "0.log", LogOptions(follow=True), lambda: state["running"],
                                             lambda: w):
                got.append(chunk)

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.1)
        w.write("stdout", b"second\n")
        await asyncio.sleep(0.1)
        state["running"] = False
        w.write("stdout", b"last\n")
        w.close()
        await asyncio.wait_for(task, 3)
        return b"".join(got)

    assert asyncio.run(go()) == b"first\nsecond\nlast\n"
