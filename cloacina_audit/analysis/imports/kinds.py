"""When does an import statement run? Read from the syntax tree, never by executing.

- ``module``: at import time (module body, class bodies, try/except, plain ``if``);
- ``function``: deferred until a function or method is called;
- ``type_checking``: under ``if TYPE_CHECKING:``, never at run time;
- ``lazy``: a PEP 810 ``lazy import`` / ``lazy from``, which runs on first use.
  It breaks contracts like a module-level import (the PEP lets static tools
  treat it as one); recognised from the line, so any Python's check sees it.

Only files on violation chains are classified, but on a large graph those can
be megabytes of source (pandas' and sympy's classes), so a line is classified by
parsing only the top-level statements around it: from the ``def``/``class`` header
in column 0 at or before it to the next one (``_segment``). Such a header is a
statement's start unless it is inside a multi-line string, which a lexer of strings
and comments rules out (``_header_lines``); a run of lines that are all complete
statements has the same kinds alone as in its file. When the lexer is not sure (a
quote outside every string it found) or the part does not parse, the whole file is
parsed, as before. The line -> kind maps are cached by the content hash of what was
parsed, as signed entries that are verified before use (signed_cache.py).
"""

from __future__ import annotations

import ast
import bisect
import hashlib
import re
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


#: Strings (a prefix does not change where one ends) and comments: what can hide a
#: header line. PEP 701 f-strings nesting the same quote can mislead it; the check
#: for stray quotes in ``_header_lines`` then sends the file to the whole-file parse.
_STRING_OR_COMMENT = re.compile(
    rb"#[^\n]*"
    rb"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    rb'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    rb"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"
    rb'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"',
    re.S,
)
#: A top-level function or class header (decorators stay with the statement before:
#: they hold no statements, and ``_segment`` drops them from its end).
_HEADER = re.compile(rb"^(?:async[ \t]+def|def|class)[ \t]", re.M)


def _header_lines(source: bytes) -> list[int] | None:
    """The line numbers of top-level ``def``/``class`` headers, or None when a quote is
    left outside every string and comment found (the lexing is then not trusted)."""
    quotes = source.count(b"'") + source.count(b'"')
    spans: list[tuple[int, int]] = []
    for match in _STRING_OR_COMMENT.finditer(source):
        token = match.group()
        quotes -= token.count(b"'") + token.count(b'"')
        if b"\n" in token:
            spans.append(match.span())
    if quotes:
        return None
    headers: list[int] = []
    line, counted, span = 1, 0, 0
    for match in _HEADER.finditer(source):
        offset = match.start()
        while span < len(spans) and spans[span][1] <= offset:
            span += 1
        if span < len(spans) and spans[span][0] < offset:
            continue  # inside a multi-line string
        line += source.count(b"\n", counted, offset)
        counted = offset
        headers.append(line)
    return headers


def _segment(headers: list[int], lines: list[bytes], line: int) -> tuple[int, int]:
    """The lines [first, end) of the top-level statements around ``line``: from the
    header at or before it (else the file's start) to the next header (else its end),
    without the decorators of that next header."""
    index = bisect.bisect_right(headers, line)
    first = headers[index - 1] if index else 1
    end = headers[index] if index < len(headers) else len(lines) + 1
    while end - 1 > line and lines[end - 2].startswith(b"@"):
        end -= 1
    return first, end


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
        self._headers: dict[Path, list[int] | None] = {}
        #: (file, first line of a segment) -> kinds of its lines, numbered in the file.
        self._segments: dict[tuple[Path, int], dict[int, ImportKind]] = {}

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
            segment = self._segment_kinds(path, line)
            if line in segment:
                return segment[line]
            self._memory[path] = self._classify(b"\n".join(self._lines[path]))
        return self._memory[path].get(line, "module")

    def _segment_kinds(self, path: Path, line: int) -> dict[int, ImportKind]:
        """The kinds of the top-level statements around ``line`` (see ``_segment``); empty
        when the file must be parsed whole."""
        lines = self._lines[path]
        if path not in self._headers:
            source = b"\n".join(lines)
            self._headers[path] = (
                _header_lines(source) if len(source) <= MAX_CLASSIFIED_BYTES else None
            )
        headers = self._headers[path]
        if headers is None:
            return {}
        first, end = _segment(headers, lines, line)
        if (path, first) not in self._segments:
            relative = self._classify(b"\n".join(lines[first - 1:end - 1]))
            self._segments[path, first] = {
                number + first - 1: kind for number, kind in relative.items()
            }
        return self._segments[path, first]

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
