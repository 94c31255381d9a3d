"""What users of ruff, mypy and lint-imports expect of a command line: usage on no
arguments, -V, -q, -v, help that is not cut off, only the options that apply, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import projects
import pytest
from conftest import REPO, assert_clean_error, run_cli, write_tree

from cloacina_audit import __version__

BLOATED = "fixtures/bloated"


def test_no_arguments_prints_usage_and_a_hint() -> None:
    result = run_cli()
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Usage: cloacina-audit [OPTIONS] COMMAND [ARGS]...",
        "Try 'cloacina-audit --help' for help.",
    ]


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag: str) -> None:
    result = run_cli(flag)
    assert result.code == 0
    assert result.stdout == f"cloacina-audit, version {__version__}\n"


def test_command_summaries_are_not_cut_off() -> None:
    result = run_cli("--help", env={"COLUMNS": "80"})
    commands = result.stdout.split("Commands:\n", 1)[1].splitlines()
    summaries = dict(line.split(None, 1) for line in commands if line.strip())
    assert set(summaries) == {"check", "footprint", "report", "why"}
    for name, summary in summaries.items():
        assert not summary.endswith("..."), (name, summary)
        assert summary.endswith("."), (name, summary)


def _options(command: str) -> set[str]:
    text = run_cli(command, "--help", env={"COLUMNS": "200"}).stdout
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-zA-Z])\b", text))


def test_each_command_lists_only_the_options_that_apply() -> None:
    check, footprint, report = _options("check"), _options("footprint"), _options("report")
    common = {"--format", "--output", "-o", "--config", "--preset", "--python", "--cache-dir",
              "--no-cache", "--color", "--quiet", "-q", "--verbose", "-v", "--help", "-h"}
    assert common <= check and common <= footprint and common <= report
    policy = {"--type-checking-imports", "--deferred-imports"}
    measuring = {"--env", "--probe-runs", "--import-timeout", "--cloaca-wheel"}
    comparing = {"--before", "--target-reduction"}
    assert policy <= check and not (measuring | comparing) & check
    assert measuring <= footprint and not (policy | comparing) & footprint
    assert policy | measuring | comparing <= report


def test_an_option_of_another_command_is_refused() -> None:
    result = run_cli("footprint", "fixtures/slim", "--deferred-imports", "count")
    assert_clean_error(result, "--deferred-imports")
    result = run_cli("check", "fixtures/slim", "--before", "x")
    assert_clean_error(result, "--before")


def test_quiet_and_verbose_exclude_each_other() -> None:
    assert_clean_error(run_cli("check", "fixtures/slim", "-q", "-v"), "--quiet", "--verbose")


def _chain_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("→ ")]


def test_check_groups_chains_by_offending_statement() -> None:
    """fixtures/bloated: 25 chains from 5 statements of the package, in 2 contracts."""
    default = run_cli("check", BLOATED, "--no-cache")
    assert default.code == 1
    chains = _chain_lines(default.stdout)
    assert len(chains) == 10  # one per (contract, statement): 5 + 5
    others = sum(int(m) for m in re.findall(r"\(\+(\d+) other chains?\)", default.stdout))
    assert len(chains) + others == 25
    assert default.stdout.rstrip().splitlines()[-1] == (
        "Result: 2 contracts: 0 kept, 2 broken; 5 offending statements in 25 import chains"
    )
    assert default.stdout.count("How to fix: Import the authoring names") == 2
    assert len(default.stdout.splitlines()) <= 100  # -v, one block per chain: 256 lines

    verbose = run_cli("check", BLOATED, "--no-cache", "-v")
    assert len(_chain_lines(verbose.stdout)) == 25
    assert "other chain" not in verbose.stdout

    quiet = run_cli("check", BLOATED, "--no-cache", "-q")
    assert len(_chain_lines(quiet.stdout)) == 10
    assert "fixtures/framework" not in quiet.stdout  # no steps beyond the statement
    assert quiet.stdout.rstrip().splitlines()[-1] == default.stdout.rstrip().splitlines()[-1]


def test_quiet_hides_what_passed() -> None:
    slim = run_cli("check", "fixtures/slim", "-q")
    assert slim.code == 0
    assert "✓" not in slim.stdout
    assert slim.stdout.rstrip().splitlines()[-1] == "Result: 2 contracts: 2 kept, 0 broken"


def test_machine_formats_group_by_statement_too() -> None:
    data = json.loads(run_cli("check", BLOATED, "--no-cache", "--format", "json").stdout)
    contracts = data["packages"][0]["contracts"]
    assert [len(c["violations"]) for c in contracts] == [15, 10]  # JSON keeps every chain
    for contract in contracts:
        indexes = sorted(i for s in contract["statements"] for i in s["violations"])
        assert indexes == list(range(len(contract["violations"])))
        for statement in contract["statements"]:
            for i in statement["violations"]:
                first = contract["violations"][i]["chain"][0]
                assert (first["file"], first["line"]) == (statement["file"], statement["line"])
        assert contract["instructions"][0].startswith("Import the authoring names")
    assert [len(c["statements"]) for c in contracts] == [5, 5]

    sarif = json.loads(run_cli("check", BLOATED, "--no-cache", "--format", "sarif").stdout)
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"].startswith("workflow-")]
    assert len(results) == 10
    assert sum(r["properties"]["chains"] for r in results) == 25

    github = run_cli("check", BLOATED, "--no-cache", "--format", "github").stdout
    assert len([line for line in github.splitlines() if line.startswith("::error")]) == 10


def test_instructions_of_a_user_contract_are_shown(tmp_path) -> None:
    from hostile.support import project

    tree = project(tmp_path / "tree", {
        "pkg/__init__.py": "import csv\n",
        ".importlinter": (
            "[importlinter]\nroot_package = pkg\n\n"
            "[importlinter:contract:no-csv]\nname = no csv\ntype = forbidden\n"
            "source_modules = pkg\nforbidden_modules = csv\n"
            "instructions =\n    Read tables with the reader in pkg.tables.\n"
            "    Ask #data if unsure.\n"
        ),
    })
    text = run_cli("check", str(tree), "--no-cache", env={"COLUMNS": "120"})
    assert text.code == 1, text.stderr
    assert "   How to fix: Read tables with the reader in pkg.tables.\n" in text.stdout
    assert "               Ask #data if unsure.\n" in text.stdout
    data = json.loads(run_cli("check", str(tree), "--no-cache", "--format", "json").stdout)
    assert data["packages"][0]["contracts"][0]["instructions"] == [
        "Read tables with the reader in pkg.tables.", "Ask #data if unsure."
    ]


def test_ctrl_c_exits_130(tmp_path) -> None:
    """As documented in the README: interrupted, one line, exit 130."""
    # An import that takes two minutes: still running when Ctrl-C comes, however fast.
    slow = write_tree(tmp_path / "slow", {
        "pyproject.toml": projects.pyproject("slow", extra='[tool.cloacina-audit]\npreset = "none"\n'),
        "slow/__init__.py": "import time\ntime.sleep(120)\n",
    })
    child = subprocess.Popen(
        [sys.executable, "-m", "cloacina_audit", "footprint", str(slow), "--no-cache",
         "--probe-runs", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CLOACINA_AUDIT_CACHE_DIR": str(tmp_path / "cache")},
        start_new_session=True,
    )
    time.sleep(1.5)
    os.killpg(child.pid, signal.SIGINT)  # what a terminal sends the foreground group
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "cloacina-audit: interrupted"
    assert stdout == ""
