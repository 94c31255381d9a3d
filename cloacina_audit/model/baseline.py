"""Baselines for gradual adoption: today's violations, recorded, so that only new ones fail.

A violation is known by the offending statement it starts at: the package, the
contract, the importing module, the module its statement imports and the
statement's text. Not by line number (moving code keeps the entry) and not by
a count (swapping one forbidden import for another is a new violation).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from cloacina_audit.model.report import ContractResult, Finding, PackageAudit, Violation

#: The rule of the note a stale entry becomes.
STALE_RULE = "baseline-stale"


@dataclass(frozen=True, order=True)
class BaselineEntry:
    package: str
    contract: str
    importer: str
    imported: str
    statement: str

    def describe(self) -> str:
        statement = f" ({self.statement})" if self.statement else ""
        return f"{self.contract}: {self.importer} -> {self.imported}{statement}"

    @property
    def fingerprint(self) -> str:
        """Stable across runs and machines: SARIF's ``partialFingerprints`` value."""
        text = "\0".join((self.package, self.contract, self.importer, self.imported, self.statement))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def entry_of(package: str, contract: ContractResult, violation: Violation) -> BaselineEntry:
    first = violation.chain[0]
    return BaselineEntry(
        package=package,
        contract=contract.name,
        importer=first.importer,
        imported=first.imported,
        statement=" ".join(first.statement.split()),
    )


def entries_of(audits: list[PackageAudit]) -> list[BaselineEntry]:
    """Every violation of ``audits`` (baselined ones included), sorted, without repeats."""
    found = {
        entry_of(audit.name, contract, violation)
        for audit in audits
        for contract in audit.contracts
        for violation in [*contract.violations, *contract.baselined]
    }
    return sorted(found)


def apply_baseline(audits: list[PackageAudit], baseline: list[BaselineEntry]) -> None:
    """Move the violations ``baseline`` knows into ``ContractResult.baselined``.

    A contract is broken only by what is left; entries of an audited package
    that match nothing any more are reported as stale notes (rewrite the file
    with ``--write-baseline`` to drop them).
    """
    known = set(baseline)
    seen: set[BaselineEntry] = set()
    for audit in audits:
        audit.baseline_applied = True
        for index, contract in enumerate(audit.contracts):
            new: list[Violation] = []
            old: list[Violation] = []
            for violation in contract.violations:
                entry = entry_of(audit.name, contract, violation)
                (old if entry in known else new).append(violation)
                seen.add(entry)
            if old:
                audit.contracts[index] = replace(
                    contract, violations=new, baselined=[*contract.baselined, *old],
                    kept=contract.kept or not new,
                )
        audit.findings += [
            Finding(rule=STALE_RULE, level="note",
                    message=f"baseline entry matches nothing any more: {entry.describe()} "
                            "(--write-baseline rewrites the file without it)")
            for entry in sorted(known - seen) if entry.package == audit.name
        ]
