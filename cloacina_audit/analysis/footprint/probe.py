"""The import probe: what importing a package really loads, in the package's own environment.

Each run is a fresh ``python -I -B`` process of the measured environment,
started in an empty temporary directory (so neither the audited tree nor the
environment is written to), through :mod:`cloacina_audit.system.processes` (so a
hanging import, and anything it started, even in a new session, is killed
and reaped, after a timeout and after a successful run alike). The child reports one JSON document
into a file named on its command line: never on stdout, which the imported
code owns and may fill with anything.

- ``modules``: what the entry imports added to ``sys.modules`` (interpreter
  start-up excluded); ``non_stdlib_modules`` those outside the standard library.
- ``forbidden_loaded``: the given module prefixes found in ``sys.modules``.
- ``seconds_median``: wall time of the imports alone, median over the runs.
- ``peak_rss_bytes``: the child's peak resident set size, from the first run.

``runs`` is the most runs made: they stop as soon as two agree within the noise
band (:func:`agree`), since a third run would only confirm them; ``runs`` in the
result says how many were made.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import ImportProbe
from cloacina_audit.system.processes import ProcessTimeout, run

DEFAULT_TIMEOUT = 60.0
#: The longest timeout accepted (a day): a larger one is a typo, and ``inf``/``nan`` never end.
MAX_TIMEOUT = 86400.0
DEFAULT_RUNS = 3
#: Two runs whose import times differ by at most this fraction of the faster one, or by
#: :data:`NOISE_FLOOR_SECONDS`, agree: timings on a shared machine move by more than that.
NOISE_FRACTION = 0.10
NOISE_FLOOR_SECONDS = 0.02

# Runs in the measured environment. Only modules already loaded at start-up
# (sys, os) and the tiny builtin ``time`` are imported before the baseline;
# json, traceback and resource are imported after the clock stops.
_CHILD = r"""
import os, sys, time
baseline = set(sys.modules)
result_path, search_path, *entries = sys.argv[1:]
if search_path:
    sys.path[0:0] = search_path.split(os.pathsep)
current = None
error = None
failed = []
marks = []
start = time.perf_counter()
try:
    for current in entries:
        # "?module": a submodule whose failure is reported, not fatal.
        optional = current.startswith("?")
        name = current[1:] if optional else current
        try:
            __import__(name)
        except (Exception, SystemExit) as exc:  # a script without a main guard exits
            if not optional:
                raise
            import traceback
            failed.append([name, traceback.format_exception_only(type(exc), exc)[-1].strip()])
        marks.append([name, len(sys.modules)])
except BaseException as exc:
    import traceback
    error = {"module": current.lstrip("?"), "message": traceback.format_exception_only(type(exc), exc)[-1].strip()}
seconds = time.perf_counter() - start
present = list(sys.modules)
loaded = [name for name in present if name not in baseline]
stdlib = getattr(sys, "stdlib_module_names", None)
if stdlib is None:
    import sysconfig
    roots = tuple(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib"))
    def in_stdlib(name):
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        return path is None or (path.startswith(roots) and "site-packages" not in path)
else:
    def in_stdlib(name):
        return name.split(".")[0] in stdlib or name in sys.builtin_module_names
try:
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss = rss if sys.platform == "darwin" else rss * 1024
except Exception:
    rss = None
import json
with open(result_path, "w", encoding="utf-8") as handle:
    json.dump({
        "error": error,
        "seconds": seconds,
        "loaded": loaded,
        "non_stdlib": sum(1 for name in loaded if not in_stdlib(name)),
        "present": present,
        "marks": marks,
        "failed": failed,
        "peak_rss": rss,
    }, handle)
    handle.flush()
# Skip atexit hooks and the wait for non-daemon threads the package may have started.
os._exit(0)
"""


@dataclass(frozen=True)
class _Run:
    seconds: float
    loaded: list[str]
    non_stdlib: int
    present: list[str]
    peak_rss: int | None
    #: ``(entry, len(sys.modules) after importing it)``, in import order.
    marks: list[tuple[str, int]]
    failed: list[tuple[str, str]]


def probe_imports(
    python: Path | str,
    entry_modules: Sequence[str],
    *,
    forbidden: Iterable[str] = (),
    runs: int = DEFAULT_RUNS,
    timeout: float | None = None,
    search_path: Sequence[Path] = (),
    on_step: Callable[[str], None] | None = None,
    submodules: Sequence[str] = (),
) -> ImportProbe:
    """Import ``entry_modules``, then ``submodules``, in ``runs`` fresh processes of ``python``
    and report what loaded.

    An entry module that fails to import is an AuditError; a submodule that fails is
    listed in ``failed_imports`` (an optional dependency, a script not meant to be imported).
    """
    if not entry_modules:
        raise AuditError("import probe: no entry module to import (set tool.cloacina-audit.entry-modules)")
    if runs < 1:
        raise AuditError(f"import probe: the number of runs must be at least 1, not {runs}")
    timeout = check_timeout(DEFAULT_TIMEOUT if timeout is None else timeout)
    extra = [m for m in dict.fromkeys(submodules) if m not in entry_modules]
    arguments = [*entry_modules, *(f"?{m}" for m in extra)]
    shown = ", ".join(entry_modules) + (f" and {len(extra)} submodules" if extra else "")
    results: list[_Run] = []
    for number in range(1, runs + 1):
        if on_step:
            on_step(f"Importing {shown} (run {number} of at most {runs})")
        results.append(_run_once(python, arguments, timeout, search_path, ", ".join(entry_modules)))
        if len(results) >= 2 and agree(results[-2].seconds, results[-1].seconds):
            break
    first = results[0]
    seconds = [r.seconds for r in results]
    forbidden_loaded = forbidden_present(forbidden, first.present)
    return ImportProbe(
        modules=len(first.loaded),
        non_stdlib_modules=first.non_stdlib,
        forbidden_loaded=forbidden_loaded,
        seconds_median=statistics.median(seconds),
        peak_rss_bytes=first.peak_rss,
        runs=len(results),
        entry_modules=[*entry_modules, *extra],
        seconds_spread=max(seconds) - min(seconds),
        failed_imports=[f"{module}: {message}" for module, message in first.failed],
        loaded_by=_first_loaders(forbidden_loaded, first),
        loaded_modules=list(first.loaded),
    )


def agree(a: float, b: float) -> bool:
    """Whether two import times are the same within the noise band."""
    return abs(a - b) <= max(NOISE_FLOOR_SECONDS, NOISE_FRACTION * min(a, b))


def check_timeout(value: float, where: str = "import timeout") -> float:
    """A usable timeout: finite, positive, at most :data:`MAX_TIMEOUT` (``nan`` would never end)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        0 < value <= MAX_TIMEOUT
    ):
        raise AuditError(
            f"{where}: {value!r} is not a number of seconds between 0 and {MAX_TIMEOUT:g}"
        )
    return float(value)


