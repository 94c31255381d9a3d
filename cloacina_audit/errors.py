"""The one exception type the CLI turns into "one clear line on stderr, exit 2"."""

from __future__ import annotations


class AuditError(Exception):
    """Bad input, bad configuration or an environment that cannot be built.

    The message is shown to the user as it is, on one line, so it must say what
    was wrong and where (a path, a key, an entry name).
    """

    #: Longer messages are cut: a minified source line must not become a 4 MB "line".
    MAX_LENGTH = 400

    def __init__(self, message: str) -> None:
        text = " ".join(message.split())
        # Text quoted from audited files may hold NULs or terminal escape sequences.
        text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
        if len(text) > self.MAX_LENGTH:
            text = text[: self.MAX_LENGTH - 1] + "…"
        super().__init__(text)


class NothingToCheck(AuditError):
    """The target installs no import package (only top-level modules): no graph to check.

    ``check`` reports it as bad input; ``report`` still measures the footprint.
    """
