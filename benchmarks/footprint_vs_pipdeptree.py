"""Wall time of cloacina-audit's ``--env current`` measurement against ``pipdeptree --summary -c size``.

Both measure the same environment, every installed distribution:

    python benchmarks/footprint_vs_pipdeptree.py --python /path/to/venv/bin/python [--repeat 5]
    python benchmarks/footprint_vs_pipdeptree.py --python ... --target requests   # + a full footprint

cloacina-audit's side is what ``footprint --env current`` runs before the import
probe: ask the interpreter for its paths and markers, read every dist-info,
stat every RECORD file and its ``__pycache__``. pipdeptree's side is its CLI
(a Rust engine) in a subprocess; our side runs in-process but includes the
interpreter query, itself a subprocess. Each figure is the median of --repeat runs.

The totals differ on purpose: pipdeptree sums RECORD entries as listed (hard links
counted per name, ``.pyc`` written after install not counted), cloacina-audit counts
each inode once and includes the bytecode next to each distribution's modules.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloacina_audit.discover import discover  # noqa: E402
from cloacina_audit.distributions import installed_distributions, measure_installed  # noqa: E402
from cloacina_audit.environment import current_environment  # noqa: E402
from cloacina_audit.footprint import measure_footprint  # noqa: E402
from cloacina_audit.sizes import format_bytes  # noqa: E402


def ours(python: str) -> tuple[int, int, int]:
    """(distributions, measured bytes, unmeasured distributions) of the whole environment."""
    env = current_environment(python)
    measured = measure_installed(installed_distributions(env.site_packages))
    total = sum(d.bytes or 0 for d in measured)
    return len(measured), total, sum(1 for d in measured if not d.measured)


def pipdeptree(executable: str, python: str) -> tuple[int, int]:
    completed = subprocess.run(
        [executable, "--python", python, "--summary", "-c", "size", "-o", "json"],
        capture_output=True, text=True, check=True,
    )
    summary = json.loads(completed.stdout)
    return summary["total_packages"], summary["total_size_raw"]


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
    parser.add_argument("--target",
                        help="also time a full footprint (closure + import probe) of this distribution")
    args = parser.parse_args()

    executable = args.pipdeptree or str(Path(sys.executable).parent / "pipdeptree")
    if not Path(executable).exists():
        executable = shutil.which("pipdeptree") or sys.exit("pipdeptree not found; pass --pipdeptree")

    pipdeptree(executable, args.python)  # warm the file system caches for both sides
    our_time, (our_count, our_bytes, unmeasured) = timed(ours, args.python, repeat=args.repeat)
    their_time, (their_count, their_bytes) = timed(pipdeptree, executable, args.python, repeat=args.repeat)

    print(f"environment: {args.python}")
    print(f"cloacina-audit --env current: {our_time * 1000:8.1f} ms  "
          f"{our_count} distributions, {format_bytes(our_bytes)} ({our_bytes} B), {unmeasured} unmeasured")
    print(f"pipdeptree --summary -c size: {their_time * 1000:8.1f} ms  "
          f"{their_count} distributions, {format_bytes(their_bytes)} ({their_bytes} B)")
    print(f"ratio (cloacina-audit / pipdeptree): {our_time / their_time:.2f}x")
    if args.target:
        target = discover(args.target)
        footprint_time, footprint = timed(
            lambda: measure_footprint(target, env="current", python=args.python, probe_runs=1), repeat=1
        )
        print(f"full footprint of {args.target} (closure + one import probe): "
              f"{footprint_time * 1000:.1f} ms, {footprint.distributions} distributions, "
              f"{format_bytes(footprint.install_bytes)}")


if __name__ == "__main__":
    main()
