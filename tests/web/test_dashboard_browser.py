
"""A person in chromium: log in, open a scenario, add a shock, run it, watch progress, see the chart.

Every request that is not to the loopback server is aborted by the page's route and recorded;
the test asserts that none was attempted.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import raremap
from raremap.web.app import create_app
from tests.report.browser import offline_page
from tests.report.sample_runs import save_sample_runs
from tests.web.conftest import TOKEN, LiveServer, running, settings_for

SCREENSHOTS = Path("/tmp/raremap-screenshots")


@pytest.mark.slow
def test_run_a_scenario_from_the_dashboard(live_server: LiveServer) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    with offline_page() as (page, log):
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_server.url}/login?token={TOKEN}")
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        assert page.locator("path.choroplethlocation").count() > 0, (
            "the home map draws from the local topojson"
        )
        page.click("text=china-2025-controls")
        page.fill("input[name=periods_end]", "2028")
        new_disruption = page.locator('tr[data-kind="disruptions"]').last
        new_disruption.locator('[data-field="country"]').fill("AUS")
        new_disruption.locator('[data-field="share_lost"]').fill("0.5")
        new_disruption.locator('[data-field="start"]').fill("2026")
        page.screenshot(path=str(SCREENSHOTS / "dashboard-scenario.png"), full_page=True)
        page.click("#run")
        page.wait_for_url("**/jobs/*", timeout=15_000)
        page.wait_for_url("**/runs/*", timeout=90_000)
        page.wait_for_selector("#figure-scenario-shortfall .js-plotly-plot", timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "dashboard-run.png"), full_page=True)
        charts = page.locator(".js-plotly-plot").count()
        run_id = page.url.rsplit("/", 1)[-1]
    assert charts >= 2
    assert log.blocked == [], f"the dashboard tried to reach the network: {log.blocked}"
    assert errors == []
    stored = live_server.app.state.server.stored_run(run_id)
    assert stored.specification["disruptions"][-1]["country"] == "AUS"
    assert stored.specification["periods"]["end"] == 2028


def test_a_bad_shock_shows_the_problem(live_server: LiveServer) -> None:
    with offline_page() as (page, log):
        page.goto(f"{live_server.url}/scenarios/baseline")
        page.fill("input[name=token]", TOKEN)
        new_disruption = page.locator('tr[data-kind="disruptions"]').last
        new_disruption.locator('[data-field="country"]').fill("ZZZ")
        new_disruption.locator('[data-field="share_lost"]').fill("0.5")
        new_disruption.locator('[data-field="start"]').fill("2026")
        page.click("#run")
        # A selector, not wait_for_function: the page's Content-Security-Policy forbids the eval that
        # Playwright's polling predicate needs.
        page.wait_for_selector("#form-message:has-text('ZZZ')", timeout=15_000)
    assert log.blocked == []


WIDER_THAN_THE_WINDOW = """
Array.from(document.querySelectorAll('main *'))
  .filter(element => !element.closest('.scroll') && !element.closest('.js-plotly-plot'))
  .filter(element => element.getBoundingClientRect().right > window.innerWidth + 1)
  .map(element => element.tagName + ' ' + (element.id || element.className))
"""
DRAWN = ("document.querySelectorAll('script[data-figure]').length <= "
         "document.querySelectorAll('.js-plotly-plot').length")


def wait_until_drawn(page: Any, seconds: float = 60) -> None:
    """Wait until every figure of the page is drawn (polled from Python: the CSP forbids eval)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(DRAWN):
        assert time.monotonic() < deadline, f"{page.url}: figures not drawn in {seconds} s"
        time.sleep(0.2)


SIMULATIONS = ["sim-baseline-0001", "sim-china-2025-0002", "sim-india-magnet-scheme-0003",
               *(f"sim-variant-{index:04d}" for index in range(1, 8))]


@pytest.mark.slow
def test_every_page_fits_a_laptop_and_a_phone_and_says_why(
    tmp_path: Path, dataset: raremap.Dataset
) -> None:
    """Home, a scenario form, a simulation against its base, a risk run, a plan and ten runs compared:
    no horizontal scroll at 1,280 and 390 px, units and the why on the pages, screenshots kept."""
    SCREENSHOTS.mkdir(exist_ok=True)
    store_path = tmp_path / "live.duckdb"
    save_sample_runs(store_path, dataset.version, simulations=7)
    pages = {
        "home": "/",
        "scenario": "/scenarios/china-2025-controls",
        "lever": "/runs/sim-india-magnet-scheme-0003",
        "risk": "/runs/risk-default-0003",
        "plan": "/runs/plan-default-0004",
        "compare": "/compare?" + "&".join(f"run={run}" for run in SIMULATIONS),
    }
    texts: dict[str, str] = {}
    errors: list[str] = []
    with running(create_app(settings_for(store_path), dataset)) as server:
        for width in (1280, 390):
            with offline_page((width, 900)) as (page, log):
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"{server.url}/login?token={TOKEN}")
                for name, path in pages.items():
                    page.goto(f"{server.url}{path}")
                    page.wait_for_load_state("load")
                    wait_until_drawn(page)
                    scroll_width = page.evaluate("document.documentElement.scrollWidth")
                    wider = page.evaluate(WIDER_THAN_THE_WINDOW)
                    page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}-{width}.png"), full_page=True)
                    assert scroll_width <= width, f"{name} is {scroll_width} px wide at {width} px"
                    assert wider == [], f"{name} at {width} px: {wider}"
                    texts[name] = page.inner_text("body")
                    if name == "scenario":
                        delays = page.locator('[data-field="delay_working_days"]').first.input_value()
                        elements = page.locator('[data-field="elements"]').first.input_value()
                        assert delays == "45", "the 45-working-day licence delay is shown"
                        assert elements.endswith("SmCo") and "NdFeB high-Dy (SH/UH)" in elements
            assert log.blocked == [] and errors == []
    assert "logged in" in texts["home"] and "Log in" not in texts["home"]
    assert "changes nothing in IND's shortfall against baseline" in texts["lever"]
    assert "what binds for IND" in texts["lever"] and "t magnet" in texts["lever"]
    for heading in ("expected shortfall", "VaR 95%", "CVaR 95%", "2027 to 2031", "t magnet"):
        assert heading in texts["risk"]
    assert "/home/analyst" not in texts["plan"] and "Decisions: default" in texts["plan"]
    assert "USD/kg" in texts["compare"] and texts["compare"].count("Why, in ") == 10
