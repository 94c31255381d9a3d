"""discover/gitref.py on its own: naming commits, and a tree as committed, on real
repositories built in temp dirs (tests/hostile/test_git_baselines.py has the hostile ones)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloacina_audit.discover.gitref import (
    Checkout,
    _resolve,
    checkout_at,
    checkout_findings,
    is_commit,
    repository_of,
    resolve_commit,
)
from cloacina_audit.errors import AuditError


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "wf" / "deep").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "wf" / "__init__.py").write_text("import cloacina.runner\n")
    (root / "wf" / "deep" / "tool.sh").write_text("#!/bin/sh\n")
    (root / "wf" / "deep" / "tool.sh").chmod(0o755)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    git(root, "tag", "v1")
    (root / "wf" / "__init__.py").write_text("import cloacina_workflow\n")
    git(root, "commit", "-qam", "second")
    return root


def test_repository_of_finds_the_top_of_the_work_tree(repo: Path, tmp_path: Path) -> None:
    assert repository_of(repo / "wf" / "deep") == repo
    assert repository_of(repo / "wf" / "__init__.py") == repo
    outside = tmp_path / "plain"
    outside.mkdir()
    assert repository_of(outside) is None


def test_resolve_commit_takes_what_names_a_commit(repo: Path) -> None:
    first = git(repo, "rev-parse", "v1")
    assert resolve_commit(repo, "v1") == first
    assert resolve_commit(repo, first[:8]) == first
    assert resolve_commit(repo, "main~1") == first
    assert resolve_commit(repo, "main") == git(repo, "rev-parse", "HEAD")
    assert is_commit(repo, "HEAD")


@pytest.mark.parametrize("ref", ["no-such-branch", "--output=/tmp/x", "-h", "HEAD:wf"])
def test_resolve_commit_refuses_what_does_not(repo: Path, ref: str) -> None:
    assert resolve_commit(repo, ref) is None  # an option or a tree is not a commit


def test_checkout_holds_the_committed_tree_and_leaves_the_repository_alone(repo: Path) -> None:
    (repo / "wf" / "__init__.py").write_text("uncommitted\n")
    status = git(repo, "status", "--porcelain")
    with checkout_at(repo, "v1") as checkout:
        assert checkout.commit == git(repo, "rev-parse", "v1")
        tree = checkout.tree
        assert (tree / "wf" / "__init__.py").read_text() == "import cloacina.runner\n"
        assert os.access(tree / "wf" / "deep" / "tool.sh", os.X_OK)
        assert not os.access(tree / "wf" / "__init__.py", os.X_OK)
        assert not (tree / ".git").exists()
        assert checkout.skipped_links == []
    assert not tree.exists()  # the temporary directory is gone
    assert git(repo, "status", "--porcelain") == status
    assert (repo / "wf" / "__init__.py").read_text() == "uncommitted\n"


def test_checkout_of_a_name_that_is_no_commit_is_one_clear_error(repo: Path) -> None:
    with pytest.raises(AuditError, match=r"^--before nope: not a commit of "), checkout_at(repo, "nope"):
        pass


def test_checkout_findings_name_the_skipped_links() -> None:
    assert checkout_findings("v1", Checkout(tree=Path("."), commit="c")) == []
    [finding] = checkout_findings("v1", Checkout(tree=Path("."), commit="c",
                                                 skipped_links=["a -> /etc/passwd"]))
    assert finding.rule == "baseline-link-skipped"
    assert "a -> /etc/passwd" in finding.message


# --- where a committed link leads ------------------------------------------------------


@pytest.mark.parametrize(
    ("links", "path", "expected"),
    [
        ({"wf/link": "real.py"}, "wf/link", "wf/real.py"),
        ({"wf/link": "../top.py"}, "wf/link", "top.py"),
        ({"a": "b", "b": "wf/real.py"}, "a", "wf/real.py"),  # through another link
        ({"wf/link": "."}, "wf/link", "wf"),
        ({"wf/link": "/etc/passwd"}, "wf/link", None),  # absolute
        ({"wf/link": "../../etc/passwd"}, "wf/link", None),  # above the top
        ({"a": "b", "b": "a"}, "a", None),  # a loop
        ({"wf/link": "missing.py"}, "wf/link", None),  # dangling
        ({"a": "b", "b": "/etc"}, "a", None),  # a link on the way leaves the tree
    ],
)
def test_a_link_resolves_inside_the_tree_or_not_at_all(links, path, expected) -> None:
    existing = {"top.py", "wf", "wf/real.py"}
    assert _resolve(path, links, existing) == expected


_names = st.sampled_from(["a", "b", "wf", "real.py", "..", "."])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "wf/a", "wf/b"]),
                       st.lists(_names, min_size=1, max_size=5).map("/".join), min_size=1))
def test_a_resolved_link_is_always_an_existing_path_of_the_tree(links: dict[str, str]) -> None:
    existing = {"wf", "wf/real.py", "real.py"}
    for path in links:
        resolved = _resolve(path, links, existing)
        assert resolved is None or resolved == "" or resolved in existing
