"""PEP 810 explicit lazy imports: labelled ``lazy``, and they break contracts by default.

The syntax is Python 3.15's; grimp reads it on any Python, and so does check.
"""

from __future__ import annotations

import json

from conftest import run_cli
from hostile.support import project

CONTRACT = """
    [importlinter]
    root_packages = lz
    [importlinter:contract:db]
    name = No storage
    type = forbidden
    source_modules = lz.tasks
    forbidden_modules = lz.db
"""


def test_a_lazy_import_breaks_the_contract_and_is_labelled_lazy(tmp_path):
    tree = project(tmp_path / "lz", {
        ".importlinter": CONTRACT,
        "lz/__init__.py": "",
        "lz/db.py": "",
        "lz/tasks.py": "import os\nlazy import lz.db\n",
    }, name="lz", extra='[tool.cloacina-audit]\npreset = "none"\n')
    result = run_cli("check", str(tree), "--format", "json")
    assert result.code == 1, result.stderr
    [statement] = json.loads(result.stdout)["packages"][0]["contracts"][0]["statements"]
    assert (statement["line"], statement["kind"], statement["statement"]) == (
        2, "lazy", "lazy import lz.db")
    text = run_cli("check", str(tree)).stdout
    assert "[lazy]" in text


def test_lazy_from_is_lazy_too(tmp_path):
    tree = project(tmp_path / "lz", {
        ".importlinter": CONTRACT,
        "lz/__init__.py": "",
        "lz/db.py": "X = 1\n",
        "lz/tasks.py": "lazy from lz.db import X\n",
    }, name="lz", extra='[tool.cloacina-audit]\npreset = "none"\n')
    result = run_cli("check", str(tree), "--format", "json")
    [statement] = json.loads(result.stdout)["packages"][0]["contracts"][0]["statements"]
    assert statement["kind"] == "lazy"


def test_lazy_imports_can_be_ignored_by_option_or_config(tmp_path):
    files = {
        ".importlinter": CONTRACT,
        "lz/__init__.py": "",
        "lz/db.py": "",
        "lz/tasks.py": "lazy import lz.db\n",
    }
    tree = project(tmp_path / "lz", files, name="lz", extra='[tool.cloacina-audit]\npreset = "none"\n')
    assert run_cli("check", str(tree)).code == 1
    assert run_cli("check", str(tree), "--lazy-imports", "ignore").code == 0
    configured = project(tmp_path / "lz2", files, name="lz",
                         extra='[tool.cloacina-audit]\npreset = "none"\nlazy-imports = "ignore"\n')
    assert run_cli("check", str(configured)).code == 0
    assert run_cli("check", str(configured), "--lazy-imports", "count").code == 1
