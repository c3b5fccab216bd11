"""The image catalog: what an image reference means when there is no registry.

everynode runs containers as host processes, so an image is only a recipe:
an entrypoint, a default command, environment and working directory. A
container that names its own ``command`` runs that command (the image only
contributes its environment); a container without one needs its image in
the catalog, or it waits with ErrImagePull / ImagePullBackOff.

The catalog has built-in entries (busybox, alpine, nginx, httpd, pause,
fluentd, node-exporter, python, ...; see docs/node-agent.md) and user
entries from ``<data-dir>/images.yaml`` and the file named by
``$EVERYNODE_IMAGES``::

    images:
    - image: myorg/web            # any tag; "myorg/web:2.0" matches that tag only
      command: ["/opt/web/bin/web"]   # the entrypoint
      args: ["--port", "8080"]        # the default command
      env: {MODE: demo}
      workingDir: /opt/web
      busybox: false                  # run /bin/sh & co. through busybox applets

User entries win over built-in ones; a tagged entry wins over an untagged one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

log = logging.getLogger("everynode.node.images")

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


@dataclass(frozen=True)
class ImageRef:
    domain: str
    path: str
    tag: str
    digest: str

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_ref(image: str) -> ImageRef:
    """Docker's normalisation: nginx -> docker.io/library/nginx:latest."""
    name, _, digest = image.partition("@")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        domain, remainder = first, rest
    else:
        domain, remainder = "docker.io", name
    if domain == "index.docker.io":
        domain = "docker.io"
    path, tag = remainder, ""
    colon = remainder.rfind(":")
    if colon > remainder.rfind("/"):
        path, tag = remainder[:colon], remainder[colon + 1:]
    if domain == "docker.io" and "/" not in path:
        path = f"library/{path}"
    if not tag and not digest:
        tag = "latest"
    return ImageRef(domain, path, tag, digest)


@dataclass
class Image:
    ref: str  # normalised reference, as containerd reports it in status.image
    image_id: str
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    busybox: bool = False
    source: str = "host"  # builtin | user | host


class ImageError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Entry:
    match: str  # repository (docker.io/library/nginx) or repository:tag
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    busybox: bool = False
    source: str = "builtin"


def _script(name: str) -> list[str]:
    return [sys.executable, "-I", str(BUILTIN_DIR / name)]


def builtin_entries() -> list[Entry]:
    shells = ["docker.io/library/busybox", "docker.io/library/alpine"]
    out = [Entry(repo, cmd=["sh"], busybox=True) for repo in shells]
    out += [Entry(repo, cmd=["bash"]) for repo in ("docker.io/library/ubuntu", "docker.io/library/debian")]
    out += [Entry(repo, entrypoint=_script("httpd.py"), cmd=["--server", name, "--port", "80"])
            for repo, name in (("docker.io/library/nginx", "nginx"), ("docker.io/nginxinc/nginx-unprivileged", "nginx"),
                               ("docker.io/library/httpd", "httpd"))]
    out += [Entry(repo, cmd=["sleep", "infinity"]) for repo in ("registry.k8s.io/pause", "k8s.gcr.io/pause")]
    fluentd = ("docker.io/fluent/fluentd", "quay.io/fluentd_elasticsearch/fluentd",
               "docker.io/fluent/fluent-bit", "docker.io/elastic/filebeat",
               "docker.elastic.co/beats/filebeat", "docker.io/timberio/vector")
    out += [Entry(repo, entrypoint=_script("logtail.py"), cmd=["/var/log/containers", "/var/log/pods"])
            for repo in fluentd]
    exporters = ("docker.io/prom/node-exporter", "quay.io/prometheus/node-exporter")
    out += [Entry(repo, entrypoint=_script("node_exporter.py"), cmd=["--web.listen-address=:9100"])
            for repo in exporters]
    out += [Entry("docker.io/library/python", cmd=["python3"])]
    return out


