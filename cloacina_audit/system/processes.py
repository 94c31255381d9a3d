"""Every process the tool starts goes through :func:`run`: always with a timeout, never outliving it.

What a started process may do, and what answers it:

- **hang**: every run has a timeout; on expiry the whole tree is killed.
- **leave children behind** (an import that starts a server, a build backend's
  daemon): the tool's process is a *child subreaper*
  (``prctl(PR_SET_CHILD_SUBREAPER)``, Linux), so orphans are re-parented to
  it instead of to init and stay findable. Each run's processes are found in
  ``/proc`` by ancestry from the child *and* by a token in their environment
  (:data:`TOKEN_VARIABLE`), which survives ``setsid`` and double forks; after
  the run ends (success, failure or timeout) every one of them is killed and reaped.
- **the tool itself is stopped** (SIGTERM from CI, a pre-commit timeout):
  :func:`install_signal_handlers` turns SIGTERM into :class:`Terminated`, so the
  ``finally`` blocks of running steps kill their processes and remove their
  temporary directories; the CLI then sweeps whatever is left
  (:func:`stop_everything`), prints one line and exits 143.

Output goes to anonymous temporary files, not pipes: a lingering grandchild
holding a pipe open would keep a reader waiting for an end of file that never comes.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cloacina_audit.errors import AuditError

#: Set in the environment of every started process; its descendants inherit it.
TOKEN_VARIABLE = "CLOACINA_AUDIT_RUN"
#: At most this much of a process's output is read back (the tail of stderr).
OUTPUT_LIMIT = 4 << 20
#: Exit status of a run stopped by SIGTERM (128 + 15), as shells report it.
EXIT_TERMINATED = 128 + signal.SIGTERM

_PR_SET_CHILD_SUBREAPER = 36
_subreaper_pid: int | None = None
#: None in the tool's main process (SIGTERM always raises); a count in pool workers.
_tasks_running: int | None = None
_counter = itertools.count()


#: A started process talked to through its pipes (see :func:`conversation`).
PipedProcess = subprocess.Popen[bytes]


class Terminated(BaseException):
    """The tool received SIGTERM. A BaseException, so that no ``except Exception`` swallows it."""


class ProcessTimeout(AuditError):
    """A started process did not finish within its timeout (it and its descendants were killed)."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"{what}: no answer within {seconds:g} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    stdout: bool = True,
    stderr: IO[bytes] | None = None,
    output: IO[bytes] | None = None,
) -> Completed:
    """Run ``command`` to completion (or ``timeout``), then kill whatever it left running.

    ``stdout=False`` discards standard output (the probe: imported code owns it);
    ``stderr`` may be a file of the caller's, else standard error is captured;
    ``output`` a file of the caller's that gets all of standard output (no limit).
    Raises :class:`ProcessTimeout`, or ``OSError`` when the command cannot be started.
    """
    ensure_subreaper()
    token = f"{os.getpid()}-{next(_counter)}-{os.urandom(4).hex()}"
    environ = {**(os.environ if env is None else env), TOKEN_VARIABLE: token}
    argv = [os.fspath(part) for part in command]
    with contextlib.ExitStack() as stack:
        out = output if output is not None else \
            stack.enter_context(tempfile.TemporaryFile()) if stdout else None
        err = stderr if stderr is not None else stack.enter_context(tempfile.TemporaryFile())
        child = subprocess.Popen(
            argv, cwd=cwd, env=environ, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if out is None else out, stderr=err,
            start_new_session=True,
        )
        try:
            returncode = _wait(child, timeout)
        except subprocess.TimeoutExpired:
            raise ProcessTimeout(os.path.basename(argv[0]), timeout) from None
        finally:
            kill_tree(child, token)
        return Completed(
            returncode=returncode,
            stdout="" if out is None or output is not None else _read(out, head=True),
            stderr=_read(err, head=False) if stderr is None else "",
        )


@contextlib.contextmanager
def conversation(
    command: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    stderr: IO[bytes] | None = None,
) -> Iterator[PipedProcess]:
    """A process to talk to through its pipes (``git cat-file --batch``: one request, one answer).

    When the block ends, or ``timeout`` seconds after the start, whichever comes first,
    the process and everything it started are killed and reaped; an expired timeout
    raises :class:`ProcessTimeout` from the block. Standard error is discarded unless
    ``stderr`` is a file of the caller's.
    """
    import threading

    ensure_subreaper()
    token = f"{os.getpid()}-{next(_counter)}-{os.urandom(4).hex()}"
    argv = [os.fspath(part) for part in command]
    child = subprocess.Popen(
        argv, env={**os.environ, TOKEN_VARIABLE: token},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if stderr is None else stderr, start_new_session=True,
    )
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(ProcessLookupError):
            child.kill()  # the block's next read ends; the tree is killed on the way out

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        yield child
    except Exception:
        if expired.is_set():
            raise ProcessTimeout(os.path.basename(argv[0]), timeout) from None
        raise
    finally:
        timer.cancel()
        for pipe in (child.stdin, child.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]
        kill_tree(child, token)
    if expired.is_set():
        raise ProcessTimeout(os.path.basename(argv[0]), timeout)


