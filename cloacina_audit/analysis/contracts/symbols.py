"""A symbol-level boundary: source modules must not use given names of a module.

A module-level import graph sees ``import cloaca`` and nothing more; whether
the code then reaches ``cloaca.DefaultRunner`` (host only) or ``cloaca.task``
(authoring) is invisible to it. :mod:`.symbol_uses` reads each source module's
syntax tree for every use of a listed name; this module checks those uses as a
contract. Nothing is imported or executed. :class:`ForbiddenSymbolsContract` wraps this
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

import contextlib
import contextvars
import importlib.util
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from rich.markup import escape

from cloacina_audit.adapters.importlinter import InvalidContractOptions, module_expression_to_modules
from cloacina_audit.analysis.contracts.symbol_uses import FORMS, SymbolUse, find_symbol_uses

# --- where source modules live ---------------------------------------------------

ModuleFileResolver = Callable[[str], "Path | None"]

#: Where the modules of the graph being checked live: set for one check, in its context.
_resolver: contextvars.ContextVar[ModuleFileResolver | None] = contextvars.ContextVar(
    "cloacina_audit_module_files", default=None
)


#: Modules the contracts checked in this context located outside the graph.
_outside: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "cloacina_audit_outside_lookups", default=None
)


@contextlib.contextmanager
def module_file_resolver(resolver: ModuleFileResolver | None) -> Iterator[set[str]]:
    """Tell the contracts checked in this block where module files are (cloacina-audit
    passes its graph's roots); afterwards, whatever was told before.

    Without one (lint-imports), a top-level package is located with
    ``importlib.util.find_spec``, which for a top-level name only searches ``sys.path``
    and runs no package code. The set it yields collects the modules that were
    looked up that way: a verdict that read them depends on more than the graph.
    """
    outside: set[str] = set()
    token = _resolver.set(resolver)
    outside_token = _outside.set(outside)
    try:
        yield outside
    finally:
        _outside.reset(outside_token)
        _resolver.reset(token)


def find_module_file(module: str) -> Path | None:
    resolver = _resolver.get()
    if resolver is not None:
        found = resolver(module)
        if found is not None:
            return found
    outside = _outside.get()
    if outside is not None:
        outside.add(module)
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
