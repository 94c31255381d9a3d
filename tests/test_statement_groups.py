"""Reports for people group a contract's chains by the statement of the package they start
at: its best chain (the first the check gives), how many others, every one with -v, and the
contract's fix instructions. Machine formats: one result per statement, JSON keeps all."""

from __future__ import annotations

import json
import re

from markdown_it import MarkdownIt

from cloacina_audit.model.report import AuditReport, ContractResult, ImportStep, PackageAudit, Violation
from cloacina_audit.render import render

TASKS = "flow/tasks.py"
SITE = "/env/site-packages"


def _step(importer: str, imported: str, file: str, line: int, kind: str = "module",
          statement: str = "") -> ImportStep:
    return ImportStep(importer, imported, file, line, kind, statement or f"import {imported}")  # type: ignore[arg-type]


#: tasks.py:3 starts three chains (the first is the best), helpers.py:9 one.
FROM_TASKS = _step("flow.tasks", "cloacina", TASKS, 3, statement="from cloacina import Context")
VIOLATIONS = [
    Violation((FROM_TASKS, _step("cloacina", "cloacina.runtime", f"{SITE}/cloacina/__init__.py", 7))),
    Violation((_step("flow.helpers", "cloacina.database", "flow/helpers.py", 9),)),
    Violation((FROM_TASKS, _step("cloacina", "cloacina.registry", f"{SITE}/cloacina/__init__.py", 8),
               _step("cloacina.registry", "cloacina.runtime.x", f"{SITE}/cloacina/registry.py", 2))),
    Violation((FROM_TASKS, _step("cloacina", "cloacina.db", f"{SITE}/cloacina/__init__.py", 9,
                                 kind="function"),
               _step("cloacina.db", "cloacina.runtime.y", f"{SITE}/cloacina/db.py", 4))),
]
INSTRUCTIONS = ("Import Context from cloacina_workflow.", "Leave the engine to the host.")


def report() -> AuditReport:
    contract = ContractResult("No engine", "forbidden", False, list(VIOLATIONS),
                              origin="preset:cloacina", instructions=INSTRUCTIONS)
    kept = ContractResult("No drivers", "forbidden", True, origin="preset:cloacina",
                          instructions=("never shown: kept",))
    return AuditReport([PackageAudit("flow", "proj", contracts=[contract, kept])], "0.1.0")


def test_text_shows_each_statement_once_with_its_best_chain() -> None:
    text = render(report(), "text", width=100)
    assert text.count("flow/tasks.py:3  from cloacina import Context  [module-level]") == 1
    chains = [line.strip() for line in text.splitlines() if line.lstrip().startswith("→ ")]
    assert chains == [
        "→ flow.tasks -> cloacina -> cloacina.runtime  (+2 other chains)",
        "→ flow.helpers -> cloacina.database",
    ]
    assert "cloacina.registry" not in text  # the other chains are counted, not shown
    assert "   forbidden · preset:cloacina · 2 offending statements in 4 chains" in text
    assert "   How to fix: Import Context from cloacina_workflow.\n" in text
    assert "               Leave the engine to the host.\n" in text
    assert "never shown" not in text
    assert text.rstrip().splitlines()[-2:] == [
        "Other chains from the same statements: -v shows them all.",
        "Result: 2 contracts: 1 kept, 1 broken; 2 offending statements in 4 import chains",
    ]


def test_text_verbose_shows_every_chain_quiet_only_statements() -> None:
    verbose = render(report(), "text", width=100, detail=1)
    chains = [line.strip() for line in verbose.splitlines() if line.lstrip().startswith("→ ")]
    assert len(chains) == 4 and "other chain" not in verbose
    assert ".../site-packages/cloacina/registry.py:2" in verbose
    quiet = render(report(), "text", width=100, detail=-1)
    assert "No drivers" not in quiet  # what passed is not shown
    assert "site-packages" not in quiet  # steps beyond the statement are not shown
    assert "flow/tasks.py:3" in quiet and "How to fix" in quiet


def test_markdown_one_block_per_statement() -> None:
    text = render(report(), "markdown")
    blocks = re.findall(r"```text\n(.*?)\n```", text, re.S)
    assert [b.splitlines()[0] for b in blocks] == [
        "flow.tasks -> cloacina -> cloacina.runtime",
        "flow.helpers -> cloacina.database",
    ]
    assert "… and 2 other chains from this statement" in text
    assert "**How to fix:** Import Context from cloacina_workflow.<br>Leave the engine" in text
    assert "**Result:** 2 contracts: 1 kept, 1 broken; 2 offending statements in 4 import chains" in text
    assert "table_open" in [t.type for t in MarkdownIt("commonmark").enable("table").parse(text)]
    verbose = render(report(), "markdown", detail=1)
    assert len(re.findall(r"^flow\.\w+ -> ", verbose, re.M)) == 4
    assert "other chains" not in verbose


def test_html_one_table_per_statement() -> None:
    text = render(report(), "html")
    assert text.count('<div class="violation"><div class="chain mono">') == 2
    assert "… and 2 other chains from this statement" in text
    assert "<strong>How to fix:</strong> Import Context from cloacina_workflow.<br>" in text
    assert "2 offending statements in 4 import chains" in text
    verbose = render(report(), "html", detail=1)
    assert verbose.count('<div class="violation"><div class="chain mono">') == 4


def test_sarif_and_github_one_result_per_statement() -> None:
    sarif = json.loads(render(report(), "sarif"))["runs"][0]
    results = sarif["results"]
    assert [r["properties"]["chains"] for r in results] == [3, 1]
    assert results[0]["message"]["text"] == (
        "No engine: flow.tasks -> cloacina -> cloacina.runtime"
        " (and 2 other chains from this statement)"
    )
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    rule = sarif["tool"]["driver"]["rules"][0]
    assert "How to fix: Import Context from cloacina_workflow." in rule["fullDescription"]["text"]
    github = render(report(), "github").splitlines()
    assert len(github) == 2
    assert github[0].startswith("::error file=proj/flow/tasks.py,line=3,title=No engine::")
    assert "(and 2 other chains from this statement)%0AHow to fix: Import Context" in github[0]


def test_json_keeps_every_violation_and_adds_the_grouping() -> None:
    contract = json.loads(render(report(), "json"))["packages"][0]["contracts"][0]
    assert len(contract["violations"]) == 4
    assert contract["instructions"] == list(INSTRUCTIONS)
    assert contract["statements"] == [
        {"file": TASKS, "line": 3, "statement": "from cloacina import Context", "kind": "module",
         "importer": "flow.tasks", "violations": [0, 2, 3]},
        {"file": "flow/helpers.py", "line": 9, "statement": "import cloacina.database",
         "kind": "module", "importer": "flow.helpers", "violations": [1]},
    ]


def test_quiet_shows_error_findings_only() -> None:
    from report_samples import many_packages_report

    text = render(many_packages_report(), "text", width=100)
    assert "manifest/framework-dependency" in text  # a warning
    quiet = render(many_packages_report(), "text", width=100, detail=-1)
    assert "manifest/framework-dependency" not in quiet
    assert "max-install-size" in quiet and "max-distributions" in quiet  # exceeded budgets
