"""Import statements whose failure cannot fail the import of their module: under a
``try:`` that catches ImportError, in its fallback handler, or behind a platform test
that is false on the platform audited. Read from the syntax tree; nothing runs."""

from __future__ import annotations

import ast
import sys

_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def optional_import_lines(source: bytes, platform: str = sys.platform) -> set[int]:
    """Lines of import statements whose failure cannot fail the import of the module.

    - inside a ``try:`` whose handlers catch ImportError (or any exception);
    - under an ``if`` on the platform that is false on ``platform`` (``sys.platform ==
      "emscripten"``, ``os.name == "nt"``, ``sys.platform.startswith("win")``), or in
      the ``else`` of one that is true.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    skipped: list[ast.stmt] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            skipped += node.body
        elif isinstance(node, ast.If):
            taken = _platform_test(node.test, platform)
            if taken is not None:
                skipped += node.orelse if taken else node.body
    lines: set[int] = set()
    for statement in skipped:
        for inner in ast.walk(statement):
            if isinstance(inner, (ast.Import, ast.ImportFrom)):
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def fallback_import_lines(source: bytes) -> dict[int, frozenset[str]]:
    """Lines of imports in an ``except ImportError:`` handler, each with the top-level
    names its ``try:`` body imports: the handler runs only when one of those fails
    (``try: import threading`` / ``except ImportError: import dummy_threading``).
    A relative import in the body stands as ``""`` (the module's own package)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found: dict[int, frozenset[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        handlers = [h for h in node.handlers if _catches_import_error(h)]
        if not handlers:
            continue
        tried = frozenset(
            "" if isinstance(inner, ast.ImportFrom) and inner.level else name.split(".")[0]
            for statement in node.body
            for inner in ast.walk(statement)
            if isinstance(inner, (ast.Import, ast.ImportFrom))
            for name in ([a.name for a in inner.names] if isinstance(inner, ast.Import)
                         else [inner.module or ""])
        )
        for handler in handlers:
            for statement in handler.body:
                for inner in ast.walk(statement):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        for line in range(inner.lineno, (inner.end_lineno or inner.lineno) + 1):
                            found[line] = tried
    return found


def _platform_test(test: ast.expr, platform: str) -> bool | None:
    """The value of a simple platform test on ``platform``, or None when it is not one."""
    values = {"sys.platform": platform, "os.name": "nt" if platform == "win32" else "posix"}
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _platform_test(test.operand, platform)
        return None if inner is None else not inner
    if (
        isinstance(test, ast.Compare) and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Eq, ast.NotEq))
        and isinstance(test.comparators[0], ast.Constant)
        and ast.unparse(test.left) in values
    ):
        equal = values[ast.unparse(test.left)] == test.comparators[0].value
        return equal if isinstance(test.ops[0], ast.Eq) else not equal
    if (
        isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute)
        and test.func.attr == "startswith" and ast.unparse(test.func.value) in values
        and len(test.args) == 1 and isinstance(test.args[0], ast.Constant)
        and isinstance(test.args[0].value, str)
    ):
        return values[ast.unparse(test.func.value)].startswith(test.args[0].value)
    return None


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else "")
        in _IMPORT_ERRORS
        for t in types
    )
