"""Run the CLI the way a person meets it: stdout and stderr on pseudo-terminals of a given
size, and what they would see rebuilt by a terminal emulator (pyte)."""

from __future__ import annotations

import fcntl
import os
import re
import selectors
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pyte
from conftest import REPO

#: Select Graphic Rendition: what colour and bold are made of.
SGR = re.compile(rb"\x1b\[[0-9;]*m")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


@dataclass
class TerminalRun:
    code: int
    #: Bytes as written to each stream (a terminal's output has ``\r\n`` line ends).
    stdout: bytes
    stderr: bytes
    columns: int

    def text(self, stream: str = "stdout") -> str:
        """The stream without escape sequences and carriage returns."""
        return ANSI.sub("", getattr(self, stream).decode("utf-8", "replace"))

    def screen(self, stream: str = "stdout", rows: int = 400) -> list[str]:
        """What a terminal of this width shows once the run is over, trailing blanks cut."""
        screen = pyte.Screen(self.columns, rows)
        pyte.ByteStream(screen).feed(getattr(self, stream))
        lines = [line.rstrip() for line in screen.display]
        while lines and not lines[-1]:
            lines.pop()
        return lines


def _pty(columns: int, rows: int = 50) -> tuple[int, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return master, slave


def run_in_terminal(*args: str, columns: int = 80, stdout: str = "tty", stderr: str = "same",
                    env: dict[str, str] | None = None, cwd: Path | None = None,
                    timeout: float = 300, interrupt_after: float | None = None) -> TerminalRun:
    """``python -m cloacina_audit ARGS`` with stdout on a terminal (``"tty"``) or a pipe,
    and stderr on the same terminal (``"same"``), a terminal of its own (``"tty"``) or a pipe.

    The environment is the test's, minus what would decide colour or width behind the
    test's back (NO_COLOR, FORCE_COLOR, COLUMNS, LINES), plus ``env``. With
    ``interrupt_after``, the run gets SIGINT after that many seconds, as Ctrl-C sends it.
    """
    full_env = {k: v for k, v in os.environ.items()
                if k not in {"NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TERM"}}
    full_env.update({"TERM": "xterm-256color", **(env or {})})
    readers: dict[int, str] = {}
    close_after_start: list[int] = []
    if stdout == "tty":
        out_master, out_slave = _pty(columns)
        readers[out_master] = "stdout"
        close_after_start.append(out_slave)
        out_target: int = out_slave
    else:
        out_read, out_target = os.pipe()
        readers[out_read] = "stdout"
        close_after_start.append(out_target)
    if stderr == "same":
        if stdout != "tty":
            raise ValueError("stderr='same' needs stdout='tty'")
        err_target = out_slave
    elif stderr == "tty":
        err_master, err_target = _pty(columns)
        readers[err_master] = "stderr"
        close_after_start.append(err_target)
    else:
        err_read, err_target = os.pipe()
        readers[err_read] = "stderr"
        close_after_start.append(err_target)
    child = subprocess.Popen(
        [sys.executable, "-m", "cloacina_audit", *args],
        stdin=subprocess.DEVNULL, stdout=out_target, stderr=err_target,
        cwd=cwd or REPO, env=full_env, start_new_session=True,
    )
    for fd in close_after_start:
        os.close(fd)
    chunks: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    selector = selectors.DefaultSelector()
    for fd in readers:
        selector.register(fd, selectors.EVENT_READ)
    started = time.monotonic()
    deadline = started + timeout
    try:
        while readers:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(args, timeout)
            if interrupt_after is not None and time.monotonic() - started > interrupt_after:
                os.killpg(child.pid, signal.SIGINT)
                interrupt_after = None
            for key, _ in selector.select(timeout=1):
                try:
                    data = os.read(key.fd, 65536)
                except OSError:  # EIO: the terminal's last writer closed it
                    data = b""
                if data:
                    chunks[readers[key.fd]].append(data)
                else:
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    del readers[key.fd]
        code = child.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if child.poll() is None:
            os.killpg(child.pid, 9)
            child.wait()
        for fd in readers:
            os.close(fd)
    return TerminalRun(code, b"".join(chunks["stdout"]), b"".join(chunks["stderr"]), columns)
