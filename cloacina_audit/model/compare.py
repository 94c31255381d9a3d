"""Before and after: what changed between two audits of a package.

Pure functions over :mod:`cloacina_audit.model.report`; the renderers show the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from cloacina_audit.errors import AuditError
from cloacina_audit.model.names import canonical_name
from cloacina_audit.model.report import DistributionFootprint, Footprint, PackageAudit

Number = int | float

#: The footprint figures compared, in the order reports show them.
METRIC_KEYS: tuple[str, ...] = (
    "distributions",
    "install_bytes",
    "native_files",
    "native_bytes",
    "import_modules",
    "import_seconds",
)


@dataclass(frozen=True)
class Change:
    """One figure before and after; None where it was not measured."""

    before: Number | None
    after: Number | None
    #: How far the figure moves between identical runs (import time: the larger of the two
    #: sides' spread over their runs); None where it was not measured (a single run).
    noise: Number | None = None

    @property
    def within_noise(self) -> bool:
        """The change is no larger than the measured spread: not shown as a change."""
        return self.absolute is not None and self.noise is not None and abs(self.absolute) <= self.noise

    @property
    def absolute(self) -> Number | None:
        """Signed change, ``after - before``."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def percent(self) -> float | None:
        """Signed change in percent of ``before``; None when ``before`` is 0 or unknown."""
        if self.absolute is None or not self.before:
            return None
        return self.absolute / self.before * 100


DistributionStatus = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class DistributionChange:
    """A distribution that appeared, disappeared, or changed version or size."""

    name: str
    status: DistributionStatus
    version_before: str | None
    version_after: str | None
    bytes_before: int | None
    bytes_after: int | None
    #: The audited package's own distribution (not part of ``distributions``).
    package: bool = False

    @property
    def bytes(self) -> Change:
        """Size change; a missing side counts as 0 bytes, an unmeasured one as unknown."""
        before = 0 if self.status == "added" else self.bytes_before
        after = 0 if self.status == "removed" else self.bytes_after
        return Change(before, after)


@dataclass(frozen=True)
class ContractChange:
    """Whether one contract was kept before and after; None where it was not checked."""

    name: str
    kept_before: bool | None
    kept_after: bool | None


@dataclass(frozen=True)
class Delta:
    distributions: Change
    install_bytes: Change
    native_files: Change
    native_bytes: Change
    import_modules: Change
    import_seconds: Change
    distribution_changes: list[DistributionChange] = field(default_factory=list)
    contracts: list[ContractChange] = field(default_factory=list)
    #: The goal as a fraction (0.8 for "80%"), when one was set.
    target_reduction: float | None = None
    #: The ``.cloacina`` archive's size, for Cloacina packages.
    archive_bytes: Change = Change(None, None)
    #: The audited package's own bytes (counted in ``install_bytes``).
    package_bytes: Change = field(default_factory=lambda: Change(None, None))
    #: Before and after measured the same: same package, version, closure and bytes.
    identical: bool = False

    def metrics(self) -> list[tuple[str, Change]]:
        """``(key, change)`` for every compared figure, in :data:`METRIC_KEYS` order, then
        the archive size when either side has an archive."""
        metrics = [(key, getattr(self, key)) for key in METRIC_KEYS]
        if (self.archive_bytes.before, self.archive_bytes.after) != (None, None):
            metrics.append(("archive_bytes", self.archive_bytes))
        return metrics

    @property
    def reduction(self) -> float | None:
        """How much smaller the install got, as a fraction of before (negative: it grew)."""
        change = self.install_bytes
        if change.absolute is None or not change.before:
            return None
        return -change.absolute / change.before

    @property
    def target_reached(self) -> bool | None:
        """Whether the reduction goal is met. Information, not a verdict: budgets
        (``max-install-growth``) judge an ordinary change, and reports show a package
        compared with itself (:attr:`identical`) with a notice instead of the goal."""
        if self.target_reduction is None or self.reduction is None:
            return None
        return self.reduction >= self.target_reduction

    @property
    def contracts_kept(self) -> Change:
        return Change(
            sum(1 for c in self.contracts if c.kept_before),
            sum(1 for c in self.contracts if c.kept_after),
        )

    @property
    def contracts_broken(self) -> Change:
        return Change(
            sum(1 for c in self.contracts if c.kept_before is False),
            sum(1 for c in self.contracts if c.kept_after is False),
        )


