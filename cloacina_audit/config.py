"""Reading ``[tool.cloacina-audit]`` from a project's pyproject.toml."""

from __future__ import annotations

import configparser
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from importlinter.application.user_options import UserOptions
from importlinter.configuration import configure as configure_importlinter

from .errors import AuditError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ImportPolicy = Literal["count", "ignore"]

_KNOWN_KEYS = {
    "preset",
    "packages",
    "budget",
    "type-checking-imports",
    "deferred-imports",
    "target-reduction",
    "entry-modules",
    "import-timeout",
}


@dataclass
class AuditConfig:
    preset: str | None = None
    #: Import packages to audit, when they cannot be discovered from the layout.
    packages: list[str] = field(default_factory=list)
    #: Raw ``[tool.cloacina-audit.budget]`` table; budgets.py validates it.
    budget: dict[str, Any] = field(default_factory=dict)
    #: Whether imports under ``if TYPE_CHECKING:`` can break a contract. Unset:
    #: ignored for presets; for import-linter contracts, as that configuration's
    #: ``exclude_type_checking_imports`` says (counted by default, as lint-imports does).
    type_checking_imports: ImportPolicy | None = None
    #: Whether imports deferred into a function body can break a contract.
    deferred_imports: ImportPolicy = "count"
    target_reduction: str | None = None
    entry_modules: list[str] = field(default_factory=list)
    import_timeout: float | None = None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into an AuditError naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AuditError(f"{path}: malformed TOML: {exc}") from None
    except UnicodeDecodeError:
        raise AuditError(f"{path}: not valid UTF-8") from None
    except OSError as exc:
        raise AuditError(f"{path}: cannot read: {exc.strerror}") from None


def audit_config_from_pyproject(data: dict[str, Any], where: str) -> AuditConfig:
    """Validate the ``[tool.cloacina-audit]`` table of an already parsed pyproject."""
    table = data.get("tool", {}).get("cloacina-audit", {})
    if not isinstance(table, dict):
        raise AuditError(f"{where}: [tool.cloacina-audit] must be a table")
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise AuditError(f"{where}: unknown key tool.cloacina-audit.{unknown[0]}")

    config = AuditConfig()
    config.preset = _optional_str(table, "preset", where)
    config.packages = _str_list(table, "packages", where)
    config.entry_modules = _str_list(table, "entry-modules", where)
    budget = table.get("budget", {})
    if not isinstance(budget, dict):
        raise AuditError(f"{where}: tool.cloacina-audit.budget must be a table")
    config.budget = dict(budget)
    if "type-checking-imports" in table:
        config.type_checking_imports = _policy(table, "type-checking-imports", "ignore", where)
    config.deferred_imports = _policy(table, "deferred-imports", "count", where)
    reduction = table.get("target-reduction")
    if reduction is not None and not isinstance(reduction, (str, int, float)):
        raise AuditError(f"{where}: tool.cloacina-audit.target-reduction must be like \"80%\"")
    config.target_reduction = None if reduction is None else str(reduction)
    timeout = table.get("import-timeout")
    if timeout is not None:
        # Written so that nan fails too: a nan timeout would never expire.
        if (not isinstance(timeout, (int, float)) or isinstance(timeout, bool)
                or not 0 < timeout <= 86400):
            raise AuditError(
                f"{where}: tool.cloacina-audit.import-timeout must be a number of seconds "
                "between 0 and 86400"
            )
        config.import_timeout = float(timeout)
    return config


def _optional_str(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise AuditError(f"{where}: tool.cloacina-audit.{key} must be a string")
    return value


def _str_list(table: dict[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AuditError(f"{where}: tool.cloacina-audit.{key} must be a list of strings")
    return list(value)


def _policy(table: dict[str, Any], key: str, default: ImportPolicy, where: str) -> ImportPolicy:
    value = table.get(key, default)
    if value not in ("count", "ignore"):
        raise AuditError(f'{where}: tool.cloacina-audit.{key} must be "count" or "ignore"')
    return value


def find_importlinter_config(directory: Path) -> Path | None:
    """The file lint-imports would read in ``directory``, in its order of preference.

    A ``.importlinter`` file is taken whatever it holds, so that a malformed
    one is an error rather than silently no contracts; setup.cfg and
    pyproject.toml only when they mention import-linter at all.
    """
    setup_cfg = directory / "setup.cfg"
    if setup_cfg.is_file() and "importlinter" in _read_text(setup_cfg):
        return setup_cfg
    if (directory / ".importlinter").is_file():
        return directory / ".importlinter"
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file() and "tool.importlinter" in _read_text(pyproject):
        return pyproject
    return None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"{path}: cannot read: {exc}") from None


def read_importlinter_options(config_file: Path) -> UserOptions:
    """An import-linter configuration, read by import-linter's own readers."""
    # Imported here: import-linter's use-case module pulls in its progress UI,
    # a tenth of a second that `check` on a plain project never needs.
    from importlinter.application.use_cases import read_user_options

    configure_importlinter()
    try:
        return read_user_options(config_filename=str(config_file.resolve()))
    except FileNotFoundError:
        raise AuditError(f"{config_file}: no import-linter configuration in this file") from None
    except (configparser.Error, ValueError, KeyError) as exc:
        text = str(exc).strip()
        first_line = text.splitlines()[0] if text else type(exc).__name__
        raise AuditError(f"{config_file}: malformed configuration: {first_line}") from None
