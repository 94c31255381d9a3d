"""Which crates' code needs each piece of the standard library's ``.text`` in a cdylib.

Most of a small cdylib is std (and the functions no crate's name claims): the
code of ``std::sync::mpmc`` is there because the engine's runtime spawns threads,
not because the package does. Each std function is grouped by the crates whose
functions reach it through std code alone, from the disassembly (``objdump -d``:
calls, jumps and RIP-relative references) and the relocations of the tables those
references point at (vtables). A std function only diesel reaches goes with diesel;
one that the package's own code reaches too stays. Indirect calls that neither
shows (a function pointer built at run time) leave their targets unclaimed.
"""

from __future__ import annotations

import bisect
import io
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from cloacina_audit.rust.binary import OTHER, crate_of
from cloacina_audit.system.processes import ProcessTimeout, run

OBJDUMP_TIMEOUT = 300.0
_HEADER = re.compile(r"^([0-9a-f]+) <[^>]*>:$")
_REFERENCE = re.compile(r"\b(?:call|jmp|j[a-z]{1,3})\s+([0-9a-f]+) <|# ([0-9a-f]+) <")
#: How far past a referenced address a table is read when no symbol ends it.
_TABLE_SPAN = 512


def std_text_by_users(library: Path, own_crates: set[str]) -> dict[frozenset[str], int]:
    """Bytes of std (and unclaimed) functions by the set of crates that reach them; the
    empty set for those no crate's code reaches. {} when the library cannot be
    disassembled (no objdump, not an ELF file objdump reads)."""
    if shutil.which("objdump") is None:
        return {}
    functions, objects, relocations = _symbols(library)
    if not functions:
        return {}
    with tempfile.TemporaryFile() as listing:
        try:
            completed = run(["objdump", "-d", "--no-show-raw-insn", "-j", ".text", str(library)],
                            timeout=OBJDUMP_TIMEOUT, output=listing)
        except (ProcessTimeout, OSError):
            return {}
        if completed.returncode != 0:
            return {}
        listing.seek(0)
        return _group(functions, objects, relocations, io.TextIOWrapper(listing, "utf-8", "replace"),
                      own_crates)


def _group(functions: dict[int, tuple[int, str]], objects: set[int],
           relocations: list[tuple[int, int]], listing: Iterable[str],
           own_crates: set[str]) -> dict[frozenset[str], int]:
    starts = sorted(functions)

    def function_at(address: int) -> int | None:
        index = bisect.bisect_right(starts, address) - 1
        if index >= 0 and address < starts[index] + functions[starts[index]][0]:
            return starts[index]
        return None

    edges: dict[int, set[int]] = defaultdict(set)
    tables: dict[int, set[int]] = defaultdict(set)
    current: int | None = None
    for line in listing:
        header = _HEADER.match(line)
        if header:
            current = function_at(int(header.group(1), 16))
            continue
        if current is None:
            continue
        for match in _REFERENCE.finditer(line):
            address = int(match.group(1) or match.group(2), 16)
            target = function_at(address)
            if target is None:
                tables[current].add(address)
            elif target != current:
                edges[current].add(target)
    bounds = sorted(objects | {a for found in tables.values() for a in found})
    offsets = [offset for offset, _ in relocations]
    for function, addresses in tables.items():
        for address in addresses:
            after = bisect.bisect_right(bounds, address)
            end = min(bounds[after] if after < len(bounds) else address + _TABLE_SPAN,
                      address + _TABLE_SPAN)
            index = bisect.bisect_left(offsets, address)
            while index < len(offsets) and offsets[index] < end:
                target = function_at(relocations[index][1])
                if target is not None and target != function:
                    edges[function].add(target)
                index += 1
    crate = {start: crate_of(name, own_crates) for start, (_, name) in functions.items()}
    users: dict[int, set[str]] = defaultdict(set)
    for start in starts:
        if crate[start] in ("std", OTHER):
            continue
        pending, seen = sorted(edges.get(start, ())), set()
        while pending:
            reached = pending.pop()
            if reached in seen or crate[reached] not in ("std", OTHER):
                continue
            seen.add(reached)
            users[reached].add(crate[start])
            pending.extend(edges.get(reached, ()))
    grouped: dict[frozenset[str], int] = defaultdict(int)
    for start, (size, _) in functions.items():
        if crate[start] in ("std", OTHER):
            grouped[frozenset(users.get(start, ()))] += size
    return dict(grouped)


def _symbols(library: Path) -> tuple[dict[int, tuple[int, str]], set[int], list[tuple[int, int]]]:
    """Functions in .text (start -> (size, name)), data object starts, and the RELA
    relocations (offset, addend) that fill tables with addresses."""
    functions: dict[int, tuple[int, str]] = {}
    objects: set[int] = set()
    relocations: list[tuple[int, int]] = []
    try:
        with library.open("rb") as handle:
            elf = ELFFile(handle)
            if elf.get_section_by_name(".text") is None:
                return {}, set(), []
            index = elf.get_section_index(".text")
            for section in elf.iter_sections():
                if isinstance(section, SymbolTableSection):
                    for symbol in section.iter_symbols():
                        kind = symbol["st_info"]["type"]
                        if kind == "STT_FUNC" and symbol["st_shndx"] == index and symbol["st_size"]:
                            functions.setdefault(symbol["st_value"], (symbol["st_size"], symbol.name))
                        elif kind == "STT_OBJECT":
                            objects.add(symbol["st_value"])
                elif isinstance(section, RelocationSection):
                    relocations.extend((r["r_offset"], r["r_addend"])
                                       for r in section.iter_relocations() if r.is_RELA())
    except (OSError, ValueError):
        return {}, set(), []
    return functions, objects, sorted(relocations)
