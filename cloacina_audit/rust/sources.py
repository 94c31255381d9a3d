"""Source references to forbidden crates, found with tree-sitter's Rust grammar (no regexes).

Reported: ``use cloacina::…``, paths such as ``cloacina::runtime::Runner`` in code and types,
and ``extern crate cloacina``. Skipped: items under ``#[cfg(test)]`` and the test-only
directories tests/, examples/ and benches/ (only the library's sources link into the cdylib).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import tree_sitter_rust
from tree_sitter import Language, Node, Parser

_LANGUAGE = Language(tree_sitter_rust.language())
_SKIPPED_DIRS = frozenset({"tests", "examples", "benches", "target"})
_PATHS = frozenset({"scoped_identifier", "scoped_type_identifier", "scoped_use_list"})


@dataclass(frozen=True, order=True)
class SourceUse:
    """One reference: ``file`` relative to the crate, 1-based ``line``, the crate and the statement."""

    file: str
    line: int
    crate: str
    statement: str


def find_uses(crate_dir: Path, crates: Iterable[str]) -> list[SourceUse]:
    """Every reference to one of ``crates`` (Cargo names; ``-`` read as ``_``) under src/."""
    wanted = {name.replace("-", "_"): name for name in crates}
    found: list[SourceUse] = []
    src = crate_dir / "src"
    for path in sorted(src.rglob("*.rs")) if src.is_dir() else []:
        if _SKIPPED_DIRS & set(path.relative_to(crate_dir).parts[:-1]):
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        relative = path.relative_to(crate_dir).as_posix()
        found.extend(_in_source(data, relative, wanted))
    return sorted(set(found))


def _in_source(data: bytes, relative: str, wanted: dict[str, str]) -> Iterator[SourceUse]:
    tree = Parser(_LANGUAGE).parse(data)
    for node in _live_nodes(tree.root_node):
        crate = _referenced_crate(node)
        if crate in wanted:
            statement = _statement(node).text.decode("utf-8", "replace")
            yield SourceUse(relative, node.start_point[0] + 1, wanted[crate],
                            " ".join(statement.split())[:200])


def _live_nodes(node: Node) -> Iterator[Node]:
    """Nodes outside ``#[cfg(test)]`` items, paths only at their outermost node."""
    cfg_test = False
    for child in node.named_children:
        if child.type == "attribute_item":
            cfg_test = cfg_test or _is_cfg_test(child)
            continue
        if cfg_test:
            cfg_test = False
            continue
        if child.type in ("use_declaration", "extern_crate_declaration") or child.type in _PATHS:
            yield child
            continue
        yield from _live_nodes(child)


def _is_cfg_test(attribute: Node) -> bool:
    text = b"".join((attribute.text or b"").split())
    return text.startswith(b"#[cfg(") and b"test" in text.split(b"(", 1)[1].split(b",")[0] \
        and not text.startswith(b"#[cfg(not(")


def _referenced_crate(node: Node) -> str | None:
    if node.type == "extern_crate_declaration":
        name = node.child_by_field_name("name")
        return name.text.decode() if name is not None and name.text else None
    if node.type == "use_declaration":
        argument = node.child_by_field_name("argument")
        return _leftmost(argument) if argument is not None else None
    return _leftmost(node)


def _leftmost(node: Node) -> str | None:
    while node.type in _PATHS or node.type in ("use_as_clause", "use_wildcard", "scoped_use_list"):
        inner = node.child_by_field_name("path")
        if inner is None:
            inner = node.named_children[0] if node.named_children else None
        if inner is None:
            return None
        node = inner
    return node.text.decode() if node.type == "identifier" and node.text else None


def _statement(node: Node) -> Node:
    while node.parent is not None and node.parent.type != "source_file" and not node.type.endswith(
            ("_declaration", "_statement", "_item", "_expression_statement")):
        node = node.parent
    return node
