"""What a Python interpreter says about itself, asked without running any installed code.

The query runs ``python -I -S``: ``-I`` ignores the user's environment and
site directory, and ``-S`` skips ``site``, because ``site`` executes the
``import`` lines of every ``.pth`` file in site-packages, and an audited wheel
may ship one. Without ``site`` nobody reads ``pyvenv.cfg`` either, so the
script finds a virtual environment's prefix the way ``site.venv`` does, and
:func:`search_directories` reads the path lines of ``.pth`` files itself,
never executing their ``import`` lines.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloacina_audit.errors import AuditError
from cloacina_audit.system.cachedir import settled
from cloacina_audit.system.processes import ProcessTimeout, run
from cloacina_audit.system.signed_cache import cache_key, read_signed, write_signed

QUERY_TIMEOUT = 60.0

# Only the standard library is imported; ``site`` is imported for its path
# arithmetic (getsitepackages), not run.
_QUERY_SCRIPT = r"""
import json, os, platform, site, sys, sysconfig
impl = sys.implementation
version = "{0.major}.{0.minor}.{0.micro}".format(impl.version)
if impl.version.releaselevel != "final":
    version += impl.version.releaselevel[0] + str(impl.version.serial)
# As site.venv (Lib/site.py) does: pyvenv.cfg next to the executable or one level up.
exe_dir = os.path.dirname(os.path.abspath(sys.executable))
venv_prefix = os.path.dirname(exe_dir)
config = None
for candidate in (os.path.join(exe_dir, "pyvenv.cfg"), os.path.join(venv_prefix, "pyvenv.cfg")):
    if os.path.isfile(candidate):
        config = candidate
        break
system_site = True
if config is None:
    prefix = sys.prefix
    prefixes = [sys.prefix, sys.exec_prefix]
else:
    prefix = venv_prefix
    with open(config, encoding="utf-8") as handle:
        for line in handle:
            key, sep, value = line.partition("=")
            if sep and key.strip().lower() == "include-system-site-packages":
                system_site = value.strip().lower() == "true"
    prefixes = [prefix] + ([sys.base_prefix, sys.base_exec_prefix] if system_site else [])
