"""Layouts the Cloacina server loads, checked end to end as directories and as archives.

The server appends workflow/ and vendor/ to sys.path and imports entry_module
(crates/cloacina-python/src/loader.rs, import_and_register_python_workflow_named):
a flat module, a namespace package and several top-level packages all load there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cloacina_shapes import computation_graph, flat_module, namespace_layout, pack, two_packages
from conftest import run_cli, write_tree

HOST_USE = "from cloaca import DefaultRunner\n"


def check_json(path: Path) -> tuple[int, dict]:
    result = run_cli("check", str(path), "--format", "json")
    assert result.code in (0, 1), (result.code, result.stderr)
    assert result.stderr == "", result.stderr
    return result.code, json.loads(result.stdout)["packages"][0]


def as_given(package: Path, form: str, tmp_path: Path) -> Path:
    return package if form == "directory" else pack(package, tmp_path)


def violations(entry: dict) -> list[dict]:
    return [step for c in entry["contracts"] for v in c["violations"] for step in v["chain"]]


FORMS = ["directory", "archive"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("shape", [flat_module, namespace_layout, computation_graph, two_packages])
def test_real_shaped_layouts_pass(shape, form, tmp_path):
    code, entry = check_json(as_given(shape(tmp_path / "src"), form, tmp_path))
    assert code == 0, entry
    assert entry["findings"] == []
    assert all(c["kept"] and not c["warnings"] for c in entry["contracts"]), entry["contracts"]


@pytest.mark.parametrize("form", FORMS)
def test_flat_module_is_audited(form, tmp_path):
    package = flat_module(tmp_path / "src", tasks=HOST_USE)
    code, entry = check_json(as_given(package, form, tmp_path))
    assert code == 1
    [step] = violations(entry)
    assert (step["importer"], step["imported"], step["line"]) == (
        "flat_tasks", "cloaca.DefaultRunner", 1)
    assert step["file"].endswith("workflow/flat_tasks.py")


@pytest.mark.parametrize("form", FORMS)
def test_namespace_package_is_audited(form, tmp_path):
    package = namespace_layout(tmp_path / "src", tasks="import os\n" + HOST_USE)
    code, entry = check_json(as_given(package, form, tmp_path))
    assert code == 1
    [step] = violations(entry)
    assert (step["importer"], step["line"]) == ("data_pipeline.tasks", 2)
    assert step["file"].endswith("workflow/data_pipeline/tasks.py")
    assert not [w for c in entry["contracts"] for w in c["warnings"]]


@pytest.mark.parametrize("form", FORMS)
def test_a_sibling_package_the_entry_imports_is_audited(form, tmp_path):
    package = two_packages(tmp_path / "src", helper=HOST_USE)
    code, entry = check_json(as_given(package, form, tmp_path))
    assert code == 1
    [step] = violations(entry)
    assert step["importer"] == "shared.sums"


def test_project_with_two_configured_packages(tmp_path):
    root = write_tree(tmp_path / "proj", {
        "pyproject.toml": """
            [project]
            name = "proj"
            version = "1.0"
            [tool.cloacina-audit]
            packages = ["alpha", "beta"]
        """,
        "alpha/__init__.py": "",
        "beta/__init__.py": "",
        "beta/db.py": "import sqlalchemy\n",
    })
    code, entry = check_json(root)
    assert code == 1
    [step] = violations(entry)
    assert (step["importer"], step["imported"]) == ("beta.db", "sqlalchemy")


def test_workflow_without_python_source_is_a_clean_error(tmp_path):
    package = write_tree(tmp_path / "empty", {
        "package.toml": '[package]\nname = "e"\nversion = "1.0.0"\n',
        "workflow/data/rows.csv": "a,b\n",
    })
    result = run_cli("check", str(package))
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        f"cloacina-audit: error: {package}: no Python source in workflow/ (a package or a module)"
    ]


@pytest.mark.parametrize("form", FORMS)
def test_stdlib_shadowing_as_the_server_checks_it(form, tmp_path):
    package = namespace_layout(tmp_path / "src")
    write_tree(package, {"workflow/signal": "not python\n",
                         "vendor/os.cpython-311-x86_64-linux-gnu.so": "\x7fELF\n"})
    code, entry = check_json(as_given(package, form, tmp_path))
    assert code == 1
    assert [(f["rule"], f["message"].split(" shadows")[0]) for f in entry["findings"]] == [
        ("loader-shadows-stdlib", "workflow/signal")]


def test_a_stdlib_name_in_workflow_is_not_audited_as_package_code(tmp_path):
    """On the server `import logging` gets the stdlib's module (workflow/ is appended)."""
    package = namespace_layout(tmp_path / "src")
    write_tree(package, {"workflow/logging.py": HOST_USE})
    code, entry = check_json(package)
    assert code == 0
    assert [(f["rule"], f["level"]) for f in entry["findings"]] == [
        ("loader-stdlib-first", "warning")]
    assert not violations(entry)


