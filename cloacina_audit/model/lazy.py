"""Whether the import probe loaded the target of each PEP 810 lazy import on a chain.

A ``lazy import`` runs on first use, not at import time: importing the package should
leave its target out of ``sys.modules``. The probe's list of loaded modules says whether
it did. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cloacina_audit.model.report import ContractResult, ImportProbe


@dataclass(frozen=True)
class LazyImportLoad:
    """One lazy import statement (``importer`` -> ``imported``) and what the probe saw."""

    importer: str
    imported: str
    file: str
    line: int
    statement: str
    #: ``imported`` was among the modules the probe's imports loaded.
    loaded: bool
    #: ``importer`` itself was loaded; when it was not, nothing was learnt about the
    #: statement (a Python before 3.15 cannot even parse ``lazy import``).
    importer_loaded: bool
    #: Why the probe could not import ``importer`` (``SyntaxError: invalid syntax``), or "".
    importer_failed: str = ""


def lazy_import_loads(contracts: Iterable[ContractResult], probe: ImportProbe) -> list[LazyImportLoad]:
    """Every distinct lazy step on the contracts' chains (baselined ones too), sorted."""
    loaded = set(probe.loaded_modules)
    failures = dict(failure.split(": ", 1) for failure in probe.failed_imports if ": " in failure)
    found = {}
    for contract in contracts:
        for violation in [*contract.violations, *contract.baselined]:
            for step in violation.chain:
                if step.kind != "lazy":
                    continue
                found[(step.file, step.line, step.importer, step.imported)] = LazyImportLoad(
                    importer=step.importer,
                    imported=step.imported,
                    file=step.file,
                    line=step.line,
                    statement=step.statement,
                    loaded=step.imported in loaded,
                    importer_loaded=step.importer in loaded,
                    importer_failed=failures.get(step.importer, ""),
                )
    return [found[key] for key in sorted(found)]
