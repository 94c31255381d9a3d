"""Where the packages an audited package imports are looked up, without importing them.

grimp normally asks ``importlib.util.find_spec``, which consults the running
process: its ``sys.path`` and, worse, ``sys.modules``, so a package the tool
itself has imported (click, rich) would shadow the audited environment's copy.
:class:`SearchPath` answers the same question from an explicit list of
directories instead, the way Python's path finder would, and never executes
anything (``.pth`` files are not processed here: their ``import`` lines run code).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

from cloacina_audit.errors import AuditError
from cloacina_audit.system.interpreter import query_interpreter, search_directories


class SearchPath:
    def __init__(self, directories: Iterable[Path]) -> None:
        seen: set[Path] = set()
        self.directories: list[Path] = []
        for directory in directories:
            directory = Path(directory)
            if directory not in seen and directory.is_dir():
                seen.add(directory)
                self.directories.append(directory)
        self._listings: dict[Path, _Listing] = {}

    def find_package(self, name: str) -> Path | None:
        """The directory of top-level regular package ``name``, as ``import name`` would pick.

        A plain module (``six.py``) or an extension module found first shadows
        later packages, exactly as in Python, and gives None: grimp graphs only
        packages, so such names stay external nodes.

        A dotted ``name`` is found only as a portion of namespace packages
        (``airflow/sdk/__init__.py`` with no ``airflow/__init__.py``): what grimp
        accepts as a root besides top-level packages.
        """
        if "." in name:
            parts = name.split(".")
            for directory in self.directories:
                if (directory.joinpath(*parts) / "__init__.py").is_file() and not any(
                    (directory.joinpath(*parts[:k]) / "__init__.py").is_file()
                    for k in range(1, len(parts))
                ):
                    return directory.joinpath(*parts)
            return None
        for directory in self.directories:
            listing = self._listing(directory)
            if name in listing.names and (directory / name / "__init__.py").is_file():
                return directory / name
            if name in listing.extension_stems or (
                f"{name}.py" in listing.names and (directory / f"{name}.py").is_file()
            ):
                return None
        return None

    def _listing(self, directory: Path) -> _Listing:
        # Each directory is listed once per run: a warm check asks about every
        # external name the package imports, and a stat per name per directory
        # (with a glob for extension modules) cost more than the rest of the run.
        if directory not in self._listings:
            self._listings[directory] = _Listing.of(directory)
        return self._listings[directory]


class _Listing:
    """The names in one search-path directory, and the module names its extension
    files provide: ``name.<tag>.so`` and a plain ``name.so``, both of which CPython loads."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.extension_stems = frozenset(
            stem for stem, dot, rest in (n.partition(".") for n in names if n.endswith(".so"))
            if dot and (rest == "so" or rest.endswith(".so"))
        )

    @classmethod
    def of(cls, directory: Path) -> _Listing:
        try:
            return cls(frozenset(os.listdir(directory)))
        except OSError:
            return cls(frozenset())


def environment_directories(python: str | None, cache_dir: Path | None = None) -> list[Path]:
    """Non-stdlib ``sys.path`` entries of ``python`` (default: the running interpreter).

    Another interpreter is asked with ``site`` off (see :mod:`cloacina_audit.system.interpreter`;
    its answer is kept in ``cache_dir``): its ``.pth`` files are read, never run.
    """
    if python is None:
        # sys.path[0] is where the tool was launched from (the cwd under
        # ``python -m``, the bin directory of a console script), not the environment.
        return _without_stdlib(sys.path[1:], sysconfig.get_paths())
    try:
        return search_directories(query_interpreter(python, cache_dir))
    except AuditError as exc:
        raise AuditError(f"--python {exc}") from None


def _without_stdlib(entries: Iterable[str], paths: dict[str, str]) -> list[Path]:
    stdlib = {Path(paths["stdlib"]), Path(paths["platstdlib"])}
    kept = []
    for entry in entries:
        if not entry or entry.endswith(".zip"):
            continue
        path = Path(entry)
        if path in stdlib or (path.name == "lib-dynload" and path.parent in stdlib):
            continue
        kept.append(path)
    return kept
