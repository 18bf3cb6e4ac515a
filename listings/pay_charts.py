"""Geometry of the pay pages' server-rendered SVG charts: plain numbers the templates draw, no JavaScript.

Only groups and months with enough listings for figures (`pay.MIN_SAMPLE`) are drawn; the page says how many
were left out.
"""

from __future__ import annotations

import math
from typing import Any

from listings.pay import PayGroup, PayMonth

WIDTH = 640
LABEL_W = 170  # room for a state or setting name left of the bars
ROW_H = 30
PAD = 24
MAX_ROWS = 15


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round-number ticks covering [low, high] (steps of 1, 2 or 5 × a power of ten)."""
    span = max(high - low, 1.0)
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 0.001:
        ticks.append(value)
        value += step
    if ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


def _dollars(value: float) -> str:
    return f"${value / 1000:,.0f}k" if value >= 1000 else f"${value:,.0f}"


def range_bars(groups: list[PayGroup]) -> dict[str, Any] | None:
    """Horizontal bars p25–p75 with a median tick and a min–max whisker, one row per group with figures."""
    shown = [g for g in groups if g.summary.p50 is not None][:MAX_ROWS]
    if not shown:
        return None
    ticks = _nice_ticks(min(g.summary.min for g in shown), max(g.summary.max for g in shown))
    low, high = ticks[0], ticks[-1]
    plot_w = WIDTH - LABEL_W - PAD

    def x(value: float) -> float:
        return round(LABEL_W + (value - low) / (high - low) * plot_w, 1)

    rows = []
    for i, group in enumerate(shown):
        s = group.summary
        y = PAD + i * ROW_H
        rows.append({
            "label": group.label, "key": group.key, "count": s.count, "y": y, "mid_y": y + ROW_H / 2 - 2,
            "whisker_x1": x(s.min), "whisker_x2": x(s.max), "bar_x": x(s.p25), "bar_w": max(x(s.p75) - x(s.p25), 2),
            "median_x": x(s.p50), "title": f"{group.label}: median {_dollars(s.p50)}, middle half {_dollars(s.p25)}"
                                           f"–{_dollars(s.p75)}, {s.count} listings",
        })
    height = PAD + len(rows) * ROW_H + PAD
    return {"width": WIDTH, "height": height, "rows": rows, "axis_y": height - PAD + 4, "bar_h": ROW_H - 12,
            "ticks": [{"x": x(t), "label": _dollars(t)} for t in ticks], "left_out": len(groups) - len(shown)}


def trend_line(months: list[PayMonth]) -> dict[str, Any] | None:
    """The median by month as a line with a dot per month that has figures; months without stay gaps."""
    with_figures = [m for m in months if m.summary.p50 is not None]
    if not with_figures:
        return None
    ticks = _nice_ticks(min(m.summary.p25 for m in with_figures), max(m.summary.p75 for m in with_figures))
    low, high = ticks[0], ticks[-1]
    height, left = 260, 70
    plot_h, step = height - 2 * PAD - 20, (WIDTH - left - PAD) / max(len(months) - 1, 1)

    def y(value: float) -> float:
        return round(PAD + (high - value) / (high - low) * plot_h, 1)

    dots, columns = [], []
    for i, month in enumerate(months):
        cx = round(left + i * step, 1)
        columns.append({"x": cx, "label": month.month.strftime("%b"), "count": month.summary.count})
        s = month.summary
        if s.p50 is not None:
            dots.append({"x": cx, "y": y(s.p50), "band_y1": y(s.p75), "band_y2": y(s.p25),
                         "title": f"{month.month:%B %Y}: median {_dollars(s.p50)} from {s.count} listings"})
    return {"width": WIDTH, "height": height, "left": left, "dots": dots, "columns": columns,
            "points": " ".join(f"{d['x']},{d['y']}" for d in dots), "label_y": height - PAD + 6,
            "ticks": [{"y": y(t), "label": _dollars(t)} for t in ticks], "right": WIDTH - PAD}
