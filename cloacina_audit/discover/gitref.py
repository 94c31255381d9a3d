"""A package as it was at a git ref, read without touching the user's checkout.

The baseline is the commit's tree as committed: its entries are listed with
``git ls-tree`` and their contents read with ``git cat-file --batch``, then
written into a temporary directory. Not ``git archive``: it applies the
commit's ``.gitattributes`` (``export-ignore`` drops files, ``export-subst``
rewrites them), so the baseline would not be what was committed. Neither the
working tree, the index nor ``.git`` changes.

Committed symbolic links are recreated only when they resolve, through the
tree's own links, to a path inside the tree; the link then points straight at
that path, so what the file system resolves is what was checked here. A link
that leaves the tree (an absolute path, too many ``..``) or loops is not
created, and the checkout says which were skipped. Submodules are empty
directories, as in a fresh clone.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import Finding
from cloacina_audit.system.processes import Completed, PipedProcess, ProcessTimeout, conversation, run

_BLOB_MODES = {"100644": 0o644, "100755": 0o755}
_SYMLINK_MODE = "120000"
_SUBMODULE_MODE = "160000"
#: Links followed in a row before a link counts as a loop (as Linux's MAXSYMLINKS).
_MAX_LINK_DEPTH = 40
#: The longest link text read (Linux's PATH_MAX).
_MAX_LINK_TEXT = 4096


@dataclass
class Checkout:
    #: The temporary directory holding the tree.
    tree: Path
    #: The full commit id the ref resolved to.
    commit: str
    #: Committed links not created, as ``path -> target`` (they leave the tree or loop).
    skipped_links: list[str] = field(default_factory=list)


#: Seconds one git command may take.
_GIT_TIMEOUT = 120
#: Seconds reading every blob of a baseline may take.
_READ_TIMEOUT = 1800
#: The largest tree listing read (``ls-tree -r -z``: about 100 bytes an entry).
_MAX_LISTING = 256 << 20


def _git(repo: Path, *args: str) -> Completed:
    return run(["git", "-C", str(repo), *args], timeout=_GIT_TIMEOUT)


def repository_of(path: Path) -> Path | None:
    """The top of the git work tree containing ``path``, or None."""
    try:
        completed = _git(path if path.is_dir() else path.parent, "rev-parse", "--show-toplevel")
    except (OSError, ProcessTimeout):
        return None
    if completed.returncode != 0:
        return None
    return Path(completed.stdout.strip())


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The full commit id ``ref`` names in ``repo``, or None when it names no commit."""
    if ref.startswith("-"):
        return None
    completed = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options",
                     f"{ref}^{{commit}}")
    if completed.returncode != 0:
        return None
    return completed.stdout.strip()


def is_commit(repo: Path, ref: str) -> bool:
    return resolve_commit(repo, ref) is not None


