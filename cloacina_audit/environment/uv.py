"""uv, the installer of every isolated environment: where it is, its version, its errors in one line.

Every uv call goes through :func:`run_uv`: the process runner with a timeout,
no colour or progress, and a temporary directory of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from cloacina_audit.errors import AuditError
from cloacina_audit.system.processes import Completed, ProcessTimeout, run

#: Seconds uv may take for one step (create, install): a resolver or build that hangs is stopped.
UV_TIMEOUT = 1800.0

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


def run_uv(command: list[str], cwd: Path | None, timeout: float = UV_TIMEOUT) -> Completed:
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
    completed = run_uv([uv, "--version"], cwd=None)
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

