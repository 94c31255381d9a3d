"""The baseline file: committed, reviewed, so sorted, stable and readable JSON.

    {
      "format": 1,
      "violations": [
        {"package": "...", "contract": "...", "importer": "...", "imported": "...",
         "statement": "..."}
      ]
    }
"""

from __future__ import annotations

import json
from pathlib import Path

from cloacina_audit.errors import AuditError
from cloacina_audit.model.baseline import BaselineEntry

FORMAT = 1
_FIELDS = ("package", "contract", "importer", "imported", "statement")


def read_baseline(path: Path) -> list[BaselineEntry]:
    where = f"--baseline {path}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuditError(f"{where}: no such file (write one with --write-baseline)") from None
    except OSError as exc:
        raise AuditError(f"{where}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"{where}: not a baseline file: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise AuditError(f"{where}: not a baseline file of format {FORMAT}")
    entries = document.get("violations")
    if not isinstance(entries, list):
        raise AuditError(f"{where}: 'violations' must be a list")
    found = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or set(entry) != set(_FIELDS) or not all(
            isinstance(entry[key], str) for key in _FIELDS
        ):
            raise AuditError(
                f"{where}: violation {number} must have exactly the text fields {', '.join(_FIELDS)}"
            )
        found.append(BaselineEntry(**{key: entry[key] for key in _FIELDS}))
    return found


def write_baseline(path: Path, entries: list[BaselineEntry]) -> None:
    document = {
        "format": FORMAT,
        "violations": [{key: getattr(entry, key) for key in _FIELDS} for entry in sorted(set(entries))],
    }
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise AuditError(f"--write-baseline {path}: cannot write: {exc.strerror}") from None
