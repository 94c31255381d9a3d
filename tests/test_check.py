"""End-to-end behaviour of ``cloacina-audit check`` on real packages in temp dirs."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import time
from pathlib import Path

import projects
from conftest import assert_clean_error, run_cli, tree_digest, write_tree
from wheelmaker import make_wheel

# A miniature engine: `cloacina/__init__.py` pulls the runtime in, `cloacina.context`
# is harmless on its own, exactly the shape that makes implicit violations.
ENGINE = {
    **projects.ENGINE,
    "fw/cloacina/context.py": "class Context(dict):\n    pass\n",
    "fw/cloacina/runtime/__init__.py": "from cloacina.runtime.executor import Runner\n",
    "fw/cloacina/runtime/executor.py": "class Runner:\n    pass\n",
    "fw/cloacina/database/__init__.py": "DAL = object()\n",
    "fw/cloacina/registry/__init__.py": "REGISTRY = {}\n",
}

PROJECT = projects.WORKFLOW


def make_project(tmp_path: Path, modules: dict[str, str], pyproject: str = PROJECT,
                 extra: dict[str, str] | None = None) -> Path:
    files = {**ENGINE, "proj/pyproject.toml": pyproject, **(extra or {})}
    files.update({f"proj/{name}": source for name, source in modules.items()})
    write_tree(tmp_path, files)
    return tmp_path / "proj"


def check_json(project: Path, *args: str) -> tuple[int, dict]:
    result = run_cli("check", str(project), "--format", "json", *args)
    assert result.code in (0, 1), result.stderr
    return result.code, json.loads(result.stdout)


def broken(report: dict) -> dict[str, list[list[dict]]]:
    """Contract id-ish name -> chains, for broken contracts only."""
    return {
        c["name"]: [v["chain"] for v in c["violations"]]
        for c in report["packages"][0]["contracts"]
        if not c["kept"]
    }


def engine_chains(report: dict) -> list[list[dict]]:
    for name, chains in broken(report).items():
        if "engine" in name:
            return chains
    return []


def test_clean_package_passes(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": "from cloacina_workflow import task\n"})
    result = run_cli("check", str(project))
    assert result.code == 0, result.stdout + result.stderr


def test_direct_violation_shows_whole_chain_with_file_and_line(tmp_path):
    project = make_project(tmp_path, {
        "wf/__init__.py": "",
        "wf/tasks.py": "import json\nfrom cloacina import Runner\n",
    })
    code, report = check_json(project)
    assert code == 1
    chain = engine_chains(report)[0]
    assert [(s["importer"], s["imported"]) for s in chain] == [
        ("wf.tasks", "cloacina"),
        ("cloacina", "cloacina.runtime"),
    ]
    first = chain[0]
    assert first["file"].endswith("wf/tasks.py") and first["line"] == 2
    assert first["kind"] == "module"
    text = run_cli("check", str(project)).stdout
    assert "tasks.py:2" in text and "from cloacina import Runner" in text


def test_implicit_parent_violation_is_found_and_labelled(tmp_path):
    """`cloacina.context` is harmless, but importing it runs cloacina/__init__.py."""
    project = make_project(tmp_path, {"wf/__init__.py": "from cloacina.context import Context\n"})
    code, report = check_json(project)
    assert code == 1
    chain = engine_chains(report)[0]
    assert [s["kind"] for s in chain] == ["module", "implicit", "module"]
    assert chain[1]["importer"] == "cloacina.context" and chain[1]["imported"] == "cloacina"


def test_lint_imports_misses_the_implicit_violation(tmp_path):
    """The same contract under plain lint-imports passes: that is the gap we close."""
    project = make_project(tmp_path, {"wf/__init__.py": "from cloacina.context import Context\n"})
    (project / ".importlinter").write_text(
        "[importlinter]\nroot_packages =\n    wf\n    cloacina\n\n"
        "[importlinter:contract:engine]\nname = engine\ntype = forbidden\n"
        "source_modules = wf\nforbidden_modules = cloacina.runtime\n"
    )
    lint_imports = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": f"{project}{os.pathsep}{tmp_path / 'fw'}"}
    plain = subprocess.run([str(lint_imports), "--no-cache"], cwd=project, env=env,
                           capture_output=True, text=True)
    assert plain.returncode == 0, plain.stdout
    ours = run_cli("check", str(project), "--preset", "none")
    assert ours.code == 1
    assert "implicit" in ours.stdout


def test_deferred_import_breaks_but_is_labelled_and_can_be_ignored(tmp_path):
    project = make_project(tmp_path, {
        "wf/__init__.py": "def run():\n    from cloacina.runtime import Runner\n    return Runner\n",
    })
    code, report = check_json(project)
    assert code == 1
    step = engine_chains(report)[0][0]
    assert step["kind"] == "function" and step["line"] == 2
    code, report = check_json(project, "--deferred-imports", "ignore")
    assert code == 0


def test_type_checking_import_is_ignored_by_default_and_can_count(tmp_path):
    project = make_project(tmp_path, {
        "wf/__init__.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from cloacina.database import DAL\n"
        ),
    })
    code, _ = check_json(project)
    assert code == 0
    code, report = check_json(project, "--type-checking-imports", "count")
    assert code == 1
    chains = [c for chains in broken(report).values() for c in chains]
    assert chains[0][0]["kind"] == "type_checking"


def test_config_policy_from_pyproject(tmp_path):
    project = make_project(
        tmp_path,
        {"wf/__init__.py": "def run():\n    import cloacina.registry\n"},
        pyproject=PROJECT + '\n[tool.cloacina-audit]\ndeferred-imports = "ignore"\n',
    )
    assert check_json(project)[0] == 0


def test_ignoring_a_deferred_import_does_not_hide_a_longer_real_chain(tmp_path):
    """The short chain is deferred; a longer module-level chain still breaks the contract."""
    project = make_project(tmp_path, {
        "wf/__init__.py": "from wf import helpers\n\ndef run():\n    import cloacina.registry\n",
        "wf/helpers.py": "from wf import deep\n",
        "wf/deep.py": "import cloacina.registry\n",
    })
    code, report = check_json(project, "--deferred-imports", "ignore")
    assert code == 1
    chain = engine_chains(report)[0]
    assert all(step["kind"] != "function" for step in chain)
    assert chain[-1]["imported"] == "cloacina.registry"


def test_users_own_importlinter_contract_is_honoured(tmp_path):
    project = make_project(
        tmp_path,
        {
            "wf/__init__.py": "",
            "wf/high.py": "",
            "wf/low.py": "from wf import high\n",
        },
        extra={
            "proj/.importlinter": """
                [importlinter]
                root_package = wf

                [importlinter:contract:layers]
                name = High above low
                type = layers
                layers =
                    wf.high
                    wf.low
            """,
        },
    )
    code, report = check_json(project)
    assert code == 1
    contracts = {c["name"]: c for c in report["packages"][0]["contracts"]}
    assert contracts["High above low"]["kept"] is False
    assert contracts["High above low"]["type"] == "layers"
    chain = contracts["High above low"]["violations"][0]["chain"]
    assert (chain[0]["importer"], chain[0]["imported"]) == ("wf.low", "wf.high")


def test_importlinter_table_in_pyproject_and_explicit_config(tmp_path):
    pyproject = PROJECT + """
