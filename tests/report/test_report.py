"""The offline report: self-contained, every figure drawn in chromium with the network blocked,
every number traced to its rows and sources."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import raremap
from raremap.data import store
from raremap.errors import RaremapError
from raremap.formatting import cell
from raremap.report import build_sections, read_runs, write_report, write_static_figures
from raremap.report.assets import plotly_javascript
from raremap.report.html import figure_html
from raremap.report.run_sections import plan_section, risk_section, scenario_section
from tests.cli.runner import run_raremap
from tests.report.browser import offline_page

# 4 stage maps, the Sankey, the supplier bars; scenario shortfall in t magnet and in t REO, by sector
# and prices; exceedance and a fan chart; the frontier, a portfolio and sourcing shares.
EXPECTED_FIGURES = 15
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


WIDER_THAN_THE_WINDOW = """
Array.from(document.querySelectorAll('main *'))
  .filter(element => !element.closest('.scroll') && !element.closest('.js-plotly-plot'))
  .filter(element => element.getBoundingClientRect().right > window.innerWidth + 1)
  .map(element => element.tagName + ' ' + (element.id || element.className))
"""
SANKEY_COLUMNS = """
Array.from(document.querySelectorAll('#figure-sankey-value-chain .sankey-node')).map(node => ({
  x: node.querySelector('.node-rect').getBoundingClientRect().left,
  stage: node.__data__.node.customdata.split(', ').pop(),
}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 390])
def test_report_fits_the_window_and_keeps_the_sankey_in_stage_columns(report_path: Path, width: int) -> None:
    """No horizontal scroll on a laptop or a phone (wide tables scroll inside their box), every chart
    inside the page, and each Sankey node drawn in its stage's column, mining to use."""
    with offline_page((width, 900)) as (page, _):
        page.goto(report_path.as_uri())
        page.wait_for_function(
            "document.querySelectorAll('.js-plotly-plot').length >= Number(document.body.dataset.figureCount)",
            timeout=60_000,
        )
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        wider = page.evaluate(WIDER_THAN_THE_WINDOW)
        nodes = page.evaluate(SANKEY_COLUMNS)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"report-{width}.png"), full_page=True)
    assert scroll_width <= width, f"the page is {scroll_width} px wide in a {width} px window"
    assert wider == []
    columns: dict[str, list[float]] = {}
    for node in nodes:
        columns.setdefault(node["stage"], []).append(node["x"])
    order = ["mining", "separation", "metal", "magnet", "use"]
    assert list(columns) and set(columns) <= set(order)
    for stage, positions in columns.items():
        assert max(positions) - min(positions) < 2, f"{stage} nodes are not in one column: {positions}"
    lefts = [min(columns[stage]) for stage in order if stage in columns]
    assert lefts == sorted(lefts), "the columns run mining, separation, metal, magnet, use from left to right"


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
    for identifier in ("meaning", "overview", "world", "metrics", "scenarios", "risk", "plan", "sources"):
        assert f'<section id="{identifier}">' in text
    assert text.index('<section id="meaning">') < text.index('<section id="overview">'), "the caveats come first"
    for figure in ("scenario-shortfall", "scenario-shortfall-reo", "scenario-sectors", "scenario-prices",
                   "risk-exceedance", "plan-frontier"):
        assert f'id="figure-{figure}"' in text
    assert "crma-scorecard" in text


def test_a_stored_plan_run_renders_the_plan_section(sample_store: Path) -> None:
    """The planner's results are drawn; decisions below the materiality threshold and a technology deal
    the relaxation signs only in part are said to be left out, not listed as decisions."""
    (plan,) = [run for run in read_runs(sample_store) if run.family == "plan"]
    section = plan_section([plan])
    assert section is not None
    figures = {figure.identifier: figure for figure in section.figures}
    assert set(figures) == {"plan-frontier", f"plan-portfolio-{plan.run_id}", f"plan-sourcing-{plan.run_id}"}
    frontier = figures["plan-frontier"].data
    assert [trace["name"] for trace in frontier] == ["default: strategies", "default: frontier"]
    assert "multi-vector" in frontier[0]["text"] and "lambda 0" in frontier[1]["text"]
    sourcing = figures[f"plan-sourcing-{plan.run_id}"]
    assert "in 2030" in sourcing.title
    chn = next(trace for trace in sourcing.data if trace["name"] == "CHN")
    assert chn["y"] == [40.0, 40.0, 40.0] and chn["customdata"] == [60.0, 60.0, 60.0]
    portfolio = figures[f"plan-portfolio-{plan.run_id}"]
    assert {trace["name"] for trace in portfolio.data} == {"offtake", "domestic"}, "stockpiles (t) are not t/yr"
    assert "stockpile-NdPr-separation" in portfolio.caption
    tables = {table.identifier: table for table in section.tables}
    options = tables[f"plan-options-{plan.run_id}"].frame
    assert set(options["name"]) == {"offtake-AUS-separation", "magnet-plant", "stockpile-NdPr-separation"}
    assert "Nd, Pr" in set(options["goods"].map(cell))
    notes = " ".join(section.notes)
    assert "offtake-VNM-separation 0.16 t" in notes and "metal-know-how-JPN (59% signed)" in notes
    strategies = tables[f"plan-strategies-{plan.run_id}"]
    assert strategies.units == {"cost": "USD million", "expected shortfall": "t", "CVaR of shortfall": "t"}
    html = "".join(figure_html(figure) for figure in section.figures)
    assert "NaN" not in html