def _first_loaders(prefixes: Iterable[str], run: _Run) -> dict[str, str]:
    """For each loaded forbidden prefix, the entry whose import first loaded a module under it."""
    order = {name: index for index, name in enumerate(run.present)}
    found = {}
    for prefix in prefixes:
        first = min(
            (i for name, i in order.items() if name == prefix or name.startswith(prefix + ".")),
            default=None,
        )
        if first is None:
            continue
        found[prefix] = next((entry for entry, end in run.marks if first < end), "")
    return found


def forbidden_present(prefixes: Iterable[str], modules: Iterable[str]) -> list[str]:
    """The prefixes (``cloacina.runtime``) matching a module name or one of its parents."""
    names = set(modules)
    parents = {name.rsplit(".", i)[0] for name in names for i in range(name.count(".") + 1)}
    return [prefix for prefix in dict.fromkeys(prefixes) if prefix in parents]


def _run_once(
    python: Path | str, entry_modules: Sequence[str], timeout: float, search_path: Sequence[Path],
    what: str,
) -> _Run:
    with tempfile.TemporaryDirectory(prefix="cloacina-audit-probe-") as scratch:
        result_file = Path(scratch) / "result.json"
        stderr_file = Path(scratch) / "stderr.txt"
        work_dir = Path(scratch) / "cwd"
        work_dir.mkdir()
        command = [
            str(python), "-I", "-B", "-c", _CHILD,
            str(result_file), os.pathsep.join(str(p) for p in search_path), *entry_modules,
        ]
        with open(stderr_file, "wb") as stderr:
            try:
                returncode = run(
                    command, cwd=work_dir, timeout=timeout, stdout=False, stderr=stderr
                ).returncode
            except ProcessTimeout:
                raise AuditError(f"import of {what} timed out after {timeout:g} s") from None
            except OSError as exc:
                raise AuditError(f"import probe: cannot run {python}: {exc.strerror}") from None
        return _read_result(result_file, stderr_file, returncode, what)


def _read_result(result_file: Path, stderr_file: Path, returncode: int, what: str) -> _Run:
    if returncode < 0:
        raise AuditError(f"import of {what} crashed: killed by {_signal_name(-returncode)}")
    try:
        data = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        last = _last_line(stderr_file)
        detail = f": {last}" if last else ""
        raise AuditError(
            f"import of {what} exited with code {returncode} before reporting{detail}"
        ) from None
    if data["error"]:
        error = data["error"]
        raise AuditError(f"import of {error['module']} failed: {error['message']}")
    return _Run(
        seconds=float(data["seconds"]),
        loaded=list(data["loaded"]),
        non_stdlib=int(data["non_stdlib"]),
        present=list(data["present"]),
        peak_rss=data["peak_rss"],
        marks=[(str(entry), int(end)) for entry, end in data["marks"]],
        failed=[(str(module), str(message)) for module, message in data["failed"]],
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else ""
