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
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cloacina_audit.discover.target import InstallSource, Target
from cloacina_audit.errors import AuditError
from cloacina_audit.discover.requirements import local_file
from cloacina_audit.system.interpreter import Interpreter, query_interpreter
from cloacina_audit.system.processes import Completed, ProcessTimeout, run

#: Bump when the way environments are built changes, so old ones are not reused.
ENV_FORMAT_VERSION = 2
LINK_MODE = "hardlink"
#: Seconds the compilation of an environment's site-packages may take.
COMPILE_TIMEOUT = 1800.0

#: Seconds uv may take for one step (create, install): a resolver or build that hangs is stopped.
UV_TIMEOUT = 1800.0

EnvKind = Literal["isolated", "current"]
StepCallback = Callable[[str], None]

#: uv settings read from the environment that change what gets resolved.
_RESOLUTION_VARIABLES = (
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_INDEX_STRATEGY",
    "UV_EXCLUDE_NEWER",
    "UV_PRERELEASE",
    "UV_RESOLUTION",
    "UV_CONSTRAINT",
    "UV_OVERRIDE",
    "UV_NO_BINARY",
    "UV_NO_BUILD",
    "UV_NO_SOURCES",
    "UV_CONFIG_FILE",
    "UV_TORCH_BACKEND",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
)

#: The same, for other modules whose caches depend on what uv resolves.
RESOLUTION_VARIABLES = _RESOLUTION_VARIABLES

#: Directory names never hashed into a key nor copied for a build (with every name
#: starting with a dot: VCS data, tool caches, ``.venv``); a directory holding a
#: ``pyvenv.cfg`` (a virtual environment, whatever its name) is left out too.
_UNHASHED_DIRS = {"__pycache__", "node_modules"}
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
    #: ``cpython-311``: names the ``__pycache__`` files this interpreter writes.
    cache_tag: str = ""
    python_version: str = ""
    #: The cache key, for cached isolated environments.
    key: str | None = None

    def describe(self) -> str:
        return f"{self.kind} ({self.prefix}, Python {self.python_version})"


def current_environment(python: str | None = None) -> Environment:
    """The running interpreter's environment (or ``python``'s), measured as it is."""
    interpreter = query_interpreter(python or sys.executable)
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
    base = resolve_interpreter(python)
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
    yield _environment_of("isolated", query_interpreter(_env_python(env_dir)), key=key)


def resolve_interpreter(python: str | None) -> Interpreter:
    """The base interpreter for a new environment: ``python`` (a path or a uv request) or ours."""
    if python is None:
        return query_interpreter(sys.executable)
    if os.sep in python or Path(python).exists():
        return query_interpreter(python)
    completed = _run([uv_binary(), "python", "find", python], cwd=None)
    if completed.returncode != 0:
        raise AuditError(f"--python {python}: {uv_error_line(completed.stderr)}")
    return query_interpreter(completed.stdout.strip())


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
    source = _install_source(target)
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
    for variable in _RESOLUTION_VARIABLES:
        if os.environ.get(variable):
            feed(f"env:{variable}", os.environ[variable])
    return digest.hexdigest()[:32]