def test_every_figure_states_its_units(report_path: Path, dataset: raremap.Dataset, sample_store: Path) -> None:
    """Every value axis of a run's chart names its unit: t magnet, t REO, USD/kg, t/yr, USD million or %."""
    units = ("t magnet", "t REO", "USD/kg", "t/yr", "USD million", "(t)", "%", "share of draws")
    sections = build_sections(dataset, "IND", read_runs(sample_store))
    for section in sections:
        if section.identifier not in ("scenarios", "risk", "plan"):
            continue
        for figure in section.figures:
            layout = figure.plotly_json()["layout"]
            titles = " ".join(str(layout.get(axis, {}).get("title", {}).get("text", "")) for axis in ("xaxis", "yaxis"))
            assert any(unit in titles for unit in units), f"{figure.identifier}: no unit in {titles!r}"
    prices = next(figure for section in sections for figure in section.figures if figure.identifier == "scenario-prices")
    assert prices.layout["yaxis"]["title"]["text"] == "price (USD/kg)"


def test_risk_shows_expected_shortfall_var_and_cvar_with_horizon_and_unit(sample_store: Path) -> None:
    runs = [run for run in read_runs(sample_store) if run.family == "risk"]
    section = risk_section(runs)
    assert section is not None
    (metrics,) = [table for table in section.tables if table.identifier.startswith("risk-metrics")]
    assert {"expected shortfall", "VaR 95%", "CVaR 95%", "unit", "horizon"} <= set(metrics.frame.columns)
    assert "over 2027 to 2031" in metrics.title and set(metrics.frame["unit"]) == {"t magnet"}
    exceedance = next(figure for figure in section.figures if figure.identifier == "risk-exceedance")
    assert exceedance.layout["xaxis"]["title"]["text"] == "shortfall summed over 2027 to 2031 (t magnet)"


@pytest.mark.slow
def test_ten_runs_stay_apart(ten_run_store: Path) -> None:
    """Ten runs on one chart: each has its own colour, dash and marker; the detail charts have a menu."""
    runs = [run for run in read_runs(ten_run_store) if run.family == "simulate"]
    assert len(runs) == 10
    section = scenario_section(runs)
    assert section is not None
    figures = {figure.identifier: figure for figure in section.figures}
    lines = figures["scenario-shortfall"].data
    styles = {(trace["line"]["color"], trace["line"]["dash"], trace["marker"]["symbol"]) for trace in lines}
    assert len(lines) == 10 and len(styles) == 10
    assert len({trace["line"]["color"] for trace in lines}) == 10
    for identifier in ("scenario-sectors", "scenario-prices"):
        (menu,) = figures[identifier].layout["updatemenus"]
        assert menu["buttons"], identifier
        shown = [trace for trace in figures[identifier].data if trace.get("visible")]
        assert shown and len({trace["name"] for trace in shown}) == len(shown), "one run (or good) at a time"
    assert len(figures["scenario-sectors"].layout["updatemenus"][0]["buttons"]) == 10


def test_shortfall_units_are_never_added(sample_store: Path) -> None:
    """t magnet and t REO are drawn and tabled apart; quarters are summed into calendar years."""
    runs = [run for run in read_runs(sample_store) if run.family == "simulate"]
    section = scenario_section(runs)
    assert section is not None
    tables = {table.identifier: table.frame for table in section.tables}
    magnets, oxides = tables["scenario-shortfall-table"], tables["scenario-shortfall-table-reo"]
    assert list(magnets["year"]) == [str(year) for year in range(2024, 2031)] + ["total"]
    # baseline: 10 t/yr x 15 (the five sectors' weights): quarters summed give the same 150 t in 2025.
    assert magnets.set_index("year").loc["2025", "baseline"] == pytest.approx(150.0)
    assert oxides.set_index("year").loc["2025", "china-2025-controls"] == pytest.approx(40.0)


