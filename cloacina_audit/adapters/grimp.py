"""grimp's internals: the settings one graph build runs with, and grimp's exceptions.

``grimp.build_graph`` finds packages with ``importlib`` on ``sys.path`` and their modules
with grimp's own finder, which skips namespace portions (python-grimp/grimp#298), and
caches scans in files keyed by the whole set of packages. The import graph
(analysis/imports/scan.py) replaces all three through grimp's settings, a process global:
:func:`build_settings` sets them for one build and puts back what was there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from cloacina_audit.adapters.versions import missing_api, require

VERSION = require("grimp")

try:
    from grimp.application.config import settings as _settings
    from grimp.application.ports.caching import CacheMiss
    from grimp.application.ports.modulefinder import (
        AbstractModuleFinder,
        FoundPackage,
        ModuleFile,
    )
    from grimp.application.scanning import scan_imports
    from grimp.domain.valueobjects import DirectImport, Module
    from grimp.exceptions import GrimpException, SourceSyntaxError
except ImportError as exc:
    raise missing_api("grimp", exc) from None

__all__ = [
    "VERSION",
    "AbstractModuleFinder",
    "CacheMiss",
    "DirectImport",
    "FoundPackage",
    "GrimpException",
    "Module",
    "ModuleFile",
    "SourceSyntaxError",
    "build_settings",
    "scan_imports",
]

_BUILD_SETTINGS = ("PACKAGE_FINDER", "MODULE_FINDER", "CACHE_CLASS")


@contextlib.contextmanager
def build_settings(
    package_finder: object, module_finder: AbstractModuleFinder, cache: object
) -> Iterator[None]:
    """Until the block ends, grimp finds packages with ``package_finder``
    (``determine_package_directories``), their modules with ``module_finder``, and reads
    and writes scans through ``cache.setup(...)`` (the signature of grimp's
    ``Cache.setup``); then what was set before."""
    previous = {key: getattr(_settings, key) for key in _BUILD_SETTINGS}
    _settings.configure(PACKAGE_FINDER=package_finder, MODULE_FINDER=module_finder,
                        CACHE_CLASS=cache)
    try:
        yield
    finally:
        _settings.configure(**previous)

