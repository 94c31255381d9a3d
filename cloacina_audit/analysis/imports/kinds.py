"""When does an import statement run? Read from the syntax tree, never by executing.

- ``module``: at import time (module body, class bodies, try/except, plain ``if``);
- ``function``: deferred until a function or method is called;
- ``type_checking``: under ``if TYPE_CHECKING:``, never at run time;
- ``lazy``: a PEP 810 ``lazy import`` / ``lazy from``, which runs on first use.
  It breaks contracts like a module-level import (the PEP lets static tools
  treat it as one); recognised from the line, so any Python's check sees it.

Only files on violation chains are classified, but on a large graph those can
be megabytes of source, so the line -> kind maps are cached by content hash, as
signed entries that are verified before use (signed_cache.py).
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from cloacina_audit.model.report import ImportKind
from cloacina_audit.system.signed_cache import cache_key, read_signed, write_signed

#: 2: entries are signed (signed_cache.py) and name the content's sha256.
_CACHE_FORMAT = 2
_CACHED_KINDS = ("module", "function", "type_checking")
#: Larger files are not parsed (ast.parse of a 50 MB generated module takes
#: gigabytes): their imports are all taken as module-level, which can only
#: make a contract stricter, never hide a violation.
MAX_CLASSIFIED_BYTES = 5_000_000


def _is_type_checking_test(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    if isinstance(test, ast.Attribute):
        return test.attr == "TYPE_CHECKING"
    return False


#: Statements that hold statements (the others cannot hold an import): walking only
#: these skips most of a file's statements.
_COMPOUND: tuple[type[ast.stmt], ...] = tuple(
    getattr(ast, name) for name in (
        "If", "For", "AsyncFor", "While", "With", "AsyncWith", "Try", "TryStar", "ClassDef",
        "Match",
    ) if hasattr(ast, name)
)


def _child_blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists nested in a compound statement (bodies, branches, handlers)."""
    blocks = [getattr(node, name, None) for name in ("body", "orelse", "finalbody")]
    blocks += [handler.body for handler in getattr(node, "handlers", [])]
    blocks += [case.body for case in getattr(node, "cases", [])]
    return [block for block in blocks if isinstance(block, list)]


def classify_source(source: bytes) -> dict[int, ImportKind]:
    """Map each line of an import statement in ``source`` to its kind.

    Walks statements only (imports cannot hide inside expressions), which is
    an order of magnitude cheaper than visiting every node.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    kinds: dict[int, ImportKind] = {}
    pending: list[tuple[list[ast.stmt], ImportKind]] = [(tree.body, "module")]
    while pending:
        block, kind = pending.pop()
        for node in block:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                    kinds[line] = kind
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                pending.append((node.body, "type_checking" if kind == "type_checking" else "function"))
            elif isinstance(node, ast.If) and _is_type_checking_test(node.test):
                pending.append((node.body, "type_checking"))
                pending.append((node.orelse, kind))
            elif isinstance(node, _COMPOUND):
                pending += [(child, kind) for child in _child_blocks(node)]
    return kinds


def _starts_at_module_level(line: bytes) -> bool:
    """An import statement that starts in column 0 runs at import time.

    Statements in a function or under ``if TYPE_CHECKING:`` are indented, unless
    they share the line with their ``def``/``if`` header, which does not start
    with ``import``/``from``. This spares parsing the file for most chains.
    """
    return line.startswith((b"import ", b"from "))


class ImportKinds:
    """Classifies import lines, caching each file's map under ``cache_dir`` by content.

    A file is read once and parsed at most once, and only when a line asked about
    is indented (see ``_starts_at_module_level``).
    """

    def __init__(self, cache_dir: Path | None) -> None:
        self._root = cache_dir
        self._directory = cache_dir / "kinds" if cache_dir else None
        self._lines: dict[Path, list[bytes]] = {}
        self._memory: dict[Path, dict[int, ImportKind]] = {}

    def _line(self, path: Path, line: int) -> bytes:
        if path not in self._lines:
            try:
                self._lines[path] = path.read_bytes().split(b"\n")
            except OSError:
                self._lines[path] = []
        lines = self._lines[path]
        return lines[line - 1] if 0 < line <= len(lines) else b""

    def known_without_parsing(self, path: Path | None, line: int) -> ImportKind | None:
        """The kind of ``line`` when its text alone says it (a statement in column 0),
        else None: only the syntax tree tells."""
        if path is None:
            return "module"
        text = self._line(path, line)
        if text.startswith((b"lazy import ", b"lazy from ")):
            return "lazy"  # PEP 810: module level only; a Python before 3.15 cannot parse it
        if _starts_at_module_level(text):
            return "module"
        return None

    def of_line(self, path: Path | None, line: int) -> ImportKind:
        known = self.known_without_parsing(path, line)
        if known is not None or path is None:
            return known or "module"
        if path not in self._memory:
            self._memory[path] = self._classify(b"\n".join(self._lines[path]))
        return self._memory[path].get(line, "module")

    def _classify(self, source: bytes) -> dict[int, ImportKind]:
        if len(source) > MAX_CLASSIFIED_BYTES:
            return {}
        digest = hashlib.sha256(source).hexdigest()
        entry = self._directory / f"{_CACHE_FORMAT}-{digest}.json" if self._directory else None
        key = cache_key(self._root) if self._root else None
        cached = _valid_entry(read_signed(entry, key), digest) if entry else None
        if cached is not None:
            return cached
        kinds = classify_source(source)
        if entry is not None:
            try:
                # The entry names the content it describes: a verified entry moved
                # to another file's name is still refused.
                write_signed(entry, {"sha256": digest, "kinds": kinds}, key)
            except OSError:
                pass  # a read-only cache only costs speed
        return kinds


def _valid_entry(document: object, digest: str) -> dict[int, ImportKind] | None:
    """The line -> kind map of a verified entry, if it has exactly the expected shape."""
    if not isinstance(document, dict) or document.get("sha256") != digest:
        return None
    kinds = document.get("kinds")
    if not isinstance(kinds, dict):
        return None
    valid: dict[int, ImportKind] = {}
    for line, kind in kinds.items():
        if not (isinstance(line, str) and line.isdigit() and kind in _CACHED_KINDS):
            return None
        valid[int(line)] = kind
    return valid
