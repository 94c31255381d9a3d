"""The header fields of a distribution's core metadata (``METADATA``, ``PKG-INFO``)."""

from __future__ import annotations


def metadata_headers(text: str | None) -> dict[str, list[str]]:
    """The header fields of a METADATA or PKG-INFO file, by lower-cased name, in order.

    The core metadata format is RFC 822 headers, then a blank line and the description.
    Read directly: ``email``'s parser, what ``Distribution.metadata`` runs, took 30 ms
    of a 68-distribution environment against 12 ms for this, and reads the description
    too. A folded line continues the field before it.
    """
    fields: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in (text or "").splitlines():
        if not line.strip():
            break
        if line[0] in " \t":
            if last:
                last[-1] += " " + line.strip()
            continue
        key, colon, value = line.partition(":")
        if not colon:
            break  # not a header: the headers have ended
        last = fields.setdefault(key.strip().lower(), [])
        last.append(value.strip())
    return fields
