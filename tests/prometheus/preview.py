"""A picture of the dashboard drawn with matplotlib from its own queries, for the docs.

Grafana cannot run here (docs/dashboards.md says why), so this stands in for a screenshot: it
lays the panels out by their ``gridPos``, sends every target's query to the tier's Prometheus
as a range query and draws the series (stat panels: the last value). It is a preview of the
data the panels get, not of Grafana's rendering. ``make dashboard-preview`` runs it.
"""

# matplotlib's and Pillow's stubs leave most keyword arguments and returns untyped.
# pyright: reportUnknownMemberType=false, reportUnknownArgumentType=false
# pyright: reportUnknownVariableType=false, reportUnknownLambdaType=false

from __future__ import annotations

import io
import math
import re
import time
from pathlib import Path
from typing import Any

from tests.prometheus.stack import DASHBOARD, Prometheus, as_sent

GRID_COLUMNS = 24
INCH_PER_COLUMN = 0.8
INCH_PER_ROW = 0.42
BACKGROUND = "#111217"
PANEL = "#181b1f"
TEXT = "#ccccdc"
MUTED = "#8e8e8e"
COLORS = ("#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#37872d")


def _legend(template: str, metric: dict[str, str]) -> str:
    if not template or template == "__auto":
        return ", ".join(f"{k}={v}" for k, v in sorted(metric.items())) or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), template).strip()


def _format(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "NaN"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "currencyUSD":
        return f"${value:.6f}" if value < 0.01 else f"${value:.2f}"
    if unit == "reqps":
        return f"{value:.3f} req/s"
    return f"{value:.3g}"


def _range(prometheus: Prometheus, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    data = prometheus.api(
        "query_range", query=as_sent(expr), start=f"{start:.3f}", end=f"{end:.3f}", step="1"
    )
    return list(data["result"])


def render(prometheus: Prometheus, start: float, out: Path) -> None:
    """Draw the dashboard as the Prometheus of one mode's Proxy fills it, into ``out``."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
    from PIL import Image

    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    end = time.time()
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
    width, height = GRID_COLUMNS * INCH_PER_COLUMN, rows * INCH_PER_ROW + 0.6
    figure = plt.figure(figsize=(width, height), facecolor=BACKGROUND)
    figure.text(
        0.005,
        1 - 0.25 / height,
        f"{dashboard['title']}  —  {prometheus.mode} mode  (preview from the dashboard's "
        "queries, not Grafana)",
        color=TEXT,
        fontsize=13,
        va="center",
    )
    top = 1 - 0.6 / height

    def box(grid: dict[str, int], labels: bool) -> tuple[float, float, float, float]:
        pad_x, pad_y = 0.1 / width, 0.08 / height
        # Room on the left for the y tick labels.
        label_room = 0.75 / width if labels else 0.0
        x0 = grid["x"] / GRID_COLUMNS + pad_x + label_room
        y0 = top - (grid["y"] + grid["h"]) * INCH_PER_ROW / height + pad_y
        return (
            x0,
            y0,
            grid["w"] / GRID_COLUMNS - 2 * pad_x - label_room,
            grid["h"] * INCH_PER_ROW / height - 2 * pad_y,
        )

    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        if panel["type"] == "row":
            x0, y0, _, h = box(grid, labels=False)
            figure.text(
                x0, y0 + h / 2, panel["title"], color=TEXT, fontsize=11, weight="bold", va="center"
            )
            continue
        unit = panel["fieldConfig"]["defaults"]["unit"]
        axes = figure.add_axes(box(grid, labels=panel["type"] != "stat"), facecolor=PANEL)
        for spine in axes.spines.values():
            spine.set_color("#2c3235")
        axes.set_title(panel["title"], color=TEXT, fontsize=9, loc="left", pad=4)
        series: list[tuple[str, list[float], list[float]]] = []
        for target in panel["targets"]:
            for result in _range(prometheus, target["expr"], start, end):
                points = [(float(t) - start, float(v)) for t, v in result["values"]]
                points = [(t, v) for t, v in points if math.isfinite(v)]
                if points:
                    times, values = zip(*points, strict=True)
                    series.append(
                        (
                            _legend(target["legendFormat"], result["metric"]),
                            list(times),
                            list(values),
                        )
                    )
        if not series:
            axes.set_xticks([])
            axes.set_yticks([])
            axes.text(
                0.5, 0.5, "No data", color=MUTED, ha="center", va="center", transform=axes.transAxes
            )
            continue
        if panel["type"] == "stat":
            axes.set_xticks([])
            axes.set_yticks([])
            text = "   ".join(_format(values[-1], unit) for _, _, values in series)
            axes.text(
                0.5,
                0.45,
                text,
                color=COLORS[0],
                fontsize=20,
                weight="bold",
                ha="center",
                va="center",
                transform=axes.transAxes,
            )
            continue
        for index, (label, times, values) in enumerate(series):
            axes.plot(times, values, color=COLORS[index % len(COLORS)], linewidth=1.2, label=label)
        axes.tick_params(colors=MUTED, labelsize=7)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _, unit=unit: _format(v, unit)))
        axes.set_xlabel("seconds since the traffic started", color=MUTED, fontsize=7)
        axes.grid(color="#2c3235", linewidth=0.5)
        legend = axes.legend(
            fontsize=6.5, loc="upper left", frameon=False, ncol=2 if len(series) > 4 else 1
        )
        for text in legend.get_texts():
            text.set_color(TEXT)
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72, facecolor=BACKGROUND)
    plt.close(figure)
    buffer.seek(0)
    # A palette image: a fraction of the size, no visible loss on flat panel colours.
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=128).save(out, optimize=True)
