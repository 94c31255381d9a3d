"""``check`` where the project's dependencies are not installed (a pre-commit hook's case).

The engine is a real wheel in a local directory that uv is pointed at
(``UV_FIND_LINKS``, ``UV_NO_INDEX``): nothing comes from the network. Its
``.pth`` file and ``__init__.py`` would write a marker if any of its code ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import projects
from conftest import assert_clean_error, run_cli, write_tree
from hostile.support import assert_verdict, audit
from pseudo_terminal import run_in_terminal
from wheelmaker import make_wheel

RAN = "ran-engine-code"

ENGINE_FILES = {
    "cloacina/__init__.py": f"""
        import pathlib
        pathlib.Path({{marker!r}}).write_text("{RAN}")
        from cloacina.runtime import Runner
    """,
    "cloacina/runtime/__init__.py": "class Runner:\n    pass\n",
    "cloacina/database/__init__.py": "DAL = object()\n",
    "cloacina/registry/__init__.py": "",
    "cloacina_hook.pth": "import pathlib; pathlib.Path({marker!r}).write_text('pth')\n",
}

PYPROJECT = """
    [project]
    name = "wf"
    version = "1"
    dependencies = ["cloacina>=1"]
"""


def engine_index(tmp_path: Path) -> tuple[dict[str, str], Path]:
    marker = tmp_path / "marker"
    files = {k: v.replace("{marker!r}", repr(str(marker))) for k, v in ENGINE_FILES.items()}
    index = tmp_path / "wheels"
    make_wheel(index, "cloacina", "1.0", files)
    return {"UV_FIND_LINKS": str(index), "UV_NO_INDEX": "1"}, marker


def workflow(tmp_path: Path, tasks: str) -> Path:
    return write_tree(tmp_path / "tree", {
        "pyproject.toml": PYPROJECT,
        "wf/__init__.py": "",
        "wf/tasks.py": tasks,
    })


def engine_chains(stdout: str) -> list[list[tuple[str, str, bool]]]:
    [package] = json.loads(stdout)["packages"]
    for contract in package["contracts"]:
        if "engine" in contract["name"]:
            return [[(s["importer"], s["imported"], s["not_installed"]) for s in v["chain"]]
                    for v in contract["violations"]]
    raise AssertionError("no engine contract")


def test_missing_dependencies_are_resolved_from_wheels_and_graphed_without_running(tmp_path):
    env, marker = engine_index(tmp_path)
    tree = workflow(tmp_path, "from cloacina import Runner\n")
    result = audit(tree, "check", str(tree), "--format", "json", env=env)
    assert_verdict(result, 1)
    # The chain runs through the engine's own __init__: the dependency was graphed.
    assert [("wf.tasks", "cloacina", False), ("cloacina", "cloacina.runtime", False)] in (
        engine_chains(result.stdout))
    assert not marker.exists(), "code of the resolved dependency ran"
    # Cached: a second run reuses the resolved directory, with the same output.
    again = audit(tree, "check", str(tree), "--format", "json", env=env)
    assert again.stdout == result.stdout
    assert not marker.exists()


def test_no_cache_resolves_into_a_temporary_directory_it_removes(tmp_path):
    env, marker = engine_index(tmp_path)
    tree = workflow(tmp_path, "from cloacina import Runner\n")
    result = audit(tree, "check", str(tree), "--no-cache", env=env)  # audit: TMPDIR left empty
    assert_verdict(result, 1)
    assert "cloacina.runtime" in result.stdout and not marker.exists()


def test_fail_policy_names_the_missing_distributions(tmp_path):
    env, _ = engine_index(tmp_path)
    tree = workflow(tmp_path, "from cloacina import Runner\n")
    result = audit(tree, "check", str(tree), "--missing-dependencies", "fail", env=env)
    assert_clean_error(result, "dependencies not installed", "cloacina",
                       "--missing-dependencies accept")


def test_unresolvable_dependencies_are_an_error_not_a_pass(tmp_path):
    tree = workflow(tmp_path, "from cloacina import Runner\n")
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    result = audit(tree, "check", str(tree),
                   env={"UV_FIND_LINKS": str(empty), "UV_NO_INDEX": "1"})
    assert_clean_error(result, "cloacina", "could not be resolved")


def test_direct_import_of_a_forbidden_module_that_is_not_installed_is_a_violation(tmp_path):
    tree = workflow(tmp_path, "import json\nfrom cloacina.database import DAL\n")
    result = audit(tree, "check", str(tree), "--format", "json",
                   "--missing-dependencies", "accept")
    assert_verdict(result, 1)
    assert engine_chains(result.stdout) == [[("wf.tasks", "cloacina.database", True)]]
    text = run_cli("check", str(tree), "--missing-dependencies", "accept")
    assert "from cloacina.database import DAL  (cloacina.database: not installed)" in text.stdout


def test_accepted_missing_dependencies_leave_contracts_not_verified_never_kept(tmp_path):
    tree = workflow(tmp_path, "from cloacina import Runner\n")
    result = audit(tree, "check", str(tree), "--format", "json",
                   "--missing-dependencies", "accept")
    assert_verdict(result, 0)
    [package] = json.loads(result.stdout)["packages"]
    states = {c["name"]: c["status"] for c in package["contracts"]}
    assert set(states.values()) == {"unverified"}, states
    text = run_cli("check", str(tree), "--missing-dependencies", "accept")
    assert "0/2 kept, 2 not verified" in text.stdout
    assert "✓" not in text.stdout


def test_an_undeclared_missing_package_cannot_pass(tmp_path):
    # Imported, not declared, not installed: nothing to resolve, and the contract
    # about cloacina.runtime cannot be checked through it.
    tree = write_tree(tmp_path / "tree", {
        "pyproject.toml": '[project]\nname = "wf"\nversion = "1"\n',
        "wf/__init__.py": "",
        "wf/tasks.py": "from cloacina import Runner\n",
    })
    result = audit(tree, "check", str(tree))
    assert_clean_error(result, "cannot verify", "cloacina", "not installed")


def test_an_import_of_a_missing_submodule_is_shown_as_not_installed(tmp_path):
    # eng is installed, eng.providers is not (an absent provider): grimp records the
    # import as one of eng; the step must name what the statement imports.
    write_tree(tmp_path / "tree", {
        **projects.engine_db_contract(),
        "eng/eng/__init__.py": "import eng.db\n",
        "eng/eng/db.py": "",
        "proj/wf/__init__.py": "",
        "proj/wf/tasks.py": "from eng.providers.kubernetes import Pod\n",
    })
    result = audit(tmp_path / "tree", "check", str(tmp_path / "tree/proj"), "--format", "json")
    assert_verdict(result, 1)
    [contract] = json.loads(result.stdout)["packages"][0]["contracts"]
    [violation] = contract["violations"]
    assert [(s["importer"], s["imported"], s["kind"], s["not_installed"])
            for s in violation["chain"]] == [
        ("wf.tasks", "eng.providers.kubernetes", "module", True),
        # Python runs eng/__init__.py before it finds eng.providers missing.
        ("eng.providers.kubernetes", "eng", "implicit", False),
        ("eng", "eng.db", "module", False),
    ]
    # Wide enough that the step is never wrapped, however long the temporary path
    # (pytest-xdist's popen-gwN directories make it longer).
    text = audit(tmp_path / "tree", "check", str(tmp_path / "tree/proj"), env={"COLUMNS": "300"})
    assert "(eng.providers.kubernetes: not installed)" in text.stdout
    assert "wf.tasks -> eng ->" not in text.stdout


def test_states_and_not_installed_steps_read_at_a_terminal(tmp_path):
    tree = workflow(tmp_path, "import json\nfrom cloacina.database import DAL\n")
    run = run_in_terminal("check", str(tree), "--missing-dependencies", "accept", columns=80)
    plain = run.text()
    assert run.code == 1, plain
    assert "cloacina-audit: error" not in plain and "Traceback" not in plain
    assert "0/2 kept, 1 not verified" in plain
    assert "(cloacina.database: not installed)" in plain
    assert "not verified" in plain
    assert all(len(line) <= 80 for line in plain.splitlines()), plain
