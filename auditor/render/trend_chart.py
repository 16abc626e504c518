"""The findings-by-severity curve as inline SVG: no script, no network, prints as drawn.

Built from numbers and dates only (no text from the exports), so it can be
inserted in the autoescaped page as markup.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..model.findings import SEVERITIES, SEVERITY_LABELS
from ..model.text import french_number

COLOURS = {"error": "#c00000", "warning": "#b38600", "info": "#3a78c3"}
WIDTH, HEIGHT = 720, 210
LEFT, RIGHT, TOP, BOTTOM = 44, 190, 14, 34


def severity_counts(trend: pd.DataFrame) -> np.ndarray:
    """The trend's counts as one integer column per severity (SEVERITIES' order), a row per audit.

    Column by column: selecting the columns as a frame cost more than drawing the curve.
    """
    return np.column_stack([trend[severity].to_numpy(dtype="int64") for severity in SEVERITIES])


def trend_svg(trend: pd.DataFrame, title: str) -> Markup:
    """`trend`: as_of (ISO date) and a count per severity, one row per audit, oldest first."""
    runs = len(trend)
    counts = severity_counts(trend)
    peak = max(1, int(counts.max()) if runs else 1)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(index: int) -> float:
        return LEFT + (plot_width * index / (runs - 1) if runs > 1 else plot_width / 2)

    def y(value: int) -> float:
        return TOP + plot_height * (1 - value / peak)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{_escape(title)}">',
        f"<title>{_escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_height}" x2="{LEFT + plot_width}" y2="{TOP + plot_height}" stroke="#888"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_height}" stroke="#888"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{french_number(peak)}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_height + 4}" text-anchor="end" font-size="11">0</text>',
    ]
    step = max(1, (runs + 5) // 6)  # at most about six date labels
    for index, as_of in enumerate(trend["as_of"]):
        if index % step == 0 or index == runs - 1:
            parts.append(f'<text x="{x(index):.1f}" y="{HEIGHT - 12}" text-anchor="middle" font-size="11">'
                         f'{pd.Timestamp(as_of):%m/%Y}</text>')
    for row, severity in enumerate(SEVERITIES):
        values = counts[:, row].tolist()
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        colour = COLOURS[severity]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.extend(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>' for i, v in enumerate(values))
        legend_y = TOP + 14 + row * 18
        label = f"{SEVERITY_LABELS[severity]}s ({french_number(values[-1] if values else 0)})"
        parts.append(f'<rect x="{WIDTH - RIGHT + 14}" y="{legend_y - 9}" width="12" height="4" fill="{colour}"/>'
                     f'<text x="{WIDTH - RIGHT + 32}" y="{legend_y - 4}" font-size="11">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _escape(text: str) -> str:
    return str(Markup.escape(text))
