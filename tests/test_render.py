from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from report_samples import (
    CONTRACT,
    bloated_audit,
    comparison_report,
    many_packages_report,
    slim_audit,
)

from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import (
    AuditReport,
    Comparison,
    ContractResult,
    ImportStep,
    PackageAudit,
    Violation,
)
from cloacina_audit.render import FORMATS, render
from cloacina_audit.render.github import escape_data, escape_property
from cloacina_audit.render.markdown import HEADING, MARKER
from cloacina_audit.render.sarif import slugify

TASKS_FILE = "fixtures/bloated/bloated_flow/tasks.py"


def hostile_report() -> AuditReport:
    """Names full of characters each format must escape."""
    step = ImportStep(
        importer="evil",
        imported="cloacina.runtime",
        file="evil, mod:1%.py",
        line=3,
        kind="module",
        statement="import cloacina.runtime  # <script>alert(1)</script> | `x`",
    )
    contract = ContractResult(
        name="No runtime, ever: 100% <b>sure</b> | really",
        type="forbidden",
        kept=False,
        violations=[Violation((step,))],
    )
    return AuditReport(
        packages=[PackageAudit(name="<script>pkg</script>", path="p&q", contracts=[contract])],
        tool_version="0.1.0",
    )


# --- dispatch -----------------------------------------------------------------------


def test_every_format_renders_and_unknown_ones_are_input_errors() -> None:
    assert FORMATS == ("text", "json", "markdown", "sarif", "github", "html")
    for fmt in FORMATS:
        assert render(comparison_report(), fmt)
        assert render(many_packages_report(), fmt)
    with pytest.raises(AuditError, match="'yaml'"):
        render(comparison_report(), "yaml")


def test_output_is_deterministic() -> None:
    for fmt in FORMATS:
        assert render(comparison_report(), fmt) == render(comparison_report(), fmt)


# --- json ---------------------------------------------------------------------------


def test_json_has_the_design_keys() -> None:
    data = json.loads(render(comparison_report(), "json"))
    assert list(data) == ["schema_version", "tool_version", "packages", "before", "after", "delta"]
    assert data["schema_version"] == 1
    assert data["tool_version"] == "0.1.0"
    before = data["before"]
    assert {"name", "path", "contracts", "footprint", "budgets"} <= set(before)
    contract = before["contracts"][0]
    assert {"name", "type", "kept", "violations"} <= set(contract)
    assert contract["kept"] is False
    chain = contract["violations"][0]["chain"]
    assert [step["kind"] for step in chain] == ["module", "implicit", "function"]
    for step in chain:
        assert {"importer", "imported", "file", "line", "kind"} <= set(step)
    footprint = before["footprint"]
    assert {"distributions", "install_bytes", "native_files", "native_bytes"} <= set(footprint)
    assert (footprint["distributions"], footprint["install_bytes"]) == (4, 31_200_000)
    for dist in footprint["by_distribution"]:
        assert {"name", "version", "bytes", "files", "native_files", "unique_bytes"} <= set(dist)
    unmeasured = [d for d in footprint["by_distribution"] if d["unmeasured"]]
    assert unmeasured[0]["bytes"] is None
    assert {"modules", "forbidden_loaded", "seconds_median"} <= set(footprint["import"])
    assert footprint["package"]["name"] == "bloated-flow"
    for budget in before["budgets"]:
        assert list(budget) == ["name", "limit", "actual", "ok"]
    assert data["packages"] == [data["after"]]


def test_json_delta_is_signed_with_percentages() -> None:
    delta = json.loads(render(comparison_report(), "json"))["delta"]
    assert delta["install_bytes"] == 48_000 - 31_200_000
    assert delta["install_bytes_pct"] == -99.85
    assert (delta["distributions"], delta["distributions_pct"]) == (-3, -75.0)
    assert delta["native_files"] == -14
    assert delta["import"]["modules"] == 41 - 612
    assert delta["import"]["seconds_median_pct"] == pytest.approx(-98.57)
    assert delta["contracts"]["broken_before"] == 1 and delta["contracts"]["broken_after"] == 0
    rows = {row["name"]: row for row in delta["by_distribution"]}
    assert rows["psycopg2-binary"]["status"] == "removed"
    assert rows["psycopg2-binary"]["bytes"] == -13_900_000
    assert rows["cloacina-workflow"]["status"] == "changed"
    assert delta["reduction"] == {"target_pct": 80.0, "install_bytes_pct": 99.85, "reached": True}


