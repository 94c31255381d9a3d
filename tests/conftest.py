"""Shared helpers: real packages written to temp dirs, and the CLI run as a user runs it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"

# The CLI processes the tests start import cloacina_audit from this tree: with
# PYTHONDONTWRITEBYTECODE set (as in some shells and CI images) every one of them
# compiled the tool's 82 modules again, a quarter of a small command's time. The
# first run writes the bytecode (``__pycache__`` is ignored by git) and the rest start
# as an installed tool does. Audited code is never imported by the tool, and the
# import probe runs with -B, so nothing is written into an audited tree.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

if os.environ.get("PYTEST_XDIST_WORKER"):
    # A pytest-xdist worker starts with COLUMNS=80 and LINES=24 of its own, which the
    # CLI run by a test would take as the report's width (a pipe's is 100): drop them,
    # so that a test sees what it sees in a serial run.
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> source, dedented) below ``root``."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def tree_digest(root: Path) -> str:
    """One hash of every path and byte below ``root``: proof that nothing was written."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames + dirnames):
            path = Path(dirpath, name)
            digest.update(str(path.relative_to(root)).encode())
            if path.is_file() and not path.is_symlink():
                digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> Result:
    """Run ``python -m cloacina_audit`` in a subprocess, exactly as a user would."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    completed = subprocess.run(
        [sys.executable, "-m", "cloacina_audit", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def assert_clean_error(result: Result, *fragments: str) -> None:
    """Exit 2, exactly one line on stderr naming what was wrong, no traceback."""
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture(scope="session")
def fixture_env_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache directory for every test that builds the fixtures' environments, shared by
    all pytest-xdist workers of the run (the environment cache builds each key once under
    a lock, so workers wait for each other instead of building the same thing twice).

    Under xdist each worker has its own base temporary directory, all in one directory of
    the run: the cache sits there. Without xdist it is a directory of this session.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "fixture-env-cache"
        shared.mkdir(exist_ok=True)
        return shared
    return tmp_path_factory.mktemp("fixture-env-cache")


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A private cache so tests never share state with each other or the user."""
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLOACINA_AUDIT_CACHE_DIR", str(tmp_path / "cache"))
