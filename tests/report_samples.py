"""Realistic audit reports built in code, shared by the renderer tests and
scripts/check_html_render.py: a bloated workflow package (a broken contract
through an implicit parent import, native database drivers, failed budgets)
and its slim rewrite."""

from __future__ import annotations

from cloacina_audit.model.report import (
    AuditReport,
    BudgetResult,
    Comparison,
    ContractResult,
    DistributionFootprint,
    Finding,
    Footprint,
    ImportProbe,
    ImportStep,
    PackageAudit,
    Violation,
)

SITE = "/opt/audit-env/lib/python3.11/site-packages"
CONTRACT = "Workflow packages use only the authoring layer"

#: tasks.py imports the registry loader; importing it runs cloacina/registry/__init__.py,
#: whose helper reaches the DAL inside a function.
CHAIN = (
    ImportStep(
        importer="bloated_flow.tasks",
        imported="cloacina.registry.loader",
        file="bloated_flow/tasks.py",
        line=4,
        kind="module",
        statement="from cloacina.registry.loader import load_package",
    ),
    ImportStep(
        importer="cloacina.registry.loader",
        imported="cloacina.registry",
        file=f"{SITE}/cloacina/registry/__init__.py",
        line=0,
        kind="implicit",
    ),
    ImportStep(
        importer="cloacina.registry",
        imported="cloacina.database.dal",
        file=f"{SITE}/cloacina/registry/__init__.py",
        line=27,
        kind="function",
        statement="from cloacina.database.dal import DAL",
    ),
)

RUNTIME_CHAIN = (
    ImportStep(
        importer="bloated_flow.flow",
        imported="cloacina.runtime.executor",
        file="bloated_flow/flow.py",
        line=2,
        kind="module",
        statement="from cloacina.runtime.executor import Executor",
    ),
)


def bloated_audit(path: str = "fixtures/bloated") -> PackageAudit:
    return PackageAudit(
        name="bloated-flow",
        path=path,
        config_file="pyproject.toml",  # both fixtures are configured in theirs
        contracts=[
            ContractResult(
                name=CONTRACT,
                type="forbidden",
                kept=False,
                violations=[Violation(CHAIN), Violation(RUNTIME_CHAIN)],
                origin="preset:cloacina",
            ),
            ContractResult(
                name="No heavy third-party runtime dependencies",
                type="forbidden",
                kept=True,
                origin="preset:cloacina",
                warnings=["sqlalchemy is not in the graph; nothing to check"],
            ),
        ],
        findings=[
            Finding(
                rule="manifest/framework-dependency",
                message="depends on the full 'cloacina' engine; depend on 'cloacina-workflow'",
                level="warning",
                file="pyproject.toml",
                line=7,
            )
        ],
        footprint=Footprint(
            distributions=4,
            install_bytes=31_200_000,
            native_files=14,
            native_bytes=18_400_000,
            environment="uv venv, python 3.11",
            by_distribution=[
                DistributionFootprint(
                    "cloacina", "0.3.0", None, None, unmeasured="editable install"
                ),
                DistributionFootprint(
                    "cloacina-workflow", "0.3.0", 48_000, 12, unique_bytes=0, direct=False
                ),
                DistributionFootprint(
                    "SQLAlchemy",
                    "2.0.36",
                    12_500_000,
                    620,
                    native_files=6,
                    native_bytes=6_100_000,
                    unique_bytes=12_500_000,
                ),
                DistributionFootprint(
                    "psycopg2-binary",
                    "2.9.10",
                    13_900_000,
                    48,
                    native_files=8,
                    native_bytes=12_300_000,
                    unique_bytes=13_900_000,
                ),
                DistributionFootprint("typing_extensions", "4.12.2", 4_740_000, 3),
            ],
            package=DistributionFootprint("bloated-flow", "0.1.0", 12_000, 6),
            import_probe=ImportProbe(
                modules=612,
                non_stdlib_modules=420,
                forbidden_loaded=["cloacina.runtime", "psycopg2", "sqlalchemy"],
                seconds_median=0.84,
                runs=5,
            ),
        ),
        budgets=[
            BudgetResult("max-install-size", "2 MB", 31_200_000, False),
            BudgetResult("max-distributions", 3, 4, False),
            BudgetResult("max-native-files", 0, 14, False),
            BudgetResult("max-import-modules", 150, 612, False),
        ],
    )


def slim_audit(path: str = "fixtures/slim") -> PackageAudit:
    return PackageAudit(
        name="slim-flow",
        path=path,
        config_file="pyproject.toml",  # both fixtures are configured in theirs
        contracts=[
            ContractResult(CONTRACT, "forbidden", True, origin="preset:cloacina"),
            ContractResult(
                "No heavy third-party runtime dependencies",
                "forbidden",
                True,
                origin="preset:cloacina",
            ),
        ],
        footprint=Footprint(
            distributions=1,
            install_bytes=48_000,
            native_files=0,
            native_bytes=0,
            by_distribution=[
                DistributionFootprint("cloacina_workflow", "0.3.1", 46_000, 12, direct=True),
            ],
            package=DistributionFootprint("slim-flow", "0.1.0", 2_000, 6),
            import_probe=ImportProbe(
                modules=41,
                non_stdlib_modules=4,
                forbidden_loaded=[],
                seconds_median=0.012,
                runs=5,
            ),
        ),
        budgets=[
            BudgetResult("max-install-size", "2 MB", 48_000, True),
            BudgetResult("max-distributions", 3, 1, True),
        ],
    )


def comparison_report() -> AuditReport:
    """``report fixtures/slim --before fixtures/bloated --target-reduction 80%``."""
    slim = slim_audit()
    return AuditReport(
        packages=[slim],
        tool_version="0.1.0",
        comparison=Comparison(before=bloated_audit(), after=slim, target_reduction=0.8),
    )


def many_packages_report() -> AuditReport:
    return AuditReport(packages=[bloated_audit(), slim_audit()], tool_version="0.1.0")
