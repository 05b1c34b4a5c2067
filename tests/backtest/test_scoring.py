"""Scoring on hand-made result tables: each status, each comparison, and the measures' arithmetic."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pytest

from raremap.backtest.measures import binding_constraints, measure
from raremap.backtest.run import FAIL, NOT_EXPRESSIBLE, NOT_RUN, PASS, run_episode, score_outcome
from raremap.backtest.spec import Episode, Outcome, Selection
from raremap.errors import RaremapError


@dataclass
class FakeResult:
    periods: tuple[int, ...]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def flows(rows: list[tuple[str, str, str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["stage", "exporter", "importer", "element", "period", "value_t"])


RESULT = FakeResult(
    periods=(2024, 2025),
    tables={
        "flows": flows([
            ("magnet", "CHN", "DEU", "NdFeB", 2024, 100.0),
            ("magnet", "CHN", "IND", "NdFeB", 2024, 50.0),
            ("magnet", "CHN", "DEU", "NdFeB", 2025, 80.0),
            ("magnet", "CHN", "IND", "NdFeB", 2025, 40.0),
            ("magnet", "JPN", "IND", "NdFeB", 2025, 10.0),
            ("magnet", "CHN", "CHN", "NdFeB", 2025, 999.0),
        ]),
        "prices": pd.DataFrame(
            [("separation", "CHN", "Dy", 2024, 200_000.0), ("separation", "CHN", "Dy", 2025, 300_000.0)],
            columns=["stage", "country", "element", "period", "usd_per_t"],
        ),
        "utilisation": pd.DataFrame(
            [("CHN", "magnet", 2025, 10.0, 10.0, 1.0), ("IND", "magnet", 2025, 1.0, 10.0, 0.1)],
            columns=["country", "stage", "period", "production_t", "capacity_t", "utilisation"],
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
    assert path is not None and path.loc[2024] == pytest.approx(1.0)


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
    assert "2025-05" in score.reason and "sub-annual" in score.reason


def test_a_missing_result_table_is_not_expressible_with_the_table_named():
    recycled = outcome(measure="recycling_share", comparison="level", observed=0.005, unit="share")
    score, _ = score_outcome(episode(recycled), recycled, RESULT)
    assert score.status == NOT_EXPRESSIBLE
    assert "recycling" in score.reason


def test_import_share_and_price_measures():
    share = measure(RESULT, "import_share", Selection(importer="IND", partner="CHN", stages=("magnet",)), (2024, 2025))
    assert share.loc[2025] == pytest.approx(40.0 / 50.0)
    price = measure(RESULT, "price", Selection(stages=("separation",), elements=("Dy",), country="CHN"), (2024, 2025))
    assert price.loc[2025] == pytest.approx(300.0)


def test_a_ratio_to_another_year():
    unwinding = outcome(measure="price", select={"stages": ["separation"], "elements": ["Dy"], "country": "CHN"},
                        comparison="ratio_to_year", relative_to=2025, period=2024, observed=0.6667, unit="ratio")
    score, _ = score_outcome(episode(unwinding), unwinding, RESULT)
    assert score.model == pytest.approx(2.0 / 3.0)


def test_capacities_at_their_limit_are_listed_as_binding():
    binding = binding_constraints(RESULT, "IND")
    assert list(binding["constraint"]) == ["magnet capacity in CHN at its limit"]


def test_an_engine_that_refuses_the_scenario_leaves_every_outcome_not_run(dataset):
    def refusing(_dataset: object, _scenario: object) -> object:
        raise RaremapError("periods = 2010-2012: outside the years the data cover")

    result = run_episode(episode(outcome(), outcome(id="other")), dataset, simulator=refusing)
    assert {score.status for score in result.scores} == {NOT_RUN}
    assert "outside the years the data cover" in result.scores[0].reason
    assert result.counts()[NOT_RUN] == 2