def test_json_delta_keys_are_documented() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "json-report.md").read_text(encoding="utf-8")
    delta = json.loads(render(comparison_report(), "json"))["delta"]
    keys = [*delta, *delta["import"], *delta["contracts"], *delta["by_distribution"][0]]
    keys += [*delta["reduction"]]
    assert [key for key in keys if f'"{key}"' not in doc] == []
    assert delta["import"]["seconds_median"] == -0.828


def test_json_without_comparison_or_footprint() -> None:
    report = AuditReport(packages=[PackageAudit("p", "p")], tool_version="0.1.0")
    data = json.loads(render(report, "json"))
    assert list(data) == ["schema_version", "tool_version", "packages"]
    assert data["packages"][0]["footprint"] is None


# --- sarif --------------------------------------------------------------------------


def test_sarif_rules_results_and_locations() -> None:
    sarif = json.loads(render(many_packages_report(), "sarif"))
    assert sarif["version"] == "2.1.0"
    assert "sarif-2.1.0" in sarif["$schema"]
    run = sarif["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "cloacina-audit"
    assert driver["version"] == "0.1.0"
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert rules[slugify(CONTRACT)]["shortDescription"]["text"] == CONTRACT
    assert slugify(CONTRACT) == "workflow-packages-use-only-the-authoring-layer"

    violations = [r for r in run["results"] if r["ruleId"] == slugify(CONTRACT)]
    assert len(violations) == 2
    first = violations[0]
    assert first["level"] == "error"
    assert first["message"]["text"].endswith(
        "bloated_flow.tasks -> cloacina.registry.loader -> cloacina.registry"
        " -> cloacina.database.dal"
    )
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == TASKS_FILE
    assert location["region"]["startLine"] == 4
    related = first["relatedLocations"]
    assert [r["id"] for r in related] == [1, 2]
    site = related[1]["physicalLocation"]
    assert site["artifactLocation"]["uri"].startswith("file:///opt/audit-env/")
    assert site["region"]["startLine"] == 27
    assert "region" not in related[0]["physicalLocation"]  # implicit step: no line

    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["manifest-framework-dependency"] == "warning"
    assert levels["budget-max-install-size"] == "error"
    assert sum(1 for r in run["results"] if r["ruleId"].startswith("budget-")) == 4


def test_sarif_paths_are_relative_to_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "repo" / "pkgs" / "bloated"
    package.mkdir(parents=True)
    (package / "pyproject.toml").write_text("[project]\nname = 'bloated-flow'\n")
    monkeypatch.chdir(tmp_path / "repo")
    report = AuditReport(packages=[bloated_audit(str(package))], tool_version="0.1.0")
    run = json.loads(render(report, "sarif"))["runs"][0]
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    ]
    assert uris[0] == "pkgs/bloated/bloated_flow/tasks.py"
    budget = [r for r in run["results"] if r["ruleId"] == "budget-max-install-size"][0]
    assert budget["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "pkgs/bloated/pyproject.toml",
        "uriBaseId": "%SRCROOT%",
    }
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == (tmp_path / "repo").as_uri() + "/"


def test_sarif_uris_are_percent_encoded() -> None:
    run = json.loads(render(hostile_report(), "sarif"))["runs"][0]
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "p%26q/evil%2C%20mod%3A1%25.py"


# --- github -------------------------------------------------------------------------

COMMAND = re.compile(r"^::(error|warning|notice)( [a-z]+=[^,:\n]*(,[a-z]+=[^,:\n]*)*)?::[^\n\r]*$")


