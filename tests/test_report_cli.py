"""``footprint`` and ``report`` end to end, on the fixtures and on packages built in temp dirs."""

from __future__ import annotations

import html.parser
import json
import subprocess
import sys
from pathlib import Path

import projects
import pytest
from conftest import FIXTURES, assert_clean_error, run_cli, tree_digest, write_tree
from wheelmaker import make_wheel


@pytest.fixture(scope="session")
def shared_cache(fixture_env_cache: Path) -> dict[str, str]:
    """One environment cache for the whole run: the fixtures' envs are built once."""
    return {"CLOACINA_AUDIT_CACHE_DIR": str(fixture_env_cache)}


@pytest.fixture(scope="session")
def fixture_report(shared_cache) -> dict:
    result = run_cli("report", "fixtures/slim", "--before", "fixtures/bloated",
                     "--format", "json", "--probe-runs", "1", env=shared_cache)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def test_fixture_comparison_reaches_the_80_percent_goal(fixture_report):
    before, after = fixture_report["before"], fixture_report["after"]
    assert after["footprint"]["install_bytes"] <= 0.2 * before["footprint"]["install_bytes"]
    reduction = fixture_report["delta"]["reduction"]
    assert reduction["target_pct"] == 80 and reduction["reached"] is True
    assert fixture_report["delta"]["install_bytes"] < 0
    assert fixture_report["packages"][0]["name"] == "order-pipeline"


def test_fixture_import_probe_sees_the_engine_only_in_bloated(fixture_report):
    loaded_before = fixture_report["before"]["footprint"]["import"]["forbidden_loaded"]
    loaded_after = fixture_report["after"]["footprint"]["import"]["forbidden_loaded"]
    assert "sqlalchemy" in loaded_before
    assert any(m.startswith("cloacina.runtime") for m in loaded_before)
    assert loaded_after == []
    assert fixture_report["after"]["footprint"]["import_not_probed"] is None


def test_fixture_contracts_broken_before_kept_after(fixture_report):
    assert not all(c["kept"] for c in fixture_report["before"]["contracts"])
    assert all(c["kept"] for c in fixture_report["after"]["contracts"])
    assert all(b["ok"] for b in fixture_report["after"]["budgets"])


def test_text_report_states_the_goal(shared_cache):
    result = run_cli("report", "fixtures/slim", "--before", "fixtures/bloated",
                     "--probe-runs", "1", env=shared_cache)
    assert result.code == 0
    assert "goal 80% reduction: reached" in result.stdout
    assert all(len(line) <= 100 for line in result.stdout.splitlines())


def test_footprint_of_bloated_exceeds_budgets_with_exit_3(shared_cache):
    result = run_cli("footprint", "fixtures/bloated", "--probe-runs", "1", "--format", "json",
                     env=shared_cache)
    assert result.code == 3, result.stderr
    budgets = {b["name"]: b for b in json.loads(result.stdout)["packages"][0]["budgets"]}
    assert {"max-install-size", "max-distributions", "max-native-files",
            "max-import-modules"} <= set(budgets)
    assert not any(b["ok"] for b in budgets.values())


def test_exceeded_budgets_sit_on_the_pyproject_that_sets_them(shared_cache):
    """The app records the package's pyproject.toml; SARIF and annotations point there."""
    sarif = run_cli("report", "fixtures/bloated", "--probe-runs", "1", "--format", "sarif",
                    env=shared_cache)
    assert sarif.code == 1, sarif.stderr
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    budgets = [r for r in results if r["ruleId"].startswith("budget-")]
    assert len(budgets) >= 4
    for result in budgets:
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": "fixtures/bloated/pyproject.toml", "uriBaseId": "%SRCROOT%"}
    # footprint checks no contracts: the pyproject is recorded all the same
    github = run_cli("footprint", "fixtures/bloated", "--probe-runs", "1", "--format", "github",
                     env=shared_cache)
    assert github.code == 3, github.stderr
    lines = [line for line in github.stdout.splitlines() if "title=Budget " in line]
    assert len(lines) == len(budgets)
    assert all(line.startswith("::error file=fixtures/bloated/pyproject.toml,") for line in lines)


def test_report_on_bloated_exits_1_because_contracts_outrank_budgets(shared_cache):
    result = run_cli("report", "fixtures/bloated", "--probe-runs", "1", env=shared_cache)
    assert result.code == 1


def test_many_packages_end_with_a_summary_and_the_worst_exit_code(shared_cache):
    result = run_cli("report", "fixtures/slim", "fixtures/bloated", "--probe-runs", "1",
                     env=shared_cache)
    assert result.code == 1, result.stderr
    assert "fixtures/slim" in result.stdout and "fixtures/bloated" in result.stdout


