"""``package.toml`` as the Cloacina server reads it: fidius's header, Cloacina's metadata.

The schema is the structs', not the documentation's:

- fidius ``PackageManifest<M>``, ``PackageHeader``, ``PythonPackageMeta`` and
  ``WasmPackageMeta`` (fidius: crates/fidius-core/src/package.rs) have no
  ``deny_unknown_fields``: serde drops keys they do not declare, so an unknown key
  there is a warning (the server ignores it), not an error. ``[package].source_hash``
  and a top-level ``[dependencies]`` are such keys: no struct has them.
- Cloacina's ``CloacinaMetadata`` (cloacina: crates/cloacina-workflow-plugin/src/types.rs)
  has ``deny_unknown_fields``: an unknown ``[metadata]`` key is an error.
- Before either is read, ``resolve_manifest_str`` (crates/cloacina-workflow-plugin/src/
  manifest.rs) fills in the defaults: :func:`resolve_manifest`.

Validation never stops at the first problem: every key that the server refuses
(error), ignores (warning) or does not enforce (note) becomes a :class:`Finding`.
Only a file that is not TOML at all is an :class:`AuditError`.
:func:`validate_manifest` is pure; :func:`read_manifest` reads the file and adds
the checks that need the package's sources (:func:`lint_sources`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloacina_audit.discover.config import read_toml
from cloacina_audit.discover.manifest_schema import (
    DEFAULT_EXTENSION,
    DEFAULT_INTERFACE,
    DEFAULT_INTERFACE_VERSION,
    METADATA_STRINGS,
    PACKAGE_KEYS,
    TOP_LEVEL_KEYS,
    Language,
    Reporter,
)
from cloacina_audit.discover.manifest_tables import (
    Accumulator,
    Provider,
    read_accumulators,
    read_providers,
    read_runtime,
)
from cloacina_audit.model.report import Finding


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
    #: fidius's ``[package].runtime``; None means rust to fidius. Cloacina reads
    #: ``[metadata].language`` instead.
    runtime: str | None = None
    #: None when it is neither declared nor inferable (a finding says why).
    language: Language | None = None
    language_inferred: bool = False
    graph_name: str | None = None
    requires_python: str | None = None
    #: Relative to workflow/; defaults to ``<name_with_underscores>.tasks``.
    entry_module: str | None = None
    accumulators: tuple[Accumulator, ...] = ()
    providers: tuple[Provider, ...] = ()

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
    manifest, findings = validate_manifest(data, Layout.of(package_dir), file=str(path), text=text)
    return manifest, findings + lint_sources(package_dir, manifest, file=str(path))


def validate_manifest(
    data: dict[str, Any], layout: Layout, *, file: str = "package.toml", text: str = ""
) -> tuple[Manifest, list[Finding]]:
    """Check parsed TOML as the server reads it; ``text`` only serves line numbers."""
    report = Reporter(file, text)
    report.ignored_keys(data, (), TOP_LEVEL_KEYS, "fidius PackageManifest")
    package = report.table(data, "package", required=True)
    metadata = report.table(data, "metadata")
    report.ignored_keys(package, ("package",), PACKAGE_KEYS, "fidius PackageHeader")
    report.unknown_metadata_keys(metadata)

    for key in ("name", "version"):
        if "package" in data and key not in package:
            report.add(
                "manifest-missing-field", f"missing required field [package].{key}", ("package",)
            )
    name = report.string(package, ("package",), "name")
    version = report.string(package, ("package",), "version")
    interface_version = report.u32(package, ("package",), "interface_version")
    runtime = read_runtime(report, data, package)
    strings = {key: report.string(metadata, ("metadata",), key) for key in METADATA_STRINGS}
    if strings["requires_python"] is not None:
        report.add(
            "manifest-not-enforced",
            "[metadata].requires_python is not enforced: the server reads it and checks nothing",
            ("metadata",), "requires_python", level="note",
        )
    language, inferred = _language(report, strings["language"], layout)
    entry_module = strings["entry_module"]
    if entry_module is None and language == "python" and name:
        entry_module = default_entry_module(name)

    manifest = Manifest(
        name=name,
        version=version,
        interface=report.string(package, ("package",), "interface") or DEFAULT_INTERFACE,
        interface_version=(
            DEFAULT_INTERFACE_VERSION if interface_version is None else interface_version
        ),
        extension=report.string(package, ("package",), "extension") or DEFAULT_EXTENSION,
        runtime=runtime,
        language=language,
        language_inferred=inferred,
        graph_name=strings["graph_name"],
        requires_python=strings["requires_python"],
        entry_module=entry_module,
        accumulators=read_accumulators(report, metadata),
        providers=read_providers(report, metadata),
    )
    return manifest, report.findings


def lint_sources(package_dir: Path, manifest: Manifest, *, file: str) -> list[Finding]:
    """What ``cloacinactl package pack`` refuses after the schema: a computation graph
    without ``graph_name``.

    ``lint_python_source`` (crates/cloacinactl/src/nouns/package/manifest.rs) reads
    the entry module (``<entry>.py``, else ``<entry>/__init__.py``) for
    ``ComputationGraphBuilder`` or ``cloaca.reactor``; ``lint_rust_source`` reads
    src/lib.rs for ``computation_graph(``. Both are plain substring searches.
    """
    if manifest.graph_name is not None:
        return []
    if manifest.language == "python" and manifest.entry_module:
        base = package_dir.joinpath("workflow", *manifest.entry_module.split("."))
        candidates = [base.with_name(base.name + ".py"), base / "__init__.py"]
        markers: tuple[str, ...] = ("ComputationGraphBuilder", "cloaca.reactor")
        what = "the entry module uses ComputationGraphBuilder or @cloaca.reactor"
    elif manifest.language == "rust":
        candidates = [package_dir / "src" / "lib.rs"]
        markers = ("computation_graph(",)
        what = "src/lib.rs defines a #[computation_graph]"
    else:
        return []
    source = next((_read_text(c) for c in candidates if c.is_file()), None)
    if source is None or not any(marker in source for marker in markers):
        return []
    report = Reporter(file, _read_text(Path(file)) or "")
    report.add(
        "manifest-graph-name",
        f"{what} but [metadata].graph_name is unset: cloacinactl package pack refuses a "
        "computation-graph package without graph_name",
        ("metadata",),
    )
    return report.findings


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _language(
    report: Reporter, declared: str | None, layout: Layout
) -> tuple[Language | None, bool]:
    """``[metadata].language``: inferred by the resolver when absent; cloacinactl's
    ``language()`` takes exactly "python" or "rust", and ``validate_python_layout`` /
    ``validate_rust_layout`` want the matching layout."""
    if declared is not None:
        if declared not in ("python", "rust"):
            report.add(
                "manifest-language",
                f'[metadata].language must be "python" or "rust", not {declared!r}',
                ("metadata",), "language",
            )
            return None, False
        if declared == "python" and not layout.has_workflow_dir:
            report.add(
                "manifest-language",
                '[metadata].language is "python" but the package has no workflow/ directory',
                ("metadata",), "language",
            )
        if declared == "rust" and not layout.looks_like_rust:
            report.add(
                "manifest-language",
                '[metadata].language is "rust" but the package has no Cargo.toml and src/lib.rs',
                ("metadata",), "language",
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
    )
    return None, False


