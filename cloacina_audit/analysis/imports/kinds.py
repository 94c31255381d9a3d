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
parsed, as before. What was learnt of a file (its headers, the parts parsed) is
cached by the file's content hash, as signed entries that are verified before use
(signed_cache.py), written once per file by ``ImportKinds.save``.
"""

from __future__ import annotations

import ast
import bisect
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from cloacina_audit.model.report import ImportKind
from cloacina_audit.system.signed_cache import cache_key, read_signed, write_signed

#: 2: entries are signed (signed_cache.py) and name the content's sha256.
#: 3: one entry per file: its headers and the parts parsed (see ``_segment``).
_CACHE_FORMAT = 3
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


@dataclass
class _FileKinds:
    """What is known of one file's kinds: its headers and the parts parsed so far."""

    digest: str
    #: Top-level header lines; None: not trusted (or the file is too large to parse).
    headers: list[int] | None
    #: First line of a part -> kinds of its lines, numbered in the file.
    parts: dict[int, dict[int, ImportKind]] = field(default_factory=dict)
    #: The whole file's kinds, once it had to be parsed whole.
    whole: dict[int, ImportKind] | None = None


class ImportKinds:
    """Classifies import lines, caching what is learnt of each file under ``cache_dir``
    by its content: one entry per file, holding its headers and the parts parsed.

    A file is read once, and parsed only in the parts around lines asked about that
    are indented (see ``_starts_at_module_level`` and ``_segment``).
    """

    def __init__(self, cache_dir: Path | None) -> None:
        self._root = cache_dir
        self._directory = cache_dir / "kinds" if cache_dir else None
        self._key = cache_key(cache_dir) if cache_dir else None
        self._lines: dict[Path, list[bytes]] = {}
        self._files: dict[Path, _FileKinds] = {}
        #: Entries learnt more of since the last ``save``, by digest.
        self._unsaved: dict[str, _FileKinds] = {}

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
        lines = self._lines[path]
        state = self._state(path, lines)
        if state.whole is not None:
            return state.whole.get(line, "module")
        if state.headers is not None:
            first, end = _segment(state.headers, lines, line)
            if first not in state.parts:
                relative = _parse(b"\n".join(lines[first - 1:end - 1]))
                state.parts[first] = {n + first - 1: kind for n, kind in relative.items()}
                self._store(state)
            if line in state.parts[first]:
                return state.parts[first][line]
        state.whole = _parse(b"\n".join(lines))
        self._store(state)
        return state.whole.get(line, "module")

    def _state(self, path: Path, lines: list[bytes]) -> _FileKinds:
        if path not in self._files:
            source = b"\n".join(lines)
            digest = hashlib.sha256(source).hexdigest()
            cached = _valid_entry(read_signed(self._entry(digest), self._key), digest) \
                if self._directory else None
            if cached is None:
                headers = _header_lines(source) if len(source) <= MAX_CLASSIFIED_BYTES else None
                cached = _FileKinds(digest, headers)
                if headers is None:
                    cached.whole = _parse(source)
                    self._store(cached)
            self._files[path] = cached
        return self._files[path]

    def _entry(self, digest: str) -> Path:
        assert self._directory is not None
        return self._directory / f"{_CACHE_FORMAT}-{digest}.json"

    def _store(self, state: _FileKinds) -> None:
        if self._directory is not None:
            self._unsaved[state.digest] = state

    def save(self) -> None:
        """Write what was learnt to the cache: once per file, however many of its parts
        were parsed (an entry rewritten per part cost more than the parsing)."""
        for state in self._unsaved.values():
            document = {
                "sha256": state.digest,
                "headers": state.headers,
                "parts": {str(first): kinds for first, kinds in state.parts.items()},
                "whole": state.whole,
            }
            try:
                # The entry names the content it describes: a verified entry moved
                # to another file's name is still refused.
                write_signed(self._entry(state.digest), document, self._key)
            except OSError:
                pass  # a read-only cache only costs speed
        self._unsaved.clear()


def _parse(source: bytes) -> dict[int, ImportKind]:
    return classify_source(source) if len(source) <= MAX_CLASSIFIED_BYTES else {}


def _valid_kinds(kinds: object) -> dict[int, ImportKind] | None:
    if not isinstance(kinds, dict):
        return None
    valid: dict[int, ImportKind] = {}
    for line, kind in kinds.items():
        if not (isinstance(line, str) and line.isdigit() and kind in _CACHED_KINDS):
            return None
        valid[int(line)] = kind
    return valid


def _valid_entry(document: object, digest: str) -> _FileKinds | None:
    """What a verified entry knows of the file, if it has exactly the expected shape."""
    if not isinstance(document, dict) or document.get("sha256") != digest:
        return None
    headers, parts, whole = document.get("headers"), document.get("parts"), document.get("whole")
    if headers is not None and not (
        isinstance(headers, list) and all(type(h) is int for h in headers)
    ):
        return None
    if not isinstance(parts, dict) or not all(isinstance(k, str) and k.isdigit() for k in parts):
        return None
    state = _FileKinds(digest, headers)
    for first, kinds in parts.items():
        valid = _valid_kinds(kinds)
        if valid is None:
            return None
        state.parts[int(first)] = valid
    if whole is not None:
        state.whole = _valid_kinds(whole)
        if state.whole is None:
            return None
    if headers is None and state.whole is None:
        return None
    return state
