"""The server's cloaca authoring surface as an allow-list (issue 13, item 4).

On the server `cloaca` is built by `register_authoring()` alone
(crates/cloacina-python/src/lib.rs; loader.rs `ensure_cloaca_module`): a name outside
it fails at load, however the name is reached.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cloacina_shapes import flat_module, pack
from conftest import REPO, run_cli, write_tree
from pseudo_terminal import run_in_terminal

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

EVERY_AUTHORING_NAME = """
    import cloaca
    from cloaca import (Context, task, TaskHandle, TaskDecorator, constructor, context_value,
        task_success, task_failed, task_skipped, all_of, any_of, none_of, always, trigger,
        TriggerResult, TriggerDecorator, reactor, Workflow, register_workflow_constructor,
        WorkflowParamsDecorator, workflow_params, WorkflowSecretsDecorator, workflow_secrets,
        boundary_schema, TaskNamespace, WorkflowContext, RetryPolicy, RetryPolicyBuilder,
        BackoffStrategy, RetryCondition, ComputationGraphBuilder, node,
        passthrough_accumulator, stream_accumulator, polling_accumulator, batch_accumulator,
        state_accumulator, var, var_or)

    NAME = cloaca.__name__
    URL = cloaca.var_or("URL", "sqlite://")
"""

OUTSIDE = """
    from cloaca import Runner, task
    import cloaca as c


    @c.taks(id="a")
    def a(context):
        return getattr(c, "DefaultRunner")
"""


def check(path: Path) -> tuple[int, dict]:
    result = run_cli("check", str(path), "--format", "json")
    assert result.code in (0, 1) and result.stderr == "", (result.code, result.stderr)
    return result.code, json.loads(result.stdout)["packages"][0]


def surface_contract(entry: dict) -> dict:
    [contract] = [c for c in entry["contracts"] if c["type"] == "forbidden_symbols"]
    return contract


@pytest.mark.parametrize("form", ["directory", "archive"])
def test_every_authoring_name_passes(form, tmp_path):
    # Every name includes ComputationGraphBuilder: cloacinactl then wants a graph_name.
    package = flat_module(tmp_path / "src", tasks=EVERY_AUTHORING_NAME, graph=True)
    code, entry = check(package if form == "directory" else pack(package, tmp_path))
    assert code == 0, entry
    assert surface_contract(entry)["kept"]


@pytest.mark.parametrize("form", ["directory", "archive"])
def test_names_outside_the_surface_break_it_with_their_reason(form, tmp_path):
    package = flat_module(tmp_path / "src", tasks=OUTSIDE)
    code, entry = check(package if form == "directory" else pack(package, tmp_path))
    assert code == 1
    found = {
        (v["chain"][0]["imported"], v["chain"][0]["line"], v["reason"])
        for v in surface_contract(entry)["violations"]
    }
    unlisted = "not in the server's cloaca: register_authoring() of Cloacina 0.10.0 has no such name"
    assert found == {
        ("cloaca.Runner", 1, unlisted),
        ("cloaca.taks", 5, unlisted),
        ("cloaca.DefaultRunner", 7,
         "host only (the cloaca wheel's runner), absent on the server"),
    }


def test_submodules_of_cloaca_do_not_exist_on_the_server(tmp_path):
    package = flat_module(tmp_path / "src", tasks=(
        "import cloaca.task\nfrom cloaca.context import Context\nfrom cloaca import task\n"))
    code, entry = check(package)
    assert code == 1
    found = {(v["chain"][0]["imported"], v["chain"][0]["line"], v["reason"])
             for v in surface_contract(entry)["violations"]}
    reason = "the server's cloaca is one module (ensure_cloaca_module): it has no submodules"
    assert found == {("cloaca.task", 1, reason), ("cloaca.context", 2, reason)}


def test_reason_is_shown_in_text(tmp_path):
    package = flat_module(tmp_path / "src", tasks="from cloaca import Runner\n")
    result = run_cli("check", str(package))
    assert result.code == 1
    assert ("flat_tasks -> cloaca.Runner (not in the server's cloaca: register_authoring() "
            "of Cloacina 0.10.0 has no such name)") in " ".join(result.stdout.split())


def test_workflow_builder_stays_a_warning(tmp_path):
    package = flat_module(tmp_path / "src", tasks="import cloaca\nb = cloaca.WorkflowBuilder('x')\n")
    code, entry = check(package)
    assert code == 0
    assert any("registers no tasks" in w for w in surface_contract(entry)["warnings"])


def test_the_list_is_data_with_its_cloacina_version():
    text = (REPO / "contracts" / "cloaca.ini").read_text()
    assert "register_authoring()" in text and "Cloacina 0.10.0" in text
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    section = parser["importlinter:contract:cloaca-host-surface"]
    allowed = section["allowed_symbols"].split()
    names = [n for n in allowed if not n.startswith("__")]
    assert len(names) == len(set(names)) == 40
    assert not set(names) & {"DefaultRunner", "DatabaseAdmin", "WorkflowResult"}


# --- allow-list mode from plain lint-imports ---------------------------------------------

#: What both configurations share: the root package and the contract type from this tool.
SURFACE_CONFIG = """
[importlinter]
root_packages =
    wf
