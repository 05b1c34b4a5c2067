"""The report's back-test section, drawn from stored back-test runs."""

from __future__ import annotations

import pandas as pd

from raremap.report.backtest_section import TITLE, backtest_section
from raremap.report.runs import StoredRun


def stored(name: str, created: str, status: str = "fail") -> StoredRun:
    scores = pd.DataFrame([{
        "episode": name, "outcome": "exports", "period": "2025", "unit": "ratio to 2024", "observed": 0.98,
        "model": 1.09, "difference": 0.11, "tolerance": "±0.05 ratio to 2024", "status": status, "reason": "",
    }, {
        "episode": name, "outcome": "may", "period": "2025-05", "unit": "t", "observed": 1238.0,
        "model": None, "difference": None, "tolerance": "±5%", "status": "not expressible", "reason": "monthly",
    }])
    paths = pd.DataFrame({"outcome": ["exports", "exports"], "period": [2024, 2025], "model": [1.0, 1.09]})
    return StoredRun(
        run_id=f"backtest-{name}-{created}", kind="backtest", name=name, dataset_version="abc", created_at=created,
        specification={"engine_limits": ["Annual periods only."], "outcomes": [{"id": "exports", "sources": ["adamas_2025_china_magnet_exports_2024"]}]}, summary={"run_error": ""},
        results={"scores": scores, "paths": paths, "binding": pd.DataFrame()},
    )


def test_no_backtest_no_section():
    assert backtest_section([]) is None


def test_the_latest_run_of_each_episode_gives_the_table_and_one_chart_per_yearly_outcome():
    section = backtest_section([stored("a", "2026-01-01", "pass"), stored("a", "2026-02-01"), stored("b", "2026-01-01")])
    assert section is not None and section.title == TITLE
    frame = section.tables[0].frame
    assert len(frame) == 4 and set(frame["episode"]) == {"a", "b"}
    assert "pass" not in set(frame["status"])
    assert len(section.figures) == 2
    observed = section.figures[0].data[1]
    assert observed["y"] == [0.98] and observed["error_y"]["array"] == [0.05]
    assert any("Annual periods only." in note for note in section.notes)
    assert "adamas_2025_china_magnet_exports_2024" in section.figures[0].evidence[1].source_ids
