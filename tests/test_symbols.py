"""The symbol-level contract: every form of use of a host-only ``cloaca`` name is caught."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from conftest import write_tree
from importlinter.domain.contract import InvalidContractOptions

from cloacina_audit.analysis.contracts.engine import preset_specs
from cloacina_audit.analysis.contracts.symbols import (
    ForbiddenSymbolsContract,
    find_module_file,
    find_symbol_uses,
    module_file_resolver,
)

HOST_ONLY = [
    "DefaultRunner",
    "DefaultRunnerConfig",
    "WorkflowResult",
    "DatabaseAdmin",
    "TenantConfig",
    "TenantCredentials",
    "_shutdown_all_runners",
]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def uses(source: str, **kwargs) -> list[tuple[str, int, str]]:
    options = {"module": "cloaca", "symbols": HOST_ONLY + ["WorkflowBuilder"], **kwargs}
    return [(u.symbol, u.line, u.form) for u in find_symbol_uses(source, **options)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from cloaca import DefaultRunner\n", [("DefaultRunner", 1, "from-import")]),
        (
            "from cloaca import task, DefaultRunner as R\nR()\n",
            [("DefaultRunner", 1, "from-import")],
        ),
        ("import cloaca\ncloaca.DefaultRunner()\n", [("DefaultRunner", 2, "attribute")]),
        ("import cloaca as c\nx = c.DatabaseAdmin\n", [("DatabaseAdmin", 2, "attribute")]),
        (
            "from cloaca import *\n\n\nrunner = DefaultRunner('sqlite://')\n",
            [("DefaultRunner", 1, "star-import"), ("DefaultRunner", 4, "star-use")],
        ),
        ('import cloaca\ngetattr(cloaca, "TenantConfig")\n', [("TenantConfig", 2, "getattr")]),
        (
            "import cloaca\nx = cloaca\ny = x\ny.WorkflowResult\n",
            [("WorkflowResult", 4, "attribute")],
        ),
        (
            "import cloaca\na, b = cloaca, 1\na.TenantCredentials\n",
            [("TenantCredentials", 3, "attribute")],
        ),
        (
            "import importlib\nimportlib.import_module('cloaca').DefaultRunnerConfig\n",
            [("DefaultRunnerConfig", 2, "attribute")],
        ),
        (
            "__import__('cloaca')._shutdown_all_runners()\n",
            [("_shutdown_all_runners", 1, "attribute")],
        ),
        ("import cloaca.DefaultRunner\n", [("DefaultRunner", 1, "import")]),
        # Re-bound names keep pointing at the symbol; a use through them is the same use.
        (
            "from cloaca import DefaultRunner\nR = DefaultRunner\nR()\n",
            [("DefaultRunner", 1, "from-import")],
        ),
        ("import cloaca\nR = cloaca.DefaultRunner\nR.x\n", [("DefaultRunner", 2, "attribute")]),
    ],
)
def test_every_form_of_use_is_found(source: str, expected: list) -> None:
    assert uses(source) == expected


def test_kinds_of_use() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import cloaca\n"
        "if TYPE_CHECKING:\n"
        "    from cloaca import WorkflowResult\n"
        "def run():\n"
        "    return cloaca.DefaultRunner()\n"
        "cloaca.DatabaseAdmin\n"
    )
    found = {u.symbol: u.kind for u in find_symbol_uses(source, module="cloaca", symbols=HOST_ONLY)}
    assert found == {
        "WorkflowResult": "type_checking",
        "DefaultRunner": "function",
        "DatabaseAdmin": "module",
    }


def test_function_bodies_see_names_bound_later_and_parameters_shadow() -> None:
    source = (
        "def later():\n"
        "    return c.DefaultRunner\n"
        "def shadowed(cloaca):\n"
        "    return cloaca.DefaultRunner\n"
        "import cloaca as c\n"
    )
    assert uses(source) == [("DefaultRunner", 2, "attribute")]


def test_a_class_body_binds_names_of_its_own() -> None:
    # ``cloaca`` inside the class is a class attribute; the module's ``cloaca`` is untouched,
    # and a method body sees the module's names, not the class's.
    source = (
        "import cloaca\n"
        "class A:\n"
        "    cloaca = object()\n"
        "    here = cloaca.DefaultRunner\n"
        "    def method(self):\n"
        "        return cloaca.DatabaseAdmin\n"
        "cloaca.DefaultRunner\n"
    )
    assert uses(source) == [("DatabaseAdmin", 6, "attribute"), ("DefaultRunner", 7, "attribute")]


@pytest.mark.parametrize(
    "source",
    [
        "if c:\n    import cloaca as x\nelse:\n    x = None\nx.DefaultRunner\n",
        "if c:\n    x = None\nelse:\n    import cloaca as x\nx.DefaultRunner\n",
        "try:\n    import cloaca as x\nexcept ImportError:\n    x = None\nx.DefaultRunner\n",
        "try:\n    import cloaca as x\nexcept ImportError:\n    x = None\nelse:\n    pass\nx.DefaultRunner\n",
        "import cloaca as x\nfor _ in range(3):\n    x = None\nx.DefaultRunner\n",
        "import cloaca as x\nwhile c:\n    x = None\nx.DefaultRunner\n",
        "match c:\n    case 1:\n        import cloaca as x\n    case _:\n        x = None\nx.DefaultRunner\n",
    ],
    ids=["if-body", "if-else", "try-except", "try-except-else", "for", "while", "match"],
)
def test_a_name_bound_on_any_branch_may_stand_for_the_module(source: str) -> None:
    last_line = source.count("\n")
    assert uses(source) == [("DefaultRunner", last_line, "attribute")]


def test_a_branch_that_rebinds_on_every_path_drops_the_module() -> None:
    source = "import cloaca as x\nif c:\n    x = 1\nelse:\n    x = 2\nx.DefaultRunner\n"
    assert uses(source) == []


def test_names_that_only_look_alike_are_not_uses() -> None:
    source = (
        "import cloaca\n"
        "from other import DefaultRunner\n"
        "DefaultRunner()\n"
        "cloaca.task\n"
        "getattr(cloaca, name)\n"
        "class WorkflowResult: pass\n"
        "thing.DefaultRunner\n"
        "'cloaca.DefaultRunner'\n"
    )
    assert uses(source) == []


def test_a_local_definition_shadows_a_star_import() -> None:
    source = "from cloaca import *\nclass DefaultRunner: pass\nDefaultRunner()\ntask\n"
    assert uses(source) == []


def test_relative_imports_resolve_against_the_importer() -> None:
    source = "from .engine import Runner\nfrom . import engine\nengine.Runner\n"
    found = find_symbol_uses(source, module="pkg.engine", symbols=["Runner"], importer="pkg.tasks")
    assert [(u.line, u.form) for u in found] == [(1, "from-import"), (3, "attribute")]


# --- the contract type on a real package ----------------------------------------------

BAD = {
    "wfbad/__init__.py": "",
    "wfbad/tasks.py": """
        import cloaca
        from cloaca import task, Context

        @task(id="extract")
        def extract(context: Context) -> Context:
            return context

        def main():
            runner = cloaca.DefaultRunner("sqlite:///x.db")
            return runner
    """,
    "wfbad/admin.py": """
        from cloaca import DatabaseAdmin as Admin, TenantConfig
    """,
    "wfbad/sub/__init__.py": "",
    "wfbad/sub/deep.py": """
        from cloaca import *
        result: WorkflowResult = None
    """,
}

GOOD = {
    "wfgood/__init__.py": "",
    "wfgood/tasks.py": """
        import cloaca
        from cloaca import task, Context, RetryPolicy, all_of, task_success
        from cloaca import *

        @task(id="load", dependencies=["extract"], retry_policy=RetryPolicy(max_attempts=3))
        def load(context: Context) -> Context:
            context.set("ok", True)
            return context

        rule = all_of(task_success("extract"))
        ns = cloaca.TaskNamespace
        x = trigger
    """,
}

BUILDER = {
    "wfbuilder/__init__.py": "",
    "wfbuilder/tasks.py": """
        import cloaca

        builder = cloaca.WorkflowBuilder("nightly")
    """,
}


def contract(source: str, **options) -> ForbiddenSymbolsContract:
    return ForbiddenSymbolsContract(
        name="cloaca host surface",
        session_options={"root_packages": [source], "include_external_packages": "True"},
        contract_options={
            "source_modules": [source],
            "module": "cloaca",
            "forbidden_symbols": HOST_ONLY,
            "warning_symbols": ["WorkflowBuilder: registers no tasks"],
            **options,
        },
    )


@pytest.fixture
def packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tree(tmp_path, {**BAD, **GOOD, **BUILDER})
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def graph_of(name: str) -> grimp.ImportGraph:
    return grimp.build_graph(name, include_external_packages=True, cache_dir=None)


def test_contract_catches_host_names_with_file_and_line(packages: Path) -> None:
    check = contract("wfbad").check(graph_of("wfbad"), verbose=False)
    assert not check.kept
    links = [
        link
        for entry in check.metadata["invalid_chains"]
        for chain in entry["chains"]
        for link in chain
    ]
    found = {
        (link["importer"], link["imported"], link["line_numbers"], link["form"]) for link in links
    }
    assert found == {
        ("wfbad.tasks", "cloaca.DefaultRunner", (9,), "attribute"),
        ("wfbad.admin", "cloaca.DatabaseAdmin", (1,), "from-import"),
        ("wfbad.admin", "cloaca.TenantConfig", (1,), "from-import"),
        ("wfbad.sub.deep", "cloaca.WorkflowResult", (1,), "star-import"),
        ("wfbad.sub.deep", "cloaca.WorkflowResult", (2,), "star-use"),
    }
    by_importer = {link["importer"]: link for link in links}
    assert by_importer["wfbad.tasks"]["file"] == str(packages / "wfbad/tasks.py")
    assert (
        by_importer["wfbad.tasks"]["line_contents"]
        == 'runner = cloaca.DefaultRunner("sqlite:///x.db")'
    )
    assert by_importer["wfbad.tasks"]["kind"] == "function"
    assert by_importer["wfbad.sub.deep"]["file"] == str(packages / "wfbad/sub/deep.py")


def test_contract_keeps_an_authoring_only_package(packages: Path) -> None:
    check = contract("wfgood").check(graph_of("wfgood"), verbose=False)
    assert check.kept
    assert check.metadata["invalid_chains"] == []
    assert check.warnings == []


def test_workflow_builder_is_a_warning(packages: Path) -> None:
    check = contract("wfbuilder").check(graph_of("wfbuilder"), verbose=False)
    assert check.kept
    assert check.warnings == [
        f"{packages / 'wfbuilder/tasks.py'}:3: wfbuilder.tasks uses cloaca.WorkflowBuilder: "
        "registers no tasks"
    ]
    [use] = check.metadata["warning_uses"]
    assert use["symbol"] == "cloaca.WorkflowBuilder" and use["line"] == 3
    assert "importer" not in use  # never mistaken for a chain


def test_type_checking_uses_can_be_excluded(packages: Path, tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "wftc/__init__.py": "",
            "wftc/t.py": """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from cloaca import WorkflowResult
    """,
        },
    )
    graph = graph_of("wftc")
    assert not contract("wftc").check(graph, verbose=False).kept
    excluding = contract("wftc")
    excluding.session_options["exclude_type_checking_imports"] = "True"
    assert excluding.check(graph, verbose=False).kept


def test_the_resolver_hook_decides_where_sources_are(packages: Path, tmp_path: Path) -> None:
    # A second copy of wfbad elsewhere, clean: the hook, not sys.path, decides what is read.
    write_tree(
        tmp_path / "clean",
        {
            "wfbad/__init__.py": "",
            "wfbad/tasks.py": "",
            "wfbad/admin.py": "",
            "wfbad/sub/__init__.py": "",
            "wfbad/sub/deep.py": "",
        },
    )
    graph = graph_of("wfbad")

    def resolver(module: str) -> Path | None:
        path = tmp_path / "clean" / Path(*module.split("."))
        return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")

    with module_file_resolver(resolver):
        assert find_module_file("wfbad.sub.deep") == tmp_path / "clean/wfbad/sub/deep.py"
        assert contract("wfbad").check(graph, verbose=False).kept
    assert find_module_file("wfbad.sub.deep") == packages / "wfbad/sub/deep.py"
    assert find_module_file("wfbad.sub") == packages / "wfbad/sub/__init__.py"
    assert find_module_file("no_such_package_anywhere.x") is None


def test_unknown_source_module_is_an_error(packages: Path) -> None:
    with pytest.raises(ValueError, match="Module 'wfmissing' does not exist"):
        contract("wfmissing").check(graph_of("wfbad"), verbose=False)


def test_options_are_validated() -> None:
    with pytest.raises(InvalidContractOptions) as caught:
        ForbiddenSymbolsContract(
            name="x",
            session_options={},
            contract_options={"source_modules": ["a"], "module": "cloaca"},
        )
    assert "forbidden_symbols" in caught.value.errors
    with pytest.raises(InvalidContractOptions) as caught:
        ForbiddenSymbolsContract(
            name="x",
            session_options={},
            contract_options={
                "source_modules": ["a"],
                "module": "not a module",
                "forbidden_symbols": ["A"],
            },
        )
    assert "module" in caught.value.errors


def test_the_cloaca_preset(packages: Path) -> None:
    # The preset also holds the allowed_imports contract (issue 13, item 5).
    [spec] = [s for s in preset_specs("cloaca", ["wfbad"], frozenset())
              if s.options["type"] == "forbidden_symbols"]
    options = spec.options
    assert options["type"] == "forbidden_symbols"
    preset = ForbiddenSymbolsContract(
        name=spec.name,
        session_options={"root_packages": ["wfbad"], "include_external_packages": "True"},
        contract_options=options,
    )
    assert set(preset._forbidden()) == set(HOST_ONLY)
    assert "registers no tasks" in preset._warned()["WorkflowBuilder"]
    check = preset.check(graph_of("wfbad"), verbose=False)
    assert not check.kept and len(check.metadata["invalid_chains"]) == 4


# --- from plain lint-imports ----------------------------------------------------------

LINT_CONFIG = """
[importlinter]
root_packages =
    {package}
