"""import-linter's internals: its configuration readers, its contract types by name, the
errors of contract options, and module expressions.

import-linter's public API is what a contract type is written with (``importlinter.Contract``,
``ContractCheck``, ``fields``, ``output``). Reading a configuration file the way lint-imports
does, and finding which class a built-in contract type is, take its internals, imported here.

The readers, and the timer import-linter's contracts use, are found in import-linter's
settings, a process global that lint-imports fills once at start-up; :func:`configured`
fills it for one read or check and puts back what was there, so that a run leaves
import-linter as it found it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cloacina_audit.adapters.versions import missing_api, require

require("grimp")
VERSION = require("import-linter")

try:
    from importlinter.application.app_config import settings as _settings
    from importlinter.domain.contract import InvalidContractOptions
    from importlinter.domain.helpers import module_expression_to_modules
except ImportError as exc:
    raise missing_api("import-linter", exc) from None

if TYPE_CHECKING:
    from importlinter.application.user_options import UserOptions

__all__ = [
    "BUILT_IN_CONTRACT_TYPES",
    "VERSION",
    "InvalidContractOptions",
    "configured",
    "module_expression_to_modules",
    "read_user_options",
]

#: import-linter's contract types, as lint-imports registers them (``protected`` is 2.5's,
#: ``acyclic_siblings`` 2.6's: a release without one simply lacks that type).
BUILT_IN_CONTRACT_TYPES = {
    "forbidden": "importlinter.contracts.forbidden.ForbiddenContract",
    "layers": "importlinter.contracts.layers.LayersContract",
    "independence": "importlinter.contracts.independence.IndependenceContract",
    "protected": "importlinter.contracts.protected.ProtectedContract",
    "acyclic_siblings": "importlinter.contracts.acyclic_siblings.AcyclicSiblingsContract",
}


def read_user_options(config_file: str) -> UserOptions:
    """The options of a configuration file (INI or TOML), read by import-linter's readers.

    Raises what import-linter raises: FileNotFoundError when the file holds no
    import-linter section, configparser and tomllib errors, ValueError, KeyError.
    """
    try:
        from importlinter.application.use_cases import read_user_options as read
    except ImportError as exc:
        raise missing_api("import-linter", exc) from None
    with configured():
        return read(config_filename=config_file)


@contextlib.contextmanager
def configured() -> Iterator[None]:
    """import-linter's settings as lint-imports configures them (its readers, the timer its
    contracts use), for the block only: afterwards, what they were."""
    # Imported here: the readers (with configparser, tomllib and rich's progress display,
    # ~0.1 s) are needed only when contracts are read or checked.
    try:
        from importlinter.configuration import configure
    except ImportError as exc:
        raise missing_api("import-linter", exc) from None
    saved = dict(_settings._config)
    configure()
    try:
        yield
    finally:
        _settings._config.clear()
        _settings._config.update(saved)
