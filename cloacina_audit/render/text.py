"""The terminal report: rich tables, readable at 80 columns, colour only when asked."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..compare import Delta, compute_delta
from ..models import (
    AuditReport,
    Comparison,
    ContractResult,
    Footprint,
    ImportProbe,
    ImportStep,
    PackageAudit,
)
from ._format import (
    STATE_LABELS,
    KIND_LABELS,
    budgets_summary,
    chain_line,
    contracts_summary,
    distribution_rows,
    finding_location,
    format_budget_value,
    format_count,
    format_seconds,
    format_signed_size,
    format_size,
    goal_line,
    install_size,
    metric_cells,
    optional_count,
    optional_size,
    plural,
    short_path,
    step_location,
    step_statement,
    verdict,
)

_STEP_INDENT = 6
_KIND_STYLES = {
    "module": "bold red",
    "implicit": "magenta",
    "function": "yellow",
    "type_checking": "dim",
}
_VERDICT_STYLES = {"ok": "green", "contract broken": "bold red", "budget exceeded": "yellow"}
_LEVEL_STYLES = {"error": "bold red", "warning": "yellow", "note": "dim"}
_STATUS_MARKS = {"added": "+", "removed": "-", "changed": "~"}


def render(report: AuditReport, *, color: bool = False, width: int = 80) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system="auto" if color else None,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
    )
    for audit in report.packages:
        _package(console, audit)
    if report.comparison is not None:
        _comparison(console, report.comparison)
    if len(report.packages) > 1:
        _summary(console, report.packages)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _package(console: Console, audit: PackageAudit) -> None:
    console.rule(Text.assemble((audit.name, "bold"), "  ", (audit.path, "dim")))
    if audit.contracts:
        _contracts(console, audit)
    if audit.findings:
        _findings(console, audit)
    if audit.footprint is not None:
        _footprint(console, audit.footprint)
    if audit.budgets:
        _budgets(console, audit)
    console.print()


def _contracts(console: Console, audit: PackageAudit) -> None:
    console.print(Text(f"Contracts ({contracts_summary(audit)})", style="bold"))
    for contract in audit.contracts:
        _contract(console, contract, audit.path)


def _contract(console: Console, contract: ContractResult, package_path: str) -> None:
    mark = Text("✓ ", style="green") if contract.kept else Text("✗ ", style="bold red")
    if contract.state in STATE_LABELS:
        mark = Text("- ", style="yellow")
    header = Text.assemble(mark, contract.name)
    if contract.state in STATE_LABELS:
        header.append(f"  {STATE_LABELS[contract.state]}", style="yellow")
    if contract.violations:
        header.append(f"  {plural(len(contract.violations), 'violation')}", style="red")
    details = ", ".join(part for part in (contract.type, contract.origin) if part)
    header.append(f"  [{details}]", style="dim")
    console.print(Padding(header, (0, 0, 0, 1)))
    for warning in contract.warnings:
        console.print(Padding(Text(f"! {warning}", style="yellow"), (0, 0, 0, 3)))
    for number, violation in enumerate(contract.violations, start=1):
        console.print(Padding(Text(f"{number}. {chain_line(violation)}"), (0, 0, 0, 3)))
        for step in violation.chain:
            _step(console, step, package_path)


def _step(console: Console, step: ImportStep, package_path: str) -> None:
    """``file:line  statement  [kind]`` on one line, or the statement below when too long."""
    location = Text(short_path(step_location(step, package_path)), style="cyan")
    kind = Text(f"[{KIND_LABELS[step.kind]}]", style=_KIND_STYLES[step.kind])
    statement = Text(step_statement(step))
    line = Text.assemble(location, "  ", statement, "  ", kind)
    if line.cell_len <= console.width - _STEP_INDENT:
        console.print(Padding(line, (0, 0, 0, _STEP_INDENT)))
        return
    console.print(Padding(Text.assemble(location, "  ", kind), (0, 0, 0, _STEP_INDENT)))
    console.print(Padding(statement, (0, 0, 0, _STEP_INDENT + 2)))


def _findings(console: Console, audit: PackageAudit) -> None:
    console.print(Text("Findings", style="bold"))
    for finding in audit.findings:
        line = Text(finding.level, style=_LEVEL_STYLES[finding.level])
        if finding.file:
            line.append(f"  {finding_location(finding, audit.path)}", style="cyan")
        line.append(f"  {finding.message}")
        line.append(f"  [{finding.rule}]", style="dim")
        console.print(Padding(line, (0, 0, 0, 1)))


def _footprint(console: Console, footprint: Footprint) -> None:
    summary = (
        f"Footprint: {plural(footprint.distributions, 'distribution')}, "
        f"{format_size(footprint.install_bytes)} installed, "
        f"{plural(footprint.native_files, 'native file')} "
        f"({format_size(footprint.native_bytes)})"
    )
    console.print(Text(summary, style="bold"))
    if footprint.environment:
        console.print(Text(f"Measured in {footprint.environment}", style="dim"))
    rows = distribution_rows(footprint)
    if rows:
        table = Table(box=box.SIMPLE)
        table.add_column("Distribution")
        table.add_column("Version")
        for heading in ("Size", "Files", "Native", "Unique"):
            table.add_column(heading, justify="right")
        for label, dist in rows:
            table.add_row(
                label,
                dist.version,
                optional_size(dist.bytes),
                optional_count(dist.files),
                Text(format_count(dist.native_files), "red" if dist.native_files else ""),
                optional_size(dist.unique_bytes) if dist.unique_bytes is not None else "",
            )
        console.print(table)
    for dist in footprint.unmeasured:
        console.print(Text(f"  ? {dist.name} not measured: {dist.unmeasured}", style="yellow"))
    if footprint.import_probe is not None:
        _import_probe(console, footprint.import_probe)
    elif footprint.import_not_probed:
        console.print(Text(f"Import: not probed: {footprint.import_not_probed}", style="dim"))


def _import_probe(console: Console, probe: ImportProbe) -> None:
    runs = f"over {probe.runs} runs" if probe.runs > 1 else "in 1 run"
    console.print(
        Text(
            f"Import: {format_count(probe.modules)} modules "
            f"({format_count(probe.non_stdlib_modules)} outside the standard library), "
            f"median {format_seconds(probe.seconds_median)} {runs}"
        )
    )
    if probe.forbidden_loaded:
        loaded = ", ".join(probe.forbidden_loaded)
        console.print(Text(f"Forbidden modules loaded: {loaded}", style="bold red"))
    else:
        console.print(Text("No forbidden module loaded", style="green"))


def _budgets(console: Console, audit: PackageAudit) -> None:
    table = Table(title=f"Budgets ({budgets_summary(audit)})", box=box.SIMPLE)
    table.add_column("Budget")
    table.add_column("Limit", justify="right")
    table.add_column("Actual", justify="right")
    table.add_column("OK")
    for budget in audit.budgets:
        table.add_row(
            budget.name,
            format_budget_value(budget.name, budget.limit),
            format_budget_value(budget.name, budget.actual),
            Text("✓", "green") if budget.ok else Text("✗ exceeded", "bold red"),
        )
    console.print(table)


def _comparison(console: Console, comparison: Comparison) -> None:
    delta = compute_delta(comparison.before, comparison.after, comparison.target_reduction)
    console.rule(Text("Before and after", style="bold"))
    console.print(Text(f"before: {comparison.before.path}", style="dim"))
    console.print(Text(f"after:  {comparison.after.path}", style="dim"))
    for finding in comparison.before.findings:  # the before version has no section of its own
        line = Text.assemble(("before: ", "dim"), (finding.level, _LEVEL_STYLES[finding.level]))
        line.append(f"  {finding.message}  [{finding.rule}]")
        console.print(line)
    table = Table(box=box.SIMPLE)
    table.add_column("")
    for heading in ("Before", "After", "Change", "%"):
        table.add_column(heading, justify="right")
    kept, broken = delta.contracts_kept, delta.contracts_broken
    table.add_row("Contracts kept", str(kept.before), str(kept.after), f"{kept.absolute:+d}", "")
    table.add_row(
        "Contracts broken", str(broken.before), str(broken.after), f"{broken.absolute:+d}", ""
    )
    for key, change in delta.metrics():
        table.add_row(*metric_cells(key, change))
    console.print(table)
    if delta.distribution_changes:
        _distribution_changes(console, delta)
    goal = goal_line(delta)
    if goal is not None:
        style = {True: "bold green", False: "bold red", None: "bold"}[delta.target_reached]
        console.print(Text(goal, style=style))
    console.print()


def _distribution_changes(console: Console, delta: Delta) -> None:
    table = Table(title="Distributions that changed", box=box.SIMPLE)
    table.add_column("Distribution")
    table.add_column("Before", justify="right")
    table.add_column("After", justify="right")
    table.add_column("Change", justify="right")
    for change in delta.distribution_changes:
        size = change.bytes
        table.add_row(
            f"{_STATUS_MARKS[change.status]} {change.name}",
            _version_size(change.version_before, change.bytes_before),
            _version_size(change.version_after, change.bytes_after),
            "?" if size.absolute is None else format_signed_size(size.absolute),
        )
    console.print(table)


def _version_size(version: str | None, size: int | None) -> str:
    if version is None:
        return "-"
    return f"{version}  {optional_size(size)}"


def _summary(console: Console, audits: list[PackageAudit]) -> None:
    table = Table(title="Summary", box=box.SIMPLE)
    for heading in ("Package", "Contracts", "Install size", "Budgets", "Verdict"):
        table.add_column(heading)
    for audit in audits:
        outcome = verdict(audit)
        table.add_row(
            audit.name,
            contracts_summary(audit),
            install_size(audit),
            budgets_summary(audit),
            Text(outcome, _VERDICT_STYLES[outcome]),
        )
    console.print(table)
