"""Risk files: the built-in default loads, bad input is refused with its YAML path, the schema is published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raremap.errors import RaremapError
from raremap.risk.engine import prepare
from raremap.risk.loading import RiskFileError, builtin_names, load_risk_model, risk_json_schema
from raremap.risk.resolve import copula_factor, political_stability_probability
from raremap.risk.spec import ProbabilityMapping
from tests.risk.conftest import write_risk_file

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_default_is_built_in_and_valid() -> None:
    assert "default" in builtin_names()
    model, _ = load_risk_model("default")
    assert model.base == "baseline" and model.draws > 0


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"overrides": [{"country": "MMR", "stage": "mining", "annual_probability": 1.5}]}, "overrides[0].annual_probability"),
        ({"export_control": {"annual_probability": -0.1}}, "export_control.annual_probability"),
        ({"draws": 0}, "draws"),
        ({"demand": {"levels": [1.0, 1.2], "probabilities": [0.5, 0.6]}}, "demand"),
        ({"severity_step": 0}, "severity_step"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_name_their_yaml_path(tmp_path: Path, changes: dict, path: str) -> None:
    risk_file = write_risk_file(tmp_path, changes)
    with pytest.raises(RiskFileError) as caught:
        load_risk_model(risk_file)
    assert path in str(caught.value)
    assert str(risk_file) in str(caught.value)


def test_command_line_draws_are_validated_too() -> None:
    with pytest.raises(RaremapError, match=r"draws = -5: .*given with the command, not in the file") as caught:
        load_risk_model("default", draws=-5)
    assert "default.yaml" not in str(caught.value)


def test_correlation_that_is_not_positive_semi_definite_is_refused(tmp_path: Path, dataset) -> None:
    pairs = [
        {"first": "CHN/mining", "second": "CHN/separation", "value": 0.95},
        {"first": "CHN/separation", "second": "CHN/metal", "value": 0.95},
        {"first": "CHN/mining", "second": "CHN/metal", "value": -0.95},
    ]
    risk_file = write_risk_file(tmp_path, {"correlation": {"pairs": pairs}})
    with pytest.raises(RiskFileError, match=r"correlation: .*not positive semi-definite"):
        prepare(risk_file, dataset)


def test_correlation_pair_naming_an_unknown_process_is_refused(tmp_path: Path, dataset) -> None:
    pairs = [{"first": "CHN/mining", "second": "XXX/magnet", "value": 0.3}]
    risk_file = write_risk_file(tmp_path, {"correlation": {"pairs": pairs}})
    with pytest.raises(RiskFileError, match=r"correlation.pairs\[0\].*XXX/magnet"):
        prepare(risk_file, dataset)


def test_unknown_country_in_override_is_refused(tmp_path: Path, dataset) -> None:
    risk_file = write_risk_file(tmp_path, {"overrides": [{"country": "ATL", "annual_probability": 0.1}]})
    with pytest.raises(RiskFileError, match=r"overrides\[0\].country = 'ATL'"):
        prepare(risk_file, dataset)


def test_unknown_export_control_element_and_destination_are_refused(tmp_path: Path, dataset) -> None:
    control = {"elements": ["Nd", "Unobtainium"], "destinations": ["IND", "XYZ"]}
    risk_file = write_risk_file(tmp_path, {"export_control": control})
    with pytest.raises(RiskFileError) as caught:
        prepare(risk_file, dataset)
    assert "export_control.elements[1] = 'Unobtainium'" in str(caught.value)
    assert "export_control.destinations[1] = 'XYZ'" in str(caught.value)


def test_missing_risk_file_suggests_the_built_in() -> None:
    with pytest.raises(RaremapError, match="did you mean default"):
        load_risk_model("defalt")


def test_probability_mapping_falls_with_stability() -> None:
    mapping = ProbabilityMapping()
    unstable, middle, stable = (political_stability_probability(score, mapping) for score in (-2.5, -1.0, 2.5))
    assert mapping.maximum > unstable > middle > stable > mapping.minimum
    assert middle == pytest.approx((mapping.minimum + mapping.maximum) / 2)


def test_copula_factor_reproduces_the_correlation() -> None:
    import numpy as np

    matrix = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.2], [0.2, 0.2, 1.0]])
    factor = copula_factor(matrix, "test")
    np.testing.assert_allclose(factor @ factor.T, matrix, atol=1e-12)


def test_default_probabilities_come_from_governance_and_history(dataset) -> None:
    risk, _ = prepare("default", dataset)
    by_name = {process.name: process.annual_probability for process in risk.processes}
    assert by_name["MMR/mining"] == 0.3  # the override
    assert by_name["CHN/mining"] > by_name["AUS/mining"]  # WGI: China less stable than Australia
    assert 0 < risk.control_probability < 1


def test_published_schema_matches_the_models() -> None:
    published = json.loads((DOCS / "risk-schema.json").read_text(encoding="utf-8"))
    assert published == risk_json_schema()


@pytest.mark.parametrize(("start", "reason"), [(2024, "would disrupt the calibrated base year"),
                                                (2031, "is after the last period")])
def test_a_horizon_outside_the_periods_is_refused(tmp_path: Path, dataset, start: int, reason: str) -> None:
    with pytest.raises(RiskFileError, match=rf"horizon_start = {start}: {reason}; give a year from 2025 to 2026"):
        prepare(write_risk_file(tmp_path, {"horizon_start": start}), dataset)


def test_the_default_horizon_is_the_five_years_after_today(dataset) -> None:
    risk, _ = prepare("default", dataset)
    assert risk.periods[0] == 2024.0 and risk.horizon_label == "2027 to 2031" and risk.horizon_years == 5.0
    assert risk.importer == "IND" and set(risk.sector_units) <= {"t magnet", "t REO"}
