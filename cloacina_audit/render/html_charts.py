"""The HTML report's figures, inline SVG with a table beside each (no script, no
network), and the two building blocks every part of the page uses: :func:`esc` for
text from the audit and :func:`table`."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from html import escape

from cloacina_audit.model.names import canonical_name
from cloacina_audit.model.report import Footprint
from cloacina_audit.model.units import format_bytes as format_size
from cloacina_audit.render._format import largest_first
from cloacina_audit.render.view import SplitPart

#: Okabe-Ito colours, distinguishable with colour-blindness; the last is "other".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
OTHER_COLOR = "#9a9a9a"
OTHER = "other"
PACKAGE_COLOR = "#24292f"
PACKAGE = "the package itself"


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def table(headings: list[str], rows: list[list[str]], numeric: Container[int] = ()) -> str:
    """Headings and cells are HTML already; columns in ``numeric`` are right-aligned."""

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(headings))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass
class _Segment:
    name: str
    bytes: int


def _segments(footprint: Footprint, colored: set[str]) -> list[_Segment]:
    """The bar of one footprint: coloured distributions, the package, the rest as ``other``."""
    segments = []
    other = footprint.install_bytes
    for dist in largest_first(footprint.by_distribution):
        name = canonical_name(dist.name)
        if dist.bytes and name in colored:
            segments.append(_Segment(name, dist.bytes))
            other -= dist.bytes
    if footprint.package is not None and footprint.package.bytes:
        segments.append(_Segment(PACKAGE, footprint.package.bytes))
        other -= footprint.package.bytes
    if other > 0:
        segments.append(_Segment(OTHER, other))
    return segments


def figure(bars: tuple[tuple[str, Footprint], ...], caption: str) -> str:
    """A horizontal stacked bar per footprint, on one linear scale, with a legend."""
    sizes: dict[str, int] = {}
    for _, footprint in bars:
        for dist in footprint.by_distribution:
            name = canonical_name(dist.name)
            sizes[name] = max(sizes.get(name, 0), dist.bytes or 0)
    ranked = [n for n, b in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])) if b > 0]
    colors = dict(zip(ranked, PALETTE, strict=False))
    colors[PACKAGE] = PACKAGE_COLOR
    colors[OTHER] = OTHER_COLOR
    rows = [(label, fp.install_bytes, _segments(fp, set(colors))) for label, fp in bars]

    width, label_w, value_w, bar_h, gap = 1000, 190, 90, 28, 14
    track = width - label_w - value_w
    scale = max((sum(s.bytes for s in segs) for _, _, segs in rows), default=0) or 1
    height = len(rows) * (bar_h + gap) + gap
    parts = []
    for row, (label, install_bytes, segs) in enumerate(rows):
        y = gap + row * (bar_h + gap)
        parts.append(
            f'<text x="{label_w - 10}" y="{y + bar_h / 2 + 4:.0f}" text-anchor="end">'
            f"{esc(label)}</text>"
        )
        x = float(label_w)
        for seg in segs:
            w = max(seg.bytes / scale * track, 2.0)
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{colors[seg.name]}"><title>{esc(seg.name)}: '
                f"{esc(format_size(seg.bytes))}</title></rect>"
            )
            x += w
        parts.append(
            f'<text x="{x + 8:.1f}" y="{y + bar_h / 2 + 4:.0f}">'
            f"{esc(format_size(install_bytes))}</text>"
        )
    legend = "".join(
        f'<span style="margin-right:14px;white-space:nowrap">'
        f'<span style="display:inline-block;width:11px;height:11px;background:{color};'
        f'margin-right:5px;vertical-align:-1px"></span>{esc(name)}</span>'
        for name, color in colors.items()
        if any(s.name == name for _, _, segs in rows for s in segs)
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-label="{esc(caption)}">{"".join(parts)}</svg>'
    )
    return f"<figure>{svg}<figcaption>{esc(caption)}<br>{legend}</figcaption></figure>"


#: The split chart: what one statement alone saves, what several save together, the rest.
SHARED_COLOR = "#D55E00"


def split_figure(split: tuple[SplitPart, ...], whole: str) -> str:
    """One stacked bar of the footprint across the offending statements, each segment
    labelled, with the same figures as a table (the text alternative)."""
    unique = iter(PALETTE[:5])
    colors = [next(unique, PALETTE[4]) if part.kind == "unique" else
              SHARED_COLOR if part.kind == "shared" else OTHER_COLOR for part in split]
    width, bar_h, top = 1000, 28, 8
    rects, x = [], 0.0
    for part, color in zip(split, colors):
        w = part.share * width
        if w <= 0:
            continue
        rects.append(
            f'<rect x="{x:.1f}" y="{top}" width="{max(w, 2.0):.1f}" height="{bar_h}" '
            f'fill="{color}"><title>{esc(part.label)}: {esc(part.size)} ({esc(part.percent)})'
            "</title></rect>"
        )
        if w >= 90:  # room for its figure inside the segment
            rects.append(f'<text x="{x + 8:.1f}" y="{top + bar_h / 2 + 5:.0f}" fill="#fff">'
                         f"{esc(part.size)} ({esc(part.percent)})</text>")
        x += w
    caption = f"How the footprint ({whole}) splits across the offending statements"
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} '
        f'{bar_h + 2 * top}" width="100%" aria-label="{esc(caption)}: '
        f'{esc("; ".join(f"{p.label} {p.size} ({p.percent})" for p in split))}">'
        f'{"".join(rects)}</svg>'
    )
    rows = [
        [f'<span class="swatch" style="background:{color}"></span>{esc(part.label)}',
         esc(part.size), esc(part.percent)]
        for part, color in zip(split, colors)
    ]
    return (f'<figure class="split">{svg}<figcaption>{esc(caption)}</figcaption></figure>'
            + table(["Part", "Size", "Share"], rows, {1, 2}))
