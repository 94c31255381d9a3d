"""A Cloacina workflow package (package.toml + workflow/ + vendor/), as the server loads it.

Checked like Python sources with workflow/ and vendor/ on the path (the
``{entry}`` and ``{vendored}`` placeholders come from its manifest); its
footprint is what the server holds for it: the packed archive, vendored files
and the cloaca runtime it is loaded into.
"""

from __future__ import annotations

from cloacina_audit.app.kinds.python import PythonKind
from cloacina_audit.app.options import AuditOptions
from cloacina_audit.discover.target import Target
from cloacina_audit.model.report import Footprint


class CloacinaPackageKind(PythonKind):
    def footprint(self, target: Target, options: AuditOptions) -> Footprint:
        from cloacina_audit.analysis.footprint.package import measure_package_footprint

        return measure_package_footprint(target, cloaca_wheel=options.cloaca_wheel)


KIND = CloacinaPackageKind()
