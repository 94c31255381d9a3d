"""``cloacina-audit check``: static boundary contracts, never running the package."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from .budgets import WHERE as BUDGET_TABLE
from .budgets import parse_budgets
from .config import ImportPolicy, find_importlinter_config
from .contracts import ContractSpec, check_contracts, preset_specs, user_specs
from .discover import SourceTree, Target
from .errors import AuditError, NothingToCheck
from .graph import PackageGraph, build_package_graph
from .loader_rules import resolve_entry_module, vendored_names
from .models import ContractResult, PackageAudit
from .searchpath import SearchPath, environment_directories

DEFAULT_PRESET = "cloacina"


@dataclass
class CheckOptions:
    #: Interpreter whose environment provides the third-party packages (default: ours).
    python: str | None = None
    #: An import-linter configuration to use instead of the one found in the project.
    config_file: Path | None = None
    #: Overrides ``[tool.cloacina-audit] preset``; "none" disables presets.
    preset: str | None = None
    type_checking_imports: ImportPolicy | None = None
    deferred_imports: ImportPolicy | None = None
    cache_dir: Path | None = None


def search_path_for(target: Target, python: str | None) -> SearchPath:
    """The target's own sources first, then its path sources, then the environment."""
    directories: list[Path] = []
    if target.tree:
        directories += target.tree.search_paths
    for tree in target.path_sources.values():
        directories += tree.search_paths
    if target.kind not in ("wheel", "requirement"):
        directories += environment_directories(python)
    return SearchPath(directories)


def contract_specs(target: Target, options: CheckOptions) -> list[ContractSpec]:
    config = target.config
    type_checking = options.type_checking_imports or config.type_checking_imports
    deferred = options.deferred_imports or config.deferred_imports
    deferred_ignored = frozenset({"function"}) if deferred == "ignore" else frozenset()
    specs: list[ContractSpec] = []
    importlinter_file = options.config_file
    if importlinter_file is not None and not importlinter_file.is_file():
        raise AuditError(f"--config {importlinter_file}: no such file")
    if importlinter_file is None and target.root is not None:
        importlinter_file = find_importlinter_config(target.root)

    preset = options.preset or config.preset
    if preset is None and importlinter_file is None:
        preset = DEFAULT_PRESET
    if preset and preset != "none":
        type_checking_ignored = (type_checking or "ignore") == "ignore"
        ignored = deferred_ignored | ({"type_checking"} if type_checking_ignored else set())
        specs += preset_specs(preset, target.packages, frozenset(ignored), _placeholders(target))
    if importlinter_file is not None:
        specs += user_specs(importlinter_file, deferred_ignored, type_checking)
    return specs


def _placeholders(target: Target) -> dict[str, list[str]]:
    """``{vendored}``: top-level names in vendor/; ``{entry}``: the module the server
    imports (``entry_module``), or the packages when it does not resolve."""
    if target.kind != "cloacina_package" or target.root is None:
        return {"vendored": [], "entry": target.packages}
    entry = target.manifest.entry_module if target.manifest else None
    resolves = entry is not None and resolve_entry_module(target.root / "workflow", entry)
    return {"vendored": vendored_names(target.root),
            "entry": [entry] if resolves and entry else target.packages}


def check_target(target: Target, options: CheckOptions) -> tuple[PackageAudit, PackageGraph]:
    if target.tree is None:
        with _installed(target, options) as installed:
            return check_target(installed, options)
    # A broken budget must fail the fast pre-commit check too, not only footprint.
    parse_budgets(target.config.budget, f"{target.spec}/pyproject.toml: {BUDGET_TABLE}")
    specs = contract_specs(target, options)
    search = search_path_for(target, options.python)
    # Like lint-imports, an import-linter-only directory is graphed from its root
    # packages alone; a workflow package is followed into everything it reaches.
    package_graph = build_package_graph(
        target.packages, search, options.cache_dir, follow=target.kind != "importlinter"
    )
    audit = PackageAudit(
        name=target.name,
        path=target.spec,
        contracts=[_shown(result, target) for result in check_contracts(specs, package_graph)],
        findings=[replace(f, file=target.show(f.file)) if f.file else f for f in target.findings],
    )
    return audit, package_graph


@contextlib.contextmanager
def _installed(target: Target, options: CheckOptions) -> Iterator[Target]:
    """A wheel or requirement, installed into its isolated environment, read as source.

    Installing a wheel runs none of its code. Source distributions are never
    built (uv ``--no-build``): a build backend would run code of the audited
    distribution, or of a dependency, which check promises never to do.
    """
    # Imported here: only wheels and requirements need them, and check must start fast.
    from .distributions import import_names, installed_distributions
    from .environment import isolated_environment

    # Wheels only (a build backend runs code), and not compiled: compiling starts the
    # environment's interpreter, and a .pth file would run.
    with isolated_environment(
        target, cache_dir=options.cache_dir, wheels_only=True, compile_bytecode=False
    ) as environment:
        site = [Path(p) for p in environment.site_packages]
        installed = installed_distributions(site)
        dist = installed.get(target.name)
        if dist is None:
            raise AuditError(f"{target.spec}: {target.name} is not in its own environment")
        search = SearchPath(site)
        packages = [n for n in import_names(dist) if "." not in n and search.find_package(n)]
        if not packages:
            raise NothingToCheck(f"{target.spec}: {target.name} installs no Python package to check")
        tree = SourceTree(root=site[0], name=target.name, version=dist.version,
                          packages=packages, search_paths=site)
        # The installed environment is the search path: no other interpreter's packages.
        yield replace(target, tree=tree, path_sources={})


def _shown(result: ContractResult, target: Target) -> ContractResult:
    """Point file names at what the user gave (an archive), not at temporary copies."""
    if not target.shown_as:
        return result
    result.violations = [
        replace(v, chain=tuple(replace(step, file=target.show(step.file)) for step in v.chain))
        for v in result.violations
    ]
    result.warnings = [target.show(w) for w in result.warnings]
    return result
