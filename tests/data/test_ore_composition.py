"""Ore compositions against the figures their sources publish (lead's issue: terbium oversupply)."""

from __future__ import annotations

import pytest

from raremap.data.dataset import Dataset


def shares(dataset: Dataset, deposit_type: str) -> dict[str, float]:
    ore = dataset["ore_composition"]
    rows = ore[ore["deposit_type"] == deposit_type]
    return dict(zip(rows["element"], rows["share"].astype(float), strict=True))


def test_every_deposit_type_sums_to_one_and_has_a_deposits_row(dataset: Dataset) -> None:
    ore = dataset["ore_composition"]
    totals = ore.groupby("deposit_type")["share"].sum()
    assert totals.sub(1.0).abs().max() <= 1e-3
    assert set(totals.index) <= set(dataset["deposits"]["deposit_type"])
    assert set(dataset["country_deposits"]["deposit_type"]) <= set(totals.index)


def test_beach_sand_monazite_terbium_is_the_handbook_figure_not_ten_times_it(dataset: Dataset) -> None:
    """CRC Handbook: terbium is 0.03 % of monazite, which is 55 % REO (deposits.csv): about 0.05 % of REO."""
    monazite = shares(dataset, "monazite")
    reo = float(dataset["deposits"].set_index("deposit_type").loc["monazite", "reo_share"])
    assert monazite["Tb"] == pytest.approx(0.0003 / reo, rel=0.15)


def test_mount_weld_has_its_own_composition_with_lynas_heavy_rare_earth_ratios(dataset: Dataset) -> None:
    """Lynas's first output: 35 t Dy+Tb per 3,407 t NdPr (Jul-Dec 2025), Dy:Tb about 5:1."""
    deposits = dataset["country_deposits"].set_index("country")
    assert deposits.loc["AUS", "deposit_type"] == "carbonatite_laterite"
    weld = shares(dataset, "carbonatite_laterite")
    assert (weld["Dy"] + weld["Tb"]) / (weld["Nd"] + weld["Pr"]) == pytest.approx(35 / 3407, rel=0.05)
    assert weld["Dy"] / weld["Tb"] == pytest.approx(5, rel=0.05)


def test_magnet_process_scrap_and_its_recycled_oxide_are_recorded(dataset: Dataset) -> None:
    """Chinese NdFeB output is blank mass; 25-30 % becomes scrap that returns 26.5 kt PrNd oxide (2024)."""
    parameters = dataset["parameters"].set_index("parameter")["value"].astype(float)
    assert 0.25 <= parameters["ndfeb_process_scrap_share"] <= 0.30
    assert parameters["china_recycled_prnd_oxide_2024"] < parameters["china_recycled_reo_2024"]
