"""The offline report: self-contained, every figure drawn in chromium with the network blocked,
every number traced to its rows and sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import raremap
from raremap.errors import RaremapError
from raremap.report import build_sections, read_runs, write_report, write_static_figures
from raremap.report.assets import plotly_javascript
from raremap.report.html import figure_html
from raremap.report.run_sections import plan_section
from tests.cli.runner import run_raremap
from tests.report.browser import offline_page

# 4 stage maps, the Sankey, the supplier bars; 2 scenario charts; exceedance and a fan chart;
# the frontier, a portfolio and sourcing shares.
EXPECTED_FIGURES = 13
SCREENSHOTS = Path("/tmp/raremap-screenshots")


def page_without_plotly(text: str) -> str:
    """The report's HTML with the inlined plotly.js bundle cut out (it holds URL strings it never fetches)."""
    return text.replace(plotly_javascript(), "")


def test_report_has_no_external_resources(report_path: Path) -> None:
    text = report_path.read_text(encoding="utf-8")
    own = page_without_plotly(text)
    assert plotly_javascript() in text, "plotly.js must be inlined"
    assert not re.search(r"<script[^>]+src=", text), "no script may be loaded from elsewhere"
    assert not re.search(r"<link[^>]+href=", text), "no stylesheet or font may be linked"
    assert "cdn" not in own.lower(), "the report's own code must not mention a CDN"
    assert "connect-src 'none'" in own, "the page's content security policy forbids every fetch"
    assert own.index("window.PlotlyGeoAssets") < text.index(plotly_javascript()[:200]), (
        "the map must be handed to plotly.js before plotly.js loads"
    )
    fetched = re.findall(r"""<(?!a )[a-z]+[^>]*(?:src|href)=["'](https?://[^"']+)""", own)
    linked = re.findall(r"""<a href=["'](https?://[^"']+)""", own)
    assert fetched == [], "nothing is loaded from the network"
    assert linked, "sources are links a reader may follow (navigation, not fetches)"


@pytest.mark.slow
def test_report_opens_offline_and_draws_every_chart(report_path: Path) -> None:
    with offline_page() as (page, log):
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(report_path.as_uri())
        page.wait_for_function(
            "document.querySelectorAll('.js-plotly-plot').length >= Number(document.body.dataset.figureCount)",
            timeout=60_000,
        )
        drawn = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
        countries = page.evaluate("document.querySelectorAll('path.choroplethlocation').length")
        sankey_nodes = page.evaluate("document.querySelectorAll('.sankey-node').length")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)
    assert drawn == EXPECTED_FIGURES
    assert countries > 10, "the maps draw countries from the inlined topojson"
    assert sankey_nodes > 10
    assert log.blocked == [], f"the report tried to reach the network: {log.blocked}"
    assert errors == []


def test_every_cited_source_is_listed(dataset: raremap.Dataset, sample_store: Path) -> None:
    sections = build_sections(dataset, "IND", read_runs(sample_store))
    known = set(dataset["sources"]["source_id"])
    cited = {
        source
        for section in sections
        for item in [*section.figures, *section.tables]
        for evidence in item.evidence
        for source in evidence.source_ids
    }
    listed = set(sections[-1].tables[0].frame["source_id"])
    assert cited and cited <= known
    assert listed == cited
    for section in sections[:-1]:
        for figure in section.figures:
            assert figure.evidence, f"figure {figure.identifier} names no rows"
            assert all(item.rows > 0 for item in figure.evidence if not item.table.startswith("run"))


def test_run_sections_follow_the_stored_kinds(report_path: Path) -> None:
    text = report_path.read_text(encoding="utf-8")
    for identifier in ("overview", "world", "metrics", "scenarios", "risk", "plan", "sources"):
        assert f'<section id="{identifier}">' in text
    for figure in ("scenario-shortfall", "scenario-prices", "risk-exceedance", "plan-frontier"):
        assert f'id="figure-{figure}"' in text
    assert "crma-scorecard" in text


