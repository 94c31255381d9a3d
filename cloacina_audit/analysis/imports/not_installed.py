"""Nodes for the modules that import statements name but that are not installed.

grimp records an import of a missing module as one of the nearest module it
has; the functions here give such a module a node of its own, named as the
statement names it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from cloacina_audit.analysis.imports.searchpath import SearchPath

if TYPE_CHECKING:
    from cloacina_audit.analysis.imports.graph import PackageGraph


#: ``from X import ...`` (group 1: the dots, group 2: X) and ``import X, Y as z``.
_FROM = re.compile(r"^\s*from\s+(\.*)\s*([\w.]*)\s+import\b")
_IMPORT = re.compile(r"^\s*import\s+(.+)$")


def imported_modules(statement: str, importer: str, is_package: bool) -> list[str]:
    """The absolute names of the modules an import statement surely imports.

    ``import a.b as c, d`` imports ``a.b`` and ``d``; ``from a.b import c`` imports
    ``a.b`` (``c`` may be a module or a name in it: it is not counted). Relative
    forms are resolved against ``importer``.
    """
    if match := _FROM.match(statement):
        dots, name = match.group(1), match.group(2)
        if not dots:
            return [name] if name else []
        parts = importer.split(".")
        base = parts if is_package else parts[:-1]
        base = base[: len(base) - (len(dots) - 1)] if len(dots) > 1 else base
        if not base:
            return []
        return [".".join([*base, name] if name else base)]
    if match := _IMPORT.match(statement):
        names = match.group(1).split("#")[0].strip().strip("()\\").split(",")
        return [n.split(" as ")[0].strip() for n in names if n.split(" as ")[0].strip()]
    return []


_RELATIVE_FROM = re.compile(r"^\s*from\s+\.")


def _is_package(result: PackageGraph, module: str, memo: dict[str, bool]) -> bool:
    if module not in memo:
        file = result.module_file(module)
        memo[module] = file is not None and file.name == "__init__.py"
    return memo[module]


def _is_installed(name: str, search: SearchPath, listings: dict[Path, set[str]]) -> bool:
    """Whether module ``name`` is importable from the search path (a package, a
    namespace directory, a module or an extension module). ``listings`` caches
    directory listings between calls."""
    *parents, last = name.split(".")
    for directory in search.directories:
        base = directory.joinpath(*parents)
        if base not in listings:
            try:
                listings[base] = set(os.listdir(base))
            except OSError:
                listings[base] = set()
        entries = listings[base]
        if last in entries or f"{last}.py" in entries:
            return True  # a package or namespace directory (a file named so is rare), a module
        if any(e.startswith(f"{last}.") and e.endswith((".so", ".pyd")) for e in entries):
            return True
    return False


def missing_modules(modules: Iterable[str], squashed: set[str], search: SearchPath) -> set[str]:
    """The squashed modules that are neither the stdlib nor importable from ``search``."""
    listings: dict[Path, set[str]] = {}
    return {
        module for module in modules
        if module in squashed
        and module.split(".")[0] not in sys.stdlib_module_names
        and not _is_installed(module, search, listings)
    }


def add_not_installed_nodes(result: PackageGraph) -> None:
    """Give the modules that import statements name, but that are not installed, a node.

    grimp records ``from cloacina.database import DAL`` as an import of the squashed
    ``cloacina`` when cloacina is missing, and ``from airflow.providers.k import X``
    as one of ``airflow`` when only airflow.providers is missing. A forbidden
    ``cloacina.database`` must still be seen as imported, and a step must not
    claim that ``airflow`` itself is imported: each such import is moved to a node
    named as the statement names it, recorded in ``not_installed``. Which modules are
    missing is ``result.missing`` (``missing_modules``).
    """
    graph = result.graph
    # grimp's ``modules`` builds a new set on each call: one copy, kept in step below.
    modules = set(graph.modules)
    #: (importer, imported, [(line, statement, where the statement really goes)])
    moves: list[tuple[str, str, list[tuple[int, str, str]]]] = []
    packages: dict[str, bool] = {}
    for module in sorted(modules):
        squashed = graph.is_module_squashed(module)
        if squashed and module not in result.missing:
            continue  # the stdlib, or an installed single-file module: nothing to name
        if not squashed and not graph.find_children(module):
            file = result.module_file(module)
            if file is not None and file.name != "__init__.py":
                continue  # a plain module: statements cannot name a missing module below it
        for importer in sorted(graph.find_modules_that_directly_import(module)):
            targets = []
            for detail in graph.get_import_details(importer=importer, imported=module):
                statement = str(detail["line_contents"])
                relative = _RELATIVE_FROM.match(statement) is not None
                if not relative and f"{module}." not in statement:
                    targets.append((int(detail["line_number"]), statement, module))
                    continue  # names nothing below module: the common case, no parsing
                named = [
                    n for n in imported_modules(statement, importer, relative and _is_package(
                        result, importer, packages))
                    if n.startswith(module + ".") and n not in modules
                ]
                target = max(named, key=lambda n: (len(n), n)) if named else module
                targets.append((int(detail["line_number"]), statement, target))
            if any(target != module for _, _, target in targets):
                moves.append((importer, module, targets))
    if not moves:
        return
    for module in sorted({old for _, old, _ in moves if graph.is_module_squashed(old)}):
        # A squashed module cannot have descendants: it becomes a plain one.
        edges = [(i, graph.get_import_details(importer=i, imported=module))
                 for i in sorted(graph.find_modules_that_directly_import(module))]
        graph.remove_module(module)
        graph.add_module(module)
        for importer, details in edges:
            for detail in details:
                graph.add_import(importer=importer, imported=module,
                                 line_number=detail["line_number"],
                                 line_contents=detail["line_contents"])
    for importer, old, targets in moves:
        graph.remove_import(importer=importer, imported=old)
        for line, statement, target in targets:
            parts = target.split(".")
            for depth in range(len(old.split(".")) + 1, len(parts) + 1):
                name = ".".join(parts[:depth])
                if name not in modules:
                    graph.add_module(name)
                    modules.add(name)
                    result.not_installed.add(name)
            graph.add_import(importer=importer, imported=target, line_number=line,
                             line_contents=statement)
