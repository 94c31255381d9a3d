"""discover/config.py on its own: reading TOML, the [project] and [tool.cloacina-audit]
tables, and finding and reading an import-linter configuration."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from cloacina_audit.discover.config import (
    MAX_TOML_BYTES,
    AuditConfig,
    audit_config_from_pyproject,
    find_importlinter_config,
    project_table,
    project_version,
    read_importlinter_options,
    read_toml,
    table_at,
)
from cloacina_audit.errors import AuditError

WHERE = "pyproject.toml"


def tool(**table: object) -> dict:
    return {"tool": {"cloacina-audit": dict(table)}}


# --- read_toml -------------------------------------------------------------------


def test_read_toml_parses_a_file(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[project]\nname = "x"\n')
    assert read_toml(path) == {"project": {"name": "x"}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[project\n", "malformed TOML"),
        (b"name = \xff\n", "not valid UTF-8"),
        (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "malformed TOML"),
        (b"a = 1" + b"0" * 5000 + b"\n", "malformed TOML"),
    ],
    ids=["unclosed-table", "not-utf8", "deeply-nested", "huge-integer"],
)
def test_read_toml_names_the_file_and_the_problem(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    with pytest.raises(AuditError) as caught:
        read_toml(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)


def test_read_toml_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="No such file"):
        read_toml(tmp_path / "missing.toml")
    with pytest.raises(AuditError, match="not a regular file"):
        read_toml(tmp_path)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(AuditError, match="not a regular file"):
        read_toml(fifo)  # would block forever if it were opened


def test_read_toml_refuses_a_file_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_bytes(b"#" * (MAX_TOML_BYTES + 1))
    with pytest.raises(AuditError, match="larger than"):
        read_toml(path)


# --- tables ------------------------------------------------------------------------


def test_table_at_walks_dotted_keys_and_defaults_to_empty() -> None:
    data = {"tool": {"uv": {"sources": {"lib": {"path": "../lib"}}}}}
    assert table_at(data, "tool.uv.sources", WHERE) == {"lib": {"path": "../lib"}}
    assert table_at(data, "tool.hatch.build", WHERE) == {}


def test_table_at_names_the_level_that_is_not_a_table() -> None:
    with pytest.raises(AuditError, match=r"\[tool.uv\] must be a table"):
        table_at({"tool": {"uv": 1}}, "tool.uv.sources", WHERE)


@pytest.mark.parametrize(
    ("project", "message"),
    [
        ({}, "has no name"),
        ({"name": "-bad-"}, "valid distribution name"),
        ({"name": 3}, "valid distribution name"),
        ({"name": "ok", "version": 1}, "project.version must be a string"),
        ({"name": "ok", "dependencies": "six"}, "dependencies must be a list of strings"),
        ({"name": "ok", "dependencies": [1]}, "dependencies must be a list of strings"),
        ({"name": "ok", "dynamic": "version"}, "dynamic must be a list of strings"),
    ],
)
def test_project_table_checks_its_shape(project: dict, message: str) -> None:
    with pytest.raises(AuditError, match=message):
        project_table({"project": project}, WHERE)


def test_project_table_returns_a_valid_project() -> None:
    project = {"name": "order-pipeline", "version": "1.0", "dependencies": ["cloaca>=0.5"]}
    assert project_table({"project": project}, WHERE) is project


def test_project_version_is_required_unless_dynamic() -> None:
    assert project_version({"name": "x", "version": "2"}, WHERE) == "2"
    assert project_version({"name": "x", "dynamic": ["version"]}, WHERE) is None
    with pytest.raises(AuditError, match="has no version"):
        project_version({"name": "x"}, WHERE)


# --- [tool.cloacina-audit] -----------------------------------------------------------


def test_an_absent_table_gives_the_defaults() -> None:
    assert audit_config_from_pyproject({}, WHERE) == AuditConfig()
    defaults = AuditConfig()
    assert (defaults.deferred_imports, defaults.lazy_imports) == ("count", "count")
    assert defaults.type_checking_imports is None  # decided per contract source


def test_every_key_is_read() -> None:
    config = audit_config_from_pyproject(
        tool(
            preset="cloaca",
            packages=["order_pipeline"],
            budget={"install-size": "5 MB"},
            **{
                "type-checking-imports": "count",
                "deferred-imports": "ignore",
                "lazy-imports": "ignore",
                "target-reduction": 80,
                "entry-modules": ["order_pipeline.tasks"],
                "import-timeout": 30,
            },
        ),
        WHERE,
    )
    assert config == AuditConfig(
        preset="cloaca",
        packages=["order_pipeline"],
        budget={"install-size": "5 MB"},
        type_checking_imports="count",
        deferred_imports="ignore",
        lazy_imports="ignore",
        target_reduction="80",
        entry_modules=["order_pipeline.tasks"],
        import_timeout=30.0,
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"presets": "cloaca"}, "unknown key tool.cloacina-audit.presets"),
        ({"preset": 1}, "preset must be a string"),
        ({"packages": "wf"}, "packages must be a list of strings"),
        ({"packages": ["order-pipeline"]}, "is not an import package name"),
        ({"budget": "5 MB"}, "budget must be a table"),
        ({"deferred-imports": "skip"}, 'deferred-imports must be "count" or "ignore"'),
        ({"lazy-imports": True}, 'lazy-imports must be "count" or "ignore"'),
        ({"type-checking-imports": "yes"}, 'type-checking-imports must be "count" or "ignore"'),
        ({"target-reduction": ["80%"]}, "target-reduction must be like"),
        ({"import-timeout": 0}, "import-timeout must be a number of seconds"),
        ({"import-timeout": True}, "import-timeout must be a number of seconds"),
        ({"import-timeout": math.nan}, "import-timeout must be a number of seconds"),
        ({"import-timeout": 86401}, "import-timeout must be a number of seconds"),
        ({"entry-modules": [1]}, "entry-modules must be a list of strings"),
    ],
)
def test_a_bad_value_is_named(table: dict, message: str) -> None:
    with pytest.raises(AuditError) as caught:
        audit_config_from_pyproject(tool(**table), WHERE)
    assert str(caught.value).startswith(f"{WHERE}: ")
    assert message in str(caught.value)


# --- import-linter configurations ----------------------------------------------------


def test_find_importlinter_config_follows_lint_imports_order(tmp_path: Path) -> None:
    assert find_importlinter_config(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    assert find_importlinter_config(tmp_path) is None  # pyproject only when it mentions it
    (tmp_path / "pyproject.toml").write_text("[tool.importlinter]\nroot_package = 'a'\n")
    assert find_importlinter_config(tmp_path) == tmp_path / "pyproject.toml"
    (tmp_path / ".importlinter").write_text("")  # taken whatever it holds
    assert find_importlinter_config(tmp_path) == tmp_path / ".importlinter"
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = a\n")
    assert find_importlinter_config(tmp_path) == tmp_path / ".importlinter"
    (tmp_path / "setup.cfg").write_text("[importlinter]\nroot_package = a\n")
    assert find_importlinter_config(tmp_path) == tmp_path / "setup.cfg"


def test_read_importlinter_options_reads_contracts(tmp_path: Path) -> None:
    config = tmp_path / ".importlinter"
    config.write_text(
        "[importlinter]\nroot_packages =\n    wf\n\n"
        "[importlinter:contract:one]\nname = No engine\ntype = forbidden\n"
        "source_modules = wf\nforbidden_modules = cloacina.runner\n"
    )
    options = read_importlinter_options(config)
    assert options.session_options["root_packages"] == ["wf"]
    [contract] = options.contracts_options
    assert contract["name"] == "No engine"
    assert contract["forbidden_modules"] == "cloacina.runner"  # one line: a string, as lint-imports reads it


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[importlinter\nroot_package = wf\n", "malformed configuration"),
        ("[flake8]\nmax-line-length = 99\n", "no import-linter configuration"),
    ],
)
def test_read_importlinter_options_gives_one_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / ".importlinter"
    config.write_text(text)
    with pytest.raises(AuditError) as caught:
        read_importlinter_options(config)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
