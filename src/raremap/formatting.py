"""How numbers are written for people, in one place: the CLI, JSON, the report, the dashboard and PNGs.

Rules, the same everywhere:

- three significant figures, with thousands separators from 1,000 up (``3,157``; ``21.8``;
  ``0.143``), no trailing zeros (``1``, not ``1.00``), scientific notation only below 0.000001;
- whole numbers stay whole (a seed of 1 prints ``1``);
- years never get separators (``2025``, never ``2,025``), and a column is a year column when the
  result contract says its unit is ``year`` or its name says so (``year``, ``start``, ``*_year``);
- shares (unit ``fraction``) print as per cent;
- lists print as ``Nd, Pr, Dy``, never as a Python list;
- JSON keeps full precision but no float noise: 0.30000000000000004 is written 0.3.

>>> number(3157.234), number(21.83), number(0.14286), number(0.1 + 0.2), number(1.072e-05)
('3,157', '21.8', '0.143', '0.3', '0.0000107')
>>> year(2025.0), cell(2025, column="payback_year"), share(0.4523), cell(["Nd", "Pr"])
('2025', '2025', '45%', 'Nd, Pr')
>>> clean({"share": 0.1 + 0.2, "years": [2024, float("nan")]})
{'share': 0.3, 'years': [2024, None]}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

SIGNIFICANT = 3
JSON_SIGNIFICANT = 12
"""Digits kept in JSON: far beyond any input's precision, short of binary float noise."""
SCIENTIFIC_BELOW = 1e-6
YEAR_NAMES = frozenset({"year", "start", "end", "online", "period", "as_of", "start_year", "base_year"})
YEAR_UNITS = frozenset({"year"})
SHARE_UNITS = frozenset({"fraction"})


def missing(value: Any) -> bool:
    """None, NaN, pandas' NA or NaT."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False


def _python(value: Any) -> Any:
    """A numpy scalar as the Python value it holds."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def _strip(text: str) -> str:
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def number(value: Any, digits: int = SIGNIFICANT, empty: str = "") -> str:
    """A number as people read it: `digits` significant figures, separators from 1,000, no float noise."""
    value = _python(value)
    if missing(value):
        return empty
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, float):
        return str(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    size = abs(value)
    if size < SCIENTIFIC_BELOW:
        return f"{value:.{digits - 1}e}"
    magnitude = math.floor(math.log10(size))
    decimals = max(digits - 1 - magnitude, 0)
    return _strip(f"{value:,.{decimals}f}")


def year(value: Any, empty: str = "") -> str:
    """A year (or a period label) without separators: 2025, 2025-Q2."""
    value = _python(value)
    if missing(value):
        return empty
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def share(value: Any, empty: str = "") -> str:
    """A fraction as per cent: 0.4523 -> 45%, 0.0712 -> 7.1%, 0.00123 -> 0.12%."""
    value = _python(value)
    if missing(value):
        return empty
    percent = float(value) * 100
    if percent == 0 or abs(percent) >= 10:
        return f"{percent:.0f}%"
    return f"{number(percent, 2)}%"


def quantity(value: Any, unit: str, digits: int = SIGNIFICANT) -> str:
    """A number with its unit: '3,157 t magnet', '94 USD/kg'."""
    text = number(value, digits, empty="n/a")
    return f"{text} {unit}".strip() if unit else text


def is_year(column: str, unit: str = "") -> bool:
    """Whether a column holds years (or period labels): by its declared unit, else by its name."""
    if unit:
        return unit in YEAR_UNITS
    name = column.lower().strip()
    return name in YEAR_NAMES or name.endswith("_year")


def is_share(column: str, unit: str = "") -> bool:
    return unit in SHARE_UNITS


def cell(value: Any, column: str = "", unit: str = "") -> str:
    """One table cell as text, by what the column holds: years, shares, lists, numbers, words."""
    value = _python(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return ", ".join(cell(item) for item in items)
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {cell(item)}" for key, item in value.items())
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy arrays
        return cell(value.tolist())
    if missing(value):
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10] if not isinstance(value, datetime) else value.isoformat(" ", "minutes")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if is_year(column, unit):
            return year(value)
        if is_share(column, unit):
            return share(value)
    return number(value)


def clean(value: Any) -> Any:
    """A JSON-ready copy: numpy scalars to Python, NaN and NA to None, floats without binary noise."""
    value = _python(value)
    if isinstance(value, Mapping):
        return {str(key): clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    if hasattr(value, "tolist") and not isinstance(value, str):
        return clean(value.tolist())
    if missing(value):
        return None
    if isinstance(value, float):
        if math.isinf(value):
            return None
        return float(f"{value:.{JSON_SIGNIFICANT}g}")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
