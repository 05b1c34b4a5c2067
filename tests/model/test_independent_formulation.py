"""The LP against an independent PuLP formulation of docs/simulation.md (benchmarks/pulp_peer.py).

Two implementations written separately must reach the same optimal welfare on the tiny networks
(one per family of constraints) and on the bundled data under a scenario that uses every family,
under both of linopy's arithmetic semantics ("legacy", its default until 1.0, and "v1"): an absent
slot must add 0 to a sum whichever is the default, not drop the constraint it is in.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import linopy
import pytest
import xarray as xr

from raremap.model.supply_chain import SupplyChain
from raremap.scenario.spec import Disruption, ExportControl, Scenario, Stockpile, Substitution
from raremap.simulate import Simulation
from tests.model.tiny import tiny_chain

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from pulp_peer import build_pulp, solve_pulp

RELATIVE_TOLERANCE = 1e-6
BAN = {"exporter": "SEP", "stages": ("magnet",), "elements": ("NdFeB",), "destinations": ("USR",), "start": 2024,
       "form": "ban"}


@pytest.fixture(params=["legacy", "v1"])
def semantics(request: pytest.FixtureRequest) -> Iterator[str]:
    with linopy.options:  # restores the options on exit
        linopy.options["semantics"] = request.param
        yield request.param


def control(**changes: Any) -> ExportControl:
    return ExportControl.model_validate({**BAN, **changes})


def assert_same_optimum(simulation: Simulation) -> None:
    simulation.validate().build().solve()
    assert simulation.model is not None and simulation.model_chain is not None
    problem, _ = build_pulp(simulation.model_chain)  # with its run-out period, if it has one
    theirs = solve_pulp(problem)
    ours = float(simulation.model.objective.value or 0.0)
    assert abs(ours - theirs) <= RELATIVE_TOLERANCE * max(1.0, abs(ours)), (ours, theirs)


def _recycled() -> xr.DataArray:
    return xr.DataArray([[1.0]], coords={"country": ["SEP"], "element": ["Nd"]}, dims=("country", "element"))


TINY_CASES: dict[str, tuple[SupplyChain, dict[str, Any]]] = {
    "plain": (tiny_chain(), {}),
    "outage": (tiny_chain(), {"disruptions": (Disruption(country="SEP", stage="metal", share_lost=1.0, start=2025),)}),
    "ban": (tiny_chain(magnet_alt=3.0), {"export_controls": (control(),)}),
    "quota in tonnes": (tiny_chain(magnet_alt=3.0), {"export_controls": (control(form="quota", quota_t=4.0),)}),
    "licence delay": (tiny_chain(magnet_sep=10.0),
                      {"export_controls": (control(form="licence_delay", delay_days=73.0),)}),
    "stock with refill": (tiny_chain(), {
        "export_controls": (control(start=2026),),
        "stockpiles": (Stockpile(holder="USR", stage="magnet", element="NdFeB", size_t=4.0, refill=True,
                                 release={"max_release_share_per_year": 0.5, "price_threshold_usd_per_kg": 5}),),
    }),
    "substitution": (tiny_chain(mining=0.0), {
        "substitution": (Substitution(sector="ev", element="NdFeB", rate_per_year=0.1, cost_usd_per_kg=1.0),),
    }),
    "recycling to metal": (tiny_chain(mining=0.0, recycling_to_metal=_recycled()), {}),
    "recycling to separation": (tiny_chain(mining=0.0, recycling_to_separation=_recycled()), {}),
}


@pytest.mark.parametrize("case", list(TINY_CASES))
def test_tiny_networks_have_the_same_optimum_in_both_formulations(case: str, semantics: str) -> None:
    chain, scenario = TINY_CASES[case]
    assert_same_optimum(Simulation(Scenario(name="tiny", **scenario), supply_chain=chain))


@pytest.mark.parametrize("name", ["baseline", str(Path(__file__).with_name("every-family.yaml"))])
@pytest.mark.slow
def test_bundled_data_have_the_same_optimum_in_both_formulations(name: str, dataset: object) -> None:
    assert_same_optimum(Simulation(name, dataset=dataset))


@pytest.mark.slow
def test_every_family_on_the_bundled_data_has_the_same_optimum_under_linopy_v1(dataset: object) -> None:
    with linopy.options:
        linopy.options["semantics"] = "v1"
        assert_same_optimum(Simulation(str(Path(__file__).with_name("every-family.yaml")), dataset=dataset))
