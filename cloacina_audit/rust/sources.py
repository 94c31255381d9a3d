"""Paths into forbidden crates in a package's own Rust sources, found with tree-sitter.

``use cloacina::…``, a path such as ``cloacina::runtime::Runner`` in code, and
``extern crate cloacina``; items under ``#[cfg(test)]`` do not count (they build
only for tests), and only the library's sources are read (src/, not tests/,
examples/ or benches/). Nothing is compiled and no macro is expanded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tree_sitter_rust
from tree_sitter import Language, Node, Parser

_LANGUAGE = Language(tree_sitter_rust.language())


@dataclass(frozen=True)
class PathUse:
    file: Path
    line: int
    #: The crate the path starts at, and the path as written (``cloacina::runtime::Runner``).
    crate: str
    path: str
    #: The statement or expression line as written.
    statement: str


def forbidden_paths(src: Path, crates: set[str]) -> list[PathUse]:
    """Every use of ``crates`` (their Rust names: ``-`` becomes ``_``) in ``src``'s .rs files."""
    names = {c.replace("-", "_") for c in crates}
    found: list[PathUse] = []
    parser = Parser(_LANGUAGE)
    for file in sorted(src.rglob("*.rs")):
        source = file.read_bytes()
        tree = parser.parse(source)
        lines = source.decode("utf-8", "replace").splitlines()
        # `use cloacina_workflow_plugin as cloacina;` makes `cloacina::…` that crate's paths.
        shadowed = _aliases(tree.root_node, names)
        _walk(tree.root_node, file, names - shadowed, lines, found)
    return sorted(set(found), key=lambda u: (str(u.file), u.line, u.path))


def _walk(node: Node, file: Path, names: set[str], lines: list[str], found: list[PathUse]) -> None:
    children = node.children
    for index, child in enumerate(children):
        if _test_only(children, index):
            continue
        kind = child.type
        if kind == "use_declaration":
            _record(child, child.child_by_field_name("argument"), file, names, lines, found)
            continue
        if kind == "extern_crate_declaration":
            name = child.child_by_field_name("name")
            if name is not None and _text(name) in names:
                _append(found, file, child, _text(name), _text(name), lines)
            continue
        if kind == "scoped_identifier" and child.parent is not None and \
                child.parent.type != "scoped_identifier":
            _record(child, child, file, names, lines, found)
            continue
        _walk(child, file, names, lines, found)


def _aliases(root: Node, names: set[str]) -> set[str]:
    """Forbidden names that this file binds to another crate (``use other as cloacina``)."""
    shadowed = set()
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type in ("use_as_clause", "extern_crate_declaration"):
            alias = node.child_by_field_name("alias")
            path = node.child_by_field_name("path") or node.child_by_field_name("name")
            if alias is not None and path is not None and _text(alias) in names:
                if _text(path).lstrip(":").split("::", 1)[0] not in names:
                    shadowed.add(_text(alias))
    return shadowed


def _record(statement: Node, path: Node | None, file: Path, names: set[str], lines: list[str],
            found: list[PathUse]) -> None:
    if path is not None and path.type == "use_as_clause":
        # `use cloacina as engine;`: the crate is the clause's path, not its text.
        path = path.child_by_field_name("path")
    if path is None:
        return
    text = _text(path)
    root = text.lstrip(":").split("::", 1)[0].split("{", 1)[0].strip()
    if root in names:
        _append(found, file, statement, root, text, lines)


def _append(found: list[PathUse], file: Path, node: Node, crate: str, path: str,
            lines: list[str]) -> None:
    line = node.start_point[0] + 1
    found.append(PathUse(file=file, line=line, crate=crate, path=" ".join(path.split()),
                         statement=lines[line - 1].strip() if line <= len(lines) else path))


def _test_only(siblings: list[Node], index: int) -> bool:
    """Whether the item at ``index`` follows a ``#[cfg(test)]`` attribute."""
    position = index - 1
    while position >= 0 and siblings[position].type in ("attribute_item", "line_comment",
                                                         "block_comment"):
        if siblings[position].type == "attribute_item" and \
                "".join(_text(siblings[position]).split()) == "#[cfg(test)]":
            return True
        position -= 1
    return False


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""
