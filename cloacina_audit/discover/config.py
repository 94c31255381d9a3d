"""Reading ``[tool.cloacina-audit]`` from a project's pyproject.toml."""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cloacina_audit.adapters.versions import installed_version
from cloacina_audit.errors import AuditError
from cloacina_audit.system.signed_cache import cache_key, read_signed, write_signed

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ImportPolicy = Literal["count", "ignore"]

#: A distribution name as PEP 508 allows it.
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")

_KNOWN_KEYS = {
    "preset",
    "packages",
    "budget",
    "type-checking-imports",
    "deferred-imports",
    "lazy-imports",
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
    #: Whether PEP 810 ``lazy import`` statements can break a contract.
    lazy_imports: ImportPolicy = "count"
    target_reduction: str | None = None
    entry_modules: list[str] = field(default_factory=list)
    import_timeout: float | None = None


#: No configuration file is this big; a bigger one (or /dev/zero behind a link) is refused.
MAX_TOML_BYTES = 4 * 1024 * 1024


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into an AuditError naming the file.

    Only a regular file is read (a FIFO would block), and at most
    :data:`MAX_TOML_BYTES` of it.
    """
    if not path.is_file():
        why = "not a regular file" if path.exists() else "cannot read: No such file or directory"
        raise AuditError(f"{path}: {why}")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_TOML_BYTES + 1)
    except OSError as exc:
        raise AuditError(f"{path}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_TOML_BYTES:
        raise AuditError(f"{path}: larger than {MAX_TOML_BYTES} bytes; not a configuration file")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AuditError(f"{path}: malformed TOML: {exc}") from None
    except UnicodeDecodeError:
        raise AuditError(f"{path}: not valid UTF-8") from None
    except RecursionError:
        raise AuditError(f"{path}: malformed TOML: nested too deeply") from None
    except ValueError as exc:  # an integer beyond int's digit limit, among others
        raise AuditError(f"{path}: malformed TOML: {str(exc).split(';')[0]}") from None


def table_at(data: dict[str, Any], dotted: str, where: str) -> dict[str, Any]:
    """``data["a"]["b"]`` for ``"a.b"``: {} when absent, an AuditError naming the key when
    some level is not a table (``[tool] hatch = 1``)."""
    current: Any = data
    walked: list[str] = []
    for key in dotted.split("."):
        walked.append(key)
        current = current.get(key, {})
        if not isinstance(current, dict):
            raise AuditError(f"{where}: [{'.'.join(walked)}] must be a table")
    return current


def project_table(data: dict[str, Any], where: str) -> dict[str, Any]:
    """The ``[project]`` table, its shape checked before anything relies on it.

    ``name`` is required (PEP 621): a build backend refuses the project
    without one, so ``check`` does too rather than pass what ``footprint``
    cannot build. See :func:`project_version` for the version.
    """
    project = table_at(data, "project", where)
    dynamic = project.get("dynamic", [])
    if not isinstance(dynamic, list) or not all(isinstance(d, str) for d in dynamic):
        raise AuditError(f"{where}: project.dynamic must be a list of strings")
    name = project.get("name")
    if name is None:
        raise AuditError(f"{where}: [project] has no name (project.name is required)")
    if not isinstance(name, str) or not _PROJECT_NAME.match(name):
        raise AuditError(f"{where}: project.name must be a valid distribution name, not {name!r}")
    version = project.get("version")
    if version is not None and not isinstance(version, str):
        raise AuditError(f"{where}: project.version must be a string")
    dependencies = project.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise AuditError(f"{where}: project.dependencies must be a list of strings")
    return project


def project_version(project: dict[str, Any], where: str) -> str | None:
    """``project.version``; required unless listed in ``project.dynamic`` (PEP 621)."""
    version = project.get("version")
    if version is None and "version" not in project.get("dynamic", []):
        raise AuditError(
            f"{where}: [project] has no version (set project.version, or list it in "
            "project.dynamic)"
        )
    return version


def audit_config_from_pyproject(data: dict[str, Any], where: str) -> AuditConfig:
    """Validate the ``[tool.cloacina-audit]`` table of an already parsed pyproject."""
    table = table_at(data, "tool.cloacina-audit", where)
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise AuditError(f"{where}: unknown key tool.cloacina-audit.{unknown[0]}")

    config = AuditConfig()
    config.preset = _optional_str(table, "preset", where)
    config.packages = _str_list(table, "packages", where)
    for package in config.packages:
        if not package.isidentifier():
            raise AuditError(
                f"{where}: tool.cloacina-audit.packages: {package!r} is not an import package name"
            )
    config.entry_modules = _str_list(table, "entry-modules", where)
    budget = table.get("budget", {})
    if not isinstance(budget, dict):
        raise AuditError(f"{where}: tool.cloacina-audit.budget must be a table")
    config.budget = dict(budget)
    if "type-checking-imports" in table:
        config.type_checking_imports = _policy(table, "type-checking-imports", "ignore", where)
    config.deferred_imports = _policy(table, "deferred-imports", "count", where)
    config.lazy_imports = _policy(table, "lazy-imports", "count", where)
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
    if not path.is_file():
        raise AuditError(f"{path}: not a regular file" if path.exists() else f"{path}: no such file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_TOML_BYTES + 1)
        if len(data) > MAX_TOML_BYTES:
            raise AuditError(f"{path}: larger than {MAX_TOML_BYTES} bytes; not a configuration file")
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"{path}: cannot read: {exc}") from None


@dataclass(frozen=True)
class ConfigOptions:
    """An import-linter configuration as import-linter's readers give it, as plain data."""

    session_options: dict[str, Any]
    contracts_options: list[dict[str, Any]]


def read_importlinter_options(config_file: Path, cache_dir: Path | None = None) -> ConfigOptions:
    """An import-linter configuration, read by import-linter's own readers.

    What they give is a function of the file's name and content (and import-linter's
    release): with ``cache_dir`` it is kept under those, and a run that finds the same
    file needs no import-linter at all (with grimp and rich, ~0.1 s to import).
    """
    text = _read_text(config_file)  # import-linter reads without bounds: a FIFO or a huge file stops here
    entry = _options_entry(config_file, text, cache_dir) if cache_dir else None
    key = cache_key(cache_dir) if cache_dir else None
    if entry is not None:
        cached = read_signed(entry, key)
        if isinstance(cached, dict) and isinstance(cached.get("session"), dict) \
                and isinstance(cached.get("contracts"), list):
            return ConfigOptions(cached["session"], cached["contracts"])
    # Imported here: import-linter is loaded only when a configuration is read, never by
    # `--version`, a `footprint` without contracts, or a run that finds it cached.
    from cloacina_audit.adapters.importlinter import read_user_options

    try:
        read = read_user_options(str(config_file.resolve()))
    except FileNotFoundError:
        raise AuditError(f"{config_file}: no import-linter configuration in this file") from None
    except (configparser.Error, ValueError, KeyError) as exc:
        message = str(exc).strip()
        first_line = message.splitlines()[0] if message else type(exc).__name__
        raise AuditError(f"{config_file}: malformed configuration: {first_line}") from None
    options = ConfigOptions(dict(read.session_options), [dict(c) for c in read.contracts_options])
    if entry is not None:
        with contextlib.suppress(TypeError, ValueError, OSError):  # a TOML date: not JSON
            write_signed(entry, {"session": options.session_options,
                                 "contracts": options.contracts_options}, key)
    return options


def _options_entry(config_file: Path, text: str, cache_dir: Path) -> Path:
    material = "\n".join([f"format={_OPTIONS_FORMAT}", f"name={config_file.name}",
                          f"import-linter={installed_version('import-linter')}", text])
    return cache_dir / "importlinter-options" / f"{hashlib.sha256(material.encode()).hexdigest()[:32]}.json"


#: 1: session and contract options as import-linter's readers give them.
_OPTIONS_FORMAT = 1