@contextlib.contextmanager
def checkout_at(repo: Path, ref: str) -> Iterator[Checkout]:
    """Yield a temporary directory holding the repository's tree at ``ref``, as committed."""
    commit = resolve_commit(repo, ref)
    if commit is None:
        raise AuditError(f"--before {ref}: not a commit of {repo}")
    entries = _list_tree(repo, ref, commit)
    with tempfile.TemporaryDirectory(prefix="cloacina-audit-ref-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        checkout = Checkout(tree=tree, commit=commit)
        links: dict[str, str] = {}
        with conversation(["git", "-C", str(repo), "cat-file", "--batch"],
                          timeout=_READ_TIMEOUT) as git:
            blobs = _BlobReader(git, ref)
            for path, (mode, sha) in sorted(entries.items()):
                target = tree / path
                if mode == _SUBMODULE_MODE:
                    target.mkdir(parents=True, exist_ok=True)
                elif mode == _SYMLINK_MODE:
                    text = blobs.read(sha, limit=_MAX_LINK_TEXT)
                    links[path] = text.decode("utf-8", errors="surrogateescape")
                elif mode in _BLOB_MODES:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with target.open("wb") as handle:
                        blobs.read(sha, into=handle)
                    target.chmod(_BLOB_MODES[mode])
        _make_links(tree, entries, links, checkout.skipped_links)
        yield checkout


def _list_tree(repo: Path, ref: str, commit: str) -> dict[str, tuple[str, str]]:
    """``path -> (mode, object id)`` for every blob, link and submodule at ``commit``."""
    with tempfile.TemporaryFile() as errors:
        with conversation(["git", "-C", str(repo), "ls-tree", "-r", "-z", "--full-tree", commit],
                          timeout=_GIT_TIMEOUT, stderr=errors) as git:
            assert git.stdin is not None and git.stdout is not None
            git.stdin.close()
            listing = git.stdout.read(_MAX_LISTING + 1)
            returncode = git.wait()
        errors.seek(0)
        if returncode != 0:
            raise AuditError(f"--before {ref}: git ls-tree failed: {_last_line(errors.read(4096))}")
    if len(listing) > _MAX_LISTING:
        raise AuditError(f"--before {ref}: the commit's tree lists more than {_MAX_LISTING >> 20} MiB")
    entries: dict[str, tuple[str, str]] = {}
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, _kind, sha = meta.decode().split()
        path = raw_path.decode("utf-8", errors="surrogateescape")
        parts = path.split("/")
        if path.startswith("/") or any(p in ("", ".", "..", ".git") for p in parts):
            raise AuditError(f"--before {ref}: the commit holds an unsafe path {path!r}")
        entries[path] = (mode, sha)
    return entries


class _BlobReader:
    """One ``git cat-file --batch`` process, asked for one object at a time.

    One request, one answer: nothing waits on a full pipe, and only one blob
    is in memory at a time.
    """

    def __init__(self, process: PipedProcess, ref: str) -> None:
        self.process = process
        self.ref = ref

    def read(self, sha: str, *, limit: int | None = None, into: BinaryIO | None = None) -> bytes:
        """The object's bytes (at most ``limit``), or, with ``into``, copied there in blocks."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(f"{sha}\n".encode())
        stdin.flush()
        header = stdout.readline(200).decode(errors="replace").split()
        if len(header) != 3 or header[0] != sha or not header[2].isdigit():
            raise AuditError(f"--before {self.ref}: git cat-file cannot read object {sha}")
        size = int(header[2])
        if limit is not None and size > limit:
            raise AuditError(f"--before {self.ref}: a committed link of {size} bytes ({sha})")
        chunks, left = [], size
        while left:
            block = stdout.read(min(left, 1 << 20))
            if not block:
                raise AuditError(f"--before {self.ref}: git cat-file stopped inside object {sha}")
            left -= len(block)
            if into is None:
                chunks.append(block)
            else:
                into.write(block)
        stdout.read(1)  # the newline after the contents
        return b"".join(chunks)


def _make_links(
    tree: Path, entries: dict[str, tuple[str, str]], links: dict[str, str], skipped: list[str]
) -> None:
    """Create each link that resolves inside the tree, pointing directly at where it resolves."""
    directories = {posixpath.dirname(p) for p in entries}
    while any(posixpath.dirname(d) not in directories for d in directories if d):
        directories |= {posixpath.dirname(d) for d in directories}
    for path, text in sorted(links.items()):
        resolved = _resolve(path, links, set(entries) | directories)
        if resolved is None:
            skipped.append(f"{path} -> {text}")
            continue
        location = tree / path
        location.parent.mkdir(parents=True, exist_ok=True)
        relative = posixpath.relpath(resolved or ".", posixpath.dirname(path) or ".")
        os.symlink(relative, location)


def _resolve(path: str, links: dict[str, str], existing: set[str]) -> str | None:
    """Where the link at ``path`` leads within the tree, or None if out, dangling or a loop."""
    depth = 0
    pending = [*links[path].split("/")]
    if links[path].startswith("/"):
        return None
    current: list[str] = posixpath.dirname(path).split("/") if posixpath.dirname(path) else []
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not current:
                return None  # above the top of the tree
            current.pop()
            continue
        candidate = "/".join([*current, part])
        if candidate in links:
            depth += 1
            if depth > _MAX_LINK_DEPTH or links[candidate].startswith("/"):
                return None
            pending = links[candidate].split("/") + pending
            continue
        current.append(part)
    resolved = "/".join(current)
    return resolved if resolved in existing or resolved == "" else None


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


def checkout_findings(ref: str, checkout: Checkout) -> list[Finding]:
    """What the baseline holds differently from a checkout: links it did not create."""
    if not checkout.skipped_links:
        return []
    return [Finding(
        rule="baseline-link-skipped", level="warning",
        message=f"--before {ref}: committed links not recreated (they leave the tree, dangle "
                f"or loop): {', '.join(checkout.skipped_links)}",
    )]
