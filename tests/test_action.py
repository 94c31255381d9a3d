"""The composite GitHub Action: its metadata is consistent, and its scripts work.

The ``run:`` steps of action.yml are executed here, in order, the way the
runner would: ``${{ ... }}`` expressions substituted, the step's ``env:`` set,
``GITHUB_OUTPUT`` a file read back after each step, ``if:`` evaluated. Steps
that ``uses:`` another action (setup-python) and the ``pip install`` of the
action's own checkout are skipped: the tool is already installed here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import projects
import pytest
import yaml
from conftest import REPO, run_cli, write_tree
from github_api import Server

ACTION = yaml.safe_load((REPO / "action.yml").read_text())
STEPS: list[dict] = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


# --- the metadata -----------------------------------------------------------------


def expressions(value) -> list[str]:
    if isinstance(value, dict):
        return [e for v in value.values() for e in expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in expressions(v)]
    return EXPRESSION.findall(value) if isinstance(value, str) else []


def test_is_a_composite_action_with_the_documented_inputs_and_outputs():
    assert ACTION["runs"]["using"] == "composite"
    assert {"path", "before", "target-reduction", "python-version", "args", "markdown-file",
            "sarif-file", "job-summary", "comment", "github-token"} <= set(ACTION["inputs"])
    assert ACTION["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert ACTION["inputs"]["comment"]["default"] == "true"
    assert ACTION["inputs"]["markdown-file"]["default"] == "cloacina-audit.md"
    assert ACTION["inputs"]["sarif-file"]["default"] == "cloacina-audit.sarif"
    before = ACTION["inputs"]["before"]["default"]
    assert "github.event.pull_request.base.sha" in before and "github.event.before" in before
    assert "fetch-depth: 0" in ACTION["inputs"]["before"]["description"]
    assert set(ACTION["outputs"]) == {"exit-code", "markdown-file", "sarif-file"}


def test_every_expression_refers_to_something_that_exists():
    ids = [step.get("id") for step in STEPS]
    written = {step["id"]: set(re.findall(r'echo "([\w-]+)=', step.get("run", "")))
               for step in STEPS if "id" in step}
    found = expressions(ACTION)
    assert found, "no expressions at all?"
    for expression in found:
        for name in re.findall(r"\binputs\.([\w-]+)", expression):
            assert name in ACTION["inputs"], expression
        for step_id, output in re.findall(r"\bsteps\.([\w-]+)\.outputs\.([\w-]+)", expression):
            assert step_id in ids, expression
            assert output in written[step_id], expression
        for root in re.findall(r"(?<![\w.-])([a-z_]+)\.", expression):
            assert root in {"inputs", "steps", "github"}, expression


def test_inputs_are_never_pasted_into_a_script():
    """``${{ inputs.args }}`` inside ``run:`` would be a script injection; env only."""
    for step in STEPS:
        assert not EXPRESSION.search(step.get("run", "")), step["name"]


def test_the_failing_step_is_last_and_conditioned_on_the_exit_code():
    report = next(i for i, step in enumerate(STEPS) if step.get("id") == "report")
    last = STEPS[-1]
    assert [step.get("id") for step in STEPS[report:-1]] == ["report", "comment"]
    assert "steps.report.outputs.exit-code" in last["if"]
    assert re.search(r'\bexit "\$\{?AUDIT_EXIT_CODE', last["run"])
    # Only the last step may fail the job; the report step always exits 0.
    assert STEPS[report]["run"].rstrip().endswith("exit 0")
    assert "set +e" in STEPS[report]["run"]


def test_the_comment_step_runs_the_module_after_the_report_and_never_fails():
    step = next(step for step in STEPS if step.get("id") == "comment")
    assert "if" not in step  # the report step always succeeds: this one always runs
    assert step["env"] == {
        "GITHUB_TOKEN": "${{ inputs.github-token }}",
        "AUDIT_MARKDOWN": "${{ steps.report.outputs.markdown-file }}",
        "AUDIT_COMMENT": "${{ inputs.comment }}",
        "AUDIT_JOB_SUMMARY": "${{ inputs.job-summary }}",
    }
    command = " ".join(step["run"].replace("\\\n", " ").split())
    assert command.startswith('python -m cloacina_audit.ci.pr_comment "$AUDIT_MARKDOWN" '
                              '--comment "$AUDIT_COMMENT" --job-summary "$AUDIT_JOB_SUMMARY" || echo')
    # The module the step names exists in the package pip installs from the action's checkout.
    assert (REPO / "cloacina_audit/ci/pr_comment.py").is_file()
    # The job summary is the comment step's alone: the report step no longer writes it.
    report = next(step for step in STEPS if step.get("id") == "report")
    assert "GITHUB_STEP_SUMMARY" not in report["run"]


def test_scripts_are_valid_bash():
    for step in STEPS:
        if "run" in step:
            assert step["shell"] == "bash"
            checked = subprocess.run(["bash", "-n"], input=step["run"], text=True,
                                     capture_output=True)
            assert checked.returncode == 0, (step["name"], checked.stderr)


# --- running the scripts -----------------------------------------------------------


@dataclass
class Run:
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    codes: dict[str, int | None] = field(default_factory=dict)  # None: skipped by `if:`
    logs: dict[str, str] = field(default_factory=dict)
    summary: str = ""


def _evaluate(expression: str, inputs: dict[str, str], run: Run) -> str:
    if expression == "github.action_path":
        return str(REPO)
    if expression.startswith("inputs."):
        return inputs[expression.removeprefix("inputs.")]
    match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
    if match:
        return run.outputs.get(match[1], {}).get(match[2], "")
    raise AssertionError(f"the test harness cannot evaluate {expression!r}")


def _substitute(text: str, inputs: dict[str, str], run: Run) -> str:
    return EXPRESSION.sub(lambda m: _evaluate(m[1], inputs, run), text)


def _condition(condition: str | None, inputs: dict[str, str], run: Run) -> bool:
    if condition is None:
        return True
    pattern = r"(?:\$\{\{\s*)?(\S+)\s*(==|!=)\s*'([^']*)'(?:\s*\}\})?"
    match = re.fullmatch(pattern, condition.strip())
    assert match, f"the test harness cannot evaluate if: {condition!r}"
    value = _evaluate(match[1], inputs, run)
    return (value == match[3]) == (match[2] == "==")


def run_action(workspace: Path, tmp: Path, given: dict[str, str],
               github: dict[str, str] | None = None) -> Run:
    """Run the action's scripts; ``github`` is what the runner sets for the event (the
    API's URL, the event file, the repository), none of it by default: no pull request."""
    defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    inputs = {**defaults, "github-token": (github or {}).get("GITHUB_TOKEN", ""), **given}
    assert "before" in given, "the default of `before` needs a GitHub event"
    run = Run()
    summary = tmp / "step-summary.md"
    summary.write_text("")
    bin_dir = str(Path(sys.executable).parent)
    for index, step in enumerate(STEPS):
        if "uses" in step:
            continue
        if step.get("id") == "install":
            assert 'pip install' in step["run"] and "ACTION_PATH" in step["run"]
            continue
        name = step.get("id") or f"step{index}"
        if not _condition(step.get("if"), inputs, run):
            run.codes[name] = None
            continue
        output = tmp / f"output-{index}"
        output.write_text("")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
            **{k: v for k, v in (github or {}).items() if k != "GITHUB_TOKEN"},
            "PATH": bin_dir + os.pathsep + os.environ["PATH"],
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(workspace),
            "NO_COLOR": "1",
            **{key: _substitute(str(value), inputs, run)
               for key, value in step.get("env", {}).items()},
        }
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
             _substitute(step["run"], inputs, run)],
            cwd=workspace, env=env, capture_output=True, text=True, timeout=600,
        )
        run.codes[name] = completed.returncode
        run.logs[name] = completed.stdout + completed.stderr
        run.outputs[name] = dict(line.split("=", 1)
                                 for line in output.read_text().splitlines() if "=" in line)
    run.summary = summary.read_text()
    return run


