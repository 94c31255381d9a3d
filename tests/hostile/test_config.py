"""Hostile configuration: malformed TOML and INI, unknown contract types, contradictory budgets."""

from __future__ import annotations

import textwrap

import pytest

from .support import assert_clean_error, audit, project

FORBID_CSV_INI = textwrap.dedent("""
    [importlinter]
    root_package = pkg

    [importlinter:contract:no-csv]
    name = no csv
    type = forbidden
    source_modules = pkg
    forbidden_modules = csv
""").lstrip()


def _tree(tmp_path, pyproject: str | None = None, **files: str):
    tree = project(tmp_path / "tree", {"pkg/__init__.py": "import json\n", **files})
    if pyproject is not None:
        (tree / "pyproject.toml").write_text(pyproject)
    return tree


# --- pyproject.toml ----------------------------------------------------------------------

MALFORMED_TOML = {
    "unclosed-table": ('[project\nname = "pkg"\n', "line 1"),
    "duplicate-key": ('[project]\nname = "pkg"\nname = "other"\n', "line 3"),
}


@pytest.mark.parametrize("case, command", [
    *((case, "check") for case in sorted(MALFORMED_TOML)),
    ("unclosed-table", "footprint"),
    ("unclosed-table", "report"),
])
def test_malformed_pyproject(tmp_path, case, command):
    text, where = MALFORMED_TOML[case]
    tree = _tree(tmp_path, text)
    result = audit(tree, command, str(tree))
    assert_clean_error(result, "pyproject.toml", "malformed TOML", where)


def test_pyproject_not_utf8(tmp_path):
    tree = _tree(tmp_path)
    (tree / "pyproject.toml").write_bytes(b'[project]\nname = "caf\xe9"\n')
    assert_clean_error(audit(tree, "check", str(tree)), "pyproject.toml", "UTF-8")


WRONG_TOOL_TABLE = {
    "not-a-table": ('cloacina-audit = "yes"', "[tool.cloacina-audit] must be a table"),
    "unknown-preset": ('[tool.cloacina-audit]\npreset = "nope"', "unknown preset 'nope'"),
    "unknown-key": ("[tool.cloacina-audit]\nbudgets = {}", "tool.cloacina-audit.budgets"),
    "budget-not-a-table": ('[tool.cloacina-audit]\nbudget = "2 MB"', "budget must be a table"),
}


@pytest.mark.parametrize("case", sorted(WRONG_TOOL_TABLE))
def test_wrong_tool_table(tmp_path, case):
    body, fragment = WRONG_TOOL_TABLE[case]
    if body.startswith("cloacina-audit"):
        body = "[tool]\n" + body
    tree = _tree(tmp_path, f'[project]\nname = "pkg"\nversion = "1"\n{body}\n')
    assert_clean_error(audit(tree, "check", str(tree)), fragment)


# --- import-linter configuration (INI and TOML) ---------------------------------------------

MALFORMED_INI = {
    "unclosed-contract-header": FORBID_CSV_INI.replace("[importlinter:contract:no-csv]",
                                                       "[importlinter:contract:no-csv"),
    "duplicate-option": FORBID_CSV_INI.replace("root_package = pkg",
                                               "root_package = pkg\nroot_package = pkg"),
    "duplicate-section": FORBID_CSV_INI + "\n[importlinter]\nroot_package = pkg\n",
    "missing-required-field": FORBID_CSV_INI.replace("forbidden_modules = csv", ""),
    "no-contracts": "[importlinter]\nroot_package = pkg\n",
}


@pytest.mark.parametrize("case", sorted(MALFORMED_INI))
def test_malformed_importlinter_ini(tmp_path, case):
    tree = _tree(tmp_path, **{".importlinter": MALFORMED_INI[case]})
    assert_clean_error(audit(tree, "check", str(tree)), ".importlinter")


def test_malformed_importlinter_main_header_is_not_silently_ignored(tmp_path):
    broken = FORBID_CSV_INI.replace("[importlinter]\n", "[importlinter\n")
    tree = _tree(tmp_path, **{".importlinter": broken})
    assert_clean_error(audit(tree, "check", str(tree)), ".importlinter")


def test_garbage_config_file_given_with_config(tmp_path):
    tree = _tree(tmp_path, **{"lint.ini": "this is not\x00 an ini file\n"})
    assert_clean_error(audit(tree, "check", str(tree), "--config", str(tree / "lint.ini")),
                       "lint.ini")


def test_missing_config_file(tmp_path):
    tree = _tree(tmp_path)
    assert_clean_error(audit(tree, "check", str(tree), "--config", str(tree / "nope.ini")),
                       "nope.ini")


