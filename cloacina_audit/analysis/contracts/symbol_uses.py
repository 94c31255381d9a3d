"""Where a source module uses names of another module, read from its syntax tree.

A module-level import graph sees ``import cloaca`` and nothing more; whether the
code then reaches ``cloaca.DefaultRunner`` (host only) or ``cloaca.task``
(authoring) is invisible to it. :func:`find_symbol_uses` finds every use of a
listed name:

- ``from cloaca import DefaultRunner`` (with or without ``as``),
- ``cloaca.DefaultRunner`` after ``import cloaca`` / ``import cloaca as c``,
- an alias of the module re-bound by assignment (``x = cloaca; x.DefaultRunner``),
- ``getattr(cloaca, "DefaultRunner")`` with a constant name,
- ``importlib.import_module("cloaca").DefaultRunner``,
- ``from cloaca import *`` followed by a bare ``DefaultRunner`` (both are flagged).

Names are tracked per scope as Python binds them: a class body has names of its
own that its methods do not see; where control flow branches (``if``, ``try``,
loops, ``match``), a name stands for the module afterwards when it does on any
branch, since reading the code cannot tell which branch runs. Nothing is
imported or executed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from cloacina_audit.analysis.contracts.scopes import ScopeTracker

#: How the name was reached, as shown to users.
FORMS = {
    "from-import": "imported by name",
    "import": "imported as a module path",
    "attribute": "used as an attribute of the module",
    "getattr": "fetched with getattr()",
    "star-import": "brought in by a star import",
    "star-use": "used after a star import",
    "submodule-import": "imported as a submodule",
}


@dataclass(frozen=True)
class SymbolUse:
    symbol: str
    line: int
    statement: str
    form: str
    #: ``module`` (runs on import), ``function`` (deferred) or ``type_checking``.
    kind: str


def find_symbol_uses(
    source: str | bytes,
    *,
    module: str,
    symbols: Iterable[str] | None,
    importer: str | None = None,
    is_package: bool = False,
    star_names: Iterable[str] = (),
) -> list[SymbolUse]:
    """Every use of ``module.<symbol>`` in ``source``, in line order.

    ``symbols=None`` finds every name of ``module`` that is used; a bare name after
    ``from module import *`` is then only recognised when it is in ``star_names``.
    ``importer`` (the dotted name of the module being read) is only needed to
    resolve relative imports. Raises SyntaxError for code that does not parse.
    """
    tree = ast.parse(source)
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    finder = _Finder(
        module,
        None if symbols is None else frozenset(symbols),
        importer,
        is_package,
        text.splitlines(),
        frozenset(star_names),
    )
    finder.run(tree)
    return sorted(set(finder.uses), key=lambda u: (u.line, u.symbol, u.form))


class _Finder(ScopeTracker):
    """Reports the uses of the listed names, as :class:`ScopeTracker` walks the module."""

    def __init__(
        self,
        module: str,
        symbols: frozenset[str] | None,
        importer: str | None,
        is_package: bool,
        lines: list[str],
        star_names: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.module = module
        #: None: every name of the module is looked for.
        self.every_name = symbols is None
        symbols = star_names if symbols is None else symbols
        self.targets = {f"{module}.{s}": s for s in symbols}
        #: The names recognised bare after a star import (all listed ones).
        self.symbols = symbols
        self.importer = importer
        self.is_package = is_package
        self.lines = lines
        self.uses: list[SymbolUse] = []
        #: Star-import line -> (its kind, the listed names used through it).
        self._star_imports: dict[int, tuple[str, set[str]]] = {}

    def run(self, tree: ast.Module) -> None:
        self.visit_in_order(tree)
        for line, (kind, symbols) in self._star_imports.items():
            for symbol in symbols:
                self._report(symbol, line, "star-import", kind)

    # reporting

    def _report(self, symbol: str, line: int, form: str, kind: str = "") -> None:
        statement = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        self.uses.append(SymbolUse(symbol, line, statement, form, kind or self._kind()))

    def _target_symbol(self, dotted: str | None) -> str | None:
        """The listed symbol ``dotted`` is, or lies inside (``cloaca.DefaultRunner.x``)."""
        if dotted is None or not dotted.startswith(self.module + "."):
            return None
        head = dotted[len(self.module) + 1 :].split(".")[0]
        return head if self.every_name or head in self.symbols else None

    # resolving expressions to dotted paths

    def _resolve(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in self.scope.bindings:
                return self.scope.bindings[node.id]
            if node.id in self.symbols and self.scope.star_lines:
                return f"{self.module}.{node.id}"
            return None
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            return self._resolve_call(node)
        return None

    def _resolve_call(self, node: ast.Call) -> str | None:
        function = node.func
        name = self._resolve(function) or (function.id if isinstance(function, ast.Name) else None)
        constant = (
            node.args[1].value
            if len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            else None
        )
        if name == "getattr" and constant is not None:
            base = self._resolve(node.args[0])
            return f"{base}.{constant}" if base else None
        first = (
            node.args[0].value
            if node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            else None
        )
        if name == "importlib.import_module" and first:
            return first
        if name == "__import__" and first:
            return first.split(".")[0]
        return None

    # binding names

    # statements that bind the module's names

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            symbol = self._target_symbol(alias.name)
            if symbol:
                self._report(symbol, node.lineno, "submodule-import" if self.every_name else "import")
            if alias.asname:
                self._bind(alias.asname, alias.name)
            else:
                top = alias.name.split(".")[0]
                self._bind(top, top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._absolute(node)
        if base is None:
            return
        symbol = self._target_symbol(base)
        if symbol:
            self._report(symbol, node.lineno, "submodule-import" if self.every_name else "from-import")
            if self.every_name:
                return  # the names imported are the submodule's, not the module's
        for alias in node.names:
            if alias.name == "*":
                if base == self.module:
                    self.scope.star_lines.append(node.lineno)
                    self._star_imports.setdefault(node.lineno, (self._kind(), set()))
                continue
            dotted = f"{base}.{alias.name}"
            symbol = self._target_symbol(dotted)
            if symbol:
                self._report(symbol, node.lineno, "from-import")
            self._bind(alias.asname or alias.name, dotted)

    def _absolute(self, node: ast.ImportFrom) -> str | None:
        if not node.level:
            return node.module
        if self.importer is None:
            return None
        package = self.importer.split(".")
        if not self.is_package:
            package = package[:-1]
        if node.level > 1:
            package = package[: len(package) - (node.level - 1)]
        if not package:
            return None
        return ".".join(package + ([node.module] if node.module else []))

    # expressions

    def visit_Attribute(self, node: ast.Attribute) -> None:
        symbol = self._exact_symbol(self._resolve(node))
        if symbol:
            self._report(symbol, node.lineno, "attribute")
        else:
            self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "getattr":
            symbol = self._exact_symbol(self._resolve(node))
            if symbol:
                self._report(symbol, node.lineno, "getattr")
                for argument in node.args[2:]:
                    self.visit(argument)
                return
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load) or node.id in self.scope.bindings:
            return
        if node.id in self.symbols and self.scope.star_lines:
            self._report(node.id, node.lineno, "star-use")
            for line in self.scope.star_lines:
                self._star_imports[line][1].add(node.id)

    def _exact_symbol(self, dotted: str | None) -> str | None:
        if dotted and self.every_name and dotted.startswith(self.module + "."):
            name = dotted[len(self.module) + 1 :]
            return name if "." not in name else None
        return self.targets.get(dotted) if dotted else None
