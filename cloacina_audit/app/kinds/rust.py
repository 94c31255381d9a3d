"""Rust workflow packages (package.toml + Cargo.toml + src/lib.rs) and plain Cargo crates.

check: the crate graph from ``cargo metadata`` (never compiled; no build script
or proc macro runs) against the ``cloacina-rust`` preset, and paths into
forbidden crates in the sources. footprint: the library built as it ships
(``cargo build --release --lib``, under the cache), its bytes as built and
stripped, its crates and the ``.text`` each brings.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloacina_audit.app.options import AuditOptions, CheckOptions
from cloacina_audit.discover.target import Target
from cloacina_audit.model.report import (
    BinaryFootprint,
    ContractResult,
    DistributionFootprint,
    Finding,
    Footprint,
    PackageAudit,
)

if TYPE_CHECKING:
    from cloacina_audit.analysis.imports.graph import PackageGraph
    from cloacina_audit.model.cost import StatementCost

DEFAULT_PRESET = "cloacina-rust"


class RustKind:
    def check(self, target: Target, options: CheckOptions) -> tuple[PackageAudit, PackageGraph | None]:
        from cloacina_audit.rust.contracts import check_crate, read_preset
        from cloacina_audit.rust.metadata import read_crate_graph

        root = _root(target)
        graph = read_crate_graph(root)
        preset = options.preset or target.config.preset or DEFAULT_PRESET
        contracts: list[ContractResult] = []
        findings: list[Finding] = []
        if preset != "none":
            result, findings = check_crate(graph, read_preset(preset), root / "src")
            contracts.append(result)
        audit = PackageAudit(name=target.name, path=target.spec, contracts=contracts,
                             findings=[*target.findings, *findings])
        return audit, None

    def footprint(self, target: Target, options: AuditOptions) -> Footprint:
        from cloacina_audit.rust.binary import text_by_crate
        from cloacina_audit.rust.build import built_library
        from cloacina_audit.rust.callgraph import std_text_by_users
        from cloacina_audit.rust.contracts import normal_closure
        from cloacina_audit.rust.metadata import read_crate_graph

        root = _root(target)
        graph = read_crate_graph(root)
        closure = sorted(set(normal_closure(graph)) - {graph.root.name})
        files = sum(1 for p in root.rglob("*") if p.is_file()) if target.archive_bytes else None
        with built_library(root, graph, options.check.cache_dir) as library:
            own = {graph.root.name, *graph.crates}
            sizes = text_by_crate(library.path, own)
            binary = BinaryFootprint(
                file=library.path.name, built_bytes=library.built_bytes,
                stripped_bytes=library.stripped_bytes, text_bytes=sizes.text_bytes,
                text_by_crate=sizes.by_crate,
                # Read for the cost view only (report, why): big libraries take a while.
                std_text_by_users={tuple(sorted(users)): size for users, size
                                   in sorted(std_text_by_users(library.path, own).items(),
                                             key=lambda item: sorted(item[0]))}
                if options.with_contracts else {},
            )
        direct = {d.name for d in graph.root.dependencies if d.kind is None}
        crates = [
            DistributionFootprint(
                name=name, version=graph.crates[name].version if name in graph.crates else "",
                bytes=sizes.by_crate.get(name, 0), files=None,
                native_files=1 if name in graph.crates and graph.crates[name].links else 0,
                direct=name in direct,
            )
            for name in closure
        ]
        return Footprint(
            distributions=len(crates),
            install_bytes=binary.stripped_bytes,
            native_files=sum(c.native_files for c in crates),
            native_bytes=0,
            by_distribution=crates,
            import_not_probed="a Rust package: its library is loaded by the host, not imported",
            environment="cargo build --release --lib" + ("" if graph.resolved else " (offline)"),
            package=DistributionFootprint(name=graph.root.name, version=graph.root.version,
                                          bytes=sizes.by_crate.get(graph.root.name, 0), files=None),
            binary=binary,
            # A .cloacina archive given as PATH: its size (a directory is not packed here).
            archive_bytes=target.archive_bytes,
            archive_files=files,
            archive_packed=False if target.archive_bytes is not None else None,
        )

    def costs(
        self, target: Target, audit: PackageAudit, graph: PackageGraph | None
    ) -> tuple[list[StatementCost], StatementCost] | None:
        from cloacina_audit.rust.cost import statement_costs
        from cloacina_audit.rust.metadata import read_crate_graph

        if audit.footprint is None or audit.footprint.binary is None:
            return None
        root = _root(target)
        return statement_costs(read_crate_graph(root), root / "src", audit.footprint,
                               audit.contracts)

    def why(self, target: Target, options: AuditOptions, name: str) -> dict[str, Any]:
        from cloacina_audit.errors import AuditError
        from cloacina_audit.render._format import display_path
        from cloacina_audit.rust.cost import CrateReach, routes_to, std_bytes_of
        from cloacina_audit.rust.metadata import read_crate_graph

        root = _root(target)
        footprint = self.footprint(target, options)
        rows = {r.name: r for r in footprint.by_distribution}
        wanted = name if name in rows else name.replace("_", "-")
        if wanted not in rows:
            raise AuditError(
                f"{name}: not in the crate graph of {target.name} "
                f"({len(rows)} crates: {', '.join(sorted(rows)) or 'none'})"
            )
        row = rows[wanted]
        routes = routes_to(CrateReach(read_crate_graph(root), root / "src", footprint), wanted)
        for route in routes:
            route["file"] = display_path(str(route["file"]), target.spec)
            for step in route["steps"]:
                step["file"] = display_path(str(step["file"]), target.spec)
        return {
            "package": target.name, "path": target.spec, "language": "rust", "crate": row.name,
            "distribution": row.name, "version": row.version, "text_bytes": row.bytes,
            "std_bytes": std_bytes_of(footprint, row.name), "bytes": row.bytes,
            "native_files": row.native_files, "direct": row.direct, "routes": routes,
        }


def _root(target: Target) -> Path:
    assert target.root is not None, "discovery gives every Rust target its directory"
    return target.root


KIND = RustKind()
