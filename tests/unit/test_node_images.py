"""The image catalog: reference normalisation, built-in and user entries, ErrImagePull for the unknown."""

from pathlib import Path

import pytest

from everynode.node.images import Catalog, ImageError, busybox_argv, parse_ref


@pytest.mark.parametrize("image,want,repo", [
    ("nginx", "docker.io/library/nginx:latest", "docker.io/library/nginx"),
    ("busybox:1.35", "docker.io/library/busybox:1.35", "docker.io/library/busybox"),
    ("fluent/fluentd:v1.14.5-1.0", "docker.io/fluent/fluentd:v1.14.5-1.0", "docker.io/fluent/fluentd"),
    ("quay.io/fluentd_elasticsearch/fluentd:v2.5.2", "quay.io/fluentd_elasticsearch/fluentd:v2.5.2",
     "quay.io/fluentd_elasticsearch/fluentd"),
    ("localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app"),
    ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", "registry.k8s.io/pause"),
    ("nginx@sha256:" + "a" * 64, "docker.io/library/nginx@sha256:" + "a" * 64, "docker.io/library/nginx"),
    ("index.docker.io/library/nginx:1", "docker.io/library/nginx:1", "docker.io/library/nginx"),
])
def test_parse_ref(image, want, repo):
    ref = parse_ref(image)
    assert str(ref) == want and ref.repository == repo


@pytest.mark.parametrize("image,has_command,source,busybox", [
    ("busybox:1.35", False, "builtin", True),
    ("nginx", False, "builtin", False),
    ("quay.io/fluentd_elasticsearch/fluentd:v2.5.2", False, "builtin", False),
    ("registry.k8s.io/pause:3.9", False, "builtin", False),
    ("example.com/unknown:1", True, "host", False),
])
def test_resolve(tmp_path, image, has_command, source, busybox):
    img = Catalog(tmp_path).resolve(image, has_command)
    assert img.source == source and img.busybox is busybox
    assert img.image_id.startswith(parse_ref(image).repository + "@sha256:")
    assert "PATH" in img.env


def test_unknown_image_without_command_cannot_be_pulled(tmp_path):
    with pytest.raises(ImageError, match="not in its image catalog"):
        Catalog(tmp_path).resolve("example.com/unknown:1", False)


def test_user_entries_win_and_tags_are_specific(tmp_path: Path):
    (tmp_path / "images.yaml").write_text(
        "images:\n"
        "- image: nginx\n  command: [/bin/echo]\n  args: [custom]\n  env: {A: b}\n"
        "- image: example.com/app:2.0\n  command: [/opt/app2]\n"
        "- image: example.com/app\n  command: [/opt/app]\n")
    cat = Catalog(tmp_path)
    nginx = cat.resolve("nginx:1.25", False)
    assert nginx.entrypoint == ["/bin/echo"] and nginx.cmd == ["custom"] and nginx.env["A"] == "b"
    assert cat.resolve("example.com/app:2.0", False).entrypoint == ["/opt/app2"]
    assert cat.resolve("example.com/app:1.0", False).entrypoint == ["/opt/app"]


def test_broken_user_file_is_ignored(tmp_path: Path):
    (tmp_path / "images.yaml").write_text("images: [unclosed")
    assert Catalog(tmp_path).resolve("busybox", False).source == "builtin"


@pytest.mark.parametrize("argv,want", [
    (["/bin/sh", "-c", "x"], ["APPLETS/sh", "-c", "x"]),
    (["sh", "-c", "x"], ["sh", "-c", "x"]),  # found through PATH, where the applets come first
    (["/opt/tool"], ["/opt/tool"]),
    ([], []),
])
def test_busybox_argv(tmp_path, argv, want):
    applets = tmp_path / "applets"
    applets.mkdir()
    (applets / "sh").touch()
    got = busybox_argv(argv, applets)
    assert got == [w.replace("APPLETS", str(applets)) for w in want]
