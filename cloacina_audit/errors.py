"""The one exception type the CLI turns into "one clear line on stderr, exit 2"."""

from __future__ import annotations


class AuditError(Exception):
    """Bad input, bad configuration or an environment that cannot be built.

    The message is shown to the user as it is, on one line, so it must say what
    was wrong and where (a path, a key, an entry name).
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
