"""``[tool.cloacina-audit.budget]``: limits parsed strictly, footprints held to them."""

from __future__ import annotations

import pytest

from cloacina_audit.errors import AuditError
from cloacina_audit.model.budgets import evaluate_budgets, parse_budgets
from cloacina_audit.model.report import DistributionFootprint, Footprint, ImportProbe


def footprint(
    install_bytes: int = 1_500_000,
    names: tuple[str, ...] = ("cloacina-workflow", "SQLAlchemy", "psycopg2-binary"),
    native_files: int = 4,
    modules: int | None = 120,
    seconds: float = 0.25,
) -> Footprint:
    return Footprint(
        distributions=len(names),
        install_bytes=install_bytes,
        native_files=native_files,
        native_bytes=native_files * 1000,
        by_distribution=[DistributionFootprint(n, "1", 100, 1) for n in names],
        import_probe=None
        if modules is None
        else ImportProbe(modules=modules, non_stdlib_modules=10, forbidden_loaded=[], seconds_median=seconds),
    )


BUDGET = "tool.cloacina-audit.budget"
TOLERANCE = f"{BUDGET}.import-time-tolerance"


def results(budget: dict, fp: Footprint | None = None, before: Footprint | None = None) -> dict:
    return {r.name: r for r in evaluate_budgets(budget, fp or footprint(), before=before)}


def test_every_budget_met() -> None:
    budget = {
        "max-install-size": "2 MB",
        "max-distributions": 3,
        "max-native-files": 4,
        "max-import-modules": 150,
        "max-import-time": "300 ms",
        "forbid-distributions": ["psycopg*"],
    }
    found = evaluate_budgets(budget, footprint(names=("cloacina-workflow",)))
    assert [r.name for r in found] == list(budget)  # the order they were written in
    assert all(r.ok for r in found), found
    by_name = {r.name: r for r in found}
    assert by_name["max-install-size"].limit == 2_000_000
    assert by_name["max-install-size"].actual == 1_500_000
    assert by_name["max-import-time"].limit == pytest.approx(0.3)
    assert by_name["forbid-distributions"].actual == "none"


def test_budgets_exceeded_name_limit_and_actual() -> None:
    found = results(
        {
            "max-install-size": "1 MB",
            "max-distributions": 2,
            "max-native-files": 0,
            "max-import-modules": 100,
            "forbid-distributions": ["psycopg2*", "sqlalchemy"],
        }
    )
    assert not any(r.ok for r in found.values())
    assert (found["max-install-size"].limit, found["max-install-size"].actual) == (1_000_000, 1_500_000)
    assert (found["max-distributions"].limit, found["max-distributions"].actual) == (2, 3)
    assert found["max-native-files"].actual == 4
    assert found["max-import-modules"].actual == 120
    assert found["forbid-distributions"].actual == "sqlalchemy, psycopg2-binary"


def test_limits_are_inclusive() -> None:
    found = results({"max-install-size": 1_500_000, "max-distributions": 3})
    assert all(r.ok for r in found.values())


def test_import_time_has_a_tolerance_default_ten_percent() -> None:
    assert results({"max-import-time": 0.24})["max-import-time"].ok  # 0.25 <= 0.264
    assert not results({"max-import-time": 0.2})["max-import-time"].ok  # 0.25 > 0.22
    tolerant = {"max-import-time": "200 ms", "import-time-tolerance": "30%"}
    assert results(tolerant)["max-import-time"].ok  # 0.25 <= 0.26
    strict = {"max-import-time": "0.24 s", "import-time-tolerance": 0}
    assert not results(strict)["max-import-time"].ok
    assert "import-time-tolerance" not in results(tolerant)


def test_forbid_distributions_matches_canonical_names() -> None:
    found = results({"forbid-distributions": ["Psycopg2_*", "sql*"]})
    assert found["forbid-distributions"].actual == "sqlalchemy, psycopg2-binary"
    assert results({"forbid-distributions": "psycopg2-binary"})["forbid-distributions"].ok is False


