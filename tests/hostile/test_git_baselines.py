"""``--before GIT_REF``: the commit's tree as committed, whatever it holds.

``git archive`` would apply the commit's ``.gitattributes`` (``export-ignore``
drops files, ``export-subst`` rewrites them); committed links may point
anywhere. The baseline is read from the object database as committed, links
are recreated only when they stay in the tree, and the user's checkout is not
touched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from cloacina_audit.discover.gitref import checkout_at

from .support import assert_verdict, audit, project

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}


def git(repo: Path, *args: str) -> str:
    completed = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                               text=True, env=GIT_ENV)
    return completed.stdout.strip()


def _commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    return root


def test_export_ignore_and_export_subst_do_not_change_the_baseline(repo):
    (repo / ".gitattributes").write_text("pkg/** export-ignore\nversion.txt export-subst\n")
    (repo / "pkg").mkdir()
    (repo / "pkg/__init__.py").write_text("import json\n")
    (repo / "version.txt").write_text("$Format:%H$\n")
    commit = _commit_all(repo, "one")
    with checkout_at(repo, "HEAD") as checkout:
        assert checkout.commit == commit
        assert (checkout.tree / "pkg/__init__.py").read_text() == "import json\n"
        assert (checkout.tree / "version.txt").read_text() == "$Format:%H$\n"
        assert (checkout.tree / ".gitattributes").is_file()
    assert not checkout.tree.exists()


def test_links_are_recreated_only_when_they_stay_in_the_tree(repo):
    (repo / "pkg/sub").mkdir(parents=True)
    (repo / "pkg/sub/__init__.py").write_text("")
    (repo / "pkg/__init__.py").write_text("")
    (repo / "pkg/real.py").write_text("X = 1\n")
    os.symlink("real.py", repo / "pkg/alias.py")
    os.symlink("/etc/passwd", repo / "pkg/absolute.py")
    os.symlink("../../../outside", repo / "pkg/up.py")
    os.symlink("sub", repo / "pkg/dirlink")
    # Harmless by its text, out of the tree through the link `top`: top is the repo's root.
    os.symlink("..", repo / "pkg/top")
    os.symlink("top/../secret", repo / "pkg/chained.py")
    os.symlink("loop2", repo / "pkg/loop1")
    os.symlink("loop1", repo / "pkg/loop2")
    _commit_all(repo, "links")
    with checkout_at(repo, "HEAD") as checkout:
        pkg = checkout.tree / "pkg"
        assert (pkg / "alias.py").read_text() == "X = 1\n"
        assert os.readlink(pkg / "alias.py") == "real.py"
        assert (pkg / "dirlink").is_dir() and os.readlink(pkg / "dirlink") == "sub"
        assert os.readlink(pkg / "top") == ".."
        for skipped in ("absolute.py", "up.py", "chained.py", "loop1", "loop2"):
            assert not os.path.lexists(pkg / skipped), skipped
        assert checkout.skipped_links == [
            "pkg/absolute.py -> /etc/passwd", "pkg/chained.py -> top/../secret",
            "pkg/loop1 -> loop2", "pkg/loop2 -> loop1", "pkg/up.py -> ../../../outside",
        ]


def test_a_submodule_is_an_empty_directory(repo, tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    git(inner, "init", "-q")
    (inner / "x.py").write_text("")
    _commit_all(inner, "inner")
    (repo / "a.py").write_text("")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "vendored")
    _commit_all(repo, "with a submodule")
    with checkout_at(repo, "HEAD") as checkout:
        assert (checkout.tree / "vendored").is_dir()
        assert list((checkout.tree / "vendored").iterdir()) == []


def test_a_baseline_with_export_ignore_and_an_absolute_link_is_audited(tmp_path):
    """Issue: export-ignore made the package vanish; an absolute link gave BrokenProcessPool."""
    repo = tmp_path / "tree"
    project(repo, {"pkg/__init__.py": "import json\n"})
    (repo / ".gitattributes").write_text("pkg/** export-ignore\n")
    os.symlink("/etc/passwd", repo / "pkg/creds.py")
    git(repo, "init", "-q")
    commit = _commit_all(repo, "baseline")
    (repo / "pkg/__init__.py").write_text("import csv\n")
    (repo / "pkg/creds.py").unlink()  # the after version's own links are another matter
    _commit_all(repo, "after")

    result = audit(repo, "report", str(repo), "--before", "HEAD~1", "--format", "json",
                   "--probe-runs", "1", timeout=300)
    assert_verdict(result, 0)
    report = json.loads(result.stdout)
    assert report["before"]["git_commit"] == commit
    assert report["after"]["git_commit"] is None
    skipped = [f for f in report["before"]["findings"] if f["rule"] == "baseline-link-skipped"]
    assert len(skipped) == 1 and "pkg/creds.py -> /etc/passwd" in skipped[0]["message"]
    assert "root:" not in result.stdout

    text = audit(repo, "report", str(repo), "--before", "HEAD~1", "--probe-runs", "1",
                 timeout=300)
    assert_verdict(text, 0)
    assert f"@HEAD~1 = commit {commit[:12]}" in " ".join(text.stdout.split())

    # At a terminal (80 columns), as a person reads it.
    command = (f"{sys.executable} -m cloacina_audit report {repo} --before HEAD~1 "
               "--probe-runs 1")
    at_terminal = subprocess.run(["script", "-qec", command, "/dev/null"], cwd=REPO,
                                 env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
                                 capture_output=True, text=True, timeout=300)
    assert at_terminal.returncode == 0, at_terminal.stdout[-2000:]
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", at_terminal.stdout)
    assert f"= commit {commit[:12]}" in " ".join(shown.split())


def test_the_walk_up_from_a_baseline_stays_inside_its_checkout(tmp_path):
    """At HEAD~1 the project had no pyproject.toml: the walk must not leave the checkout
    for a pyproject.toml planted in TMPDIR, beside the temporary tree."""
    scratch = tmp_path / "scratch"
    (scratch / "planted").mkdir(parents=True)
    (scratch / "pyproject.toml").write_text('[project]\nname = "planted"\nversion = "1"\n')
    (scratch / "planted/__init__.py").write_text("")
    repo = tmp_path / "tree"
    (repo / "pkg/sub").mkdir(parents=True)
    (repo / "pkg/__init__.py").write_text("")
    (repo / "pkg/sub/__init__.py").write_text("")
    git(repo, "init", "-q")
    _commit_all(repo, "no pyproject yet")
    project(repo, {"pkg/__init__.py": ""})
    _commit_all(repo, "a project")

    result = audit(repo, "report", str(repo / "pkg/sub"), "--before", "HEAD~1",
                   "--probe-runs", "1", env={"TMPDIR": str(scratch)}, timeout=300)
    assert "planted" not in result.stdout + result.stderr
    assert result.code == 2, result.stderr
    assert f"{repo}@HEAD~1/pkg/sub: no pyproject.toml" in result.stderr
