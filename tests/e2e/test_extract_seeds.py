"""tools/extract_seeds.py: what it takes from a document, and that the checked-in data is current."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("extract_seeds", ROOT / "tools" / "extract_seeds.py")
extract_seeds = importlib.util.module_from_spec(_spec)
sys.modules["extract_seeds"] = extract_seeds  # dataclasses look their module up
_spec.loader.exec_module(extract_seeds)

DS = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\n"


def doc(*parts: str) -> str:
    return "\n".join(parts) + "\n"


@pytest.mark.parametrize("text, expected", [
    # a yaml block naming a whole object
    (doc("# Title", "```yaml", DS.rstrip(), "```"), [(3, "manifest", "daemonset-agent")]),
    # the file name the prose tells the reader to create wins
    (doc("Create a file called `agent-ds.yaml`:", "", "```yaml", DS.rstrip(), "```"),
     [(4, "manifest", "agent-ds")]),
    # ...and a leading "# name.yaml" comment
    (doc("```yaml", "# example.yaml", DS.rstrip(), "```"), [(2, "manifest", "example")]),
    # a fragment is named after its section
    (doc("## Rolling Update Configuration", "```yaml", "spec:", "  minReadySeconds: 5", "```"),
     [(3, "fragment", "fragment-rolling-update-configuration")]),
    # untagged blocks count when they read as YAML field mappings
    (doc("## Taints", "```", "tolerations:", "- operator: Exists", "```"), [(3, "fragment", "fragment-taints")]),
    # ...not when they are diagrams or prose
    (doc("```", "Node1: [Old] -> [New] ok", "  more: text here, and (more)", "```"), []),
    (doc("```", "┌──────┐", "│ box  │", "└──────┘", "```"), []),
    # blocks indented inside a list item are dedented
    (doc("- item:", "  ```yaml", "  " + DS.rstrip().replace("\n", "\n  "), "  ```"),
     [(3, "manifest", "daemonset-agent")]),
])
def test_manifests(text, expected):
    manifests, _ = extract_seeds.extract(text)
    assert [(m.line, m.kind, m.name) for m in manifests] == expected
    for m in manifests:
        assert m.text.endswith("\n") and "```" not in m.text


def test_manifest_text_is_kept_byte_for_byte():
    body = "apiVersion: v1\nkind: Pod   \nmetadata:\n  name: p  # note\n      \n"
    manifests, _ = extract_seeds.extract(f"```yaml\n{body}```\n")
    assert manifests[0].text == body


@pytest.mark.parametrize("text, expected", [
    (doc("```bash", "# comment", "kubectl get ds", "", "kubectl describe ds <name>", "```"),
     [(3, "bash", "kubectl get ds"), (5, "bash", "kubectl describe ds <name>")]),
    # only lines that run kubectl, anywhere in a pipeline or substitution
    (doc("```bash", "echo hi", "comm -23 <(kubectl get nodes -o name) <(echo)", "```"),
     [(3, "bash", "comm -23 <(kubectl get nodes -o name) <(echo)")]),
    # continuation lines join
    (doc("```sh", "kubectl get pods \\", "  -o wide", "```"), [(2, "bash", "kubectl get pods -o wide")]),
    # commands inside yaml blocks are not commands
    (doc("```yaml", "command: kubectl get pods", "```"), []),
    # inline spans: commands and lone flags
    (doc("Run `kubectl get ds` then delete unless `--cascade=orphan` is used; see `spec.template`."),
     [(1, "inline", "kubectl get ds"), (1, "inline-flag", "--cascade=orphan")]),
])
def test_commands(text, expected):
    _, commands = extract_seeds.extract(text)
    assert [(c.line, c.where, c.text) for c in commands] == expected


def test_render_and_sync_are_idempotent(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "007_abc.txt").write_text(doc("## X", "```yaml", DS.rstrip(), "```", "```bash", "kubectl get ds", "```"))
    out = tmp_path / "out"
    first = extract_seeds.sync(seeds, out, check=False)
    assert sorted(Path(p).name for p in first) == ["01-daemonset-agent.yaml", "commands.txt", "manifests.txt"]
    assert extract_seeds.sync(seeds, out, check=False) == []
    assert (out / "007" / "commands.txt").read_text().splitlines()[1] == "9\tbash\tkubectl get ds"
    (out / "007" / "99-stale.yaml").write_text("x: 1\n")
    assert extract_seeds.sync(seeds, out, check=True) == [str(out / "007" / "99-stale.yaml")]
    extract_seeds.sync(seeds, out, check=False)
    assert not (out / "007" / "99-stale.yaml").exists()


@pytest.mark.skipif(not extract_seeds.DEFAULT_SEEDS.is_dir(), reason="seed documents not available here")
def test_checked_in_data_matches_the_seed_documents():
    assert extract_seeds.sync(extract_seeds.DEFAULT_SEEDS, extract_seeds.DEFAULT_OUT, check=True) == []