def _wait(child: subprocess.Popen[bytes], timeout: float) -> int:
    """``child.wait(timeout)`` without its polling: on POSIX that sleeps in steps growing to
    50 ms, so a run ended up to 50 ms after its process did (a quarter of a short query).
    A pidfd (Linux 5.3+) becomes readable the moment the process exits."""
    try:
        pidfd = os.pidfd_open(child.pid)
    except (AttributeError, OSError):
        return child.wait(timeout=timeout)
    import select  # here: only runs that start a process need it

    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            raise subprocess.TimeoutExpired(child.args, timeout)
    finally:
        os.close(pidfd)
    return child.wait()


def _read(handle: IO[bytes], *, head: bool) -> str:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(0 if head or size <= OUTPUT_LIMIT else size - OUTPUT_LIMIT)
    return handle.read(OUTPUT_LIMIT).decode("utf-8", "replace")


def ensure_subreaper() -> None:
    """Make this process the subreaper of everything it starts (once per process; Linux only).

    The attribute is not inherited across ``fork``, so worker processes call this too.
    """
    global _subreaper_pid
    if _subreaper_pid == os.getpid() or not sys.platform.startswith("linux"):
        return
    _subreaper_pid = os.getpid()
    import ctypes  # here: check on a plain project starts no process and needs none of this

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def kill_tree(child: subprocess.Popen[bytes], token: str) -> None:
    """Kill ``child`` and every process of its run (by ancestry or token), and reap them."""
    me = os.getpid()
    known: set[int] = set()
    for attempt in range(200):
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
        table = _process_table()
        known |= _descendants(child.pid, table) | _carrying(token, table)
        for pid in list(known):
            known |= _descendants(pid, table)
        known -= {me, child.pid}
        present = {pid for pid in known if pid in table}
        live = {pid for pid in present if table[pid][1] != "Z"}
        for pid in live:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        _reap(present, table)
        if not present and child.poll() is not None:
            break
        time.sleep(min(0.002 * (attempt + 1), 0.05))
    with contextlib.suppress(ChildProcessError):
        child.wait()


def stop_everything(grace: float = 5.0) -> None:
    """Stop every descendant of this process: SIGTERM first (so workers clean up), then SIGKILL."""
    me = os.getpid()
    table = _process_table()
    if not _descendants(me, table):
        return
    for pid, (parent, state) in table.items():
        if parent == me and state != "Z":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        table = _process_table()
        if not any(state != "Z" for pid, (_, state) in table.items() if pid in _descendants(me, table)):
            break
        time.sleep(0.05)
    for _ in range(100):
        table = _process_table()
        everyone = _descendants(me, table)
        live = {pid for pid in everyone if table[pid][1] != "Z"}
        for pid in live:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        _reap(everyone, table)
        if not live:
            break
        time.sleep(0.02)


def install_signal_handlers() -> None:
    """SIGTERM raises :class:`Terminated` (once: a second one during clean-up is ignored).

    In a worker process (see :func:`install_worker_signal_handlers`) it does so only
    inside a :func:`task`; an idle worker just exits.
    """

    def handler(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if _tasks_running == 0:
            os._exit(EXIT_TERMINATED)
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)


def install_worker_signal_handlers() -> None:
    """For pool workers: SIGTERM stops a running :func:`task` (its clean-up runs), else exits."""
    global _tasks_running
    _tasks_running = 0
    install_signal_handlers()


@contextlib.contextmanager
def task() -> Iterator[None]:
    """A unit of work in a worker process, which SIGTERM interrupts with :class:`Terminated`."""
    global _tasks_running
    _tasks_running = (_tasks_running or 0) + 1
    try:
        yield
    finally:
        _tasks_running -= 1


def _process_table() -> dict[int, tuple[int, str]]:
    """``pid -> (parent pid, state letter)`` for every process in ``/proc``."""
    table: dict[int, tuple[int, str]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
        except OSError:
            continue
        # The command name (field 2) is parenthesised and may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 2:
            table[int(entry)] = (int(fields[1]), fields[0])
    return table


def _descendants(root: int, table: Mapping[int, tuple[int, str]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    pending = list(children.get(root, ()))
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.add(pid)
            pending += children.get(pid, ())
    return found


def _carrying(token: str, table: Mapping[int, tuple[int, str]]) -> set[int]:
    """Processes whose environment holds this run's token (``setsid`` does not shed it)."""
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    uid = os.getuid()
    found = set()
    for pid, (_, state) in table.items():
        if state == "Z" or pid == os.getpid():
            continue
        path = f"/proc/{pid}/environ"
        try:
            if os.stat(path).st_uid != uid:
                continue
            with open(path, "rb") as handle:
                environ = handle.read()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.add(pid)
    return found


def _reap(pids: set[int], table: Mapping[int, tuple[int, str]]) -> None:
    """Collect the exit status of those of ``pids`` that are this process's children."""
    me = os.getpid()
    for pid in pids:
        if table.get(pid, (0, ""))[0] == me:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
