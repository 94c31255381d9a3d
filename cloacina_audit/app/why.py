"""``why DIST [PATH]``: every line of the package's own code that brings DIST (or a crate) in."""

from __future__ import annotations

from typing import Any

from cloacina_audit.app.kinds import kind_of
from cloacina_audit.app.options import AuditOptions
from cloacina_audit.discover.target import open_target


def why(dist: str, spec: str, options: AuditOptions) -> dict[str, Any]:
    """The routes from the package's lines to ``dist`` (a distribution, or a crate of a Rust
    package), with its bytes: each kind's ``why``."""
    with open_target(spec, options.check.config_file, cache_dir=options.check.cache_dir) as target:
        return kind_of(target).why(target, options, dist)
