"""Where contracts come from: the presets shipped with the tool, and import-linter
configurations, read into :class:`ContractSpec` (checked by engine.py).

Kept apart from the engine so that reading which modules the contracts forbid
(``footprint``'s probe reports which got loaded) loads neither grimp nor the
contract types: import-linter is imported only to read a configuration.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloacina_audit.discover.config import ImportPolicy, read_importlinter_options
from cloacina_audit.errors import AuditError

_PRESET_DIRS = (
    Path(__file__).parents[2] / "_contracts",  # installed wheel
    Path(__file__).parents[3] / "contracts",  # source checkout / editable install
)


@dataclass
class ContractSpec:
    options: dict[str, Any]
    session_options: dict[str, Any]
    origin: str
    #: Preset contracts adapt to the graph; user contracts are honoured unchanged.
    from_preset: bool = False
    ignored_kinds: frozenset[str] = frozenset({"type_checking"})
    warnings: list[str] = field(default_factory=list)
    #: For presets: the audited packages ``{packages}`` stands for.
    packages: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return str(self.options.get("name") or self.options.get("id") or "unnamed contract")

    @property
    def instructions(self) -> tuple[str, ...]:
        """The ``instructions`` option, one line each: how to fix a violation."""
        value = self.options.get("instructions", "")
        lines = [value] if isinstance(value, str) else list(value)
        return tuple(line.strip() for line in lines if line.strip())


# --- where contracts come from -----------------------------------------------


def available_presets() -> list[str]:
    return sorted({p.stem for d in _PRESET_DIRS if d.is_dir() for p in d.glob("*.ini")})


def preset_specs(
    preset: str,
    packages: list[str],
    ignored: frozenset[str],
    placeholders: dict[str, list[str]] | None = None,
) -> list[ContractSpec]:
    """The preset's contracts, ``{packages}`` (and any other ``{name}`` in
    ``placeholders``) expanded where a value line is exactly that placeholder.

    Without a value, ``{entry}`` (the module a loader imports) stands for the packages
    and ``{vendored}`` for nothing.
    """
    path = next((d / f"{preset}.ini" for d in _PRESET_DIRS if (d / f"{preset}.ini").is_file()), None)
    if path is None:
        known = ", ".join(available_presets()) or "none"
        raise AuditError(f"unknown preset {preset!r} (available: {known})")
    expansions = {"{packages}": list(packages), "{entry}": list(packages), "{vendored}": []}
    expansions.update({f"{{{k}}}": list(v) for k, v in (placeholders or {}).items()})
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    specs = []
    for section in parser.sections():
        if not section.startswith("importlinter:contract:"):
            continue
        options: dict[str, Any] = {"id": section.split(":")[-1]}
        for key, value in parser[section].items():
            options[key] = _expand(value, expansions)
        specs.append(
            ContractSpec(
                options=options,
                session_options={},
                origin=f"preset:{preset}",
                from_preset=True,
                ignored_kinds=ignored,
                packages=tuple(packages),
            )
        )
    return specs


def _expand(value: str, expansions: dict[str, list[str]]) -> str | list[str]:
    """A parsed option value with placeholder lines replaced by their lists.

    Expansion happens after parsing, so a placeholder in a comment stays a comment,
    and any number of names (one per line) keeps the file's structure.
    """
    lines = value.strip().split("\n")
    multi_line = len(lines) > 1 or lines[0].strip() in expansions
    expanded: list[str] = []
    for line in lines:
        expanded += expansions.get(line.strip(), [line.strip()])
    return expanded if multi_line else expanded[0]


def user_specs(
    config_file: Path, ignored: frozenset[str], type_checking: ImportPolicy | None = None,
    cache_dir: Path | None = None,
) -> list[ContractSpec]:
    """Contracts from an import-linter configuration file, unchanged.

    Unless ``type_checking`` says otherwise, TYPE_CHECKING imports count exactly
    when lint-imports would count them: unless the configuration sets
    ``exclude_type_checking_imports``.
    """
    user_options = read_importlinter_options(config_file, cache_dir)
    session = dict(user_options.session_options)
    if not user_options.contracts_options:
        raise AuditError(f"{config_file}: import-linter configuration has no contracts")
    if session.get("contract_types"):
        # Imported only then: the contract types load import-linter.
        from cloacina_audit.analysis.contracts.types import declared_types

        declared_types(session["contract_types"], config_file)  # each one loads, or say so
    if type_checking is None:
        excluded = str(session.get("exclude_type_checking_imports", "")).lower() == "true"
        type_checking = "ignore" if excluded else "count"
    if type_checking == "ignore":
        ignored = ignored | {"type_checking"}
    return [
        ContractSpec(
            options=dict(options),
            session_options=session,
            origin=str(config_file),
            ignored_kinds=ignored,
        )
        for options in user_options.contracts_options
    ]
