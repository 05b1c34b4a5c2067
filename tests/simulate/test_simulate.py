"""End to end on the bundled data (one baseline and one shock), the lifecycle, the store and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from raremap import results
from raremap.cli import main
from raremap.data import store
from raremap.errors import RaremapError
from raremap.scenario import override
from raremap.scenario.loading import load_scenario
from raremap.simulate import Result, Simulation, simulate


def test_result_tables_follow_the_result_contract(baseline: Result) -> None:
    for table in results.tables("simulation"):
        assert list(baseline.tables[table].columns) == results.columns("simulation", table)
    assert set(baseline.flows["stage"]) <= {"mining", "separation", "metal", "magnet"}
    assert baseline.mass_balance_max_residual < 1e-3
    assert baseline.periods[:3] == ("2024", "2025-Q1", "2025-Q2") and baseline.periods[-1] == "2035"


def test_a_renamed_result_column_breaks_the_contract(baseline: Result) -> None:
    tables = dict(baseline.tables)
    tables["prices"] = tables["prices"].rename(columns={"usd_per_kg": "usd_per_t"})
    with pytest.raises(RaremapError, match="prices has columns"):
        results.check_tables("simulation", tables)


@pytest.mark.slow
def test_result_tables_hold_no_solver_noise_and_no_negative_zero(dataset: object) -> None:
    # A stock held and then released leaves values like -1e-12 in the solver's solution.
    stocked = override(load_scenario("baseline"), {"name": "stocked", "stockpiles": [
        {"holder": "IND", "stage": "magnet", "element": "NdFeB", "size_t": 3000,
         "release": {"when_short_share": 0.02}}]})
    result = simulate(dataset, stocked)
    for name, frame in result.tables.items():
        for column in frame.select_dtypes("float").columns:
            values = frame[column].to_numpy()
            assert not np.signbit(values[values == 0.0]).any(), f"{name}.{column} has -0.0"
            assert not ((values != 0.0) & (np.abs(values) <= 1e-6)).any(), f"{name}.{column} has solver noise"


@pytest.mark.slow
def test_a_chinese_magnet_ban_on_india_lowers_welfare_and_raises_india_shortfall(dataset: object, baseline: Result) -> None:
    ban = override(load_scenario("baseline"), {"name": "ban", "export_controls": [
        {"exporter": "CHN", "stages": ["magnet"], "elements": ["NdFeB"], "destinations": ["IND"],
         "start": 2026, "form": "ban"}]})
    shocked = simulate(dataset, ban)

    def india(result: Result) -> float:
        table = result.shortfall
        return float(table[(table["country"] == "IND") & (table["period"].str[:4] >= "2026")]["tonnes"].sum())

    # Trade is sticky: other magnet makers re-route to India only as fast as its routes can move.
    assert india(shocked) > india(baseline) + 1000
    flows = shocked.flows
    assert flows.query("stage == 'magnet' and exporter == 'CHN' and importer == 'IND' and period >= '2026'").empty
    assert shocked.welfare_usd <= baseline.welfare_usd


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


@pytest.mark.slow
def test_cli_json_has_exactly_the_documented_keys(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    main(["simulate", "baseline", "--json", "--export-mps", str(tmp_path / "model.mps")])
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"scenario", "periods", "shortfall", "prices", "mass_balance_max_residual",
                            "build_seconds", "solve_seconds", "importer", "horizon", "importer_shortfall_by_year",
                            "binding", "caveats", "units"}
    assert payload["units"]["shortfall"]["tonnes"] == results.unit("simulation", "shortfall", "tonnes")
    assert set(payload["shortfall"][0]) == set(results.columns("simulation", "shortfall"))
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
        "name": "recycling-two-year", "periods": {"start": 2024, "end": 2035, "length": 2, "sub_annual": None},
        "recycling": [{"country": "IND", "sector": "ev", "collection_rate": 0.5, "recovery_rate": 0.9, "lifetime_years": 5}],
    })
    chain = Simulation(scenario, dataset=dataset).validate().supply_chain
    assert chain is not None
    # Retired in the period starting 2030, bought in 2025, which lies in the period starting 2024.
    magnets = (chain["demand"] * chain["bundle"]).sel(country="IND", sector="ev", period=2024.0).sel(element=chain.magnet_products)
    recipe = chain["recipe"].sel(element=chain.magnet_products, ingredient="Nd")
    # The scenario item is the last tier, after the default end-of-life tiers.
    recovered = float(chain["recycling_available"].sel(country="IND", element="Nd", period=2030.0).isel(tier=-1))
    assert float(magnets.sum()) > 0
    assert recovered == pytest.approx(float((magnets * recipe).sum()) * 0.5 * 0.9)
