"""The docs show only code that runs, and name only what exists.

Every Python block in README.md and docs/*.md sits right under one of two comments:

    <!-- example: example_dags/<file>.py <region> -->
    <!-- not-an-example: <why it is not taken from an example DAG> -->

An ``example`` block must equal that region of the example DAG: the lines between ``# [START <region>]`` and
``# [END <region>]`` (the convention of Airflow's own providers), without the marker lines of regions nested
in it, dedented. tests/test_dags.py runs every example DAG end to end, so the docs show tested code. A
``not-an-example`` block (a pytest test, hook calls) must at least compile.

The package names and paths the docs mention (``airflow_provider_journeys.batch.BatchProgress``, imports in
code blocks, ``airflow_provider_journeys/schemas/``) must exist in the source, and relative links must lead
to a file (and heading) that exists.

Pure file reading: nothing here imports Airflow or the package.
"""

from __future__ import annotations

import ast
import difflib
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_journeys"
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
EXAMPLE_DAGS = sorted((REPO_ROOT / "example_dags").glob("*.py"))

FENCE = re.compile(r"^```(?P<language>\S*)\s*$")
EXAMPLE_COMMENT = re.compile(r"^<!-- example: (?P<path>\S+) (?P<region>[\w-]+) -->$")
EXEMPT_COMMENT = re.compile(r"^<!-- not-an-example: (?P<why>.+\S) -->$")
ANY_DOCS_COMMENT = re.compile(r"^<!-- (example|not-an-example):")
REGION_MARKER = re.compile(r"^\s*# \[(?P<kind>START|END) (?P<region>[\w-]+)\]\s*$")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
DOTTED_NAME = re.compile(rf"\b{PACKAGE}(?:\.\w+)+")
SOURCE_PATH = re.compile(rf"\b{PACKAGE}(?:/[\w.-]+)*/?")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


@dataclass(frozen=True)
class Block:
    """A fenced code block: the file, the 1-based line of its opening fence, and the comment above it."""

    doc: Path
    line: int
    language: str
    text: str
    comment: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(REPO_ROOT)}:{self.line}"


def code_blocks(doc: Path) -> list[Block]:
    lines = doc.read_text().splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end] != "```":
            end += 1
        assert end < len(lines), f"{doc.relative_to(REPO_ROOT)}:{index + 1}: code block never closed"
        comment = lines[index - 1] if index > 0 else ""
        blocks.append(Block(doc, index + 1, opening["language"], "\n".join(lines[index + 1 : end]), comment))
        index = end + 1
    return blocks


ALL_BLOCKS = [block for doc in DOCS for block in code_blocks(doc)]
PYTHON_BLOCKS = [block for block in ALL_BLOCKS if block.language == "python"]
EXAMPLE_BLOCKS = [block for block in PYTHON_BLOCKS if EXAMPLE_COMMENT.match(block.comment)]
EXEMPT_BLOCKS = [block for block in PYTHON_BLOCKS if EXEMPT_COMMENT.match(block.comment)]


def regions(source: str) -> dict[str, str]:
    """Every marked region of an example file, by name; raises on a marker without its partner."""
    lines = source.splitlines()
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    for number, line in enumerate(lines):
        marker = REGION_MARKER.match(line)
        if marker is None:
            continue
        seen = starts if marker["kind"] == "START" else ends
        if marker["region"] in seen:
            raise ValueError(f"line {number + 1}: a second [{marker['kind']} {marker['region']}]")
        seen[marker["region"]] = number
    if starts.keys() != ends.keys():
        raise ValueError(f"markers without a partner: {sorted(starts.keys() ^ ends.keys())}")
    found = {}
    for name, start in starts.items():
        if ends[name] < start:
            raise ValueError(f"[END {name}] comes before [START {name}]")
        inside = [line for line in lines[start + 1 : ends[name]] if not REGION_MARKER.match(line)]
        found[name] = textwrap.dedent("\n".join(inside)).strip("\n")
    return found


@pytest.mark.parametrize("example", EXAMPLE_DAGS, ids=lambda path: path.name)
def test_region_markers_in_example_dags_come_in_pairs(example: Path) -> None:
    regions(example.read_text())


