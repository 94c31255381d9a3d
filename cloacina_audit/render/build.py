"""Compute the :mod:`~cloacina_audit.render.view` of a report once, for every human format.

One builder per view class (``_package`` builds a ``PackageView``, ``_contract`` a
``ContractView``...); the words of the sections (verdicts, summaries, the result
line) are :mod:`.words`.
"""

from __future__ import annotations

from cloacina_audit.model.compare import (
    Change,
    Delta,
    DistributionChange,
    compute_delta,
)
from cloacina_audit.model.report import (
    AuditReport,
    BudgetResult,
    Comparison,
    ContractResult,
    Finding,
    Footprint,
    ImportProbe,
    ImportStep,
    PackageAudit,
    Violation,
)
from cloacina_audit.model.units import format_bytes as format_size
from cloacina_audit.render._format import (
    KIND_LABELS,
    STATE_LABELS,
    StatementGroup,
    baselined_count,
    baselined_total,
    chain_line,
    distribution_name,
    finding_location,
    format_budget_value,
    format_count,
    format_seconds,
    format_signed_size,
    goal_line,
    group_by_statement,
    largest_first,
    lazy_import_line,
    metric_cells,
    optional_count,
    optional_size,
    plural,
    short_path,
    step_location,
    step_statement,
)
from cloacina_audit.render.cost import cost_rows, cost_split, cost_split_whole
from cloacina_audit.render.nouns import RUST_NOUNS, Nouns, nouns_of
from cloacina_audit.render.view import (
    MAX_STATEMENTS,
    BudgetView,
    ChainView,
    ComparisonView,
    ContractView,
    DistributionChangeView,
    DistributionRow,
    FindingView,
    FootprintView,
    MetricRow,
    PackageView,
    ProbeView,
    ReportView,
    StatementView,
    StepView,
)
from cloacina_audit.render.words import (
    budgets_summary,
    contracts_summary,
    distribution_label,
    imported_modules,
    shipped_lines,
    statement_count,
    summary_line,
    verdict,
)


def build_view(report: AuditReport, detail: int = 0) -> ReportView:
    """Every section of the report, computed once from ``report`` at the given detail."""
    comparison = report.comparison
    packages = tuple(_package(i, audit, detail) for i, audit in enumerate(report.packages))
    measured = tuple((a.name, a.footprint) for a in report.packages if a.footprint)
    return ReportView(
        tool_version=report.tool_version,
        detail=detail,
        packages=packages,
        comparison=None if comparison is None else _comparison(comparison),
        hides_chains=any(
            statement.hidden
            for package in packages
            for contract in package.contracts
            for statement in contract.statements
        ),
        result=summary_line(report.packages),
        measured=measured,
        measured_nouns=nouns_of(footprint for _, footprint in measured),
        verdict=min((p.verdict for p in packages), key=_VERDICTS.index, default="ok"),
        baselined=baselined_total(report.packages),
    )


_VERDICTS = ("contract broken", "budget exceeded", "ok")


# --- the builders: one per view -------------------------------------------------------


def _package(index: int, audit: PackageAudit, detail: int) -> PackageView:
    return PackageView(
        index=index,
        name=audit.name,
        path=audit.path,
        verdict=verdict(audit),
        contracts_summary=contracts_summary(audit),
        install_size=format_size(audit.footprint.install_bytes) if audit.footprint else "n/a",
        budgets_summary=budgets_summary(audit),
        checked_contracts=len(audit.contracts),
        contracts=tuple(
            _contract(contract, audit.path, detail)
            for contract in audit.contracts
            if detail >= 0 or not contract.kept
        ),
        findings=tuple(_finding(f, audit.path) for f in audit.findings),
        footprint=None if audit.footprint is None else _footprint(audit.footprint, audit.path),
        budgets=tuple(_budget(b) for b in audit.budgets),
        costs=tuple(cost_rows(audit)),
        cost_split=cost_split(audit),
        cost_split_whole=cost_split_whole(audit),
    )


def _contract(contract: ContractResult, package_path: str, detail: int) -> ContractView:
    groups = group_by_statement(contract.violations)
    count = statement_count(contract.violations, groups)
    baselined = baselined_count(contract)
    about = [contract.type, contract.origin, count if groups else "", baselined]
    return ContractView(
        name=contract.name,
        type=contract.type,
        origin=contract.origin,
        state=contract.state,
        kept=contract.kept,
        state_label=STATE_LABELS.get(contract.state),
        about=" · ".join(part for part in about if part),
        count=count,
        baselined=baselined,
        warnings=tuple(contract.warnings),
        instructions=tuple(contract.instructions),
        statements=tuple(_statement(group, package_path, detail) for group in groups),
        left_out=max(0, len(groups) - MAX_STATEMENTS),
    )


def _statement(group: StatementGroup, package_path: str, detail: int) -> StatementView:
    shown = group.violations if detail > 0 else group.violations[:1]
    return StatementView(
        step=_step(group.statement, package_path),
        chains=tuple(_chain(violation, package_path) for violation in shown),
        others=group.others,
        hidden=len(group.violations) - len(shown),
        hidden_text=plural(len(group.violations) - len(shown), "other chain"),
    )


def _chain(violation: Violation, package_path: str) -> ChainView:
    return ChainView(
        line=chain_line(violation),
        steps=tuple(_step(step, package_path) for step in violation.chain),
    )


