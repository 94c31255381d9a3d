"""How Python binds names, as far as reading a module can tell: the part of
:mod:`.symbol_uses` that knows scopes and control flow, not what counts as a use.

Statements are walked in order. A class body has names of its own, which its
methods do not see. Function bodies are walked after the enclosing scope, as
they run after it, seeing every path a name of the enclosing scope was ever
bound to. Where control flow branches, a name stands for a module afterwards
when it does on any branch.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


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
    #: For a class body: the scope its methods see (a class's names are not theirs).
    outer: _Scope | None = None

    def for_functions(self) -> _Scope:
        return self.outer or self


class ScopeTracker(ast.NodeVisitor):
    """Tracks which local names stand for which dotted paths; subclasses say what a
    path an expression stands for is (:meth:`_resolve`) and what to report."""

    def __init__(self) -> None:
        self.scope = _Scope()
        self.deferred: list[tuple[ast.AST, _Scope, int]] = []
        self.in_function = False
        self.type_checking = 0

    def visit_in_order(self, tree: ast.Module) -> None:
        self.visit(tree)
        while self.deferred:
            node, enclosing, type_checking = self.deferred.pop(0)
            self._visit_function_body(node, enclosing, type_checking)

    def _resolve(self, node: ast.AST) -> str | None:
        raise NotImplementedError

    def _kind(self) -> str:
        if self.type_checking:
            return "type_checking"
        return "function" if self.in_function else "module"

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

        def body() -> None:
            self._bind_target(node.target, None)
            self._visit_all(node.body)

        self._branches(lambda: None, body)
        self._visit_all(node.orelse)

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
        guarded = _is_type_checking_test(node.test)

        def body() -> None:
            self.type_checking += guarded
            try:
                self._visit_all(node.body)
            finally:
                self.type_checking -= guarded

        self._branches(body, lambda: self._visit_all(node.orelse))

    def visit_Try(self, node: ast.Try) -> None:
        def handler(part: ast.ExceptHandler) -> Callable[[], None]:
            def run() -> None:
                if part.type is not None:
                    self.visit(part.type)
                if part.name:
                    self._bind(part.name, None)
                self._visit_all(part.body)
            return run

        self._branches(
            lambda: self._visit_all(node.body + node.orelse),
            *(handler(part) for part in node.handlers),
        )
        self._visit_all(node.finalbody)

    visit_TryStar = visit_Try

    def visit_While(self, node: ast.While) -> None:
        self.visit(node.test)
        self._branches(lambda: None, lambda: self._visit_all(node.body))
        self._visit_all(node.orelse)

    def visit_Match(self, node: ast.Match) -> None:
        self.visit(node.subject)

        def case(part: ast.match_case) -> Callable[[], None]:
            def run() -> None:
                for captured in ast.walk(part.pattern):
                    name = getattr(captured, "name", None) or getattr(captured, "rest", None)
                    if isinstance(name, str):
                        self._bind(name, None)
                if part.guard is not None:
                    self.visit(part.guard)
                self._visit_all(part.body)
            return run

        self._branches(lambda: None, *(case(part) for part in node.cases))

    def _branches(self, *branches: Callable[[], None]) -> None:
        """Run each branch from the same bindings; then keep, per name, a module
        path any branch bound it to (else what the last binding was)."""
        before = self.scope.bindings
        outcomes = []
        for branch in branches:
            self.scope.bindings = dict(before)
            branch()
            outcomes.append(self.scope.bindings)
        merged: dict[str, str | None] = {}
        for bindings in outcomes:
            for name, dotted in bindings.items():
                if merged.get(name) is None:
                    merged[name] = dotted
        self.scope.bindings = merged

    def _visit_all(self, statements: Iterable[ast.AST]) -> None:
        for statement in statements:
            self.visit(statement)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(expression)
        outer = self.scope
        self.scope = _Scope(
            bindings=dict(outer.bindings),
            ever=dict(outer.ever),
            star_lines=outer.star_lines,
            outer=outer.for_functions(),
        )
        try:
            self._visit_all(node.body)
        finally:
            self.scope = outer
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
        self.deferred.append((node, self.scope.for_functions(), self.type_checking))

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