where = {"base": prefix, "platbase": prefix, "installed_base": prefix, "installed_platbase": prefix}
paths = sysconfig.get_paths(vars=where)
print(json.dumps({
    "executable": sys.executable,
    "base_executable": os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
    "prefix": prefix,
    "version": sys.version,
    "platform": sysconfig.get_platform(),
    "site_packages": [paths["purelib"], paths["platlib"]],
    "site_directories": site.getsitepackages(list(dict.fromkeys(prefixes))),
    "markers": {
        "implementation_name": impl.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
}))
"""


@dataclass(frozen=True)
class Interpreter:
    """What an interpreter says about itself (see ``_QUERY_SCRIPT``)."""

    executable: str
    base_executable: str
    prefix: str
    version: str
    platform: str
    #: Where this environment installs distributions (purelib, platlib).
    site_packages: tuple[str, ...]
    markers: dict[str, str] = field(hash=False)
    #: Every site directory ``site`` would add (a venv's own, then the system's if it is included).
    site_directories: tuple[str, ...] = ()

    @property
    def short_version(self) -> str:
        return self.version.split()[0]


def query_interpreter(python: str | os.PathLike[str], cache_dir: Path | None = None) -> Interpreter:
    """Ask ``python`` for its paths and marker values, with ``site`` off (no ``.pth`` runs).

    With ``cache_dir`` the answer is kept under what it depends on (as uv keeps its
    interpreter queries): the interpreter's path, the stat of its executable and of the
    ``pyvenv.cfg`` files it would read, and the kernel (``platform_release``). An
    interpreter that is replaced, upgraded or re-linked is asked again.
    """
    entry = _answer_entry(python, cache_dir) if cache_dir is not None else None
    key = cache_key(cache_dir) if cache_dir is not None else None
    if entry is not None:
        cached = read_signed(entry, key)
        if isinstance(cached, dict):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                return _interpreter_of(cached)
    try:
        completed = run([python, "-I", "-S", "-c", _QUERY_SCRIPT], timeout=QUERY_TIMEOUT)
    except ProcessTimeout:
        raise AuditError(f"{python}: the interpreter gave no answer within {QUERY_TIMEOUT:g} s") from None
    except OSError as exc:
        raise AuditError(f"{python}: cannot run this Python interpreter: {exc.strerror or exc}") from None
    if completed.returncode != 0:
        raise AuditError(f"{python}: not a working Python interpreter: {_last_line(completed.stderr)}")
    try:
        data = json.loads(completed.stdout.strip().splitlines()[-1])
        interpreter = _interpreter_of(data)
    except (ValueError, IndexError, KeyError, TypeError):
        raise AuditError(f"{python}: not a working Python interpreter") from None
    if entry is not None:
        with contextlib.suppress(OSError):
            write_signed(entry, data, key)
    return interpreter


def _interpreter_of(data: dict[str, Any]) -> Interpreter:
    markers = data["markers"]
    if not (isinstance(markers, dict) and all(isinstance(v, str) for v in markers.values())):
        raise TypeError("markers")
    return Interpreter(
        executable=str(data["executable"]),
        base_executable=str(data["base_executable"]),
        prefix=str(data["prefix"]),
        version=str(data["version"]),
        platform=str(data["platform"]),
        site_packages=tuple(dict.fromkeys(str(p) for p in data["site_packages"])),
        markers=markers,
        site_directories=tuple(dict.fromkeys(str(p) for p in data["site_directories"])),
    )


def _answer_entry(python: str | os.PathLike[str], cache_dir: Path) -> Path | None:
    """Where the answer of ``python`` is kept; None when its files are too new to name it."""
    given = os.fspath(python)
    found = shutil.which(given) if os.sep not in given else given
    if found is None:
        return None
    executable = os.path.abspath(found)
    if _is_script(executable):
        return None  # a shim (pyenv's, a wrapper): which Python it runs is decided elsewhere
    # What the query reads: the executable (through its links), and pyvenv.cfg beside it
    # or one level up (the script's own search, which is site.venv's).
    exe_dir = os.path.dirname(executable)
    witnesses = [executable, os.path.join(exe_dir, "pyvenv.cfg"),
                 os.path.join(os.path.dirname(exe_dir), "pyvenv.cfg")]
    material = [f"format={_ANSWER_FORMAT}", _QUERY_SCRIPT, executable, *os.uname()]
    now = time.time_ns()
    for path in witnesses:
        try:
            link, status = os.lstat(path), os.stat(path)
        except OSError:
            material.append(f"{path}: absent")
            continue
        for st in (link, status):
            if not settled(st.st_mtime_ns, st.st_ctime_ns, now):
                return None
            material.append(f"{path}: {st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} "
                            f"{st.st_ctime_ns} {st.st_mode}")
    digest = hashlib.sha256("\n".join(material).encode()).hexdigest()[:32]
    return cache_dir / "interpreters" / f"{digest}.json"


#: 1: the query script's answer, as it printed it.
_ANSWER_FORMAT = 1


def _is_script(path: str) -> bool:
    """Whether ``path`` is a ``#!`` script rather than an interpreter binary."""
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return True


def search_directories(interpreter: Interpreter) -> list[Path]:
    """The non-stdlib ``sys.path`` entries ``site`` would give: site directories and the
    directories their ``.pth`` files name (``import`` lines are skipped, never run)."""
    found: list[Path] = []
    for site_dir in interpreter.site_directories:
        directory = Path(site_dir)
        if not directory.is_dir():
            continue
        found.append(directory)
        try:
            pth_files = sorted(p for p in directory.iterdir() if p.name.endswith(".pth"))
        except OSError:
            continue
        for pth in pth_files:
            found += _pth_directories(pth, directory)
    return list(dict.fromkeys(found))


def _pth_directories(pth: Path, site_dir: Path) -> list[Path]:
    """As ``site.addpackage``: each line not a comment nor an ``import`` is a directory."""
    try:
        if not pth.is_file():
            return []
        with open(pth, "rb") as handle:
            text = handle.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return []
    directories = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", "import ", "import\t")):
            continue
        directory = site_dir / line.rstrip()
        if directory.is_dir():
            directories.append(directory)
    return directories


def _last_line(text: str) -> str:
    for line in reversed(text.strip().splitlines()):
        if line.strip():
            return line.strip()
    return ""
