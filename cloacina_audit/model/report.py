"""Pure data models shared by every stage of the pipeline.

Nothing in this module touches the file system, runs a process or prints:
analysers produce these objects, renderers consume them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from cloacina_audit.model.cost import StatementCost
    from cloacina_audit.model.lazy import LazyImportLoad

ImportKind = Literal["module", "function", "type_checking", "implicit", "lazy", "crate", "use"]
ContractStatus = Literal["kept", "broken", "not_applicable", "unverified"]

#: How strongly an import binds at run time, strongest first. When one edge of
#: the graph stands for several import statements, the strongest one describes it.
KIND_STRENGTH: dict[str, int] = {"module": 3, "implicit": 2, "lazy": 2, "function": 1,
                                 "type_checking": 0, "crate": 3, "use": 3}


@dataclass(frozen=True)
class ImportStep:
    """One link of an import chain: ``importer`` imports ``imported``."""

    importer: str
    imported: str
    file: str
    line: int
    kind: ImportKind
    statement: str = ""
    #: The imported module is not installed: the statement names it, nothing provides it.
    not_installed: bool = False


@dataclass(frozen=True)
class Violation:
    """A chain of imports that breaks a contract, first importer first."""

    chain: tuple[ImportStep, ...]
    #: Why the chain breaks the contract, when the contract type says (``forbidden_symbols``,
    #: ``allowed_imports``): "not on the server's cloaca", "vendor requests".
    reason: str = ""

    @property
    def source(self) -> str:
        return self.chain[0].importer

    @property
    def target(self) -> str:
        return self.chain[-1].imported

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(step.kind for step in self.chain)


@dataclass
class ContractResult:
    name: str
    type: str
    kept: bool
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Where the contract came from: ``preset:cloacina`` or a config file path.
    origin: str = ""
    #: How to fix a violation, from the contract's ``instructions`` option (one line each).
    instructions: tuple[str, ...] = ()
    #: ``kept`` or ``broken`` as ``kept`` says, or why neither applies:
    #: ``not_applicable`` (the graph holds nothing the contract names; ``kept`` is
    #: True, nothing was checked) or ``unverified`` (a package the contract must
    #: look into is not installed, and that was accepted; ``kept`` is True).
    status: ContractStatus | None = None
    #: Violations a ``--baseline`` file knows: shown as a count, they break nothing.
    baselined: list[Violation] = field(default_factory=list)

    @property
    def state(self) -> ContractStatus:
        if self.status is not None:
            return self.status
        return "kept" if self.kept else "broken"


@dataclass
class DistributionFootprint:
    name: str
    version: str
    bytes: int | None
    files: int | None
    native_files: int = 0
    native_bytes: int = 0
    pyc_bytes: int = 0
    #: Bytes installed outside site-packages (console scripts, data files).
    outside_bytes: int = 0
    #: What would leave the closure with this distribution, for direct dependencies.
    unique_bytes: int | None = None
    direct: bool = False
    #: Why the distribution could not be measured (editable install, no RECORD).
    unmeasured: str | None = None

    @property
    def measured(self) -> bool:
        return self.unmeasured is None


@dataclass
class ImportProbe:
    modules: int
    non_stdlib_modules: int
    forbidden_loaded: list[str]
    seconds_median: float
    peak_rss_bytes: int | None = None
    runs: int = 1
    #: Every module the probe imported, in order: entries first, then submodules.
    entry_modules: list[str] = field(default_factory=list)
    #: ``max - min`` of the runs' import times: a change smaller than this is noise.
    seconds_spread: float = 0.0
    #: ``"module: error"`` for submodules that could not be imported (entries must import).
    failed_imports: list[str] = field(default_factory=list)
    #: Forbidden prefix -> the imported module whose import first loaded it.
    loaded_by: dict[str, str] = field(default_factory=dict)
    #: Every module the entry imports added to ``sys.modules`` (first run), for the cost view.
    loaded_modules: list[str] = field(default_factory=list)
    #: The lazy imports on contract chains and whether this import loaded their targets
    #: (model/lazy.py); filled in by ``report``, which has both the chains and the probe.
    lazy_imports: "list[LazyImportLoad]" = field(default_factory=list)


@dataclass
class HostProvided:
    """What the host provides to a package at run time (Cloacina's ``cloaca``): shown, not counted."""

    name: str
    #: None when it cannot be known (the server's own version).
    version: str | None
    #: Where the figures come from (a wheel given on the command line, or why there are none).
    source: str
    #: Measured from a wheel, when one was given.
    footprint: DistributionFootprint | None = None


@dataclass
class BinaryFootprint:
    """A Rust package's cdylib, as ``cargo build --release --lib`` makes it."""

    file: str
    built_bytes: int
    stripped_bytes: int
    text_bytes: int
    #: ``.text`` bytes per crate from the symbol table; ``std`` is std, core and alloc.
    text_by_crate: dict[str, int] = field(default_factory=dict)
    #: ``std`` and ``(other)`` bytes by the crates whose code calls them (sorted names; ``()``:
    #: no crate's code reaches them), from the call graph; empty when it was not read.
    std_text_by_users: dict[tuple[str, ...], int] = field(default_factory=dict)


@dataclass
class Footprint:
    #: Distributions in the runtime closure, the package itself excluded.
    distributions: int
    #: Bytes on disk of the closure, the package itself included.
    install_bytes: int
    native_files: int
    native_bytes: int
    by_distribution: list[DistributionFootprint] = field(default_factory=list)
    import_probe: ImportProbe | None = None
    #: Why the import was not probed, when it was not.
    import_not_probed: str | None = None
    environment: str = ""
    pyc_bytes: int = 0
    outside_bytes: int = 0
    #: The audited package's own distribution (counted in install_bytes, not in
    #: distributions or by_distribution).
    package: DistributionFootprint | None = None
    #: Size of the ``.cloacina`` archive: the given one, or the one packed from the directory.
    archive_bytes: int | None = None
    #: Files in that archive.
    archive_files: int | None = None
    #: True when cloacina-audit packed the directory, False for an archive given as PATH.
    archive_packed: bool | None = None
    #: Provided by the host, not counted in this footprint.
    host_provided: list[HostProvided] = field(default_factory=list)
    #: Rust packages: the built library (``install_bytes`` is its stripped size).
    binary: BinaryFootprint | None = None
    #: Canonical name -> the closure members it requires (Requires-Dist, markers evaluated);
    #: the package itself under its own name. Read by the cost attribution, not rendered.
    requires: dict[str, list[str]] = field(default_factory=dict)
    #: Top-level import name -> the canonical name of the closure member that provides it.
    import_owners: dict[str, str] = field(default_factory=dict)

    @property
    def unmeasured(self) -> list[DistributionFootprint]:
        """Distributions whose bytes are unknown, the package itself first."""
        every = ([self.package] if self.package else []) + self.by_distribution
        return [d for d in every if not d.measured]


@dataclass(frozen=True)
class BudgetResult:
    name: str
    limit: float | int | str
    actual: float | int | str | None
    ok: bool


@dataclass
class Finding:
    """A problem that is not an import chain: a manifest key, a loader rule, a warning."""

    rule: str
    message: str
    level: Literal["error", "warning", "note"] = "error"
    file: str | None = None
    line: int | None = None


@dataclass
class PackageAudit:
    name: str
    path: str
    contracts: list[ContractResult] = field(default_factory=list)
    footprint: Footprint | None = None
    budgets: list[BudgetResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: For a git-ref baseline: the full commit id the ref resolved to.
    git_commit: str | None = None
    #: What removing each offending statement saves (see model/cost.py), ranked; None when
    #: the footprint or the import graph was not measured.
    costs: "list[StatementCost] | None" = None
    #: What removing every offending statement saves (``importer`` and ``file`` empty).
    costs_together: "StatementCost | None" = None
    #: The file that configures the package (its ``pyproject.toml``), relative to ``path``
    #: like a finding's file: where results about the package as a whole are shown. None
    #: when there is none (a wheel, a requirement, a git-ref baseline).
    config_file: str | None = None
    #: Whether a ``--baseline`` file was applied (violations it knows are in ``baselined``).
    baseline_applied: bool = False

    @property
    def contracts_kept(self) -> bool:
        return all(c.kept for c in self.contracts) and not any(
            f.level == "error" for f in self.findings
        )

    @property
    def budgets_met(self) -> bool:
        return all(b.ok for b in self.budgets)


@dataclass
class Comparison:
    before: PackageAudit
    after: PackageAudit
    target_reduction: float | None = None


@dataclass
class AuditReport:
    packages: list[PackageAudit]
    tool_version: str
    comparison: Comparison | None = None


EXIT_OK = 0
EXIT_CONTRACT_BROKEN = 1
EXIT_INPUT_ERROR = 2
EXIT_BUDGET_EXCEEDED = 3


def exit_code(audits: list[PackageAudit]) -> int:
    """Worst outcome across packages: a broken contract outranks a missed budget."""
    if any(not a.contracts_kept for a in audits):
        return EXIT_CONTRACT_BROKEN
    if any(not a.budgets_met for a in audits):
        return EXIT_BUDGET_EXCEEDED
    return EXIT_OK
