"""grimp's internals: the finder settings one graph build runs with, and grimp's exceptions.

``grimp.build_graph`` finds packages with ``importlib`` on ``sys.path`` and their modules
with grimp's own finder, which skips namespace portions (python-grimp/grimp#298). The
import graph (analysis/imports/graph.py) replaces both through grimp's settings, a process
global: :func:`finders` sets them for one build and puts back what was there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from cloacina_audit.adapters.versions import missing_api, require

VERSION = require("grimp")

try:
    from grimp.application.config import settings as _settings
    from grimp.application.ports.modulefinder import (
        AbstractModuleFinder,
        FoundPackage,
        ModuleFile,
    )
    from grimp.domain.valueobjects import Module
    from grimp.exceptions import GrimpException, SourceSyntaxError
except ImportError as exc:
    raise missing_api("grimp", exc) from None

__all__ = [
    "VERSION",
    "AbstractModuleFinder",
    "FoundPackage",
    "GrimpException",
    "Module",
    "ModuleFile",
    "SourceSyntaxError",
    "finders",
]

_FINDER_SETTINGS = ("PACKAGE_FINDER", "MODULE_FINDER")


@contextlib.contextmanager
def finders(package_finder: object, module_finder: AbstractModuleFinder) -> Iterator[None]:
    """grimp finds packages with ``package_finder`` (``determine_package_directories``) and
    their modules with ``module_finder`` until the block ends; then what was set before."""
    previous = {key: getattr(_settings, key) for key in _FINDER_SETTINGS}
    _settings.configure(PACKAGE_FINDER=package_finder, MODULE_FINDER=module_finder)
    try:
        yield
    finally:
        _settings.configure(**previous)

