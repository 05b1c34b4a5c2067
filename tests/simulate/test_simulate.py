"""End to end on the bundled data (one baseline and one shock), the lifecycle, the store and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from raremap.cli import main
from raremap.data import store
from raremap.errors import RaremapError
from raremap.scenario import override
from raremap.scenario.loading import load_scenario
from raremap.simulate import Result, Simulation, simulate


@pytest.fixture(scope="module")
def baseline(dataset: object) -> Result:
    return simulate(dataset, "baseline")


def test_result_tables_have_the_columns_the_metrics_module_reads(baseline: Result) -> None:
    assert list(baseline.flows.columns) == ["stage", "exporter", "importer", "element", "period", "value_t"]
    assert list(baseline.production.columns) == ["country", "stage", "element", "period", "value_t"]
    assert list(baseline.shortfall.columns) == ["country", "sector", "element", "period", "tonnes", "share"]
    assert list(baseline.prices.columns) == ["stage", "country", "element", "period", "usd_per_t"]
    assert set(baseline.flows["stage"]) <= {"mining", "separation", "metal", "magnet"}
    assert baseline.mass_balance_max_residual < 1e-3
    assert list(baseline.periods) == list(range(2024, 2036))


def test_result_tables_hold_no_solver_noise_and_no_negative_zero(dataset: object) -> None:
    # A stock held and then released leaves values like -1e-12 in the solver's solution.
    stocked = override(load_scenario("baseline"), {"name": "stocked", "stockpiles": [
        {"holder": "IND", "stage": "magnet", "element": "NdFeB", "size_t": 3000}]})
    result = simulate(dataset, stocked)
    for name, frame in result.tables.items():
        for column in frame.select_dtypes("float").columns:
            values = frame[column].to_numpy()
            assert not np.signbit(values[values == 0.0]).any(), f"{name}.{column} has -0.0"
            assert not ((values != 0.0) & (np.abs(values) <= 1e-6)).any(), f"{name}.{column} has solver noise"


def test_a_chinese_magnet_ban_on_india_lowers_welfare_and_never_lowers_india_shortfall(
    dataset: object, baseline: Result
) -> None:
    ban = override(load_scenario("baseline"), {"name": "ban", "export_controls": [
        {"exporter": "CHN", "stages": ["magnet"], "elements": ["NdFeB"], "destinations": ["IND"],
         "start": 2026, "form": "ban"}]})
    shocked = simulate(dataset, ban)
    def india(result: Result) -> float:
        table = result.shortfall
        return float(table[(table["country"] == "IND") & (table["period"] >= 2026)]["tonnes"].sum())
    # Other magnet makers (JPN, VNM) can re-route to India, so under the pro-rata rule the shortfall
    # need not rise; it must not fall, and no Chinese magnet may reach India.
    assert india(shocked) >= india(baseline) - 1e-6
    flows = shocked.flows
    assert flows.query("stage == 'magnet' and exporter == 'CHN' and importer == 'IND' and period >= 2026").empty
    assert shocked.welfare_usd <= baseline.welfare_usd + 1e-3 * abs(baseline.welfare_usd) * 1e-6


def test_steps_out_of_order_give_a_clear_error(dataset: object) -> None:
    simulation = Simulation("baseline", dataset=dataset)
    with pytest.raises(RaremapError, match=r"call validate\(\) before build\(\)"):
        simulation.build()


def test_run_is_saved_with_its_dataset_version(baseline: Result, tmp_path: Path, dataset: object) -> None:
    database = tmp_path / "store.duckdb"
    run_id = baseline.save(database)
    runs = store.list_runs(database)
    row = runs[runs["run_id"] == run_id].iloc[0]
    assert row["dataset_version"] == dataset.version  # type: ignore[attr-defined]


def test_cli_json_has_exactly_the_documented_keys(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    main(["simulate", "baseline", "--json", "--export-mps", str(tmp_path / "model.mps")])
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"scenario", "periods", "shortfall", "prices", "mass_balance_max_residual",
                            "build_seconds", "solve_seconds"}
    assert set(payload["shortfall"][0]) == {"country", "sector", "element", "period", "tonnes", "share"}
    assert (tmp_path / "model.mps").stat().st_size > 0


def test_cli_names_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "basline"])
    assert exit_info.value.code == 1
    assert "did you mean baseline" in capsys.readouterr().err


def test_recycling_on_multi_year_periods_takes_demand_of_the_period_the_magnets_were_bought_in(
    dataset: object,
) -> None:
    scenario = override(load_scenario("baseline"), {
        "name": "recycling-two-year", "periods": {"start": 2024, "end": 2035, "length": 2},
        "recycling": [{"country": "IND", "sector": "ev", "collection_rate": 0.5, "recovery_rate": 0.9,
                       "lifetime_years": 5, "route": "metal"}],
    })
    chain = Simulation(scenario, dataset=dataset).validate().supply_chain
    assert chain is not None
    # Retired in the period starting 2030, bought in 2025, which lies in the period starting 2024.
    bought = float(chain["demand"].sel(country="IND", sector="ev", element="NdFeB", period=2024))
    recovered = float(chain["recycling_to_metal"].sel(country="IND", element="Nd", period=2030))
    assert bought > 0
    assert recovered == pytest.approx(bought * 0.5 * 0.9 * float(chain["magnet_recipe"].sel(element="Nd")))
