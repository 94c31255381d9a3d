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
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cloacina_audit.discover.config import read_toml
from cloacina_audit.model.report import Finding

Language = Literal["python", "rust"]
Level = Literal["error", "warning", "note"]

DEFAULT_INTERFACE = "cloacina-workflow-plugin"
DEFAULT_INTERFACE_VERSION = 1
DEFAULT_EXTENSION = "cloacina"
U32_MAX = 2**32 - 1

#: ``PackageManifest<M>``'s fields.
_TOP_LEVEL_KEYS = {"package", "metadata", "python", "wasm"}
#: ``PackageHeader``'s fields.
_PACKAGE_KEYS = {"name", "version", "interface", "interface_version", "extension", "runtime"}
#: ``PackageHeader::runtime_strict``: what ``load_manifest`` (and so pack) accepts.
_RUNTIMES = ("rust", "python", "wasm")
#: ``PythonPackageMeta`` and ``WasmPackageMeta``: (required, optional strings, string lists).
_RUNTIME_TABLES = {
    "python": ("entry_module", {"requirements"}, set()),
    "wasm": ("component", {"precompiled"}, {"capabilities"}),
}
#: ``CloacinaMetadata``'s ``Option<String>`` fields, and ``language: String``.
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
#: ``AccumulatorConfig``: ``name`` required, ``accumulator_type`` and a string map ``config``.
_ACCUMULATOR_KEYS = {"name", "accumulator_type", "config"}
#: ``ProviderDep::Detailed``: every field an optional string.
_PROVIDER_KEYS = ("version", "path", "git", "tag", "branch", "rev")
#: ``[metadata]`` keys that used to exist; deny_unknown_fields refuses them with the rest.
_REJECTED = {
    "package_type": "package types were removed; graph_name marks a computation graph",
    "triggers": "triggers are declared in the workflow's code, not in package.toml",
}
WORKSPACE_PLACEHOLDER = "__WORKSPACE__"


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
class Accumulator:
    name: str
    accumulator_type: str = "passthrough"
    config: tuple[tuple[str, str], ...] = ()


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
    workflow_name: str | None = None
    graph_name: str | None = None
    description: str | None = None
    author: str | None = None
    requires_python: str | None = None
    #: Relative to workflow/; defaults to ``<name_with_underscores>.tasks``.
    entry_module: str | None = None
    reaction_mode: str | None = None
    input_strategy: str | None = None
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
    report = _Reporter(file, text)
    report.ignored_keys(data, (), _TOP_LEVEL_KEYS, "fidius PackageManifest")
    package = report.table(data, "package", required=True)
    metadata = report.table(data, "metadata")
    report.ignored_keys(package, ("package",), _PACKAGE_KEYS, "fidius PackageHeader")
    report.unknown_metadata_keys(metadata)

    for key in ("name", "version"):
        if "package" in data and key not in package:
            report.add(
                "manifest-missing-field", f"missing required field [package].{key}", ("package",)
            )
    name = report.string(package, ("package",), "name")
    version = report.string(package, ("package",), "version")
    interface_version = report.u32(package, ("package",), "interface_version")
    runtime = _runtime(report, data, package)
    strings = {key: report.string(metadata, ("metadata",), key) for key in _METADATA_STRINGS}
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
        workflow_name=strings["workflow_name"],
        graph_name=strings["graph_name"],
        description=strings["description"],
        author=strings["author"],
        requires_python=strings["requires_python"],
        entry_module=entry_module,
        reaction_mode=strings["reaction_mode"],
        input_strategy=strings["input_strategy"],
        accumulators=_accumulators(report, metadata),
        providers=_providers(report, metadata),
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
    report = _Reporter(file, _read_text(Path(file)) or "")
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


# --- the pieces ----------------------------------------------------------------


def _runtime(report: _Reporter, data: dict[str, Any], package: dict[str, Any]) -> str | None:
    """``[package].runtime`` and its sections, as ``runtime_strict`` and
    ``PackageManifest::validate_runtime`` check them."""
    runtime = report.string(package, ("package",), "runtime")
    if runtime is not None and runtime not in _RUNTIMES:
        report.add(
            "manifest-invalid-value",
            f"[package].runtime {runtime!r} is unknown: fidius accepts "
            + ", ".join(f'"{r}"' for r in _RUNTIMES),
            ("package",), "runtime",
        )
        return runtime
    effective = runtime or "rust"
    for section, (required, optional, lists) in _RUNTIME_TABLES.items():
        if section not in data:
            if effective == section:
                report.add(
                    "manifest-missing-field",
                    f'runtime = "{section}" requires a [{section}] section with `{required}`',
                    ("package",), "runtime",
                )
            continue
        table = report.table(data, section)
        if effective != section:
            report.add(
                "manifest-invalid-value",
                f'[{section}] is only valid when [package].runtime = "{section}"',
                (section,),
            )
        struct = "fidius PythonPackageMeta" if section == "python" else "fidius WasmPackageMeta"
        report.ignored_keys(table, (section,), {required} | optional | lists, struct)
        if table and required not in table:
            report.add(
                "manifest-missing-field", f"missing required field [{section}].{required}",
                (section,),
            )
        for key in {required} | optional:
            report.string(table, (section,), key)
        for key in lists:
            value = table.get(key)
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                report.add(
                    "manifest-invalid-value", f"[{section}].{key} must be an array of strings",
                    (section,), key,
                )
    return runtime


