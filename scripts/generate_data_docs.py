"""Write docs/data.md from the schema and the bundled tables."""

from pathlib import Path

import raremap
from raremap.data.documentation import render_data_reference

TARGET = Path(__file__).resolve().parents[1] / "docs" / "data.md"

if __name__ == "__main__":
    TARGET.write_text(render_data_reference(raremap.load()), encoding="utf-8")
    print(f"wrote {TARGET}")
