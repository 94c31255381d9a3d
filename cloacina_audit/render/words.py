"""The words of a report's sections, for every human format: verdicts, summaries of
contracts and budgets, the result line, what a footprint ships and loads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cloacina_audit.model.compare import DistributionChange
from cloacina_audit.model.report import (
    BinaryFootprint,
    Footprint,
    ImportProbe,
    PackageAudit,
    Violation,
)
from cloacina_audit.model.units import format_bytes as format_size
from cloacina_audit.render._format import STATE_LABELS, StatementGroup, plural, statement_key


def verdict(audit: PackageAudit) -> str:
    """The package's outcome in the words of the exit codes."""
    if not audit.contracts_kept:
        return "contract broken"
    if not audit.budgets_met:
        return "budget exceeded"
    return "ok"


def contracts_summary(audit: PackageAudit) -> str:
    """``2/3 kept``; ``none`` when no contract was checked."""
    if not audit.contracts:
        return "none"
    kept = sum(1 for c in audit.contracts if c.state == "kept")
    summary = f"{kept}/{len(audit.contracts)} kept"
    for state, label in STATE_LABELS.items():
        count = sum(1 for c in audit.contracts if c.state == state)
        summary += f", {count} {label}" if count else ""
    return summary


def budgets_summary(audit: PackageAudit) -> str:
    if not audit.budgets:
        return "none"
    met = sum(1 for b in audit.budgets if b.ok)
    return f"{met}/{len(audit.budgets)} met"


def statement_count(violations: Sequence[Violation], groups: Sequence[StatementGroup]) -> str:
    """``"4 offending statements in 12 chains"``: the size of a broken contract, as every
    human format heads it (the chains only when there are more of them than statements)."""
    count = plural(len(groups), "offending statement")
    if len(violations) > len(groups):
        count += f" in {plural(len(violations), 'chain')}"
    return count


def summary_line(audits: Sequence[PackageAudit]) -> str:
    """One line to end a report with: ``2 contracts: 0 kept, 2 broken; 4 offending
    statements in 12 import chains``, then budgets and error findings when there are any."""
    parts = []
    contracts = [c for audit in audits for c in audit.contracts]
    broken = [c for c in contracts if not c.kept]
    if contracts:
        kept = len(contracts) - len(broken)
        parts.append(f"{plural(len(contracts), 'contract')}: {kept} kept, {len(broken)} broken")
    if broken:
        chains = sum(len(c.violations) for c in broken)
        parts.append(
            f"{plural(offending_statements(audits), 'offending statement')}"
            f" in {plural(chains, 'import chain')}"
        )
    budgets = [b for audit in audits for b in audit.budgets]
    if budgets:
        exceeded = sum(1 for b in budgets if not b.ok)
        parts.append(f"{plural(len(budgets), 'budget')}: {len(budgets) - exceeded} met, {exceeded} exceeded")
    errors = sum(1 for audit in audits for f in audit.findings if f.level == "error")
    if errors:
        parts.append(f"{plural(errors, 'error')} in findings")
    return "; ".join(parts) or "no contracts or budgets checked"


def offending_statements(audits: Iterable[PackageAudit]) -> int:
    """Distinct statements that start a violation, across every contract."""
    return len(
        {
            (audit.path, *statement_key(violation.chain[0]))
            for audit in audits
            for contract in audit.contracts
            for violation in contract.violations
        }
    )


def shipped_lines(footprint: Footprint) -> list[str]:
    """The archive a Cloacina package ships, and what the host provides without counting it."""
    lines = []
    if footprint.binary is not None:
        lines += binary_lines(footprint.binary)
    if footprint.archive_bytes is not None:
        files = f", {plural(footprint.archive_files, 'file')}" if footprint.archive_files else ""
        packed = " (packed here as cloacinactl packs it)" if footprint.archive_packed else ""
        lines.append(f"Archive: {format_size(footprint.archive_bytes)}{files}{packed}")
    for host in footprint.host_provided:
        measured = host.footprint.bytes if host.footprint else None
        size = f", {format_size(measured)}" if measured else ""
        lines.append(
            f"Provided by the host, not counted: {host.name} "
            f"{host.version or '(version unknown)'}{size}: {host.source}"
        )
    return lines


def binary_lines(binary: BinaryFootprint) -> list[str]:
    """The cdylib's bytes, and what its ``.text`` is made of: std, the package, each crate."""
    shares = sorted(binary.text_by_crate.items(), key=lambda item: (-item[1], item[0]))
    parts = [f"{name} {format_size(size)} ({size / binary.text_bytes:.0%})" if binary.text_bytes
             else f"{name} {format_size(size)}" for name, size in shares if size]
    return [
        f"Binary {binary.file}: {format_size(binary.stripped_bytes)} stripped, "
        f"{format_size(binary.built_bytes)} as built",
        f".text {format_size(binary.text_bytes)}: {', '.join(parts)}",
    ]


def imported_modules(probe: ImportProbe) -> str:
    """What the probe imported, so that no one reads more into it: ``importing flow and
    3 of its modules``, or ``importing flow, helpers``."""
    entries = probe.entry_modules
    tops = [m for m in entries if not any(m.startswith(t + ".") for t in entries if t != m)]
    rest = len(entries) - len(tops)
    if not entries:
        return ""
    if rest:
        return f"importing {', '.join(tops)} and {plural(rest, 'more module')}"
    return f"importing {', '.join(tops)}"


def distribution_label(change: DistributionChange) -> str:
    return f"{change.name} (this package)" if change.package else change.name
