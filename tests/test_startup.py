"""Start-up cost: each command loads only the stacks it uses (python -X importtime)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO, write_tree

#: Top-level packages that cost tens of milliseconds each to import.
HEAVY = ("rich", "grimp", "importlinter", "packaging")


def imported_packages(*args: str, cwd: Path | None = None) -> tuple[int, set[str]]:
    """Exit code and the top-level names imported by ``python -m cloacina_audit ARGS``."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cloacina_audit", *args],
        cwd=cwd or REPO, env={**os.environ, "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=120,
    )
    names = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \| +([\w]+)", completed.stderr, re.M))
    return completed.returncode, names


def test_version_loads_none_of_the_stacks() -> None:
    code, names = imported_packages("--version")
    assert code == 0
    assert "click" in names  # the measurement sees imports at all
    assert not names & set(HEAVY), names & set(HEAVY)


def test_footprint_loads_no_graph_contract_engine_or_rich(tmp_path: Path) -> None:
    project = write_tree(tmp_path / "proj", {
        "pyproject.toml": '[project]\nname = "wf"\nversion = "1"\n',
        "wf/__init__.py": "import json\n",
    })
    code, names = imported_packages("footprint", str(project), "--env", "current",
                                    "--format", "json", "--probe-runs", "1")
    assert code == 0
    assert not names & {"rich", "grimp", "importlinter"}, names


def test_check_to_json_does_not_render_with_rich_itself(tmp_path: Path) -> None:
    """import-linter imports rich for its own output; the JSON renderer is not text's."""
    project = write_tree(tmp_path / "proj", {
        "pyproject.toml": '[project]\nname = "wf"\nversion = "1"\n',
        "wf/__init__.py": "",
    })
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cloacina_audit", "check", str(project),
         "--format", "json"],
        cwd=REPO, env={**os.environ, "NO_COLOR": "1"}, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "| cloacina_audit.render.json" in completed.stderr
    assert "cloacina_audit.render.text" not in completed.stderr
    assert "packaging" not in re.findall(r"\| +(\w+)$", completed.stderr, re.M)
