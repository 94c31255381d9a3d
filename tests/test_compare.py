from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from report_samples import CONTRACT, bloated_audit, slim_audit

from cloacina_audit.errors import AuditError
from cloacina_audit.model.compare import Change, compute_delta, distribution_changes, parse_reduction
from cloacina_audit.model.report import DistributionFootprint, PackageAudit


def test_footprint_figures_change_by_absolute_and_percent() -> None:
    delta = compute_delta(bloated_audit(), slim_audit())
    assert delta.install_bytes == Change(31_200_000, 48_000)
    assert delta.install_bytes.absolute == 48_000 - 31_200_000
    assert delta.install_bytes.percent == pytest.approx(-99.846, abs=1e-3)
    assert delta.distributions.absolute == -3
    assert delta.distributions.percent == pytest.approx(-75.0)
    assert delta.native_files.absolute == -14
    assert delta.native_bytes.percent == pytest.approx(-100.0)
    assert delta.import_modules.absolute == 41 - 612
    assert delta.import_seconds.absolute == pytest.approx(0.012 - 0.84)
    assert [key for key, _ in delta.metrics()] == [
        "distributions",
        "install_bytes",
        "native_files",
        "native_bytes",
        "import_modules",
        "import_seconds",
    ]


def test_percent_is_none_when_before_is_zero_or_unknown() -> None:
    assert Change(0, 5).percent is None
    assert Change(0, 5).absolute == 5
    assert Change(None, 5).absolute is None
    assert Change(5, None).percent is None
    assert Change(0, 0).percent is None


def test_missing_footprint_gives_unknown_changes() -> None:
    before = PackageAudit("p", "p")
    delta = compute_delta(before, slim_audit(), target_reduction=0.8)
    assert delta.install_bytes.before is None
    assert delta.install_bytes.absolute is None
    assert delta.reduction is None
    assert delta.target_reached is None
    assert [d.status for d in delta.distribution_changes] == ["added"]


def test_distributions_are_matched_by_canonical_name() -> None:
    changes = {c.name: c for c in compute_delta(bloated_audit(), slim_audit()).distribution_changes}
    assert changes["cloacina-workflow"].status == "changed"
    assert (
        changes["cloacina-workflow"].version_before,
        changes["cloacina-workflow"].version_after,
    ) == (
        "0.3.0",
        "0.3.1",
    )
    assert changes["cloacina-workflow"].bytes.absolute == -2_000
    assert changes["sqlalchemy"].status == "removed"
    assert changes["sqlalchemy"].bytes.absolute == -12_500_000
    assert changes["typing-extensions"].status == "removed"
    # An unmeasured distribution's size change is unknown, not zero.
    assert changes["cloacina"].bytes.absolute is None


def test_unchanged_distributions_are_left_out_and_new_ones_come_last() -> None:
    same = DistributionFootprint("six", "1.16.0", 100, 2)
    before = [same, DistributionFootprint("Old-Thing", "1.0", 10, 1)]
    after = [DistributionFootprint("new_thing", "2.0", 20, 1), same]
    changes = distribution_changes(before, after)
    assert [(c.name, c.status) for c in changes] == [
        ("old-thing", "removed"),
        ("new-thing", "added"),
    ]
    assert changes[1].bytes == Change(0, 20)


def test_contracts_kept_and_broken_before_and_after() -> None:
    delta = compute_delta(bloated_audit(), slim_audit())
    assert delta.contracts_kept == Change(1, 2)
    assert delta.contracts_broken == Change(1, 0)
    by_name = {c.name: c for c in delta.contracts}
    assert (by_name[CONTRACT].kept_before, by_name[CONTRACT].kept_after) == (False, True)


