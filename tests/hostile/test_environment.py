"""Hostile environments and imports for ``footprint``: unresolvable dependencies, no
network, imports that hang, crash, exit or flood their output.

Every project is a tiny hatchling project without dependencies (uv builds it;
hatchling comes from uv's cache after the first time), measured with
``--probe-runs 1``. Expected results:

- cannot resolve / cannot reach the index: exit 2, uv's reason on one line;
- an import that hangs past ``--import-timeout``, crashes on a signal or exits
  before reporting: exit 2, one line saying which, nothing left running;
- an import that prints megabytes or writes next to its own file: the ordinary
  verdict, a report that parses, the audited tree untouched.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from .support import assert_clean_error, assert_verdict, audit, project

NO_AUDIT_PRESET = '[tool.cloacina-audit]\npreset = "none"\n'


def _project(tmp_path: Path, init: str, name: str = "victim", dependencies: str = "[]") -> Path:
    return project(tmp_path / "tree", {f"{name}/__init__.py": init}, name=name,
                   dependencies=dependencies, extra=NO_AUDIT_PRESET)


def footprint(tree: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return audit(tree, "footprint", str(tree), "--probe-runs", "1", *args, env=env,
                 timeout=timeout)


# --- resolving and building ---------------------------------------------------------------


def test_unresolvable_dependency_gives_uvs_reason_on_one_line(tmp_path):
    tree = _project(tmp_path, "VALUE = 1\n",
                    dependencies='["this-package-does-not-exist-zq==1.0"]')
    result = footprint(tree)
    assert_clean_error(result, f"cannot install {tree}", "this-package-does-not-exist-zq",
                       "not found")


def test_unreachable_index_says_there_is_no_network(tmp_path):
    """Loopback port 9 (discard) refuses connections: what a runner without network sees.

    uv's own cache is empty and ours is off, so hatchling must be downloaded.
    UV_HTTP_RETRIES=0 only makes the test fast; the message is the same with retries.
    """
    tree = _project(tmp_path, "VALUE = 1\n")
    env = {"UV_INDEX_URL": "http://127.0.0.1:9/simple", "UV_CACHE_DIR": str(tmp_path / "uv"),
           "UV_HTTP_RETRIES": "0"}
    result = footprint(tree, "--no-cache", env=env, timeout=60)
    assert_clean_error(result, f"cannot install {tree}", "no network", "127.0.0.1:9")


def test_offline_with_nothing_cached_says_the_network_is_disabled(tmp_path):
    tree = _project(tmp_path, "VALUE = 1\n")
    env = {"UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "uv")}
    result = footprint(tree, "--no-cache", env=env, timeout=60)
    assert_clean_error(result, f"cannot install {tree}")
    # What follows the path (which holds this test's name) must say why; naming the
    # variable is not enough.
    reason = result.stderr.split(str(tree), 1)[1].lower().replace("uv_offline", "")
    assert "network" in reason or "offline" in reason, reason
    assert "--refresh" not in reason


def test_offline_with_a_warm_uv_cache_still_measures(tmp_path):
    """Offline CI runners with a restored uv cache must work: hatchling is in uv's cache."""
    tree = _project(tmp_path, "VALUE = 1\n")
    warmup = project(tmp_path / "warmup", {"warmup/__init__.py": ""}, name="warmup")
    footprint(warmup)  # makes sure hatchling is in uv's (default) cache
    result = footprint(tree, "--no-cache", "--format", "json", env={"UV_OFFLINE": "1"})
    assert_verdict(result, 0)
    assert json.loads(result.stdout)["packages"][0]["footprint"]["distributions"] == 0


# --- hostile imports -------------------------------------------------------------------------
#
# One package, built once for the module: what its import does is chosen by
# HOSTILE_IMPORT in the environment (the probe's child inherits it), so every
# case below measures the same, already built environment.

VICTIM = """
    import os
    import sys

    behaviour = os.environ.get("HOSTILE_IMPORT", "")
    if behaviour == "hang":
        import subprocess, time
        child = subprocess.Popen(["sleep", "600"])
        with open(os.environ["HOSTILE_PIDS"], "w") as f:
            f.write(f"{os.getpid()} {child.pid}")
        time.sleep(600)
    elif behaviour == "sigsegv":
        import signal
        os.kill(os.getpid(), signal.SIGSEGV)
    elif behaviour == "null-pointer":
        import ctypes
        ctypes.string_at(0)
    elif behaviour == "hard-exit-0":
        os._exit(0)
    elif behaviour == "sys-exit":
        sys.exit("bye")
    elif behaviour == "loud":
        from pathlib import Path
        print("x" * 50_000_000)
        sys.stderr.write("y" * 10_000_000 + "\\n")
        sys.stdout.write("\\x1b[2J{not json\\n")
        try:
            Path(__file__).with_name("written-at-import").write_text("pwned")
        except OSError:
            pass
    VALUE = 1
"""


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("victim")
    tree = _project(root, VICTIM)
    env = {"CLOACINA_AUDIT_CACHE_DIR": str(root / "cache"), "HOSTILE_IMPORT": ""}
    assert_verdict(footprint(tree, env=env), 0)  # builds the environment once
    return tree, env


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def test_import_that_hangs_times_out_and_leaves_nothing_running(victim, tmp_path):
    tree, env = victim
    pids = tmp_path / "pids"
    started = time.monotonic()
    result = footprint(tree, "--import-timeout", "2", timeout=60,
                       env={**env, "HOSTILE_IMPORT": "hang", "HOSTILE_PIDS": str(pids)})
    elapsed = time.monotonic() - started
    assert_clean_error(result, "import of victim timed out after 2 s")
    assert elapsed < 30, elapsed
    probe, grandchild = (int(pid) for pid in pids.read_text().split())
    deadline = time.monotonic() + 5
    while (_alive(probe) or _alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(probe) and not _alive(grandchild), "the hanging import was left running"


CRASHES = {
    "sigsegv": "import of victim crashed: killed by SIGSEGV",
    "null-pointer": "import of victim crashed: killed by SIGSEGV",
    "hard-exit-0": "import of victim exited with code 0 before reporting",
    "sys-exit": "import of victim failed: SystemExit: bye",
}


@pytest.mark.parametrize("case", sorted(CRASHES))
def test_import_that_crashes_or_exits(victim, case):
    tree, env = victim
    result = footprint(tree, env={**env, "HOSTILE_IMPORT": case})
    assert_clean_error(result, CRASHES[case])


def test_import_that_prints_megabytes_and_writes_next_to_itself(victim):
    tree, env = victim
    loud = {**env, "HOSTILE_IMPORT": "loud"}
    result = footprint(tree, "--format", "json", env=loud)
    assert_verdict(result, 0)
    entry = json.loads(result.stdout)["packages"][0]
    assert entry["name"] == "victim"
    assert entry["footprint"]["import"]["modules"] >= 1
    assert len(result.stdout) < 100_000
    text = footprint(tree, env=loud)  # the text report too, free of the import's output
    assert_verdict(text, 0)
    assert "xxxxxxxxxx" not in text.stdout and "{not json" not in text.stdout
