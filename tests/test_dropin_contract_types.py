"""import-linter's newer contract types from an existing configuration, as lint-imports runs them.

``protected`` (import-linter 2.5) and ``acyclic_siblings`` (2.6) are checked by
import-linter's own engine in drop-in mode; the verdict must be lint-imports'
on the same tree, and a broken contract must name the statements to change.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli, write_tree

CONFIG = """
    [importlinter]
    root_package = app

    [importlinter:contract:protected]
    name = Core internals are protected
    type = protected
    protected_modules = app.core.internal
    allowed_importers = app.core

    [importlinter:contract:siblings]
    name = Plugins import each other without cycles
    type = acyclic_siblings
    ancestors = app.plugins
"""

BASE = {
    ".importlinter": CONFIG,
    "src/app/__init__.py": "",
    "src/app/core/__init__.py": "",
    "src/app/core/internal.py": "VALUE = 1\n",
    "src/app/core/api.py": "from app.core import internal\n",
    "src/app/plugins/__init__.py": "",
    "src/app/plugins/a.py": "from app.plugins import b\n",
    "src/app/plugins/b.py": "X = 1\n",
}


def _lint_imports(root: Path) -> dict[str, bool]:
    """Contract name -> kept, as lint-imports prints it."""
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(root / ".importlinter"),
         "--no-cache"],
        cwd=root / "src", capture_output=True, text=True, timeout=120,
    )
    verdicts = dict(re.findall(r"^(.+?) (KEPT|BROKEN)$", completed.stdout, re.M))
    assert verdicts, completed.stdout + completed.stderr
    return {name: verdict == "KEPT" for name, verdict in verdicts.items()}


def _ours(root: Path) -> dict[str, dict]:
    result = run_cli("check", str(root), "--format", "json")
    assert result.code in (0, 1), result.stderr
    return {c["name"]: c for c in json.loads(result.stdout)["packages"][0]["contracts"]}


@pytest.mark.parametrize("change, broken", [
    ({}, set()),
    ({"src/app/cli.py": "from app.core import internal\n"}, {"Core internals are protected"}),
    ({"src/app/plugins/b.py": "from app.plugins import a\n"},
     {"Plugins import each other without cycles"}),
])
def test_verdicts_are_lint_imports_verdicts(tmp_path, change, broken):
    write_tree(tmp_path, {**BASE, **change})
    theirs = _lint_imports(tmp_path)
    ours = _ours(tmp_path)
    assert {name: c["kept"] for name, c in ours.items()} == theirs
    assert {name for name, kept in theirs.items() if not kept} == broken


def test_a_broken_protected_contract_names_the_importing_statement(tmp_path):
    write_tree(tmp_path, {**BASE, "src/app/cli.py": "import os\nfrom app.core import internal\n"})
    contract = _ours(tmp_path)["Core internals are protected"]
    [violation] = contract["violations"]
    step = violation["chain"][0]
    assert (step["importer"], step["imported"], step["line"]) == ("app.cli", "app.core.internal", 2)
    assert step["statement"] == "from app.core import internal"


def test_a_broken_acyclic_siblings_contract_names_the_import_that_breaks_the_cycle(tmp_path):
    write_tree(tmp_path, {**BASE, "src/app/plugins/b.py": "X = 1\nfrom app.plugins import a\n"})
    contract = _ours(tmp_path)["Plugins import each other without cycles"]
    steps = [v["chain"][0] for v in contract["violations"]]
    assert [(s["importer"], s["imported"]) for s in steps] in (
        [("app.plugins.b", "app.plugins.a")], [("app.plugins.a", "app.plugins.b")])
    assert contract["violations"][0]["reason"] == \
        "removing it makes the children of app.plugins acyclic"
    text = run_cli("check", str(tmp_path)).stdout
    assert "acyclic_siblings" in text and "from app.plugins import" in text