ENGINE = {**projects.ENGINE, "proj/pyproject.toml": projects.WORKFLOW, "proj/wf/__init__.py": ""}
CLEAN = "from cloacina_workflow import task\n"
BROKEN = "from cloacina import Runner\n"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(repo), "-c", "commit.gpgsign=false", *args],
                          check=True, capture_output=True, text=True, env=env).stdout.strip()


def two_commits(root: Path, first: str, second: str) -> tuple[Path, str]:
    """A repository whose HEAD~1 has ``first`` as wf/tasks.py and HEAD ``second``."""
    write_tree(root, {**ENGINE, "proj/wf/tasks.py": first})
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "first")
    (root / "proj/wf/tasks.py").write_text(second)
    _git(root, "commit", "-qam", "second", "--allow-empty")
    return root, _git(root, "rev-parse", "HEAD~1")


@pytest.fixture(scope="module")
def shared_cache(fixture_env_cache: Path) -> str:
    return str(fixture_env_cache)


@pytest.fixture
def warm(monkeypatch: pytest.MonkeyPatch, shared_cache: str) -> None:
    monkeypatch.setenv("CLOACINA_AUDIT_CACHE_DIR", shared_cache)


def test_a_broken_contract_writes_both_files_then_fails_the_job(tmp_path, warm):
    workspace, base = two_commits(tmp_path / "ws", CLEAN, BROKEN)
    head = _git(workspace, "rev-parse", "HEAD")
    run = run_action(workspace, tmp_path, {"path": "proj", "before": base,
                                           "args": "--probe-runs 1"})

    assert run.codes["report"] == 0, run.logs["report"]
    assert run.outputs["report"] == {"exit-code": "1", "markdown-file": "cloacina-audit.md",
                                     "sarif-file": "cloacina-audit.sarif"}
    markdown = (workspace / "cloacina-audit.md").read_text()
    assert markdown.splitlines()[:2] == ["## cloacina-audit report", "<!-- cloacina-audit -->"]
    assert "wf.tasks" in markdown and "cloacina.runtime" in markdown
    assert "### Before and after" in markdown and f"`proj@{base}`" in markdown
    sarif = json.loads((workspace / "cloacina-audit.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert run.summary.startswith("## cloacina-audit report")
    # The failing step ran last and failed with the report's exit code.
    last = list(run.codes)[-1]
    assert last != "report" and run.codes[last] == 1, run.logs
    assert "contract is broken" in run.logs[last]
    # Nothing in the checkout changed but the two report files.
    assert _git(workspace, "rev-parse", "HEAD") == head
    assert sorted(_git(workspace, "status", "--porcelain").splitlines()) == [
        "?? cloacina-audit.md", "?? cloacina-audit.sarif"]


def test_one_comment_is_posted_then_updated_on_the_next_push(tmp_path, warm):
    workspace, base = two_commits(tmp_path / "ws", CLEAN, BROKEN)
    with Server() as api:
        api.add("Please have a look")
        github = api.env(tmp_path)
        first = run_action(workspace, tmp_path, {"path": "proj", "before": base,
                                                 "args": "--probe-runs 1"}, github)
        assert first.codes["comment"] == 0 and "posted the report" in first.logs["comment"], \
            first.logs
        [comment] = api.reports()
        assert comment["body"] == (workspace / "cloacina-audit.md").read_text()
        assert "### ❌ Contract broken" in comment["body"] and "wf.tasks" in comment["body"]

        # The next push fixes the package: the same comment now says so.
        (workspace / "proj/wf/tasks.py").write_text(CLEAN)
        _git(workspace, "commit", "-qam", "fix")
        second = run_action(workspace, tmp_path, {"path": "proj", "before": base,
                                                  "args": "--probe-runs 1"}, github)
        assert "updated the report" in second.logs["comment"], second.logs
        assert api.reports() == [comment] and len(api.comments) == 2
        assert "### ✅ OK" in comment["body"]
        assert [w.method for w in api.writes] == ["POST", "PATCH"]
    # job-summary is "true" by default: the summary has each run's report too.
    assert first.summary.startswith("## cloacina-audit report")
    assert list(first.codes.values())[-1] == 1 and list(second.codes.values())[-1] is None


def test_on_a_fork_the_action_writes_the_job_summary_and_nothing_else(tmp_path):
    workspace, base = two_commits(tmp_path / "ws", CLEAN, CLEAN)
    with Server() as api:
        github = api.env(tmp_path, fork=True)
        run = run_action(workspace, tmp_path, {"path": "no/such/package", "before": base,
                                               "job-summary": "false"}, github)
        assert api.requests == []
    assert run.codes["comment"] == 0 and "comes from a fork" in run.logs["comment"]
    assert run.summary == (workspace / "cloacina-audit.md").read_text()
    assert "could not run" in run.summary


def test_a_clean_pull_request_passes_and_the_failing_step_is_skipped(tmp_path, warm):
    workspace, base = two_commits(tmp_path / "ws", BROKEN, CLEAN)
    run = run_action(workspace, tmp_path, {
        "path": "proj", "before": base, "args": "--probe-runs 1", "target-reduction": "1%",
        "markdown-file": "out/audit.md", "sarif-file": "out/audit.sarif",
    })
    assert run.codes["report"] == 0, run.logs["report"]
    assert run.outputs["report"]["exit-code"] == "0", run.logs["report"]
    assert list(run.codes.values())[-1] is None  # the failing step did not run
    markdown = (workspace / "out/audit.md").read_text()
    assert markdown.startswith("## cloacina-audit report")
    assert json.loads((workspace / "out/audit.sarif").read_text())["runs"][0]["results"] == []


@pytest.mark.parametrize("before", ["", "0" * 40])
def test_no_baseline_on_a_new_branch(tmp_path, warm, before):
    workspace, _ = two_commits(tmp_path / "ws", CLEAN, CLEAN)
    run = run_action(workspace, tmp_path, {"path": "proj", "before": before,
                                           "args": "--probe-runs 1"})
    assert run.outputs["report"]["exit-code"] == "0", run.logs["report"]
    assert "Before and after" not in (workspace / "cloacina-audit.md").read_text()


def test_an_input_error_still_writes_both_files_and_fails_with_2(tmp_path):
    workspace, base = two_commits(tmp_path / "ws", CLEAN, CLEAN)
    run = run_action(workspace, tmp_path, {"path": "no/such/package", "before": base})
    assert run.outputs["report"]["exit-code"] == "2", run.logs["report"]
    markdown = (workspace / "cloacina-audit.md").read_text()
    assert markdown.splitlines()[:2] == ["## cloacina-audit report", "<!-- cloacina-audit -->"]
    assert "could not run" in markdown and "no/such/package" in markdown
    sarif = json.loads((workspace / "cloacina-audit.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"] == []
    assert list(run.codes.values())[-1] == 2
    assert "::error" in run.logs["report"]


# --- the documentation -------------------------------------------------------------


def _yaml_blocks(markdown: str) -> list:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", markdown, re.S)]


def test_documented_workflow_uses_the_action_as_it_is():
    workflow, precommit = _yaml_blocks((REPO / "docs/ci.md").read_text())
    steps = workflow["jobs"]["audit"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    audit = next(s for s in steps if "/cloacina-audit@" in s.get("uses", ""))
    assert set(audit["with"]) <= set(ACTION["inputs"])
    after = steps[steps.index(audit) + 1:]
    # The action keeps the comment itself: no script of the caller's posts another one.
    assert not any("github-script" in s.get("uses", "") for s in after)
    assert workflow["jobs"]["audit"]["permissions"]["pull-requests"] == "write"
    upload = next(s for s in after if "upload-sarif" in s.get("uses", ""))
    assert "always()" in upload["if"]
    # Write permissions are granted to the job alone, never to the whole workflow.
    assert workflow["permissions"] == {"contents": "read"}

    hooks = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    used = {h["id"] for repo in precommit["repos"] for h in repo["hooks"]}
    assert used == hooks


def _masked(markdown: str) -> list[str]:
    """The lines, import times (which vary from run to run) masked."""
    times = re.compile(r"[-+]?\d+(?:\.\d+)? (?:ms|s)\b|\([-+]\d+\.\d%[^)]*\)")
    return [times.sub("T", line) if "Import" in line else line for line in markdown.splitlines()]


def test_the_documented_comment_is_what_the_renderer_writes(shared_cache):
    """docs/ci.md shows `report fixtures/slim --before fixtures/bloated --format markdown`."""
    documented = (REPO / "docs/ci.md").read_text().split("### The pull-request comment", 1)[1]
    quoted = "\n".join(line[2:] if line.startswith("> ") else line[1:]
                       for line in documented.splitlines() if line.startswith(">"))
    result = run_cli("report", "fixtures/slim", "--before", "fixtures/bloated", "--probe-runs",
                     "1", "--format", "markdown", env={"CLOACINA_AUDIT_CACHE_DIR": shared_cache})
    assert result.code == 0, result.stderr
    assert _masked(quoted) == _masked(result.stdout)
