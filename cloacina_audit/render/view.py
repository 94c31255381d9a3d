"""The report as people read it: what text, Markdown and HTML lay out, computed once.

Plain frozen dataclasses of display strings, built by
:func:`cloacina_audit.render.build.build_view` from an
:class:`~cloacina_audit.model.report.AuditReport`: the summary, each package's contracts
(with their offending statements and chains), findings, footprint and budgets, the
before-and-after comparison and the result line. A renderer only places these strings and
escapes them for its format. A new figure is one field here and one line in the builder of
the same name in ``build.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloacina_audit.model.report import Footprint
from cloacina_audit.render.nouns import PYTHON_NOUNS, Nouns

#: Offending statements shown per contract in Markdown and HTML (a PR comment must stay
#: under GitHub's 65,536 characters); the rest are counted, and JSON and SARIF have them all.
MAX_STATEMENTS = 10


@dataclass(frozen=True)
class StepView:
    """One import of a chain: where, what, and of which kind."""

    location: str  #: ``path:line`` relative to the current directory
    short_location: str  #: the same, an installed file from ``site-packages`` on
    statement: str
    kind: str  #: the stable kind (``module``, ``function``...), for styles
    kind_label: str  #: the kind in the words of the README


@dataclass(frozen=True)
class ChainView:
    line: str  #: ``a -> b -> c`` and the contract type's reason
    steps: tuple[StepView, ...]  #: every step, the statement itself first


@dataclass(frozen=True)
class StatementView:
    """An offending statement: what a person fixes, with the chains that start there."""

    step: StepView
    chains: tuple[ChainView, ...]  #: the chains shown: the best, or every one with -v
    others: int  #: chains from this statement beyond the best one
    hidden: int  #: chains from this statement not shown (``others`` unless -v shows them)
    hidden_text: str  #: ``2 other chains``


@dataclass(frozen=True)
class ContractView:
    name: str
    type: str
    origin: str
    state: str  #: ``kept``, ``broken``, ``not_applicable`` or ``unverified``
    kept: bool
    state_label: str | None  #: ``not applicable``, ``not verified``, or None
    about: str  #: ``forbidden · pyproject.toml · 2 offending statements in 3 chains``
    count: str  #: ``2 offending statements in 3 chains`` (``0 offending statements`` too)
    baselined: str  #: ``2 baselined statements`` (known to ``--baseline``); empty without
    warnings: tuple[str, ...]
    instructions: tuple[str, ...]
    statements: tuple[StatementView, ...]  #: every offending statement, best chain order
    left_out: int  #: statements beyond :data:`MAX_STATEMENTS`

    @property
    def capped_statements(self) -> tuple[StatementView, ...]:
        """The statements a size-limited format shows; ``left_out`` counts the others."""
        return self.statements[:MAX_STATEMENTS]


@dataclass(frozen=True)
class FindingView:
    level: str
    rule: str
    message: str
    location: str  #: ``path:line``, ``path``, or empty for a finding without a file


@dataclass(frozen=True)
class BudgetView:
    name: str
    limit: str
    actual: str
    ok: bool


@dataclass(frozen=True)
class DistributionRow:
    """A line of a footprint's breakdown: dependencies largest first, then the package."""

    label: str
    version: str
    size: str  #: ``?`` when not measured
    files: str
    native_files: str
    native_count: int
    native_size: str  #: empty without native files
    unique: str  #: empty when not computed
    measured: bool
    unmeasured: str  #: why it was not measured; empty when it was


@dataclass(frozen=True)
class ProbeView:
    modules: str  #: ``41 modules``
    outside_stdlib: str  #: ``12``
    median: str  #: ``12 ms``
    runs: int
    imported: str  #: ``importing flow and 3 more modules``
    forbidden: tuple[str, ...]
    #: What the probe saw of each lazy import on a chain (``_format.lazy_import_line``).
    lazy: tuple[str, ...] = ()


@dataclass(frozen=True)
class FootprintView:
    distributions: str  #: ``4 distributions``
    install_size: str
    #: ``14 native files (18.4 MB)``; a Rust package's ``1 native crate`` (its C code has no
    #: crate name in the cdylib, so it has no size of its own: it counts in ``(other)``)
    natives: str
    environment: str
    shipped: tuple[str, ...]  #: the archive, and what the host provides
    rows: tuple[DistributionRow, ...]
    unmeasured: tuple[tuple[str, str], ...]  #: (distribution, why)
    probe: ProbeView | None
    not_probed: str  #: why there was no import probe; empty when there was one or none asked
    nouns: Nouns = PYTHON_NOUNS


