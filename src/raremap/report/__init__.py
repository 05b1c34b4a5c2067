"""The offline HTML report and static figures: what a reader of a brief sees.

>>> from raremap.report import write_report  # doctest: +SKIP
>>> write_report(raremap.load(), "report.html", db="raremap.duckdb")  # doctest: +SKIP

The names below are imported on first use: `raremap simulate` needs only `raremap.report.explain`,
and the report's templates and figures would cost every command a tenth of a second at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from raremap.report.build import build_sections, render_report, write_report
    from raremap.report.runs import StoredRun, read_runs
    from raremap.report.static import write_static_figures

_MODULES = {
    "StoredRun": "raremap.report.runs",
    "build_sections": "raremap.report.build",
    "read_runs": "raremap.report.runs",
    "render_report": "raremap.report.build",
    "write_report": "raremap.report.build",
    "write_static_figures": "raremap.report.static",
}

__all__ = [
    "StoredRun",
    "build_sections",
    "read_runs",
    "render_report",
    "write_report",
    "write_static_figures",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)
