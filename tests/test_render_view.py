"""The view model the human formats share (render/build.py -> render/view.py): computed once,
capped the same way in Markdown and HTML, in a stable order; and the package data and
locations the renderers no longer look up themselves."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from html import escape
from pathlib import Path

import pytest
from report_samples import (
    CHAIN,
    CONTRACT,
    bloated_audit,
    comparison_report,
    many_packages_report,
)

from cloacina_audit.model.report import (
    AuditReport,
    ContractResult,
    ImportStep,
    Violation,
)
from cloacina_audit.render import build, render
from cloacina_audit.render.build import build_view
from cloacina_audit.render.view import MAX_STATEMENTS

ROOT = Path(__file__).resolve().parent.parent
HUMAN = ("text", "markdown", "html")


def contract_with(statements: int, chains_each: int = 1) -> ContractResult:
    """A broken contract with ``statements`` offending lines, ``chains_each`` chains apiece."""
    violations = []
    for line in range(1, statements + 1):
        first = replace(CHAIN[0], line=line, statement=f"import engine{line}")
        for extra in range(chains_each):
            violations.append(Violation((first, *CHAIN[1 : 2 + extra % 2])))
    return ContractResult(CONTRACT, "forbidden", False, violations=violations)


def report_with(contract: ContractResult) -> AuditReport:
    audit = replace(bloated_audit(), contracts=[contract])
    return AuditReport(packages=[audit], tool_version="0.1.0")


# --- computed once ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", HUMAN)
def test_each_format_builds_the_view_once_and_groups_each_contract_once(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"build_view": 0, "group_by_statement": 0, "compute_delta": 0}

    def counted(name: str, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    renderer = importlib.import_module(f"cloacina_audit.render.{fmt}")
    for name in calls:
        module = renderer if name == "build_view" else build
        monkeypatch.setattr(module, name, counted(name, getattr(module, name)))
    many = many_packages_report()
    render(many, fmt, detail=1)
    contracts = sum(len(audit.contracts) for audit in many.packages)
    assert contracts > 1
    assert calls == {"build_view": 1, "group_by_statement": contracts, "compute_delta": 0}
    calls.update(dict.fromkeys(calls, 0))
    compared = comparison_report()
    render(compared, fmt)
    contracts = len(compared.packages[0].contracts)  # the before version is only compared
    assert calls == {"build_view": 1, "group_by_statement": contracts, "compute_delta": 1}


def test_the_comparison_rows_are_the_same_in_every_human_format() -> None:
    comparison = build_view(comparison_report()).comparison
    assert comparison is not None
    labels = [row.label for row in comparison.rows]
    assert labels[:2] == ["Contracts kept", "Contracts broken"]
    assert labels[2:] == ["Distributions", "Install size", "Native files", "Native size",
                          "Modules imported", "Import time"]
    for fmt in HUMAN:
        out = render(comparison_report(), fmt)
        for row in comparison.rows:
            for cell in row.cells:
                assert (escape(cell) if fmt == "html" else cell) in out, (fmt, row)
        assert out.count("Contracts broken") == 1, fmt


def test_the_view_is_plain_deterministic_data() -> None:
    assert build_view(many_packages_report(), 1) == build_view(many_packages_report(), 1)


# --- the cap ----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [MAX_STATEMENTS, MAX_STATEMENTS + 4])
def test_markdown_and_html_cap_statements_and_count_the_rest(count: int) -> None:
    contract = build_view(report_with(contract_with(count))).packages[0].contracts[0]
    left_out = count - MAX_STATEMENTS
    assert len(contract.statements) == count
    assert len(contract.capped_statements) == MAX_STATEMENTS
    assert contract.left_out == left_out
    last_shown = f"import engine{MAX_STATEMENTS}"
    first_hidden = f"import engine{MAX_STATEMENTS + 1}"
    for fmt in ("markdown", "html"):
        out = render(report_with(contract_with(count)), fmt)
        assert last_shown in out
        assert first_hidden not in out, fmt
        more = f"… and {left_out} more offending statements (see the JSON or SARIF report)"
        assert (more in out) == bool(left_out), fmt
    text = render(report_with(contract_with(count)), "text", width=120)
    assert f"import engine{count}" in text and "more offending" not in text


def test_json_and_sarif_are_never_capped() -> None:
    report = report_with(contract_with(MAX_STATEMENTS + 4))
    assert len(json.loads(render(report, "json"))["packages"][0]["contracts"][0]["statements"]) == 14
    results = json.loads(render(report, "sarif"))["runs"][0]["results"]
    assert sum(1 for r in results if r["ruleId"].startswith("workflow-packages")) == 14


# --- detail and ordering ----------------------------------------------------------------


def test_detail_decides_the_chains_shown_and_what_is_hidden() -> None:
    report = report_with(contract_with(3, chains_each=3))
    for detail, shown, hidden in ((-1, 1, 2), (0, 1, 2), (1, 3, 0)):
        view = build_view(report, detail)
        statement = view.packages[0].contracts[0].statements[0]
        assert (len(statement.chains), statement.hidden, statement.others) == (shown, hidden, 2)
        assert statement.hidden_text == ("2 other chains" if hidden else "0 other chains")
        assert view.hides_chains == bool(hidden)


def test_quiet_shows_only_broken_contracts_but_counts_them_all() -> None:
    kept = ContractResult("Kept one", "layers", True)
    audit = replace(bloated_audit(), contracts=[kept, contract_with(1)])
    report = AuditReport(packages=[audit], tool_version="0.1.0")
    package = build_view(report, -1).packages[0]
    assert [c.name for c in package.contracts] == [CONTRACT]
    assert (package.checked_contracts, package.contracts_summary) == (2, "1/2 kept")
    assert [c.name for c in build_view(report, 0).packages[0].contracts] == ["Kept one", CONTRACT]


def test_statements_keep_the_order_of_their_best_chain() -> None:
    late = ImportStep("flow.b", "cloacina.runtime", "flow/b.py", 9, "module", "import cloacina.runtime")
    early = replace(late, importer="flow.a", file="flow/a.py", line=2)
    contract = ContractResult(
        CONTRACT, "forbidden", False,
        violations=[Violation((late,)), Violation((early,)), Violation((late, CHAIN[1]))],
    )
    statements = build_view(report_with(contract), 1).packages[0].contracts[0].statements
    assert [s.step.location.rsplit("/", 1)[-1] for s in statements] == ["b.py:9", "a.py:2"]
    assert [len(s.chains) for s in statements] == [2, 1]
    assert statements[0].chains[0].steps[0].kind_label == "module-level"


def test_distribution_rows_largest_first_then_unmeasured_then_the_package() -> None:
    footprint = build_view(many_packages_report()).packages[0].footprint
    assert footprint is not None
    assert [row.label for row in footprint.rows] == [
        "psycopg2-binary", "sqlalchemy", "typing-extensions", "cloacina-workflow", "cloacina",
        "bloated-flow (this package)",
    ]
    unmeasured = [row for row in footprint.rows if not row.measured]
    assert [(r.label, r.size, r.unmeasured) for r in unmeasured] == [
        ("cloacina", "?", "editable install")
    ]


def test_packages_keep_the_report_order_with_their_verdicts() -> None:
    packages = build_view(many_packages_report()).packages
    assert [(p.index, p.name, p.verdict) for p in packages] == [
        (0, "bloated-flow", "contract broken"), (1, "slim-flow", "ok"),
    ]


# --- what the app layer resolves, not the renderers ---------------------------------------


def test_results_about_the_whole_package_sit_on_the_config_file_the_report_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml on disk here: the report says where
    named = AuditReport(packages=[bloated_audit("pkg")], tool_version="0.1.0")
    unnamed = AuditReport(packages=[replace(bloated_audit("pkg"), config_file=None)],
                          tool_version="0.1.0")

    def budget_uris(report: AuditReport) -> list[object]:
        results = json.loads(render(report, "sarif"))["runs"][0]["results"]
        return [
            [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in r.get("locations", [])]
            for r in results if r["ruleId"].startswith("budget-")
        ]

    assert budget_uris(named) == [["pkg/pyproject.toml"]] * 4
    assert budget_uris(unnamed) == [[]] * 4
    github = [line for line in render(named, "github").splitlines() if "title=Budget" in line]
    assert len(github) == 4 and all(line.startswith("::error file=pkg/pyproject.toml,") for line in github)
    github = [line for line in render(unnamed, "github").splitlines() if "title=Budget" in line]
    assert len(github) == 4 and not any("file=" in line for line in github)


def test_the_stylesheet_ships_in_the_wheel_and_an_installed_copy_renders_it(
    tmp_path: Path,
) -> None:
    """Built and installed as a user gets it, not read from this checkout."""
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True,
                   timeout=300, capture_output=True)
    (wheel,) = wheels.glob("cloacina_audit-*.whl")
    assert "cloacina_audit/render/report.css" in zipfile.ZipFile(wheel).namelist()
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, timeout=300, capture_output=True)
    script = (
        "import cloacina_audit, sys\n"
        "from cloacina_audit.model.report import AuditReport, PackageAudit\n"
        "from cloacina_audit.render import render\n"
        "print(cloacina_audit.__file__)\n"
        "sys.stdout.write(render(AuditReport([PackageAudit('p', 'p')], '0'), 'html'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    where, html = out.split("\n", 1)
    assert Path(where).is_relative_to(site)
    from cloacina_audit.model.report import PackageAudit

    assert html == render(AuditReport([PackageAudit("p", "p")], "0"), "html")
    css = (ROOT / "cloacina_audit" / "render" / "report.css").read_text(encoding="utf-8")
    assert f"<style>\n{css}</style>" in html


def test_every_human_format_counts_the_statements_a_baseline_knows() -> None:
    known = contract_with(3).violations
    contract = replace(contract_with(1), baselined=known)
    view = build_view(report_with(contract)).packages[0].contracts[0]
    assert view.baselined == "3 baselined statements"
    assert view.about.endswith("1 offending statement · 3 baselined statements")
    for fmt in HUMAN:
        assert "3 baselined statements" in render(report_with(contract), fmt, width=120), fmt
    assert build_view(report_with(contract_with(1))).packages[0].contracts[0].baselined == ""
