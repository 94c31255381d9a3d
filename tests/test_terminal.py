"""The three commands as a person at an 80-column terminal meets them, and as a pipe or a CI
log gets them: colour and width follow --color, NO_COLOR, FORCE_COLOR and COLUMNS; the
spinner runs on stderr and leaves nothing behind; every format is its document exactly."""

from __future__ import annotations

import json
from pathlib import Path

import projects
import pyte
import pytest
from conftest import write_tree
from pseudo_terminal import SGR, TerminalRun, run_in_terminal

BLOATED = "fixtures/bloated"
SLIM = "fixtures/slim"
#: One hash seed and no cache: the same chains in the same order on every run (making them so
#: whatever the seed and cache is the check's business, tested with it; here it is the
#: stream that is under test).
SEED = {"PYTHONHASHSEED": "0"}
CHECK = ("check", "--no-cache")


def document(run: TerminalRun) -> str:
    """A terminal turns ``\\n`` into ``\\r\\n``; the document is what was written."""
    return run.stdout.decode("utf-8").replace("\r\n", "\n")


def assert_fits(run: TerminalRun, columns: int) -> None:
    lines = run.text().splitlines()
    assert lines, run.stdout
    assert max(len(line) for line in lines) <= columns, max(lines, key=len)


def result_line(screen: list[str]) -> str:
    """The report's last line, "Result: ...", joined again where the terminal wrapped it."""
    start = max(i for i, line in enumerate(screen) if line.startswith("Result: "))
    return " ".join(line.strip() for line in screen[start:])


def rule_width(run: TerminalRun) -> int:
    """The width rich laid the report out at: its first line is a full-width rule."""
    return len(run.text().splitlines()[0])


# --- check ------------------------------------------------------------------------------


def test_check_text_at_an_80_column_terminal() -> None:
    run = run_in_terminal(*CHECK, BLOATED, env=SEED)
    assert run.code == 1, run.text()
    assert rule_width(run) == 80
    assert_fits(run, 80)
    assert SGR.search(run.stdout), "a terminal gets colour"
    screen = run.screen()
    assert result_line(screen) == (
        "Result: 2 contracts: 0 kept, 2 broken; 5 offending statements in 25 import chains"
    )
    assert any(line.startswith("   How to fix: Import the authoring names") for line in screen)


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_check_machine_formats_at_a_terminal_are_the_document(fmt: str, tmp_path: Path) -> None:
    run = run_in_terminal(*CHECK, BLOATED, "--format", fmt, env=SEED)
    assert run.code == 1
    assert not SGR.search(run.stdout)
    written = tmp_path / "report"
    to_file = run_in_terminal(*CHECK, BLOATED, "--format", fmt, "--output", str(written),
                              env=SEED)
    assert to_file.code == 1 and to_file.stdout == b""
    assert document(run) == written.read_text(encoding="utf-8")
    if fmt == "github":
        assert all(line.startswith("::") for line in document(run).splitlines())
    else:
        json.loads(document(run))


def test_check_piped_is_100_columns_without_colour() -> None:
    run = run_in_terminal(*CHECK, BLOATED, stdout="pipe", stderr="pipe", env=SEED)
    assert run.code == 1 and run.stderr == b""
    assert rule_width(run) == 100
    assert not SGR.search(run.stdout)


@pytest.mark.parametrize("stdout", ["pipe", "tty"])
def test_columns_sets_the_width(stdout: str) -> None:
    run = run_in_terminal(*CHECK, BLOATED, stdout=stdout, stderr="pipe",
                          env={**SEED, "COLUMNS": "60"})
    assert rule_width(run) == 60
    assert_fits(run, 60)


