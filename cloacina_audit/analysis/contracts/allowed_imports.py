"""An allow-list boundary: source modules import only the standard library and listed packages.

import-linter's ``forbidden`` contract names what must not be reached; some
boundaries are the other way round. A packaged Cloacina workflow runs where only
its own modules, ``vendor/``, the standard library and the server's ``cloaca``
can be imported; dagster-pipes promises the standard library only. This contract
follows every import from the source modules, transitively through the packages
it allows (a vendored package's own imports must be satisfiable too), and reports
each import of anything else with the chain that reaches it (file:line).

Usable from plain ``lint-imports``::

    [importlinter]
    root_packages = my_workflow
    include_external_packages = True
    contract_types =
        allowed_imports: cloacina_audit.analysis.contracts.allowed_imports.AllowedImportsContract

    [importlinter:contract:stdlib-only]
    name = my_workflow imports only the standard library and cloaca
    type = allowed_imports
    source_modules = my_workflow
    allowed_modules = cloaca
    allowed_distributions = requests

Not counted: an import guarded by ``try: ... except ImportError:`` (its failure is
handled where it happens; one such statement makes the module optional in that
file), a fallback import in such a handler when everything its ``try:`` body
imports is allowed (the handler never runs), and one under a platform test that
is false where the code runs (``if sys.platform == "emscripten":``, option ``platform``). The standard library is ``sys.stdlib_module_names`` of
the Python running the check: a module added or removed in another version
(``tomllib`` is 3.11+, ``distutils`` is gone in 3.12) is judged by this one.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from rich.markup import escape

from cloacina_audit.adapters.importlinter import module_expression_to_modules
from cloacina_audit.analysis.contracts.guarded_imports import fallback_import_lines, optional_import_lines
from cloacina_audit.analysis.contracts.symbols import find_module_file
from cloacina_audit.analysis.imports.kinds import classify_source
from cloacina_audit.model.names import canonical_name

_DEFAULT_REASON = "neither the standard library nor allowed; from {distribution}"

#: How each kind of import statement is labelled in lint-imports' output.
_LABELS = {"function": "deferred: runs when the function is called",
           "type_checking": "under TYPE_CHECKING"}


def distribution_import_names(names: Iterable[str]) -> dict[str, list[str]]:
    """Top-level import names of the given distributions installed on ``sys.path``,
    from their ``top_level.txt`` or RECORD. Nothing is imported."""
    wanted = {canonical_name(n) for n in names}
    found: dict[str, list[str]] = {}
    for dist in metadata.distributions():
        name = canonical_name(dist.metadata["Name"] or "")
        if name in wanted and name not in found:
            found[name] = sorted(_top_levels(dist))
    return found


def providers() -> dict[str, list[tuple[str, str]]]:
    """Import name -> ``(distribution, version)`` of what is installed on ``sys.path``."""
    provided: dict[str, list[tuple[str, str]]] = {}
    for dist in metadata.distributions():
        entry = (str(dist.metadata["Name"]), str(dist.version))
        for top in _top_levels(dist):
            if entry not in provided.setdefault(top, []):
                provided[top].append(entry)
    return provided


def _top_levels(dist: metadata.Distribution) -> set[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    tops = set()
    for file in dist.files or []:
        parts = file.parts
        if len(parts) > 1:
            name = parts[0]  # a package directory (or .dist-info, .data: not identifiers)
        elif parts and parts[0].endswith((".py", ".so", ".pyd")):
            name = parts[0].split(".", 1)[0]  # a single-file module
        else:
            continue
        if name.isidentifier() and name != "__pycache__":
            tops.add(name)
    return tops


class AllowedImportsContract(Contract):
    """Source modules import only the standard library and what is listed, transitively.

    Configuration options:
        - source_modules:        module expressions whose imports are followed (as
                                 packages: their descendants too). Their own top-level
                                 packages are allowed.
        - allowed_modules:       top-level packages or modules that may be imported.
                                 (Optional.)
        - allowed_distributions: distributions whose import packages may be imported,
                                 read from the installed metadata. (Optional.)
        - allow_stdlib:          whether the standard library is allowed (default True).
        - platform:              ``sys.platform`` where the code runs, for platform
                                 tests around imports (default: this Python's).
        - unlisted_import_reason: why an import breaks the contract; ``{distribution}``
                                 stands for what provides it here ("requests 2.32.3", or
                                 "the distribution that provides 'requests'"). (Optional.)
        - broken_contract_guidance: shown after the violations. (Optional.)
    """

    type_name = "allowed_imports"

    source_modules = fields.SetField(subfield=fields.ModuleExpressionField())
    allowed_modules = fields.ListField(subfield=fields.StringField(), required=False)
    allowed_distributions = fields.ListField(subfield=fields.StringField(), required=False)
    allow_stdlib = fields.BooleanField(default=True)
    platform = fields.StringField(required=False)
    unlisted_import_reason = fields.StringField(required=False)
    broken_contract_guidance = fields.TextField(required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        sources = self._source_modules(graph)
        allowed = self._allowed_top_levels(sources)
        output.verbose_print(verbose, f"Allowed top-level names: {', '.join(sorted(allowed))}")
        parents: dict[str, str | None] = {module: None for module in sources}
        pending = deque(sorted(sources))
        offending: dict[tuple[str, str], list[dict[str, Any]]] = {}
        optional = _OptionalLines(str(self.platform or sys.platform))
        while pending:
            importer = pending.popleft()
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                top = imported.split(".")[0]
                details = _details(graph, importer, imported)
                # One optional statement (try/except ImportError) means the module is
                # written for the import's absence; later uses sit behind a flag.
                if any(optional.covers(importer, d["line_number"]) for d in details):
                    continue
                if details and all(
                    optional.fallback_for(importer, d["line_number"]) <= allowed | {""}
                    for d in details
                ):
                    continue  # a fallback whose try: body is satisfied never runs
                if top in allowed:
                    if imported not in parents and not graph.is_module_squashed(imported):
                        parents[imported] = importer
                        pending.append(imported)
                    continue
                link = {"importer": importer, "imported": imported,
                        "line_numbers": tuple(d["line_number"] for d in details),
                        "line_contents": details[0]["line_contents"] if details else ""}
                key = (top, importer)
                if key not in offending:
                    offending[key] = _path_to(importer, parents, graph) + [link]
            # Importing a.b runs a/__init__.py first (a graph without implicit edges
            # does not say so).
            parent = importer.rsplit(".", 1)[0] if "." in importer else None
            if parent and parent not in parents and parent in graph.modules:
                parents[parent] = importer
                pending.append(parent)
        invalid = self._invalid(offending)
        warnings = []
        if str(self.session_options.get("include_external_packages", "")).lower() != "true":
            warnings.append("include_external_packages is not True: imports of packages "
                            "outside the root packages are not in the graph, nor checked")
        return ContractCheck(kept=not invalid, warnings=warnings, metadata={"invalid_chains": invalid})

    def _invalid(self, offending: dict[tuple[str, str], list[dict[str, Any]]]) -> list[dict]:
        provided = providers() if offending else {}
        by_top: dict[str, list[list[dict[str, Any]]]] = {}
        for (top, _importer), chain in sorted(offending.items()):
            by_top.setdefault(top, []).append(chain)
        invalid = []
        for top, chains in by_top.items():
            why = str(self.unlisted_import_reason or _DEFAULT_REASON).replace(
                "{distribution}", _distribution(top, provided.get(top, [])))
            for chain in chains:
                deferred = any(_link_kind(link) == "function" for link in chain)
                chain[-1]["why"] = f"deferred, {why}" if deferred else why
            invalid.append({"imported": top, "why": why, "chains": chains})
        return invalid

    def _source_modules(self, graph: ImportGraph) -> set[str]:
        found: set[str] = set()
        for expression in self.source_modules:  # type: ignore[attr-defined]
            if not expression.has_wildcard_expression() and expression.expression not in graph.modules:
                raise ValueError(f"Module '{expression.expression}' does not exist.")
            for module in module_expression_to_modules(graph, expression):
                found.add(module.name)
                found.update(graph.find_descendants(module.name))
        return {m for m in found if not graph.is_module_squashed(m)}

    def _allowed_top_levels(self, sources: set[str]) -> set[str]:
        allowed = {m.split(".")[0] for m in sources}
        allowed.update(str(m).split(".")[0] for m in self.allowed_modules or [])  # type: ignore[union-attr]
        if self.allow_stdlib:
            allowed |= set(sys.stdlib_module_names)
        distributions = [str(d) for d in self.allowed_distributions or []]  # type: ignore[union-attr]
        if distributions:
            found = distribution_import_names(distributions)
            missing = sorted({canonical_name(d) for d in distributions} - set(found))
            if missing:
                raise ValueError(f"allowed_distributions not installed: {', '.join(missing)}")
            allowed.update(top for tops in found.values() for top in tops)
        return allowed

    def render_broken_contract(self, check: ContractCheck) -> None:
        for entry in check.metadata["invalid_chains"]:
            output.print_error(escape(f"{entry['imported']} is not allowed ({entry['why']}):"))
            output.new_line()
            for chain in entry["chains"]:
                for link in chain:
                    path = find_module_file(link["importer"])
                    line = link["line_numbers"][0] if link["line_numbers"] else 0
                    label = _LABELS.get(_link_kind(link), "")
                    where = f"{path}:{line}" if path and line else str(path or link["importer"])
                    output.print_error(
                        escape(f"-   {where}: {link['line_contents']}" + (f"  ({label})" if label else "")),
                        bold=False,
                    )
                output.new_line()
        if self.broken_contract_guidance:
            output.print_error(escape(str(self.broken_contract_guidance)), bold=False)
            output.new_line()


def _distribution(top: str, provided_by: list[tuple[str, str]]) -> str:
    """What provides import name ``top`` here, for the ``{distribution}`` of a reason."""
    if provided_by:
        return ", ".join(f"{name} {version}" for name, version in sorted(provided_by))
    return f"the distribution that provides {top!r}"


def _details(graph: ImportGraph, importer: str, imported: str) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = list(graph.get_import_details(importer=importer, imported=imported))  # type: ignore[arg-type]
    return sorted(details, key=lambda d: (d["line_number"], d["line_contents"]))


def _path_to(module: str, parents: dict[str, str | None], graph: ImportGraph) -> list[dict]:
    """The links from a source module to ``module``, first importer first."""
    links: list[dict[str, Any]] = []
    while (parent := parents.get(module)) is not None:
        details = _details(graph, parent, module)
        implicit = f"(implicit) importing {parent} runs {module.replace('.', '/')}/__init__.py"
        links.append({"importer": parent, "imported": module,
                      "line_numbers": tuple(d["line_number"] for d in details) or (0,),
                      "line_contents": details[0]["line_contents"] if details else implicit})
        module = parent
    return links[::-1]


def _link_kind(link: dict[str, Any]) -> str:
    line = link["line_numbers"][0] if link["line_numbers"] else 0
    return _kind(find_module_file(link["importer"]), line)


def _kind(path: Path | None, line: int) -> str:
    if path is None or not line:
        return "module"
    try:
        return classify_source(path.read_bytes()).get(line, "module")
    except OSError:
        return "module"


class _OptionalLines:
    """Which import lines of a module are optional or fallbacks, read once per file."""

    def __init__(self, platform: str) -> None:
        self._platform = platform
        self._lines: dict[str, tuple[set[int], dict[int, frozenset[str]]]] = {}

    def _read(self, module: str) -> tuple[set[int], dict[int, frozenset[str]]]:
        if module not in self._lines:
            path = find_module_file(module)
            try:
                source = path.read_bytes() if path else b""
            except OSError:
                source = b""
            self._lines[module] = (
                (optional_import_lines(source, self._platform), fallback_import_lines(source))
                if source else (set(), {})
            )
        return self._lines[module]

    def covers(self, module: str, line: int) -> bool:
        return line in self._read(module)[0]

    def fallback_for(self, module: str, line: int) -> frozenset[str]:
        """What the ``try:`` body imports when ``line`` is a fallback import; a name that
        is never allowed otherwise, so the import counts."""
        return self._read(module)[1].get(line, _NOT_A_FALLBACK)


#: Stands for "not a fallback": no top-level name is called this.
_NOT_A_FALLBACK = frozenset({"<not a fallback>"})
