"""Nothing the tool starts may outlive it: not a child the probed import leaves behind,
not one that escaped into a new session, not uv or a build backend when the tool is stopped.

Every process a test starts carries HOSTILE_MARK=<unique> in its environment (children
inherit it, ``setsid`` does not shed it), so "nothing left" is checked over every
process of the machine, not only the ones whose pid was written down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import REPO

from .support import assert_clean_error, assert_verdict, audit, project, write_tree

NO_AUDIT_PRESET = '[tool.cloacina-audit]\npreset = "none"\n'

VICTIM = """
    import os
    import subprocess
    import time

    behaviour = os.environ.get("HOSTILE_IMPORT", "")
    if behaviour == "linger":
        # One plain child and one that double-forks into a new session: both outlive the import.
        subprocess.Popen(["sleep", "600"])
        subprocess.Popen(["setsid", "sh", "-c", "sleep 600 & echo $! > " + os.environ["HOSTILE_PIDS"]])
        # The import returns only once the escaped child exists: the tool reaps right after a
        # successful import, and a loaded machine could otherwise kill sh before it forks.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(os.environ["HOSTILE_PIDS"]) and open(os.environ["HOSTILE_PIDS"]).read().strip():
                break
            time.sleep(0.02)
    elif behaviour == "setsid-hang":
        subprocess.Popen(["sleep", "600"], start_new_session=True)
        time.sleep(600)
    VALUE = 1
"""


def marked(mark: str) -> list[int]:
    """Live processes whose environment holds ``HOSTILE_MARK=mark``."""
    needle = f"HOSTILE_MARK={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


def assert_nothing_left(mark: str) -> None:
    deadline = time.monotonic() + 5
    while marked(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = marked(mark)
    for pid in left:  # do not let a failing test litter the machine
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"{len(left)} processes outlived the run"


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("victim")
    tree = project(root / "tree", {"victim/__init__.py": VICTIM}, name="victim",
                   extra=NO_AUDIT_PRESET)
    env = {"CLOACINA_AUDIT_CACHE_DIR": str(root / "cache"), "HOSTILE_IMPORT": ""}
    assert_verdict(audit(tree, "footprint", str(tree), "--probe-runs", "1", env=env), 0)
    return tree, env


def test_children_of_a_successful_import_are_killed_and_reaped(victim, tmp_path):
    tree, env = victim
    mark = uuid.uuid4().hex
    pids = tmp_path / "pids"
    run_env = {**env, "HOSTILE_IMPORT": "linger", "HOSTILE_PIDS": str(pids), "HOSTILE_MARK": mark}
    result = audit(tree, "footprint", str(tree), "--probe-runs", "2", env=run_env)
    assert_verdict(result, 0)
    assert pids.read_text().strip(), "the double-forked child never started"
    assert_nothing_left(mark)


def test_a_child_in_its_own_session_is_killed_on_timeout(victim):
    tree, env = victim
    mark = uuid.uuid4().hex
    run_env = {**env, "HOSTILE_IMPORT": "setsid-hang", "HOSTILE_MARK": mark}
    result = audit(tree, "footprint", str(tree), "--probe-runs", "1", "--import-timeout", "2",
                   env=run_env, timeout=60)
    assert_clean_error(result, "import of victim timed out after 2 s")
    assert_nothing_left(mark)


SLOW_BACKEND = """
    import os
    import subprocess
    import time

    def _stall():
        # A daemon of the backend in a new session, then a build that never ends.
        subprocess.Popen(["setsid", "sleep", "600"])
        with open(os.environ["HOSTILE_STARTED"], "w") as handle:
            handle.write(str(os.getpid()))
        time.sleep(600)

    def get_requires_for_build_wheel(config_settings=None):
        return []

    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        _stall()

    def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
        _stall()
"""


def _slow_project(tree: Path) -> Path:
    return write_tree(tree, {
        "pyproject.toml": """
            [build-system]
            requires = []
            build-backend = "slow_backend"
            backend-path = ["_backend"]
            [project]
            name = "slow"
            version = "1.0"
            [tool.cloacina-audit]
            preset = "none"
        """,
        "_backend/slow_backend.py": SLOW_BACKEND,
        "slow/__init__.py": "",
    })


def _terminate_during_build(tmp_path: Path, *args: str) -> None:
    """Start the tool, SIGTERM it once the slow backend runs; check what must hold."""
    scratch = tmp_path / "scratch-tmp"
    scratch.mkdir()
    mark = uuid.uuid4().hex
    started = tmp_path / "started"
    env = {**os.environ, "NO_COLOR": "1", "TMPDIR": str(scratch), "HOSTILE_MARK": mark,
           "HOSTILE_STARTED": str(started), "CLOACINA_AUDIT_CACHE_DIR": str(tmp_path / "cache")}
    tool = subprocess.Popen(
        [sys.executable, "-m", "cloacina_audit", *args, "--probe-runs", "1"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline and tool.poll() is None:
            time.sleep(0.1)
        assert started.exists(), ("the build backend never started", tool.poll())
        time.sleep(0.3)
        assert len(marked(mark)) >= 4  # the tool, uv, the backend, its daemon at least
        tool.send_signal(signal.SIGTERM)
        stdout, stderr = tool.communicate(timeout=30)
    finally:
        if tool.poll() is None:
            tool.kill()
    assert tool.returncode == 143, (tool.returncode, stderr)
    assert stderr.strip().splitlines() == ["cloacina-audit: terminated"], stderr
    assert stdout == ""
    assert_nothing_left(mark)
    assert list(scratch.iterdir()) == [], "temporary files were left behind"


def test_sigterm_during_a_slow_build_stops_uv_and_the_backend(tmp_path):
    tree = _slow_project(tmp_path / "tree")
    _terminate_during_build(tmp_path, "footprint", str(tree))


def test_sigterm_while_a_worker_builds_the_baseline_stops_it_too(tmp_path):
    """``report --before``: the baseline is audited in a worker process of the tool."""
    slow = _slow_project(tmp_path / "slow")
    quick = project(tmp_path / "quick", {"quick/__init__.py": ""}, name="quick",
                    extra=NO_AUDIT_PRESET)
    _terminate_during_build(tmp_path, "report", str(quick), "--before", str(slow))
