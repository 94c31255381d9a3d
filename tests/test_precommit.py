"""The real ``pre-commit`` runs this repository's hooks in a temporary git repository.

The hooks repository is a snapshot of the working tree (the files that make the
package, plus ``.pre-commit-hooks.yaml``) committed into a temporary git
repository, because pre-commit clones ``repo:`` at ``rev:`` and the checkout
under test may hold uncommitted changes. pre-commit then installs it with pip
into its own virtualenv, under a PRE_COMMIT_HOME private to this module: about
15 s the first time (wheels come from pip's cache), well under a second per run
after that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import projects
import pytest
import yaml
from conftest import REPO, write_tree

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}

#: What pip needs to build and install cloacina-audit from a checkout.
SNAPSHOT = ["pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "cloacina_audit", "contracts"]

# The miniature engine and the workflow project depending on it (tests/projects.py):
# both build with hatchling, so that the footprint hook can install them.
ENGINE = projects.ENGINE
PROJECT = projects.WORKFLOW

BROKEN_TASKS = "import json\nfrom cloacina import Runner\n"
FIXED_TASKS = "import json\nfrom cloacina_workflow import task\n"


def git(repo: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(repo), "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main",
         *args],
        check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV},
    )
    return completed.stdout.strip()


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This repository's working tree, committed into a throwaway git repository."""
    snapshot = tmp_path_factory.mktemp("hooks-repo")
    for name in SNAPSHOT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, snapshot / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, snapshot / name)
    git(snapshot, "init", "-q")
    git(snapshot, "add", "-A")
    git(snapshot, "commit", "-qm", "snapshot")
    return snapshot, git(snapshot, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pre-commit's clones and virtualenvs, shared by this module's tests only."""
    return tmp_path_factory.mktemp("pre-commit-home")


def make_user_repo(root: Path, hooks: tuple[Path, str], tasks: str,
                   pyproject: str = PROJECT) -> Path:
    hooks_path, rev = hooks
    config = {
        "repos": [{
            "repo": str(hooks_path),
            "rev": rev,
            "hooks": [
                {"id": "cloacina-audit-check", "args": ["proj"]},
                {"id": "cloacina-audit-footprint", "args": ["proj", "--probe-runs", "1"]},
            ],
        }],
    }
    write_tree(root, {
        **ENGINE,
        "proj/pyproject.toml": pyproject,
        "proj/wf/__init__.py": "",
        "proj/wf/tasks.py": tasks,
    })
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "workflow")
    return root


def pre_commit(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1",
           "PRE_COMMIT_COLOR": "never"}
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)


def test_hook_manifest_is_valid():
    completed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest",
         str(REPO / ".pre-commit-hooks.yaml")],
        capture_output=True, text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    check, footprint = hooks["cloacina-audit-check"], hooks["cloacina-audit-footprint"]
    assert check["entry"] == "cloacina-audit check" and check["pass_filenames"] is False
    assert "stages" not in check  # runs at every commit
    assert footprint["entry"] == "cloacina-audit footprint"
    assert footprint["stages"] == ["pre-push", "manual"]


def test_check_hook_fails_on_a_violation_and_passes_after_the_fix(tmp_path, hooks_repo,
                                                                    pre_commit_home):
    """Slow (about 7 s): pre-commit builds the hook's own environment, as it does for users."""
    repo = make_user_repo(tmp_path / "user", hooks_repo, BROKEN_TASKS)

    failed = pre_commit(repo, pre_commit_home, "run", "--all-files")
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output
    assert "cloacina-audit check" in output and "Failed" in output
    # The whole chain, file:line, from the workflow down to the runtime.
    assert "wf.tasks -> cloacina -> cloacina.runtime" in output
    assert "proj/wf/tasks.py:2" in output and "fw/cloacina/__init__.py:1" in output
    # The footprint hook builds environments: not at commit time.
    assert "cloacina-audit footprint" not in output

    (repo / "proj/wf/tasks.py").write_text(FIXED_TASKS)
    git(repo, "add", "-A")
    passed = pre_commit(repo, pre_commit_home, "run", "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
    # The hook never writes into the user's repository.
    assert git(repo, "status", "--porcelain") == "M  proj/wf/tasks.py"


def test_check_hook_is_skipped_when_no_relevant_file_changed(tmp_path, hooks_repo,
                                                             pre_commit_home):
    repo = make_user_repo(tmp_path / "user", hooks_repo, BROKEN_TASKS)
    (repo / "NOTES.md").write_text("nothing to audit here\n")
    git(repo, "add", "NOTES.md")
    completed = pre_commit(repo, pre_commit_home, "run", "--files", "NOTES.md")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "(no files to check)Skipped" in completed.stdout


def test_footprint_hook_runs_at_the_manual_stage_and_gates_budgets(tmp_path, hooks_repo,
                                                                   pre_commit_home):
    budget = PROJECT + "\n[tool.cloacina-audit.budget]\nmax-distributions = 0\n"
    repo = make_user_repo(tmp_path / "user", hooks_repo, FIXED_TASKS, pyproject=budget)
    completed = pre_commit(repo, pre_commit_home, "run", "--hook-stage", "manual",
                           "cloacina-audit-footprint", "--all-files")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "exit code: 3" in output  # budget exceeded, no contract broken
    assert "max-distributions" in output and "exceeded" in output
    assert git(repo, "status", "--porcelain") == ""


def test_check_hook_resolves_dependencies_missing_from_the_hook_environment(
        tmp_path, hooks_repo, pre_commit_home):
    """pre-commit's hook environment holds cloacina-audit only: the project's engine,
    a plain dependency (no path source), is resolved from wheels and never run."""
    from wheelmaker import make_wheel

    marker = tmp_path / "engine-ran"
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "cloacina", "1", {
        "cloacina/__init__.py": f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n"
                                "from cloacina.runtime import Runner\n",
        "cloacina/runtime/__init__.py": "class Runner:\n    pass\n",
        "cloacina_workflow/__init__.py": "def task(f):\n    return f\n",
    })
    pyproject = '[project]\nname = "wf"\nversion = "1"\ndependencies = ["cloacina"]\n'
    repo = make_user_repo(tmp_path / "user", hooks_repo, BROKEN_TASKS, pyproject=pyproject)
    for name in list((repo / "fw").iterdir()):  # no engine source in the repository
        shutil.rmtree(name) if name.is_dir() else name.unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "engine from the index")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(pre_commit_home), "NO_COLOR": "1",
           "PRE_COMMIT_COLOR": "never", "UV_FIND_LINKS": str(wheels), "UV_NO_INDEX": "1",
           "CLOACINA_AUDIT_CACHE_DIR": str(tmp_path / "cache")}
    failed = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=repo,
                            env=env, capture_output=True, text=True, timeout=600)
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output
    assert "wf.tasks -> cloacina -> cloacina.runtime" in output
    assert not marker.exists(), "the engine's code ran"
    # The hook's environment really lacks the engine.
    hook_pythons = list(pre_commit_home.glob("repo*/py_env-*/bin/python"))
    assert hook_pythons
    probe = subprocess.run([str(hook_pythons[0]), "-c", "import cloacina"], capture_output=True)
    assert probe.returncode != 0

    (repo / "proj/wf/tasks.py").write_text(FIXED_TASKS)
    git(repo, "add", "-A")
    passed = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=repo,
                            env=env, capture_output=True, text=True, timeout=600)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert not marker.exists()