def _install_source(target: Target) -> InstallSource:
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
    for directory, dirnames, filenames in os.walk(env_dir):
        dirnames.sort()
        for name in [*dirnames, *filenames]:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, env_dir)
            if relative == _METADATA:
                continue
            try:
                info = os.lstat(path)
                if stat.S_ISLNK(info.st_mode):
                    states[relative] = ["link", os.readlink(path)]
                elif stat.S_ISREG(info.st_mode):
                    states[relative] = [info.st_size, info.st_mtime_ns]
                elif not stat.S_ISDIR(info.st_mode):
                    states[relative] = ["other", info.st_mode]
            except OSError:
                states[relative] = ["gone", 0]
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
    created = _run(
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
        installed = _run(command, cwd=cwd)
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
    if _install_source(target).project is None or target.tree is None:
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


def _run(command: list[str], cwd: Path | None, timeout: float = UV_TIMEOUT) -> Completed:
    environ = {**os.environ, "NO_COLOR": "1", "UV_NO_PROGRESS": "1"}
    environ.pop("VIRTUAL_ENV", None)
    environ.pop("UV_COMPILE_BYTECODE", None)  # we compile ourselves, without site (see above)
    try:
        # uv leaves lock files in the temporary directory (uv-setuptools-*.lock): give it its own.
        with tempfile.TemporaryDirectory(prefix="cloacina-audit-uv-") as scratch:
            return run(command, cwd=cwd, env={**environ, "TMPDIR": scratch}, timeout=timeout)
    except ProcessTimeout:
        what = " ".join(Path(command[0]).name.split() + command[1:3])
        raise AuditError(f"{what} gave no result within {timeout:g} s") from None
    except OSError as exc:
        raise AuditError(f"cannot run uv ({command[0]}): {exc.strerror}") from None


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
        cache_tag=interpreter.cache_tag,
        python_version=interpreter.short_version,
        key=key,
    )


def uv_binary() -> str:
    """The uv executable shipped with the uv package this tool depends on (else PATH's)."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise AuditError("uv not found: install the uv package or put uv on PATH") from None
        return found


@lru_cache(maxsize=4)
def uv_version(uv: str) -> str:
    completed = _run([uv, "--version"], cwd=None)
    if completed.returncode != 0:
        raise AuditError(f"{uv}: cannot tell uv's version: {_last_line(completed.stderr)}")
    return completed.stdout.strip()


# --- uv's errors, in one line --------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CAUSE = re.compile(r"^\s*(?:cause:|Caused by:|╰─▶|├─▶)\s*(.*)$")
_ERROR = re.compile(r"^\s*(?:error:|×)\s*(.*)$")
_NETWORK = re.compile(
    r"tcp connect error|connection refused|dns error|failed to lookup address|"
    r"name or service not known|temporary failure in name resolution|network is unreachable|"
    r"no route to host|client error \(connect\)|could not connect|connection reset|"
    r"operation timed out|failed to download",
    re.IGNORECASE,
)
_URL = re.compile(r"(?:Failed to fetch|url)[:(]?\s*\(?`?(https?://[^\s`)]+)")


def uv_error_line(stderr: str) -> str:
    """uv's key error line: its error and innermost cause, or "no network" when it could not connect.

    A build backend's own output (uv's ``[stderr]`` block) contributes its last
    line, which is where a Python traceback names the exception.
    """
    error = ""
    causes: list[str] = []
    backend_last = ""
    in_block = continuing = False
    for raw in stderr.splitlines():
        line = _ANSI.sub("", raw).rstrip()
        if in_block:
            if line.strip():
                backend_last = line.strip()
                continue
            in_block = False
        if line.strip() in ("[stderr]", "[stdout]"):
            in_block, continuing = line.strip() == "[stderr]", False
        elif not error and (match := _ERROR.match(line)):
            error, continuing = match.group(1).strip(), True
        elif error and (match := _CAUSE.match(line)):
            causes.append(match.group(1).strip())
            continuing = True
        elif continuing and line.startswith(" ") and line.strip():
            if causes:
                causes[-1] += " " + line.strip()
            else:
                error += " " + line.strip()
        else:
            continuing = False
    if not error:
        return _last_line(stderr) or "uv failed without a message"
    text = "\n".join([error, *causes])
    if _NETWORK.search(text):
        url = _URL.search(text)
        where = f" {url.group(1)}" if url else " the package index"
        return f"no network: uv could not connect to{where} ({causes[-1] if causes else error})"
    parts = [error.rstrip(":")]
    if causes:
        parts.append(causes[-1])
    if backend_last:
        parts.append(backend_last)
    return ": ".join(parts)


def _last_line(text: str) -> str:
    for line in reversed(text.strip().splitlines()):
        if line.strip():
            return line.strip()
    return ""

