"""The cache key of an isolated environment: everything that decides what it holds.

The target (every file of the project and of its path sources, a wheel's bytes,
or the requirement string), the interpreter, uv's version, the install flags,
uv's index settings from the environment and :data:`ENV_FORMAT_VERSION`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from cloacina_audit.discover.requirements import local_file
from cloacina_audit.discover.target import InstallSource, Target
from cloacina_audit.environment.uv import RESOLUTION_VARIABLES
from cloacina_audit.errors import AuditError
from cloacina_audit.system.interpreter import Interpreter

#: Bump when the way environments are built changes, so old ones are not reused.
ENV_FORMAT_VERSION = 2
LINK_MODE = "hardlink"

#: Directory names never hashed into a key nor copied for a build (with every name
#: starting with a dot: VCS data, tool caches, ``.venv``); a directory holding a
#: ``pyvenv.cfg`` (a virtual environment, whatever its name) is left out too.
_UNHASHED_DIRS = {"__pycache__", "node_modules"}


def environment_key(
    target: Target, interpreter: Interpreter, uv: str, compile_bytecode: bool = True
) -> str:
    """A hash of everything that decides what an isolated environment holds."""
    digest = hashlib.sha256()

    def feed(label: str, value: str | bytes) -> None:
        data = value.encode() if isinstance(value, str) else value
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    feed("format", str(ENV_FORMAT_VERSION))
    feed("install", f"link={LINK_MODE} compile={compile_bytecode} editable=no")
    feed("uv", uv)
    feed("python", "\n".join([interpreter.base_executable, interpreter.version, interpreter.platform]))
    source = install_source(target)
    feed("kind", source.label)
    if source.project is not None and target.tree is not None:
        _feed_tree(feed, "project", target.tree.root)
        for name, tree in sorted(target.path_sources.items()):
            _feed_tree(feed, f"source:{name}", tree.root)
    elif source.wheel is not None:
        feed("wheel-name", source.wheel.name)
        feed("wheel", _file_digest(source.wheel))
    else:
        feed("requirement", target.spec)
        local = local_file(target.spec)  # name @ file:///…: the file's bytes, not just its URL
        if local is not None:
            feed("requirement-file", _file_digest(local))
    for variable in RESOLUTION_VARIABLES:
        if os.environ.get(variable):
            feed(f"env:{variable}", os.environ[variable])
    return digest.hexdigest()[:32]


def install_source(target: Target) -> InstallSource:
    if target.install is None:
        raise AuditError(f"{target.spec}: nothing to install into an environment")
    return target.install


def _feed_tree(feed: Callable[[str, str | bytes], None], label: str, root: Path) -> None:
    """Every file that can end up in a built wheel, by relative path and content."""
    for relative, path in project_files(root):
        try:
            feed(f"{label}:{relative}", _file_digest(path))
        except OSError:
            continue  # vanished or unreadable: it cannot be packaged either


def project_files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(relative POSIX path, path)`` of the regular files a build may use, sorted.

    Only regular files (a symlink counts as what it points to): a FIFO or a
    device would block or never end when read. Bytecode, VCS data, caches and
    virtual environments are left out.
    """
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and d not in _UNHASHED_DIRS
            and not os.path.isfile(os.path.join(directory, d, "pyvenv.cfg"))
        )
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(directory, name)
            try:
                regular = stat.S_ISREG(path.stat().st_mode)
            except OSError:
                continue  # a dangling symlink cannot be packaged either
            if regular:
                yield path.relative_to(root).as_posix(), path


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

