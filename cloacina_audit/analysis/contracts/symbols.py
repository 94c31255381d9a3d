"""A symbol-level boundary: source modules must not use given names of a module.

A module-level import graph sees ``import cloaca`` and nothing more; whether
the code then reaches ``cloaca.DefaultRunner`` (host only) or ``cloaca.task``
(authoring) is invisible to it. This module reads the syntax tree of each
source module and finds every use of a listed name:

- ``from cloaca import DefaultRunner`` (with or without ``as``),
- ``cloaca.DefaultRunner`` after ``import cloaca`` / ``import cloaca as c``,
- an alias of the module re-bound by assignment (``x = cloaca; x.DefaultRunner``),
- ``getattr(cloaca, "DefaultRunner")`` with a constant name,
- ``importlib.import_module("cloaca").DefaultRunner``,
- ``from cloaca import *`` followed by a bare ``DefaultRunner`` (both are flagged).

Nothing is imported or executed. :class:`ForbiddenSymbolsContract` wraps this
as an import-linter contract type, usable from ``lint-imports``::

    [importlinter]
    root_packages = my_workflow
    contract_types =
        forbidden_symbols: cloacina_audit.analysis.contracts.symbols.ForbiddenSymbolsContract

    [importlinter:contract:cloaca-host]
    name = Workflow code must not use the cloaca host surface
    type = forbidden_symbols
    source_modules = my_workflow
    module = cloaca
    forbidden_symbols =
        DefaultRunner
        DatabaseAdmin
    warning_symbols =
        WorkflowBuilder: registers no tasks in a packaged workflow

Each ``*_symbols`` entry is a name, optionally followed by ``: why``. With
``allowed_symbols`` the contract is an allow-list: every name of ``module`` that is
used and not listed breaks it (``unlisted_symbol_reason`` says why); forbidden and
warning names keep their own treatment.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import functools
import importlib.util
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from rich.markup import escape

from cloacina_audit.adapters.importlinter import InvalidContractOptions, module_expression_to_modules

# --- where source modules live ---------------------------------------------------

ModuleFileResolver = Callable[[str], "Path | None"]

#: Where the modules of the graph being checked live: set for one check, in its context.
_resolver: contextvars.ContextVar[ModuleFileResolver | None] = contextvars.ContextVar(
    "cloacina_audit_module_files", default=None
)


@contextlib.contextmanager
def module_file_resolver(resolver: ModuleFileResolver | None) -> Iterator[None]:
    """Tell the contracts checked in this block where module files are (cloacina-audit
    passes its graph's roots); afterwards, whatever was told before.

    Without one (lint-imports), a top-level package is located with
    ``importlib.util.find_spec``, which for a top-level name only searches ``sys.path``
    and runs no package code.
    """
    token = _resolver.set(resolver)
    try:
        yield
    finally:
        _resolver.reset(token)


def find_module_file(module: str) -> Path | None:
    resolver = _resolver.get()
    if resolver is not None:
        found = resolver(module)
        if found is not None:
            return found
    return _find_via_spec(module)


def _find_via_spec(module: str) -> Path | None:
    root, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(root)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            path = Path(location).joinpath(*rest)
            for candidate in (path / "__init__.py", path.with_suffix(".py")):
                if candidate.is_file():
                    return candidate
        return None
    if not rest and spec.origin and spec.origin.endswith(".py"):
        return Path(spec.origin)
    return None


# --- finding uses in a syntax tree -------------------------------------------------

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


def _is_type_checking_test(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


@dataclass
class _Scope:
    #: Local name -> the dotted path it stands for, or None when bound to something else.
    bindings: dict[str, str | None] = field(default_factory=dict)
    #: Every dotted path a name was ever bound to here: function bodies run later,
    #: so they may see any of them.
    ever: dict[str, str] = field(default_factory=dict)
    star_lines: list[int] = field(default_factory=list)


class _Finder(ast.NodeVisitor):
    """Walks statements in order, tracking which local names stand for which dotted paths.

    Function bodies are visited after the enclosing scope, as they run after
    it, seeing the names the enclosing scope bound.
    """

    def __init__(
        self,
        module: str,
        symbols: frozenset[str] | None,
        importer: str | None,
        is_package: bool,
        lines: list[str],
        star_names: frozenset[str] = frozenset(),
    ) -> None:
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
        self.scope = _Scope()
        self.deferred: list[tuple[ast.AST, _Scope, int]] = []
        self.in_function = False
        self.type_checking = 0
        #: Star-import line -> (its kind, the listed names used through it).
        self._star_imports: dict[int, tuple[str, set[str]]] = {}

    def run(self, tree: ast.Module) -> None:
        self.visit(tree)
        while self.deferred:
            node, enclosing, type_checking = self.deferred.pop(0)
            self._visit_function_body(node, enclosing, type_checking)
        for line, (kind, symbols) in self._star_imports.items():
            for symbol in symbols:
                self._report(symbol, line, "star-import", kind)

    # reporting

    def _kind(self) -> str:
        if self.type_checking:
            return "type_checking"
        return "function" if self.in_function else "module"

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

    def _bind(self, name: str, dotted: str | None) -> None:
        self.scope.bindings[name] = dotted
        if dotted is not None:
            self.scope.ever[name] = dotted

    def _bind_target(self, target: ast.AST, value: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, self._resolve(value) if value is not None else None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = (
                value.elts
                if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
                else [None] * len(target.elts)
            )
            for element, element_value in zip(target.elts, values, strict=True):
                self._bind_target(element, element_value)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, None)
        else:
            self.visit(target)  # attribute or subscript targets: their parts are uses

    # statements

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

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._bind_target(target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        self._bind_target(node.target, node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self.visit(node.target)
        self._bind_target(node.target, None)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind_target(node.target, node.value)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._bind_target(node.target, None)
        for statement in node.body + node.orelse:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._bind_target(item.optional_vars, None)
        for statement in node.body:
            self.visit(statement)

    visit_AsyncWith = visit_With

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._bind_target(target, None)

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        if _is_type_checking_test(node.test):
            self.type_checking += 1
            for statement in node.body:
                self.visit(statement)
            self.type_checking -= 1
        else:
            for statement in node.body:
                self.visit(statement)
        for statement in node.orelse:
            self.visit(statement)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(expression)
        for statement in node.body:
            self.visit(statement)
        self._bind(node.name, None)

    def _defer_function(self, node: ast.AST) -> None:
        # Decorators, defaults and annotations run when the def statement runs.
        for expression in getattr(node, "decorator_list", []):
            self.visit(expression)
        arguments = node.args  # type: ignore[attr-defined]
        for default in [*arguments.defaults, *arguments.kw_defaults]:
            if default is not None:
                self.visit(default)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._bind(node.name, None)
        self.deferred.append((node, self.scope, self.type_checking))

    visit_FunctionDef = _defer_function
    visit_AsyncFunctionDef = _defer_function
    visit_Lambda = _defer_function

    def _visit_function_body(self, node: Any, enclosing: _Scope, type_checking: int) -> None:
        scope = _Scope(
            bindings={**enclosing.bindings, **enclosing.ever},
            ever=dict(enclosing.ever),
            star_lines=list(enclosing.star_lines),
        )
        arguments = node.args
        for argument in [
            *arguments.posonlyargs,
            *arguments.args,
            *arguments.kwonlyargs,
            *([arguments.vararg] if arguments.vararg else []),
            *([arguments.kwarg] if arguments.kwarg else []),
        ]:
            scope.bindings[argument.arg] = None
            if argument.annotation is not None:
                self._with_scope(scope, type_checking, functools.partial(self.visit, argument.annotation))
        returns = getattr(node, "returns", None)
        body = node.body if isinstance(node.body, list) else [node.body]
        self._with_scope(
            scope,
            type_checking,
            lambda: [self.visit(part) for part in ([returns] if returns else []) + body],
        )

    def _with_scope(self, scope: _Scope, type_checking: int, action: Callable[[], Any]) -> None:
        saved = (self.scope, self.in_function, self.type_checking)
        self.scope, self.in_function, self.type_checking = scope, True, type_checking
        try:
            action()
        finally:
            self.scope, self.in_function, self.type_checking = saved

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


# --- the contract type ---------------------------------------------------------------


def _parse_entries(entries: Iterable[str]) -> dict[str, str]:
    """``["Name", "Other: why"]`` -> ``{"Name": "", "Other": "why"}``."""
    parsed = {}
    for entry in entries:
        name, _, why = str(entry).partition(":")
        if name.strip():
            parsed[name.strip()] = why.strip()
    return parsed


class ForbiddenSymbolsContract(Contract):
    """Source modules must not use the listed names of ``module``.

    Configuration options:
        - source_modules:    module expressions whose source is read (as packages:
                             their descendants too).
        - module:            the module whose names are checked, e.g. ``cloaca``.
        - forbidden_symbols: names that break the contract (``Name`` or ``Name: why``).
        - warning_symbols:   names that only give a warning (same format). (Optional.)
        - allowed_symbols:   an allow-list: any other name of ``module`` that is used
                             breaks the contract too (forbidden and warning names keep
                             their own message). (Optional.)
        - unlisted_symbol_reason: why a name outside ``allowed_symbols`` breaks it. (Optional.)
        - submodule_import_reason: with ``allowed_symbols``: importing any submodule of
                             ``module`` (``import m.x``, ``from m.x import y``) breaks the
                             contract, for this reason (an extension module has none). (Optional.)
        - follow_imports_within: top-level packages: modules of these that the source
                             modules import (transitively, parent packages included, as
                             Python runs them) are read too. (Optional.)
        - broken_contract_guidance: shown after the violations. (Optional.)

    Imports under ``if TYPE_CHECKING:`` are skipped when the session option
    ``exclude_type_checking_imports`` is true, as import-linter does.
    """

    type_name = "forbidden_symbols"

    source_modules = fields.SetField(subfield=fields.ModuleExpressionField())
    module = fields.StringField()
    forbidden_symbols = fields.ListField(subfield=fields.StringField(), required=False)
    warning_symbols = fields.ListField(subfield=fields.StringField(), required=False)
    allowed_symbols = fields.ListField(subfield=fields.StringField(), required=False)
    unlisted_symbol_reason = fields.StringField(required=False)
    submodule_import_reason = fields.StringField(required=False)
    follow_imports_within = fields.ListField(subfield=fields.StringField(), required=False)
    broken_contract_guidance = fields.TextField(required=False)

    def validate(self) -> None:
        module = str(self.module)
        if not all(part.isidentifier() for part in module.split(".")):
            raise InvalidContractOptions({"module": f"{module!r} is not a module name."})
        if not self._forbidden() and not self._warned() and self._allowed() is None:
            raise InvalidContractOptions(
                {"forbidden_symbols": "Give forbidden_symbols, warning_symbols or allowed_symbols."}
            )

    def _forbidden(self) -> dict[str, str]:
        return _parse_entries(self.forbidden_symbols or [])  # type: ignore[arg-type]

    def _warned(self) -> dict[str, str]:
        return _parse_entries(self.warning_symbols or [])  # type: ignore[arg-type]

    def _allowed(self) -> set[str] | None:
        """The allow-list, or None when the contract has none."""
        if self.allowed_symbols is None:
            return None
        return set(_parse_entries(self.allowed_symbols))  # type: ignore[arg-type]

    def _violation_reason(
        self, use: SymbolUse, forbidden: dict[str, str], warned: dict[str, str],
        allowed: set[str] | None,
    ) -> str | None:
        """Why ``use`` breaks the contract, or None when it does not."""
        if use.symbol in forbidden:
            return forbidden[use.symbol]
        if allowed is None:
            return None
        if use.form == "submodule-import" and self.submodule_import_reason:
            return str(self.submodule_import_reason)
        if use.symbol in warned or use.symbol in allowed:
            return None
        return self._unlisted_reason()

    def _unlisted_reason(self) -> str:
        return str(self.unlisted_symbol_reason or f"not a name of {self.module} this contract allows")

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        forbidden, warned, allowed = self._forbidden(), self._warned(), self._allowed()
        listed = set(forbidden) | set(warned)
        skip_type_checking = (
            str(self.session_options.get("exclude_type_checking_imports", "")).lower() == "true"
        )
        invalid: dict[tuple[str, str], list[dict[str, Any]]] = {}
        warning_uses: list[dict[str, Any]] = []
        warnings: list[str] = []
        for importer in self._source_modules(graph):
            path = find_module_file(importer)
            if path is None and graph.find_children(importer):
                continue  # a namespace package: no file of its own, its modules are read
            if path is None:
                warnings.append(f"{importer}: source file not found, its symbols were not checked")
                continue
            output.verbose_print(verbose, f"Reading {path} for uses of {self.module}...")
            try:
                uses = find_symbol_uses(
                    path.read_bytes(),
                    module=str(self.module),
                    symbols=listed if allowed is None else None,
                    importer=importer,
                    is_package=path.name == "__init__.py",
                    star_names=listed,
                )
            except (SyntaxError, ValueError, OSError) as exc:
                warnings.append(f"{importer}: cannot read {path}: {exc}")
                continue
            for use in uses:
                if skip_type_checking and use.kind == "type_checking":
                    continue
                link = _link(importer, str(self.module), use, path)
                why = self._violation_reason(use, forbidden, warned, allowed)
                if why is not None:
                    invalid.setdefault((link["imported"], importer), []).append(
                        {**link, "why": why})
                elif use.symbol in warned:
                    warning_uses.append(
                        {
                            "module": importer,
                            "symbol": link["imported"],
                            "file": str(path),
                            "line": use.line,
                            "form": use.form,
                            "why": warned[use.symbol],
                        }
                    )
                    why = f": {warned[use.symbol]}" if warned[use.symbol] else ""
                    warnings.append(f"{path}:{use.line}: {importer} uses {link['imported']}{why}")
        invalid_chains = [
            {
                "upstream_module": upstream,
                "downstream_module": downstream,
                "why": links[0]["why"],
                "chains": [[link] for link in links],
            }
            for (upstream, downstream), links in sorted(invalid.items(), key=lambda i: i[0][::-1])
        ]
        return ContractCheck(
            kept=not invalid_chains,
            warnings=warnings,
            metadata={"invalid_chains": invalid_chains, "warning_uses": warning_uses},
        )

    def _source_modules(self, graph: ImportGraph) -> list[str]:
        found: set[str] = set()
        for expression in self.source_modules:  # type: ignore[attr-defined]
            matched = {m.name for m in module_expression_to_modules(graph, expression)}
            if (
                not expression.has_wildcard_expression()
                and expression.expression not in graph.modules
            ):
                raise ValueError(f"Module '{expression.expression}' does not exist.")
            for module in matched:
                found.add(module)
                found.update(graph.find_descendants(module))
        within = {str(name).split(".")[0] for name in self.follow_imports_within or []}  # type: ignore[union-attr]
        if within:
            found = _reached(graph, found, within)
        return sorted(m for m in found if not graph.is_module_squashed(m))

    def render_broken_contract(self, check: ContractCheck) -> None:
        for entry in check.metadata["invalid_chains"]:
            why = f" ({entry['why']})" if entry.get("why") else ""
            # import-linter prints through rich: source text must not be read as markup.
            output.print_error(
                escape(
                    f"{entry['downstream_module']} is not allowed to use "
                    f"{entry['upstream_module']}{why}:"
                )
            )
            output.new_line()
            for chain in entry["chains"]:
                for link in chain:
                    form = FORMS.get(link["form"], link["form"])
                    output.print_error(
                        escape(
                            f"-   {link['file']}:{link['line_numbers'][0]}: "
                            f"{link['line_contents']}  ({form})"
                        ),
                        bold=False,
                    )
            output.new_line()
        guidance = self.broken_contract_guidance
        if guidance:
            output.print_error(escape(str(guidance)), bold=False)
            output.new_line()


def _reached(graph: ImportGraph, starts: set[str], within: set[str]) -> set[str]:
    """``starts`` and the modules of the ``within`` packages they import, transitively;
    importing ``a.b`` runs ``a`` first, so parent packages are reached too."""
    seen = set(starts)
    pending = sorted(starts)
    while pending:
        module = pending.pop()
        following = set(graph.find_modules_directly_imported_by(module))
        if "." in module:
            following.add(module.rsplit(".", 1)[0])
        for other in following - seen:
            if other.split(".")[0] in within and not graph.is_module_squashed(other):
                seen.add(other)
                pending.append(other)
    return seen


def _link(importer: str, module: str, use: SymbolUse, path: Path) -> dict[str, Any]:
    """One use as a chain link: the shape import-linter's own contracts use, plus the file."""
    return {
        "importer": importer,
        "imported": f"{module}.{use.symbol}",
        "line_numbers": (use.line,),
        "line_contents": use.statement,
        "file": str(path),
        "kind": use.kind,
        "form": use.form,
    }
