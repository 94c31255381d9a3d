"""What a warm run takes from the cache, and what makes it look again.

Four caches make a second ``check`` cheap: the packages' walks (validated by the
stat of every directory listed), the contracts' verdicts (keyed by the graph's
identity and the contracts), what import-linter's readers made of a configuration
(keyed by its content) and an interpreter's answer about itself (keyed by the stat
of its executable and pyvenv.cfg). Each test here changes one thing a cached answer
depends on and checks that the answer changes with it.
"""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
from pathlib import Path

import projects
import pytest
from conftest import REPO, run_cli, write_tree

from cloacina_audit.analysis.contracts import verdicts
from cloacina_audit.analysis.imports import graph_cache, walk
from cloacina_audit.analysis.imports.graph import build_package_graph
from cloacina_audit.analysis.imports.searchpath import SearchPath
from cloacina_audit.model.report import ContractResult, ImportStep, Violation
from cloacina_audit.system import cachedir, interpreter
from cloacina_audit.system.signed_cache import cache_key

SITE = {
    "site/wf/__init__.py": "from wf import tasks\n",
    "site/wf/tasks.py": "import engine.runner\n",
    "site/engine/__init__.py": "",
    "site/engine/runner.py": "from engine import db\n",
    "site/engine/db.py": "import sqlite3\n",
    "site/engine/data/notes.txt": "no modules here\n",
}


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust stats however recent: the tests change files right after a run, and would
    otherwise wait 2 s for each listing to age past the racy window."""
    monkeypatch.setattr(cachedir, "RACY_NS", 0)


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The directories walked from disk (not taken from the side entry), in order."""
    walked: list[str] = []
    real = graph_cache.walk_package

    def counting(directory: Path, *, audited: bool) -> walk.PackageFiles:
        walked.append(Path(directory).name)
        return real(directory, audited=audited)

    monkeypatch.setattr(graph_cache, "walk_package", counting)
    return walked


def build(tmp_path: Path, cache: Path):
    return build_package_graph(["wf"], SearchPath([tmp_path / "site"]), cache)


# --- walks ------------------------------------------------------------------------


def test_a_warm_build_walks_no_package_again(tmp_path, no_racy_window, walks):
    write_tree(tmp_path, SITE)
    cold = build(tmp_path, tmp_path / "cache")
    assert sorted(walks) == ["engine", "wf"]
    walks.clear()
    warm = build(tmp_path, tmp_path / "cache")
    assert walks == []
    assert warm.graph.modules == cold.graph.modules
    assert warm.identity == cold.identity is not None


def test_a_cached_graph_is_built_only_when_asked_for(tmp_path, no_racy_window):
    write_tree(tmp_path, {**SITE, "site/wf/tasks.py": "import engine.runner\nfrom nowhere.deep import x\n"})
    cold = build(tmp_path, tmp_path / "cache")
    warm = build(tmp_path, tmp_path / "cache")
    assert warm.builder is not None  # what a cached verdict needs is known without it
    assert warm.missing == cold.missing == {"nowhere"}
    assert warm.graph.modules == cold.graph.modules
    assert warm.not_installed == cold.not_installed == {"nowhere.deep"}
    assert warm.builder is None


def test_a_module_added_to_a_followed_package_is_found(tmp_path, no_racy_window, walks):
    write_tree(tmp_path, SITE)
    build(tmp_path, tmp_path / "cache")
    (tmp_path / "site/engine/extra.py").write_text("import wf\n")
    (tmp_path / "site/engine/data/loader.py").write_text("")  # into a directory without modules
    walks.clear()
    graph = build(tmp_path, tmp_path / "cache")
    assert walks == ["engine"]
    assert {"engine.extra", "engine.data.loader"} <= graph.graph.modules


@pytest.mark.parametrize("link, target, module", [
    ("site/engine/alias.py", "site/engine/db.py", "engine.alias"),  # a module
    ("site/engine/plugins", "plugins", "engine.plugins.extra"),  # a directory of modules
])
def test_a_package_holding_a_link_is_walked_every_time(tmp_path, no_racy_window, walks,
                                                       link, target, module):
    write_tree(tmp_path, {**SITE, "plugins/extra.py": ""})
    (tmp_path / link).symlink_to(tmp_path / target)
    build(tmp_path, tmp_path / "cache")
    walks.clear()
    graph = build(tmp_path, tmp_path / "cache")
    assert walks == ["engine"]  # what a link names can change without its directory changing
    assert module in graph.graph.modules