def test_a_lever_that_changes_nothing_says_why(sample_store: Path) -> None:
    runs = [run for run in read_runs(sample_store) if run.family == "simulate"]
    section = scenario_section(runs)
    assert section is not None
    (scheme,) = [text for text in section.findings if text.startswith("india-magnet-scheme")]
    assert "changes nothing in IND's shortfall against baseline" in scheme
    assert "IND's magnet plants are not among the constraints that bind from 2029" in scheme
    assert "the new plants do run" in scheme
    assert "What binds for IND in baseline" in scheme
    (controls,) = [text for text in section.findings if text.startswith("china-2025-controls")]
    assert "raises IND's shortfall by" in controls and "t magnet" in controls
    binding = [table for table in section.tables if table.identifier.startswith("scenario-binding")]
    assert len(binding) == 3 and all("what binds" in table.frame.columns for table in binding)
    assert any("export control caps Tb" in text for text in binding[1].frame["what binds"])


def test_colours_mean_one_thing(dataset: raremap.Dataset, sample_store: Path) -> None:
    """A country has one colour in every figure, no two countries share one in a figure (CHN and VNM
    among them), and sectors keep their colours."""
    sections = build_sections(dataset, "IND", read_runs(sample_store))
    colour_of: dict[str, str] = {}
    for figure in (figure for section in sections for figure in section.figures):
        in_figure: dict[str, str] = {}
        for trace in figure.plotly_json()["data"]:
            name = str(trace.get("name", ""))
            colour = (trace.get("marker") or {}).get("color") or (trace.get("line") or {}).get("color")
            if not isinstance(colour, str) or not re.fullmatch(r"[A-Z]{3}|other", name):
                continue
            assert colour_of.setdefault(name, colour) == colour, f"{name} changes colour in {figure.identifier}"
            in_figure.setdefault(name, colour)
        assert len(set(in_figure.values())) == len(in_figure), f"{figure.identifier}: shared colours {in_figure}"
    assert colour_of["CHN"] != colour_of["VNM"]


def test_years_and_numbers_print_as_people_read_them(report_path: Path) -> None:
    """Years never get separators, a seed is a whole number, no float noise, no local paths."""
    text = page_without_plotly(report_path.read_text(encoding="utf-8"))
    body = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.S)
    assert not re.search(r"\d\.\d{10,}", body), "float noise"
    assert "/home/analyst" not in text and "draws_folder" not in text
    for table in ("sources", "plan-options-plan-default-0004", "scenario-shortfall-table"):
        block = re.search(f'<div class="table" id="table-{table}">.*?</table>', body, flags=re.S)
        assert block is not None and re.search(r"<td[^>]*>20[0-9]{2}</td>", block.group(0)), table
        assert not re.search(r"<td[^>]*>2,0[0-9]{2}</td>", block.group(0)), f"a year with a separator in {table}"
    risk_runs = re.search(r'<div class="table" id="table-risk-runs">.*?</table>', body, flags=re.S)
    assert risk_runs is not None and re.search(r'<td class="number">1</td>', risk_runs.group(0)), "seed 1, not 1.00"


def test_a_run_saved_without_the_declared_columns_is_named_not_dropped(tmp_path: Path, dataset: raremap.Dataset) -> None:
    path = tmp_path / "old.duckdb"
    store.save_run(path, run_id="sim-old-0001", kind="simulation", name="old", dataset_version=dataset.version,
                   specification={}, summary={},
                   results={"shortfall": pd.DataFrame({"country": ["IND"], "period": [2025], "tonnes": [1.0]})})
    section = scenario_section(read_runs(path))
    assert section is not None and not section.figures
    assert "sim-old-0001 (old) is left out" in " ".join(section.notes) and "lacks" in " ".join(section.notes)


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


@pytest.mark.slow
def test_static_figures_are_png_of_a_sensible_shape(tmp_path: Path, ten_run_store: Path,
                                                    dataset: raremap.Dataset) -> None:
    from PIL import Image

    written = write_static_figures(dataset, tmp_path / "figures", read_runs(ten_run_store))
    assert {path.name for path in written} == {
        "producers-by-stage.png",
        "shortfall-by-sector.png",
        "exceedance.png",
    }
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            width, height = image.size
        assert width <= 2400 and height <= 2400 and 0.5 <= width / height <= 3, f"{path.name} is {width}x{height}"


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