@pytest.mark.parametrize("form", FORMS)
def test_only_what_importing_the_entry_runs_is_audited(form, tmp_path):
    """The server imports entry_module and nothing else: a host script kept in workflow/
    never runs there; the entry's parent package __init__.py does."""
    package = two_packages(tmp_path / "src")
    write_tree(package, {
        "workflow/tools/__init__.py": "",
        "workflow/tools/run_local.py": "import requests\nfrom cloaca import DefaultRunner\n",
        "workflow/orders/cli.py": "import click\n",
    })
    code, entry = check_json(as_given(package, form, tmp_path))
    assert code == 0, entry
    assert all(c["kept"] for c in entry["contracts"])

    write_tree(package, {"workflow/orders/__init__.py": "import click\nimport cloaca\ncloaca.Runner\n"})
    code, entry = check_json(as_given(package, form, tmp_path))
    assert code == 1
    last_steps = sorted(
        (v["chain"][-1]["importer"], v["chain"][-1]["imported"])
        for c in entry["contracts"] for v in c["violations"]
    )
    assert last_steps == [("orders", "click"), ("orders", "cloaca.Runner")]


def test_a_helper_imported_inside_a_task_is_followed(tmp_path):
    package = two_packages(tmp_path / "src")
    write_tree(package, {
        "workflow/orders/tasks.py": "import cloaca\n\n@cloaca.task(id='a')\ndef a(context):\n"
                                    "    from shared import late\n    return context\n",
        "workflow/shared/late.py": "import cloaca\nRUNNER = cloaca.DefaultRunner\n",
    })
    code, entry = check_json(package)
    assert code == 1
    [step] = violations(entry)
    assert (step["importer"], step["imported"]) == ("shared.late", "cloaca.DefaultRunner")


@pytest.mark.parametrize("shape", [flat_module, namespace_layout])
def test_warm_cache_gives_the_same_bytes(shape, tmp_path):
    package = shape(tmp_path / "src", tasks="import cloaca\nimport requests\ncloaca.Runner\n")
    cache = tmp_path / "warm-cache"
    runs = [run_cli("check", str(package), "--format", "json", "--cache-dir", str(cache))
            for _ in range(2)]
    cold = run_cli("check", str(package), "--format", "json", "--no-cache")
    assert runs[0].code == runs[1].code == cold.code == 1
    assert runs[0].stdout == runs[1].stdout == cold.stdout
    assert list((cache / "graphs").iterdir())



@pytest.mark.parametrize("entry", ["flat_tasks.", "flat_tasks..x", "*"])
def test_an_entry_module_that_is_no_module_name_still_audits_the_package(entry, tmp_path):
    package = flat_module(tmp_path / "src", tasks="import cloaca\nimport requests\n")
    toml = package / "package.toml"
    toml.write_text(toml.read_text().replace('entry_module = "flat_tasks"', f'entry_module = "{entry}"'))
    code, entry_json = check_json(package)
    assert code == 1
    assert [v["chain"][-1]["imported"] for c in entry_json["contracts"] for v in c["violations"]] == [
        "requests"]