@pytest.mark.parametrize("fmt", ["markdown", "sarif", "github", "html"])
def test_every_format_renders_the_comparison(shared_cache, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    result = run_cli("report", "fixtures/slim", "--before", "fixtures/bloated", "--probe-runs",
                     "1", "--format", fmt, "--output", str(out), env=shared_cache)
    assert result.code == 0, result.stderr
    text = out.read_text()
    if fmt == "markdown":
        assert text.splitlines()[0] == "## cloacina-audit report"
        assert "| " in text and "<details>" in text
    elif fmt == "sarif":
        assert json.loads(text)["version"] == "2.1.0"
    elif fmt == "github":
        assert "::notice" in text and "80%" in text
    else:
        parser = html.parser.HTMLParser()
        parser.feed(text)
        assert "<svg" in text and "40.8 MB" in text
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")


# --- packages built in temp dirs ------------------------------------------------


def _project(root: Path, name: str, budget: str = "", deps: str = "[]") -> Path:
    write_tree(root, {
        "pyproject.toml": projects.pyproject(
            name, dependencies=deps,
            extra=f'[tool.cloacina-audit]\npreset = "none"\n[tool.cloacina-audit.budget]\n{budget}\n'),
        f"{name}/__init__.py": "VALUE = 1\n",
    })
    return root


def test_malformed_budget_names_the_key(tmp_path):
    project = _project(tmp_path / "p", "budgeted", budget='max-install-size = "two MB"')
    assert_clean_error(run_cli("footprint", str(project)), "max-install-size")


def test_relative_budget_against_the_before_version(tmp_path, shared_cache):
    small = _project(tmp_path / "small", "grower")
    big = _project(tmp_path / "big", "grower", budget='max-install-growth = "5%"')
    (big / "grower" / "data.py").write_text("BLOB = '" + "x" * 200_000 + "'\n")
    result = run_cli("report", str(big), "--before", str(small), "--format", "json",
                     "--probe-runs", "1", env=shared_cache)
    assert result.code == 3, result.stderr
    budgets = json.loads(result.stdout)["after"]["budgets"]
    growth = next(b for b in budgets if b["name"] == "max-install-growth")
    assert growth["ok"] is False


def _git(repo: Path, *args: str) -> str:
    completed = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                               text=True, env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                                               "GIT_COMMITTER_NAME": "t",
                                               "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"})
    return completed.stdout


