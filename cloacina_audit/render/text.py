"""The terminal report: rich tables, readable at 80 columns, colour only when asked."""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from cloacina_audit.model.report import AuditReport
from cloacina_audit.render.build import build_view
from cloacina_audit.render.view import (
    ComparisonView,
    ContractView,
    FindingView,
    FootprintView,
    PackageView,
    ProbeView,
    StepView,
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
    "crate": "bold red",
    "use": "bold red",
}
_VERDICT_STYLES = {"ok": "green", "contract broken": "bold red", "budget exceeded": "yellow"}
_LEVEL_STYLES = {"error": "bold red", "warning": "yellow", "note": "dim"}
_STATUS_MARKS = {"added": "+", "removed": "-", "changed": "~"}


def render(report: AuditReport, *, color: bool = False, width: int = 80, detail: int = 0) -> str:
    view = build_view(report, detail)
    buffer = io.StringIO()
    console = text_console(buffer, color=color, width=width)
    for package in view.packages:
        _package(console, package, detail)
    if view.comparison is not None:
        _comparison(console, view.comparison)
    if len(view.packages) > 1:
        _summary(console, view.packages, view.measured_nouns.size_label)
    if detail <= 0 and view.hides_chains:
        console.print(Text("Other chains from the same statements: -v shows them all.", style="dim"))
    console.print(Text.assemble(("Result: ", "bold"), view.result))
    return finished(console)