def test_a_module_grown_past_the_bound_is_not_read(tmp_path, no_racy_window, monkeypatch):
    write_tree(tmp_path, SITE)
    monkeypatch.setattr(walk, "MAX_MODULE_BYTES", 100)
    monkeypatch.setattr(graph_cache, "MAX_MODULE_BYTES", 100)
    assert "engine.db" in build(tmp_path, tmp_path / "cache").graph.modules
    with open(tmp_path / "site/engine/db.py", "a") as handle:  # in place: its directory is unchanged
        handle.write("#" * 200 + "\n")
    assert "engine.db" not in build(tmp_path, tmp_path / "cache").graph.modules


def test_a_listing_in_its_racy_window_is_not_recorded(tmp_path):
    write_tree(tmp_path, SITE)  # every directory was just written
    graph = build(tmp_path, tmp_path / "cache")
    key = graph.identity.split(":")[0]
    side = graph_cache.SideEntry(tmp_path / "cache" / "graphs" / f"{key}.marshal",
                                 cache_key(tmp_path / "cache"))
    assert side.walks == {}


# --- verdicts ----------------------------------------------------------------------

DROP_IN = {**projects.DROP_IN, "engine/cache.py": ""}


def check_imports(directory: Path, cache: Path) -> tuple[int, str, set[str]]:
    """``check`` as a user runs it, with the modules it imported (``-X importtime``)."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cloacina_audit", "check", "--format", "json",
         "--cache-dir", str(cache)],
        cwd=directory, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    imported = {line.split("|")[-1].strip() for line in completed.stderr.splitlines()
                if line.startswith("import time:")}
    return completed.returncode, completed.stdout, imported


def test_a_second_check_takes_its_verdict_from_the_cache(tmp_path):
    write_tree(tmp_path, DROP_IN)
    cache = tmp_path / "cache"
    code, cold, imported = check_imports(tmp_path, cache)
    assert code == 1 and "importlinter" in imported
    assert len(list((cache / "verdicts").iterdir())) == 1
    code, warm, imported = check_imports(tmp_path, cache)
    assert (code, warm) == (1, cold)
    # The configuration, the graph and the verdict all came from the cache.
    assert "importlinter" not in imported
    assert "cloacina_audit.analysis.contracts.engine" not in imported


def test_changing_a_contract_checks_it_again(tmp_path):
    write_tree(tmp_path, DROP_IN)
    args = ("check", "--format", "json", "--cache-dir", str(tmp_path / "cache"))
    assert run_cli(*args, cwd=tmp_path).code == 1
    config = tmp_path / ".importlinter"
    config.write_text(config.read_text().replace("forbidden_modules = engine.db",
                                                 "forbidden_modules = engine.cache"))
    result = run_cli(*args, cwd=tmp_path)
    assert result.code == 0, result.stdout
    assert len(list((tmp_path / "cache" / "verdicts").iterdir())) == 2


def test_an_edit_that_breaks_a_contract_is_seen(tmp_path):
    write_tree(tmp_path, {**DROP_IN, "shop/views.py": "from engine import cache\n"})
    args = ("check", "--format", "json", "--cache-dir", str(tmp_path / "cache"))
    assert run_cli(*args, cwd=tmp_path).code == 0
    (tmp_path / "shop/views.py").write_text("from engine import db\n")
    assert run_cli(*args, cwd=tmp_path).code == 1
    # The entry is replaced, not joined by another: one per project and contracts.
    assert len(list((tmp_path / "cache" / "verdicts").iterdir())) == 1


def test_a_configuration_with_its_own_contract_types_is_checked_every_time(tmp_path):
    config = DROP_IN[".importlinter"].replace(
        "            engine\n",
        "            engine\n"
        "        contract_types =\n"
        "            mine: cloacina_audit.analysis.contracts.symbols.ForbiddenSymbolsContract\n",
        1,
    )
    write_tree(tmp_path, {**DROP_IN, ".importlinter": config})
    assert run_cli("check", "--cache-dir", str(tmp_path / "cache"), cwd=tmp_path).code == 1
    assert not (tmp_path / "cache" / "verdicts").exists()


def test_a_module_installed_since_changes_the_verdicts_stamp(tmp_path, no_racy_window):
    write_tree(tmp_path, {**SITE, "site/wf/tasks.py": "import engine.runner\nimport nowhere\n"})
    specs = [verdicts.ContractSpec(options={"type": "forbidden", "name": "c",
                                            "source_modules": ["wf"], "forbidden_modules": ["engine.db"]},
                                   session_options={}, origin="test")]
    before = build(tmp_path, tmp_path / "cache")
    assert "nowhere" in before.missing
    (tmp_path / "site/nowhere.py").write_text("")  # a module, not a package: the graph stays
    after = build(tmp_path, tmp_path / "cache")
    assert after.identity == before.identity and "nowhere" not in after.missing
    key_before, key_after = verdicts.verdict_key(specs, before), verdicts.verdict_key(specs, after)
    assert key_after.name == key_before.name  # the same entry, replaced
    assert key_after.stamp != key_before.stamp  # and the old verdict not believed


def test_a_result_keeps_every_field_through_the_cache():
    step = ImportStep(importer="a", imported="b", file="a.py", line=3, kind="function",
                      statement="import b", not_installed=True)
    result = ContractResult(
        name="n", type="forbidden", kept=False, violations=[Violation((step,), reason="why")],
        warnings=["w"], origin="o", instructions=("do this",), status="broken",
        baselined=[Violation((step, step))],
    )
    row = verdicts._row(result)
    assert set(row) == {f.name for f in dataclasses.fields(ContractResult)}
    assert verdicts._result(marshal.loads(marshal.dumps(row))) == result


# --- an interpreter's answer ------------------------------------------------------------


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The interpreters actually started to be asked."""
    asked: list[str] = []
    real = interpreter.run

    def counting(command, **kwargs):
        asked.append(str(command[0]))
        return real(command, **kwargs)

    monkeypatch.setattr(interpreter, "run", counting)
    return asked


