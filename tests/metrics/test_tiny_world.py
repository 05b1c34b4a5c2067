"""Every metric on the tiny world of conftest.py, against numbers worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from raremap import metrics
from raremap.metrics.criticality import supply_risk_score
from raremap.metrics.geopolrisk import geopolrisk_score, governance_risk, import_risk
from raremap.metrics.inputs import MetricInputs
from raremap.metrics.sourcing import import_reliance
from tests.metrics.conftest import tiny_inputs

ARGUMENTS = {"importer": "IMP", "year": 2024}


def row(frame: pd.DataFrame, stage: str) -> pd.Series:
    return frame.set_index("stage").loc[stage]


def test_concentration_mining_by_hand(inputs: MetricInputs) -> None:
    mining = row(metrics.production_concentration(inputs, **ARGUMENTS), "mining")
    assert mining["hhi"] == pytest.approx(0.6**2 + 0.3**2 + 0.1**2)  # 0.46
    assert mining["top1_country"] == "AAA"
    assert mining["top1_share"] == pytest.approx(0.6)
    assert mining["top3_share"] == pytest.approx(1.0)
    assert mining["producers_above_5_percent"] == 3


def test_concentration_leaves_unlisted_output_out_of_the_hhi(inputs: MetricInputs) -> None:
    separation = row(metrics.production_concentration(inputs, **ARGUMENTS), "separation")
    assert separation["world_t"] == pytest.approx(125.0)
    assert separation["top1_share"] == pytest.approx(80 / 125)
    assert separation["hhi"] == pytest.approx((80 / 125) ** 2 + (20 / 125) ** 2)


def test_production_shares_include_unattributed_and_sum_to_one(inputs: MetricInputs) -> None:
    shares = metrics.production_shares(inputs, stage="separation", **ARGUMENTS)
    assert dict(zip(shares["country"], shares["share"], strict=True)) == pytest.approx(
        {"AAA": 0.64, "unattributed": 0.2, "BBB": 0.16}
    )


def test_sourcing_by_hand(inputs: MetricInputs) -> None:
    separation = row(metrics.sourcing(inputs, **ARGUMENTS), "separation")
    assert separation["imports_t"] == pytest.approx(40.0)
    assert separation["exports_t"] == pytest.approx(5.0)
    assert separation["apparent_consumption_t"] == pytest.approx(35.0)
    assert separation["import_reliance"] == pytest.approx(1.0)  # no output: (40 - 5) / 35
    assert separation["supplier_hhi"] == pytest.approx(0.75**2 + 0.25**2)
    assert separation["largest_supplier"] == "AAA"
    assert separation["share_outside_own_blocs"] == pytest.approx(0.75)  # BBB shares PACT


def test_supplier_shares_by_hand(inputs: MetricInputs) -> None:
    shares = metrics.supplier_shares(inputs, stage="separation", **ARGUMENTS)
    assert dict(zip(shares["supplier"], shares["share"], strict=True)) == pytest.approx(
        {"AAA": 0.75, "BBB": 0.25}
    )


def test_import_reliance_of_a_producer() -> None:
    assert import_reliance(10.0, 30.0, 0.0) == pytest.approx(0.75)
    assert import_reliance(50.0, 0.0, 20.0) == 0.0
    assert import_reliance(0.0, 0.0, 0.0) != import_reliance(0.0, 0.0, 0.0)  # NaN


def test_n1_coverage_by_hand(inputs: MetricInputs) -> None:
    coverage = metrics.n1_coverage(inputs, **ARGUMENTS)
    assert row(coverage, "mining")["world_n1_coverage"] == pytest.approx(0.4)
    # No mining trade rows at all: IMP's concentrate imports are unknown, so is its coverage.
    assert pd.isna(row(coverage, "mining")["importer_n1_coverage"])
    assert row(coverage, "mining")["reasons"]["importer_n1_coverage"] == "no mining trade data for 2024"
    # Separation: world loses AAA (80 of 125); IMP loses AAA's 30 t, keeps BBB's 10 t of 35 t demand.
    assert row(coverage, "separation")["world_n1_coverage"] == pytest.approx(45 / 125)
    assert row(coverage, "separation")["importer_n1_coverage"] == pytest.approx(10 / 35)


def test_geopolrisk_by_hand(inputs: MetricInputs) -> None:
    separation = row(metrics.geopolrisk(inputs, **ARGUMENTS), "separation")
    hhi = (80 / 100) ** 2 + (20 / 100) ** 2  # the method's HHI: shares of the listed producers' sum
    risk = (30 * (2.5 + 0.5) / 5 + 10 * (2.5 - 1.5) / 5) / 40  # (30 x 0.6 + 10 x 0.2) / 40 = 0.5
    assert separation["import_risk"] == pytest.approx(0.5)
    assert separation["geopolrisk"] == pytest.approx(hhi * risk)


def test_geopolrisk_formula_counts_domestic_production() -> None:
    imports = pd.Series({"AAA": 30.0, "BBB": 10.0})
    risk = pd.Series({"AAA": 0.6, "BBB": 0.2})
    assert import_risk(imports, risk, domestic_production=60.0) == pytest.approx(20 / 100)
    assert geopolrisk_score(0.5, imports, risk, 60.0) == pytest.approx(0.1)
    assert governance_risk(2.5) == 0.0
    assert governance_risk(-2.5) == 1.0
    assert governance_risk(-9.0) == 1.0


def test_eu_supply_risk_by_hand(inputs: MetricInputs) -> None:
    separation = row(metrics.supply_risk(inputs, **ARGUMENTS), "separation")
    global_hhi = (80 / 125) ** 2 * 6.0 + (20 / 125) ** 2 * 2.0  # scaled WGI: AAA 6, BBB 2
    sourcing_hhi = 0.75**2 * 6.0 + 0.25**2 * 2.0
    expected = (global_hhi * 1.0 / 2 + sourcing_hhi * (1 - 1.0 / 2)) * (1 - 0.1) * 1.0
    assert separation["hhi_wgi_global"] == pytest.approx(global_hhi)
    assert separation["hhi_wgi_sourcing"] == pytest.approx(sourcing_hhi)
    assert separation["supply_risk"] == pytest.approx(expected)
    assert supply_risk_score(2.0, 4.0, 0.5, 0.0, 0.5) == pytest.approx((2.0 * 0.25 + 4.0 * 0.75) * 0.5)


def test_economic_importance_and_verdict_by_hand(inputs: MetricInputs) -> None:
    importance = metrics.economic_importance(inputs, sector_value_added={"ev": 8.0, "wind": 4.0}, **ARGUMENTS)
    assert importance["economic_importance"].iloc[0] == pytest.approx(0.75 * 8.0 + 0.25 * 4.0)
    verdict = metrics.criticality(inputs, sector_value_added={"ev": 2.0, "wind": 2.0}, **ARGUMENTS).iloc[0]
    assert verdict["economic_importance"] == pytest.approx(2.0)
    assert verdict["verdict"] == "not critical"  # EI 2.0 < 2.8 whatever the supply risk
    critical = metrics.criticality(inputs, sector_value_added={"ev": 8.0, "wind": 4.0}, **ARGUMENTS).iloc[0]
    assert critical["verdict"] == "critical"
    assert critical["bottleneck_stage"] in {"mining", "separation"}


def test_crma_scorecard_by_hand(inputs: MetricInputs) -> None:
    card = metrics.crma_scorecard(inputs, **ARGUMENTS).set_index("check")
    # Reference consumption: separation apparent consumption 35 t. Mining output 10 t -> 10/35.
    assert card.loc["extraction", "value"] == pytest.approx(10 / 35)
    assert bool(card.loc["extraction", "pass"]) is True
    assert card.loc["processing", "value"] == pytest.approx(0.0)
    assert bool(card.loc["processing", "pass"]) is False
    assert card.loc["recycling", "value"] == pytest.approx(0.1)
    assert card.loc["single_country_separation", "value"] == pytest.approx(30 / 35)
    assert bool(card.loc["single_country_separation", "pass"]) is False
    assert pd.isna(card.loc["single_country_mining", "value"])  # no mining trade rows: unknown, not 0
    assert card.loc["single_country_mining", "note"] == "no mining trade data for 2024"


def test_leverage_by_hand(inputs: MetricInputs) -> None:
    table = metrics.leverage(inputs, stage="separation", **ARGUMENTS).set_index("partner")
    assert table.loc["AAA", "partner_share_of_importer_imports"] == pytest.approx(0.75)
    assert table.loc["AAA", "importer_share_of_partner_exports"] == pytest.approx(30 / 120)
    assert table.loc["AAA", "holds_leverage"] == "partner"
    assert table.loc["BBB", "importer_share_of_partner_exports"] == pytest.approx(1.0)
    assert table.loc["BBB", "holds_leverage"] == "importer"


def test_element_at_mining_is_derived_from_ore_composition(inputs: MetricInputs) -> None:
    mining = row(metrics.production_concentration(inputs, element="Dy", **ARGUMENTS), "mining")
    dysprosium = pd.Series({"AAA": 60 * 0.01, "BBB": 30 * 0.02, "IMP": 10 * 0.02})  # 0.6, 0.6, 0.2
    assert mining["world_t"] == pytest.approx(1.4)
    assert mining["hhi"] == pytest.approx(((dysprosium / 1.4) ** 2).sum())
    assert "ore_composition" in mining["method"]


def test_simulation_result_frames_with_period_work() -> None:
    class Result:
        production = tiny_inputs().production.rename(columns={"year": "period"})
        flows = tiny_inputs().trade.rename(columns={"year": "period"})

    flows = pd.concat(
        [
            Result.flows,
            pd.DataFrame(
                [
                    {
                        "stage": "separation",
                        "exporter": "IMP",
                        "importer": "IMP",
                        "element": "REO",
                        "period": 2024,
                        "value_t": 99.0,
                    }
                ]
            ),
        ]
    )
    base = tiny_inputs()
    simulated = tiny_inputs(production=Result.production, trade=flows)
    assert metrics.sourcing(simulated, **ARGUMENTS).equals(metrics.sourcing(base, **ARGUMENTS))


def test_economic_importance_is_not_computed_without_sector_value_added(inputs: MetricInputs) -> None:
    importance = metrics.economic_importance(inputs, **ARGUMENTS)
    assert importance["economic_importance"].isna().all()
    assert importance["reason"].iloc[0].startswith("no sector value added for IMP in the data")
    verdict = metrics.criticality(inputs, **ARGUMENTS).iloc[0]
    assert verdict["verdict"] == "unknown"
    assert verdict["reasons"]["economic_importance"].startswith("no sector value added for IMP")
