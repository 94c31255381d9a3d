"""The shape of ``package.toml`` as the server's structs declare it, and how a
finding names the key and line it is about.

See :mod:`.manifest` for where each struct lives in fidius and Cloacina.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Literal

from cloacina_audit.model.report import Finding

Language = Literal["python", "rust"]
Level = Literal["error", "warning", "note"]

DEFAULT_INTERFACE = "cloacina-workflow-plugin"
DEFAULT_INTERFACE_VERSION = 1
DEFAULT_EXTENSION = "cloacina"
U32_MAX = 2**32 - 1
#: A provider path or version that still has to be rewritten before packing.
WORKSPACE_PLACEHOLDER = "__WORKSPACE__"

#: ``PackageManifest<M>``'s fields.
TOP_LEVEL_KEYS = {"package", "metadata", "python", "wasm"}
#: ``PackageHeader``'s fields.
PACKAGE_KEYS = {"name", "version", "interface", "interface_version", "extension", "runtime"}
#: ``PackageHeader::runtime_strict``: what ``load_manifest`` (and so pack) accepts.
RUNTIMES = ("rust", "python", "wasm")
#: ``PythonPackageMeta`` and ``WasmPackageMeta``: (required, optional strings, string lists).
RUNTIME_TABLES = {
    "python": ("entry_module", {"requirements"}, set()),
    "wasm": ("component", {"precompiled"}, {"capabilities"}),
}
#: ``CloacinaMetadata``'s ``Option<String>`` fields, and ``language: String``.
METADATA_STRINGS = {
    "language",
    "workflow_name",
    "graph_name",
    "description",
    "author",
    "requires_python",
    "entry_module",
    "reaction_mode",
    "input_strategy",
}
METADATA_KEYS = METADATA_STRINGS | {"accumulators", "providers"}
#: ``AccumulatorConfig``: ``name`` required, ``accumulator_type`` and a string map ``config``.
ACCUMULATOR_KEYS = {"name", "accumulator_type", "config"}
#: ``ProviderDep::Detailed``: every field an optional string.
PROVIDER_KEYS = ("version", "path", "git", "tag", "branch", "rev")
#: ``[metadata]`` keys that used to exist; deny_unknown_fields refuses them with the rest.
REJECTED = {
    "package_type": "package types were removed; graph_name marks a computation graph",
    "triggers": "triggers are declared in the workflow's code, not in package.toml",
}


def display(table: tuple[str, ...], key: str | None) -> str:
    if not table:
        return str(key)
    header = "[" + ".".join(table) + "]"
    return f"{header}.{key}" if key else header


class Reporter:
    """Collects findings, each naming the key and, when it can be found, its line."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.findings: list[Finding] = []

    def add(
        self, rule: str, message: str, table: tuple[str, ...], key: str | None = None,
        *, level: Level = "error",
    ) -> None:
        self.findings.append(
            Finding(
                rule=rule,
                message=f"{Path(self.file).name}: {message}",
                level=level,
                file=self.file,
                line=self._line_of(table, key),
            )
        )

    def ignored_keys(
        self, table: dict[str, Any], where: tuple[str, ...], known: set[str], struct: str
    ) -> None:
        """Keys a struct without ``deny_unknown_fields`` drops: warnings."""
        for key in table:
            if key in known:
                continue
            value = table[key]
            shown = f"[{'.'.join(where + (key,))}]" if isinstance(value, dict) else display(
                where, key
            )
            kind = "table" if isinstance(value, dict) else "key"
            self.add(
                "manifest-ignored-key",
                f"{kind} {shown} is ignored by the server ({struct} has no such field)",
                where, key, level="warning",
            )

    def unknown_metadata_keys(self, metadata: dict[str, Any]) -> None:
        """``CloacinaMetadata`` is ``deny_unknown_fields``: every other key is an error."""
        for key, value in metadata.items():
            if key in METADATA_KEYS:
                continue
            why = REJECTED.get(key)
            if why:
                shown = (
                    f"[[metadata.{key}]]"
                    if isinstance(value, list)
                    else display(("metadata",), key)
                )
                self.add(
                    "manifest-rejected-key", f"rejected key {shown}: {why}", ("metadata",), key
                )
            else:
                kind = "table" if isinstance(value, dict) else "key"
                shown = f"[metadata.{key}]" if kind == "table" else display(("metadata",), key)
                self.add(
                    "manifest-unknown-key",
                    f"unknown {kind} {shown}: CloacinaMetadata refuses unknown fields",
                    ("metadata",), key,
                )

    def table(
        self,
        data: dict[str, Any],
        key: str,
        *,
        required: bool = False,
        parent: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            if required:
                self.add("manifest-missing-field", f"missing required table [{key}]", parent)
            return {}
        if not isinstance(value, dict):
            self.add(
                "manifest-invalid-value", f"{display(parent, key)} must be a table", parent, key
            )
            return {}
        return value

    def string(self, table: dict[str, Any], where: tuple[str, ...], key: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(
                "manifest-invalid-value", f"{display(where, key)} must be a string", where, key
            )
            return None
        return value

    def u32(self, table: dict[str, Any], where: tuple[str, ...], key: str) -> int | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= U32_MAX:
            self.add(
                "manifest-invalid-value",
                f"{display(where, key)} must be an integer from 0 to {U32_MAX} (a u32)",
                where, key,
            )
            return None
        return value

    def _line_of(self, table: tuple[str, ...], key: str | None) -> int | None:
        """Best-effort line of ``key`` in ``[table]`` (else of the table's header)."""
        keys, headers = self._line_index
        found = keys.get((table, key)) if key is not None else None
        return found if found is not None else headers.get(table)

    @functools.cached_property
    def _line_index(
        self,
    ) -> tuple[dict[tuple[tuple[str, ...], str], int], dict[tuple[str, ...], int]]:
        """One plain scan of the text, good for usual layouts: the line of each
        ``key = ...`` (and ``[table.key]``) under its table, and of each table header."""
        keys: dict[tuple[tuple[str, ...], str], int] = {}
        headers: dict[tuple[str, ...], int] = {}
        current: tuple[str, ...] = ()
        for number, raw in enumerate(self.lines, start=1):
            line = raw.strip()
            header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
            if header:
                current = tuple(p.strip().strip("\"'") for p in header.group(1).split("."))
                headers.setdefault(current, number)
                if current:
                    keys.setdefault((current[:-1], current[-1]), number)
                continue
            match = re.match(r"^[\"']?([A-Za-z0-9_-]+)[\"']?\s*=", line)
            if match:
                keys.setdefault((current, match.group(1)), number)
        return keys, headers
