"""Every bundled episode runs through the engine; a perturbed model fails an outcome it passed."""

from __future__ import annotations

import json
import math

import pytest

from raremap.backtest import load_episode, run_backtests, run_episode
from raremap.backtest.run import FAIL, NOT_EXPRESSIBLE, NOT_RUN, PASS
from raremap.scenario.loading import override
from raremap.simulate import simulate
from tests.cli.runner import run_raremap

STATUSES = {PASS, FAIL, NOT_EXPRESSIBLE, NOT_RUN}


@pytest.mark.slow
def test_every_episode_runs_and_every_outcome_gets_a_verdict(dataset):
    results = run_backtests(dataset=dataset)
    assert len(results) >= 3
    for result in results:
        assert len(result.scores) == len(result.episode.outcomes)
        for score in result.scores:
            assert score.status in STATUSES
            if score.status in (PASS, FAIL):
                assert score.model is not None and math.isfinite(score.model)
                assert score.difference == pytest.approx(score.model - score.observed)
                assert (abs(score.difference) <= score.band + 1e-12) == (score.status == PASS)
            else:
                assert score.reason, f"{score.outcome}: {score.status} without a reason"
        json.dumps(result.to_json(), default=str)


@pytest.mark.slow
def test_a_perturbed_model_fails_an_outcome_it_passed(dataset):
    """The harness check: outcomes made to match this engine pass, then a perturbed engine fails one.

    The observed figures are replaced by the unperturbed model's own figures (so every computable
    outcome passes by construction); the perturbation halves China's separation, metal and magnet
    capacity in 2025 (its months included). If the harness did not read the model's results, nothing
    would fail.
    """
    episode = load_episode("china-2025-licensing", dataset)
    first = run_episode(episode, dataset)
    computed = {score.outcome: score.model for score in first.scores if score.model is not None}
    assert computed, "the episode has no outcome the engine can compute"
    # The episode runs 2025 by month: a month, a quarter, April-September and the year are all read.
    assert {"china-magnet-exports-may-2025", "china-magnet-exports-q2-2025", "india-magnet-imports-h1-fy26",
            "china-magnet-exports-2025-full-year"} <= set(computed)
    assert not first.binding.empty and "export control" in set(first.binding["kind"])
    assert {"period_start", "period_years"} <= set(first.paths.columns)
    matched = episode.model_copy(update={"outcomes": tuple(
        outcome.model_copy(update={"observed": computed[outcome.id]}) if outcome.id in computed else outcome
        for outcome in episode.outcomes
    )})
    baseline = run_episode(matched, dataset)
    passed = {score.outcome for score in baseline.scores if score.status == PASS}
    assert passed == set(computed)

    def perturbed(data: object, scenario: object) -> object:
        shock = [
            {"country": "CHN", "stage": stage, "share_lost": 0.5, "start": 2025, "duration_years": 1}
            for stage in ("separation", "metal", "magnet")
        ]
        return simulate(data, override(scenario, {"disruptions": shock}))

    moved = run_episode(matched, dataset, simulator=perturbed)
    failed = {score.outcome for score in moved.scores if score.status == FAIL}
    assert failed & passed, "the perturbed model passed every outcome the true model passed"


def test_the_command_lists_the_bundled_episodes():
    completed = run_raremap("backtest", "--list")
    assert completed.returncode == 0, completed.stderr
    assert "china-2010-export-quotas" in completed.stdout
    assert "myanmar-2024-kachin" in completed.stdout


def test_the_command_names_the_yaml_path_of_a_bad_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\ntitle: bad\nbase_year: 2024\nscenario: {}\noutcomes:\n"
        "  - {id: a, description: a, measure: exports, period: 2025, observed: 1, unit: t,\n"
        "     evidence: some evidence here, tolerance: {relative: 0.1}}\n",
        encoding="utf-8",
    )
    completed = run_raremap("backtest", str(path))
    assert completed.returncode == 1
    assert "outcomes[0].sources" in completed.stderr
    assert "outcomes[0].tolerance.justification" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.slow
def test_the_command_prints_json_for_one_episode():
    completed = run_raremap("backtest", "myanmar-2024-kachin", "--json")
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    (episode,) = payload["episodes"]
    assert episode["episode"] == "myanmar-2024-kachin"
    assert {row["status"] for row in episode["outcomes"]} <= STATUSES
    assert all(row["sources"] for row in episode["outcomes"])