def _step(step: ImportStep, package_path: str) -> StepView:
    location = step_location(step, package_path)
    return StepView(
        location=location,
        short_location=short_path(location),
        statement=step_statement(step),
        kind=step.kind,
        kind_label=KIND_LABELS[step.kind],
    )


def _finding(finding: Finding, package_path: str) -> FindingView:
    return FindingView(
        level=finding.level,
        rule=finding.rule,
        message=finding.message,
        location=finding_location(finding, package_path),
    )


def _budget(budget: BudgetResult) -> BudgetView:
    return BudgetView(
        name=budget.name,
        limit=format_budget_value(budget.name, budget.limit),
        actual=format_budget_value(budget.name, budget.actual),
        ok=budget.ok,
    )


def _footprint(footprint: Footprint, package_path: str) -> FootprintView:
    nouns = nouns_of([footprint])
    natives = plural(footprint.native_files, nouns.native_unit)
    return FootprintView(
        distributions=plural(footprint.distributions, nouns.unit),
        install_size=format_size(footprint.install_bytes),
        natives=natives if nouns is RUST_NOUNS else
        f"{natives} ({format_size(footprint.native_bytes)})",
        environment=footprint.environment,
        shipped=tuple(shipped_lines(footprint)),
        rows=tuple(distribution_rows(footprint)),
        unmeasured=tuple(
            (distribution_name(d.name), d.unmeasured or "") for d in footprint.unmeasured
        ),
        probe=None if footprint.import_probe is None else _probe(footprint.import_probe,
                                                                  package_path),
        not_probed=footprint.import_not_probed or "",
        nouns=nouns,
    )


def _probe(probe: ImportProbe, package_path: str) -> ProbeView:
    return ProbeView(
        modules=plural(probe.modules, "module"),
        outside_stdlib=format_count(probe.non_stdlib_modules),
        median=format_seconds(probe.seconds_median),
        runs=probe.runs,
        imported=imported_modules(probe),
        forbidden=tuple(probe.forbidden_loaded),
        lazy=tuple(lazy_import_line(lazy, package_path) for lazy in probe.lazy_imports),
    )


def _comparison(comparison: Comparison) -> ComparisonView:
    delta = compute_delta(comparison.before, comparison.after, comparison.target_reduction)
    before, after = comparison.before, comparison.after
    sides = (("before", before), ("after", after))
    # Both sides Rust: the figures are crates and a stripped cdylib, and say so.
    nouns = nouns_of(a.footprint for _, a in sides)
    # A figure neither side has (a Rust library is not imported) is left out, not shown as n/a
    # (nor a Rust package's native size: its C code has no crate name in the cdylib).
    metrics = [_metric_row(key, change, nouns) for key, change in delta.metrics()
               if (change.before, change.after) != (None, None)
               and not (nouns is RUST_NOUNS and key == "native_bytes")]
    return ComparisonView(
        before_name=before.name,
        before_path=before.path,
        before_commit=before.git_commit,
        after_name=after.name,
        after_path=after.path,
        before_findings=tuple(_finding(f, before.path) for f in before.findings),
        rows=(*_contract_rows(delta), *metrics),
        cards=tuple(metrics[:4]),
        goal=goal_line(delta, nouns),
        goal_reached=bool(delta.target_reached and not delta.identical),
        changes=tuple(_distribution_change(change) for change in delta.distribution_changes),
        bars=tuple((f"{side}: {a.name}", a.footprint) for side, a in sides if a.footprint),
        nouns=nouns,
    )


def _contract_rows(delta: Delta) -> tuple[MetricRow, MetricRow]:
    kept, broken = delta.contracts_kept, delta.contracts_broken
    return (
        MetricRow("Contracts kept", str(kept.before), str(kept.after), f"{kept.absolute:+d}", "",
                  kept.absolute),
        MetricRow("Contracts broken", str(broken.before), str(broken.after),
                  f"{broken.absolute:+d}", "", broken.absolute),
    )


def _metric_row(key: str, change: Change, nouns: Nouns) -> MetricRow:
    cells = metric_cells(key, change, nouns)
    moved = 0 if change.within_noise or not change.absolute else (1 if change.absolute > 0 else -1)
    delta = cells[4] if change.percent is not None else cells[3] if moved else ""
    delta = "" if change.within_noise else delta
    return MetricRow(*cells, absolute=change.absolute, key=key, delta=delta, trend=moved)


def _distribution_change(change: DistributionChange) -> DistributionChangeView:
    size = change.bytes
    return DistributionChangeView(
        status=change.status,
        label=distribution_label(change),
        version_before=change.version_before,
        version_after=change.version_after,
        size_before=optional_size(change.bytes_before),
        size_after=optional_size(change.bytes_after),
        change="?" if size.absolute is None else format_signed_size(size.absolute),
    )


def distribution_rows(footprint: Footprint) -> list[DistributionRow]:
    """The dependencies largest first, then the package itself, labelled as such."""
    dists = [(distribution_name(d.name), d) for d in largest_first(footprint.by_distribution)]
    if footprint.package is not None:
        dists.append(
            (f"{distribution_name(footprint.package.name)} (this package)", footprint.package)
        )
    return [
        DistributionRow(
            label=label,
            version=d.version,
            size=optional_size(d.bytes),
            files=optional_count(d.files),
            native_files=format_count(d.native_files),
            native_count=d.native_files,
            native_size=format_size(d.native_bytes) if d.native_bytes else "",
            unique=optional_size(d.unique_bytes) if d.unique_bytes is not None else "",
            measured=d.measured,
            unmeasured=d.unmeasured or "",
        )
        for label, d in dists
    ]
