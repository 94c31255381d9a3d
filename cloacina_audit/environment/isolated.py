"""Where the audited package lives: an isolated uv environment, or the running one.

Isolated environments are built the same way every time so that their numbers
can be compared:

- ``uv venv --relocatable``, no seed packages: the environment holds the
  target's runtime closure and nothing else, and can be renamed after it is built.
- bytecode is compiled for a footprint, because the import probe must time
  imports, not the compiler (the probe runs with ``-B`` and writes nothing);
  the ``.pyc`` bytes are reported as their own figure. uv installs without
  compiling, then the environment's interpreter compiles site-packages with
  ``-I -S`` (no ``site``, so a ``.pth`` file of the package cannot run) and
  ``compileall -s <env>``: a ``.pyc`` stores its source path, and stripping the
  environment's own directory makes every ``.pyc`` the same bytes wherever the
  cache is (the build directory ``<key>.tmp-*`` or ``~/.cache`` vs CI's
  ``/tmp/...``). Python ignores the stored path at import: it sets
  ``co_filename`` from where the file was found. ``check`` (which needs only
  the sources) gets an environment that is never compiled: nothing of the
  audited package runs.
- ``--link-mode hardlink``: files are hard links into uv's cache (fast, no extra
  disk); the measurement de-duplicates by inode and reports apparent sizes, so
  the link mode changes no number. Not ``symlink``: a cached environment must
  survive ``uv cache clean``, and ``du`` must see real files.
- ``--no-editable``: path sources declared ``editable = true`` are installed as
  built wheels, so that they can be measured.
- ``--refresh-package`` for the target and each of its path sources: uv caches
  wheels built from local directories by their pyproject.toml only, and would
  otherwise install stale code after a source edit.

Cached environments live in ``<cache>/envs/<key>``, where the key hashes
everything that decides what gets installed (see :func:`environment_key`): the
target (every file of the project and of its path sources, a wheel's bytes, or
the requirement string), the interpreter, uv's version, the install flags above,
uv's index settings from the environment, and :data:`ENV_FORMAT_VERSION`. What
the index offers is not in the key: an unpinned dependency stays as first
resolved until an input changes (``--no-cache`` measures afresh). A
build happens under a per-key ``flock``, into ``<key>.tmp-*``, and is renamed
into place only when complete: a reader sees a whole environment or none.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cloacina_audit.discover.target import Target
from cloacina_audit.environment.cache_key import (
    ENV_FORMAT_VERSION,
    LINK_MODE,
    environment_key,
    install_source,
    project_files,
)
from cloacina_audit.environment.uv import run_uv, uv_binary, uv_error_line, uv_version
from cloacina_audit.errors import AuditError
from cloacina_audit.system.interpreter import Interpreter, query_interpreter
from cloacina_audit.system.processes import ProcessTimeout, run

#: Seconds the compilation of an environment's site-packages may take.
COMPILE_TIMEOUT = 1800.0


EnvKind = Literal["isolated", "current"]
StepCallback = Callable[[str], None]

#: Written into a built environment: what it was built from, and every file it held then.
_METADATA = "cloacina-audit-env.json"

@dataclass(frozen=True)
class Environment:
    """A Python environment to measure: its interpreter and where packages are installed."""

    kind: EnvKind
    python: Path
    prefix: Path
    site_packages: tuple[Path, ...]
    #: PEP 508 marker values of this environment's interpreter.
    markers: dict[str, str] = field(hash=False)
    python_version: str = ""
    #: The cache key, for cached isolated environments.
    key: str | None = None

    def describe(self) -> str:
        return f"{self.kind} ({self.prefix}, Python {self.python_version})"


def current_environment(python: str | None = None, cache_dir: Path | None = None) -> Environment:
    """The running interpreter's environment (or ``python``'s), measured as it is."""
    interpreter = query_interpreter(python or sys.executable, cache_dir)
    return _environment_of("current", interpreter, key=None)


@contextlib.contextmanager
def isolated_environment(
    target: Target,
    *,
    cache_dir: Path | None,
    python: str | None = None,
    on_step: StepCallback | None = None,
    wheels_only: bool = False,
    compile_bytecode: bool = True,
) -> Iterator[Environment]:
    """An environment holding ``target`` and its runtime closure, built with uv.

    With ``cache_dir`` the environment is reused by later runs (``<cache_dir>/envs``);
    with None it is built in a temporary directory and removed afterwards.
    ``wheels_only`` (uv's ``--no-build``) refuses to build a source distribution,
    so that no build backend runs; a cached environment is reused either way.
    ``compile_bytecode=False`` (for ``check``) runs no interpreter of the environment at all.
    """
    step = on_step or (lambda _message: None)
    base = resolve_interpreter(python, cache_dir)
    uv = uv_binary()
    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="cloacina-audit-env-") as scratch:
            env_dir = Path(scratch) / "env"
            _build(target, base, uv, env_dir, step, compile_bytecode, wheels_only)
            yield _environment_of("isolated", query_interpreter(_env_python(env_dir)), key=None)
        return
    key = environment_key(target, base, uv_version(uv), compile_bytecode)
    env_dir = _cached_build(
        target, base, uv, Path(cache_dir) / "envs", key, step, compile_bytecode, wheels_only
    )
    yield _environment_of("isolated", query_interpreter(_env_python(env_dir), cache_dir), key=key)


def resolve_interpreter(python: str | None, cache_dir: Path | None = None) -> Interpreter:
    """The base interpreter for a new environment: ``python`` (a path or a uv request) or ours."""
    if python is None:
        return query_interpreter(sys.executable, cache_dir)
    if os.sep in python or Path(python).exists():
        return query_interpreter(python, cache_dir)
    completed = run_uv([uv_binary(), "python", "find", python], cwd=None)
    if completed.returncode != 0:
        raise AuditError(f"--python {python}: {uv_error_line(completed.stderr)}")
    return query_interpreter(completed.stdout.strip())



def _cached_build(
    target: Target, base: Interpreter, uv: str, envs: Path, key: str, step: StepCallback,
    compile_bytecode: bool,
    wheels_only: bool = False,
) -> Path:
    final = envs / key
    if _is_complete(final):
        return final
    with _locked(envs / f"{key}.lock"):
        # Another run may have finished this environment while we waited.
        if _is_complete(final):
            return final
        _remove_leftovers(envs, key, final)
        building = envs / f"{key}.tmp-{secrets.token_hex(4)}"
        try:
            _build(target, base, uv, building, step, compile_bytecode, wheels_only)
            _write_metadata(building, target, base, key)
            os.rename(building, final)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return final


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise AuditError(f"cache directory {path.parent}: cannot write: {exc.strerror}") from None
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _is_complete(env_dir: Path) -> bool:
    """Built to the end, and every file as it was then: an import of the measured
    package may write into its own environment (append to its module, drop a file),
    which would change every later run's numbers."""
    if not ((env_dir / _METADATA).is_file() and _env_python(env_dir).exists()):
        return False
    try:
        recorded = json.loads((env_dir / _METADATA).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return recorded == _file_states(env_dir)


def _file_states(env_dir: Path) -> dict[str, list[int | str]]:
    """Relative path -> ``[size, mtime_ns]`` (a symlink: its target) of every entry.

    Sizes catch any change to a measured figure; mtimes catch same-size rewrites
    (ctime would catch even a rewrite that resets mtime, but a hard link into uv's
    cache changes the ctime whenever uv links the same file into another environment).
    """
    states: dict[str, list[int | str]] = {}
    pending = [(os.fspath(env_dir), "")]
    while pending:  # depth first, each directory's entries in name order
        directory, prefix = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue
        below = []
        for entry in entries:
            relative = prefix + entry.name
            if relative == _METADATA:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    states[relative] = ["link", os.readlink(entry.path)]
                elif stat.S_ISREG(info.st_mode):
                    states[relative] = [info.st_size, info.st_mtime_ns]
                elif stat.S_ISDIR(info.st_mode):
                    below.append((entry.path, relative + os.sep))
                else:
                    states[relative] = ["other", info.st_mode]
            except OSError:
                states[relative] = ["gone", 0]
        pending.extend(reversed(below))
    return states


def _remove_leftovers(envs: Path, key: str, final: Path) -> None:
    """Half-built directories of crashed runs, and a final one that broke (lock held)."""
    for leftover in envs.glob(f"{key}.tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if final.exists():
        # Rename first: a run still reading the broken environment keeps its files.
        trash = envs / f"{key}.tmp-{secrets.token_hex(4)}"
        os.rename(final, trash)
        shutil.rmtree(trash, ignore_errors=True)


def _write_metadata(env_dir: Path, target: Target, base: Interpreter, key: str) -> None:
    document = {
        "format": ENV_FORMAT_VERSION,
        "key": key,
        "target": {"kind": target.kind, "spec": target.spec, "name": target.name},
        "python": base.base_executable,
        "python_version": base.short_version,
        "created": time.time(),
        "files": _file_states(env_dir),
    }
    (env_dir / _METADATA).write_text(json.dumps(document, indent=1) + "\n")


def _build(
    target: Target, base: Interpreter, uv: str, env_dir: Path, step: StepCallback,
    compile_bytecode: bool,
    wheels_only: bool = False,
) -> None:
    step(f"Creating an environment for Python {base.short_version}")
    created = run_uv(
        [uv, "venv", "--relocatable", "--no-project", "--python", base.base_executable, str(env_dir)],
        cwd=None,
    )
    if created.returncode != 0:
        raise AuditError(f"cannot create an environment: {uv_error_line(created.stderr)}")
    step(f"Installing {target.name} and its dependencies")
    command = [
        uv, "pip", "install",
        "--python", str(_env_python(env_dir)),
        "--link-mode", LINK_MODE,
        # Over a `compile-bytecode = true` in a uv configuration (uv's flag is not in its --help).
        "--no-compile-bytecode",
        "--no-editable",
        *(["--no-build"] if wheels_only else []),
    ]
    with _sources(target) as root:
        cwd = None
        if root is not None:
            # uv refuses --refresh with UV_OFFLINE; offline, its build cache may then
            # serve a wheel built before the last source-only edit.
            if os.environ.get("UV_OFFLINE", "").lower() not in ("1", "true", "yes"):
                for name in [target.name, *sorted(target.path_sources)]:
                    command += ["--refresh-package", name]
            # Run where the user would: uv then honours the project's own uv settings.
            cwd = root
            command.append(str(root))
        else:
            command.append(target.spec)
        installed = run_uv(command, cwd=cwd)
    if installed.returncode != 0:
        stderr = installed.stderr.lower()
        refused_build = wheels_only and "disabled" in stderr and "build" in stderr
        why = " (check installs wheels only: it never builds a source distribution)"
        raise AuditError(f"cannot install {target.spec}{why if refused_build else ''}: "
                         f"{uv_error_line(installed.stderr)}")
    if compile_bytecode:
        step("Compiling bytecode")
        _compile(env_dir)


@contextlib.contextmanager
def _sources(target: Target) -> Iterator[Path | None]:
    """A project is built from a copy: build backends write into the tree they build
    (setuptools leaves ``build/`` and ``*.egg-info/``), and the audited tree stays as it was.

    The project and its path sources are copied with their relative layout, so that
    ``[tool.uv.sources]`` paths such as ``../lib`` still resolve; only the files that
    :func:`project_files` selects (the ones the key hashes) are copied. A build that
    needs ``.git`` (setuptools-scm) must be given its version another way.
    """
    if install_source(target).project is None or target.tree is None:
        yield None
        return
    roots = [target.tree.root.resolve(), *(t.root.resolve() for t in target.path_sources.values())]
    common = Path(os.path.commonpath([str(r) for r in roots]))
    with tempfile.TemporaryDirectory(prefix="cloacina-audit-build-") as scratch:
        for root in roots:
            destination = Path(scratch, "src", root.relative_to(common))
            for relative, path in project_files(root):
                copy = destination / relative
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)
                shutil.copymode(path, copy)
        yield Path(scratch, "src", roots[0].relative_to(common))


def _compile(env_dir: Path) -> None:
    """Compile site-packages with source paths relative to the environment (see the module doc).

    Files that do not compile (Python 2 leftovers in some sdists) are skipped, as uv does.
    """
    python = _env_python(env_dir)
    sites = sorted({str(p) for p in env_dir.glob("lib*/python*/site-packages") if p.is_dir()})
    if not sites:
        return
    command = [str(python), "-I", "-S", "-m", "compileall", "-q", "-q", "-j", "0",
               "-s", str(env_dir), *sites]
    try:
        run(command, timeout=COMPILE_TIMEOUT, cwd=env_dir)
    except ProcessTimeout:
        raise AuditError(f"compiling bytecode gave no result within {COMPILE_TIMEOUT:g} s") from None
    except OSError as exc:
        raise AuditError(f"cannot run {python}: {exc.strerror}") from None



def _env_python(env_dir: Path) -> Path:
    if os.name == "nt":  # pragma: no cover - POSIX is what CI runs
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def _environment_of(kind: EnvKind, interpreter: Interpreter, key: str | None) -> Environment:
    return Environment(
        kind=kind,
        python=Path(interpreter.executable),
        prefix=Path(interpreter.prefix),
        site_packages=tuple(Path(p) for p in interpreter.site_packages),
        markers=dict(interpreter.markers),
        python_version=interpreter.short_version,
        key=key,
    )


