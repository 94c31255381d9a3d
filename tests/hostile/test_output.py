"""Hostile places to write to: stdout full, closed or gone, and code that prints while the
audit runs. stdout carries the report and nothing else; when it cannot, one clean line.

Decided and documented in the README: a full or failing stdout (``/dev/full``) and a closed
one are errors (one line, exit 2; a closed stdout is refused before any work); a reader that
goes away (EPIPE, ``| head``) ends the run quietly with exit 2, as it chose to stop reading.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import REPO, Result

from .support import assert_clean_error, project

FORBID_JSON = textwrap.dedent("""
    [importlinter]
    root_package = pkg
    contract_types =
        loud: loudcontracts.LoudForbidden

    [importlinter:contract:no-json]
    name = no json
    type = loud
    source_modules = pkg
    forbidden_modules = json
""").lstrip()

#: A contract type the tool imports (from PYTHONPATH, where any installed plugin lives) that
#: writes to stdout three ways: print, the raw descriptor, and a child process inheriting it.
LOUD_CONTRACTS = textwrap.dedent("""
    import os, subprocess, sys
    print("loud: print at import")
    os.write(1, b"loud: os.write at import\\n")
    subprocess.run([sys.executable, "-c", "print('loud: a child process')"])
    from importlinter.contracts.forbidden import ForbiddenContract

    class LoudForbidden(ForbiddenContract):
        def check(self, graph, verbose):
            print("loud: print during the check")
            return super().check(graph, verbose)
""")


def _tree(tmp_path: Path) -> Path:
    return project(tmp_path / "tree", {"pkg/__init__.py": "import json\n"})


def run_with_stdout(args: list[str], stdout, *, env: dict[str, str] | None = None,
                    cwd: Path | None = None, pass_fds: tuple[int, ...] = ()) -> Result:
    """The CLI with ``stdout`` as given (a file object, a descriptor, or None for closed)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    command = [sys.executable, "-m", "cloacina_audit", *args]
    if stdout is None:  # closed: the shell's `>&-`
        command = ["sh", "-c", 'exec "$@" >&-', "sh", *command]
        stdout = subprocess.DEVNULL
    completed = subprocess.run(command, cwd=cwd or REPO, env=full_env, stdout=stdout,
                               stderr=subprocess.PIPE, text=True, timeout=120,
                               pass_fds=pass_fds)
    return Result(completed.returncode, "", completed.stderr)


@pytest.mark.parametrize("args", [
    ["check", "fixtures/bloated"],
    ["check", "fixtures/slim", "--format", "json"],
    ["--help"],
    ["-V"],
])
def test_stdout_on_dev_full(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        result = run_with_stdout(args, full)
    assert_clean_error(result, "cloacina-audit: error: cannot write", "No space left on device")
    assert "internal error" not in result.stderr


def test_stdout_closed_is_refused_before_any_work(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = run_with_stdout(["report", "fixtures/slim"], None,
                             env={"CLOACINA_AUDIT_CACHE_DIR": str(cache)})
    assert_clean_error(result, "standard output is closed", "--output")
    assert not cache.exists(), "an environment was built for a report nobody can read"


def test_stdout_closed_with_output_file_is_fine(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = run_with_stdout(["check", "fixtures/slim", "--format", "json", "-o", str(out)], None)
    assert result.code == 0 and result.stderr == ""
    assert json.loads(out.read_text())["packages"][0]["name"] == "order-pipeline"


def test_reader_gone_is_quiet() -> None:
    """`| head` that already exited: EPIPE on the first write, no message, no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = run_with_stdout(["check", "fixtures/bloated"], write_end)
    finally:
        os.close(write_end)
    assert result.code == 2, result.stderr
    assert result.stderr == ""


def test_stdout_is_the_json_document_alone(tmp_path: Path) -> None:
    """Whatever else writes to stdout during the audit (a contract type's module, a child
    process) goes to stderr; stdout is exactly the document, byte for byte."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "loudcontracts.py").write_text(LOUD_CONTRACTS)
    tree = _tree(tmp_path)
    (tree / ".importlinter").write_text(FORBID_JSON)
    out = tmp_path / "report.json"
    env = {"PYTHONPATH": str(plugins), "PYTHONHASHSEED": "0"}
    piped = subprocess.run(
        [sys.executable, "-m", "cloacina_audit", "check", str(tree), "--format", "json",
         "--no-cache"], cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True,
        timeout=120,
    )
    assert piped.returncode == 1, piped.stderr
    report = json.loads(piped.stdout)  # nothing before or after the document
    assert report["packages"][0]["contracts"][0]["kept"] is False
    assert "loud:" not in piped.stdout
    for said in ("print at import", "os.write at import", "a child process",
                 "print during the check"):
        assert f"loud: {said}" in piped.stderr
    to_file = subprocess.run(
        [sys.executable, "-m", "cloacina_audit", "check", str(tree), "--format", "json",
         "--no-cache", "-o", str(out)], cwd=tmp_path, env={**os.environ, **env},
        capture_output=True, text=True, timeout=120,
    )
    assert to_file.stdout == ""
    assert piped.stdout == out.read_text()


def test_invalid_target_reduction_is_refused_before_any_work(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    started = time.monotonic()
    result = run_with_stdout(["report", "fixtures/slim", "--target-reduction", "abc"],
                             subprocess.PIPE, env={"CLOACINA_AUDIT_CACHE_DIR": str(cache)})
    elapsed = time.monotonic() - started
    assert_clean_error(result, "--target-reduction", "'abc'")
    assert not cache.exists()
    assert elapsed < 5, elapsed


def test_output_into_a_missing_directory_is_refused_before_any_work(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = run_with_stdout(["footprint", "fixtures/slim", "-o", str(tmp_path / "no" / "r.txt")],
                             subprocess.PIPE, env={"CLOACINA_AUDIT_CACHE_DIR": str(cache)})
    assert_clean_error(result, "--output", "no such directory")
    assert not cache.exists()