@pytest.mark.parametrize(
    ("stdout", "env", "flag", "coloured"),
    [
        ("tty", {"NO_COLOR": "1"}, None, False),
        ("tty", {}, "never", False),
        ("tty", {"TERM": "dumb"}, None, False),
        ("pipe", {"FORCE_COLOR": "1"}, None, True),
        ("pipe", {}, "always", True),
        ("tty", {"NO_COLOR": "1"}, "always", True),  # the flag outranks the environment
        ("pipe", {"FORCE_COLOR": "1"}, "never", False),
        ("tty", {"NO_COLOR": "", "FORCE_COLOR": ""}, None, True),  # empty means unset
    ],
)
def test_colour_follows_flag_then_no_color_then_force_color_then_terminal(
    stdout: str, env: dict[str, str], flag: str | None, coloured: bool
) -> None:
    args = [*CHECK, SLIM, *(["--color", flag] if flag else [])]
    run = run_in_terminal(*args, stdout=stdout, stderr="pipe", env=env)
    assert run.code == 0, run.text()
    assert bool(SGR.search(run.stdout)) is coloured


def test_force_color_does_not_colour_a_report_file(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    run = run_in_terminal(*CHECK, SLIM, "--output", str(out), env={"FORCE_COLOR": "1"})
    assert run.code == 0
    assert "\x1b[" not in out.read_text(encoding="utf-8")
    run = run_in_terminal(*CHECK, SLIM, "--output", str(out), "--color", "always")
    assert "\x1b[" in out.read_text(encoding="utf-8")


# --- footprint and report: environments are built once and shared ----------------------


@pytest.fixture(scope="module")
def shared_cache(fixture_env_cache: Path) -> dict[str, str]:
    return {"CLOACINA_AUDIT_CACHE_DIR": str(fixture_env_cache), **SEED}


def assert_spinner_ran_and_left_nothing(run: TerminalRun) -> None:
    """The spinner wrote to its terminal, and what that terminal shows at the end is empty."""
    assert b"\x1b[?25l" in run.stderr, run.stderr[:300]  # rich hides the cursor while it spins
    assert run.screen("stderr") == [], run.screen("stderr")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "github", "html"])
def test_footprint_at_a_terminal(fmt: str, shared_cache: dict[str, str]) -> None:
    run = run_in_terminal("footprint", SLIM, "--format", fmt, "--probe-runs", "1",
                          stderr="tty", env=shared_cache)
    assert run.code == 0, (run.text(), run.text("stderr"))
    assert_spinner_ran_and_left_nothing(run)
    text = document(run)
    if fmt == "text":
        assert SGR.search(run.stdout)
        assert_fits(run, 80)
        assert "Import: 1 module" not in text  # the slim package loads dozens
        assert result_line(run.screen()) == "Result: 4 budgets: 4 met, 0 exceeded"
        return
    assert not SGR.search(run.stdout)
    if fmt == "json":
        assert json.loads(text)["packages"][0]["footprint"]["distributions"] == 1
    elif fmt == "markdown":
        assert text.startswith("## cloacina-audit report\n")
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    else:
        assert text == ""  # nothing failed: no annotations


def test_footprint_quiet_has_no_spinner(shared_cache: dict[str, str]) -> None:
    run = run_in_terminal("footprint", SLIM, "-q", "--probe-runs", "1", stderr="tty",
                          env=shared_cache)
    assert run.code == 0
    assert run.stderr == b""
    assert "Distribution" not in run.text()  # the table is detail
    assert result_line(run.screen()) == "Result: 4 budgets: 4 met, 0 exceeded"


@pytest.mark.parametrize("command", [
    ("footprint", SLIM),
    ("report", SLIM, "--before", BLOATED),
])
@pytest.mark.parametrize(("stdout", "env", "coloured"), [
    ("tty", {"NO_COLOR": "1"}, False),
    ("pipe", {"FORCE_COLOR": "1"}, True),
])
def test_measuring_commands_follow_no_color_and_force_color(
    command: tuple[str, ...], stdout: str, env: dict[str, str], coloured: bool,
    shared_cache: dict[str, str],
) -> None:
    run = run_in_terminal(*command, "--probe-runs", "1", stdout=stdout, stderr="pipe",
                          env={**shared_cache, **env})
    assert run.code == 0, run.text("stderr")
    assert bool(SGR.search(run.stdout)) is coloured
    assert rule_width(run) == (80 if stdout == "tty" else 100)
    assert run.stderr == b""  # stderr is no terminal: no spinner