def test_an_interpreter_is_asked_once_until_its_files_change(tmp_path, no_racy_window, queries):
    bin_dir = tmp_path / "env" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.symlink_to(sys.executable)
    cache = tmp_path / "cache"
    first = interpreter.query_interpreter(python, cache)
    assert interpreter.query_interpreter(python, cache) == first
    assert len(queries) == 1
    # A pyvenv.cfg one level up makes it a virtual environment: another prefix.
    home = Path(sys.base_prefix) / "bin"
    (tmp_path / "env" / "pyvenv.cfg").write_text(
        f"home = {home}\ninclude-system-site-packages = false\n")
    venv = interpreter.query_interpreter(python, cache)
    assert len(queries) == 2
    assert venv.prefix == str(tmp_path / "env") != first.prefix


def test_an_interpreter_changed_just_now_is_asked_every_time(tmp_path, queries):
    python = tmp_path / "python"
    python.symlink_to(sys.executable)  # the link is new: within the racy window
    interpreter.query_interpreter(python, tmp_path / "cache")
    interpreter.query_interpreter(python, tmp_path / "cache")
    assert len(queries) == 2


def test_a_shim_is_asked_every_time(tmp_path, no_racy_window, queries):
    """pyenv's shims (and any wrapper script) choose the Python they run from the
    working directory or the environment: their own stat says nothing about it."""
    shim = tmp_path / "python"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    interpreter.query_interpreter(shim, tmp_path / "cache")
    interpreter.query_interpreter(shim, tmp_path / "cache")
    assert len(queries) == 2


def test_a_path_baseline_reads_its_configuration_through_the_cache(tmp_path):
    from cloacina_audit.app.report import baseline

    write_tree(tmp_path / "before", DROP_IN)
    write_tree(tmp_path / "after", {**DROP_IN, "shop/views.py": ""})
    cache = tmp_path / "cache"
    with baseline(str(tmp_path / "before"), str(tmp_path / "after"), None, cache) as target:
        assert target.root == (tmp_path / "before").resolve()
    assert len(list((cache / "importlinter-options").iterdir())) == 1
