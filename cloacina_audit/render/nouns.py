"""What a footprint is made of, in the words of its language: a Python package's
distributions and install size, a Rust package's crates and stripped cdylib."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cloacina_audit.model.report import Footprint


@dataclass(frozen=True)
class Nouns:
    """What a footprint is made of, in the words of its language."""

    unit: str  #: ``distribution``; for a Rust package ``crate``
    heading: str  #: ``Distribution``; ``Crate``
    size_heading: str  #: ``Size``; ``.text`` (a crate's share of the cdylib's code)
    size_label: str  #: what the headline size is: ``Install size``; ``Stripped cdylib size``
    size_word: str  #: after the size in a sentence: ``installed``; ``stripped cdylib``
    native_unit: str  #: ``native file``; ``native crate`` (a crate that links a library)
    #: Whether the breakdown has file counts and unique sizes (a Rust build has neither).
    counts_files: bool = True

    def metric_label(self, key: str, default: str) -> str:
        """The before-and-after row of metric ``key`` in these words, else ``default``."""
        return {
            "distributions": f"{self.heading}s",
            "install_bytes": self.size_label,
            "native_files": f"{self.native_unit.capitalize()}s",
        }.get(key, default)


PYTHON_NOUNS = Nouns("distribution", "Distribution", "Size", "Install size", "installed",
                     "native file")
RUST_NOUNS = Nouns("crate", "Crate", ".text", "Stripped cdylib size", "stripped cdylib",
                   "native crate", counts_files=False)


def nouns_of(footprints: Iterable[Footprint | None]) -> Nouns:
    """A crate's words when every footprint is a Rust package's, else a distribution's."""
    listed = list(footprints)
    rust = bool(listed) and all(f is not None and f.binary is not None for f in listed)
    return RUST_NOUNS if rust else PYTHON_NOUNS
