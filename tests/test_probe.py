"""The import probe: real child processes importing real modules written to temp dirs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import tree_digest, write_tree

from cloacina_audit.analysis.footprint.probe import forbidden_present, probe_imports
from cloacina_audit.errors import AuditError

PACKAGES = {
    "wf/__init__.py": """
        import json
        from wf import tasks
        print("x" * 2_000_000)  # the package owns stdout; the probe must not care
    """,
    "wf/tasks.py": "import engine.runtime\n",
    "engine/__init__.py": "",
    "engine/runtime/__init__.py": "from engine.runtime import executor\n",
    "engine/runtime/executor.py": "",
    "engine/database.py": "",
    "hangs.py": "import time\ntime.sleep(120)\n",
    "raises.py": "raise ValueError('the task registry is not configured')\n",
    "segfaults.py": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
    "exits.py": "import os, sys\nsys.stderr.write('giving up early\\n')\nos._exit(3)\n",
    "sysexit.py": "raise SystemExit(4)\n",
    "imports_missing.py": "import no_such_module_anywhere\n",
}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src", PACKAGES)


def probe(source: Path, *modules: str, **options) -> object:
    return probe_imports(sys.executable, list(modules), search_path=[source], **options)


def test_reports_modules_forbidden_prefixes_and_timing(source: Path) -> None:
    result = probe(
        source, "wf", forbidden=["engine.runtime", "engine.database", "json", "wf.tasks"], runs=3
    )
    assert result.modules >= 6  # wf, wf.tasks, engine, engine.runtime, engine.runtime.executor, json...
    assert result.non_stdlib_modules == 5
    assert result.forbidden_loaded == ["engine.runtime", "json", "wf.tasks"]
    assert 2 <= result.runs <= 3  # stops once two runs agree
    assert result.seconds_median > 0
    assert result.peak_rss_bytes and result.peak_rss_bytes > 1_000_000
    assert result.entry_modules == ["wf"]


def test_runs_stop_once_two_agree_within_the_noise_band(source: Path) -> None:
    steps: list[str] = []
    result = probe(source, "wf", runs=10, on_step=steps.append)
    # Importing wf takes milliseconds: runs agree well inside the 20 ms floor of the band.
    assert 2 <= result.runs < 10
    assert len(steps) == result.runs
    assert steps[0] == "Importing wf (run 1 of at most 10)"
    assert result.seconds_spread <= max(0.02, 0.1 * result.seconds_median) * 2


def test_neither_the_audited_tree_nor_the_working_directory_is_written(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree_digest(source)
    monkeypatch.chdir(tmp_path)
    probe(source, "wf", runs=1)
    assert tree_digest(source) == before  # no __pycache__ either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_a_hanging_import_times_out(source: Path) -> None:
    with pytest.raises(AuditError, match=r"^import of hangs timed out after 2 s$"):
        probe(source, "hangs", timeout=2, runs=1)


def test_an_import_that_raises_gives_the_exception_line(source: Path) -> None:
    with pytest.raises(AuditError) as caught:
        probe(source, "engine", "raises", runs=1)
    assert str(caught.value) == (
        "import of raises failed: ValueError: the task registry is not configured"
    )
    with pytest.raises(AuditError, match="ModuleNotFoundError: No module named 'no_such_module_anywhere'"):
        probe(source, "imports_missing", runs=1)
    with pytest.raises(AuditError, match="import of sysexit failed: SystemExit: 4"):
        probe(source, "sysexit", runs=1)


def test_a_crashing_import_names_the_signal(source: Path) -> None:
    with pytest.raises(AuditError, match=r"^import of segfaults crashed: killed by SIGSEGV$"):
        probe(source, "segfaults", runs=1)


def test_an_import_that_exits_says_so_with_its_last_words(source: Path) -> None:
    with pytest.raises(AuditError, match="exited with code 3 before reporting: giving up early"):
        probe(source, "exits", runs=1)


def test_bad_arguments_are_audit_errors(source: Path) -> None:
    with pytest.raises(AuditError, match="no entry module"):
        probe(source)
    with pytest.raises(AuditError, match="at least 1"):
        probe(source, "wf", runs=0)
    with pytest.raises(AuditError, match="cannot run"):
        probe_imports(source / "no-python", ["wf"])


def test_forbidden_prefixes_match_whole_module_names() -> None:
    modules = ["cloacina", "cloacina.runtime.executor", "sqlalchemy_utils", "psycopg2"]
    assert forbidden_present(
        ["cloacina.runtime", "sqlalchemy", "psycopg2", "cloacina.registry", "cloacina"], modules
    ) == ["cloacina.runtime", "psycopg2", "cloacina"]


def test_submodules_are_imported_and_their_failures_reported_not_fatal(source: Path) -> None:
    write_tree(source, {
        "quiet/__init__.py": "",
        "quiet/tasks.py": "import engine.runtime\n",
        "quiet/optional.py": "import no_such_module_anywhere\n",
        "quiet/script.py": "import sys\nsys.exit('usage: script FILE')\n",
    })
    result = probe(source, "quiet", submodules=["quiet.optional", "quiet.script", "quiet.tasks"],
                   forbidden=["engine.runtime"])
    assert result.entry_modules == ["quiet", "quiet.optional", "quiet.script", "quiet.tasks"]
    assert result.forbidden_loaded == ["engine.runtime"]
    assert result.loaded_by == {"engine.runtime": "quiet.tasks"}
    assert result.failed_imports == [
        "quiet.optional: ModuleNotFoundError: No module named 'no_such_module_anywhere'",
        "quiet.script: SystemExit: usage: script FILE",
    ]


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0.0, -1.0, 1e9])
def test_a_timeout_that_would_never_end_is_refused(source: Path, timeout: float) -> None:
    with pytest.raises(AuditError, match="not a number of seconds between 0 and 86400"):
        probe(source, "wf", timeout=timeout)
