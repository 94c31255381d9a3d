"""Where cloacina-audit keeps what it can reuse between runs.

Never inside the audited tree: a check must leave the user's files as it found them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_root(override: Path | None = None) -> Path:
    if override is not None:
        return override
    if os.environ.get("CLOACINA_AUDIT_CACHE_DIR"):
        return Path(os.environ["CLOACINA_AUDIT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cloacina-audit"


#: A stat this recent (against a clock read before it was taken) is not trusted to name
#: a file's content later: a write in the same timestamp tick (1-2 s on some file
#: systems) leaves it unchanged. git's index has the same "racy" rule.
RACY_NS = 2_000_000_000


def settled(mtime_ns: int, ctime_ns: int, clock_ns: int) -> bool:
    """Whether a stat with these times, taken after ``clock_ns``, can be trusted later."""
    return max(mtime_ns, ctime_ns) < clock_ns - RACY_NS


def read_json(path: Path) -> Any | None:
    """The cached document, or None when it is missing or unreadable (a miss, not an error)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json_atomically(path: Path, document: Any) -> None:
    """Write so that a concurrent reader sees the old file or the new one, never a mix."""
    # dumps + one write: json.dump to a file uses the slow pure-Python encoder.
    write_text_atomically(path, json.dumps(document, separators=(",", ":")))


def write_text_atomically(path: Path, text: str) -> None:
    """``text`` as UTF-8, written as :func:`write_bytes_atomically` writes."""
    write_bytes_atomically(path, text.encode("utf-8"))


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Each writer fills its own temporary file and renames it into place; rename
    within one directory is atomic on POSIX, so two runs writing at once just
    race to leave one complete file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
