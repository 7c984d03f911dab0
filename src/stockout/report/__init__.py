"""HTML reports from results folders. Reads files only: never imports the model."""

from stockout.report.html import build_report_html, write_report
from stockout.report.images import MissingExtraError, export_images
from stockout.report.sweep import SweepTables, load_sweep, write_sweep_report
from stockout.report.tables import ResultsFolderError, ResultTables, load_tables

__all__ = [
    "MissingExtraError",
    "ResultTables",
    "ResultsFolderError",
    "SweepTables",
    "build_report_html",
    "export_images",
    "load_sweep",
    "load_tables",
    "write_report",
    "write_sweep_report",
]
