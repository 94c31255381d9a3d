"""Wall time and peak memory of cloacina-audit's ``--env current`` measurement against
``pipdeptree --summary -c size``.

Both measure the same environment, every installed distribution:

    python benchmarks/footprint_vs_pipdeptree.py --python /path/to/venv/bin/python [--repeat 5]
    python benchmarks/footprint_vs_pipdeptree.py --python ... --target requests   # + a full footprint

pipdeptree comes with the ``benchmark`` extra (``pip install -e '.[benchmark]'``):
the tool itself never uses it.

cloacina-audit's side is what ``footprint --env current`` runs before the import
probe: ask the interpreter for its paths and markers, read every dist-info,
stat every RECORD file and its ``__pycache__``. Each side runs as its own
process (start-up included on both), under ``/usr/bin/time`` for peak RSS; the
runs alternate between the two tools so that a change in machine load hits both.
Each figure is the median of --repeat runs.

The totals differ on purpose: pipdeptree sums RECORD entries as listed (hard links
counted per name, ``.pyc`` written after install not counted), cloacina-audit counts
each inode once and includes the bytecode next to each distribution's modules.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloacina_audit.analysis.footprint.distributions import installed_distributions, measure_installed  # noqa: E402
from cloacina_audit.environment.isolated import current_environment  # noqa: E402
from cloacina_audit.model.units import format_bytes  # noqa: E402
from cloacina_audit.system.cachedir import cache_root  # noqa: E402

_TIME = Path("/usr/bin/time")
# Without PYTHONDONTWRITEBYTECODE the untimed warm-up runs leave bytecode, so both tools
# start as they do after a normal install (pip compiles pipdeptree's .pyc; with the
# variable set, our side compiled its own modules on every run).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def ours(python: str) -> tuple[int, int, int]:
    """(distributions, measured bytes, unmeasured distributions) of the whole environment.

    The interpreter's answer is kept in the default cache, as ``footprint --env current``
    keeps it (``--no-cache`` asks the interpreter every time)."""
    env = current_environment(python, cache_root())
    measured = measure_installed(installed_distributions(env.site_packages))
    total = sum(d.bytes or 0 for d in measured)
    return len(measured), total, sum(1 for d in measured if not d.measured)


@dataclass
class Runs:
    seconds: list[float] = field(default_factory=list)
    peak_kb: list[int] = field(default_factory=list)
    output: str = ""

    def add(self, command: list[str]) -> None:
        """Run ``command`` under /usr/bin/time: wall time here, peak RSS from time(1)."""
        with tempfile.NamedTemporaryFile("r") as report:
            start = time.perf_counter()
            completed = subprocess.run(
                [str(_TIME), "-f", "%M", "-o", report.name, *command],
                capture_output=True, text=True, check=True, env=_ENV,
            )
            self.seconds.append(time.perf_counter() - start)
            self.peak_kb.append(int(report.read().split()[-1]))
        self.output = completed.stdout

    def summary(self) -> str:
        return (f"{statistics.median(self.seconds) * 1000:8.1f} ms, "
                f"peak {statistics.median(self.peak_kb) / 1024:5.1f} MB")


def timed(function, *args, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the environment to measure")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pipdeptree", default=None,
                        help="pipdeptree executable (default: next to this Python)")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target",
                        help="also time a full footprint (closure + import probe) of this distribution")
    args = parser.parse_args()

    executable = args.pipdeptree or str(Path(sys.executable).parent / "pipdeptree")
    if not Path(executable).exists():
        executable = shutil.which("pipdeptree") or sys.exit(
            "pipdeptree not found; pip install -e '.[benchmark]' or pass --pipdeptree"
        )

    if args.measure_only:  # the child process of our side
        print(json.dumps(ours(args.python)))
        return
    if not _TIME.exists():
        sys.exit(f"{_TIME} is needed for peak memory")

    our_command = [sys.executable, __file__, "--measure-only", "--python", args.python]
    their_command = [executable, "--python", args.python, "--summary", "-c", "size", "-o", "json"]
    our_runs, their_runs = Runs(), Runs()
    Runs().add(their_command)  # warm the file system caches (and write bytecode) for both sides
    Runs().add(our_command)
    for _ in range(args.repeat):
        our_runs.add(our_command)
        their_runs.add(their_command)
    our_count, our_bytes, unmeasured = json.loads(our_runs.output)
    summary = json.loads(their_runs.output)
    their_count, their_bytes = summary["total_packages"], summary["total_size_raw"]
    our_time, their_time = (statistics.median(r.seconds) for r in (our_runs, their_runs))

    print(f"environment: {args.python}, {args.repeat} alternating runs each, medians")
    print(f"cloacina-audit --env current: {our_runs.summary()}  "
          f"{our_count} distributions, {format_bytes(our_bytes)} ({our_bytes} B), {unmeasured} unmeasured")
    print(f"pipdeptree --summary -c size: {their_runs.summary()}  "
          f"{their_count} distributions, {format_bytes(their_bytes)} ({their_bytes} B)")
    print(f"ratio (cloacina-audit / pipdeptree): {our_time / their_time:.2f}x")
    if args.target:
        # Imported here: the measuring child process must not pay for the contract engine.
        from cloacina_audit.app.footprint import measure_footprint
        from cloacina_audit.discover.target import discover

        target = discover(args.target)
        footprint_time, footprint = timed(
            lambda: measure_footprint(target, env="current", python=args.python, probe_runs=1), repeat=1
        )
        print(f"full footprint of {args.target} (closure + one import probe): "
              f"{footprint_time * 1000:.1f} ms, {footprint.distributions} distributions, "
              f"{format_bytes(footprint.install_bytes)}")


if __name__ == "__main__":
    main()
