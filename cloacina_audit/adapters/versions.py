"""The releases of grimp and import-linter the adapters need, checked before their first use.

The minimums are the oldest releases the test suite passes on (see docs/architecture.md,
"Third-party internals"); pyproject.toml states the same, and tests/test_adapters.py checks
that both agree. Only the standard library is used: ``packaging`` costs start-up time, and
so does ``importlib.metadata`` (40 ms of CPU to import, a tenth of a warm check): the version
is read from the first ``*.dist-info`` on ``sys.path``, which is where importlib.metadata
finds it, and importlib.metadata is asked only when there is none.
"""

from __future__ import annotations

import os
import re
import sys

from cloacina_audit.errors import AuditError
from cloacina_audit.model.core_metadata import metadata_headers
from cloacina_audit.model.names import canonical_name

#: Distribution name -> the oldest release whose internals the adapters use.
MINIMUM = {
    "grimp": "3.18",
    "import-linter": "2.14",
}


def installed_version(distribution: str) -> str | None:
    """The version of ``distribution`` installed where cloacina-audit runs, or None."""
    found = _dist_info_version(distribution)
    if found is not None:
        return found
    from importlib import metadata  # eggs, zip files: its full search

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _dist_info_version(distribution: str) -> str | None:
    """``Version`` of the first ``<name>-<version>.dist-info`` on ``sys.path`` (names
    compared as importlib.metadata compares them), or None when an entry holds an
    ``.egg-info`` of that name first, or when none is found."""
    wanted = canonical_name(distribution)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if suffix not in ("dist-info", "egg-info") or not dot:
                continue
            if canonical_name(stem.partition("-")[0]) != wanted:
                continue
            if suffix == "egg-info":
                return None
            try:
                with open(os.path.join(entry or ".", name, "METADATA"), encoding="utf-8") as text:
                    versions = metadata_headers(text.read()).get("version", [])
            except (OSError, UnicodeDecodeError):
                return None
            return versions[0] if versions else None
    return None


def release(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version: ``3.8.2`` -> (3, 8, 2), ``3.21rc1`` -> (3, 21)."""
    parts: list[int] = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
        if digits.group() != piece:
            break
    return tuple(parts)


def require(distribution: str) -> str:
    """The installed version of ``distribution``; AuditError when it is older than needed."""
    installed = installed_version(distribution)
    if installed is None or release(installed) < release(MINIMUM[distribution]):
        raise incompatible(distribution, installed)
    return installed


def incompatible(distribution: str, installed: str | None, missing: str = "") -> AuditError:
    """The one line for a release the adapters cannot use (``missing``: what it lacks)."""
    needed = f"{distribution}>={MINIMUM[distribution]}"
    have = f"{distribution} {installed} is installed" if installed else f"{distribution} is not installed"
    lacks = f" (it has no {missing})" if missing else ""
    return AuditError(
        f"{have}{lacks}, cloacina-audit needs {needed}: pip install --upgrade '{needed}'"
    )


def missing_api(distribution: str, exc: ImportError) -> AuditError:
    """A release new enough by number that lacks an internal the adapters import."""
    name = exc.name or ""
    found = re.search(r"cannot import name '([^']+)' from '([^']+)'", str(exc))
    what = f"{found.group(2)}.{found.group(1)}" if found else (name or str(exc))
    return incompatible(distribution, installed_version(distribution), what)