def _user_entries(path: Path) -> list[Entry]:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        log.warning("image catalog %s is not readable: %s", path, exc)
        return []
    out = []
    for item in doc.get("images") or []:
        if not isinstance(item, dict) or not item.get("image"):
            continue
        image = str(item["image"])
        ref = parse_ref(image)
        tagged = ":" in image.rsplit("/", 1)[-1] or "@" in image
        out.append(Entry(str(ref) if tagged else ref.repository,
                         entrypoint=[str(a) for a in item.get("command") or []],
                         cmd=[str(a) for a in item.get("args") or []],
                         env={str(k): str(v) for k, v in (item.get("env") or {}).items()},
                         working_dir=item.get("workingDir"), busybox=bool(item.get("busybox")),
                         source="user"))
    return out


def busybox_binary() -> str | None:
    return shutil.which("busybox")


class Catalog:
    def __init__(self, data_dir: Path | None = None, extra_files: list[Path] | None = None):
        self.data_dir = data_dir
        files = []
        if data_dir is not None:
            files.append(data_dir / "images.yaml")
        if os.environ.get("EVERYNODE_IMAGES"):
            files.append(Path(os.environ["EVERYNODE_IMAGES"]))
        files += extra_files or []
        self.files = files
        self._mtimes: tuple = ()
        self._entries: list[Entry] = []
        self._applets: Path | None = None

    def entries(self) -> list[Entry]:
        mtimes = tuple(_mtime(f) for f in self.files)
        if mtimes != self._mtimes or not self._entries:
            user: list[Entry] = []
            for f in self.files:
                if f.exists():
                    user += _user_entries(f)
            self._entries = user + builtin_entries()
            self._mtimes = mtimes
        return self._entries

    def lookup(self, image: str) -> Entry | None:
        ref = parse_ref(image)
        full = str(ref)
        entries = self.entries()
        for e in entries:  # exact tag first (user entries come first)
            if e.match == full:
                return e
        for e in entries:
            if e.match == ref.repository:
                return e
        return None

    def resolve(self, image: str, has_command: bool) -> Image:
        """The image's recipe, or ImageError when it cannot run (no command, not in the catalog)."""
        if not image:
            raise ImageError("no image given")
        ref = parse_ref(image)
        entry = self.lookup(image)
        digest = hashlib.sha256(repr((str(ref), entry)).encode()).hexdigest()
        image_id = f"{ref.repository}@sha256:{digest}"
        if entry is None:
            if not has_command:
                raise ImageError(
                    f'failed to pull image "{image}": everynode has no registry and "{ref.repository}" is '
                    f"not in its image catalog; give the container a command, or describe the image in "
                    f"{self.files[0] if self.files else 'images.yaml'} (see docs/node-agent.md)")
            return Image(str(ref), image_id, env={"PATH": DEFAULT_PATH})
        env = {"PATH": DEFAULT_PATH, **entry.env}
        img = Image(str(ref), image_id, list(entry.entrypoint), list(entry.cmd), env, entry.working_dir,
                    entry.busybox, entry.source)
        if entry.busybox:
            applets = self.busybox_applets()
            if applets is not None:
                img.env["PATH"] = f"{applets}:{env['PATH']}"
        return img

    def busybox_applets(self) -> Path | None:
        """A directory of busybox applet links, so busybox images see busybox's tools first."""
        if self._applets is not None:
            return self._applets
        binary = busybox_binary()
        if binary is None or self.data_dir is None:
            return None
        target = self.data_dir / "images" / "busybox" / "bin"
        try:
            if not (target / "sh").exists():
                names = subprocess.run([binary, "--list"], capture_output=True, text=True, timeout=10).stdout.split()
                target.mkdir(parents=True, exist_ok=True)
                for name in names:
                    link = target / name
                    if not link.exists() and "/" not in name:
                        link.symlink_to(binary)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("cannot prepare busybox applets in %s: %s", target, exc)
            return None
        self._applets = target
        return target


def busybox_argv(argv: list[str], applets: Path | None) -> list[str]:
    """For busybox images: /bin/sh, /bin/echo, ... run as busybox applets (when busybox is installed)."""
    if not argv or applets is None:
        return argv
    first = argv[0]
    if first.startswith("/") and os.path.dirname(first) in ("/bin", "/sbin", "/usr/bin", "/usr/sbin"):
        candidate = applets / os.path.basename(first)
        if candidate.exists():
            return [str(candidate), *argv[1:]]
    return argv


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