def test_github_annotations() -> None:
    lines = render(many_packages_report(), "github").splitlines()
    assert all(COMMAND.match(line) for line in lines), lines
    errors = [line for line in lines if line.startswith("::error file=" + TASKS_FILE)]
    assert errors[0].startswith(f"::error file={TASKS_FILE},line=4,title={CONTRACT}::")
    assert "%0Afixtures/bloated/bloated_flow/tasks.py:4  from cloacina.registry.loader" in errors[0]
    assert "[implicit parent]" in errors[0]
    assert any(
        line.startswith("::warning file=fixtures/bloated/pyproject.toml,line=7") for line in lines
    )
    budgets = [line for line in lines if "title=Budget " in line]
    assert len(budgets) == 4
    assert "::bloated-flow: 31.2 MB (limit 2 MB)" in budgets[0]


def test_github_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    line = render(hostile_report(), "github").splitlines()[0]
    assert COMMAND.match(line)
    assert "title=No runtime%2C ever%3A 100%25 <b>sure</b> | really::" in line
    assert "file=p&q/evil%2C mod%3A1%25.py,line=3," in line


def test_github_goal_notice() -> None:
    lines = render(comparison_report(), "github").splitlines()
    assert lines == [
        "::notice title=cloacina-audit::Install size: 31.2 MB -> 48.0 kB (-99.8%25),"
        " goal 80%25 reduction: reached"
    ]


# --- markdown -----------------------------------------------------------------------


def markdown_tokens(text: str) -> list[str]:
    return [token.type for token in MarkdownIt("commonmark").enable("table").parse(text)]


def test_markdown_comment() -> None:
    text = render(comparison_report(), "markdown")
    lines = text.splitlines()
    assert lines[0] == HEADING == "## cloacina-audit report"
    assert lines[1] == MARKER
    assert "| Package | Contracts | Install size | Budgets | Verdict |" in lines
    assert "| Install size | 31.2 MB | 48.0 kB (-99.8% 🔻) | -31.2 MB |" in lines
    assert "Install size: 31.2 MB -> 48.0 kB (-99.8%), goal 80% reduction: reached" in text
    assert "<details><summary>" in text and "</details>" in text
    assert text.count("<details>") == text.count("</details>")
    assert markdown_tokens(text).count("table_open") >= 4


def test_markdown_comment_order_verdict_violations_delta_budgets() -> None:
    """The comment teams expect: verdict first, then new violations, then the footprint's
    change, then budgets (bloated after slim: it grew, and its contracts broke)."""
    grown = AuditReport(
        packages=[bloated_audit()], tool_version="0.1.0",
        comparison=Comparison(before=slim_audit(), after=bloated_audit()),
    )
    text = render(grown, "markdown")
    lines = text.splitlines()
    assert lines[:5] == [HEADING, MARKER, "", "### ❌ Contract broken", ""]
    assert lines[5].startswith("**Result:** 2 contracts: 1 kept, 1 broken;")
    order = [text.index(marker) for marker in (
        "### ❌", "❌ **", "```text", "#### Before and after", "**Footprint:**", "**Budgets**")]
    assert order == sorted(order)
    assert "| Install size | 48.0 kB | 31.2 MB (+64900.0% 🔺) | +31.2 MB |" in lines
    summary = next(line for line in lines if line.startswith("| `bloated-flow`"))
    assert "| 31.2 MB (+64900.0% 🔺) |" in summary
    # Contract counts have no percentage; a figure that did not move has no arrow.
    assert "| Contracts broken | 0 | 1 | +1 |" in lines
    same = AuditReport(packages=[slim_audit()], tool_version="0.1.0",
                       comparison=Comparison(before=slim_audit(), after=slim_audit()))
    unchanged = render(same, "markdown")
    assert "| Install size | 48.0 kB | 48.0 kB (+0.0%) | 0 B |" in unchanged.splitlines()
    assert "| Native files | 0 | 0 | +0 |" in unchanged.splitlines()
    assert "🔺" not in unchanged and "🔻" not in unchanged
    assert "### ✅ OK" in unchanged


