"""Scoring on hand-made result tables: each status, each comparison, and the measures' arithmetic."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pytest

from raremap.backtest.measures import binding_constraints, measure, run_periods
from raremap.backtest.run import FAIL, NOT_EXPRESSIBLE, NOT_RUN, PASS, run_episode, score_outcome
from raremap.backtest.spec import Episode, Outcome, Selection
from raremap.errors import RaremapError


@dataclass
class FakeResult:
    periods: tuple[str, ...]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def flows(rows: list[tuple[str, str, str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["stage", "exporter", "importer", "element", "period", "value_t"])


N42, EV = "NdFeB N42 standard", "NdFeB GBD EV-grade (Dy+Tb)"
RESULT = FakeResult(
    periods=("2024", "2025"),
    tables={
        "flows": flows([
            ("magnet", "CHN", "DEU", N42, "2024", 100.0),
            ("magnet", "CHN", "IND", EV, "2024", 50.0),
            ("magnet", "CHN", "DEU", N42, "2025", 80.0),
            ("magnet", "CHN", "IND", EV, "2025", 40.0),
            ("magnet", "JPN", "IND", EV, "2025", 10.0),
            ("magnet", "CHN", "CHN", N42, "2025", 999.0),
        ]),
        "prices": pd.DataFrame(
            [("separation", "CHN", "Dy", "2024", 200.0), ("separation", "CHN", "Dy", "2025", 300.0),
             ("separation", "CHN", "Ce", "2024", 0.0), ("separation", "CHN", "Ce", "2025", 1.0)],
            columns=["stage", "country", "element", "period", "usd_per_kg"],
        ),
        "binding": pd.DataFrame(
            [("2025", 1, "export control", "Flow-upper", "IND", "CHN", "magnet", EV, 900.0, "CHN's export control caps EV magnets to IND"),
             ("2025", 2, "sticky trade", "Route-growth-upper", "IND", "", "magnet", EV, 50.0, "IND can have moved only 1.4% of its imports"),
             ("2024", 1, "sticky trade", "Route-growth-upper", "IND", "", "magnet", EV, 80.0, "IND can have moved only 0.0% of its imports")],
            columns=["period", "rank", "kind", "constraint", "country", "partner", "stage", "element", "shadow_usd_per_kg", "description"],
        ),
    },
)

QUARTERS = ("2024", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026")
MONTHLY = FakeResult(
    periods=("2024", *(f"2025-{month:02d}" for month in range(1, 13))),
    tables={
        "flows": flows([("magnet", "CHN", "USA", N42, "2024", 120.0)] + [
            ("magnet", "CHN", "USA", N42, f"2025-{month:02d}", 5.0 if month == 5 else 10.0) for month in range(1, 13)
        ]),
        "prices": pd.DataFrame(
            [("separation", "CHN", "Nd", "2024", 50.0)]
            + [("separation", "CHN", "Nd", f"2025-{month:02d}", 100.0 if month <= 6 else 50.0) for month in range(1, 13)],
            columns=["stage", "country", "element", "period", "usd_per_kg"],
        ),
    },
)


def outcome(**changes: object) -> Outcome:
    document = {
        "id": "exports",
        "description": "China's magnet exports",
        "measure": "exports",
        "select": {"exporter": "CHN", "stages": ["magnet"]},
        "period": 2025,
        "comparison": "ratio_to_base_year",
        "observed": 0.8,
        "unit": "ratio to 2024",
        "sources": ["x"],
        "evidence": "hand-made for the test",
        "tolerance": {"absolute": 0.01, "justification": "hand-made numbers for a unit test"},
    }
    document.update(changes)
    return Outcome.model_validate(document)


def episode(*outcomes: Outcome) -> Episode:
    return Episode(name="test", title="test", base_year=2024, scenario={}, outcomes=outcomes)


def test_exports_leave_out_domestic_use_and_divide_by_the_base_year():
    score, path = score_outcome(episode(outcome()), outcome(), RESULT)
    assert score.model == pytest.approx(120.0 / 150.0)
    assert score.status == PASS
    assert path is not None and path.set_index("period").loc["2024", "model"] == pytest.approx(1.0)


def test_ndfeb_names_every_ndfeb_magnet_type_and_a_type_names_itself():
    every = measure(RESULT, "exports", Selection(exporter="CHN", stages=("magnet",), elements=("NdFeB",)), run_periods(RESULT))
    assert every.values.loc["2025"] == pytest.approx(120.0)
    one = measure(RESULT, "exports", Selection(exporter="CHN", stages=("magnet",), elements=(N42,)), run_periods(RESULT))
    assert one.values.loc["2025"] == pytest.approx(80.0)


def test_a_month_is_read_from_a_monthly_run_in_tonnes_and_as_a_yearly_rate():
    level = outcome(period="2025-05", comparison="level", observed=5.0, unit="t",
                    select={"exporter": "CHN", "stages": ["magnet"]})
    score, _ = score_outcome(episode(level), level, MONTHLY)
    assert score.model == pytest.approx(5.0) and score.status == PASS
    ratio = outcome(period="2025-05", observed=0.5, select={"exporter": "CHN", "stages": ["magnet"]})
    score, path = score_outcome(episode(ratio), ratio, MONTHLY)
    assert score.model == pytest.approx(5.0 * 12 / 120.0)
    assert path is not None and path.set_index("period").loc["2025-01", "model"] == pytest.approx(1.0)


def test_a_window_of_months_sums_them_and_a_year_of_months_is_the_year():
    half = outcome(period={"start": "2025-04", "end": "2025-09"}, comparison="level", observed=55.0, unit="t",
                   select={"exporter": "CHN", "stages": ["magnet"]})
    assert score_outcome(episode(half), half, MONTHLY)[0].model == pytest.approx(55.0)
    year = outcome(period=2025, observed=115.0 / 120.0, select={"exporter": "CHN", "stages": ["magnet"]})
    assert score_outcome(episode(year), year, MONTHLY)[0].model == pytest.approx(115.0 / 120.0)


def test_a_price_over_a_window_is_its_length_weighted_mean():
    nd = outcome(measure="price", select={"stages": ["separation"], "elements": ["Nd"], "country": "CHN"}, period=2025,
                 observed=1.5, unit="ratio to 2024")
    assert score_outcome(episode(nd), nd, MONTHLY)[0].model == pytest.approx(75.0 / 50.0)


def test_a_window_that_cuts_a_period_is_not_expressible_and_says_how_to_split_it():
    quarterly = FakeResult(periods=QUARTERS, tables=RESULT.tables)
    month = outcome(period="2025-05", comparison="level", observed=5.0, unit="t")
    score, _ = score_outcome(episode(month), month, quarterly)
    assert score.status == NOT_EXPRESSIBLE
    assert "2025-Q2" in score.reason and "sub_annual" in score.reason
    in_base_year = outcome(period="2024-11", comparison="level", observed=5.0, unit="t")
    score, _ = score_outcome(episode(in_base_year), in_base_year, quarterly)
    assert "base year 2024" in score.reason


def test_a_window_outside_the_run_is_not_expressible():
    later = outcome(period="2027-02", comparison="level", observed=5.0, unit="t")
    score, _ = score_outcome(episode(later), later, RESULT)
    assert score.status == NOT_EXPRESSIBLE and "outside" in score.reason


def test_a_ratio_to_a_zero_price_is_not_expressible_and_names_the_surplus():
    ce = outcome(measure="price", select={"stages": ["separation"], "elements": ["Ce"], "country": "CHN"}, observed=1.0, unit="ratio")
    score, _ = score_outcome(episode(ce), ce, RESULT)
    assert score.status == NOT_EXPRESSIBLE and "in surplus" in score.reason and "at 0" in score.reason


def test_a_ratio_to_a_month_before_the_run_is_not_expressible():
    spike = outcome(measure="price", select={"stages": ["separation"], "elements": ["Dy"], "country": "CHN"},
                    period=2025, comparison="ratio_to_year", relative_to="2023-10", observed=16.0, unit="ratio")
    score, _ = score_outcome(episode(spike), spike, RESULT)
    assert score.status == NOT_EXPRESSIBLE and "2023-10" in score.reason


def test_a_model_outside_the_tolerance_fails_and_keeps_its_difference():
    miss = outcome(observed=0.9)
    score, _ = score_outcome(episode(miss), miss, RESULT)
    assert score.status == FAIL
    assert score.difference == pytest.approx(0.8 - 0.9)


def test_a_relative_tolerance_scales_with_the_observation():
    level = outcome(comparison="level", observed=110.0, unit="t", tolerance={"relative": 0.1, "justification": "ten per cent for the test here"})
    score, _ = score_outcome(episode(level), level, RESULT)
    assert score.model == pytest.approx(120.0)
    assert score.band == pytest.approx(11.0)
    assert score.status == PASS


def test_a_monthly_observation_is_not_expressible_in_an_annual_run():
    monthly = outcome(period="2025-05", comparison="level", observed=5.0, unit="t")
    score, _ = score_outcome(episode(monthly), monthly, RESULT)
    assert score.status == NOT_EXPRESSIBLE
    assert "2025-05" in score.reason and "sub_annual" in score.reason


def test_a_missing_result_table_is_not_expressible_with_the_table_named():
    recycled = outcome(measure="recycling_share", comparison="level", observed=0.005, unit="share")
    score, _ = score_outcome(episode(recycled), recycled, RESULT)
    assert score.status == NOT_EXPRESSIBLE
    assert "recycling" in score.reason


def test_recycling_share_is_recycled_oxide_over_separated_output_plus_it():
    recycled = FakeResult(periods=("2024",), tables={
        "recycling": pd.DataFrame([("USA", "Nd", "2024", 8.57, 10.0)], columns=["country", "element", "period", "value_t", "reo_t"]),
        "production": pd.DataFrame([("CHN", "separation", "Nd", "2024", 190.0), ("CHN", "metal", "Nd", "2024", 500.0)],
                                   columns=["country", "stage", "element", "period", "value_t"]),
    })
    periods = run_periods(recycled)
    assert measure(recycled, "recycling_share", Selection(), periods).over(periods) == pytest.approx(10.0 / 200.0)


def test_import_share_and_price_measures():
    periods = run_periods(RESULT)
    share = measure(RESULT, "import_share", Selection(importer="IND", partner="CHN", stages=("magnet",)), periods)
    assert share.over(periods[1:]) == pytest.approx(40.0 / 50.0)
    price = measure(RESULT, "price", Selection(stages=("separation",), elements=("Dy",), country="CHN"), periods)
    assert price.over(periods[1:]) == pytest.approx(300.0)


def test_a_ratio_to_another_year():
    unwinding = outcome(measure="price", select={"stages": ["separation"], "elements": ["Dy"], "country": "CHN"},
                        comparison="ratio_to_year", relative_to=2025, period=2024, observed=0.6667, unit="ratio")
    score, _ = score_outcome(episode(unwinding), unwinding, RESULT)
    assert score.model == pytest.approx(2.0 / 3.0)


def test_the_engines_binding_table_is_listed_once_per_constraint_with_its_periods():
    binding = binding_constraints(RESULT, "IND")
    assert list(binding["kind"]) == ["export control", "sticky trade"]
    assert list(binding["periods"]) == ["2025", "2024..2025"]
    assert binding.loc[1, "constraint"] == "IND can have moved only 0.0% of its imports"
    assert binding.loc[1, "largest_shadow_usd_per_kg"] == pytest.approx(80.0)


def test_a_run_without_a_binding_table_lists_nothing():
    assert binding_constraints(MONTHLY, "IND").empty


def test_an_engine_that_refuses_the_scenario_leaves_every_outcome_not_run(dataset):
    def refusing(_dataset: object, _scenario: object) -> object:
        raise RaremapError("periods = 2010-2012: outside the years the data cover")

    result = run_episode(episode(outcome(), outcome(id="other")), dataset, simulator=refusing)
    assert {score.status for score in result.scores} == {NOT_RUN}
    assert "outside the years the data cover" in result.scores[0].reason
    assert result.counts()[NOT_RUN] == 2


def test_an_engine_that_crashes_leaves_that_episode_not_run_and_names_the_error(dataset):
    def crashing(_dataset: object, _scenario: object) -> object:
        raise KeyError("not all values found in index 'importer'")

    result = run_episode(episode(outcome()), dataset, simulator=crashing)
    assert {score.status for score in result.scores} == {NOT_RUN}
    assert "KeyError" in result.scores[0].reason and "engine bug" in result.scores[0].reason
