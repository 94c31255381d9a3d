"""The terminal report: rich tables, readable at 80 columns, colour only when asked."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from cloacina_audit.model.compare import Delta, compute_delta
from cloacina_audit.model.report import (
    AuditReport,
    Comparison,
    ContractResult,
    Finding,
    Footprint,
    ImportProbe,
    ImportStep,
    PackageAudit,
)
from cloacina_audit.render._format import (
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
    distribution_label,
    goal_line,
    group_by_statement,
    statement_count,
    baselined_count,
    distribution_name,
    summary_line,
    imported_modules,
    install_size,
    metric_cells,
    optional_count,
    optional_size,
    plural,
    shipped_lines,
    short_path,
    step_location,
    step_statement,
    verdict,
)

_STATEMENT_INDENT = 3
_CHAIN_INDENT = 5
_STEP_INDENT = 7
_KIND_STYLES = {
    "module": "bold red",
    "implicit": "magenta",
    "function": "yellow",
    "type_checking": "dim",
    "lazy": "yellow",
}
_VERDICT_STYLES = {"ok": "green", "contract broken": "bold red", "budget exceeded": "yellow"}
_LEVEL_STYLES = {"error": "bold red", "warning": "yellow", "note": "dim"}
_STATUS_MARKS = {"added": "+", "removed": "-", "changed": "~"}


def render(report: AuditReport, *, color: bool = False, width: int = 80, detail: int = 0) -> str:
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
        _package(console, audit, detail)
    if report.comparison is not None:
        _comparison(console, report.comparison)
    if len(report.packages) > 1:
        _summary(console, report.packages)
    if detail <= 0 and _hides_chains(report.packages):
        console.print(Text("Other chains from the same statements: -v shows them all.", style="dim"))
    console.print(Text.assemble(("Result: ", "bold"), summary_line(report.packages)))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _hides_chains(audits: list[PackageAudit]) -> bool:
    return any(
        group.others
        for audit in audits
        for contract in audit.contracts
        for group in group_by_statement(contract.violations)
    )


def _package(console: Console, audit: PackageAudit, detail: int) -> None:
    console.rule(Text.assemble((audit.name, "bold"), "  ", (audit.path, "dim")))
    if audit.contracts:
        _contracts(console, audit, detail)
    findings = [f for f in audit.findings if detail >= 0 or f.level == "error"]
    if findings:
        _findings(console, audit, findings)
    if audit.footprint is not None:
        _footprint(console, audit.footprint, detail)
    if audit.budgets:
        _budgets(console, audit, detail)
    console.print()


def _contracts(console: Console, audit: PackageAudit, detail: int) -> None:
    console.print(Text(f"Contracts ({contracts_summary(audit)})", style="bold"))
    for contract in audit.contracts:
        if detail < 0 and contract.kept:
            continue
        _contract(console, contract, audit.path, detail)


def _contract(console: Console, contract: ContractResult, package_path: str, detail: int) -> None:
    mark = Text("✓ ", style="green") if contract.kept else Text("✗ ", style="bold red")
    if contract.state in STATE_LABELS:
        mark = Text("- ", style="yellow")
    header = Text.assemble(mark, contract.name)
    if contract.state in STATE_LABELS:
        header.append(f"  {STATE_LABELS[contract.state]}", style="yellow")
    console.print(Padding(header, (0, 0, 0, 1)))
    groups = group_by_statement(contract.violations)
    about = [part for part in (contract.type, contract.origin) if part]
    if groups:
        about.append(statement_count(contract.violations, groups))
    if contract.baselined:
        about.append(baselined_count(contract))
    console.print(Padding(Text(" · ".join(about), style="dim"), (0, 0, 0, _STATEMENT_INDENT)))
    if detail >= 0:
        for warning in contract.warnings:
            _hanging(console, Text("! ", style="yellow"), Text(warning, style="yellow"),
                     _STATEMENT_INDENT)
    for group in groups:
        _step(console, group.statement, package_path, _STATEMENT_INDENT)
        shown = group.violations if detail > 0 else group.violations[:1]
        for violation in shown:
            line = Text(chain_line(violation), style="dim" if detail < 0 else "")
            if detail <= 0 and group.others:
                line.append(f"  (+{plural(group.others, 'other chain')})", style="dim")
            _hanging(console, Text("→ ", style="dim"), line, _CHAIN_INDENT)
            if detail >= 0:
                for step in violation.chain[1:]:
                    _step(console, step, package_path, _STEP_INDENT)
    if contract.instructions and not contract.kept:
        _hanging(console, Text("How to fix: ", style="bold"),
                 Text("\n".join(contract.instructions)), _STATEMENT_INDENT)


def _hanging(console: Console, label: Text, body: Text, indent: int) -> None:
    """``label`` then ``body``, wrapped lines of the body aligned under its first one."""
    grid = Table.grid()
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(label, body)
    console.print(Padding(grid, (0, 0, 0, indent)))


def _step(console: Console, step: ImportStep, package_path: str, indent: int) -> None:
    """``file:line  statement  [kind]`` on one line, or the statement below when too long."""
    location = Text(short_path(step_location(step, package_path)), style="cyan")
    kind = Text(f"[{KIND_LABELS[step.kind]}]", style=_KIND_STYLES[step.kind])
    statement = Text(step_statement(step))
    line = Text.assemble(location, "  ", statement, "  ", kind)
    if line.cell_len <= console.width - indent:
        console.print(Padding(line, (0, 0, 0, indent)))
        return
    console.print(Padding(Text.assemble(location, "  ", kind), (0, 0, 0, indent)))
    console.print(Padding(statement, (0, 0, 0, indent + 2)))


def _findings(console: Console, audit: PackageAudit, findings: list[Finding]) -> None:
    console.print(Text("Findings", style="bold"))
    for finding in findings:
        line = Text(finding.level, style=_LEVEL_STYLES[finding.level])
        if finding.file:
            line.append(f"  {finding_location(finding, audit.path)}", style="cyan")
        line.append(f"  {finding.message}")
        line.append(f"  [{finding.rule}]", style="dim")
        console.print(Padding(line, (0, 0, 0, 1)))


def _footprint(console: Console, footprint: Footprint, detail: int) -> None:
    summary = (
        f"Footprint: {plural(footprint.distributions, 'distribution')}, "
        f"{format_size(footprint.install_bytes)} installed, "
        f"{plural(footprint.native_files, 'native file')} "
        f"({format_size(footprint.native_bytes)})"
    )
    console.print(Text(summary, style="bold"))
    if footprint.environment:
        console.print(Text(f"Measured in {footprint.environment}", style="dim"))
    for line in shipped_lines(footprint):
        console.print(Text(line, style="dim"))
    rows = distribution_rows(footprint)
    if rows and detail >= 0:
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
        console.print(Text(f"  ? {distribution_name(dist.name)} not measured: {dist.unmeasured}", style="yellow"))
    if footprint.import_probe is not None:
        _import_probe(console, footprint.import_probe)
    elif footprint.import_not_probed:
        console.print(Text(f"Import: not probed: {footprint.import_not_probed}", style="dim"))


def _import_probe(console: Console, probe: ImportProbe) -> None:
    runs = f"over {probe.runs} runs" if probe.runs > 1 else "in 1 run"
    console.print(
        Text(
            f"Import: {plural(probe.modules, 'module')} "
            f"({format_count(probe.non_stdlib_modules)} outside the standard library), "
            f"median {format_seconds(probe.seconds_median)} {runs}, {imported_modules(probe)}"
        )
    )
    if probe.forbidden_loaded:
        loaded = ", ".join(probe.forbidden_loaded)
        console.print(Text(f"Forbidden modules loaded: {loaded}", style="bold red"))
    else:
        console.print(Text("No forbidden module loaded", style="green"))


def _budgets(console: Console, audit: PackageAudit, detail: int) -> None:
    table = Table(title=f"Budgets ({budgets_summary(audit)})", box=box.SIMPLE)
    table.add_column("Budget")
    table.add_column("Limit", justify="right")
    table.add_column("Actual", justify="right")
    table.add_column("OK")
    for budget in audit.budgets:
        if detail < 0 and budget.ok:
            continue
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
    commit = comparison.before.git_commit
    console.print(Text(f"before: {comparison.before.path}"
                       + (f" = commit {commit[:12]}" if commit else ""), style="dim"))
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
        style = "bold green" if delta.target_reached and not delta.identical else "bold"
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
            f"{_STATUS_MARKS[change.status]} {distribution_label(change)}",
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
            Text.assemble(audit.name, "\n", (audit.path, "dim")),
            contracts_summary(audit),
            install_size(audit),
            budgets_summary(audit),
            Text(outcome, _VERDICT_STYLES[outcome]),
        )
    console.print(table)