UNKNOWN_TYPE = {
    "ini-word": (".importlinter", FORBID_CSV_INI.replace("type = forbidden", "type = nonsense"),
                 "unknown type 'nonsense'"),
    "ini-dotted-path": (".importlinter",
                        FORBID_CSV_INI.replace("type = forbidden", "type = evil.contracts:Boom"),
                        "evil.contracts:Boom"),
    "toml": ("pyproject.toml",
             '[project]\nname = "pkg"\nversion = "1"\n[tool.importlinter]\nroot_package = "pkg"\n'
             '[[tool.importlinter.contracts]]\nname = "x"\ntype = "wat"\n', "unknown type 'wat'"),
    "setup-cfg": ("setup.cfg", FORBID_CSV_INI.replace("type = forbidden", "type = ghost"),
                  "unknown type 'ghost'"),
}


@pytest.mark.parametrize("case", sorted(UNKNOWN_TYPE))
def test_unknown_contract_type(tmp_path, case):
    name, text, fragment = UNKNOWN_TYPE[case]
    tree = _tree(tmp_path, **{name: text})
    result = audit(tree, "check", str(tree))
    assert_clean_error(result, name, fragment)


def test_custom_contract_type_that_cannot_be_imported(tmp_path):
    """import-linter's ``contract_types`` names a class to import. One sitting in the audited
    tree is not importable (the tree is not on sys.path), so it is not run: one clear line."""
    marker = tmp_path / "imported"
    config = FORBID_CSV_INI.replace(
        "root_package = pkg", "root_package = pkg\ncontract_types =\n    boom: evilcontracts.Boom"
    ).replace("type = forbidden", "type = boom")
    tree = _tree(tmp_path, **{
        ".importlinter": config,
        "evilcontracts.py": f"open({str(marker)!r}, 'w').close()\n",
    })
    result = audit(tree, "check", str(tree))
    assert_clean_error(result, ".importlinter", "cannot load contract type", "evilcontracts.Boom")
    assert not marker.exists()


# --- budgets ---------------------------------------------------------------------------------

BAD_BUDGETS = {
    "negative-size": ('max-install-size = "-1 MB"', "max-install-size", "negative"),
    "negative-count": ("max-distributions = -1", "max-distributions", "negative"),
    "fractional-count": ("max-import-modules = 1.5", "max-import-modules", "1.5"),
    "infinite-size": ('max-install-size = "inf MB"', "max-install-size", "inf MB"),
    "negative-time": ('max-import-time = "-2 s"', "max-import-time", "negative"),
    "growth-not-percent": ('max-install-growth = "5"', "max-install-growth", "%"),
    "unknown-key": ("max-colour = 3", "max-colour", "unknown budget"),
}


def _budget_tree(tmp_path, line: str):
    return project(tmp_path / "tree", {"pkg/__init__.py": "VALUE = 1\n"},
                   extra=f'[tool.cloacina-audit]\npreset = "none"\n'
                         f"[tool.cloacina-audit.budget]\n{line}\n")


@pytest.mark.parametrize("case, command", [
    *((case, "footprint") for case in sorted(BAD_BUDGETS)),
    ("unknown-key", "report"),
])
def test_contradictory_budget(tmp_path, case, command):
    """Refused before anything is built: fast, and one line naming the key."""
    line, key, fragment = BAD_BUDGETS[case]
    tree = _budget_tree(tmp_path, line)
    result = audit(tree, command, str(tree), "--probe-runs", "1", timeout=30)
    assert_clean_error(result, key, fragment)


@pytest.mark.parametrize("case", ["negative-size", "unknown-key"])
def test_check_refuses_a_contradictory_budget_too(tmp_path, case):
    line, key, fragment = BAD_BUDGETS[case]
    tree = _budget_tree(tmp_path, line)
    assert_clean_error(audit(tree, "check", str(tree)), key, fragment)


@pytest.mark.parametrize("value", ['"150%"'])
def test_impossible_target_reduction(tmp_path, value):
    tree = project(tmp_path / "tree", {"pkg/__init__.py": "VALUE = 1\n"},
                   extra=f'[tool.cloacina-audit]\npreset = "none"\ntarget-reduction = {value}\n')
    result = audit(tree, "report", str(tree), "--before", str(tree), "--probe-runs", "1")
    assert_clean_error(result, "target reduction")


@pytest.mark.parametrize("value", ['"soon"'])
def test_impossible_import_timeout(tmp_path, value):
    tree = project(tmp_path / "tree", {"pkg/__init__.py": "VALUE = 1\n"},
                   extra=f'[tool.cloacina-audit]\npreset = "none"\nimport-timeout = {value}\n')
    result = audit(tree, "footprint", str(tree), "--probe-runs", "1")
    assert_clean_error(result, "import-timeout")


# --- shapes a build backend would refuse, and TOML that exhausts the parser ---------------

