"""A directory with only an import-linter configuration, checked the way lint-imports checks it.

Discovery graphs it from its root packages alone (``Target.follows_imports``);
there is nothing to install, so it has no footprint.
"""

from __future__ import annotations

from cloacina_audit.app.kinds.python import PythonKind
from cloacina_audit.app.options import AuditOptions
from cloacina_audit.discover.target import Target
from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import Footprint


class ImportLinterKind(PythonKind):
    def footprint(self, target: Target, options: AuditOptions) -> Footprint:
        raise AuditError(f"{target.spec}: a footprint needs a project, wheel, package or requirement")


KIND = ImportLinterKind()
