"""Every use of grimp's and import-linter's internals, each behind a version check.

Their public APIs (``grimp.build_graph``, ``grimp.ImportGraph``; ``importlinter.Contract``,
``ContractCheck``, ``fields``, ``output``) are used where they are needed. What those do not
offer (grimp's finder settings and exceptions, import-linter's configuration readers and
option errors) is imported here only, so that a release that moves one of them fails with one
line naming the installed and the required version instead of an ImportError deep in a run.
The root ``.importlinter`` enforces it.

Importing this package loads neither library: ``grimp.py`` and ``importlinter.py`` do, when a
command first needs a graph or a configuration (``--version`` and ``footprint`` never do).
"""
