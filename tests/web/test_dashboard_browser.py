
"""A person in chromium: log in, open a scenario, add a shock, run it, watch progress, see the chart.

Every request that is not to the loopback server is aborted by the page's route and recorded;
the test asserts that none was attempted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.browser import offline_page
from tests.web.conftest import TOKEN, LiveServer

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
        page.wait_for_function(
            "document.getElementById('form-message').textContent.includes('ZZZ')", timeout=15_000
        )
    assert log.blocked == []
