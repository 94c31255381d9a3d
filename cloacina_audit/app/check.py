"""``cloacina-audit check``: static boundary contracts, never running the package."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cloacina_audit.analysis.contracts.specs import ContractSpec, preset_specs, user_specs
from cloacina_audit.analysis.imports.searchpath import SearchPath, environment_directories
from cloacina_audit.app.options import CheckOptions
from cloacina_audit.discover.config import find_importlinter_config
from cloacina_audit.discover.loader_rules import resolve_entry_module, vendored_names
from cloacina_audit.discover.target import SourceTree, Target
from cloacina_audit.environment.dependency_env import MissingPolicy, dependency_directories
from cloacina_audit.errors import AuditError, NothingToCheck
from cloacina_audit.model.budgets import WHERE as BUDGET_TABLE
from cloacina_audit.model.budgets import parse_budgets
from cloacina_audit.model.report import ContractResult, Finding, PackageAudit

if TYPE_CHECKING:
    from cloacina_audit.analysis.imports.graph import PackageGraph

# The graph and the contract engine (grimp, import-linter) are imported by check_python:
# footprint reads contract_specs alone and loads neither.

DEFAULT_PRESET = "cloacina"


def search_path_for(
    target: Target, environment: list[Path], dependencies: list[Path] | None = None
) -> SearchPath:
    """The target's own sources first, then its path sources, then the declared
    dependencies resolved for check (when some were missing), then the environment
    (``environment_directories``; ignored for wheels and requirements, which come
    with their own)."""
    directories: list[Path] = []
    if target.tree:
        directories += target.tree.search_paths
    for tree in target.path_sources.values():
        directories += tree.search_paths
    directories += dependencies or []
    if not target.installed_only:
        directories += environment
    return SearchPath(directories)


def contract_specs(target: Target, options: CheckOptions) -> list[ContractSpec]:
    config = target.config
    type_checking = options.type_checking_imports or config.type_checking_imports
    deferred = options.deferred_imports or config.deferred_imports
    lazy = options.lazy_imports or config.lazy_imports
    policy_ignored = frozenset(
        ({"function"} if deferred == "ignore" else set()) | ({"lazy"} if lazy == "ignore" else set())
    )
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
        ignored = policy_ignored | ({"type_checking"} if type_checking_ignored else set())
        specs += preset_specs(preset, target.packages, frozenset(ignored), _placeholders(target))
    if importlinter_file is not None:
        specs += user_specs(importlinter_file, policy_ignored, type_checking, options.cache_dir)
    return specs


def _placeholders(target: Target) -> dict[str, list[str]]:
    """``{vendored}``: top-level names in vendor/; ``{entry}``: the module the server
    imports (``entry_module``), or the packages when it does not resolve."""
    if target.manifest is None or target.root is None:
        return {"vendored": [], "entry": target.packages}
    entry = target.manifest.entry_module if target.manifest else None
    resolves = entry is not None and resolve_entry_module(target.root / "workflow", entry)
    return {"vendored": vendored_names(target.root),
            "entry": [entry] if resolves and entry else target.packages}


def check_python(target: Target, options: CheckOptions) -> tuple[PackageAudit, PackageGraph]:
    """Contracts of a Python target, on the graph of everything its sources reach."""
    from cloacina_audit.analysis.imports.graph import build_package_graph

    if target.tree is None:
        with _installed(target, options) as installed:
            return check_python(installed, options)
    # A broken budget must fail the fast pre-commit check too, not only footprint.
    parse_budgets(target.config.budget, f"{target.spec}/pyproject.toml: {BUDGET_TABLE}")
    specs = contract_specs(target, options)
    # A wheel's or requirement's own environment is its search path.
    environment = [] if target.installed_only else \
        environment_directories(options.python, options.cache_dir)
    with dependency_directories(
        target, environment, options.missing_dependencies, options.cache_dir, options.python
    ) as (dependencies, unresolved):
        search = search_path_for(target, environment, dependencies)
        # Like lint-imports, an import-linter-only directory is graphed from its root
        # packages alone; a workflow package is followed into everything it reaches.
        package_graph = build_package_graph(
            target.packages, search, options.cache_dir, follow=target.follows_imports
        )
        results = _verdicts(specs, package_graph, options.cache_dir)
    _unverified(target, results, package_graph, unresolved, options.missing_dependencies)
    audit = PackageAudit(
        name=target.name,
        path=target.spec,
        contracts=[_shown(result, target) for result in results],
        findings=[replace(f, file=target.show(f.file)) if f.file else f
                  for f in target.findings + _unread_findings(package_graph)],
        config_file=config_file(target),
    )
    return audit, package_graph


def _verdicts(specs: list[ContractSpec], package_graph: PackageGraph,
              cache_dir: Path | None) -> list[ContractResult]:
    """The contracts' results: from the verdict cache when the same contracts were
    checked on the same graph by the same code (verdicts.py), else checked."""
    from cloacina_audit.analysis.contracts import verdicts

    key = verdicts.verdict_key(specs, package_graph) if cache_dir else None
    if cache_dir and key:
        cached = verdicts.load(cache_dir, key)
        if cached is not None:
            return cached
    # Imported only when contracts are checked: import-linter alone is a tenth of a second.
    from cloacina_audit.analysis.contracts.engine import check_contracts

    outside: set[str] = set()
    results = check_contracts(specs, package_graph, outside)
    package_graph.kinds.save()
    if cache_dir and key and not outside:
        verdicts.store(cache_dir, key, results)
    return results


def config_file(target: Target) -> str | None:
    """``pyproject.toml`` when the target's directory has one (relative to its path, as a
    finding's file is); the renderers put results about the package as a whole on it."""
    return "pyproject.toml" if (Path(target.spec) / "pyproject.toml").is_file() else None


