"""``footprint`` and ``report``: contracts and footprint of a target, and before/after baselines."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from cloacina_audit.analysis.contracts.specs import ContractSpec
from cloacina_audit.app.check import config_file, contract_specs
from cloacina_audit.app.kinds import kind_of
from cloacina_audit.app.options import AuditOptions, CheckOptions
from cloacina_audit.discover.gitref import checkout_at, checkout_findings, is_commit, repository_of
from cloacina_audit.discover.target import Target, discover, open_target
from cloacina_audit.errors import AuditError, NothingToCheck
from cloacina_audit.model.budgets import WHERE as BUDGET_TABLE
from cloacina_audit.model.budgets import Budgets, evaluate_budgets, parse_budgets
from cloacina_audit.model.lazy import lazy_import_loads
from cloacina_audit.model.report import Finding, Footprint, ImportProbe, PackageAudit, Violation
from cloacina_audit.system.processes import (
    EXIT_TERMINATED,
    Terminated,
    install_worker_signal_handlers,
    stop_everything,
    task,
)

if TYPE_CHECKING:
    from cloacina_audit.analysis.imports.graph import PackageGraph

_Result = TypeVar("_Result")


def audit_path(spec: str, options: AuditOptions) -> PackageAudit:
    with open_target(spec, options.check.config_file, cache_dir=options.check.cache_dir) as target:
        return audit_target(target, options)


def audit_target(
    target: Target, options: AuditOptions, measured: Callable[[], Footprint] | None = None
) -> PackageAudit:
    """Contracts (static), then footprint and budgets: the whole audit of one target.

    ``measured`` gives the footprint when another process measures it (see
    :func:`audit_comparison`); by default it is measured here.
    """
    budgets = _budgets(target)  # malformed budgets fail before any slow work
    audit = PackageAudit(name=target.name, path=target.spec, findings=list(target.findings))
    graph = None
    if options.with_contracts:  # a wheel or requirement is read from its isolated environment
        try:
            audit, graph = kind_of(target).check(target, options.check)
        except NothingToCheck as exc:
            audit.findings.append(Finding(
                rule="contracts-not-applied", level="warning",
                message=f"{exc} (only top-level modules): contracts were not applied",
            ))
    audit.git_commit = target.git_commit
    audit.config_file = config_file(target)
    audit.footprint = measured() if measured else kind_of(target).footprint(target, options)
    audit.budgets = evaluate_budgets(budgets, audit.footprint)
    probe = audit.footprint.import_probe if audit.footprint else None
    if graph is not None and probe is not None:
        apply_import_time_evidence(audit, target, options.check, graph, probe)
        probe.lazy_imports = lazy_import_loads(audit.contracts, probe)
    costs = kind_of(target).costs(target, audit, graph) if options.with_contracts else None
    if costs is not None:
        audit.costs, audit.costs_together = costs
    for failure in probe.failed_imports if probe else []:
        audit.findings.append(Finding(
            rule="import-failed", level="warning",
            message=f"import probe: {failure} (not measured: what it would load)",
        ))
    return audit


def apply_import_time_evidence(
    audit: PackageAudit, target: Target, options: CheckOptions, graph: PackageGraph,
    probe: ImportProbe,
) -> None:
    """What the probe saw loaded is what runs: a forbidden module loaded while importing
    a contract's source modules breaks that contract, whatever the static policy ignored.

    The chain shown is the static one with deferred imports counted (the probe proves
    that it ran); when no static chain explains the load (``importlib``, a plugin), the
    contract is broken with "loaded at import time". Contracts that allow indirect imports
    or ignore imports are only broken when a static chain exists: the probe cannot tell
    which import loaded a module, so it cannot honour those options.
    """
    specs = {spec.name: spec for spec in contract_specs(target, options)}
    for index, result in enumerate(audit.contracts):
        spec = specs.get(result.name)
        if spec is None or not result.kept or spec.options.get("type") != "forbidden":
            continue
        forbidden = _listed(spec.options.get("forbidden_modules"))
        sources = _listed(spec.options.get("source_modules"))
        loaded = {
            module: loader for module, loader in probe.loaded_by.items()
            if module in forbidden and _within(loader, sources)
        }
        if not loaded:
            continue
        shown = ", ".join(f"{module} (importing {loader})" for module, loader in sorted(loaded.items()))
        chains = _chains_that_ran(spec, graph, target)
        if chains:
            result.violations = chains
            result.warnings.append(
                f"loaded at import time: {shown}; the chains below run when the package is "
                "imported, although the static policy ignored them"
            )
        elif _listed(spec.options.get("ignore_imports")) or str(
            spec.options.get("allow_indirect_imports", "")
        ).lower() == "true":
            result.warnings.append(
                f"loaded at import time: {shown}; not counted: this contract ignores imports "
                "or allows indirect ones, and the probe cannot tell which import loaded it"
            )
            continue
        else:
            result.warnings.append(
                f"loaded at import time: {shown}; no static import chain explains it "
                "(importlib, a plugin or an entry point)"
            )
        audit.contracts[index] = replace(result, kept=False)


def _chains_that_ran(spec: ContractSpec, graph: PackageGraph, target: Target) -> list[Violation]:
    """The contract's violations with deferred imports counted (TYPE_CHECKING ones never run)."""
    counted = replace(spec, ignored_kinds=spec.ignored_kinds & {"type_checking"})
    try:
        from cloacina_audit.analysis.contracts.engine import check_contracts

        result = check_contracts([counted], graph)[0]
    except AuditError:
        return []
    return [
        Violation(chain=tuple(replace(step, file=target.show(step.file)) for step in v.chain))
        for v in result.violations
    ]