def test_markdown_violations_are_code_blocks() -> None:
    text = render(many_packages_report(), "markdown")
    block = re.search(r"```text\n(.*?)\n```", text, re.S)
    assert block is not None
    chain = block.group(1).splitlines()
    assert chain[0] == (
        "bloated_flow.tasks -> cloacina.registry.loader -> cloacina.registry"
        " -> cloacina.database.dal"
    )
    assert chain[1] == (
        f"{TASKS_FILE}:4  from cloacina.registry.loader import load_package  [module-level]"
    )
    assert chain[3].endswith("from cloacina.database.dal import DAL  [deferred]")


def test_markdown_escapes_names() -> None:
    text = render(hostile_report(), "markdown")
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    assert "<script>" not in rendered and "<b>" not in rendered
    assert "&lt;script&gt;pkg&lt;/script&gt;" in rendered
    summary_row = [line for line in text.splitlines() if line.startswith("| `")][0]
    assert summary_row.count(" | ") == 4  # the pipe in the name did not add a column


# --- html ---------------------------------------------------------------------------


class _Parsed(HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "rect", "path", "line"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.mismatched: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.open or self.open.pop() != tag:
            self.mismatched.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> _Parsed:
    parser = _Parsed()
    parser.feed(text)
    parser.close()
    assert parser.open == [] and parser.mismatched == []
    return parser


def test_html_is_self_contained_with_figures_and_chart() -> None:
    text = render(comparison_report(), "html")
    parsed = parse_html(text)
    content = " ".join(parsed.text)
    for figure in ("31.2 MB", "48.0 kB", "-99.8%", "psycopg2-binary", "13.9 MB"):
        assert figure in content
    assert "goal 80% reduction: reached" in content
    assert "the package itself" in content and "slim-flow (this package)" in content
    assert "svg" in parsed.tags and parsed.tags.count("rect") >= 4
    assert "script" not in parsed.tags and "link" not in parsed.tags
    for name, value in parsed.attrs:
        assert name not in {"src", "srcset"}
        if name == "href":
            assert value and value.startswith("#")
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text


def test_html_shows_contracts_and_breakdown() -> None:
    content = " ".join(parse_html(render(many_packages_report(), "html")).text)
    assert "bloated_flow.tasks -> cloacina.registry.loader" in content
    for label in ("module-level", "implicit parent", "deferred"):
        assert label in content
    assert "not measured: editable install" in content
    assert "contract broken" in content


def test_html_escapes_everything() -> None:
    parsed = parse_html(render(hostile_report(), "html"))
    assert "script" not in parsed.tags and "b" not in parsed.tags
    assert "<script>pkg</script>" in " ".join(parsed.text)


# --- text ---------------------------------------------------------------------------


@pytest.mark.parametrize("report", [comparison_report(), many_packages_report(), hostile_report()])
def test_text_fits_80_columns(report: AuditReport) -> None:
    text = render(report, "text", width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "\x1b" not in text


def test_text_shows_every_step_of_a_chain() -> None:
    text = render(many_packages_report(), "text")
    assert f"{TASKS_FILE}:4  [module-level]" in text
    assert "from cloacina.registry.loader import load_package" in text
    assert ".../site-packages/cloacina/registry/__init__.py  [implicit parent]" in text
    assert "(runs cloacina/registry/__init__.py)" in text
    assert ".../site-packages/cloacina/registry/__init__.py:27  [deferred]" in text
    assert "flow.py:2" in text
    assert "cloacina not measured: editable install" in text
    assert re.search(r"bloated-flow \(this package\)\s+0\.1\.0\s+12\.0 kB", text)
    assert "Forbidden modules loaded: cloacina.runtime, psycopg2, sqlalchemy" in text
    assert "max-install-size" in text and "exceeded" in text


def test_text_short_steps_stay_on_one_line() -> None:
    text = render(many_packages_report(), "text", width=120)
    assert (
        f"{TASKS_FILE}:4  from cloacina.registry.loader import load_package  [module-level]" in text
    )


def test_text_comparison_and_summary() -> None:
    text = render(comparison_report(), "text")
    assert "Install size: 31.2 MB -> 48.0 kB (-99.8%), goal 80% reduction: reached" in text
    assert re.search(r"Install size\s+31\.2 MB\s+48\.0 kB\s+-31\.2 MB\s+-99\.8%", text)
    assert re.search(r"- psycopg2-binary\s+2\.9\.10\s+13\.9 MB", text)
    assert re.search(r"~ cloacina-workflow", text)
    assert "Summary" not in text
    many = render(many_packages_report(), "text")
    assert re.search(r"bloated-flow\s+1/2 kept\s+31\.2 MB\s+0/4 met\s+contract broken", many)
    assert re.search(r"slim-flow\s+2/2 kept\s+48\.0 kB\s+2/2 met\s+ok", many)


def test_text_colour_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    assert "\x1b[" in render(many_packages_report(), "text", color=True)
    assert "\x1b[" not in render(many_packages_report(), "text", color=False)


def _one_print_per_line(color: bool, width: int, rows: list[tuple[str, str, int]]) -> str:
    """The text renderer's lines as rich lays out one Padding per print: the reference."""
    import io

    from rich.console import Console
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    reference = Console(file=io.StringIO(), width=width, color_system="auto" if color else None,
                        force_terminal=color, no_color=not color, highlight=False, emoji=False)
    for location, statement, indent in rows:
        where, kind = Text(location, style="cyan"), Text("[module]", style="bold red")
        line = Text.assemble(where, "  ", statement, "  ", kind)
        if line.cell_len <= width - indent:
            reference.print(Padding(line, (0, 0, 0, indent)))
        else:
            reference.print(Padding(Text.assemble(where, "  ", kind), (0, 0, 0, indent)))
            reference.print(Padding(Text(statement), (0, 0, 0, indent + 2)))
        grid = Table.grid()
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(Text("→ ", style="dim"), Text(statement))
        reference.print(Padding(grid, (0, 0, 0, indent)))
    buffer = reference.file
    joined = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
    return joined


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("width", [40, 80])
def test_lines_printed_in_one_run_are_the_bytes_of_one_print_each(color: bool, width: int) -> None:
    import io

    from rich.text import Text

    from cloacina_audit.render.text import finished, hanging, located, text_console

    rows = [
        ("wf/tasks.py:3", "import engine", 3),
        ("wf/a/very/deep/path/to/the/module.py:120", "from engine.runtime import scheduler", 7),
        ("wf/漢字.py:1", "import 漢字漢字漢字漢字漢字漢字", 5),  # wide characters: two cells each
        ("x.py:1", "from engine import " + ", ".join(f"name{i}" for i in range(12)), 3),
    ]
    console = text_console(io.StringIO(), color=color, width=width)
    for location, statement, indent in rows:
        located(console, location, statement, Text("[module]", style="bold red"), indent)
        hanging(console, Text("→ ", style="dim"), Text(statement), indent)
    assert finished(console) == _one_print_per_line(color, width, rows)


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("width", [30, 80])
def test_a_hanging_body_wraps_as_a_two_column_grid_would(color: bool, width: int) -> None:
    """Bodies of several lines, and words longer than the column (folded), keep the
    layout rich's grid gave them; the grid is the reference."""
    import io

    from rich.console import Console
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from cloacina_audit.render.text import finished, hanging, text_console

    bodies = [
        "Move the import into the task.\nOr depend on the authoring layer only, which is "
        "the package the contract allows.",
        "a.b.c -> " + "very_long_module_name_" * 4 + " -> d",
        "short",
    ]
    console = text_console(io.StringIO(), color=color, width=width)
    reference = Console(file=io.StringIO(), width=width, color_system="auto" if color else None,
                        force_terminal=color, no_color=not color, highlight=False, emoji=False)
    for body in bodies:
        hanging(console, Text("How to fix: ", style="bold"), Text(body), 3)
        grid = Table.grid()
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(Text("How to fix: ", style="bold"), Text(body))
        reference.print(Padding(grid, (0, 0, 0, 3)))
    expected = "\n".join(line.rstrip() for line in reference.file.getvalue().splitlines()) + "\n"
    assert finished(console) == expected