include_external_packages = True
contract_types =
    forbidden_symbols: cloacina_audit.analysis.contracts.symbols.ForbiddenSymbolsContract

[importlinter:contract:cloaca-host]
name = Workflow code must not use the cloaca host surface
type = forbidden_symbols
source_modules =
    {package}
module = cloaca
forbidden_symbols =
    {forbidden}
warning_symbols =
    WorkflowBuilder: registers no tasks
"""


def lint_imports(project: Path, package: str) -> subprocess.CompletedProcess[str]:
    forbidden = "\n    ".join(HOST_ONLY)
    (project / ".importlinter").write_text(
        LINT_CONFIG.format(package=package, forbidden=forbidden), encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": str(project), "NO_COLOR": "1", "COLUMNS": "500"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="lint-imports is not installed next to python"
)
def test_lint_imports_end_to_end(tmp_path: Path) -> None:
    write_tree(tmp_path, {**BAD, **GOOD})

    broken = lint_imports(tmp_path, "wfbad")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Workflow code must not use the cloaca host surface BROKEN" in broken.stdout
    assert "wfbad.tasks is not allowed to use cloaca.DefaultRunner" in broken.stdout
    assert (
        f"{tmp_path / 'wfbad/tasks.py'}:9: "
        'runner = cloaca.DefaultRunner("sqlite:///x.db")  (used as an attribute of the module)'
    ) in broken.stdout
    assert (
        f"{tmp_path / 'wfbad/sub/deep.py'}:1: from cloaca import *  (brought in by a star import)"
        in broken.stdout
    )
    assert "wfbad.admin is not allowed to use cloaca.DatabaseAdmin" in broken.stdout

    kept = lint_imports(tmp_path, "wfgood")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "Workflow code must not use the cloaca host surface KEPT" in kept.stdout
