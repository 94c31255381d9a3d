"""Differential test: ``cloacina-audit check`` against the real ``lint-imports``.

Hypothesis generates small random packages (subpackages and modules, imports at
module level, inside functions and under ``if TYPE_CHECKING:``, absolute and
relative forms, parent ``__init__`` files that import things) and forbidden
contracts between their modules. Both tools check the same ``.importlinter``
(``exclude_type_checking_imports = True``) in drop-in mode, and:

(a) whenever lint-imports says a contract is broken, cloacina-audit says so too;
(b) where cloacina-audit says broken and lint-imports kept, a reported chain
    has an ``implicit`` step (importing ``a.b.c`` runs ``a/b/__init__.py``);
(c) every chain cloacina-audit reports is a real path: each step is an import
    the generator wrote (same importer, imported, file, line and kind) or an
    implicit child -> parent step, the steps connect, and the chain runs from
    the contract's source package into its forbidden package;
(d) both verdicts agree with an independent oracle computed from the generated
    imports: plain reachability for lint-imports, reachability with the
    child -> parent edges added for cloacina-audit.

lint-imports runs in a subprocess (it calls find_spec on the generated package,
which would pollute this process); cloacina-audit runs in-process (it never
imports the audited code) and its result is turned into the ``--format json``
document, so the keys scripts rely on are what is checked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from conftest import run_cli
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cloacina_audit import __version__
from cloacina_audit.app.kinds import check_target
from cloacina_audit.app.options import CheckOptions
from cloacina_audit.discover.target import discover
from cloacina_audit.model.report import KIND_STRENGTH, AuditReport
from cloacina_audit.render.json import report_to_dict

ROOT = "zq_root"
#: A second root package, in some cases: chains may cross from one root to the other.
SECOND_ROOT = "zq_two"
#: Names for submodules; never a name of the stdlib or of an installed distribution.
NAMES = tuple(f"zq_{letter}" for letter in "abcdefgh")
#: A name imported from modules that is never a module itself.
ATTRIBUTE = "zq_value"
MAX_DEPTH = 3  # dots in the deepest module name: zq_root.zq_a.zq_b.zq_c

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

#: Where an import statement sits: the lines around it ("{stmt}" marks it) and
#: the kind that statement has at run time.
PLACEMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "module": (("{stmt}",), "module"),
    "try": (("try:", "    {stmt}", "except ImportError:", "    pass"), "module"),
    "class_body": (("class ZqK:", "    {stmt}"), "module"),
    "not_type_checking": (("if not TYPE_CHECKING:", "    {stmt}"), "module"),
    "type_checking_else": (("if TYPE_CHECKING:", "    pass", "else:", "    {stmt}"), "module"),
    "with": (("with open(__file__):", "    {stmt}"), "module"),
    "type_checking_elif": (("if TYPE_CHECKING:", "    pass", "elif True:", "    {stmt}"), "module"),
    "function": (("def zq_f():", "    {stmt}"), "function"),
    "method": (("class ZqC:", "    def zq_m(self):", "        {stmt}"), "function"),
    "nested_function": (("def zq_outer():", "    def zq_inner():", "        {stmt}"), "function"),
    "async_function": (("async def zq_co():", "    {stmt}"), "function"),
    "type_checking": (("if TYPE_CHECKING:", "    {stmt}"), "type_checking"),
    "typing_type_checking": (("if typing.TYPE_CHECKING:", "    {stmt}"), "type_checking"),
    "aliased_type_checking": (("if zq_typing.TYPE_CHECKING:", "    {stmt}"), "type_checking"),
    "function_under_type_checking": (
        ("if TYPE_CHECKING:", "    def zq_g():", "        {stmt}"),
        "type_checking",
    ),
    "type_checking_in_function": (
        ("def zq_h():", "    if TYPE_CHECKING:", "        {stmt}"),
        "type_checking",
    ),
}
HEADER = ("import typing", "import typing as zq_typing", "from typing import TYPE_CHECKING")


# --- the generated case --------------------------------------------------------------


@dataclass(frozen=True)
class ImportSpec:
    importer: str
    statement: str
    #: The module the statement imports, as grimp records it.
    imported: str
    placement: str


@dataclass(frozen=True)
class Contract:
    name: str
    sources: tuple[str, ...]
    forbidden: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    #: Module name -> is it a package (a directory with __init__.py)?
    modules: dict[str, bool]
    imports: tuple[ImportSpec, ...]
    contracts: tuple[Contract, ...]


@dataclass(frozen=True)
class Truth:
    """An import the generator wrote, where, and when it runs."""

    importer: str
    imported: str
    file: Path
    line: int
    kind: str


def parent(module: str) -> str:
    return module.rsplit(".", 1)[0]


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def overlap(a: str, b: str) -> bool:
    return within(a, b) or within(b, a)


def module_file(root: Path, module: str, is_package: bool) -> Path:
    parts = module.split(".")
    if is_package:
        return root.joinpath(*parts, "__init__.py")
    return root.joinpath(*parts[:-1], parts[-1] + ".py")


def statement_forms(importer: str, is_package: bool, target: str) -> list[str]:
    """Import statements in ``importer`` that grimp records as importing ``target``."""
    forms = [
        f"import {target}",
        f"import {target} as zq_alias",
        f"from {target} import {ATTRIBUTE}",
    ]
    if "." in target:
        forms.append(f"from {parent(target)} import {target.rsplit('.', 1)[1]}")
    # Relative forms, never beyond the top package.
    base = importer if is_package else parent(importer)
    for level in (1, 2):
        if level == 2:
            if "." not in base:
                break
            base = parent(base)
        dots = "." * level
        if target == base:
            forms.append(f"from {dots} import {ATTRIBUTE}")
        elif within(target, base):
            rest = target[len(base) + 1:]
            forms.append(f"from {dots}{rest} import {ATTRIBUTE}")
            if "." not in rest:
                forms.append(f"from {dots} import {rest}")
    # The same over several lines: grimp and the report give its first line.
    forms += [parenthesized(form) for form in forms if form.startswith("from ")]
    return forms


def parenthesized(statement: str) -> str:
    """``from a import b`` written as a parenthesized import over three lines."""
    head, names = statement.split(" import ", 1)
    return f"{head} import (\n    {names},\n)"


# --- strategies -------------------------------------------------------------------


@st.composite
def module_trees(draw) -> dict[str, bool]:
    # Two children of the root first, so that two non-overlapping modules always exist.
    modules = {ROOT: True}
    for name in draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=2, unique=True)):
        modules[f"{ROOT}.{name}"] = draw(st.booleans())
    if draw(st.booleans()):
        modules[SECOND_ROOT] = True
    for _ in range(draw(st.integers(min_value=1, max_value=10))):
        packages = sorted(m for m, is_pkg in modules.items() if is_pkg and m.count(".") < MAX_DEPTH)
        base = draw(st.sampled_from(packages))
        taken = {m.rsplit(".", 1)[1] for m in modules if m.startswith(base + ".") and
                 m.count(".") == base.count(".") + 1}
        free = [n for n in NAMES if n not in taken]
        if not free:
            continue
        name = f"{base}.{draw(st.sampled_from(free))}"
        modules[name] = name.count(".") < MAX_DEPTH and draw(st.booleans())
    return modules


@st.composite
def import_specs(draw, modules: dict[str, bool]) -> tuple[ImportSpec, ...]:
    names = sorted(modules)
    specs = []
    for importer in names:
        # Packages import more: parent __init__ files are where implicit chains run.
        most = 4 if modules[importer] else 2
        for _ in range(draw(st.integers(min_value=0, max_value=most))):
            target = draw(st.sampled_from([m for m in names if m != importer]))
            statement = draw(st.sampled_from(statement_forms(importer, modules[importer], target)))
            placement = draw(st.sampled_from(sorted(PLACEMENTS)))
            specs.append(ImportSpec(importer, statement, target, placement))
    return tuple(specs)


@st.composite
def forbidden_contracts(draw, modules: dict[str, bool], index: int) -> Contract:
    names = sorted(m for m in modules if m != ROOT)  # the root overlaps every other module

    def pick(avoid: Iterable[str]) -> str | None:
        avoid = list(avoid)
        free = [m for m in names if not any(overlap(m, a) for a in avoid)]
        return draw(st.sampled_from(free)) if free else None

    sources = [pick([])]
    forbidden = [pick(sources)]  # never None: the root has two children
    if draw(st.booleans()) and (extra := pick(sources + forbidden)):
        sources.append(extra)
    if draw(st.booleans()) and (extra := pick(sources + forbidden)):
        forbidden.append(extra)
    return Contract(f"zqc{index}", tuple(sources), tuple(forbidden))


@st.composite
def cases(draw) -> Case:
    modules = draw(module_trees())
    imports = draw(import_specs(modules))
    count = draw(st.integers(min_value=1, max_value=4))
    contracts = tuple(draw(forbidden_contracts(modules, i)) for i in range(count))
    return Case(modules, imports, contracts)


# --- writing a case to disk ----------------------------------------------------------


def write_case(case: Case, root: Path) -> list[Truth]:
    """Write the package and .importlinter below ``root``; return the imports written."""
    truth: list[Truth] = []
    for module, is_package in case.modules.items():
        path = module_file(root, module, is_package)
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = list(HEADER)
        for spec in (s for s in case.imports if s.importer == module):
            template, kind = PLACEMENTS[spec.placement]
            for text in template:
                if "{stmt}" in text:
                    truth.append(Truth(module, spec.imported, path, len(lines) + 1, kind))
                    indent = text[: text.index("{stmt}")]
                    text = text.replace("{stmt}", spec.statement.replace("\n", "\n" + indent))
                lines.extend(text.split("\n"))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = [
        "[importlinter]",
        "root_packages =",
        *(f"    {m}" for m in case.modules if "." not in m),
        "exclude_type_checking_imports = True",
        "",
    ]
    for contract in case.contracts:
        config += [
            f"[importlinter:contract:{contract.name}]",
            f"name = {contract.name}",
            "type = forbidden",
            "source_modules =",
            *(f"    {m}" for m in contract.sources),
            "forbidden_modules =",
            *(f"    {m}" for m in contract.forbidden),
            "",
        ]
    (root / ".importlinter").write_text("\n".join(config), encoding="utf-8")
    return truth


def describe(case: Case, root: Path) -> str:
    """The generated files, for assertion messages."""
    parts = []
    for module, is_package in sorted(case.modules.items()):
        path = module_file(root, module, is_package)
        parts.append(f"--- {path.relative_to(root)}\n{path.read_text()}")
    parts.append(f"--- .importlinter\n{(root / '.importlinter').read_text()}")
    return "\n".join(parts)


# --- running both tools ----------------------------------------------------------------


def lint_imports_verdicts(root: Path) -> dict[str, bool]:
    """Contract name -> broken?, from the real lint-imports."""
    env = {**os.environ, "PYTHONPATH": str(root), "NO_COLOR": "1"}
    completed = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    verdicts = {
        match[1]: match[2] == "BROKEN"
        for match in re.finditer(r"^(zqc\d+) (KEPT|BROKEN)$", completed.stdout, re.MULTILINE)
    }
    assert (completed.returncode == 1) == any(verdicts.values()), completed.stdout
    return verdicts


def cloacina_audit_report(root: Path) -> dict[str, dict]:
    """Contract name -> contract entry of ``check --format json``, computed in-process."""
    audit = check_target(discover(str(root)), CheckOptions(cache_dir=None))
    document = report_to_dict(AuditReport(packages=[audit], tool_version=__version__))
    return {c["name"]: c for c in document["packages"][0]["contracts"]}


# --- the oracle ----------------------------------------------------------------------


def reaches(edges: dict[str, set[str]], sources: Iterable[str], targets: Iterable[str],
            modules: Iterable[str]) -> bool:
    targets = list(targets)
    pending = [m for m in modules if any(within(m, s) for s in sources)]
    seen = set(pending)
    while pending:
        module = pending.pop()
        if any(within(module, t) for t in targets):
            return True
        for nxt in edges.get(module, ()):
            if nxt not in seen:
                seen.add(nxt)
                pending.append(nxt)
    return False


def oracle(case: Case, truth: list[Truth]) -> tuple[dict[str, bool], dict[str, bool]]:
    """Expected verdicts (name -> broken?): plain graph, and with implicit parent imports."""
    plain: dict[str, set[str]] = {}
    for t in truth:
        if t.kind != "type_checking":
            plain.setdefault(t.importer, set()).add(t.imported)
    implicit = {m: set(e) for m, e in plain.items()}
    for module in case.modules:
        if "." in module:
            implicit.setdefault(module, set()).add(parent(module))
    return (
        {c.name: reaches(plain, c.sources, c.forbidden, case.modules) for c in case.contracts},
        {c.name: reaches(implicit, c.sources, c.forbidden, case.modules) for c in case.contracts},
    )


# --- the properties --------------------------------------------------------------------


def check_chain(chain: list[dict], contract: Contract, truth: list[Truth], where: str) -> None:
    assert chain, f"{where}: empty chain"
    first, last = chain[0]["importer"], chain[-1]["imported"]
    assert any(within(first, s) for s in contract.sources), (
        f"{where}: chain starts at {first}, outside the source modules {contract.sources}"
    )
    assert any(within(last, f) for f in contract.forbidden), (
        f"{where}: chain ends at {last}, outside the forbidden modules {contract.forbidden}"
    )
    for before, after in zip(chain, chain[1:]):
        assert before["imported"] == after["importer"], f"{where}: steps do not connect: {chain}"
    for step in chain:
        importer, imported, kind = step["importer"], step["imported"], step["kind"]
        assert kind in KIND_STRENGTH, f"{where}: unknown kind {kind!r}"
        assert kind != "type_checking", f"{where}: an excluded TYPE_CHECKING import in {step}"
        written = [t for t in truth if (t.importer, t.imported) == (importer, imported)]
        is_parent = "." in importer and imported == parent(importer)
        if kind == "implicit":
            assert is_parent, (
                f"{where}: implicit step {importer} -> {imported} is not child -> parent"
            )
        else:
            assert any(
                (t.line, t.kind, str(t.file)) == (step["line"], kind, step["file"]) for t in written
            ), (
                f"{where}: step {importer} -> {imported} at {step['file']}:{step['line']} "
                f"[{kind}] is not an import that was written; written: {written}"
            )
        # One edge may stand for several statements: the step shows the strongest.
        kinds = {t.kind for t in written} | ({"implicit"} if is_parent else set())
        strongest = max(kinds, key=KIND_STRENGTH.__getitem__)
        assert kind == strongest, (
            f"{where}: step {importer} -> {imported} labelled {kind}, but the strongest "
            f"import behind it is {strongest} (kinds written: {sorted(kinds)})"
        )


def check_case(case: Case, root: Path) -> tuple[dict[str, bool], dict[str, dict]]:
    truth = write_case(case, root)
    lint = lint_imports_verdicts(root)
    ours = cloacina_audit_report(root)
    plain_oracle, implicit_oracle = oracle(case, truth)
    files = describe(case, root)
    for contract in case.contracts:
        name = contract.name
        assert name in lint, f"lint-imports did not report {name}\n{files}"
        assert name in ours, f"cloacina-audit did not report {name}\n{files}"
        entry = ours[name]
        broken_ours, broken_lint = not entry["kept"], lint[name]
        chains = [v["chain"] for v in entry["violations"]]
        # (a) every violation lint-imports finds, cloacina-audit finds.
        assert broken_ours or not broken_lint, (
            f"{name}: lint-imports says BROKEN but cloacina-audit says kept\n{files}"
        )
        # (b) the only reason to disagree is an implicit parent import.
        if broken_ours and not broken_lint:
            assert any(step["kind"] == "implicit" for chain in chains for step in chain), (
                f"{name}: cloacina-audit says broken and lint-imports kept, so the difference "
                f"must be an implicit parent import, but no reported chain has an implicit "
                f"step: {json.dumps(chains, indent=1)}\n{files}"
            )
        # (c) every chain is a real path of imports.
        assert broken_ours == bool(chains), f"{name}: kept={entry['kept']} with chains {chains}"
        for number, chain in enumerate(chains):
            check_chain(chain, contract, truth, f"{name} chain {number}\n{files}\n")
        # (d) both tools agree with reachability over the imports that were written.
        assert broken_lint == plain_oracle[name], (
            f"{name}: lint-imports says broken={broken_lint}, reachability over the written "
            f"imports (TYPE_CHECKING excluded) says {plain_oracle[name]}\n{files}"
        )
        assert broken_ours == implicit_oracle[name], (
            f"{name}: cloacina-audit says broken={broken_ours}, reachability over the written "
            f"imports plus child -> parent edges says {implicit_oracle[name]}\n{files}"
        )
    return lint, ours


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        # The autouse cache fixture of conftest is function-scoped; it only sets an env var.
        HealthCheck.function_scoped_fixture,
    ],
)
@given(case=cases())
def test_verdicts_agree_with_lint_imports_and_chains_are_real(case: Case) -> None:
    """Slow (about 8 s): 40 generated packages, each checked by lint-imports and by us."""
    with tempfile.TemporaryDirectory(prefix="zq-differential-") as directory:
        lint, ours = check_case(case, Path(directory).resolve())
    for name, broken in lint.items():
        event("lint-imports: broken" if broken else "lint-imports: kept")
        if not ours[name]["kept"] and not broken:
            event("broken only through an implicit parent import")
    kinds = {s["kind"] for c in ours.values() for v in c["violations"] for s in v["chain"]}
    for kind in sorted(kinds):
        event(f"chain step kind: {kind}")


# --- hand-written regressions --------------------------------------------------------


def _case(modules: dict[str, bool], imports: list[tuple[str, str, str, str]],
          sources: tuple[str, ...], forbidden: tuple[str, ...]) -> Case:
    return Case(
        modules=modules,
        imports=tuple(ImportSpec(*spec) for spec in imports),
        contracts=(Contract("zqc0", sources, forbidden),),
    )


def test_violation_only_through_a_parent_init_is_found_and_labelled_implicit(tmp_path):
    # zq_a.zq_view imports zq_lib.zq_util (harmless), but importing it runs
    # zq_lib/__init__.py, which imports the forbidden zq_engine.
    case = _case(
        {ROOT: True, f"{ROOT}.zq_a": True, f"{ROOT}.zq_a.zq_view": False,
         f"{ROOT}.zq_lib": True, f"{ROOT}.zq_lib.zq_util": False, f"{ROOT}.zq_engine": False},
        [
            (f"{ROOT}.zq_a.zq_view", f"from {ROOT}.zq_lib import zq_util",
             f"{ROOT}.zq_lib.zq_util", "module"),
            (f"{ROOT}.zq_lib", f"from {ROOT} import zq_engine", f"{ROOT}.zq_engine", "module"),
        ],
        sources=(f"{ROOT}.zq_a",), forbidden=(f"{ROOT}.zq_engine",),
    )
    lint, ours = check_case(case, tmp_path.resolve())
    assert lint == {"zqc0": False}
    assert not ours["zqc0"]["kept"]
    [violation] = ours["zqc0"]["violations"]
    assert [(s["importer"], s["imported"], s["kind"]) for s in violation["chain"]] == [
        (f"{ROOT}.zq_a.zq_view", f"{ROOT}.zq_lib.zq_util", "module"),
        (f"{ROOT}.zq_lib.zq_util", f"{ROOT}.zq_lib", "implicit"),
        (f"{ROOT}.zq_lib", f"{ROOT}.zq_engine", "module"),
    ]
    # The same through the command line, as a CI script reads it.
    result = run_cli("check", "--format", "json", "--no-cache", cwd=tmp_path)
    assert result.code == 1, result.stderr
    [contract] = json.loads(result.stdout)["packages"][0]["contracts"]
    assert contract["violations"] == ours["zqc0"]["violations"]


def test_function_level_import_breaks_both_and_is_labelled_function(tmp_path):
    case = _case(
        {ROOT: True, f"{ROOT}.zq_a": False, f"{ROOT}.zq_b": True, f"{ROOT}.zq_b.zq_c": False},
        [(f"{ROOT}.zq_a", "from .zq_b import zq_c", f"{ROOT}.zq_b.zq_c", "function")],
        sources=(f"{ROOT}.zq_a",), forbidden=(f"{ROOT}.zq_b",),
    )
    lint, ours = check_case(case, tmp_path.resolve())
    assert lint == {"zqc0": True}
    [violation] = ours["zqc0"]["violations"]
    [step] = violation["chain"]
    assert (step["kind"], step["line"]) == ("function", len(HEADER) + 2)


def test_type_checking_import_is_ignored_on_both_sides(tmp_path):
    # Both a TYPE_CHECKING import and a deferred one under TYPE_CHECKING: neither counts,
    # and the parent chain (zq_b.zq_c -> zq_b) leads nowhere forbidden.
    case = _case(
        {ROOT: True, f"{ROOT}.zq_a": True, f"{ROOT}.zq_a.zq_x": False,
         f"{ROOT}.zq_b": True, f"{ROOT}.zq_b.zq_c": False},
        [
            (f"{ROOT}.zq_a.zq_x", f"import {ROOT}.zq_b.zq_c", f"{ROOT}.zq_b.zq_c", "type_checking"),
            (f"{ROOT}.zq_a", "from ..zq_b import zq_value", f"{ROOT}.zq_b",
             "function_under_type_checking"),
            (f"{ROOT}.zq_a", f"import {ROOT}.zq_b as zq_alias", f"{ROOT}.zq_b",
             "typing_type_checking"),
        ],
        sources=(f"{ROOT}.zq_a",), forbidden=(f"{ROOT}.zq_b",),
    )
    lint, ours = check_case(case, tmp_path.resolve())
    assert lint == {"zqc0": False}
    assert ours["zqc0"]["kept"] and ours["zqc0"]["violations"] == []


def test_drop_in_counts_type_checking_imports_unless_the_config_excludes_them(tmp_path):
    # lint-imports counts imports under `if TYPE_CHECKING:` unless the configuration
    # says `exclude_type_checking_imports = True`. A drop-in replacement must too,
    # or switching the command silently turns a broken contract into a kept one
    # (sqlalchemy.sql -> sqlalchemy.util.preloaded -> sqlalchemy.orm is such a chain).
    case = _case(
        {ROOT: True, f"{ROOT}.zq_a": False, f"{ROOT}.zq_b": False},
        [(f"{ROOT}.zq_a", f"from {ROOT} import zq_b", f"{ROOT}.zq_b", "type_checking")],
        sources=(f"{ROOT}.zq_a",), forbidden=(f"{ROOT}.zq_b",),
    )
    write_case(case, tmp_path)
    config = tmp_path / ".importlinter"
    config.write_text(config.read_text().replace("exclude_type_checking_imports = True\n", ""))
    assert lint_imports_verdicts(tmp_path) == {"zqc0": True}
    ours = cloacina_audit_report(tmp_path.resolve())
    assert not ours["zqc0"]["kept"], (
        "lint-imports says BROKEN (its configuration does not exclude TYPE_CHECKING imports), "
        "cloacina-audit in drop-in mode says kept"
    )
    [violation] = ours["zqc0"]["violations"]
    assert [step["kind"] for step in violation["chain"]] == ["type_checking"]
