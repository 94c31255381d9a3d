"""When is a PATH argument a requirement? Only when it says so.

An argument that names nothing on disk is a requirement only if it carries
what only a requirement has (PEP 508): a version specifier (``name==1.0``,
``name>=1``, ``name~=1.2``), extras (``name[extra]``) or a direct URL
(``name @ https://…/x.whl``, ``name @ file:///…/x.whl``). A bare word is a
path that does not exist: ``check slimm`` is a typo, never a download of
whatever distribution happens to be called ``slimm``.
"""

from __future__ import annotations

import re
from pathlib import Path

from cloacina_audit.errors import AuditError

#: What a project name may be (PEP 508), for the hint on a bare word.
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
#: Characters only a requirement holds: an operator, extras, a URL, a marker.
_REQUIREMENT_SYNTAX = re.compile(r"[<>=!~\[@;]")


def requirement_name(spec: str) -> str | None:
    """The distribution ``spec`` requires, or None when ``spec`` is not written as a requirement.

    Raises AuditError for text written as a requirement that does not parse,
    or that names a distribution with nothing to pin it (``name; marker``).
    """
    if not _REQUIREMENT_SYNTAX.search(spec):
        return None
    # Imported here: only requirements need it, and check must start fast.
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        if "/" in spec and "@" not in spec:
            return None  # a path with an odd character in it, not a requirement
        reason = str(exc).splitlines()[0] if str(exc) else "does not parse"
        raise AuditError(f"{spec}: no such path, and not a valid requirement: {reason}") from None
    if not (requirement.specifier or requirement.extras or requirement.url):
        raise AuditError(
            f"{spec}: no such path, and a requirement needs a version, extras or a URL "
            f"(for example {requirement.name}>=0)"
        )
    return requirement.name


def not_found(spec: str) -> AuditError:
    """The error for an argument that is neither a path nor a requirement."""
    if _NAME.match(spec) and not spec.endswith((".whl", ".cloacina", ".toml")):
        return AuditError(
            f"{spec}: no such file or directory (a published distribution is given "
            f"with a version, extras or a URL: {spec}==1.0, {spec}>=0)"
        )
    return AuditError(f"{spec}: no such file or directory")


def local_file(spec: str) -> Path | None:
    """The file a ``name @ file:///…`` requirement installs, when it is one that exists.

    Its bytes belong in a cache key: the URL stays the same when the file is rebuilt.
    """
    if "@" not in spec:
        return None
    from urllib.parse import unquote, urlparse

    from packaging.requirements import InvalidRequirement, Requirement

    try:
        url = Requirement(spec).url
    except InvalidRequirement:
        return None
    if not url or not url.startswith("file:"):
        return None
    path = Path(unquote(urlparse(url).path))
    return path if path.is_file() else None
