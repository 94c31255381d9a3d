"""``why DIST [PATH]``: every statement of the package's own code that brings DIST in."""

from __future__ import annotations

import json
from typing import Any

from cloacina_audit.analysis.footprint.cost import Reach, routes_to
from cloacina_audit.app.kinds import kind_of
from cloacina_audit.app.options import AuditOptions
from cloacina_audit.discover.target import open_target
from cloacina_audit.errors import AuditError, NothingToCheck
from cloacina_audit.model.names import canonical_name
from cloacina_audit.model.units import format_bytes
from cloacina_audit.render._format import display_path


def why(dist: str, spec: str, options: AuditOptions) -> dict[str, Any]:
    """The routes from the package's lines to ``dist``, with its bytes (see routes_to)."""
    wanted = canonical_name(dist)
    with open_target(spec, options.check.config_file) as target:
        try:
            _audit, graph = kind_of(target).check(target, options.check)
        except NothingToCheck as exc:
            raise AuditError(f"{spec}: {exc}: no import statements to follow") from None
        if graph is None:
            raise AuditError(f"{spec}: no import graph to follow")
        footprint = kind_of(target).footprint(target, options)
        rows = {canonical_name(r.name): r for r in footprint.by_distribution}
        if wanted not in rows:
            raise AuditError(
                f"{dist}: not in the runtime closure of {target.name} "
                f"({len(rows)} distributions: {', '.join(sorted(rows)) or 'none'})"
            )
        row = rows[wanted]
        reach = Reach(graph, target.packages, footprint)
        routes = routes_to(reach, wanted)
        for route in routes:
            path = graph.module_file(str(route["importer"]))
            route["file"] = display_path(target.show(str(path)), spec) if path else route["importer"]
        return {
            "package": target.name, "path": target.spec, "distribution": row.name,
            "version": row.version, "bytes": row.bytes, "native_files": row.native_files,
            "direct": row.direct, "routes": routes,
        }


def render_text(result: dict[str, Any]) -> str:
    size = format_bytes(result["bytes"]) if result["bytes"] is not None else "unmeasured"
    lines = [
        f"{result['distribution']} {result['version']} ({size}, "
        f"{result['native_files']} native files) is reached from "
        f"{len(result['routes'])} statements of {result['package']}:"
    ]
    for route in result["routes"]:
        lines.append(f"  {route['file']}:{route['line']}  {route['statement']}")
        if route["imports"]:
            lines.append(f"    imports  {' -> '.join(route['imports'])}")
        if route["requires"]:
            lines.append(f"    requires {' -> '.join(route['requires'])}")
    if not result["routes"]:
        lines.append("  none: only the declared dependencies bring it in")
    return "\n".join(lines) + "\n"


def render_json(result: dict[str, Any]) -> str:
    return json.dumps({"schema_version": 1, **result}, indent=2) + "\n"
