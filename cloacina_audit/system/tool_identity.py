"""What identifies the code of this tool, for the keys of caches that hold its verdicts.

The version alone is not enough: it does not change between the commits of a
development install, and a verdict that one commit's engine cached must not be
believed by the next. The size and modification time of every module of the
tool stand for its code; reinstalling or editing any of them gives a new identity.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

from cloacina_audit import __version__


@lru_cache(maxsize=1)
def tool_identity() -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    material = [__version__]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(f for f in filenames if f.endswith(".py")):
            path = os.path.join(dirpath, name)
            try:
                status = os.stat(path)
            except OSError:
                continue
            material.append(f"{os.path.relpath(path, root)}:{status.st_size}:{status.st_mtime_ns}")
    return hashlib.sha256("\n".join(material).encode()).hexdigest()