def test_probe_budgets_fail_without_a_probe() -> None:
    found = results({"max-import-modules": 10, "max-import-time": 1}, footprint(modules=None))
    assert [(r.actual, r.ok) for r in found.values()] == [(None, False), (None, False)]


def test_install_growth_needs_a_before_footprint() -> None:
    budget = {"max-install-growth": "5%"}
    assert results(budget) == {}
    grown = results(budget, footprint(install_bytes=1_100_000), before=footprint(install_bytes=1_000_000))
    assert (grown["max-install-growth"].actual, grown["max-install-growth"].ok) == ("+10.0%", False)
    shrunk = results(budget, footprint(install_bytes=900_000), before=footprint(install_bytes=1_000_000))
    assert (shrunk["max-install-growth"].limit, shrunk["max-install-growth"].ok) == ("5%", True)
    must_shrink = results({"max-install-growth": "-20%"}, footprint(install_bytes=900_000),
                          before=footprint(install_bytes=1_000_000))
    assert must_shrink["max-install-growth"].ok is False


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({"max-install-size": "two MB"}, f'{BUDGET}.max-install-size: cannot parse "two MB"'),
        ({"max-install-size": "-1 MB"}, "tool.cloacina-audit.budget.max-install-size: must not be negative"),
        ({"max-install-size": True}, "tool.cloacina-audit.budget.max-install-size: cannot parse"),
        ({"max-distributions": "three"}, f'{BUDGET}.max-distributions: cannot parse "three"'),
        ({"max-distributions": 2.5}, "tool.cloacina-audit.budget.max-distributions: cannot parse 2.5"),
        ({"max-distributions": -1}, "tool.cloacina-audit.budget.max-distributions: must not be negative"),
        ({"max-native-files": False}, "tool.cloacina-audit.budget.max-native-files: cannot parse"),
        ({"max-import-modules": "-3"}, "tool.cloacina-audit.budget.max-import-modules: must not be negative"),
        ({"max-import-time": "fast"}, 'tool.cloacina-audit.budget.max-import-time: cannot parse "fast"'),
        ({"max-import-time": "-300 ms"}, "tool.cloacina-audit.budget.max-import-time: must not be negative"),
        ({"max-import-time": -1}, "tool.cloacina-audit.budget.max-import-time: must not be negative"),
        ({"import-time-tolerance": "lots"}, f"{TOLERANCE}: cannot parse"),
        ({"import-time-tolerance": 20}, f"{TOLERANCE}: cannot parse 20"),
        ({"import-time-tolerance": "-5%"}, f"{TOLERANCE}: must not be negative"),
        ({"forbid-distributions": [1]}, "tool.cloacina-audit.budget.forbid-distributions: expected a list"),
        ({"forbid-distributions": [""]}, "tool.cloacina-audit.budget.forbid-distributions: expected a list"),
        ({"max-install-growth": "5"}, "tool.cloacina-audit.budget.max-install-growth: cannot parse"),
        ({"max-size": "2 MB"}, "tool.cloacina-audit.budget.max-size: unknown budget"),
    ],
)
def test_malformed_budgets_name_the_key(budget: dict, message: str) -> None:
    with pytest.raises(AuditError) as caught:
        parse_budgets(budget)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_durations_and_percentages() -> None:
    parsed = parse_budgets(
        {"max-import-time": "1.5 s", "import-time-tolerance": "25%", "max-install-growth": "+2.5%"}
    )
    assert parsed.limits["max-import-time"] == pytest.approx(1.5)
    assert parsed.limits["max-install-growth"] == pytest.approx(2.5)
    assert parsed.import_time_tolerance == pytest.approx(0.25)
    assert parse_budgets({"max-import-time": "300ms"}).limits["max-import-time"] == pytest.approx(0.3)
    assert parse_budgets({"max-import-time": 2}).limits["max-import-time"] == 2.0
    assert parse_budgets({"import-time-tolerance": 0.2}).import_time_tolerance == pytest.approx(0.2)


def test_empty_budget_table_evaluates_to_nothing() -> None:
    assert evaluate_budgets({}, footprint()) == []
    assert not parse_budgets({})
