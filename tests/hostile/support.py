"""What every hostile case asserts, whatever the input.

- no traceback and no Rust panic on stderr;
- the audited tree byte-for-byte unchanged (``tree_digest`` before and after);
- no hang: a run that outlives its timeout fails the test, it is not waited for;
- no temporary file left behind;
- exit 2 comes with exactly one line on stderr (``assert_clean_error``), and a
  verdict (exit 0, 1 or 3) with nothing on stderr at all.

The audited tree always lives in ``tmp_path / "tree"``, apart from the private
cache under ``tmp_path / "cache"`` that conftest's autouse fixture sets up.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import projects
import pytest
from conftest import Result, assert_clean_error, run_cli, tree_digest, write_tree

__all__ = ["assert_clean_error", "assert_verdict", "audit", "project", "write_tree"]

def project(root: Path, files: dict[str, str], *, name: str = "pkg", dependencies: str = "[]",
            extra: str = "") -> Path:
    """A tiny hatchling project at ``root`` holding ``files`` (text, dedented)."""
    pyproject = projects.pyproject(name, dependencies=dependencies, extra=extra)
    write_tree(root, {"pyproject.toml": pyproject, **files})
    return root


def audit(tree: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
          cwd: Path | None = None) -> Result:
    """Run the CLI on (something inside) ``tree`` and check what must hold for any input.

    TMPDIR is a directory of the test's own (next to the tree, unless ``env`` names
    one), so that temporary files left behind are seen, and do not litter /tmp when
    a hanging run has to be killed.
    """
    env = dict(env or {})
    scratch = Path(env.setdefault("TMPDIR", str(tree.parent / "scratch-tmp")))
    scratch.mkdir(exist_ok=True)
    left_before = set(scratch.iterdir())
    before = tree_digest(tree)
    try:
        result = run_cli(*args, env=env, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung: `cloacina-audit {' '.join(args)}` gave no result in {timeout:g} s")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "panicked" not in result.stderr, result.stderr[-3000:]
    assert tree_digest(tree) == before, "the audited tree was modified"
    assert set(scratch.iterdir()) == left_before, "temporary files were left behind"
    return result


def assert_verdict(result: Result, code: int) -> None:
    """A verdict, not an error: the expected exit code and a silent stderr."""
    assert result.code == code, (result.code, result.stdout[-3000:], result.stderr[-3000:])
    assert result.stderr == "", result.stderr[-3000:]
