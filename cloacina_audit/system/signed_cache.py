"""Cache entries that are verified before they are believed.

A cache entry decides a verdict (the kind of an import, the imports of a
module), and the cache directory may come from elsewhere: restored by CI, shared,
or written by someone else. So every entry is written as JSON ``{"mac", "document"}``
(or, for large entries, as binary: a magic line, the raw MAC, the payload),
the MAC an HMAC-SHA256 of the document's compact JSON text; an entry whose MAC does not verify under
this user's key is ignored (and rewritten by the caller), as is one that does
not parse.

The key is 32 random bytes in ``<cache root>/.hmac-key``, created private to the
user (mode 0600, opened without following links). A key that is not a regular
file of this user, readable by nobody else, is not trusted: then nothing is read
from the cache and nothing written, which only costs speed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import Any

from cloacina_audit.system.cachedir import write_bytes_atomically, write_text_atomically

_KEY_FILE = ".hmac-key"
_KEY_BYTES = 32


@lru_cache(maxsize=8)
def cache_key(root: Path) -> bytes | None:
    """This user's key for the cache under ``root``, created on first use; None if untrusted."""
    path = root / _KEY_FILE
    try:
        root.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(os.urandom(_KEY_BYTES))  # what secrets.token_bytes reads
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "rb") as handle:
            status = os.fstat(handle.fileno())
            if (not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid()
                    or status.st_mode & 0o077):
                return None
            key = handle.read(_KEY_BYTES + 1)
    except OSError:
        return None
    return key if len(key) == _KEY_BYTES else None


def read_signed(path: Path, key: bytes | None, max_bytes: int = 256 * 1024 * 1024) -> Any | None:
    """The document of a verified entry, or None (missing, unreadable, forged, not JSON)."""
    if key is None:
        return None
    data = _read_regular(path, max_bytes)
    if data is None:
        return None
    try:
        entry = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or set(entry) != {"mac", "document"}:
        return None
    mac, document = entry["mac"], entry["document"]
    # Our own documents survive a JSON round trip byte for byte (no floats, dict order kept).
    text = json.dumps(document, separators=(",", ":")).encode()
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(key, text)):
        return None
    return document


def write_signed(path: Path, document: Any, key: bytes | None) -> None:
    """Write ``document`` with its MAC, atomically; nothing without a trusted key."""
    if key is None:
        return
    text = json.dumps(document, separators=(",", ":"))
    write_text_atomically(path, json.dumps({"mac": _mac(key, text.encode()), "document": document},
                                           separators=(",", ":")))


def _read_regular(path: Path, max_bytes: int) -> bytes | None:
    """At most ``max_bytes`` of a regular file (None: missing, unreadable, not a regular
    file, or larger)."""
    try:
        with open(path, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            data = handle.read(max_bytes + 1)
    except OSError:
        return None
    return data if len(data) <= max_bytes else None


#: A signed binary entry: this magic, the 32-byte HMAC-SHA256 of the payload, the payload.
_BINARY_MAGIC = b"cloacina-audit signed 1\n"


def read_signed_bytes(path: Path, key: bytes | None, max_bytes: int = 256 * 1024 * 1024) -> bytes | None:
    """The payload of a verified binary entry, or None. The MAC is checked before
    anything is decoded: a payload that verifies was written by this user."""
    if key is None:
        return None
    data = _read_regular(path, max_bytes)
    head = len(_BINARY_MAGIC) + 32
    if data is None or len(data) < head or not data.startswith(_BINARY_MAGIC):
        return None
    payload = data[head:]
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    return payload if hmac.compare_digest(data[len(_BINARY_MAGIC):head], mac) else None


def write_signed_bytes(path: Path, payload: bytes, key: bytes | None) -> None:
    """Write ``payload`` with its MAC, atomically; nothing without a trusted key."""
    if key is None:
        return
    write_bytes_atomically(
        path, _BINARY_MAGIC + hmac.new(key, payload, hashlib.sha256).digest() + payload)


def _mac(key: bytes, text: bytes) -> str:
    return hmac.new(key, text, hashlib.sha256).hexdigest()
