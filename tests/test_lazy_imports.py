"""PEP 810 explicit lazy imports: labelled ``lazy``, and they break contracts by default.

The syntax is Python 3.15's; grimp reads it on any Python, and so does check.
"""

from __future__ import annotations

import json

from conftest import run_cli, write_tree
from hostile.support import project
from pseudo_terminal import run_in_terminal

from cloacina_audit.model.lazy import lazy_import_loads
from cloacina_audit.model.report import ContractResult, ImportProbe, ImportStep, Violation
from cloacina_audit.render._format import lazy_import_line

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


# --- what the import probe saw --------------------------------------------------------
#
# The probe imports the package and each of its modules in the measured environment's
# Python. Before 3.15 a module holding `lazy import` cannot even be compiled: the probe
# lists it as failed, and its lazy statements never run. So on this Python the report can
# show two honest outcomes: a lazy target that something else loaded eagerly ("loaded at
# import time anyway"), and one nothing loaded, with the reason the statement did not run.
# The third (the importer ran, its lazy target stayed out) needs Python 3.15 to execute
# the syntax; test_lazy_import_loads_* covers the decision with the probe's data.

HATCH = """
    [build-system]
    requires = ["hatchling"]
    build-backend = "hatchling.build"
"""
DEPENDENCIES = {
    "heavydb/pyproject.toml": HATCH + '[project]\nname = "heavydb"\nversion = "1"\n',
    "heavydb/heavydb/__init__.py": "",
    "heavycache/pyproject.toml": HATCH + '[project]\nname = "heavycache"\nversion = "1"\n',
    "heavycache/heavycache/__init__.py": "",
}
STORAGE = """
    [importlinter]
    root_packages = lz
    [importlinter:contract:storage]
    name = No storage
    type = forbidden
    source_modules = lz.tasks
    forbidden_modules =
        heavydb
        heavycache
"""


def _probed_package(root):
    write_tree(root, DEPENDENCIES)
    return project(root / "lz", {
        ".importlinter": STORAGE,
        "lz/__init__.py": "",
        "lz/tasks.py": "lazy import heavydb\nlazy from heavycache import x\n",
        "lz/warm.py": "import heavycache\n",  # loads heavycache eagerly, whatever tasks does
    }, name="lz", dependencies='["heavydb", "heavycache"]', extra="""
        [tool.uv.sources]
        heavydb = { path = "../heavydb" }
        heavycache = { path = "../heavycache" }
        [tool.cloacina-audit]
        preset = "none"
    """)


def test_the_report_says_whether_each_lazy_target_was_loaded(tmp_path):
    tree = _probed_package(tmp_path)
    result = run_cli("report", str(tree), "--probe-runs", "1", "--format", "json")
    assert result.code == 1, result.stderr
    probe = json.loads(result.stdout)["packages"][0]["footprint"]["import"]
    lazy = {entry["imported"]: entry for entry in probe["lazy_imports"]}
    assert [e["line"] for e in probe["lazy_imports"]] == [1, 2]
    assert lazy["heavydb"]["loaded"] is False
    assert lazy["heavycache"]["loaded"] is True  # lz.warm imported it eagerly
    for entry in lazy.values():
        assert entry["importer"] == "lz.tasks" and entry["importer_loaded"] is False
        assert entry["importer_failed"].startswith("SyntaxError")  # Python 3.11 here
    assert lazy["heavycache"]["statement"] == "lazy from heavycache import x"

    for fmt in ("text", "markdown", "html"):
        shown = run_cli("report", str(tree), "--probe-runs", "1", "--format", fmt).stdout
        flat = " ".join(shown.split())
        assert "heavycache was loaded at import time anyway" in flat, fmt
        assert "heavydb not loaded; lz.tasks itself was not imported (SyntaxError" in flat, fmt


def test_at_a_terminal_the_lazy_lines_follow_the_import_line(tmp_path):
    tree = _probed_package(tmp_path)
    run = run_in_terminal("report", str(tree), "--probe-runs", "1", columns=200, cwd=tmp_path)
    lines = [line.strip() for line in run.screen()]
    at = next(i for i, line in enumerate(lines) if line.startswith("Import: "))
    assert lines[at + 1].startswith("Forbidden modules loaded: heavycache")
    assert lines[at + 2].startswith("Lazy import: lazy import heavydb (lz/lz/tasks.py:1): ")
    assert lines[at + 2].endswith("heavydb not loaded; lz.tasks itself was not imported "
                                  "(SyntaxError: invalid syntax)")
    assert lines[at + 3].endswith("heavycache was loaded at import time anyway")


def _probe(loaded: list[str], failed: list[str] = ()) -> ImportProbe:
    return ImportProbe(modules=len(loaded), non_stdlib_modules=0, forbidden_loaded=[],
                       seconds_median=0.0, loaded_modules=loaded, failed_imports=list(failed))


def _broken(*steps: ImportStep) -> ContractResult:
    return ContractResult(name="c", type="forbidden", kept=False,
                          violations=[Violation(chain=steps)])


LAZY = ImportStep("lz.tasks", "heavydb", "lz/tasks.py", 1, "lazy", "lazy import heavydb")


def test_lazy_import_loads_a_target_left_out_by_an_importer_that_ran():
    """What Python 3.15 shows: lz.tasks was imported, its lazy target was not."""
    [seen] = lazy_import_loads([_broken(LAZY)], _probe(["lz", "lz.tasks"]))
    assert (seen.loaded, seen.importer_loaded, seen.importer_failed) == (False, True, "")
    line = lazy_import_line(seen, ".")
    assert line == "lazy import heavydb (lz/tasks.py:1): heavydb not loaded at import time"


def test_lazy_import_loads_only_lazy_steps_of_every_chain_once():
    eager = ImportStep("lz", "lz.tasks", "lz/__init__.py", 1, "module", "import lz.tasks")
    deeper = ImportStep("heavydb", "heavydb.engine", "x.py", 3, "lazy", "lazy import heavydb.engine")
    baselined = ContractResult(name="b", type="forbidden", kept=True,
                               baselined=[Violation(chain=(eager, LAZY))])
    seen = lazy_import_loads(
        [_broken(eager, LAZY, deeper), baselined],
        _probe(["lz", "heavydb", "heavydb.engine"], ["lz.tasks: SyntaxError: invalid syntax"]),
    )
    assert [(s.importer, s.imported) for s in seen] == [
        ("lz.tasks", "heavydb"), ("heavydb", "heavydb.engine")]
    assert [s.loaded for s in seen] == [True, True]
    assert seen[0].importer_failed == "SyntaxError: invalid syntax" and seen[1].importer_loaded