PYPROJECT_SHAPES = {
    "tool-hatch-not-a-table": ("[tool]\nhatch = 1\n", "[tool.hatch] must be a table"),
    "tool-uv-not-a-table": ('[tool]\nuv = "x"\n', "[tool.uv] must be a table"),
    "uv-sources-not-a-table": ("[tool.uv]\nsources = 1\n", "[tool.uv.sources] must be a table"),
    "hatch-packages-dotdot": ('[tool.hatch.build.targets.wheel]\npackages = ["pkg/sub/.."]\n',
                              "'pkg/sub/..' is not a directory path below the project"),
    "hatch-packages-not-a-list": ("[tool.hatch.build.targets.wheel]\npackages = 1\n",
                                  "packages must be a list of strings"),
    "audit-packages-not-a-name": ('[tool.cloacina-audit]\npackages = ["../pkg"]\n',
                                  "'../pkg' is not an import package name"),
}


@pytest.mark.parametrize("case", sorted(PYPROJECT_SHAPES))
@pytest.mark.parametrize("command", ["check", "footprint"])
def test_a_config_shape_error_is_one_clean_line(tmp_path, case, command):
    body, fragment = PYPROJECT_SHAPES[case]
    tree = _tree(tmp_path, f'[project]\nname = "pkg"\nversion = "1"\n{body}')
    (tree / "pkg/sub").mkdir()
    (tree / "pkg/sub/__init__.py").write_text("")
    assert_clean_error(audit(tree, command, str(tree), "--probe-runs", "1")
                       if command == "footprint" else audit(tree, command, str(tree)),
                       "pyproject.toml", fragment)


@pytest.mark.parametrize("pyproject, fragment", [
    ("[project]\n", "[project] has no name"),
    ('[project]\nname = "pkg"\n', "[project] has no version"),
    ('[project]\nname = 1\nversion = "1"\n', "project.name must be a valid distribution name"),
    ('[project]\nname = "pkg"\nversion = 1\n', "project.version must be a string"),
    ('[project]\nname = "pkg"\nversion = "1"\ndependencies = "x"\n', "project.dependencies"),
    ("project = 1\n", "[project] must be a table"),
])
@pytest.mark.parametrize("command", ["check", "footprint"])
def test_check_and_footprint_agree_on_a_project_without_name_or_version(
        tmp_path, pyproject, fragment, command):
    tree = _tree(tmp_path, pyproject)
    assert_clean_error(audit(tree, command, str(tree)), "pyproject.toml", fragment)


def test_a_dynamic_version_is_a_version(tmp_path):
    tree = _tree(tmp_path, '[project]\nname = "pkg"\ndynamic = ["version"]\n')
    result = audit(tree, "check", str(tree))
    assert result.code == 0, result.stderr


def _deep(depth: int) -> str:
    return "x = " + "[" * depth + "]" * depth + "\n"


HOSTILE_TOML = {
    "nested-3000-deep": (_deep(3000), "nested too deeply"),
    "integer-5000-digits": ("x = " + "1" * 5000 + "\n", "integer"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TOML))
@pytest.mark.parametrize("file", ["pyproject.toml", "package.toml"])
def test_toml_that_exhausts_the_parser_is_a_clean_error(tmp_path, case, file):
    text, fragment = HOSTILE_TOML[case]
    if file == "pyproject.toml":
        tree = _tree(tmp_path, f'[project]\nname = "pkg"\nversion = "1"\n{text}')
    else:
        tree = tmp_path / "tree"
        (tree / "workflow/demo").mkdir(parents=True)
        (tree / "workflow/demo/__init__.py").write_text("")
        (tree / "package.toml").write_text(
            f'{text}[package]\nname = "demo"\nversion = "1.0"\n')
    assert_clean_error(audit(tree, "check", str(tree)), file, "malformed TOML", fragment)


@pytest.mark.parametrize("special", ["fifo", "device"])
def test_a_pyproject_that_is_not_a_regular_file_is_not_read(tmp_path, special):
    import os

    tree = _tree(tmp_path)
    (tree / "pyproject.toml").unlink()
    if special == "fifo":
        os.mkfifo(tree / "pyproject.toml")
    else:
        (tree / "pyproject.toml").symlink_to("/dev/zero")
    result = audit(tree, "check", str(tree), timeout=30)
    assert_clean_error(result, "pyproject.toml", "not a regular file")


@pytest.mark.parametrize("file", ["pyproject.toml", "setup.cfg", ".importlinter"])
def test_a_configuration_file_over_4_mib_is_refused_unread(tmp_path, file):
    tree = _tree(tmp_path)
    target = tree / file
    with target.open("a") as handle:
        handle.write("\n# importlinter tool.importlinter\n")
        handle.write(("#" + "x" * 1023 + "\n") * 4200)  # 4.1 MiB of comments
    assert_clean_error(audit(tree, "check", str(tree)), file, "larger than 4194304 bytes")
