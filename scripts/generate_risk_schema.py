"""Write docs/risk-schema.json from the risk-file models (run after changing raremap/risk/spec.py)."""

from __future__ import annotations

import json
from pathlib import Path

from raremap.risk.loading import risk_json_schema

TARGET = Path(__file__).resolve().parents[1] / "docs" / "risk-schema.json"

if __name__ == "__main__":
    TARGET.write_text(json.dumps(risk_json_schema(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {TARGET}")
