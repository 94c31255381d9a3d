"""What removing each offending statement saves, on wheels built here where the answer is
known by construction: ``a.py`` alone brings heavy and heavydep; ``c.py`` and ``d.py`` both
bring shared (and tail, which shared requires): neither alone saves anything, together they
save both; ``b.py`` breaks nothing and keeps light."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_cli, write_tree
from pseudo_terminal import run_in_terminal
from wheelmaker import make_wheel

PAD = "# " + "x" * 998 + "\n"

CONFIG = """
    [importlinter]
    root_packages = app
    [importlinter:contract:heavy]
    name = The app never reaches heavy or shared
    type = forbidden
    source_modules = app
    forbidden_modules =
        heavy
        shared
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("cost")
    wheels = root / "wheels"
    make_wheel(wheels, "heavy", "1.0", {"heavy/__init__.py": "import heavydep\n" + PAD * 200},
               requires=("heavydep",))
    make_wheel(wheels, "heavydep", "1.0", {"heavydep/__init__.py": PAD * 100})
    make_wheel(wheels, "light", "1.0", {"light/__init__.py": PAD * 5})
    make_wheel(wheels, "shared", "1.0", {"shared/__init__.py": PAD * 50}, requires=("tail",))
    make_wheel(wheels, "tail", "1.0", {"tail/__init__.py": PAD * 20})
    app = make_wheel(root / "app", "app", "1.0", {
        "app/__init__.py": "from app import a, b, c, d\n",
        "app/a.py": "import heavy\n",
        "app/b.py": "import light\n",
        "app/c.py": "import shared\n",
        "app/d.py": "import shared\n",
    }, requires=("heavy", "light", "shared"))
    config = write_tree(root / "config", {".importlinter": CONFIG}) / ".importlinter"
    return wheels, app, config


def _cli(built: tuple[Path, Path, Path], *args: str):
    wheels, app, config = built
    env = {"UV_FIND_LINKS": str(wheels), "UV_NO_INDEX": "1"}
    return run_cli(*args, str(app), "--config", str(config), "--preset", "none",
                   "--probe-runs", "1", env=env, timeout=300)


@pytest.fixture(scope="module")
def report(built: tuple[Path, Path, Path]) -> dict:
    result = _cli(built, "report", "--format", "json")
    assert result.code == 1, result.stderr[-2000:]
    return json.loads(result.stdout)["packages"][0]


def _bytes(report: dict, *names: str) -> int:
    rows = {r["name"]: r["bytes"] for r in report["footprint"]["by_distribution"]}
    return sum(rows[n] for n in names)


def test_a_statement_that_alone_reaches_distributions_saves_them(report):
    costs = {Path(c["file"]).name: c for c in report["costs"]}
    assert set(costs) == {"a.py", "c.py", "d.py"}  # b.py breaks no contract
    a = costs["a.py"]
    assert a["line"] == 1 and a["statement"] == "import heavy"
    assert a["distributions"] == ["heavy", "heavydep"]
    assert a["bytes"] == _bytes(report, "heavy", "heavydep")
    assert a["modules"] == 2  # heavy and the heavydep it imports, as the probe loaded them
    assert a["native_files"] == 0 and a["shared_bytes"] == 0 and a["kept_bytes"] == 0
    assert report["costs"][0] is not None and Path(report["costs"][0]["file"]).name == "a.py"


def test_statements_that_share_a_distribution_save_it_only_together(report):
    costs = {Path(c["file"]).name: c for c in report["costs"]}
    for name in ("c.py", "d.py"):
        assert costs[name]["bytes"] == 0 and costs[name]["distributions"] == []
        assert costs[name]["shared_bytes"] == _bytes(report, "shared", "tail")
        assert costs[name]["reaches"] == ["shared", "tail"]
    together = report["costs_together"]
    assert together["distributions"] == ["heavy", "heavydep", "shared", "tail"]
    assert together["bytes"] == _bytes(report, "heavy", "heavydep", "shared", "tail")


def test_text_report_says_what_removing_it_saves(built, report):
    wheels, app, config = built
    # Wide enough that a temporary directory's path is never wrapped.
    result = run_cli("report", str(app), "--config", str(config), "--preset", "none",
                     "--probe-runs", "1", timeout=300,
                     env={"UV_FIND_LINKS": str(wheels), "UV_NO_INDEX": "1", "COLUMNS": "400"})
    assert "Cost of each offending statement" in result.stdout
    lines = result.stdout.splitlines()
    where = next(i for i, line in enumerate(lines) if line.strip().endswith("a.py:1"))
    assert lines[where + 1].strip().startswith("saves ")
    assert "2 distributions, 2 modules at import" in lines[where + 1]


def test_why_names_every_statement_and_its_route(built):
    result = _cli(built, "why", "tail", "--format", "json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["distribution"] == "tail"
    assert [(Path(r["file"]).name, r["line"], r["imports"], r["requires"]) for r in data["routes"]] == [
        ("c.py", 1, [], ["shared", "tail"]), ("d.py", 1, [], ["shared", "tail"])]
    text = _cli(built, "why", "heavydep")
    assert text.code == 0 and "imports  heavy -> heavydep" in text.stdout
    assert "a.py:1  import heavy" in text.stdout


def test_why_at_a_narrow_terminal_wraps_under_its_labels(built):
    wheels, app, config = built
    run = run_in_terminal("why", "heavydep", str(app), "--config", str(config), "--preset",
                          "none", "--probe-runs", "1", columns=40, stderr="tty",
                          env={"UV_FIND_LINKS": str(wheels), "UV_NO_INDEX": "1"})
    assert run.code == 0, run.text("stderr")
    lines = run.text().splitlines()
    assert all(len(line) <= 40 for line in lines), lines
    assert lines[0].startswith("heavydep 1.0 (")
    assert " ".join(lines[:-3]).endswith("0 native files) is reached from 1 statement of app:")
    # An installed file from its site-packages on; too long for the statement beside it,
    # which goes below it.
    assert lines[-3:] == ["  .../site-packages/app/a.py:1", "    import heavy",
                          "    imports  heavy -> heavydep"]


def test_why_an_unknown_distribution_is_one_line_and_exit_2(built):
    result = _cli(built, "why", "nosuchthing")
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and "nosuchthing: not in the runtime closure" in result.stderr


def test_html_charts_the_split_across_the_statements_with_a_table(built, report):
    result = _cli(built, "report", "--format", "html")
    assert result.code == 1, result.stderr[-2000:]
    html = result.stdout
    figure = html[html.index('<figure class="split">'):]
    figure = figure[:figure.index("</table>")]
    a = next(c for c in report["costs"] if Path(c["file"]).name == "a.py")
    install = report["footprint"]["install_bytes"]
    together = report["costs_together"]["bytes"]
    # a.py alone, c.py and d.py only together, and what code breaking no contract needs.
    parts = re.findall(r"</span>([^<]+)</td><td class=\"num\">([^<]+)</td><td class=\"num\">"
                       r"([^<]+)</td>", figure)
    assert len(parts) == 3 and parts[0][0].endswith("a.py:1 alone")
    assert [p[0] for p in parts[1:]] == [
        "shared by 2 offending statements", "the rest (needed by code that breaks no contract)"]
    assert parts[0][2] == f"{100 * a['bytes'] / install:.1f}%"
    assert parts[1][2] == f"{100 * (together - a['bytes']) / install:.1f}%"
    assert "How the footprint (install size " in figure and 'role="img"' in figure