def test_reduction_against_a_target() -> None:
    assert compute_delta(bloated_audit(), slim_audit(), 0.8).target_reached is True
    assert compute_delta(bloated_audit(), slim_audit(), 0.999).target_reached is False
    assert compute_delta(bloated_audit(), slim_audit()).target_reached is None
    grown = compute_delta(slim_audit(), bloated_audit(), 0.8)
    assert grown.reduction is not None and grown.reduction < 0
    assert grown.target_reached is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [("80%", 0.8), (" 12.5 % ", 0.125), ("100%", 1.0), ("0.8", 0.8), (0.8, 0.8), (".5", 0.5)],
)
def test_parse_reduction(value: str | float, expected: float) -> None:
    assert parse_reduction(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["80", "eighty", "-5%", "0%", "150%", "", "80 %%", 2, 0])
def test_parse_reduction_rejects_and_names_the_value(value: str | float) -> None:
    with pytest.raises(AuditError) as error:
        parse_reduction(value)
    assert repr(value) in str(error.value)


@given(st.integers(min_value=1, max_value=100))
def test_parse_reduction_of_any_whole_percentage(n: int) -> None:
    assert parse_reduction(f"{n}%") == pytest.approx(n / 100)


@given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=0, max_value=10**12))
def test_reached_means_install_shrank_by_at_least_the_target(before: int, after: int) -> None:
    def audit(size: int) -> PackageAudit:
        audit = slim_audit()
        assert audit.footprint is not None
        audit.footprint.install_bytes = size
        return audit

    delta = compute_delta(audit(before), audit(after), 0.5)
    assert delta.target_reached == ((before - after) / before >= 0.5)


# --- noise, the package itself, identical sides ---------------------------------------


def _with_probe(audit: PackageAudit, seconds: float, spread: float, runs: int = 3) -> PackageAudit:
    assert audit.footprint is not None and audit.footprint.import_probe is not None
    audit.footprint.import_probe.seconds_median = seconds
    audit.footprint.import_probe.seconds_spread = spread
    audit.footprint.import_probe.runs = runs
    return audit


def test_an_import_time_change_within_the_measured_spread_is_noise() -> None:
    from cloacina_audit.render._format import metric_cells

    before = _with_probe(slim_audit(), 0.100, 0.040)
    after = _with_probe(slim_audit(), 0.135, 0.020)  # +35 %, but runs vary by 40 ms
    change = compute_delta(before, after).import_seconds
    assert change.noise == pytest.approx(0.040)
    assert change.within_noise
    label, _, _, shown, pct = metric_cells("import_seconds", change)
    assert shown.startswith("within noise") and pct == ""


def test_a_change_beyond_the_spread_or_without_a_measured_spread_is_shown() -> None:
    beyond = compute_delta(_with_probe(slim_audit(), 0.1, 0.01), _with_probe(slim_audit(), 0.2, 0.01))
    assert not beyond.import_seconds.within_noise
    single = compute_delta(
        _with_probe(slim_audit(), 0.1, 0.0, runs=1), _with_probe(slim_audit(), 0.2, 0.0, runs=1)
    )
    assert single.import_seconds.noise is None and not single.import_seconds.within_noise


def test_the_package_itself_is_part_of_the_comparison() -> None:
    delta = compute_delta(bloated_audit(), slim_audit())
    assert delta.package_bytes == Change(12_000, 2_000)
    own = [c for c in delta.distribution_changes if c.package]
    assert [(c.name, c.status) for c in own] == [("bloated-flow", "removed"), ("slim-flow", "added")]
    assert delta.distribution_changes[: len(own)] == own

    grown = slim_audit()
    assert grown.footprint is not None and grown.footprint.package is not None
    grown.footprint.package.bytes = 2_855
    same_name = compute_delta(slim_audit(), grown)
    (row,) = [c for c in same_name.distribution_changes if c.package]
    assert (row.status, row.bytes.absolute) == ("changed", 855)


def test_a_package_compared_with_itself_gets_a_notice_not_a_goal() -> None:
    from cloacina_audit.render._format import goal_line

    delta = compute_delta(slim_audit(), slim_audit(), target_reduction=0.8)
    assert delta.identical
    line = goal_line(delta)
    assert line is not None and "nothing changed" in line and "goal" not in line
    assert not compute_delta(bloated_audit(), slim_audit()).identical