def test_a_stored_plan_run_renders_the_plan_section(sample_store: Path) -> None:
    """The planner's own result names and columns (frontier, strategies, options, sourcing_shares) are drawn."""
    (plan,) = [run for run in read_runs(sample_store) if run.family == "plan"]
    section = plan_section([plan])
    assert section is not None
    figures = {figure.identifier: figure for figure in section.figures}
    assert set(figures) == {"plan-frontier", f"plan-portfolio-{plan.run_id}", f"plan-sourcing-{plan.run_id}"}
    frontier = figures["plan-frontier"].data
    assert [trace["name"] for trace in frontier] == ["default: strategies", "default: frontier"]
    assert "multi-vector" in frontier[0]["text"] and "lambda 0.0" in frontier[1]["text"]
    sourcing = figures[f"plan-sourcing-{plan.run_id}"]
    assert "in 2030" in sourcing.title
    chn = next(trace for trace in sourcing.data if trace["name"] == "CHN")
    assert chn["y"] == [40.0, 40.0, 40.0] and chn["customdata"] == [60.0, 60.0, 60.0]
    portfolio = figures[f"plan-portfolio-{plan.run_id}"].data
    assert {trace["name"] for trace in portfolio} == {"offtake", "domestic", "stockpile"}
    tables = {table.identifier: table.frame for table in section.tables}
    options = tables[f"plan-options-{plan.run_id}"]
    assert "metal-know-how-JPN" in set(options["name"]) and "Nd, Pr" in set(options["elements"])
    assert set(options["start"]) == {"2026", "2027"}
    assert f"plan-strategies-{plan.run_id}" in tables and f"plan-costs-{plan.run_id}" in tables
    html = "".join(figure_html(figure) for figure in section.figures)
    assert "NaN" not in html


def test_report_without_runs_has_no_run_sections(tmp_path: Path, dataset: raremap.Dataset) -> None:
    text = write_report(dataset, tmp_path / "plain.html").read_text(encoding="utf-8")
    assert '<section id="scenarios">' not in text
    assert 'data-figure-count="6"' in text


def test_selected_runs_only(tmp_path: Path, dataset: raremap.Dataset, sample_store: Path) -> None:
    path = write_report(dataset, tmp_path / "one.html", db=sample_store, run_ids=["sim-china"])
    text = path.read_text(encoding="utf-8")
    assert "china-2025-controls" in text and "risk-exceedance" not in text


def test_unknown_run_is_a_clear_error(tmp_path: Path, dataset: raremap.Dataset, sample_store: Path) -> None:
    with pytest.raises(RaremapError, match="run no-such-run not in store"):
        write_report(dataset, tmp_path / "x.html", db=sample_store, run_ids=["no-such-run"])
    with pytest.raises(RaremapError, match="is a folder"):
        write_report(dataset, tmp_path, db=sample_store)


def test_static_figures_are_png(tmp_path: Path, dataset: raremap.Dataset, sample_store: Path) -> None:
    written = write_static_figures(dataset, tmp_path / "figures", read_runs(sample_store))
    assert {path.name for path in written} == {
        "producers-by-stage.png",
        "shortfall-by-sector.png",
        "exceedance.png",
    }
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_cli_report(tmp_path: Path, sample_store: Path) -> None:
    out = tmp_path / "cli.html"
    result = run_raremap(
        "report",
        "--db",
        str(sample_store),
        "--run",
        "plan-default",
        "--out",
        str(out),
        "--figures",
        str(tmp_path / "png"),
    )
    assert result.returncode == 0, result.stderr
    assert out.exists() and "plan-frontier" in out.read_text(encoding="utf-8")
    missing = run_raremap("report", "--db", str(tmp_path / "absent.duckdb"), "--run", "x", "--out", str(out))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