def test_every_python_block_says_which_example_region_it_shows_or_why_none() -> None:
    unmarked = [
        block.where
        for block in PYTHON_BLOCKS
        if not (EXAMPLE_COMMENT.match(block.comment) or EXEMPT_COMMENT.match(block.comment))
    ]
    assert unmarked == [], (
        "Python blocks without '<!-- example: example_dags/<file>.py <region> -->' or "
        f"'<!-- not-an-example: <why> -->' on the line above: {unmarked}"
    )


def test_every_docs_comment_sits_right_above_a_python_block() -> None:
    above_python = {(block.doc, block.line - 1) for block in PYTHON_BLOCKS}
    misplaced = [
        f"{doc.relative_to(REPO_ROOT)}:{number}"
        for doc in DOCS
        for number, line in enumerate(doc.read_text().splitlines(), start=1)
        if ANY_DOCS_COMMENT.match(line) and (doc, number) not in above_python
    ]
    assert misplaced == [], f"example comments not directly above a ```python block: {misplaced}"


@pytest.mark.parametrize("block", EXAMPLE_BLOCKS, ids=lambda block: block.where)
def test_python_block_is_the_example_region_it_names(block: Block) -> None:
    comment = EXAMPLE_COMMENT.match(block.comment)
    assert comment is not None
    example = REPO_ROOT / comment["path"]
    assert example.is_file(), f"{block.where} names {comment['path']}, which does not exist"
    found = regions(example.read_text())
    assert comment["region"] in found, (
        f"{block.where} names region {comment['region']!r}, which {comment['path']} does not mark "
        f"(it marks {sorted(found)})"
    )
    expected = found[comment["region"]]
    diff = "\n".join(
        difflib.unified_diff(
            expected.splitlines(),
            block.text.splitlines(),
            f"{comment['path']} [{comment['region']}]",
            block.where,
            lineterm="",
        )
    )
    assert block.text == expected, f"copy the region into the docs again:\n{diff}"


@pytest.mark.parametrize("block", EXEMPT_BLOCKS, ids=lambda block: block.where)
def test_python_block_not_taken_from_an_example_compiles(block: Block) -> None:
    compile(block.text, block.where, "exec")


@cache
def module_file(dotted: str) -> Path | None:
    path = REPO_ROOT.joinpath(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def top_level_names(module: Path) -> frozenset[str]:
    names = set()
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return frozenset(names)


def missing_from_package(dotted: str) -> str | None:
    """Why ``dotted`` (a module, or a module and a name in it) is not in the package; None when it is."""
    parts = dotted.split(".")
    for length in range(len(parts), 0, -1):
        module = module_file(".".join(parts[:length]))
        if module is None:
            continue
        if length == len(parts) or parts[length] in top_level_names(module):
            return None
        return f"{module.relative_to(REPO_ROOT)} defines no {parts[length]!r}"
    return "no such module"


def package_references(doc: Path) -> list[str]:
    """The dotted package names a doc mentions in inline code and imports in its Python blocks."""
    text = doc.read_text()
    found = [name for span in INLINE_CODE.findall(text) for name in DOTTED_NAME.findall(span)]
    for block in code_blocks(doc):
        if block.language != "python":
            continue
        for node in ast.walk(ast.parse(block.text)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
                found += [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [alias.name for alias in node.names if alias.name.startswith(PACKAGE)]
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(REPO_ROOT)))
def test_package_names_and_paths_the_doc_mentions_exist(doc: Path) -> None:
    problems = [
        f"{name}: {why}"
        for name in package_references(doc)
        if (why := missing_from_package(name)) is not None
    ]
    problems += [
        f"{path}: no such file or folder"
        for span in INLINE_CODE.findall(doc.read_text())
        for path in SOURCE_PATH.findall(span)
        if "/" in path and not (REPO_ROOT / path).exists()
    ]
    assert problems == [], "\n".join(problems)


def heading_anchors(doc: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings (lower case, punctuation dropped, spaces to -)."""
    anchors = set()
    in_code = False
    for line in doc.read_text().splitlines():
        if FENCE.match(line) or line == "```":
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(REPO_ROOT)))
def test_relative_links_lead_to_files_and_headings_that_exist(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (doc.parent / path).resolve() if path else doc
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked):
            broken.append(f"{target}: no heading with that anchor")
    assert broken == [], "\n".join(broken)
