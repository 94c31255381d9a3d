"""The process runner, directly: timeouts, output, and nothing left behind."""

from __future__ import annotations

import ast
import os
import sys
import time
from pathlib import Path

import pytest

from cloacina_audit.system.processes import ProcessTimeout, run

PACKAGE = Path(__file__).resolve().parent.parent / "cloacina_audit"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_output_is_captured_and_a_grandchild_holding_it_does_not_block(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = (
        "import subprocess, sys; "
        "child = subprocess.Popen(['sleep', '600']); "  # inherits stdout and stderr
        f"open({str(pids)!r}, 'w').write(str(child.pid)); "
        "print('out'); sys.stderr.write('err')"
    )
    started = time.monotonic()
    completed = run([sys.executable, "-c", script], timeout=30)
    assert time.monotonic() - started < 10
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, "out\n", "err")
    assert not _alive(int(pids.read_text()))


def test_exit_statuses_come_back_as_the_process_left(tmp_path: Path) -> None:
    """The wait (a pidfd on Linux) reports the child's own status: a code, or the signal."""
    assert run(["sh", "-c", "exit 7"], timeout=30).returncode == 7
    assert run(["sh", "-c", "kill -9 $$"], timeout=30).returncode == -9
    assert run(["true"], timeout=30).returncode == 0


def test_a_timeout_kills_the_whole_tree_even_across_sessions(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"setsid sleep 600 & echo $! > {pids}; sleep 600"
    with pytest.raises(ProcessTimeout, match="no answer within 1 s"):
        run(["sh", "-c", script], timeout=1)
    assert not _alive(int(pids.read_text()))


def test_no_zombie_is_left_as_a_child_of_the_tool(tmp_path: Path) -> None:
    """Orphans of a run (one in its own session) are killed and reaped when it ends.

    Only children that appeared during the run count: earlier tests in this
    process may still have workers of their own."""
    before = _children()
    run(["sh", "-c", "sleep 30 & setsid sleep 30 &"], timeout=10)
    assert _children() - before == set()


def _children() -> set[str]:
    return {entry for entry in os.listdir("/proc") if entry.isdigit() and _parent(entry) == os.getpid()}


def _parent(pid: str) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


def test_only_the_runner_starts_processes() -> None:
    """uv, git, pip, the interpreter query and the probe all go through processes.run."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE) == Path("system/processes.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name in ("subprocess", "pty") for name in names):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