@dataclass(frozen=True)
class PackageView:
    index: int  #: position in the report, for anchors
    name: str
    path: str
    verdict: str  #: ``ok``, ``contract broken`` or ``budget exceeded``
    contracts_summary: str  #: ``2/3 kept``
    install_size: str
    budgets_summary: str  #: ``3/4 met``
    checked_contracts: int  #: every contract checked, shown or not
    contracts: tuple[ContractView, ...]  #: the contracts shown (only broken ones with -q)
    findings: tuple[FindingView, ...]
    footprint: FootprintView | None
    budgets: tuple[BudgetView, ...]
    #: (``file:line``, what removing that offending statement saves), most expensive first,
    #: then ``all of them together``; empty when nothing was attributed.
    costs: tuple[tuple[str, str], ...] = ()
    #: How the footprint (Python: install size; Rust: ``.text``) splits across the offending
    #: statements, for the chart: unique to each, shared by several, the rest.
    cost_split: tuple[SplitPart, ...] = ()
    #: What is split: ``install size 40.8 MB``, ``.text 398 kB``.
    cost_split_whole: str = ""


@dataclass(frozen=True)
class SplitPart:
    """One segment of the split of a footprint across the offending statements."""

    label: str  #: ``src/a.py:5 alone``, ``shared by several``, ``the rest``
    kind: str  #: ``unique``, ``shared`` or ``rest``
    size: str  #: ``40.8 MB``
    percent: str  #: ``97.3%``
    #: Its share of the whole, 0 to 1 (for the bar's width).
    share: float


@dataclass(frozen=True)
class MetricRow:
    """A row of the before-and-after table."""

    label: str
    before: str
    after: str
    change: str
    percent: str
    absolute: float | None  #: the signed change, for a direction (smaller is better)
    key: str = ""  #: the metric's JSON key (``install_bytes``); empty for the contract rows
    #: The change in a few characters: the percentage, or the signed change when there is
    #: no base to compare to; empty within noise and for the contract rows.
    delta: str = ""
    #: +1 grew, -1 shrank, 0 unchanged, unknown or within noise.
    trend: int = 0

    @property
    def cells(self) -> list[str]:
        return [self.label, self.before, self.after, self.change, self.percent]


@dataclass(frozen=True)
class DistributionChangeView:
    status: str  #: ``added``, ``removed`` or ``changed``
    label: str
    version_before: str | None
    version_after: str | None
    size_before: str
    size_after: str
    change: str


@dataclass(frozen=True)
class ComparisonView:
    before_name: str
    before_path: str
    before_commit: str | None
    after_name: str
    after_path: str
    before_findings: tuple[FindingView, ...]  #: the before version has no section of its own
    rows: tuple[MetricRow, ...]  #: contracts kept and broken, then every metric
    cards: tuple[MetricRow, ...]  #: the four headline metrics
    goal: str | None
    goal_reached: bool  #: the reduction goal was reached by a real change
    changes: tuple[DistributionChangeView, ...]
    bars: tuple[tuple[str, Footprint], ...]  #: the footprints to chart, before then after
    nouns: Nouns = PYTHON_NOUNS  #: crates when both sides are Rust packages


@dataclass(frozen=True)
class ReportView:
    tool_version: str
    detail: int  #: -1 (``--quiet``), 0, or 1 (``--verbose``)
    packages: tuple[PackageView, ...]
    comparison: ComparisonView | None
    hides_chains: bool  #: a statement shown has chains that are not (``-v`` shows them)
    result: str  #: the last line: contracts, statements, budgets, errors
    measured: tuple[tuple[str, Footprint], ...]  #: each package's footprint, to chart
    #: Nouns of the charted footprints (a crate's when every one is a Rust package's).
    measured_nouns: Nouns
    #: The worst package verdict (``contract broken``, ``budget exceeded``, ``ok``), as the
    #: exit code decides.
    verdict: str = "ok"
    #: ``3 baselined statements`` across the packages when a ``--baseline`` was applied.
    baselined: str = ""