def _language(
    report: _Reporter, declared: str | None, layout: Layout
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


def _accumulators(report: _Reporter, metadata: dict[str, Any]) -> tuple[Accumulator, ...]:
    """``accumulators: Vec<AccumulatorConfig>``: ``[[metadata.accumulators]]`` tables."""
    value = metadata.get("accumulators")
    if value is None:
        return ()
    if not isinstance(value, list):
        report.add(
            "manifest-invalid-value",
            "[metadata].accumulators must be an array of tables ([[metadata.accumulators]]),"
            " each with a name",
            ("metadata",), "accumulators",
        )
        return ()
    found = []
    for index, item in enumerate(value):
        where = ("metadata", "accumulators")
        label = f"[[metadata.accumulators]] #{index + 1}"
        if not isinstance(item, dict):
            report.add("manifest-invalid-value", f"{label} must be a table", where)
            continue
        # AccumulatorConfig has no deny_unknown_fields: serde drops other keys.
        for key in sorted(set(item) - _ACCUMULATOR_KEYS):
            report.add(
                "manifest-ignored-key",
                f"{label}: key {key!r} is ignored (fidius AccumulatorConfig has no such field)",
                where, level="warning",
            )
        name = item.get("name")
        if not isinstance(name, str):
            report.add(
                "manifest-missing-field" if name is None else "manifest-invalid-value",
                f"{label} needs a name (a string)", where,
            )
        kind = item.get("accumulator_type", "passthrough")
        if not isinstance(kind, str):
            report.add(
                "manifest-invalid-value", f"{label}: accumulator_type must be a string", where
            )
            kind = "passthrough"
        config = item.get("config", {})
        if not isinstance(config, dict) or not all(isinstance(v, str) for v in config.values()):
            report.add(
                "manifest-invalid-value",
                f"{label}: config must be a table of strings ([metadata.accumulators.config])",
                where,
            )
            config = {}
        if isinstance(name, str):
            found.append(Accumulator(name, kind, tuple(sorted(config.items()))))
    return tuple(found)


def _providers(report: _Reporter, metadata: dict[str, Any]) -> tuple[Provider, ...]:
    """``providers: HashMap<String, ProviderDep>``, ``ProviderDep`` untagged: a version
    string, or a table whose fields (version, path, git, tag, branch, rev) are all
    optional strings; serde drops other keys."""
    table = report.table(metadata, "providers", parent=("metadata",))
    providers = []
    for name, spec in table.items():
        where = ("metadata", "providers")
        if isinstance(spec, str):
            provider = Provider(name=name, version=spec)
        elif isinstance(spec, dict):
            wrong = [k for k in _PROVIDER_KEYS if k in spec and not isinstance(spec[k], str)]
            if wrong:
                report.add(
                    "manifest-invalid-value",
                    f"[metadata.providers].{name}: {', '.join(wrong)} must be a string "
                    "(ProviderDep: a version string or a table of strings)",
                    where, name,
                )
                continue
            for key in sorted(set(spec) - set(_PROVIDER_KEYS)):
                report.add(
                    "manifest-ignored-key",
                    f"[metadata.providers].{name}: key {key!r} is ignored "
                    "(ProviderDep has no such field)",
                    where, name, level="warning",
                )
            provider = Provider(name=name, **{k: spec[k] for k in _PROVIDER_KEYS if k in spec})
            if not (provider.version or provider.path or provider.git):
                report.add(
                    "manifest-invalid-value",
                    f"[metadata.providers].{name} names no version, path or git: the compiler's "
                    "cargo build cannot resolve it",
                    where, name, level="warning",
                )
        else:
            report.add(
                "manifest-invalid-value",
                f"[metadata.providers].{name} must be a version string or a table",
                where, name,
            )
            continue
        values = [v for v in (provider.version, provider.path, provider.git) if v]
        if any(WORKSPACE_PLACEHOLDER in v for v in values):
            report.add(
                "manifest-workspace-placeholder",
                f"[metadata.providers].{name} holds an unrewritten {WORKSPACE_PLACEHOLDER} "
                "placeholder: rewrite it to a real path or a published version before packing",
                where, name, level="warning",
            )
        providers.append(provider)
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
            shown = f"[{'.'.join(where + (key,))}]" if isinstance(value, dict) else _display(
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
            if key in _METADATA_KEYS:
                continue
            why = _REJECTED.get(key)
            if why:
                shown = (
                    f"[[metadata.{key}]]"
                    if isinstance(value, list)
                    else _display(("metadata",), key)
                )
                self.add(
                    "manifest-rejected-key", f"rejected key {shown}: {why}", ("metadata",), key
                )
            else:
                kind = "table" if isinstance(value, dict) else "key"
                shown = f"[metadata.{key}]" if kind == "table" else _display(("metadata",), key)
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
                "manifest-invalid-value", f"{_display(parent, key)} must be a table", parent, key
            )
            return {}
        return value

    def string(self, table: dict[str, Any], where: tuple[str, ...], key: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(
                "manifest-invalid-value", f"{_display(where, key)} must be a string", where, key
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
                f"{_display(where, key)} must be an integer from 0 to {U32_MAX} (a u32)",
                where, key,
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
