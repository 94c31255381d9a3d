"""The seam between the commands and the kinds of target.

Discovery names a target's kind (``Target.kind``); each kind is one module here
that says what ``check`` and ``footprint`` do with it. The commands never ask
which kind a target is: they call :func:`kind_of` and the protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from cloacina_audit.app.kinds import cloacina_package, importlinter, python, rust
from cloacina_audit.app.options import AuditOptions, CheckOptions
from cloacina_audit.discover.target import Target
from cloacina_audit.model.report import Footprint, PackageAudit

if TYPE_CHECKING:
    from cloacina_audit.analysis.imports.graph import PackageGraph
    from cloacina_audit.model.cost import StatementCost


class TargetKind(Protocol):
    def check(
        self, target: Target, options: CheckOptions
    ) -> tuple[PackageAudit, PackageGraph | None]:
        """The static contracts, never running the target's code; the graph when there is one."""

    def footprint(self, target: Target, options: AuditOptions) -> Footprint:
        """What installing and importing the target costs."""

    def costs(
        self, target: Target, audit: PackageAudit, graph: PackageGraph | None
    ) -> tuple[list[StatementCost], StatementCost] | None:
        """What removing each offending line saves, from the audit's contracts and footprint
        (model/cost.py); None when they say nothing about it."""

    def why(self, target: Target, options: AuditOptions, name: str) -> dict[str, Any]:
        """Every route from the package's own lines to ``name`` (a distribution or a crate)."""


_KINDS: dict[str, TargetKind] = {
    "project": python.KIND,
    "wheel": python.KIND,
    "requirement": python.KIND,
    "importlinter": importlinter.KIND,
    "cloacina_package": cloacina_package.KIND,
    "rust": rust.KIND,
}


def kind_of(target: Target) -> TargetKind:
    return _KINDS[target.kind]


def check_target(target: Target, options: CheckOptions) -> PackageAudit:
    return kind_of(target).check(target, options)[0]