def compute_delta(
    before: PackageAudit, after: PackageAudit, target_reduction: float | None = None
) -> Delta:
    """Compare two audits of a package (usually two versions of it)."""
    fb, fa = before.footprint, after.footprint
    package_rows = _package_changes(fb, fa)
    return Delta(
        distributions=Change(_figure(fb, "distributions"), _figure(fa, "distributions")),
        install_bytes=Change(_figure(fb, "install_bytes"), _figure(fa, "install_bytes")),
        native_files=Change(_figure(fb, "native_files"), _figure(fa, "native_files")),
        native_bytes=Change(_figure(fb, "native_bytes"), _figure(fa, "native_bytes")),
        import_modules=Change(_probe_figure(fb, "modules"), _probe_figure(fa, "modules")),
        import_seconds=Change(
            _probe_figure(fb, "seconds_median"), _probe_figure(fa, "seconds_median"),
            noise=_seconds_noise(fb, fa),
        ),
        distribution_changes=package_rows + distribution_changes(
            fb.by_distribution if fb else [], fa.by_distribution if fa else []
        ),
        contracts=contract_changes(before, after),
        target_reduction=target_reduction,
        archive_bytes=Change(_figure(fb, "archive_bytes"), _figure(fa, "archive_bytes")),
        package_bytes=Change(_package_bytes(fb), _package_bytes(fa)),
        identical=_identical(fb, fa),
    )


def _package_changes(before: Footprint | None, after: Footprint | None) -> list[DistributionChange]:
    """The package's own row, first, when both sides measured it and it changed."""
    if before is None or after is None or before.package is None or after.package is None:
        return []
    rows = distribution_changes([before.package], [after.package])
    return [replace(row, package=True) for row in rows]


def _package_bytes(footprint: Footprint | None) -> int | None:
    return footprint.package.bytes if footprint and footprint.package else None


def _seconds_noise(before: Footprint | None, after: Footprint | None) -> float | None:
    probes = [f.import_probe if f else None for f in (before, after)]
    if any(p is None or p.runs < 2 for p in probes):
        return None
    return max(p.seconds_spread for p in probes if p is not None)


def _identical(before: Footprint | None, after: Footprint | None) -> bool:
    """Same package and version, same closure, same bytes: nothing to compare."""
    if before is None or after is None or before.package is None or after.package is None:
        return False

    def shape(footprint: Footprint, package: DistributionFootprint) -> object:
        rows = sorted((canonical_name(d.name), d.version, d.bytes) for d in footprint.by_distribution)
        return (canonical_name(package.name), package.version, package.bytes,
                footprint.install_bytes, rows)

    return shape(before, before.package) == shape(after, after.package)


def distribution_changes(
    before: list[DistributionFootprint], after: list[DistributionFootprint]
) -> list[DistributionChange]:
    """Rows that appear, disappear or change (version or bytes), matched by canonical name.

    Removed and changed rows come in ``before`` order, added rows after them in
    ``after`` order.
    """
    old = {canonical_name(d.name): d for d in before}
    new = {canonical_name(d.name): d for d in after}
    changes: list[DistributionChange] = []
    for name, b in old.items():
        a = new.get(name)
        if a is None:
            changes.append(DistributionChange(name, "removed", b.version, None, b.bytes, None))
        elif (a.version, a.bytes) != (b.version, b.bytes):
            changes.append(
                DistributionChange(name, "changed", b.version, a.version, b.bytes, a.bytes)
            )
    for name, a in new.items():
        if name not in old:
            changes.append(DistributionChange(name, "added", None, a.version, None, a.bytes))
    return changes


def contract_changes(before: PackageAudit, after: PackageAudit) -> list[ContractChange]:
    """Every contract of either side by name, ``before`` order first."""
    old = {c.name: c.kept for c in before.contracts}
    new = {c.name: c.kept for c in after.contracts}
    names = list(old) + [n for n in new if n not in old]
    return [ContractChange(n, old.get(n), new.get(n)) for n in names]


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_FRACTION = re.compile(r"^\s*(0(?:\.\d+)?|1(?:\.0+)?|\.\d+)\s*$")


def parse_reduction(value: str | float) -> float:
    """A reduction goal as a fraction: ``"80%"`` -> 0.8; ``0.8`` and ``"0.8"`` too.

    Anything else (a bare ``80``, a negative number, more than 100%) is an
    :class:`AuditError` naming the value.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = repr(float(value))
    elif isinstance(value, str):
        text = value
    else:
        raise AuditError(f"target reduction {value!r}: expected a percentage such as '80%'")
    match = _PERCENT.match(text)
    if match:
        fraction = float(match.group(1)) / 100
    elif _FRACTION.match(text):
        fraction = float(text)
    else:
        raise AuditError(f"target reduction {value!r}: expected a percentage such as '80%'")
    if not 0 < fraction <= 1:
        raise AuditError(f"target reduction {value!r}: must be more than 0% and at most 100%")
    return fraction


def _figure(footprint: Footprint | None, key: str) -> Number | None:
    return getattr(footprint, key) if footprint else None


def _probe_figure(footprint: Footprint | None, key: str) -> Number | None:
    if footprint is None or footprint.import_probe is None:
        return None
    value: int | float | None = getattr(footprint.import_probe, key)
    return value
