"""Wall time and peak memory of ``cloacina-audit check`` against ``lint-imports``.

Both check the same forbidden contracts, in the same directory, on the same
packages, in one run of this script:

    python benchmarks/check_vs_lint_imports.py --python /tmp/benchenv/bin/python [--runs 3]

``--python`` is a virtual environment that has the packages to graph and
import-linter installed; create one with

    python -m venv X && X/bin/pip install django sqlalchemy pandas sympy import-linter

Scenarios: (A) django alone; (B) django + sqlalchemy + pandas + sympy. Each
scenario is a temporary directory holding only a ``.importlinter`` that names
the root packages and a few forbidden contracts, so cloacina-audit runs in its
drop-in mode (``cloacina-audit check`` in that directory, ``--python`` giving
the environment), and lint-imports is the environment's own, run in the same
directory.

- cold: cloacina-audit with an empty ``--cache-dir`` each run; ``lint-imports --no-cache``;
- warm: the second run with a cache: cloacina-audit's ``--cache-dir``, and
  lint-imports' own cache (``--cache-dir`` in the temporary directory);
- floor: bare ``grimp.build_graph(*roots, cache_dir=None)`` inside the
  environment's Python, timed around the call only (no interpreter start-up).

Every figure is the median of ``--runs`` runs, wall time of the whole process
(start-up included); peak memory is the maximum resident set size of the
process (``/usr/bin/time -f %M``, else ``getrusage(RUSAGE_CHILDREN)``). The file
system cache is warmed by one untimed run of each tool first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

GOALS = {"cold": 0.7, "warm": 0.5}

#: name -> (root packages, forbidden contracts as (source modules, forbidden modules)).
SCENARIOS: dict[str, tuple[list[str], list[tuple[list[str], list[str]]]]] = {
    "A: django": (
        ["django"],
        [
            (["django.utils"], ["django.db"]),
            (["django.core.signing", "django.dispatch"], ["django.contrib"]),
            (["django.template"], ["django.db.models"]),
            (["django.http"], ["django.contrib.admin"]),
        ],
    ),
    "B: django+sqlalchemy+pandas+sympy": (
        ["django", "sqlalchemy", "pandas", "sympy"],
        [
            (["django.utils"], ["django.db"]),
            (["sqlalchemy.sql"], ["sqlalchemy.orm"]),
            (["pandas.core"], ["pandas.plotting"]),
            (["sympy.core"], ["sympy.plotting"]),
            (["sympy"], ["pandas", "django"]),
        ],
    ),
}

_TIME = Path("/usr/bin/time")
#: scenario -> (lint-imports, cloacina-audit) verdicts: contract id -> broken?
VERDICTS: dict[str, tuple[dict[str, bool], dict[str, bool]]] = {}


@dataclass
class Measure:
    seconds: list[float] = field(default_factory=list)
    peak_kb: list[int] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)
    #: Inside the process (the grimp floor): seconds and module count.
    inner: list[float] = field(default_factory=list)
    modules: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.inner or self.seconds)

    @property
    def peak_mb(self) -> float | None:
        return max(self.peak_kb) / 1024 if self.peak_kb else None


def run(command: list[str], cwd: Path, measure: Measure, env: dict[str, str] | None = None) -> str:
    """Run ``command``, add its wall time and peak RSS to ``measure``, return its stdout."""
    with tempfile.NamedTemporaryFile(prefix="rss-", suffix=".txt") as rss_file:
        timed = command
        if _TIME.exists():
            timed = [str(_TIME), "-f", "%M", "-o", rss_file.name, *command]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        completed = subprocess.run(timed, cwd=cwd, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if _TIME.exists():
            text = Path(rss_file.name).read_text().strip().splitlines()
            peak = int(text[-1]) if text and text[-1].isdigit() else None
        else:
            # ru_maxrss of children is the largest child so far: only a growth is visible.
            after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            peak = after if after > before else None
    if completed.returncode not in (0, 1):
        sys.exit(
            f"{' '.join(command)} failed with exit {completed.returncode}:\n"
            f"{completed.stderr[-2000:]}"
        )
    measure.seconds.append(elapsed)
    if peak is not None:
        measure.peak_kb.append(peak)
    measure.codes.add(completed.returncode)
    return completed.stdout


def write_config(directory: Path, roots: list[str], contracts) -> None:
    lines = ["[importlinter]", "root_packages ="] + [f"    {r}" for r in roots] + [""]
    for number, (sources, forbidden) in enumerate(contracts):
        lines += [
            f"[importlinter:contract:c{number}]",
            f"name = c{number}: {', '.join(sources)} must not import {', '.join(forbidden)}",
            "type = forbidden",
            "source_modules =",
            *(f"    {m}" for m in sources),
            "forbidden_modules =",
            *(f"    {m}" for m in forbidden),
            "",
        ]
    (directory / ".importlinter").write_text("\n".join(lines), encoding="utf-8")


FLOOR_SCRIPT = textwrap.dedent(
    """
    import sys, time, grimp
    start = time.perf_counter()
    graph = grimp.build_graph(*sys.argv[1:], cache_dir=None)
    print(time.perf_counter() - start, len(graph.modules))
    """
)


def cloacina_audit_command() -> list[str]:
    script = Path(sys.executable).parent / "cloacina-audit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cloacina_audit"]


def bench_scenario(name: str, python: Path, runs: int, work: Path) -> dict[str, Measure]:
    roots, contracts = SCENARIOS[name]
    directory = work / name.split(":")[0]
    directory.mkdir()
    write_config(directory, roots, contracts)
    # Without PYTHONDONTWRITEBYTECODE the untimed warm-up run leaves bytecode, so both
    # tools start as they do after a normal install (pip compiles lint-imports' .pyc).
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")}
    env["NO_COLOR"] = "1"
    lint = [str(python.parent / "lint-imports"), "--no-logo"]
    ours = [*cloacina_audit_command(), "check", "--python", str(python), "--format", "json"]
    lint_cache = directory / ".lint-imports-cache"
    our_cache = work / f"cloacina-audit-cache-{directory.name}"

    results = {key: Measure() for key in (
        "floor", "lint cold", "ours cold", "lint warm", "ours warm")}
    scratch = Measure()
    # Warm the file system cache for everyone, untimed; keep the verdicts.
    lint_out = run([*lint, "--no-cache"], directory, scratch, env)
    ours_out = run([*ours, "--no-cache"], directory, scratch, env)
    VERDICTS[name] = (
        {m[1]: m[2] == "BROKEN"
         for m in re.finditer(r"^(c\d+): .* (KEPT|BROKEN)$", lint_out, re.M)},
        {c["name"].split(":")[0]: not c["kept"]
         for c in json.loads(ours_out)["packages"][0]["contracts"]},
    )
    for number in range(runs):
        out = run([str(python), "-c", FLOOR_SCRIPT, *roots], directory, results["floor"], env)
        seconds, modules = out.split()
        results["floor"].inner.append(float(seconds))
        results["floor"].modules = int(modules)

        run([*lint, "--no-cache"], directory, results["lint cold"], env)
        cold_cache = work / f"empty-cache-{directory.name}-{number}"
        run([*ours, "--cache-dir", str(cold_cache)], directory, results["ours cold"], env)
        shutil.rmtree(cold_cache, ignore_errors=True)

    # Warm: fill each tool's cache once, then time the runs that use it.
    shutil.rmtree(lint_cache, ignore_errors=True)
    run([*lint, "--cache-dir", str(lint_cache)], directory, scratch, env)
    run([*ours, "--cache-dir", str(our_cache)], directory, scratch, env)
    for _ in range(runs):
        run([*lint, "--cache-dir", str(lint_cache)], directory, results["lint warm"], env)
        run([*ours, "--cache-dir", str(our_cache)], directory, results["ours warm"], env)
    return results


def machine_info(python: Path) -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env_python = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True, text=True,
    ).stdout.strip()
    versions = subprocess.run(
        [str(python), "-c",
         "from importlib.metadata import version as v; "
         "print(', '.join(f'{d} {v(d)}' for d in "
         "('django', 'sqlalchemy', 'pandas', 'sympy', 'grimp', 'import-linter')))"],
        capture_output=True, text=True,
    ).stdout.strip()
    tool_version = subprocess.run(
        [*cloacina_audit_command(), "--version"], capture_output=True, text=True
    ).stdout.strip()
    return [
        f"- date: {date.today().isoformat()}",
        f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
        f"{platform.system()} {platform.release()}",
        f"- memory: {_total_memory()}",
        f"- Python: {platform.python_version()} (cloacina-audit), {env_python} (--python env)",
        f"- {tool_version}; environment: {versions}",
    ]


def _total_memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _word(broken: bool | None) -> str:
    return {True: "broken", False: "kept", None: "?"}[broken]


def table(all_results: dict[str, dict[str, Measure]]) -> list[str]:
    rows = [
        "| scenario | mode | tool | median s | peak MB | ratio vs lint-imports | goal | met? |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]

    def mb(m: Measure) -> str:
        return f"{m.peak_mb:.0f}" if m.peak_mb is not None else "n/a"

    for scenario, results in all_results.items():
        floor = results["floor"]
        for mode in ("cold", "warm"):
            lint, ours = results[f"lint {mode}"], results[f"ours {mode}"]
            ratio = ours.median / lint.median
            goal = GOALS[mode]
            rows.append(f"| {scenario} | {mode} | lint-imports | {lint.median:.2f} | {mb(lint)} "
                        f"| 1.00 | | |")
            rows.append(f"| {scenario} | {mode} | cloacina-audit | {ours.median:.2f} | {mb(ours)} "
                        f"| {ratio:.2f} | ≤ {goal} | {'yes' if ratio <= goal else 'no'} |")
        ratio = floor.median / results["lint cold"].median
        rows.append(f"| {scenario} | floor | grimp.build_graph ({floor.modules} modules) "
                    f"| {floor.median:.2f} | {mb(floor)} | {ratio:.2f} | | |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", type=Path, default=Path("/tmp/benchenv/bin/python"),
                        help="interpreter of a venv with django, sqlalchemy, pandas, sympy "
                             "and import-linter")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--scenario", action="append", choices=["A", "B"],
                        help="only this scenario (repeatable; default: both)")
    args = parser.parse_args()

    python = args.python
    missing = [] if python.exists() else [str(python)]
    if not missing:
        missing = [str(python.parent / "lint-imports")] if not (
            python.parent / "lint-imports").exists() else []
    if not missing:
        probe = subprocess.run(
            [str(python), "-c", "import django, sqlalchemy, pandas, sympy, grimp, importlinter"],
            capture_output=True, text=True,
        )
        if probe.returncode:
            missing = [probe.stderr.strip().splitlines()[-1]]
    if missing:
        sys.exit(
            f"cannot benchmark: {missing[0]}\n"
            "create the environment with:\n"
            "    python -m venv X && "
            "X/bin/pip install django sqlalchemy pandas sympy import-linter\n"
            "and pass --python X/bin/python"
        )

    chosen = [s for s in SCENARIOS if not args.scenario or s[0] in args.scenario]
    command = " ".join(["python", "benchmarks/check_vs_lint_imports.py",
                        "--python", str(python), "--runs", str(args.runs)] +
                       [f"--scenario {s}" for s in args.scenario or []])
    info = machine_info(python)
    load_before = load_average()
    all_results = {}
    with tempfile.TemporaryDirectory(prefix="bench-check-") as work:
        for scenario in chosen:
            print(f"running {scenario} ...", file=sys.stderr, flush=True)
            all_results[scenario] = bench_scenario(scenario, python, args.runs, Path(work))
    lines = [
        "## check vs lint-imports",
        "",
        f"Command: `{command}` (run with the repository's venv Python)",
        "",
        *info,
        f"- load average before: {load_before}; after: {load_average()}",
        f"- runs per figure: {args.runs} (median); wall time of the whole process; peak RSS by "
        + ("/usr/bin/time -f %M" if _TIME.exists() else "getrusage(RUSAGE_CHILDREN)"),
        "",
        *table(all_results),
        "",
        "Verdicts (contract: lint-imports / cloacina-audit):",
        "",
        *(
            f"- {s}: " + ", ".join(
                f"{c} {_word(lint.get(c))}/{_word(ours.get(c))}" for c in sorted(ours)
            )
            for s, (lint, ours) in VERDICTS.items()
        ),
        "",
        "Floor: `grimp.build_graph(*roots, cache_dir=None)` timed inside the --python "
        "interpreter (no start-up); its ratio is against lint-imports cold.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
