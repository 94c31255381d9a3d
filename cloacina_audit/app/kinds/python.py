"""Python projects, wheels and requirements: graphed from their sources, installed with uv.

A project is graphed from its tree; a wheel or a requirement from its own
isolated environment (``Target.install`` says which). Their footprint is their
runtime closure in an environment, and what importing them loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloacina_audit.app.options import AuditOptions, CheckOptions
from cloacina_audit.discover.target import Target
from cloacina_audit.model.report import Footprint, PackageAudit

if TYPE_CHECKING:
    from cloacina_audit.analysis.imports.graph import PackageGraph
    from cloacina_audit.model.cost import StatementCost

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

    def costs(
        self, target: Target, audit: PackageAudit, graph: PackageGraph | None
    ) -> tuple[list[StatementCost], StatementCost] | None:
        if graph is None or audit.footprint is None or not audit.footprint.requires:
            return None
        # Imported here: it needs the graph, which footprint alone never loads.
        from cloacina_audit.analysis.footprint.cost import statement_costs

        costs = statement_costs(graph, target.packages, audit.footprint, audit.contracts)
        graph.kinds.save()
        return costs

    def why(self, target: Target, options: AuditOptions, name: str) -> dict[str, Any]:
        from cloacina_audit.analysis.footprint.cost import Reach, routes_to
        from cloacina_audit.errors import AuditError, NothingToCheck
        from cloacina_audit.model.names import canonical_name
        from cloacina_audit.render._format import display_path

        wanted = canonical_name(name)
        try:
            _audit, graph = self.check(target, options.check)
        except NothingToCheck as exc:
            raise AuditError(f"{target.spec}: {exc}: no import statements to follow") from None
        if graph is None:
            raise AuditError(f"{target.spec}: no import graph to follow")
        footprint = self.footprint(target, options)
        rows = {canonical_name(r.name): r for r in footprint.by_distribution}
        if wanted not in rows:
            raise AuditError(
                f"{name}: not in the runtime closure of {target.name} "
                f"({len(rows)} distributions: {', '.join(sorted(rows)) or 'none'})"
            )
        row = rows[wanted]
        routes = routes_to(Reach(graph, target.packages, footprint), wanted)
        for route in routes:
            path = graph.module_file(str(route["importer"]))
            route["file"] = display_path(target.show(str(path)), target.spec) if path \
                else route["importer"]
        return {
            "package": target.name, "path": target.spec, "distribution": row.name,
            "version": row.version, "bytes": row.bytes, "native_files": row.native_files,
            "direct": row.direct, "routes": routes,
        }


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
