"""``why``'s answer, the routes from the package's own lines to one distribution or crate,
as JSON or as text laid out like the report: wrapped to the terminal, colour when asked."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.padding import Padding
from rich.text import Text

from cloacina_audit.model.units import format_bytes
from cloacina_audit.render._format import display_path, plural, short_path
from cloacina_audit.render.text import LineConsole, finished, hanging, located, text_console

_ROUTE_INDENT = 2
_CHAIN_INDENT = 4


def render_why(result: dict[str, Any], fmt: str, *, color: bool = False, width: int = 80) -> str:
    if fmt == "json":
        return json.dumps({"schema_version": 1, **result}, indent=2) + "\n"
    buffer = io.StringIO()
    console = text_console(buffer, color=color, width=width)
    if result.get("language") == "rust":
        _rust(console, result)
    else:
        _python(console, result)
    return finished(console)


def _python(console: LineConsole, result: dict[str, Any]) -> None:
    size = format_bytes(result["bytes"]) if result["bytes"] is not None else "unmeasured"
    routes = result["routes"]
    console.print(Text.assemble(
        (f"{result['distribution']} {result['version']}", "bold"),
        f" ({size}, {plural(result['native_files'], 'native file')}) is reached from "
        f"{plural(len(routes), 'statement')} of {result['package']}:",
    ))
    for route in routes:
        _line(console, route["file"], route["line"], route["statement"], None)
        if route["imports"]:
            _chain(console, "imports  ", route["imports"])
        if route["requires"]:
            _chain(console, "requires ", route["requires"])
    if not routes:
        console.print(Padding(Text("none: only the declared dependencies bring it in"),
                              (0, 0, 0, _ROUTE_INDENT)))


def _rust(console: LineConsole, result: dict[str, Any]) -> None:
    std = f", {format_bytes(result['std_bytes'])} more of std only it calls" \
        if result["std_bytes"] else ""
    native = ", links a native library" if result["native_files"] else ""
    routes = result["routes"]
    console.print(Text.assemble(
        (f"{result['crate']} {result['version']}", "bold"),
        f" ({format_bytes(result['text_bytes'])} of .text{std}{native}) is reached from "
        f"{plural(len(routes), 'line')} of {result['package']}:",
    ))
    for route in routes:
        kind = "crate dependency" if route["kind"] == "crate" else "use"
        _line(console, route["file"], route["line"], route["statement"], f"[{kind}]")
        if len(route["crates"]) > 1:
            declared = ", ".join(f"{s['file']}:{s['line']}" for s in route["steps"])
            _chain(console, "crates   ", route["crates"], f"  ({declared})")


def _line(console: LineConsole, file: str, line: int, statement: str, kind: str | None) -> None:
    """An installed file from its ``site-packages`` on, as the report shows it."""
    label = Text(kind, style="bold red") if kind else None
    where = short_path(display_path(file, "."))
    located(console, f"{where}:{line}", statement, label, _ROUTE_INDENT)


def _chain(console: LineConsole, label: str, names: list[str], after: str = "") -> None:
    hanging(console, Text(label, style="dim"), Text(" -> ".join(names) + after), _CHAIN_INDENT)
