"""Python projects, wheels and requirements: graphed from their sources, installed with uv.

A project is graphed from its tree; a wheel or a requirement from its own
isolated environment (``Target.install`` says which). Their footprint is their
runtime closure in an environment, and what importing them loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloacina_audit.app.options import AuditOptions, CheckOptions
from cloacina_audit.discover.target import Target
from cloacina_audit.model.report import Footprint, PackageAudit

if TYPE_CHECKING:
    from cloacina_audit.analysis.imports.graph import PackageGraph

# The check and footprint stacks are imported where they are used: ``footprint``
# loads no graph or contract engine, ``check`` no installer or probe (start-up).


class PythonKind:
    def check(self, target: Target, options: CheckOptions) -> tuple[PackageAudit, PackageGraph | None]:
        from cloacina_audit.app.check import check_python

        return check_python(target, options)

    def footprint(self, target: Target, options: AuditOptions) -> Footprint:
        from cloacina_audit.app.footprint import measure_footprint

        return measure_footprint(
            target,
            env=options.env,
            cache_dir=options.check.cache_dir,
            forbidden_modules=forbidden_modules(target, options.check),
            probe_runs=options.probe_runs,
            timeout=options.import_timeout,
            progress=options.progress,
            python=options.check.python if options.env == "current" else None,
        )


def forbidden_modules(target: Target, options: CheckOptions) -> list[str]:
    """Modules the target's forbidden contracts name: the probe reports which got loaded.

    This is the run-time side of the contracts: it also catches what static
    analysis cannot see (an entry-point plugin, an ``importlib`` call).
    """
    from cloacina_audit.app.check import contract_specs

    modules: list[str] = []
    for spec in contract_specs(target, options):
        if spec.options.get("type") != "forbidden":
            continue
        value = spec.options.get("forbidden_modules", [])
        modules += [value] if isinstance(value, str) else list(value)
    return sorted(set(modules))


KIND = PythonKind()
