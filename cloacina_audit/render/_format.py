"""Wording shared by every renderer: sizes, counts, paths, import steps, statement groups.

The sections of the human formats are computed once in :mod:`cloacina_audit.render.view`;
these helpers are the words that view (and the machine formats) are made of.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloacina_audit.model.compare import Change, Delta
from cloacina_audit.model.lazy import LazyImportLoad
from cloacina_audit.model.names import canonical_name
from cloacina_audit.model.report import (
    BudgetResult,
    ContractResult,
    DistributionFootprint,
    Finding,
    ImportStep,
    PackageAudit,
    Violation,
)
from cloacina_audit.model.units import format_bytes as format_size
from cloacina_audit.render.nouns import PYTHON_NOUNS, Nouns

#: How each import kind is shown in every format meant for people (the README's table uses
#: the same words); JSON and SARIF properties keep the stable ``kind`` values, the keys here.
KIND_LABELS: dict[str, str] = {
    "module": "module-level",
    "function": "deferred",
    "type_checking": "TYPE_CHECKING",
    "implicit": "implicit parent",
    "lazy": "lazy",
    "crate": "crate dependency",
    "use": "use",
}


@dataclass(frozen=True)
class StatementGroup:
    """The violations of one contract that start at one statement: what a person fixes.

    ``violations`` keep the order the contract check gave them, so the first is the
    best chain (the check puts what runs at import time and shortest first).
    """

    violations: tuple[Violation, ...]

    @property
    def statement(self) -> ImportStep:
        return self.violations[0].chain[0]

    @property
    def best(self) -> Violation:
        return self.violations[0]

    @property
    def others(self) -> int:
        return len(self.violations) - 1


def statement_key(step: ImportStep) -> tuple[str, int, str]:
    """Chains that start on the same line of the same file start at the same statement."""
    return (step.file, step.line, step.imported if step.line <= 0 else "")


def group_by_statement(violations: Iterable[Violation]) -> list[StatementGroup]:
    """Violations grouped by their first step, groups in the order of their best chain."""
    groups: dict[tuple[str, int, str], list[Violation]] = {}
    for violation in violations:
        groups.setdefault(statement_key(violation.chain[0]), []).append(violation)
    return [StatementGroup(tuple(group)) for group in groups.values()]


def baselined_count(contract: ContractResult) -> str:
    """``"2 baselined statements"`` (known to the --baseline file, not shown), or ``""``."""
    if not contract.baselined:
        return ""
    return plural(len(group_by_statement(contract.baselined)), "baselined statement")


def baselined_total(audits: Iterable[PackageAudit]) -> str:
    """``"3 baselined statements"``: distinct statements a --baseline file knows, across the
    packages it was applied to; ``""`` when none was applied."""
    applied = [audit for audit in audits if audit.baseline_applied]
    if not applied:
        return ""
    statements = {
        (audit.path, *statement_key(violation.chain[0]))
        for audit in applied
        for contract in audit.contracts
        for violation in contract.baselined
    }
    return plural(len(statements), "baselined statement")


def distribution_name(name: str) -> str:
    """Every table spells a distribution one way: its canonical (PEP 503) name."""
    return canonical_name(name)


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


#: How contracts that are neither kept nor broken are named.
STATE_LABELS = {"not_applicable": "not applicable", "unverified": "not verified"}


def failed_budgets(audit: PackageAudit) -> list[BudgetResult]:
    return [b for b in audit.budgets if not b.ok]


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
    """The chain of modules on one line, ``a -> b -> c``, and why it breaks the contract when
    the contract type says (``a -> cloaca  (host only: ...)``)."""
    modules = [violation.chain[0].importer] + [step.imported for step in violation.chain]
    reason = f"  ({violation.reason})" if violation.reason else ""
    return " -> ".join(modules) + reason


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
    cwd = os.getcwd()
    return _relative(file, package_path, base or cwd, cwd)


@functools.lru_cache(maxsize=4096)
def _relative(file: str, package_path: str, base: str, cwd: str) -> str:
    # Cached (the cwd in the key, for the relative paths' sake): a report names
    # the same files at every step of its chains.
    path = Path(file)
    if not path.is_absolute():
        path = Path(package_path) / path
    absolute = Path(os.path.abspath(path))
    root = Path(os.path.abspath(base))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


def largest_first(dists: list[DistributionFootprint]) -> list[DistributionFootprint]:
    """Measured distributions by size, largest first, then the unmeasured ones by name."""
    return sorted(dists, key=lambda d: (d.bytes is None, -(d.bytes or 0), d.name.lower()))


Formatter = Callable[[Any], str]

#: Metric key -> (label, formatter for a value, formatter for a signed change).
METRICS: dict[str, tuple[str, Formatter, Formatter]] = {
    "distributions": ("Distributions", format_count, format_signed_count),
    "install_bytes": ("Install size", format_size, format_signed_size),
    "native_files": ("Native files", format_count, format_signed_count),
    "native_bytes": ("Native size", format_size, format_signed_size),
    "import_modules": ("Modules imported", format_count, format_signed_count),
    "import_seconds": ("Import time", format_seconds, format_signed_seconds),
    "archive_bytes": ("Archive size", format_size, format_signed_size),
}


def metric_cells(key: str, change: Change, nouns: Nouns = PYTHON_NOUNS
                 ) -> tuple[str, str, str, str, str]:
    """``(label, before, after, change, %)`` as display strings for one metric."""
    label, fmt, signed = METRICS[key]
    label = nouns.metric_label(key, label)
    before = "n/a" if change.before is None else fmt(change.before)
    after = "n/a" if change.after is None else fmt(change.after)
    absolute = "n/a" if change.absolute is None else signed(change.absolute)
    if change.within_noise:  # smaller than the spread of identical runs: not a change
        return label, before, after, f"within noise (±{signed(change.noise).lstrip('+')})", ""
    return label, before, after, absolute, format_percent(change.percent)


def goal_line(delta: Delta, nouns: Nouns = PYTHON_NOUNS) -> str | None:
    """``Install size: 31.2 MB -> 48.0 KB (-99.8%), goal 80% reduction: reached``.

    Information, never a failure (budgets judge a change); a notice when nothing changed.
    """
    change = delta.install_bytes
    if change.before is None or change.after is None:
        return None
    if delta.identical:
        return "Before and after are the same package, closure and bytes: nothing changed"
    line = (
        f"{nouns.size_label}: "
        f"{format_size(change.before)} -> {format_size(change.after)}"
        f" ({format_percent(change.percent)})"
    )
    if delta.target_reduction is None:
        return line
    outcome = {True: "reached", False: "not reached", None: "unknown"}[delta.target_reached]
    return f"{line}, goal {delta.target_reduction * 100:g}% reduction: {outcome}"


def lazy_import_line(lazy: LazyImportLoad, package_path: str) -> str:
    """``lazy import lz.db (lz/tasks.py:2): lz.db not loaded at import time``: what the
    probe saw of a PEP 810 lazy import on a chain."""
    where = display_path(lazy.file, package_path)
    head = f"{lazy.statement or 'lazy import ' + lazy.imported} ({where}:{lazy.line})"
    if lazy.loaded:
        return f"{head}: {lazy.imported} was loaded at import time anyway"
    if lazy.importer_loaded:
        return f"{head}: {lazy.imported} not loaded at import time"
    why = f" ({lazy.importer_failed})" if lazy.importer_failed else ""
    return (f"{head}: {lazy.imported} not loaded; {lazy.importer} itself was not "
            f"imported{why}")
