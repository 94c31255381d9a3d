"""analysis/contracts/engine.py on its own: contracts checked on a package graph built in
a temp dir, without the CLI: verdicts, chains as file:line, kinds, presets fitted to the
graph, and the errors a configuration can cause."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_tree

from cloacina_audit.analysis.contracts.engine import check_contracts
from cloacina_audit.analysis.contracts.specs import ContractSpec
from cloacina_audit.analysis.imports.graph import build_package_graph
from cloacina_audit.analysis.imports.searchpath import SearchPath
from cloacina_audit.errors import AuditError

TREE = {
    "site/wf/__init__.py": "from wf import helpers\n",
    "site/wf/tasks.py": (
        "from typing import TYPE_CHECKING\n"
        "from cloacina_workflow import task\n"
        "if TYPE_CHECKING:\n"
        "    from engine.db import Session\n"
        "\n"
        "def run():\n"
        "    from engine import runner\n"
    ),
    "site/wf/helpers.py": "import engine.runner\n",
    "site/cloacina_workflow/__init__.py": "def task(f):\n    return f\n",
    "site/engine/__init__.py": "",
    "site/engine/runner.py": "from engine import db\n",
    "site/engine/db.py": "",
}


@pytest.fixture
def graph(tmp_path: Path):
    write_tree(tmp_path, TREE)
    return build_package_graph(["wf"], SearchPath([tmp_path / "site"]), cache_dir=None)


def spec(ignored: frozenset[str] = frozenset(), *, preset: bool = False, **options) -> ContractSpec:
    return ContractSpec(
        options={"name": "wf stays off the engine", "type": "forbidden", **options},
        session_options={},
        origin="preset:test" if preset else "test.ini",
        from_preset=preset,
        ignored_kinds=ignored,
        packages=("wf",) if preset else (),
    )


def test_a_forbidden_import_breaks_with_the_chain_as_file_and_line(graph, tmp_path: Path) -> None:
    [result] = check_contracts(
        [spec(source_modules=["wf.helpers"], forbidden_modules=["engine.db"])], graph)
    assert not result.kept and result.state == "broken"
    [violation] = result.violations
    assert [(s.importer, s.imported) for s in violation.chain] == [
        ("wf.helpers", "engine.runner"), ("engine.runner", "engine.db")]
    first = violation.chain[0]
    assert (Path(first.file), first.line, first.statement, first.kind) == (
        tmp_path / "site" / "wf" / "helpers.py", 1, "import engine.runner", "module")


def test_a_clean_source_keeps_the_contract(graph) -> None:
    [result] = check_contracts(
        [spec(source_modules=["cloacina_workflow"], forbidden_modules=["engine"])], graph)
    assert result.kept and result.violations == [] and result.state == "kept"


def test_importing_a_module_runs_its_parent_package(graph) -> None:
    # wf.tasks imports nothing forbidden at import time itself, but importing it runs
    # wf/__init__.py, which imports wf.helpers, which imports engine.runner.
    [result] = check_contracts(
        [spec({"type_checking", "function"}, source_modules=["wf.tasks"],
              forbidden_modules=["engine.runner"])], graph)
    assert not result.kept
    assert result.violations[0].chain[0].importer == "wf.tasks"


def test_kinds_that_are_ignored_do_not_break_it(graph) -> None:
    options = {"source_modules": ["wf.tasks"], "forbidden_modules": ["engine.db"],
               "ignore_imports": ["wf.tasks -> wf"]}
    counted = check_contracts([spec(**options)], graph)[0]
    ignored = check_contracts([spec({"type_checking", "function"}, **options)], graph)[0]
    assert not counted.kept
    assert sorted({step.kind for v in counted.violations for step in v.chain}) == [
        "function", "module", "type_checking"]
    assert ignored.kept


def test_a_preset_drops_modules_the_graph_does_not_hold(graph) -> None:
    [result] = check_contracts(
        [spec(preset=True, source_modules=["wf"], forbidden_modules=["engine.db", "engine.gone"])],
        graph)
    assert not result.kept
    assert any("engine.gone" in w for w in result.warnings)


def test_a_preset_about_modules_the_graph_lacks_is_not_applicable(graph) -> None:
    [result] = check_contracts(
        [spec(preset=True, source_modules=["wf"], forbidden_modules=["airflow.models"])], graph)
    assert result.kept and result.state == "not_applicable"


def test_a_user_contract_naming_an_absent_module_is_one_clear_error(graph) -> None:
    with pytest.raises(AuditError, match=r"^test.ini: contract 'wf stays off the engine': "):
        check_contracts([spec(source_modules=["wf"], forbidden_modules=["airflow.models"])], graph)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"type": "no-such-type"}, "has unknown type 'no-such-type'"),
        ({"type": ""}, "has no type"),
        ({"source_modules": ["wf"]}, "forbidden_modules"),
    ],
)
def test_a_bad_contract_is_named(graph, options: dict, message: str) -> None:
    with pytest.raises(AuditError) as caught:
        check_contracts([spec(**{"source_modules": ["wf"], **options})], graph)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_layers_are_checked_by_import_linter_itself(graph) -> None:
    layers = ContractSpec(
        options={"name": "layers", "type": "layers", "layers": ["wf", "engine"]},
        session_options={}, origin="test.ini")
    upside_down = ContractSpec(
        options={"name": "upside down", "type": "layers", "layers": ["engine", "wf"]},
        session_options={}, origin="test.ini")
    kept, broken = check_contracts([layers, upside_down], graph)
    assert kept.kept and not broken.kept
    # The lower layer (wf) imports the higher one (engine): wf -> wf.helpers -> engine.runner.
    [violation] = broken.violations
    assert violation.source.split(".")[0] == "wf"
    assert violation.target.split(".")[0] == "engine"
