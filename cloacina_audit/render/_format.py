"""Small formatting helpers shared by the renderers: sizes, percentages, paths."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..compare import Change, Delta
from ..sizes import format_bytes as format_size
from ..models import (
    BudgetResult,
    DistributionFootprint,
    Finding,
    Footprint,
    ImportStep,
    PackageAudit,
    Violation,
)

#: How each import kind is shown, so a reader tells deferred from module-level
#: from implicit-parent imports at a glance.
KIND_LABELS: dict[str, str] = {
    "module": "module-level",
    "function": "deferred",
    "type_checking": "TYPE_CHECKING",
    "implicit": "implicit parent",
}

def format_signed_size(n: int | float) -> str:
    return ("+" if n > 0 else "") + format_size(n)


def format_percent(pct: float | None) -> str:
    """A signed percentage with one decimal, ``n/a`` when there is no base to compare to."""
    if pct is None:
        return "n/a"
    return f"{pct:+.1f}%"


def format_seconds(seconds: float) -> str:
    if abs(seconds) < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def format_signed_seconds(seconds: float) -> str:
    return ("+" if seconds > 0 else "") + format_seconds(seconds)


def format_count(n: int | float) -> str:
    return f"{n:,}"


def format_signed_count(n: int | float) -> str:
    return f"{n:+,}"


def plural(n: int, noun: str) -> str:
    """``1 distribution``, ``4 distributions``."""
    return f"{format_count(n)} {noun}{'' if n == 1 else 's'}"


def optional_size(n: int | None) -> str:
    return "?" if n is None else format_size(n)


def optional_count(n: int | None) -> str:
    return "?" if n is None else format_count(n)


Formatter = Callable[[Any], str]

#: Metric key -> (label, formatter for a value, formatter for a signed change).
METRICS: dict[str, tuple[str, Formatter, Formatter]] = {
    "distributions": ("Distributions", format_count, format_signed_count),
    "install_bytes": ("Install size", format_size, format_signed_size),
    "native_files": ("Native files", format_count, format_signed_count),
    "native_bytes": ("Native size", format_size, format_signed_size),
    "import_modules": ("Modules imported", format_count, format_signed_count),
    "import_seconds": ("Import time", format_seconds, format_signed_seconds),
}


def metric_cells(key: str, change: Change) -> tuple[str, str, str, str, str]:
    """``(label, before, after, change, %)`` as display strings for one metric."""
    label, fmt, signed = METRICS[key]
    before = "n/a" if change.before is None else fmt(change.before)
    after = "n/a" if change.after is None else fmt(change.after)
    absolute = "n/a" if change.absolute is None else signed(change.absolute)
    return label, before, after, absolute, format_percent(change.percent)


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


#: How contracts that are neither kept nor broken are named.
STATE_LABELS = {"not_applicable": "not applicable", "unverified": "not verified"}


def budgets_summary(audit: PackageAudit) -> str:
    if not audit.budgets:
        return "none"
    met = sum(1 for b in audit.budgets if b.ok)
    return f"{met}/{len(audit.budgets)} met"


def failed_budgets(audit: PackageAudit) -> list[BudgetResult]:
    return [b for b in audit.budgets if not b.ok]


def install_size(audit: PackageAudit) -> str:
    return format_size(audit.footprint.install_bytes) if audit.footprint else "n/a"


def verdict(audit: PackageAudit) -> str:
    """The package's outcome in the words of the exit codes."""
    if not audit.contracts_kept:
        return "contract broken"
    if not audit.budgets_met:
        return "budget exceeded"
    return "ok"


def goal_line(delta: Delta) -> str | None:
    """``Install size: 31.2 MB -> 48.0 KB (-99.8%), goal 80% reduction: reached``."""
    change = delta.install_bytes
    if change.before is None or change.after is None:
        return None
    line = (
        f"Install size: {format_size(change.before)} -> {format_size(change.after)}"
        f" ({format_percent(change.percent)})"
    )
    if delta.target_reduction is None:
        return line
    outcome = {True: "reached", False: "not reached", None: "unknown"}[delta.target_reached]
    return f"{line}, goal {delta.target_reduction * 100:g}% reduction: {outcome}"


def format_budget_value(name: str, value: float | int | str | None) -> str:
    """Byte budgets (``*-size``, ``*-bytes``) as sizes; everything else as given."""
    if value is None:
        return "n/a"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if name.endswith(("size", "bytes")):
            return format_size(value)
        return f"{value:g}" if isinstance(value, float) else format_count(value)
    return str(value)


def chain_line(violation: Violation) -> str:
    """The chain of modules on one line: ``a -> b -> c``."""
    modules = [violation.chain[0].importer] + [step.imported for step in violation.chain]
    return " -> ".join(modules)


def step_location(step: ImportStep, package_path: str, base: str | None = None) -> str:
    """``path:line`` with the path shown relative to ``base``; no line when it is unknown."""
    path = display_path(step.file, package_path, base)
    return f"{path}:{step.line}" if step.line > 0 else path


def step_statement(step: ImportStep) -> str:
    """The import statement; for an implicit step, which parent ``__init__`` runs."""
    if step.statement:
        return f"{step.statement}  ({step.imported}: not installed)" if step.not_installed else (
            step.statement)
    if step.kind == "implicit":
        return f"(runs {step.imported.replace('.', '/')}/__init__.py)"
    return f"import {step.imported}"


def short_path(path: str) -> str:
    """For human formats: an installed file from its ``site-packages`` on."""
    head, marker, tail = path.rpartition("/site-packages/")
    return f".../site-packages/{tail}" if marker and head else path


def finding_location(finding: Finding, package_path: str, base: str | None = None) -> str:
    """``path:line``, ``path``, or empty for a finding without a file."""
    if not finding.file:
        return ""
    path = display_path(finding.file, package_path, base)
    return f"{path}:{finding.line}" if finding.line else path


def display_path(file: str, package_path: str, base: str | None = None) -> str:
    """A file as a forward-slash path relative to ``base`` (default: the cwd) when inside it.

    ``file`` is absolute or relative to ``package_path``; files outside ``base``
    (a site-packages, another checkout) keep their absolute path.
    """
    path = Path(file)
    if not path.is_absolute():
        path = Path(package_path) / path
    absolute = Path(os.path.abspath(path))
    root = Path(os.path.abspath(base or os.getcwd()))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


def distribution_rows(footprint: Footprint) -> list[tuple[str, DistributionFootprint]]:
    """``(label, distribution)`` for a breakdown table: the dependencies largest first,
    then the package itself, labelled as such."""
    rows = [(d.name, d) for d in largest_first(footprint.by_distribution)]
    if footprint.package is not None:
        rows.append((f"{footprint.package.name} (this package)", footprint.package))
    return rows


def largest_first(dists: list[DistributionFootprint]) -> list[DistributionFootprint]:
    """Measured distributions by size, largest first, then the unmeasured ones by name."""
    return sorted(dists, key=lambda d: (d.bytes is None, -(d.bytes or 0), d.name.lower()))
