"""Static images of the report's charts (PNG or SVG) through kaleido, the ``images`` extra."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

import plotly.graph_objects as go

from stockout.report import figures
from stockout.report.tables import load_tables


class MissingExtraError(RuntimeError):
    """An optional dependency is not installed."""


def _require_kaleido() -> None:
    if importlib.util.find_spec("kaleido") is None:
        raise MissingExtraError(
            "exporting images needs kaleido, which is not installed: pip install 'stockout[images]'"
        )


def export_images(results_dir: Path | str, fmt: Literal["png", "svg"] = "png",
                  out_dir: Path | None = None) -> list[Path]:  # fmt: skip
    """Write each chart of the report as an image; returns the files written."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"image format must be png or svg, not {fmt!r}")
    _require_kaleido()
    folder = Path(results_dir)
    tables = load_tables(folder)
    target = Path(out_dir) if out_dir is not None else folder / "figures"
    target.mkdir(parents=True, exist_ok=True)
    charts: dict[str, go.Figure | None] = {
        "kpi_bars": figures.kpi_bars(tables),
        "revenue_waterfall": figures.revenue_waterfall(tables),
        "timeseries": figures.timeseries_figure(tables),
        "waits": figures.wait_histogram(tables),
    }
    written = []
    for name, fig in charts.items():
        if fig is None:
            continue
        path = target / f"{name}.{fmt}"
        fig.write_image(path, format=fmt, width=1200, height=int(fig.layout.height or 450))
        written.append(path)
    return written
