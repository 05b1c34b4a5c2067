"""The offline HTML report and static figures: what a reader of a brief sees.

>>> from raremap.report import write_report  # doctest: +SKIP
>>> write_report(raremap.load(), "report.html", db="raremap.duckdb")  # doctest: +SKIP
"""

from raremap.report.build import build_sections, render_report, write_report
from raremap.report.runs import StoredRun, read_runs
from raremap.report.static import write_static_figures

__all__ = [
    "StoredRun",
    "build_sections",
    "read_runs",
    "render_report",
    "write_report",
    "write_static_figures",
]
