"""Extract the manifests and kubectl commands of the seed documents into test data.

The seed documents (../shared/seeds/NNN_<hash>.txt) are what users try first.
For each one this writes tests/e2e/data/<NNN>/:

  NN-<name>.yaml   every YAML block, byte for byte (```yaml blocks and untagged
                   blocks that parse as a YAML mapping); <name> is the file name
                   the document tells the reader to create, else the file name
                   in a leading ``# name.yaml`` comment, else <kind>-<metadata.name>
                   for a whole object, else fragment-<section heading>
  manifests.txt    one line per file: file, source line, manifest|fragment
  commands.txt     one line per kubectl command: source line, where it was found
                   (bash = a fenced shell block, inline = a `code span` in prose;
                   inline-flag = a lone `--flag` span), the command

Re-running gives the same files (stale files of a seed are removed first).

  python tools/extract_seeds.py [--seeds DIR] [--out DIR] [--check]

``--check`` writes nothing and exits 1 when the data on disk differs.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEEDS = ROOT.parent / "shared" / "seeds"
DEFAULT_OUT = ROOT / "tests" / "e2e" / "data"

FENCE = re.compile(r"^(\s*)```\s*([\w+-]*)\s*$")
SHELL_LANGS = {"bash", "sh", "shell", "console", "zsh"}
YAML_LANGS = {"yaml", "yml"}
SPAN = re.compile(r"`([^`\n]+)`")
IDENT = re.compile(r"^[A-Za-z][\w./-]*$")
KUBECTL = re.compile(r"(^|[\s(|;&])kubectl\s")


@dataclass
class Block:
    lang: str
    start: int  # 1-based line of the first content line
    lines: list[str]


@dataclass
class Manifest:
    line: int
    kind: str  # manifest | fragment
    name: str
    text: str


@dataclass
class Command:
    line: int
    where: str  # bash | inline | inline-flag
    text: str


def split_document(text: str) -> tuple[list[Block], list[tuple[int, str]]]:
    """Fenced blocks (content dedented by the fence's indent) and the prose lines outside them."""
    blocks: list[Block] = []
    prose: list[tuple[int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2).lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            line = lines[j]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            j += 1
        blocks.append(Block(lang, i + 2, body))
        i = j + 1
    return blocks, prose


def yaml_document(block: Block) -> dict | None:
    """The block's mapping when it is YAML (tagged, or untagged and parsing as a mapping of field names)."""
    if block.lang not in YAML_LANGS and block.lang != "":
        return None
    try:
        doc = yaml.safe_load("\n".join(block.lines))
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict) or not doc:
        return None
    if block.lang == "" and not all(isinstance(k, str) and IDENT.match(k) for k in doc):
        return None
    return doc


def slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def heading_before(prose: list[tuple[int, str]], line: int) -> str:
    title = ""
    for n, text in prose:
        if n >= line:
            break
        if re.match(r"^#{1,6}\s", text):
            title = text.lstrip("#").strip()
    return slug(title) or "document"


def file_named_before(prose: list[tuple[int, str]], line: int) -> str | None:
    """A `name.yaml` span in the last three prose lines before a block ("Create a file called ...")."""
    before = [t for n, t in prose if n < line and t.strip()][-3:]
    for text in reversed(before):
        for span in SPAN.findall(text):
            if re.fullmatch(r"[\w.-]+\.ya?ml", span):
                return span
    return None


def manifest_name(block: Block, doc: dict, prose: list[tuple[int, str]]) -> str:
    named = file_named_before(prose, block.start - 1)
    if named is None and block.lines:
        m = re.fullmatch(r"#\s*([\w.-]+\.ya?ml)\s*", block.lines[0].strip())
        named = m.group(1) if m else None
    if named:
        return re.sub(r"\.ya?ml$", "", named)
    if "apiVersion" in doc and "kind" in doc:
        name = (doc.get("metadata") or {}).get("name") or "unnamed"
        return f"{str(doc['kind']).lower()}-{name}"
    return f"fragment-{heading_before(prose, block.start)}"


def shell_commands(block: Block) -> list[Command]:
    out: list[Command] = []
    pending: list[str] = []
    first = 0
    for offset, raw in enumerate(block.lines):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            first = block.start + offset
        if line.endswith("\\"):
            pending.append(line[:-1].rstrip())
            continue
        pending.append(line)
        text = " ".join(pending)
        pending = []
        if KUBECTL.search(f" {text}"):
            out.append(Command(first, "bash", text))
    return out


def inline_commands(prose: list[tuple[int, str]]) -> list[Command]:
    out = []
    for n, text in prose:
        for span in SPAN.findall(text):
            span = span.strip()
            if span.startswith("kubectl "):
                out.append(Command(n, "inline", span))
            elif re.fullmatch(r"--[a-z][\w-]*(=\S+)?", span):
                out.append(Command(n, "inline-flag", span))
    return out


def extract(text: str) -> tuple[list[Manifest], list[Command]]:
    blocks, prose = split_document(text)
    manifests: list[Manifest] = []
    commands: list[Command] = []
    for block in blocks:
        doc = yaml_document(block)
        if doc is not None:
            kind = "manifest" if "apiVersion" in doc and "kind" in doc else "fragment"
            body = "\n".join(block.lines) + "\n"
            manifests.append(Manifest(block.start, kind, manifest_name(block, doc, prose), body))
        elif block.lang in SHELL_LANGS:
            commands += shell_commands(block)
    commands += inline_commands(prose)
    commands.sort(key=lambda c: c.line)
    return manifests, commands


def render(seed: Path) -> dict[str, str]:
    """File name -> content for one seed's data directory."""
    manifests, commands = extract(seed.read_text(encoding="utf-8"))
    files: dict[str, str] = {}
    index = [f"# {seed.name}: file, source line, manifest|fragment (tools/extract_seeds.py)"]
    for i, m in enumerate(manifests, 1):
        name = f"{i:02d}-{m.name}.yaml"
        files[name] = m.text
        index.append(f"{name}\t{m.line}\t{m.kind}")
    files["manifests.txt"] = "\n".join(index) + "\n"
    lines = [f"# {seed.name}: source line, where, command (tools/extract_seeds.py)"]
    lines += [f"{c.line}\t{c.where}\t{c.text}" for c in commands]
    files["commands.txt"] = "\n".join(lines) + "\n"
    return files


def seed_id(seed: Path) -> str:
    return seed.stem.split("_", 1)[0]


def managed(path: Path) -> bool:
    return path.suffix == ".yaml" or path.name in ("commands.txt", "manifests.txt")


def sync(seeds: Path, out: Path, check: bool) -> list[str]:
    """Write (or compare, with check) every seed's data; returns the paths that differ."""
    differ: list[str] = []
    for seed in sorted(seeds.glob("*.txt")):
        target = out / seed_id(seed)
        wanted = render(seed)
        existing = {p.name: p.read_text(encoding="utf-8") for p in target.glob("*") if managed(p)} \
            if target.exists() else {}
        for name in sorted(set(wanted) | set(existing)):
            if wanted.get(name) != existing.get(name):
                differ.append(str(target / name))
                if not check:
                    if name in wanted:
                        target.mkdir(parents=True, exist_ok=True)
                        (target / name).write_text(wanted[name], encoding="utf-8")
                    else:
                        (target / name).unlink()
    return differ


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--check", action="store_true", help="compare only; exit 1 when the data is stale")
    args = p.parse_args(argv)
    if not args.seeds.is_dir():
        print(f"no seed directory {args.seeds}", file=sys.stderr)
        return 2
    differ = sync(args.seeds, args.out, args.check)
    for path in differ:
        print(("stale: " if args.check else "wrote: ") + path)
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