def test_git_ref_baseline_reads_the_old_version_without_touching_the_checkout(tmp_path,
                                                                             shared_cache):
    repo = tmp_path / "repo"
    project = _project(repo / "pkg", "refpkg")
    (project / "refpkg" / "heavy.py").write_text("DATA = '" + "y" * 300_000 + "'\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "heavy")
    (project / "refpkg" / "heavy.py").unlink()
    _git(repo, "commit", "-qam", "slim down")
    head = _git(repo, "rev-parse", "HEAD")
    before_digest = tree_digest(repo)

    result = run_cli("report", str(project), "--before", "HEAD~1", "--format", "json",
                     "--target-reduction", "80%", "--probe-runs", "1", env=shared_cache)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["before"]["footprint"]["install_bytes"] > 300_000
    assert report["after"]["footprint"]["install_bytes"] < 100_000
    assert report["delta"]["reduction"]["reached"] is True
    assert tree_digest(repo) == before_digest
    assert _git(repo, "rev-parse", "HEAD") == head
    assert _git(repo, "status", "--porcelain") == ""
    assert _git(repo, "worktree", "list").count("\n") == 1


def test_unknown_baseline_is_one_clear_line(tmp_path):
    project = _project(tmp_path / "p", "lonely")
    assert_clean_error(run_cli("report", str(project), "--before", "no such thing!!"), "--before")


def test_before_with_several_paths_is_a_usage_error():
    assert_clean_error(run_cli("report", "fixtures/slim", "fixtures/bloated", "--before",
                               "fixtures/bloated"), "exactly one PATH")


def test_fixtures_are_not_modified_by_a_report(shared_cache):
    before = tree_digest(FIXTURES)
    run_cli("report", "fixtures/slim", "--before", "fixtures/bloated", "--probe-runs", "1",
            env=shared_cache)
    assert tree_digest(FIXTURES) == before


def test_path_defaults_to_the_current_directory(shared_cache):
    implicit = run_cli("footprint", "--format", "json", "--probe-runs", "1",
                       cwd=FIXTURES / "slim", env=shared_cache)
    assert implicit.code == 0, implicit.stderr
    package = json.loads(implicit.stdout)["packages"][0]
    assert package["name"] == "order-pipeline"
    assert package["footprint"]["distributions"] == 1


def test_a_wheel_baseline_gets_contracts_and_forbidden_modules(tmp_path, shared_cache):
    wheel = make_wheel(tmp_path / "dist", "wheelwf", "0.1", {
        "wheelwf/__init__.py": "from wheelwf import db\n",
        "wheelwf/db.py": "import sqlalchemy\n",
    }, requires=("sqlalchemy",))

    result = run_cli("report", "fixtures/slim", "--before", str(wheel), "--format", "json",
                     "--probe-runs", "1", env=shared_cache)

    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    broken = [c for c in report["before"]["contracts"] if not c["kept"]]
    assert [c["name"] for c in broken] == ["Workflow code must not pull in database drivers or ORMs"]
    chain = broken[0]["violations"][0]["chain"]
    assert [(s["importer"], s["imported"]) for s in chain] == [("wheelwf.db", "sqlalchemy")]
    assert report["before"]["footprint"]["import"]["forbidden_loaded"] == ["sqlalchemy"]
    assert report["delta"]["contracts"]["broken_before"] == 1
    assert report["delta"]["contracts"]["broken_after"] == 0


def test_a_requirement_baseline_is_installed_and_compared(shared_cache):
    result = run_cli("report", "fixtures/slim", "--before", "typing_extensions==4.16.0",
                     "--format", "json", "--probe-runs", "1", env=shared_cache)

    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    before = report["before"]
    assert before["name"] == "typing-extensions"
    assert before["footprint"]["distributions"] == 0  # dependencies: it has none
    assert before["footprint"]["install_bytes"] > 0
    assert before["footprint"]["import"]["modules"] > 0
    assert before["contracts"] == []
    assert [f["rule"] for f in before["findings"]] == ["contracts-not-applied"]
    text = run_cli("report", "fixtures/slim", "--before", "typing_extensions==4.16.0",
                   "--probe-runs", "1", env=shared_cache)
    assert "before: warning" in text.stdout and "contracts were not applied" in text.stdout


def test_a_package_compared_with_itself_is_a_notice_not_a_failed_goal(shared_cache):
    """`report slim --before slim` with a goal used to say "not reached" (❌) beside verdict ok."""
    for fmt in ("markdown", "text", "github"):
        result = run_cli("report", "fixtures/slim", "--before", "fixtures/slim",
                         "--target-reduction", "80%", "--probe-runs", "1", "--format", fmt,
                         env=shared_cache)
        assert result.code == 0, result.stderr
        assert "not reached" not in result.stdout
        assert "❌" not in result.stdout and "::warning" not in result.stdout
        assert "nothing changed" in result.stdout


def test_a_goal_not_reached_is_information_not_a_failure(shared_cache):
    """An ordinary change that misses the goal: no ❌, no warning annotation, exit 0."""
    result = run_cli("report", "fixtures/slim", "--before", "fixtures/bloated",
                     "--target-reduction", "100%", "--probe-runs", "1", "--format", "markdown",
                     env=shared_cache)
    assert result.code == 0, result.stderr
    assert "goal 100% reduction: not reached" in result.stdout
    assert "❌" not in result.stdout.split("### Before and after")[1].split("###")[0]


def test_the_comparison_shows_the_package_own_size(shared_cache):
    result = run_cli("report", "fixtures/slim", "--before", "fixtures/bloated",
                     "--probe-runs", "1", "--format", "json", env=shared_cache)
    delta = json.loads(result.stdout)["delta"]
    own = [row for row in delta["by_distribution"] if row["package"]]
    assert own and own[0]["name"] == "order-pipeline"
    assert delta["package_bytes"] == own[0]["bytes"] != 0


def test_at_a_terminal_a_self_comparison_is_a_notice(shared_cache):
    """The same through a pseudo-terminal at 80 columns, as a person sees it."""
    import os
    import re
    import shlex

    command = shlex.join([sys.executable, "-m", "cloacina_audit", "report", "fixtures/slim",
                          "--before", "fixtures/slim", "--target-reduction", "80%",
                          "--probe-runs", "1"])
    environ = {**os.environ, **shared_cache, "COLUMNS": "80", "TERM": "xterm"}
    environ.pop("NO_COLOR", None)
    completed = subprocess.run(["script", "-qec", command, "/dev/null"], cwd=FIXTURES.parent,
                               env=environ, capture_output=True, text=True, timeout=300)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", completed.stdout)
    assert completed.returncode == 0, screen[-2000:]
    flat = " ".join(screen.split())
    assert "nothing changed" in flat and "not reached" not in flat
    assert max(len(line) for line in screen.splitlines()) <= 80