class LineConsole(Console):
    """A rich console that also takes whole lines known to fit its width, and prints
    a run of them in one call.

    A check that breaks contracts prints a line per step of every chain, a thousand
    or more; rich's layout of each ``print`` was most of such a run's time. Lines
    that fit cannot wrap, so printing them joined gives the same bytes.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._lines: list[Text] = []

    def fitting_line(self, text: Text, indent: int) -> bool:
        """Queue ``text`` after ``indent`` spaces if it fits; False (nothing queued) if not."""
        if text.cell_len > self.width - indent:
            return False
        self._lines.append(Text(" " * indent) + text)
        return True

    def flush_lines(self) -> None:
        if self._lines:
            lines, self._lines = self._lines, []
            super().print(Text("\n").join(lines), no_wrap=True, overflow="ignore")

    def print(self, *objects: Any, **options: Any) -> None:
        self.flush_lines()
        super().print(*objects, **options)


def text_console(buffer: io.StringIO, *, color: bool, width: int) -> LineConsole:
    """A console writing into ``buffer``: ``width`` columns, colour only when asked."""
    return LineConsole(
        file=buffer,
        width=width,
        color_system="auto" if color else None,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
    )


def finished(console: LineConsole) -> str:
    """What was printed, without the spaces rich pads lines with."""
    console.flush_lines()
    buffer = console.file
    assert isinstance(buffer, io.StringIO)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _package(console: LineConsole, package: PackageView, detail: int) -> None:
    console.rule(Text.assemble((package.name, "bold"), "  ", (package.path, "dim")))
    if package.checked_contracts:
        console.print(Text(f"Contracts ({package.contracts_summary})", style="bold"))
        for contract in package.contracts:
            _contract(console, contract, detail)
    findings = [f for f in package.findings if detail >= 0 or f.level == "error"]
    if findings:
        _findings(console, findings)
    if package.footprint is not None:
        _footprint(console, package.footprint, detail)
    if package.costs:
        console.print(Text("Cost of each offending statement (what removing it alone saves)", "bold"))
        for where, saved in package.costs:
            console.print(Padding(Text(where, "cyan"), (0, 0, 0, 2)))
            console.print(Padding(Text(saved), (0, 0, 0, 4)))
    if package.budgets:
        _budgets(console, package, detail)
    console.print()


def _contract(console: LineConsole, contract: ContractView, detail: int) -> None:
    mark = Text("✓ ", style="green") if contract.kept else Text("✗ ", style="bold red")
    if contract.state_label:
        mark = Text("- ", style="yellow")
    header = Text.assemble(mark, contract.name)
    if contract.state_label:
        header.append(f"  {contract.state_label}", style="yellow")
    console.print(Padding(header, (0, 0, 0, 1)))
    console.print(Padding(Text(contract.about, style="dim"), (0, 0, 0, _STATEMENT_INDENT)))
    if detail >= 0:
        for warning in contract.warnings:
            hanging(console, Text("! ", style="yellow"), Text(warning, style="yellow"),
                    _STATEMENT_INDENT)
    for statement in contract.statements:
        _step(console, statement.step, _STATEMENT_INDENT)
        for chain in statement.chains:
            line = Text(chain.line, style="dim" if detail < 0 else "")
            if statement.hidden:
                line.append(f"  (+{statement.hidden_text})", style="dim")
            hanging(console, Text("→ ", style="dim"), line, _CHAIN_INDENT)
            if detail >= 0:
                for step in chain.steps[1:]:
                    _step(console, step, _STEP_INDENT)
    if contract.instructions and not contract.kept:
        hanging(console, Text("How to fix: ", style="bold"),
                Text("\n".join(contract.instructions)), _STATEMENT_INDENT)


def hanging(console: LineConsole, label: Text, body: Text, indent: int) -> None:
    """``label`` then ``body``, wrapped lines of the body aligned under its first one.

    The body is wrapped here, at the width left after the label, rather than laid
    out by a rich table: a table's layout cost a couple of milliseconds per chain.
    """
    width = console.width - indent - label.cell_len
    lines = body.wrap(console, width, overflow="fold") if width > 0 else [body]
    gap = Text(" " * label.cell_len)
    for number, line in enumerate(lines):
        line.rstrip()
        whole = Text.assemble(label if number == 0 else gap, line)
        if not console.fitting_line(whole, indent):
            console.print(Padding(whole, (0, 0, 0, indent)))


def _step(console: LineConsole, step: StepView, indent: int) -> None:
    kind = Text(f"[{step.kind_label}]", style=_KIND_STYLES[step.kind])
    located(console, step.short_location, step.statement, kind, indent)


def located(console: LineConsole, location: str, statement: str, kind: Text | None,
            indent: int) -> None:
    """``file:line  statement  [kind]`` on one line, or the statement below when too long."""
    where = Text(location, style="cyan")
    tail = ("  ", kind) if kind is not None else ()
    if console.fitting_line(Text.assemble(where, "  ", statement, *tail), indent):
        return
    if not console.fitting_line(Text.assemble(where, *tail), indent):
        console.print(Padding(Text.assemble(where, *tail), (0, 0, 0, indent)))
    if not console.fitting_line(Text(statement), indent + 2):
        console.print(Padding(Text(statement), (0, 0, 0, indent + 2)))


def _findings(console: LineConsole, findings: list[FindingView]) -> None:
    console.print(Text("Findings", style="bold"))
    for finding in findings:
        line = Text(finding.level, style=_LEVEL_STYLES[finding.level])
        if finding.location:
            line.append(f"  {finding.location}", style="cyan")
        line.append(f"  {finding.message}")
        line.append(f"  [{finding.rule}]", style="dim")
        console.print(Padding(line, (0, 0, 0, 1)))


def _footprint(console: LineConsole, footprint: FootprintView, detail: int) -> None:
    summary = (
        f"Footprint: {footprint.distributions}, {footprint.install_size} {footprint.nouns.size_word}, "
        f"{footprint.natives}"
    )
    console.print(Text(summary, style="bold"))
    if footprint.environment:
        console.print(Text(f"Measured in {footprint.environment}", style="dim"))
    for line in footprint.shipped:
        console.print(Text(line, style="dim"))
    if footprint.rows and detail >= 0:
        nouns = footprint.nouns
        table = Table(box=box.SIMPLE)
        table.add_column(nouns.heading)
        table.add_column("Version")
        counted = ("Files", "Native", "Unique") if nouns.counts_files else ("Native",)
        for heading in (nouns.size_heading, *counted):
            table.add_column(heading, justify="right")
        for row in footprint.rows:
            native = Text(row.native_files, "red" if row.native_count else "")
            cells = (row.files, native, row.unique) if nouns.counts_files else (native,)
            table.add_row(row.label, row.version, row.size, *cells)
        console.print(table)
    for name, why in footprint.unmeasured:
        console.print(Text(f"  ? {name} not measured: {why}", style="yellow"))
    if footprint.probe is not None:
        _import_probe(console, footprint.probe)
    elif footprint.not_probed:
        console.print(Text(f"Import: not probed: {footprint.not_probed}", style="dim"))


def _import_probe(console: LineConsole, probe: ProbeView) -> None:
    runs = f"over {probe.runs} runs" if probe.runs > 1 else "in 1 run"
    console.print(
        Text(
            f"Import: {probe.modules} ({probe.outside_stdlib} outside the standard library), "
            f"median {probe.median} {runs}, {probe.imported}"
        )
    )
    if probe.forbidden:
        console.print(Text(f"Forbidden modules loaded: {', '.join(probe.forbidden)}",
                           style="bold red"))
    else:
        console.print(Text("No forbidden module loaded", style="green"))
    for line in probe.lazy:
        console.print(Text(f"Lazy import: {line}"))


def _budgets(console: LineConsole, package: PackageView, detail: int) -> None:
    table = Table(title=f"Budgets ({package.budgets_summary})", box=box.SIMPLE)
    table.add_column("Budget")
    table.add_column("Limit", justify="right")
    table.add_column("Actual", justify="right")
    table.add_column("OK")
    for budget in package.budgets:
        if detail < 0 and budget.ok:
            continue
        table.add_row(
            budget.name,
            budget.limit,
            budget.actual,
            Text("✓", "green") if budget.ok else Text("✗ exceeded", "bold red"),
        )
    console.print(table)


def _comparison(console: LineConsole, comparison: ComparisonView) -> None:
    console.rule(Text("Before and after", style="bold"))
    commit = comparison.before_commit
    console.print(Text(f"before: {comparison.before_path}"
                       + (f" = commit {commit[:12]}" if commit else ""), style="dim"))
    console.print(Text(f"after:  {comparison.after_path}", style="dim"))
    for finding in comparison.before_findings:
        line = Text.assemble(("before: ", "dim"), (finding.level, _LEVEL_STYLES[finding.level]))
        line.append(f"  {finding.message}  [{finding.rule}]")
        console.print(line)
    table = Table(box=box.SIMPLE)
    table.add_column("")
    for heading in ("Before", "After", "Change", "%"):
        table.add_column(heading, justify="right")
    for row in comparison.rows:
        table.add_row(*row.cells)
    console.print(table)
    if comparison.changes:
        _distribution_changes(console, comparison)
    if comparison.goal is not None:
        style = "bold green" if comparison.goal_reached else "bold"
        console.print(Text(comparison.goal, style=style))
    console.print()


def _distribution_changes(console: LineConsole, comparison: ComparisonView) -> None:
    heading = comparison.nouns.heading
    table = Table(title=f"{heading}s that changed", box=box.SIMPLE)
    table.add_column(heading)
    table.add_column("Before", justify="right")
    table.add_column("After", justify="right")
    table.add_column("Change", justify="right")
    for change in comparison.changes:
        table.add_row(
            f"{_STATUS_MARKS[change.status]} {change.label}",
            "-" if change.version_before is None else f"{change.version_before}  {change.size_before}",
            "-" if change.version_after is None else f"{change.version_after}  {change.size_after}",
            change.change,
        )
    console.print(table)


def _summary(console: LineConsole, packages: tuple[PackageView, ...], size_label: str) -> None:
    table = Table(title="Summary", box=box.SIMPLE)
    for heading in ("Package", "Contracts", size_label, "Budgets", "Verdict"):
        table.add_column(heading)
    for package in packages:
        table.add_row(
            Text.assemble(package.name, "\n", (package.path, "dim")),
            package.contracts_summary,
            package.install_size,
            package.budgets_summary,
            Text(package.verdict, _VERDICT_STYLES[package.verdict]),
        )
    console.print(table)