[tool.importlinter]
root_package = "wf"
[[tool.importlinter.contracts]]
name = "No registry"
type = "forbidden"
source_modules = ["wf"]
forbidden_modules = ["cloacina.registry"]
"""
    project = make_project(tmp_path, {"wf/__init__.py": "import cloacina.registry\n"},
                           pyproject=pyproject)
    code, report = check_json(project, "--preset", "none")
    assert code == 1
    assert list(broken(report)) == ["No registry"]

    other = tmp_path / "other.ini"
    other.write_text(
        "[importlinter]\nroot_package = wf\n[importlinter:contract:x]\nname = Kept one\n"
        "type = forbidden\nsource_modules = wf\nforbidden_modules = cloacina.database\n"
    )
    code, report = check_json(project, "--preset", "none", "--config", str(other))
    assert code == 0
    assert [c["name"] for c in report["packages"][0]["contracts"]] == ["Kept one"]


def test_json_report_has_the_documented_keys(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": "from cloacina.context import Context\n"})
    _, report = check_json(project)
    assert isinstance(report["schema_version"], int)
    assert report["tool_version"]
    package = report["packages"][0]
    assert {"name", "path", "contracts"} <= set(package)
    contract = package["contracts"][0]
    assert {"name", "type", "kept", "violations"} <= set(contract)
    step = engine_chains(report)[0][0]
    assert {"importer", "imported", "file", "line", "kind"} <= set(step)
    assert step["kind"] in {"module", "function", "type_checking", "implicit"}


def test_sarif_and_github_formats(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": "import cloacina.registry\n"})
    sarif = json.loads(run_cli("check", str(project), "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    result = sarif["runs"][0]["results"][0]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 1
    github = run_cli("check", str(project), "--format", "github")
    assert github.code == 1
    assert any(line.startswith("::error file=") for line in github.stdout.splitlines())


def test_output_file(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": ""})
    target = tmp_path / "out.json"
    result = run_cli("check", str(project), "--format", "json", "--output", str(target))
    assert result.code == 0 and result.stdout == ""
    assert json.loads(target.read_text())["packages"][0]["name"] == "wf"


def test_check_never_writes_to_the_audited_tree(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": "from cloacina.context import Context\n"})
    audited = [project, tmp_path / "fw"]
    before = [tree_digest(tree) for tree in audited]
    for _ in range(2):  # cold and warm
        run_cli("check", str(project), "--format", "json")
    assert [tree_digest(tree) for tree in audited] == before


# --- bad input: one line on stderr, exit 2 -------------------------------------


def test_missing_path(tmp_path):
    assert_clean_error(run_cli("check", str(tmp_path / "nope")), "nope", "no such")


def test_no_package_found(tmp_path):
    write_tree(tmp_path, {"proj/pyproject.toml": '[project]\nname = "x"\n', "proj/README": ""})
    assert_clean_error(run_cli("check", str(tmp_path / "proj")), "no Python package")


def test_syntax_error_in_audited_code(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": "def broken(:\n"})
    assert_clean_error(run_cli("check", str(project)), "__init__.py", "syntax error")


def test_unknown_preset(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": ""})
    assert_clean_error(run_cli("check", str(project), "--preset", "nosuch"), "nosuch", "cloacina")


def test_malformed_pyproject(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": ""}, pyproject="[project\nname=")
    assert_clean_error(run_cli("check", str(project)), "pyproject.toml", "malformed TOML")


def test_malformed_audit_config(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": ""},
                           pyproject=PROJECT + "\n[tool.cloacina-audit]\nbogus = 1\n")
    assert_clean_error(run_cli("check", str(project)), "tool.cloacina-audit.bogus")


def test_malformed_importlinter_ini(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": ""},
                           extra={"proj/.importlinter": "[importlinter]\nroot_package = wf\n[oops\n"})
    assert_clean_error(run_cli("check", str(project)), ".importlinter", "malformed")


def test_unknown_contract_type(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": ""}, extra={
        "proj/.importlinter": "[importlinter]\nroot_package = wf\n"
                              "[importlinter:contract:x]\nname = X\ntype = telepathy\n",
    })
    assert_clean_error(run_cli("check", str(project)), "telepathy")


def test_contract_naming_a_missing_module(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": ""}, extra={
        "proj/.importlinter": "[importlinter]\nroot_package = wf\n"
                              "[importlinter:contract:x]\nname = X\ntype = forbidden\n"
                              "source_modules = wf.ghost\nforbidden_modules = cloacina\n",
    })
    assert_clean_error(run_cli("check", str(project)), "wf.ghost")


def test_missing_config_file(tmp_path):
    project = make_project(tmp_path, {"wf/__init__.py": ""})
    assert_clean_error(run_cli("check", str(project), "--config", str(tmp_path / "x.ini")), "x.ini")


def test_unknown_option_is_one_line(tmp_path):
    assert_clean_error(run_cli("check", "--frobnicate", str(tmp_path)), "frobnicate")


# --- the cache -----------------------------------------------------------------


def _cache_files(cache: Path) -> list[Path]:
    return sorted((cache / "graphs").glob("*.marshal"))


def _payload(entry: Path) -> object:
    """The document of a signed binary entry (signed_cache.py): magic, 32-byte MAC, marshal."""
    from cloacina_audit.system.signed_cache import _BINARY_MAGIC

    data = entry.read_bytes()
    assert data.startswith(_BINARY_MAGIC)
    return marshal.loads(data[len(_BINARY_MAGIC) + 32:])


def test_cache_is_keyed_on_content_not_mtime(tmp_path, cache_dir):
    project = make_project(tmp_path, {"wf/__init__.py": "import cloacina_workflow\n"})
    args = ("--cache-dir", str(cache_dir), "--format", "json")
    assert run_cli("check", str(project), *args).code == 0
    assert len(_cache_files(cache_dir)) == 1

    # Same size, same mtime, different content: an mtime-keyed cache would miss this.
    module = project / "wf" / "__init__.py"
    stat = module.stat()
    module.write_text("import cloacina.registry\n")
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert module.stat().st_size == stat.st_size
    assert run_cli("check", str(project), *args).code == 1


def _age(root: Path) -> None:
    """Make every module below ``root`` older than the cache's racy window (2 s): its mtime
    is set back an hour, and its ctime (which only the clock sets) is left to age."""
    then = time.time_ns() - 3600 * 1_000_000_000
    for path in root.rglob("*.py"):
        os.utime(path, ns=(then, then))
    time.sleep(2.1)


def _stats_entry(cache: Path) -> dict:
    [entry] = sorted((cache / "graph-stats").glob("*.marshal"))
    return _payload(entry)["stats"]


def test_a_touched_file_with_the_same_content_still_hits_the_cache(tmp_path, cache_dir):
    """Slower than most (2 s waiting for the files to age past the racy window)."""
    project = make_project(tmp_path, {"wf/__init__.py": "import cloacina.registry\n"})
    _age(project)
    args = ("--cache-dir", str(cache_dir), "--format", "json")
    cold = run_cli("check", str(project), *args)
    entry = _cache_files(cache_dir)[0]
    stamp = entry.stat().st_mtime_ns
    module = str(project / "wf" / "__init__.py")
    before = _stats_entry(cache_dir)[module]

    os.utime(module)  # the stat changes (as after a checkout), the content does not
    warm = run_cli("check", str(project), *args)
    assert warm.stdout == cold.stdout
    assert entry.stat().st_mtime_ns == stamp  # the graph entry was believed, not rebuilt
    # Hashed again and found the same; the new stat is too recent to be recorded yet.
    assert _stats_entry(cache_dir).get(module) != before


def test_an_edit_that_restores_size_and_mtime_is_seen(tmp_path, cache_dir):
    """The stat is trusted for old files; ctime (which utime cannot set back) gives the edit
    away. Slower than most (2 s waiting for the files to age past the racy window)."""
    project = make_project(tmp_path, {"wf/__init__.py": "import cloacina_workflow\n"})
    _age(project)
    args = ("--cache-dir", str(cache_dir), "--format", "json")
    assert run_cli("check", str(project), *args).code == 0
    module = project / "wf" / "__init__.py"
    assert str(module) in _stats_entry(cache_dir)  # old enough: its stat is trusted next time

    status = module.stat()
    module.write_text("import cloacina.registry\n")
    os.utime(module, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert (module.stat().st_size, module.stat().st_mtime_ns) == (status.st_size, status.st_mtime_ns)
    assert run_cli("check", str(project), *args).code == 1


def test_a_file_written_just_before_the_cache_is_hashed_again(tmp_path, cache_dir):
    """A stat taken within the file system's timestamp tick of a write is not recorded.
    Slower than most (2 s waiting for a file to age past the racy window)."""
    project = make_project(tmp_path, {"wf/__init__.py": "", "wf/old.py": ""})
    _age(project)
    fresh = project / "wf" / "__init__.py"
    fresh.write_text("import cloacina_workflow\n")
    # A loaded machine may take longer than the window to get to the stat: a clock
    # that runs ahead (an mtime in the future) keeps the write inside it regardless.
    ahead = time.time_ns() + 3600 * 1_000_000_000
    os.utime(fresh, ns=(ahead, ahead))
    assert run_cli("check", str(project), "--cache-dir", str(cache_dir)).code == 0
    recorded = _stats_entry(cache_dir)
    assert str(project / "wf" / "old.py") in recorded
    assert str(project / "wf" / "__init__.py") not in recorded


def test_a_module_added_to_a_namespace_directory_invalidates_the_cache(tmp_path, cache_dir):
    project = make_project(tmp_path, {
        "wf/__init__.py": "",
        "wf/data/notes.txt": "no modules here yet\n",  # no __init__.py: a namespace package
    })
    args = ("--cache-dir", str(cache_dir), "--format", "json")
    assert run_cli("check", str(project), *args).code == 0

    (project / "wf" / "data" / "helper.py").write_text("import cloacina.registry\n")
    result = run_cli("check", str(project), *args)
    assert result.code == 1, result.stdout
    assert "wf.data.helper" in result.stdout


def test_warm_run_reuses_the_cache(tmp_path, cache_dir):
    project = make_project(tmp_path, {"wf/__init__.py": "from cloacina.context import Context\n"})
    args = ("--cache-dir", str(cache_dir), "--format", "json")
    cold = run_cli("check", str(project), *args)
    entry = _cache_files(cache_dir)[0]
    stamp = entry.stat().st_mtime_ns
    warm = run_cli("check", str(project), *args)
    assert warm.stdout == cold.stdout
    assert entry.stat().st_mtime_ns == stamp  # read, not rewritten


def test_concurrent_runs_share_the_cache_safely(tmp_path, cache_dir):
    project = make_project(tmp_path, {"wf/__init__.py": "from cloacina.context import Context\n"})
    command = [sys.executable, "-m", "cloacina_audit", "check", str(project),
               "--format", "json", "--cache-dir", str(cache_dir)]
    env = {**os.environ, "NO_COLOR": "1"}
    outputs = set()
    for _ in range(2):  # first round races on an empty cache, second on a full one
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env=env, text=True) for _ in range(6)]
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 1, err
            outputs.add(out)
    assert len(outputs) == 1
    for entry in _cache_files(cache_dir):
        _payload(entry)
    assert not list((cache_dir / "graphs").glob("*.tmp"))


def test_corrupt_cache_entry_is_a_miss_not_an_error(tmp_path, cache_dir):
    project = make_project(tmp_path, {"wf/__init__.py": "import cloacina.registry\n"})
    args = ("--cache-dir", str(cache_dir))
    assert run_cli("check", str(project), *args).code == 1
    _cache_files(cache_dir)[0].write_text("{not an entry")
    assert run_cli("check", str(project), *args).code == 1


# --- the fixtures ----------------------------------------------------------------



def test_bloated_fixture_breaks_runtime_database_and_registry():
    result = run_cli("check", "fixtures/bloated", "--format", "json")
    assert result.code == 1, result.stderr
    report = json.loads(result.stdout)
    reached = {chain[-1]["imported"] for chain in engine_chains(report)}
    for boundary in ("cloacina.runtime", "cloacina.database", "cloacina.registry"):
        assert any(m == boundary or m.startswith(boundary + ".") for m in reached), reached


def test_slim_fixture_passes():
    result = run_cli("check", "fixtures/slim")
    assert result.code == 0, result.stdout + result.stderr


# --- drop-in for lint-imports ------------------------------------------------------


def test_directory_with_only_an_importlinter_config_is_checked_like_lint_imports(tmp_path):
    write_tree(tmp_path, projects.DROP_IN)
    lint_imports = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    plain = subprocess.run([str(lint_imports), "--no-cache"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert plain.returncode == 1
    ours = run_cli("check", "--format", "json", cwd=tmp_path)
    assert ours.code == 1, ours.stderr
    contract = json.loads(ours.stdout)["packages"][0]["contracts"]
    assert [c["name"] for c in contract] == ["Shop must not use the engine"]
    assert contract[0]["violations"][0]["chain"][0]["file"].endswith("shop/views.py")


def test_a_wheel_is_checked_from_its_isolated_environment(tmp_path):
    wheel = make_wheel(tmp_path / "dist", "wheelwf", "0.1", {
        "wheelwf/__init__.py": "from wheelwf import db\n",
        "wheelwf/db.py": "import sqlalchemy\n",
    })
    result = run_cli("check", str(wheel), "--format", "json")
    assert result.code == 1, result.stderr
    chains = [v["chain"] for c in json.loads(result.stdout)["packages"][0]["contracts"]
              for v in c["violations"]]
    assert [(s["importer"], s["imported"]) for s in chains[0]] == [("wheelwf.db", "sqlalchemy")]
    assert "site-packages/wheelwf/db.py" in chains[0][0]["file"]
