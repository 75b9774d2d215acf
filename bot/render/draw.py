"""Draw a core `Chart` with matplotlib (Agg, no pyplot) into PNG bytes. Imported only by the worker
of bot/render/charts.py, so a process that never draws never imports matplotlib.

Phone scale: 800 px wide at 100 dpi; the smallest text is 9.5 pt = 13 px. One colour-blind-safe
palette (Okabe-Ito). One axes spans the figure in pixel coordinates and every panel is laid out
by hand in it: matplotlib's axes, ticks and layout engines cost more than the drawing (a chart
with three panels drew in ~140 ms with an axes per panel, ~65 ms like this). The PNG carries the
chart's title and alt text as text chunks.
"""

from __future__ import annotations

import io
from datetime import timedelta

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402 - after choosing the backend
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402 - matplotlib's own PNG writer
from PIL.PngImagePlugin import PngInfo  # noqa: E402

from bot.core.charts import BarsPanel, CalendarPanel, Chart, Panel, SeriesPanel  # noqa: E402

DPI = 100
WIDTH = 800  # pixels
# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
BLACK, ORANGE, SKY, GREEN, BLUE, VERMILLION, PURPLE = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7")
GREY, LIGHT, INK = "#6E6E6E", "#EBEBEB", "#222222"
# Calendar shades: one hue (blue) from light to dark; 0 answers is light grey.
SHADES = (LIGHT, "#C5E3F6", SKY, "#2E8BC9", BLUE)
LEVELS = (0, 1, 3, 6, 10)  # lower bounds of the shades: 0, 1-2, 3-5, 6-9, 10+
SHADE_LABELS = ("0", "1-2", "3-5", "6-9", "10+")
TITLE_PT, PANEL_PT, TEXT_PT, SMALL_PT = 17, 13, 11, 9.5  # 9.5 pt = 13 px at 100 dpi
LEFT, RIGHT = 24, 776  # the drawing's margins in pixels
TITLE_H, PANEL_TITLE_H, BAR_ROW, CAL_CELL, SERIES_H = 64, 44, 58, 34, 190
MAX_LABEL = 72  # characters of a bar's label


def panel_height(panel: Panel) -> int:
    """Pixels a panel takes, its title included."""
    if isinstance(panel, BarsPanel):
        return PANEL_TITLE_H + 24 + BAR_ROW * max(len(panel.bars), 1) + 30
    if isinstance(panel, CalendarPanel):
        return PANEL_TITLE_H + 26 + 7 * CAL_CELL + 48
    return PANEL_TITLE_H + 16 + SERIES_H + 46


def size_px(chart: Chart) -> tuple[int, int]:
    """(width, height) in pixels of the chart's PNG."""
    return WIDTH, TITLE_H + sum(panel_height(p) for p in chart.panels) + 12


def figure(chart: Chart) -> Figure:
    width, height = size_px(chart)
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # y grows downwards, like the page
    ax.axis("off")
    ax.text(LEFT, 36, chart.title, fontsize=TITLE_PT, fontweight="bold", color=INK, va="center")
    top = TITLE_H
    for panel in chart.panels:
        ax.text(LEFT, top + 20, panel.title, fontsize=PANEL_PT, fontweight="bold", color=INK, va="center")
        body = top + PANEL_TITLE_H
        if isinstance(panel, BarsPanel):
            _bars(ax, body, panel)
        elif isinstance(panel, CalendarPanel):
            _calendar(ax, body, panel)
        else:
            _series(ax, body, panel)
        top += panel_height(panel)
    if chart.note:
        ax.text(width / 2, height / 2, chart.note, fontsize=22, fontweight="bold", color=INK, ha="center",
                va="center", bbox={"boxstyle": "round,pad=0.7", "facecolor": "white", "edgecolor": GREY})
    return fig


# FreeType hinting snaps glyphs to the pixel grid; at 11-17 pt on a phone screen the difference is
# invisible and skipping it takes a fifth off the drawing time (text is most of a chart's cost).
STYLE = {"text.hinting": "no_hinting", "font.family": "DejaVu Sans"}


