"""A tiny hand-made world whose metrics can be checked with pencil and paper.

Mining (REO, t): AAA 60, BBB 30, IMP 10; WLD row 100 (a world total is stated, as every data
series that lists the world does).
Separation (REO, t): AAA 80, BBB 20; WLD row 125 (25 t from unlisted producers).
Trade at separation: AAA -> IMP 30, BBB -> IMP 10, AAA -> CCC 90 (AAA exports 120), IMP -> CCC 5.
Political stability: AAA -0.5, BBB 1.5, IMP 0.5 (CCC unscored). Blocs: IMP and BBB share PACT.
Ore: AAA mines bastnaesite (Dy 0.01), BBB and IMP monazite (Dy 0.02).
"""

from __future__ import annotations

import pandas as pd
import pytest

from raremap.metrics.inputs import MetricInputs, derive_element_shares, standard_production, standard_trade


def tiny_production() -> pd.DataFrame:
    rows = [
        ("AAA", "mining", "REO", 2024, 60.0),
        ("BBB", "mining", "REO", 2024, 30.0),
        ("IMP", "mining", "REO", 2024, 10.0),
        ("WLD", "mining", "REO", 2024, 100.0),
        ("AAA", "separation", "REO", 2024, 80.0),
        ("BBB", "separation", "REO", 2024, 20.0),
        ("WLD", "separation", "REO", 2024, 125.0),
    ]
    return pd.DataFrame(rows, columns=["country", "stage", "element", "year", "value_t"])


def tiny_trade() -> pd.DataFrame:
    rows = [
        ("AAA", "IMP", "separation", "REO", 2024, 30.0),
        ("BBB", "IMP", "separation", "REO", 2024, 10.0),
        ("AAA", "CCC", "separation", "REO", 2024, 90.0),
        ("IMP", "CCC", "separation", "REO", 2024, 5.0),
    ]
    return pd.DataFrame(rows, columns=["exporter", "importer", "stage", "element", "year", "value_t"])


def tiny_inputs(production: pd.DataFrame | None = None, trade: pd.DataFrame | None = None) -> MetricInputs:
    deposits = pd.DataFrame(
        {
            "country": ["AAA", "BBB", "IMP"],
            "deposit_type": ["bastnaesite", "monazite", "monazite"],
            "share": 1.0,
        }
    )
    composition = pd.DataFrame(
        {
            "deposit_type": ["bastnaesite", "bastnaesite", "monazite", "monazite"],
            "element": ["Dy", "Ce", "Dy", "Ce"],
            "share": [0.01, 0.99, 0.02, 0.98],
        }
    )
    return MetricInputs(
        production=standard_production(tiny_production() if production is None else production),
        trade=standard_trade(tiny_trade() if trade is None else trade),
        governance=pd.DataFrame({"country": ["AAA", "BBB", "IMP"], "year": 2024, "value": [-0.5, 1.5, 0.5]}),
        blocs=pd.DataFrame({"bloc": ["PACT", "PACT"], "country": ["IMP", "BBB"]}),
        element_shares=derive_element_shares(deposits, composition),
        demand=pd.DataFrame(
            {
                "country": "IMP",
                "sector": ["ev", "wind"],
                "element": "REO",
                "year": 2024,
                "value_t": [3.0, 1.0],
            }
        ),
        parameters={"eol_recycling_input_rate_ree": 0.1},
        countries=("AAA", "BBB", "CCC", "IMP"),
        origin="tiny test world",
    )


@pytest.fixture
def inputs() -> MetricInputs:
    return tiny_inputs()
