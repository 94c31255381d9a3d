"""``why DIST [PATH]``: every line of the package's own code that brings DIST (or a crate) in."""

from __future__ import annotations

import json
from typing import Any

from cloacina_audit.app.kinds import kind_of
from cloacina_audit.app.options import AuditOptions
from cloacina_audit.discover.target import open_target
from cloacina_audit.model.units import format_bytes


def why(dist: str, spec: str, options: AuditOptions) -> dict[str, Any]:
    """The routes from the package's lines to ``dist`` (a distribution, or a crate of a Rust
    package), with its bytes: each kind's ``why``."""
    with open_target(spec, options.check.config_file) as target:
        return kind_of(target).why(target, options, dist)


def render_text(result: dict[str, Any]) -> str:
    if result.get("language") == "rust":
        return _render_rust(result)
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


def _render_rust(result: dict[str, Any]) -> str:
    std = f", {format_bytes(result['std_bytes'])} more of std only it calls" \
        if result["std_bytes"] else ""
    native = ", links a native library" if result["native_files"] else ""
    count = len(result["routes"])
    lines = [
        f"{result['crate']} {result['version']} ({format_bytes(result['text_bytes'])} of .text"
        f"{std}{native}) is reached from {count} line{'' if count == 1 else 's'} of "
        f"{result['package']}:"
    ]
    for route in result["routes"]:
        kind = "crate dependency" if route["kind"] == "crate" else "use"
        lines.append(f"  {route['file']}:{route['line']}  {route['statement']}  [{kind}]")
        if len(route["crates"]) > 1:
            declared = ", ".join(f"{s['file']}:{s['line']}" for s in route["steps"])
            lines.append(f"    crates   {' -> '.join(route['crates'])}  ({declared})")
    return "\n".join(lines) + "\n"


def render_json(result: dict[str, Any]) -> str:
    return json.dumps({"schema_version": 1, **result}, indent=2) + "\n"
