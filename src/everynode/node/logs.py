"""Container logs: CRI-format files with rotation, and reading them for pods/log.

Each container instance writes ``<attempt>.log`` under
``<node-root>/var/log/pods/<namespace>_<pod>_<uid>/<container>/``, one line
per output line, as containerd does::

    2025-01-02T03:04:05.123456789Z stdout F the line

(``P`` marks a partial line: a very long line is split in chunks.) A file
bigger than ``max_size`` is rotated to ``<attempt>.log.<time>``; at most
``max_files`` files are kept per instance. Reading serves what kubectl asks
for: ``tailLines``, ``sinceSeconds``/``sinceTime``, ``timestamps``,
``limitBytes`` and ``follow`` (which ends when the instance stops).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

MAX_SIZE = 10 * 1024 * 1024
MAX_FILES = 5
MAX_LINE = 16 * 1024


@dataclass
class LogOptions:
    follow: bool = False
    tail_lines: int | None = None
    since_ns: int | None = None  # unix time in nanoseconds
    timestamps: bool = False
    limit_bytes: int | None = None
    stream: str = "All"  # All | Stdout | Stderr


def format_ts(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    base = dt.datetime.fromtimestamp(secs, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"


def parse_ts(text: str) -> int | None:
    """RFC 3339 with up to nine fraction digits -> unix nanoseconds."""
    try:
        main, _, rest = text.partition(".")
        if rest:
            digits = rest.rstrip("Z")
            frac = int((digits + "000000000")[:9])
        else:
            main = main.rstrip("Z")
            frac = 0
        secs = dt.datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC).timestamp()
        return int(secs) * 1_000_000_000 + frac
    except ValueError:
        return None


def pod_log_dir(root: Path, namespace: str, name: str, uid: str) -> Path:
    return root.joinpath("var", "log", "pods", f"{namespace}_{name}_{uid}")


def container_log_path(root: Path, namespace: str, name: str, uid: str, container: str, attempt: int) -> Path:
    # One joinpath, not a chain of "/": every container start computes it (a third of the cost).
    return root.joinpath("var", "log", "pods", f"{namespace}_{name}_{uid}", container, f"{attempt}.log")


class LogWriter:
    """Writes a container's stdout and stderr as CRI log lines; notifies followers."""

    def __init__(self, path: Path, max_size: int = MAX_SIZE, max_files: int = MAX_FILES):
        self.path = path
        self.max_size = max_size
        self.max_files = max_files
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(path, "ab")
        self._size = self._f.tell()
        self._partial = {"stdout": b"", "stderr": b""}
        self._partial_ts: dict[str, int] = {}
        self._waiters: list[asyncio.Future] = []
        self.closed = False

    def write(self, stream: str, data: bytes, now_ns: int | None = None) -> None:
        if self.closed:
            return
        now_ns = now_ns or time.time_ns()
        # A line is stamped when its first byte arrived.
        ts = format_ts(self._partial_ts.get(stream) or now_ns).encode()
        head = ts + b" " + stream.encode()
        buf = self._partial[stream] + data
        out = []
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            line, buf = buf[:nl], buf[nl + 1:]
            while len(line) > MAX_LINE:
                out.append(head + b" P " + line[:MAX_LINE] + b"\n")
                line = line[MAX_LINE:]
            out.append(head + b" F " + line + b"\n")
        while len(buf) > MAX_LINE:
            out.append(head + b" P " + buf[:MAX_LINE] + b"\n")
            buf = buf[MAX_LINE:]
        self._partial[stream] = buf
        self._partial_ts[stream] = now_ns if buf else 0
        if out:
            self._emit(b"".join(out))

    def _emit(self, raw: bytes) -> None:
        if self._size and self._size + len(raw) > self.max_size:
            self._rotate()  # before writing: the current file always holds the newest lines
        self._f.write(raw)
        self._f.flush()
        self._size += len(raw)
        self._notify()

    def _rotate(self) -> None:
        self._f.close()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.{stamp}")
        n = 0
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.{stamp}.{n}")
        os.replace(self.path, target)
        rotated = sorted(p for p in self.path.parent.glob(self.path.name + ".*"))
        for old in rotated[:max(0, len(rotated) - (self.max_files - 1))]:
            try:
                old.unlink()
            except OSError:
                pass
        self._f = open(self.path, "ab")
        self._size = 0

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def wait(self, timeout: float) -> None:
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass

    def close(self) -> None:
        if self.closed:
            return
        for stream, rest in self._partial.items():
            if rest:
                self._partial[stream] = b""
                ts = format_ts(self._partial_ts.get(stream) or time.time_ns()).encode()
                self._f.write(ts + b" " + stream.encode() + b" F " + rest + b"\n")
        self._f.close()
        self.closed = True
        self._notify()


