"""What the probe sees loaded is what runs, and it must agree with the verdict.

A workflow package with ``deferred-imports = "ignore"`` whose module-level code
calls a function holding ``from cloacina.runtime import ...``: the static check
alone says "kept", the import loads the engine. The contract is broken, with the
static chain (the deferred import); a module loaded through ``importlib`` breaks
its contract with "loaded at import time". And the probe imports every module of
the package, not just its empty ``__init__``.
"""

from __future__ import annotations

import json
from pathlib import Path

import projects
import pytest
from conftest import run_cli, write_tree

TREES = {
    # A stand-in for the engine, installed from a path: the preset's real module names.
    "engine/pyproject.toml": projects.pyproject("cloacina", "0.0.1"),
    "engine/cloacina/__init__.py": "",
    "engine/cloacina/runtime/__init__.py": "class Runner: ...\n",
    "engine/cloacina/registry.py": "",
    "app/pyproject.toml": projects.pyproject("app", dependencies='["cloacina"]', extra="""
        [tool.uv.sources]
        cloacina = { path = "../engine" }
        [tool.cloacina-audit]
        preset = "cloacina"
        deferred-imports = "ignore"
    """),
    "app/.importlinter": """
        [importlinter]
        root_packages = app
        [importlinter:contract:no-registry]
        name = The registry stays out
        type = forbidden
        source_modules = app
        forbidden_modules = cloacina.registry
    """,
    "app/app/__init__.py": "",
    "app/app/deferred.py": """
        def _runner():
            from cloacina.runtime import Runner
            return Runner

        RUNNER = _runner()
    """,
    "app/app/dynamic.py": """
        import importlib

        REGISTRY = importlib.import_module("cloacina" + ".registry")
    """,
}

ENGINE = "Workflow code and the authoring layer must not reach the Cloacina engine"
REGISTRY = "The registry stays out"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("evidence")
    write_tree(root, TREES)
    return root / "app", {"CLOACINA_AUDIT_CACHE_DIR": str(root / "cache")}


def test_check_alone_keeps_both_contracts(app) -> None:
    """The premise: statically (deferred imports ignored, importlib invisible) nothing breaks."""
    tree, env = app
    result = run_cli("check", str(tree), "--format", "json", env=env)
    assert result.code == 0, result.stdout + result.stderr
    kept = {c["name"]: c["kept"] for c in json.loads(result.stdout)["packages"][0]["contracts"]}
    assert kept[ENGINE] and kept[REGISTRY]


def test_report_breaks_contracts_whose_forbidden_modules_the_import_loaded(app) -> None:
    tree, env = app
    result = run_cli("report", str(tree), "--probe-runs", "1", "--format", "json", env=env,
                     timeout=300)
    assert result.code == 1, result.stdout[-2000:] + result.stderr
    package = json.loads(result.stdout)["packages"][0]
    contracts = {c["name"]: c for c in package["contracts"]}

    engine = contracts[ENGINE]
    assert engine["kept"] is False
    chain = engine["violations"][0]["chain"]
    assert [(s["importer"], s["imported"], s["kind"]) for s in chain] == [
        ("app.deferred", "cloacina.runtime", "function")
    ]
    assert any("loaded at import time" in w and "cloacina.runtime (importing app.deferred)" in w
               for w in engine["warnings"])

    registry = contracts[REGISTRY]
    assert registry["kept"] is False and registry["violations"] == []
    assert any("cloacina.registry (importing app.dynamic)" in w and "no static import chain" in w
               for w in registry["warnings"])

    probe = package["footprint"]["import"]
    assert probe["entry_modules"] == ["app", "app.deferred", "app.dynamic"]
    assert set(probe["forbidden_loaded"]) >= {"cloacina.runtime", "cloacina.registry"}


def test_the_text_report_says_so_too(app) -> None:
    tree, env = app
    result = run_cli("report", str(tree), "--probe-runs", "1", env=env, timeout=300)
    assert result.code == 1
    assert f"✗ {ENGINE}" in result.stdout
    assert f"✗ {REGISTRY}" in result.stdout
    text = " ".join(result.stdout.split())
    assert "no static import chain explains it" in text
    assert "importing app and 2 more modules" in text  # never claim what was not imported


@pytest.mark.parametrize("fmt", ["markdown", "github", "sarif", "html"])
def test_every_format_shows_the_contract_the_import_broke(app, fmt: str) -> None:
    tree, env = app
    result = run_cli("report", str(tree), "--probe-runs", "1", "--format", fmt, env=env,
                     timeout=300)
    assert result.code == 1
    assert "cloacina.registry (importing app.dynamic)" in result.stdout
    assert "from cloacina.runtime import Runner" in result.stdout  # the deferred chain


def test_at_a_terminal_the_broken_contracts_and_the_imported_modules_are_shown(app) -> None:
    """Typed by a person: a pseudo-terminal 80 columns wide (``script`` gives the tty)."""
    import os
    import re
    import shlex
    import subprocess
    import sys

    from conftest import REPO

    tree, env = app
    command = shlex.join([sys.executable, "-m", "cloacina_audit", "report", str(tree),
                          "--probe-runs", "1"])
    environ = {**os.environ, **env, "COLUMNS": "80", "TERM": "xterm"}
    environ.pop("NO_COLOR", None)
    completed = subprocess.run(["script", "-qec", command, "/dev/null"], cwd=REPO, env=environ,
                               capture_output=True, text=True, timeout=300)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", completed.stdout)
    assert completed.returncode == 1, screen[-2000:]
    assert "Traceback" not in screen and "internal error" not in screen
    assert f"✗ {REGISTRY}" in screen
    flat = " ".join(screen.split())
    assert "loaded at import time" in flat and "importing app and 2 more modules" in flat
    assert max(len(line) for line in screen.splitlines()) <= 80
