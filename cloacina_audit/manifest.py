"""``package.toml``: the closed manifest schema of a Cloacina package.

Validation never stops at the first problem: every unknown key, rejected key,
missing field or wrong value becomes a :class:`Finding`, so a report lists
them all. Only a file that is not TOML at all is an :class:`AuditError`.

:func:`validate_manifest` is pure (parsed TOML and the package layout in, a
:class:`Manifest` and findings out); :func:`read_manifest` does the reading.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .config import read_toml
from .models import Finding

Language = Literal["python", "rust"]

DEFAULT_INTERFACE = "cloacina-workflow-plugin"
DEFAULT_INTERFACE_VERSION = 1
DEFAULT_EXTENSION = "cloacina"

_TOP_LEVEL_KEYS = {"package", "metadata", "dependencies"}
_PACKAGE_KEYS = {"name", "version", "interface", "interface_version", "extension", "source_hash"}
_REQUIRED_PACKAGE_KEYS = ("name", "version")
_METADATA_STRINGS = {
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
_METADATA_KEYS = _METADATA_STRINGS | {"accumulators", "providers"}
_PROVIDER_SOURCES = ("version", "path", "git")
_PROVIDER_GIT_REFS = ("tag", "branch", "rev")
#: Keys the server refuses outright: (table, key) -> why.
_REJECTED = {
    ((), "package_type"): "package types are not supported",
    (("package",), "package_type"): "package types are not supported",
    (("metadata",), "package_type"): "package types are not supported",
    (("metadata",), "triggers"): "triggers are not declared in package.toml",
}
_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Provider:
    name: str
    version: str | None = None
    path: str | None = None
    git: str | None = None
    tag: str | None = None
    branch: str | None = None
    rev: str | None = None


@dataclass(frozen=True)
class Layout:
    """What the package directory holds, as far as the manifest cares."""

    has_workflow_dir: bool
    has_cargo_toml: bool = False
    has_src_lib_rs: bool = False

    @classmethod
    def of(cls, package_dir: Path) -> Layout:
        return cls(
            has_workflow_dir=(package_dir / "workflow").is_dir(),
            has_cargo_toml=(package_dir / "Cargo.toml").is_file(),
            has_src_lib_rs=(package_dir / "src" / "lib.rs").is_file(),
        )

    @property
    def looks_like_rust(self) -> bool:
        return self.has_cargo_toml and self.has_src_lib_rs


@dataclass(frozen=True)
class Manifest:
    name: str | None
    version: str | None
    interface: str = DEFAULT_INTERFACE
    interface_version: int = DEFAULT_INTERFACE_VERSION
    extension: str = DEFAULT_EXTENSION
    source_hash: str | None = None
    #: None when it is neither declared nor inferable (a finding says why).
    language: Language | None = None
    language_inferred: bool = False
    workflow_name: str | None = None
    graph_name: str | None = None
    description: str | None = None
    author: str | None = None
    requires_python: str | None = None
    #: Relative to workflow/; defaults to ``<name_with_underscores>.tasks``.
    entry_module: str | None = None
    reaction_mode: str | None = None
    input_strategy: str | None = None
    accumulators: Any = None
    providers: tuple[Provider, ...] = ()
    dependencies: dict[str, Any] = field(default_factory=dict)

    @property
    def archive_top_dir(self) -> str | None:
        """The top directory a ``.cloacina`` archive of this package holds."""
        return f"{self.name}-{self.version}" if self.name and self.version else None


def default_entry_module(name: str) -> str:
    return f"{name.replace('-', '_')}.tasks"


def resolve_manifest(data: dict[str, Any], layout: Layout) -> dict[str, Any] | None:
    """The manifest as Cloacina's one resolver completes it, or None where it refuses.

    Mirrors ``resolve_manifest_str`` (crates/cloacina-workflow-plugin/src/manifest.rs):
    explicit values win; ``[package]`` gets ``interface``, ``interface_version`` and
    ``extension``; ``[metadata].language`` is inferred from the layout (both or
    neither: refused); a Python package (``language`` compared case-insensitively)
    gets ``entry_module = "<name_with_underscores>.tasks"`` when it has a string name.
    """
    resolved = copy.deepcopy(data)
    package = resolved.setdefault("package", {})
    if not isinstance(package, dict):
        return None
    package.setdefault("interface", DEFAULT_INTERFACE)
    package.setdefault("interface_version", DEFAULT_INTERFACE_VERSION)
    package.setdefault("extension", DEFAULT_EXTENSION)
    metadata = resolved.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        return None
    if "language" not in metadata:
        if layout.looks_like_rust == layout.has_workflow_dir:
            return None
        metadata["language"] = "rust" if layout.looks_like_rust else "python"
    language = metadata["language"]
    name = package.get("name")
    if isinstance(language, str) and language.lower() == "python" and isinstance(name, str):
        metadata.setdefault("entry_module", default_entry_module(name))
    return resolved


def read_manifest(package_dir: Path) -> tuple[Manifest, list[Finding]]:
    """Read ``package_dir/package.toml``; malformed TOML raises AuditError."""
    path = package_dir / "package.toml"
    data = read_toml(path)
    text = path.read_text(encoding="utf-8")
    return validate_manifest(data, Layout.of(package_dir), file=str(path), text=text)


def validate_manifest(
    data: dict[str, Any], layout: Layout, *, file: str = "package.toml", text: str = ""
) -> tuple[Manifest, list[Finding]]:
    """Check parsed TOML against the closed schema; ``text`` only serves line numbers."""
    report = _Reporter(file, text)
    report.unknown_and_rejected(data, (), _TOP_LEVEL_KEYS)

    package = report.table(data, "package", required=True)
    metadata = report.table(data, "metadata")
    dependencies = report.table(data, "dependencies")
    report.unknown_and_rejected(package, ("package",), _PACKAGE_KEYS)
    report.unknown_and_rejected(metadata, ("metadata",), _METADATA_KEYS)

    for key in _REQUIRED_PACKAGE_KEYS:
        if "package" in data and key not in package:
            report.add(
                "manifest-missing-field",
                f"missing required field [package].{key}",
                ("package",),
                None,
            )
    name = report.string(package, ("package",), "name")
    version = report.string(package, ("package",), "version")
    interface_version = report.integer(package, ("package",), "interface_version")
    strings = {key: report.string(metadata, ("metadata",), key) for key in _METADATA_STRINGS}
    requires_python = _checked_specifier(report, strings["requires_python"])
    entry_module = strings["entry_module"] or (default_entry_module(name) if name else None)
    if strings["entry_module"] and not _DOTTED_NAME.match(strings["entry_module"]):
        report.add(
            "manifest-invalid-value",
            f"[metadata].entry_module {strings['entry_module']!r} is not a dotted module name",
            ("metadata",),
            "entry_module",
        )
    language, inferred = _language(report, strings["language"], layout)

    manifest = Manifest(
        name=name,
        version=version,
        interface=report.string(package, ("package",), "interface") or DEFAULT_INTERFACE,
        interface_version=(
            DEFAULT_INTERFACE_VERSION if interface_version is None else interface_version
        ),
        extension=report.string(package, ("package",), "extension") or DEFAULT_EXTENSION,
        source_hash=report.string(package, ("package",), "source_hash"),
        language=language,
        language_inferred=inferred,
        workflow_name=strings["workflow_name"],
        graph_name=strings["graph_name"],
        description=strings["description"],
        author=strings["author"],
        requires_python=requires_python,
        entry_module=entry_module,
        reaction_mode=strings["reaction_mode"],
        input_strategy=strings["input_strategy"],
        accumulators=_accumulators(report, metadata),
        providers=_providers(report, metadata),
        dependencies=dict(dependencies),
    )
    return manifest, report.findings


# --- the pieces ----------------------------------------------------------------


def _checked_specifier(report: _Reporter, value: str | None) -> str | None:
    if value is None:
        return None
    # Imported here: only Cloacina packages have manifests, and check must start fast.
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(value)
    except InvalidSpecifier:
        report.add(
            "manifest-invalid-value",
            f"[metadata].requires_python {value!r} is not a version specifier",
            ("metadata",),
            "requires_python",
        )
    return value


def _language(
    report: _Reporter, declared: str | None, layout: Layout
) -> tuple[Language | None, bool]:
    if declared is not None:
        if declared not in ("python", "rust"):
            report.add(
                "manifest-language",
                f'[metadata].language must be "python" or "rust", not {declared!r}',
                ("metadata",),
                "language",
            )
            return None, False
        if declared == "python" and not layout.has_workflow_dir:
            report.add(
                "manifest-language",
                '[metadata].language is "python" but the package has no workflow/ directory',
                ("metadata",),
                "language",
            )
        if declared == "rust" and not layout.looks_like_rust:
            report.add(
                "manifest-language",
                '[metadata].language is "rust" but the package has no Cargo.toml and src/lib.rs',
                ("metadata",),
                "language",
            )
        return declared, False  # type: ignore[return-value]
    if layout.looks_like_rust and layout.has_workflow_dir:
        why = "both Cargo.toml + src/lib.rs and a workflow/ directory are present"
    elif layout.looks_like_rust:
        return "rust", True
    elif layout.has_workflow_dir:
        return "python", True
    else:
        why = "neither Cargo.toml + src/lib.rs nor a workflow/ directory is present"
    report.add(
        "manifest-language",
        f"[metadata].language is missing and cannot be inferred: {why}",
        ("metadata",),
        None,
    )
    return None, False


def _accumulators(report: _Reporter, metadata: dict[str, Any]) -> Any:
    value = metadata.get("accumulators")
    if value is not None and not isinstance(value, (list, dict)):
        report.add(
            "manifest-invalid-value",
            "[metadata].accumulators must be a table or an array",
            ("metadata",),
            "accumulators",
        )
        return None
    return value


def _providers(report: _Reporter, metadata: dict[str, Any]) -> tuple[Provider, ...]:
    table = report.table(metadata, "providers", parent=("metadata",))
    providers = []
    for name, spec in table.items():
        where = ("metadata", "providers", name)
        if isinstance(spec, str):
            providers.append(Provider(name=name, version=spec))
            continue
        if not isinstance(spec, dict):
            report.add(
                "manifest-invalid-value",
                f"[metadata.providers].{name} must be a version string or a table",
                ("metadata", "providers"),
                name,
            )
            continue
        report.unknown_and_rejected(spec, where, set(_PROVIDER_SOURCES + _PROVIDER_GIT_REFS))
        values = {
            key: report.string(spec, where, key) for key in _PROVIDER_SOURCES + _PROVIDER_GIT_REFS
        }
        sources = [key for key in _PROVIDER_SOURCES if key in spec]
        if len(sources) != 1:
            report.add(
                "manifest-invalid-value",
                f"[metadata.providers.{name}] needs exactly one of version, path or git"
                + (f" (has {', '.join(sources)})" if sources else ""),
                where,
                None,
            )
        refs = [key for key in _PROVIDER_GIT_REFS if key in spec]
        if refs and "git" not in spec:
            report.add(
                "manifest-invalid-value",
                f"[metadata.providers.{name}].{refs[0]} only applies to a git provider",
                where,
                refs[0],
            )
        elif len(refs) > 1:
            report.add(
                "manifest-invalid-value",
                f"[metadata.providers.{name}] takes at most one of tag, branch or rev",
                where,
                refs[1],
            )
        providers.append(Provider(name=name, **values))
    return tuple(providers)


# --- collecting findings ---------------------------------------------------------


def _display(table: tuple[str, ...], key: str | None) -> str:
    if not table:
        return str(key)
    header = "[" + ".".join(table) + "]"
    return f"{header}.{key}" if key else header


class _Reporter:
    """Collects findings, each naming the key and, when it can be found, its line."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.findings: list[Finding] = []

    def add(self, rule: str, message: str, table: tuple[str, ...], key: str | None) -> None:
        self.findings.append(
            Finding(
                rule=rule,
                message=f"{Path(self.file).name}: {message}",
                level="error",
                file=self.file,
                line=self._line_of(table, key),
            )
        )

    def unknown_and_rejected(
        self, table: dict[str, Any], where: tuple[str, ...], known: set[str]
    ) -> None:
        for key in table:
            why = _REJECTED.get((where, key))
            if why:
                shown = (
                    f"[[{'.'.join(where + (key,))}]]"
                    if isinstance(table[key], list)
                    else (_display(where, key))
                )
                self.add(
                    "manifest-rejected-key",
                    f"rejected key {shown}: {why}",
                    where,
                    key,
                )
            elif key not in known:
                kind = "table" if isinstance(table[key], dict) else "key"
                shown = f"[{'.'.join(where + (key,))}]" if kind == "table" else _display(where, key)
                self.add("manifest-unknown-key", f"unknown {kind} {shown}", where, key)

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
                self.add("manifest-missing-field", f"missing required table [{key}]", parent, None)
            return {}
        if not isinstance(value, dict):
            self.add(
                "manifest-invalid-value",
                f"{_display(parent, key)} must be a table",
                parent,
                key,
            )
            return {}
        return value

    def string(self, table: dict[str, Any], where: tuple[str, ...], key: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(
                "manifest-invalid-value",
                f"{_display(where, key)} must be a non-empty string",
                where,
                key,
            )
            return None
        return value

    def integer(self, table: dict[str, Any], where: tuple[str, ...], key: str) -> int | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.add(
                "manifest-invalid-value",
                f"{_display(where, key)} must be a positive integer",
                where,
                key,
            )
            return None
        return value

    def _line_of(self, table: tuple[str, ...], key: str | None) -> int | None:
        """Best-effort line of ``key`` in ``[table]``: a plain scan, good for usual layouts."""
        current: tuple[str, ...] = ()
        header_line = None
        for number, raw in enumerate(self.lines, start=1):
            line = raw.strip()
            header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
            if header:
                current = tuple(p.strip().strip("\"'") for p in header.group(1).split("."))
                if current == table and header_line is None:
                    header_line = number
                if key is not None and current == table + (key,):
                    return number
                continue
            if key is not None and current == table:
                match = re.match(r"^[\"']?([A-Za-z0-9_-]+)[\"']?\s*=", line)
                if match and match.group(1) == key:
                    return number
        return header_line
