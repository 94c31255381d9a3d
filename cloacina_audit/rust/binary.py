"""What a built cdylib is made of: its bytes as built and stripped, and ``.text`` per crate.

The symbol table of the unstripped library (read with pyelftools) gives each
function's size; its demangled path names the crate it came from (legacy
``_ZN…E`` and v0 ``_R…`` names, with rust-demangler). std, core and alloc are
one group, ``std``: a path-only toy cdylib is mostly std, which is what a
"< 200 KB" goal must be judged against.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import rust_demangler
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from cloacina_audit.errors import AuditError

STD_CRATES = {"std", "core", "alloc", "panic_unwind", "panic_abort", "std_detect", "rustc_demangle",
              "hashbrown", "adler2", "miniz_oxide", "gimli", "addr2line", "object", "memchr",
              "unwind", "compiler_builtins"}
#: Functions whose name names no Rust crate (C runtime, compiler-generated glue).
OTHER = "(other)"


@dataclass(frozen=True)
class BinarySizes:
    text_bytes: int
    #: crate (with ``std`` for the standard library, ``(other)`` for the rest) -> ``.text`` bytes.
    by_crate: dict[str, int]


def text_by_crate(library: Path, own_crates: set[str]) -> BinarySizes:
    """``own_crates``: the crate names (``-`` or ``_``) whose std dependencies are not std's."""
    try:
        with library.open("rb") as handle:
            elf = ELFFile(handle)
            text = elf.get_section_by_name(".text")
            if text is None:
                raise AuditError(f"{library}: no .text section")
            index = elf.get_section_index(".text")
            sizes: Counter[str] = Counter()
            seen: set[int] = set()
            for section in elf.iter_sections():
                if not isinstance(section, SymbolTableSection):
                    continue
                for symbol in section.iter_symbols():
                    if symbol["st_info"]["type"] != "STT_FUNC" or symbol["st_shndx"] != index:
                        continue
                    if symbol["st_value"] in seen or not symbol["st_size"]:
                        continue
                    seen.add(symbol["st_value"])
                    sizes[crate_of(symbol.name, own_crates)] += symbol["st_size"]
            total = text["sh_size"]
    except (OSError, ValueError) as exc:
        raise AuditError(f"{library}: cannot read the ELF file: {exc}") from None
    sizes[OTHER] += max(total - sum(sizes.values()), 0)
    return BinarySizes(text_bytes=total, by_crate=dict(sorted(sizes.items())))


_PATH_START = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?=::)")


def crate_of(symbol: str, own_crates: set[str]) -> str:
    """The crate a function belongs to, from its mangled name.

    ``<diesel::Query as core::fmt::Debug>::fmt`` is diesel's code (the type's
    crate, where the monomorphised body is the type's); a bare C name is ``(other)``.
    """
    if not symbol.startswith(("_ZN", "_R", "__ZN", "__R")):
        return OTHER
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints names it cannot finish
            name = rust_demangler.demangle(symbol)
    except Exception:  # a name the demangler cannot read: counted, not attributed
        return OTHER
    match = _PATH_START.match(name.lstrip("<&*[("))
    if match is None:  # <str>::…, <[T]>::…: methods of primitive types are std's
        return "std"
    crate = match.group(0)
    if crate.startswith("__rust"):
        return "std"
    normalized = {c.replace("-", "_"): c for c in own_crates}
    if crate in normalized:
        return normalized[crate]
    return "std" if crate in STD_CRATES else crate