def _listed(value: object) -> list[str]:
    """An import-linter option as a list: one value, several (one per line), or none."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return []


def _within(module: str, roots: list[str]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def audit_comparison(
    before_spec: str, after_spec: str, options: AuditOptions
) -> tuple[PackageAudit, PackageAudit, str | None]:
    """Measure the baseline's footprint in a second process while this one audits the
    after version, then checks the baseline's contracts.

    Returns (before, after, the after package's configured target reduction).
    Relative budgets of the after package are evaluated once both are known.

    The footprint is what waits on other processes (uv, the import probe's runs), and
    the baseline's is the longest; the contracts are work in this process. Done so, at
    most two things run at once (this process or a probe here, and a probe of the
    baseline), as when each process audited one version whole, and the baseline's
    probe no longer waits for its contracts to be checked first.
    """
    with _workers(1) as pool:
        quiet = replace(options, progress=False)
        footprint = pool.submit(_in_worker, baseline_footprint, before_spec, after_spec, quiet)
        with open_target(after_spec, options.check.config_file, cache_dir=options.check.cache_dir) as target:
            after = audit_target(target, options)
            before = audit_baseline(before_spec, after_spec, quiet, measured=footprint.result)
            if after.footprint is not None:  # audit_target always measures one
                after.budgets = evaluate_budgets(
                    _budgets(target), after.footprint, before=before.footprint
                )
            return before, after, target.config.target_reduction


def audit_baseline(
    before_spec: str, after_spec: str, options: AuditOptions,
    measured: Callable[[], Footprint] | None = None,
) -> PackageAudit:
    with baseline(before_spec, after_spec, options.check.config_file, options.check.cache_dir) as target:
        return audit_target(target, options, measured)


def baseline_footprint(before_spec: str, after_spec: str, options: AuditOptions) -> Footprint:
    with baseline(before_spec, after_spec, options.check.config_file, options.check.cache_dir) as target:
        return kind_of(target).footprint(target, options)


def audit_many(specs: list[str], options: AuditOptions) -> list[PackageAudit]:
    """Audit each target in its own process; they share the environment cache."""
    if len(specs) == 1:
        return [audit_path(specs[0], options)]
    quiet = replace(options, progress=False)  # several spinners on one terminal help nobody
    with _workers(min(len(specs), 4)) as pool:
        return list(pool.map(_in_worker, [audit_path] * len(specs), specs, [quiet] * len(specs)))


@contextlib.contextmanager
def _workers(count: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool that is stopped, not waited for, when this process fails or is stopped."""
    pool = ProcessPoolExecutor(max_workers=count, initializer=install_worker_signal_handlers)
    try:
        yield pool
    except BaseException:
        # The workers get SIGTERM (they clean up and exit), then whatever is left is killed.
        stop_everything()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _in_worker(function: Callable[..., _Result], *args: object) -> _Result:
    try:
        with task():
            return function(*args)
    except Terminated:
        # The steps' clean-up ran on the way here; exit rather than wait for more work.
        os._exit(EXIT_TERMINATED)


def _budgets(target: Target) -> Budgets:
    return parse_budgets(target.config.budget, f"{target.spec}/pyproject.toml: {BUDGET_TABLE}")


# --- baselines -----------------------------------------------------------------


@contextlib.contextmanager
def baseline(
    before: str, after: str, config_file: Path | None, cache_dir: Path | None = None
) -> Iterator[Target]:
    """The ``--before`` target: a path, a git ref of the after package's repository, or a
    requirement, tried in that order.

    A path baseline reads its configuration through ``cache_dir`` as the after package
    does; a temporary checkout of a git ref does not, its entries would only pile up."""
    if Path(before).exists():
        with open_target(before, config_file, cache_dir=cache_dir) as target:
            yield target
        return
    repo = repository_of(Path(after).resolve())
    if repo is not None and is_commit(repo, before):
        relative = Path(after).resolve().relative_to(repo)
        with checkout_at(repo, before) as checkout:
            old = checkout.tree / relative
            if not old.exists():
                raise AuditError(f"--before {before}: {relative} did not exist at that ref")
            try:
                with open_target(str(old), config_file, ceiling=checkout.tree) as target:
                    target.spec = f"{after}@{before}"
                    target.shown_as[checkout.tree] = f"{repo}@{before}"
                    target.git_commit = checkout.commit
                    target.findings += checkout_findings(before, checkout)
                    yield target
            except AuditError as exc:  # name the ref, not the temporary directory
                raise AuditError(str(exc).replace(str(checkout.tree), f"{repo}@{before}")) from None
        return
    try:
        target = discover(before)
    except AuditError:
        raise AuditError(
            f"--before {before}: not a path, a git ref of {after}'s repository, or a requirement"
        ) from None
    yield target