def png(chart: Chart) -> bytes:
    """The chart as an RGB PNG (no alpha: a quarter less to compress) with its title and alt text."""
    with matplotlib.rc_context(STYLE):
        canvas = FigureCanvasAgg(figure(chart))
        canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    info = PngInfo()
    info.add_text("Title", chart.title)
    info.add_itxt("Description", chart.alt)  # UTF-8 (an ellipsis, a member's name)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="png", compress_level=1, pnginfo=info)
    return out.getvalue()


def _clip(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _bars(ax, top: float, panel: BarsPanel) -> None:
    """Accuracy bars, 0-100 % over the drawing's width less room for the value; labels above."""
    x0, full = LEFT, 560
    scale = full / 100
    first = top + 24
    ys = [first + BAR_ROW * i + 34 for i in range(len(panel.bars))]
    values = [100 * (b.value or 0.0) for b in panel.bars]
    # Each bar over its light track (0-100 %): one collection of rectangles, not a patch per bar.
    _rects(ax, [(x0, y - 8, full, 16) for y in ys] + [(x0, y - 8, v * scale, 16) for y, v in zip(ys, values, strict=True)],
           [LIGHT] * len(ys) + [VERMILLION if b.highlight else BLUE for b in panel.bars])
    for y, bar, value in zip(ys, panel.bars, values, strict=True):
        ax.text(x0, y - 14, _clip(bar.label), fontsize=TEXT_PT, color=INK, va="bottom")
        shown = f"{value:.0f} %  ({bar.detail})" if bar.value is not None else bar.detail
        ax.text(x0 + full + 10, y, shown, fontsize=TEXT_PT, va="center", color=INK if bar.value is not None else GREY)
    bottom = first + BAR_ROW * len(panel.bars) + 6
    for pct_ in (0, 50, 100):
        ax.text(x0 + pct_ * scale, bottom, f"{pct_} %", fontsize=SMALL_PT, color=GREY, ha="center", va="top")
    if panel.pass_mark is not None and ys:
        x = x0 + panel.pass_mark * scale
        # Short marks across each bar only, so the line never crosses a label.
        ax.vlines([x] * len(ys), [y - 13 for y in ys], [y + 13 for y in ys], colors=BLACK, linewidth=2)
        ax.text(x, bottom, f"pass {panel.pass_mark} %", fontsize=SMALL_PT, color=BLACK, ha="center", va="top",
                fontweight="bold")


def _calendar(ax, top: float, panel: CalendarPanel) -> None:
    weeks = (len(panel.counts) + 6) // 7
    x0, y0 = LEFT + 44, top + 26
    grid = [[float("nan")] * weeks for _ in range(7)]
    for i, count in enumerate(panel.counts):
        grid[i % 7][i // 7] = count
    cmap = ListedColormap(list(SHADES))
    cmap.set_bad("white")
    xs = [x0 + CAL_CELL * w for w in range(weeks + 1)]
    ys = [y0 + CAL_CELL * d for d in range(8)]
    ax.pcolormesh(xs, ys, grid, cmap=cmap, norm=BoundaryNorm([*LEVELS, 10 ** 9], cmap.N), edgecolors="white",
                  linewidth=3)
    marks = [(d - panel.first).days for d in panel.streak if panel.first <= d <= panel.today]
    if marks:
        ax.scatter([x0 + CAL_CELL * (i // 7 + 0.5) for i in marks], [y0 + CAL_CELL * (i % 7 + 0.5) for i in marks],
                   s=40, color=ORANGE, edgecolors=BLACK, linewidths=1, zorder=3)
    for row, name in ((0, "Mon"), (2, "Wed"), (4, "Fri"), (6, "Sun")):
        ax.text(x0 - 8, y0 + CAL_CELL * (row + 0.5), name, fontsize=SMALL_PT, ha="right", va="center", color=INK)
    month = None
    for week in range(weeks):
        day = panel.first + timedelta(days=7 * week)
        if day.month != month:
            month = day.month
            ax.text(x0 + CAL_CELL * week + 2, y0 - 6, day.strftime("%b"), fontsize=SMALL_PT, va="bottom", color=INK)
    # The key, beside the grid: the shades, then the streak mark.
    kx, ky = x0 + CAL_CELL * weeks + 36, y0 + 12
    ax.scatter([kx] * len(SHADES), [ky + 30 * i for i in range(len(SHADES))], s=200, marker="s", color=list(SHADES))
    for i, label in enumerate(SHADE_LABELS):
        ax.text(kx + 18, ky + 30 * i, f"{label} answered" if i == 0 else label, fontsize=SMALL_PT, va="center",
                color=INK)
    sy = ky + 30 * len(SHADES)
    ax.scatter([kx], [sy], s=40, color=ORANGE, edgecolors=BLACK, linewidths=1)
    ax.text(kx + 18, sy, "streak day", fontsize=SMALL_PT, va="center", color=INK)
    total, days = sum(panel.counts), sum(1 for c in panel.counts if c)
    ax.text(x0, y0 + 7 * CAL_CELL + 14, f"{total} question{'s' if total != 1 else ''} on {days} day"
            f"{'s' if days != 1 else ''}; {len(marks)}-day streak", fontsize=TEXT_PT, va="top", color=INK)


def _series(ax, top: float, panel: SeriesPanel) -> None:
    x0, x1 = LEFT + 52, RIGHT - 10
    y_top, y_bottom = top + 16, top + 16 + SERIES_H
    n = max(len(panel.values), 1)
    step = (x1 - x0) / n
    centres = [x0 + step * (i + 0.5) for i in range(len(panel.values))]
    peak = 100.0 if panel.line else _nice(max([*panel.values, 1.0]))

    def y_of(v: float) -> float:
        return y_bottom - (y_bottom - y_top) * v / peak

    ticks = [0.0, peak / 2, peak] if (peak / 2).is_integer() else [0.0, peak]
    ax.hlines([y_of(t) for t in ticks], x0, x1, colors=LIGHT, linewidth=1, zorder=0)
    ax.hlines([y_bottom], x0, x1, colors=GREY, linewidth=1.2)
    for t in ticks:
        ax.text(x0 - 8, y_of(t), f"{t:.0f}", fontsize=SMALL_PT, ha="right", va="center", color=GREY)
    ax.text(x1, y_top - 3, panel.unit, fontsize=SMALL_PT, ha="right", va="bottom", color=GREY)
    if panel.line:
        ax.plot(centres, [y_of(v) for v in panel.values], color=BLUE, marker="o", markersize=7, linewidth=2.5)
        for x, v in zip(centres, panel.values, strict=True):
            ax.text(x, y_of(v) - 10, f"{v:.0f}", fontsize=SMALL_PT, ha="center", va="bottom", color=INK)
    else:
        colour = GREEN if panel.unit == "answers" else PURPLE
        half = step * (0.35 if n > 8 else 0.25)
        _rects(ax, [(x - half, y_of(v), 2 * half, y_bottom - y_of(v)) for x, v in zip(centres, panel.values, strict=True)],
               [colour] * len(centres))
        if n <= 8:
            for x, v in zip(centres, panel.values, strict=True):
                ax.text(x, y_of(v) - 4, f"{v:.0f}", fontsize=TEXT_PT, ha="center", va="bottom", color=INK)
    if panel.pass_mark is not None:
        ax.hlines([y_of(panel.pass_mark)], x0, x1, colors=BLACK, linestyles="dashed", linewidth=1.5)
        ax.text(x0 + 4, y_of(panel.pass_mark) - 4, f"pass {panel.pass_mark} %", fontsize=SMALL_PT, ha="left",
                va="bottom", color=BLACK, fontweight="bold")
    for i in range(0, len(panel.values), panel.tick_every):
        ax.text(centres[i], y_bottom + 8, panel.labels[i], fontsize=SMALL_PT, ha="center", va="top", color=INK)


def _rects(ax, boxes: list[tuple[float, float, float, float]], colours: list[str]) -> None:
    """Filled rectangles (x, y, width, height) as one artist."""
    polys = [[(x, y), (x + w, y), (x + w, y + h), (x, y + h)] for x, y, w, h in boxes]
    ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors="none"))


def _nice(value: float) -> float:
    """A round axis top at or above `value`: 1, 2, 5 or 10 times a power of ten."""
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 5, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)