# ------------------------------------------------------------------ reading


def parse_line(raw: bytes) -> tuple[int, str, bool, bytes] | None:
    """A CRI log line -> (timestamp ns, stream, full, content)."""
    parts = raw.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3:
        return None
    ts = parse_ts(parts[0].decode(errors="replace"))
    if ts is None:
        return None
    stream = parts[1].decode(errors="replace")
    tag = parts[2]
    content = parts[3] if len(parts) > 3 else b""
    return ts, stream, tag != b"P", content


def render(entry: tuple[int, str, bool, bytes], opts: LogOptions) -> bytes | None:
    ts, stream, full, content = entry
    if opts.stream == "Stdout" and stream != "stdout":
        return None
    if opts.stream == "Stderr" and stream != "stderr":
        return None
    if opts.since_ns is not None and ts < opts.since_ns:
        return None
    out = content + b"\n" if full else content
    if opts.timestamps:
        out = format_ts(ts).encode() + b" " + out
    return out


def tail_offset(f, lines: int, chunk: int = 64 * 1024) -> int:
    """Offset in ``f`` where the last ``lines`` lines start."""
    if lines <= 0:
        f.seek(0, os.SEEK_END)
        return f.tell()
    f.seek(0, os.SEEK_END)
    end = pos = f.tell()
    count = 0
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        f.seek(pos)
        block = f.read(step)
        # A trailing newline ends the last line; it does not start another.
        limit = len(block) - 1 if pos + len(block) == end else len(block)
        i = limit
        while True:
            i = block.rfind(b"\n", 0, i)
            if i < 0:
                break
            count += 1
            if count >= lines:
                return pos + i + 1
    return 0


class _Limit:
    def __init__(self, limit: int | None):
        self.left = limit

    def cut(self, data: bytes) -> tuple[bytes, bool]:
        if self.left is None:
            return data, False
        if len(data) >= self.left:
            data, self.left = data[:self.left], 0
            return data, True
        self.left -= len(data)
        return data, False


async def read_file_log(path: Path, opts: LogOptions, running: Callable[[], bool],
                        writer: Callable[[], LogWriter | None] | None = None) -> AsyncIterator[bytes]:
    """Stream a CRI log file as pods/log output; with ``follow``, until the instance stops."""
    limit = _Limit(opts.limit_bytes)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    try:
        if opts.tail_lines is not None:
            f.seek(tail_offset(f, opts.tail_lines))
        buf = b""
        while True:
            chunk = f.read(64 * 1024)
            if chunk:
                buf += chunk
                lines = buf.split(b"\n")
                buf = lines.pop()
                out = []
                for raw in lines:
                    entry = parse_line(raw)
                    if entry is None:
                        continue
                    rendered = render(entry, opts)
                    if rendered is not None:
                        out.append(rendered)
                if out:
                    data, done = limit.cut(b"".join(out))
                    yield data
                    if done:
                        return
                continue
            if not opts.follow:
                return
            # At the end: a rotated file continues in a new one; a stopped instance ends the stream.
            try:
                if os.stat(path).st_ino != os.fstat(f.fileno()).st_ino:
                    f.close()
                    f = open(path, "rb")
                    continue
            except FileNotFoundError:
                return
            if not running():
                chunk = f.read()
                if chunk:
                    f.seek(-len(chunk), os.SEEK_CUR)
                    opts = LogOptions(**{**opts.__dict__, "follow": False})
                    continue
                return
            w = writer() if writer is not None else None
            if w is not None and not w.closed:
                await w.wait(1.0)
            else:
                await asyncio.sleep(0.5)
    finally:
        f.close()
