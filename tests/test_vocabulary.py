"""One vocabulary across the README and every format: kind labels, distribution names,
counts in the singular when there is one."""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO
from report_samples import comparison_report, many_packages_report, slim_audit

from cloacina_audit.model.report import AuditReport, ImportProbe
from cloacina_audit.render import render
from cloacina_audit.render._format import KIND_LABELS

README = (REPO / "README.md").read_text(encoding="utf-8")
HUMAN_FORMATS = ["text", "markdown", "html", "github"]


def test_readme_kind_table_is_the_output_vocabulary() -> None:
    rows = re.findall(r"^\| `([^`]+)` \| `([a-z_]+)` \|", README, re.M)
    assert {kind: label for label, kind in rows} == KIND_LABELS
    # every [label] the README shows in an example is one the output uses
    shown = set(re.findall(r"  \[([A-Za-z_ -]+)\]$", README, re.M))
    assert shown and shown <= set(KIND_LABELS.values()), shown - set(KIND_LABELS.values())


def test_json_kinds_stay_the_stable_values() -> None:
    data = json.loads(render(many_packages_report(), "json"))
    kinds = {s["kind"] for p in data["packages"] for c in p["contracts"] for v in c["violations"]
             for s in v["chain"]}
    assert kinds and kinds <= set(KIND_LABELS)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_distribution_names_are_canonical_in_every_table(fmt: str) -> None:
    for report in (many_packages_report(), comparison_report()):
        text = render(report, fmt, width=120)
        for spelled in ("SQLAlchemy", "typing_extensions", "cloacina_workflow"):
            assert spelled not in text, (fmt, spelled)
    text = render(many_packages_report(), fmt, width=120)
    assert "sqlalchemy" in text and "typing-extensions" in text and "cloacina-workflow" in text


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_one_module_is_singular(fmt: str) -> None:
    audit = slim_audit()
    assert audit.footprint is not None
    audit.footprint.import_probe = ImportProbe(1, 0, [], 0.001, runs=1)
    text = render(AuditReport([audit], "0.1.0"), fmt)
    assert re.search(r"1 module\b", text), text
    assert "1 modules" not in text


def test_multi_package_summary_names_each_path() -> None:
    text = render(many_packages_report(), "text", width=100)
    summary = text.split("Summary", 1)[1]
    assert "fixtures/bloated" in summary and "fixtures/slim" in summary
    markdown = render(many_packages_report(), "markdown")
    rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `bloated-flow`<br>`fixtures/bloated` | ")
    assert rows[1].startswith("| `slim-flow`<br>`fixtures/slim` | ")
    html = render(many_packages_report(), "html")
    summary_table = html.split("<h2>Summary</h2>", 1)[1].split("</table>", 1)[0]
    assert "fixtures/bloated" in summary_table and "fixtures/slim" in summary_table
