"""A package as it was at a git ref, read without touching the user's checkout.

``git archive`` streams the tree at the ref out of the object database; it is
unpacked into a temporary directory, so neither the working tree, the index
nor ``.git`` (no worktree metadata) changes.
"""

from __future__ import annotations

import contextlib
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import AuditError
from .processes import Completed, ProcessTimeout, run


def _git(repo: Path, *args: str) -> Completed:
    return run(["git", "-C", str(repo), *args], timeout=120)


def repository_of(path: Path) -> Path | None:
    """The top of the git work tree containing ``path``, or None."""
    try:
        completed = _git(path if path.is_dir() else path.parent, "rev-parse", "--show-toplevel")
    except (OSError, ProcessTimeout):
        return None
    if completed.returncode != 0:
        return None
    return Path(completed.stdout.strip())


def is_commit(repo: Path, ref: str) -> bool:
    if ref.startswith("-"):
        return False
    completed = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return completed.returncode == 0


@contextlib.contextmanager
def checkout_at(repo: Path, ref: str) -> Iterator[Path]:
    """Yield a temporary directory holding the repository's tree at ``ref``."""
    with tempfile.TemporaryDirectory(prefix="cloacina-audit-ref-") as tmp:
        archive = Path(tmp) / "tree.tar"
        completed = _git(repo, "archive", "--format=tar", f"--output={archive}", ref)
        if completed.returncode != 0:
            message = completed.stderr.strip().splitlines()
            raise AuditError(f"--before {ref}: git archive failed: {message[-1] if message else ''}")
        tree = Path(tmp) / "tree"
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tree, filter="data")
            else:  # pragma: no cover - Pythons before the tarfile filters
                tar.extractall(tree)
        archive.unlink()
        yield tree
