"""The tables of ``package.toml`` past its header: ``[package].runtime`` with its
``[python]``/``[wasm]`` sections, ``[[metadata.accumulators]]`` and
``[metadata.providers]``, each checked as the server's structs read them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloacina_audit.discover.manifest_schema import (
    ACCUMULATOR_KEYS,
    PROVIDER_KEYS,
    RUNTIME_TABLES,
    RUNTIMES,
    WORKSPACE_PLACEHOLDER,
    Reporter,
)


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


def read_runtime(report: Reporter, data: dict[str, Any], package: dict[str, Any]) -> str | None:
    """``[package].runtime`` and its sections, as ``runtime_strict`` and
    ``PackageManifest::validate_runtime`` check them."""
    runtime = report.string(package, ("package",), "runtime")
    if runtime is not None and runtime not in RUNTIMES:
        report.add(
            "manifest-invalid-value",
            f"[package].runtime {runtime!r} is unknown: fidius accepts "
            + ", ".join(f'"{r}"' for r in RUNTIMES),
            ("package",), "runtime",
        )
        return runtime
    effective = runtime or "rust"
    for section, (required, optional, lists) in RUNTIME_TABLES.items():
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


def read_accumulators(report: Reporter, metadata: dict[str, Any]) -> tuple[Accumulator, ...]:
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
        for key in sorted(set(item) - ACCUMULATOR_KEYS):
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


def read_providers(report: Reporter, metadata: dict[str, Any]) -> tuple[Provider, ...]:
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
            wrong = [k for k in PROVIDER_KEYS if k in spec and not isinstance(spec[k], str)]
            if wrong:
                report.add(
                    "manifest-invalid-value",
                    f"[metadata.providers].{name}: {', '.join(wrong)} must be a string "
                    "(ProviderDep: a version string or a table of strings)",
                    where, name,
                )
                continue
            for key in sorted(set(spec) - set(PROVIDER_KEYS)):
                report.add(
                    "manifest-ignored-key",
                    f"[metadata.providers].{name}: key {key!r} is ignored "
                    "(ProviderDep has no such field)",
                    where, name, level="warning",
                )
            provider = Provider(name=name, **{k: spec[k] for k in PROVIDER_KEYS if k in spec})
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
