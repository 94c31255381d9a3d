"""Contract types: the class a contract's ``type`` names, looked up per configuration.

lint-imports reads one configuration per process and registers its ``contract_types`` in
import-linter's registry, a process global. cloacina-audit may read several in one run (a
report on many packages, a ``--before`` baseline, a test session), and a type that one
configuration declares must not exist for another. So import-linter's registry is never
used: a contract's class is found among import-linter's types and ours, then the
``contract_types`` of its own configuration, which win over those as they do in lint-imports.
Each class is imported once per process.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cloacina_audit.adapters.importlinter import BUILT_IN_CONTRACT_TYPES
from cloacina_audit.errors import AuditError

#: Contract types every configuration can name: import-linter's and the tool's own.
BUILT_IN_TYPES = {
    **BUILT_IN_CONTRACT_TYPES,
    "forbidden_symbols": "cloacina_audit.analysis.contracts.symbols.ForbiddenSymbolsContract",
    "allowed_imports": "cloacina_audit.analysis.contracts.allowed_imports.AllowedImportsContract",
}

#: "module.Class" -> the class, for every class imported so far (None: not in this release).
_loaded: dict[str, Any] = {}


def declared_types(entries: list[str] | str, origin: Path | str) -> dict[str, Any]:
    """The classes of a configuration's ``contract_types`` (``name: module.Class`` each).

    They are imported from the tool's environment only, never from the working
    directory: ``python -m cloacina_audit`` puts the cwd first on ``sys.path``
    (lint-imports imports from it too), and inside the audited tree that would run
    the audited code. Whatever they print goes to stderr: stdout is the report's.
    """
    found = {}
    for entry in [entries] if isinstance(entries, str) else entries:
        name, _, dotted = entry.partition(":")
        contract_class = _load(dotted.strip())
        if contract_class is None:
            raise AuditError(f"{origin}: cannot load contract type {entry.strip()!r}")
        found[name.strip()] = contract_class
    return found


def contract_class(type_name: str, entries: list[str] | str, origin: Path | str) -> Any | None:
    """The class of contracts of ``type_name`` in a configuration declaring ``entries``."""
    declared = declared_types(entries, origin)
    if type_name in declared:
        return declared[type_name]
    return _load(BUILT_IN_TYPES[type_name]) if type_name in BUILT_IN_TYPES else None


def _load(dotted: str) -> Any | None:
    if dotted not in _loaded:
        module_name, _, class_name = dotted.rpartition(".")
        try:
            with stdout_to_stderr(), _without_working_directory():
                _loaded[dotted] = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError):
            return None  # not cached: the next configuration may have it installed
    return _loaded[dotted]


@contextlib.contextmanager
def _without_working_directory() -> Iterator[None]:
    cwd = os.path.realpath(os.getcwd())
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != cwd]
    try:
        yield
    finally:
        sys.path[:] = saved


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Python-level and file-descriptor-level writes to stdout land on stderr."""
    with contextlib.suppress(AttributeError, OSError, ValueError):  # no stdout, or closed
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)
