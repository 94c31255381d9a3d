"""When does an import statement run? Read from the syntax tree, never by executing.

- ``module``: at import time (module body, class bodies, try/except, plain ``if``);
- ``function``: deferred until a function or method is called;
- ``type_checking``: under ``if TYPE_CHECKING:``, never at run time.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

from .models import ImportKind


def _is_type_checking_test(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    if isinstance(test, ast.Attribute):
        return test.attr == "TYPE_CHECKING"
    return False


class _Classifier(ast.NodeVisitor):
    def __init__(self) -> None:
        self.kinds: dict[int, ImportKind] = {}
        self._function_depth = 0
        self._type_checking_depth = 0

    def _current(self) -> ImportKind:
        if self._type_checking_depth:
            return "type_checking"
        if self._function_depth:
            return "function"
        return "module"

    def _record(self, node: ast.stmt) -> None:
        end = getattr(node, "end_lineno", None) or node.lineno
        for line in range(node.lineno, end + 1):
            self.kinds[line] = self._current()

    visit_Import = _record
    visit_ImportFrom = _record

    def _visit_function(self, node: ast.AST) -> None:
        # Decorators and default values run when the def statement runs.
        for expr in getattr(node, "decorator_list", []):
            self.visit(expr)
        self._function_depth += 1
        for child in getattr(node, "body", []):
            self.visit(child)
        self._function_depth -= 1

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking_test(node.test):
            self._type_checking_depth += 1
            for child in node.body:
                self.visit(child)
            self._type_checking_depth -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)


def import_kinds(path: Path) -> dict[int, ImportKind]:
    """Map each line that belongs to an import statement in ``path`` to its kind."""
    try:
        return _kinds_of_source(path.read_bytes())
    except OSError:
        return {}


@lru_cache(maxsize=1024)
def _kinds_of_source(source: bytes) -> dict[int, ImportKind]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    classifier = _Classifier()
    classifier.visit(tree)
    return classifier.kinds


def kind_of_line(path: Path | None, line: int) -> ImportKind:
    if path is None:
        return "module"
    return import_kinds(path).get(line, "module")