def _unread_findings(package_graph: PackageGraph) -> list[Finding]:
    """Files of the package that look like modules but were not read (never their content)."""
    return [
        Finding(rule="module-not-read", level="warning", file=str(path),
                message=f"{path.name}: not read: {reason}")
        for path, reason in package_graph.unread
    ]


def _unverified(target: Target, results: list[ContractResult], package_graph: PackageGraph,
                unresolved: list[str], policy: MissingPolicy) -> None:
    """A contract that could not be checked through a package that is not installed is
    never reported as kept: without ``accept`` that is an error (unless another contract
    is broken anyway), with it the contract is shown as not verified."""
    if unresolved:  # accepted: chains through the missing dependencies were not followed
        for result in results:
            if result.type == "forbidden" and result.kept:
                result.status = "unverified"
                result.warnings.append(
                    f"not verified: dependencies not installed where check ran: "
                    f"{', '.join(unresolved)} (--missing-dependencies accept)"
                )
    blocked = [r for r in results if r.state == "unverified"]
    if not blocked or policy == "accept" or any(not r.kept for r in results):
        return
    named = [m for m in sorted(package_graph.missing)
             if any(f"cannot look inside {m}:" in w for r in blocked for w in r.warnings)]
    missing = ", ".join(named or sorted(package_graph.missing)) or "a dependency"
    raise AuditError(
        f"{target.spec}: cannot verify {blocked[0].name!r}: {missing} imported but not "
        "installed and not a declared dependency (install it where check runs, declare it, "
        "or check without it with --missing-dependencies accept)"
    )


@contextlib.contextmanager
def _installed(target: Target, options: CheckOptions) -> Iterator[Target]:
    """A wheel or requirement, installed into its isolated environment, read as source.

    Installing a wheel runs none of its code. Source distributions are never
    built (uv ``--no-build``): a build backend would run code of the audited
    distribution, or of a dependency, which check promises never to do.
    """
    # Imported here: only wheels and requirements need them, and check must start fast.
    from cloacina_audit.analysis.footprint.distributions import import_names, installed_distributions
    from cloacina_audit.analysis.imports.graph import graph_root
    from cloacina_audit.environment.isolated import isolated_environment

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
        # A distribution may install a subpackage only (apache-airflow-task-sdk:
        # airflow/sdk/): its import name is dotted, and checked as it is.
        packages = [n for n in import_names(dist) if search.find_package(graph_root(n, search))]
        if not packages:
            raise NothingToCheck(f"{target.spec}: {target.name} installs no Python package to check")
        tree = SourceTree(root=site[0], name=target.name, version=dist.version,
                          packages=packages, search_paths=site)
        # The installed environment is the search path: no other interpreter's packages.
        # Shown as site-packages/…: the same report wherever the cache lives.
        yield replace(target, tree=tree, path_sources={}, shown_as={site[0]: "site-packages"})


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