def test_color_never_is_a_colourless_spinner_too(shared_cache: dict[str, str]) -> None:
    run = run_in_terminal("footprint", SLIM, "--probe-runs", "1", "--color", "never",
                          stderr="tty", env=shared_cache)
    assert run.code == 0
    assert_spinner_ran_and_left_nothing(run)
    assert not SGR.search(run.stderr) and not SGR.search(run.stdout)


def test_footprint_piped_keeps_the_spinner_on_the_terminal(shared_cache: dict[str, str]) -> None:
    run = run_in_terminal("footprint", SLIM, "--format", "json", "--probe-runs", "1",
                          stdout="pipe", stderr="tty", env=shared_cache)
    assert run.code == 0
    assert_spinner_ran_and_left_nothing(run)
    json.loads(run.stdout)  # nothing but the document on the pipe


def test_report_before_after_at_one_terminal(shared_cache: dict[str, str]) -> None:
    """The README's main job typed at a terminal: spinner and report on one screen."""
    run = run_in_terminal("report", SLIM, "--before", BLOATED, "--probe-runs", "1",
                          env=shared_cache)
    assert run.code == 0, run.text()
    assert b"\x1b[?25l" in run.stdout  # the spinner ran ...
    screen = run.screen()
    assert not any("Installing" in line or "Starting" in line for line in screen)  # ... and went
    report = run.stdout.rpartition(b"\x1b[?25h")[2]  # written after the spinner stopped
    assert_fits(TerminalRun(run.code, report, b"", 80), 80)
    assert any(line.startswith("Install size:") and "goal" in line for line in screen)
    assert result_line(screen).startswith("Result: 2 contracts: 2 kept, 0 broken")


@pytest.mark.parametrize("fmt", ["json", "markdown", "sarif", "github", "html"])
def test_report_formats_at_a_terminal(fmt: str, shared_cache: dict[str, str]) -> None:
    run = run_in_terminal("report", SLIM, "--before", BLOATED, "--format", fmt,
                          "--probe-runs", "1", stderr="tty", env=shared_cache)
    assert run.code == 0, (run.text(), run.text("stderr"))
    assert_spinner_ran_and_left_nothing(run)
    assert not SGR.search(run.stdout)
    text = document(run)
    if fmt in ("json", "sarif"):
        json.loads(text)
    elif fmt == "markdown":
        assert text.startswith("## cloacina-audit report\n")
        assert "**Result:** 2 contracts: 2 kept, 0 broken" in text
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    else:
        assert all(line.startswith("::") for line in text.splitlines())


SLOW_IMPORT = {
    "pyproject.toml": projects.pyproject("slow", extra='[tool.cloacina-audit]\npreset = "none"\n'),
    "slow/__init__.py": "import time\ntime.sleep(120)\n",
}


def test_ctrl_c_at_a_terminal_stops_the_spinner_and_gives_the_cursor_back(tmp_path: Path) -> None:
    # An import that takes two minutes: the run is still working when Ctrl-C comes,
    # however fast the machine or warm the caches.
    write_tree(tmp_path / "slow", SLOW_IMPORT)
    run = run_in_terminal("footprint", str(tmp_path / "slow"), "--probe-runs", "1",
                          interrupt_after=2.0,
                          env={"CLOACINA_AUDIT_CACHE_DIR": str(tmp_path / "cache")})
    assert run.code == 130, run.text()
    assert b"\x1b[?25l" in run.stdout  # the spinner ran
    screen = pyte.Screen(80, 50)
    pyte.ByteStream(screen).feed(run.stdout)
    assert not screen.cursor.hidden
    assert run.screen()[-1] == "cloacina-audit: interrupted"