include_external_packages = True
contract_types =
    forbidden_symbols: cloacina_audit.analysis.contracts.symbols.ForbiddenSymbolsContract

[importlinter:contract:surface]
type = forbidden_symbols
module = engine
"""

LINT_CONFIG = SURFACE_CONFIG + """name = Only the engine's public surface
source_modules = wf
allowed_symbols =
    task
    Context
unlisted_symbol_reason = not public
"""


def plain_lint_imports(root: Path, config: str, files: dict[str, str]) -> subprocess.CompletedProcess:
    """``lint-imports`` itself (not this tool) on ``files`` and ``config`` written at ``root``."""
    write_tree(root, {".importlinter": config, **files})
    env = {**os.environ, "PYTHONPATH": str(root), "NO_COLOR": "1", "COLUMNS": "500"}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="lint-imports is not installed next to python")
@pytest.mark.parametrize(("source", "code"), [
    ("from engine import task, Context\n", 0),
    ("import engine\nengine.Secret()\n", 1),
])
def test_allow_list_from_plain_lint_imports(tmp_path, source, code):
    result = plain_lint_imports(tmp_path, LINT_CONFIG, {"wf/__init__.py": "", "wf/tasks.py": source})
    assert result.returncode == code, result.stdout + result.stderr
    if code:
        assert "wf.tasks is not allowed to use engine.Secret (not public):" in result.stdout
        assert f"{tmp_path / 'wf/tasks.py'}:2: engine.Secret()" in result.stdout


FOLLOW_CONFIG = SURFACE_CONFIG + """name = What the entry runs uses only the public surface
source_modules = wf.entry
follow_imports_within = wf
allowed_symbols = task
"""


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="lint-imports is not installed next to python")
def test_follow_imports_within_from_plain_lint_imports(tmp_path):
    result = plain_lint_imports(tmp_path, FOLLOW_CONFIG, {
        "wf/__init__.py": "import engine\nengine.Init\n",
        "wf/entry.py": "from wf import helper\n",
        "wf/helper.py": "import engine\nengine.Secret\n",
        "wf/unused.py": "import engine\nengine.Unused\n",
    })
    assert result.returncode == 1, result.stdout + result.stderr
    assert "wf.helper is not allowed to use engine.Secret" in result.stdout
    assert "wf is not allowed to use engine.Init" in result.stdout  # the parent package runs
    assert "Unused" not in result.stdout


def test_reasons_at_a_terminal(tmp_path):
    package = flat_module(tmp_path / "src", tasks="import cloaca\nimport requests\ncloaca.Runner\n")
    run = run_in_terminal("check", str(package), columns=80)
    text = run.text()
    assert run.code == 1, text
    flat = " ".join(text.split())
    assert ("flat_tasks -> cloaca.Runner (not in the server's cloaca: register_authoring() "
            "of Cloacina 0.10.0 has no such name)") in flat
    assert ("flat_tasks -> requests (not importable on the server: vendor the distribution "
            "that provides 'requests')") in flat
    assert "Traceback" not in text and "internal error" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
