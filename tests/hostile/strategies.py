"""hypothesis strategies for hostile documents: scenario-shaped, with values a careless or malicious
person might write (NaN, huge numbers, dates that do not exist, codes in the wrong case, markup)."""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st

HOSTILE_TEXT = st.sampled_from([
    "CHN", "IND", "ind", "aus", "CNH", "XYZ", "all", "", " ", "Nd", "Dyy", "NdFeB", "magnet", "mining",
    "refining", "ban", "quota", "licence_delay", "2025", "2025-04", "2025-02-30", "2026-13-01", "13/01/2026",
    "=HYPERLINK(\"http://x\")", "[bold]x[/]", "Nd:x:", "../../etc/passwd", "\x00", "é", "💥", "NaN", "1e400",
    "stated-policies", "baseline", "x" * 20_000,
])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 2024, 2026, 2040, 1990, 2100, -1, 0.5, 1.5, 1e308]),
    st.dates(min_value=datetime.date(1, 1, 1)),
    HOSTILE_TEXT,
    st.text(max_size=20),
)
KEYS = st.one_of(
    st.sampled_from([
        "name", "base", "importer", "periods", "start", "end", "length", "export_controls", "exporter",
        "stages", "elements", "destinations", "form", "quota_t", "quota_share_of_base", "delay_days",
        "disruptions", "country", "stage", "share_lost", "duration_years", "capacity_changes", "capacity_t",
        "online_year", "stockpiles", "holder", "element", "size_t", "demand", "path", "growth", "settings",
        "policies", "export_bans", "tariffs", "description", "draws", "seed", "overrides", "budget_usd_million",
        "offtakes", "partner", "maximum_t", "caps", "<<",
    ]),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)


def item(fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A list item with the section's own keys (each present or not, realistic or hostile) and maybe others."""
    return st.fixed_dictionaries(
        {}, optional={key: st.one_of(strategy, VALUES) for key, strategy in fields.items()}
    ).flatmap(lambda known: st.dictionaries(KEYS, VALUES, max_size=2).map(lambda extra: {**extra, **known}))


YEARS = st.integers(min_value=1980, max_value=2110)
SHARES = st.floats(min_value=-0.5, max_value=1.5, allow_nan=False)
CODES = st.sampled_from(["CHN", "IND", "AUS", "ind", "CNH", "XYZ", "all", "MMR"])
STAGES = st.sampled_from(["mining", "separation", "metal", "magnet", "refining"])
SCENARIO_SECTIONS = {
    "export_controls": item({"exporter": CODES, "stages": st.lists(STAGES, max_size=3), "form": st.sampled_from(["ban", "quota", "licence_delay", "embargo"]),
                             "start": st.one_of(YEARS, HOSTILE_TEXT), "end": st.one_of(YEARS, HOSTILE_TEXT), "quota_t": st.floats(),
                             "quota_share_of_base": SHARES, "delay_days": st.floats()}),
    "disruptions": item({"country": CODES, "stage": STAGES, "share_lost": SHARES, "start": YEARS, "duration_years": st.integers(-2, 200)}),
    "capacity_changes": item({"country": CODES, "stage": STAGES, "capacity_t": st.floats(), "online_year": YEARS}),
    "stockpiles": item({"holder": CODES, "stage": STAGES, "element": st.sampled_from(["Nd", "Dy", "NdFeB", "Xx"]), "size_t": st.floats()}),
}


@st.composite
def scenario_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A scenario document: a name, maybe a base and periods, some sections, maybe stray keys."""
    document: dict[str, Any] = {"name": draw(st.one_of(st.just("fuzzed"), HOSTILE_TEXT))}
    if draw(st.booleans()):
        document["base"] = draw(st.sampled_from(["baseline", "china-2025-controls", "nope", None]))
    if draw(st.booleans()):
        document["periods"] = draw(item({"start": YEARS, "end": YEARS, "length": st.integers(-1, 12)}))
    if draw(st.booleans()):
        document["importer"] = draw(CODES)
    for section, strategy in SCENARIO_SECTIONS.items():
        if draw(st.booleans()):
            document[section] = draw(st.lists(strategy, max_size=3))
    document.update(draw(st.dictionaries(KEYS, VALUES, max_size=2)))
    return document


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> bytes:
    """The text's bytes, maybe with one hostile change: bytes inserted, a line repeated, an end cut off."""
    raw = text.encode("utf-8")
    change = draw(st.sampled_from(["none", "none", "insert", "repeat line", "cut", "nest", "alias"]))
    if change == "insert":
        position = draw(st.integers(0, len(raw)))
        raw = raw[:position] + draw(st.binary(min_size=1, max_size=8)) + raw[position:]
    elif change == "repeat line" and b"\n" in raw:
        lines = raw.split(b"\n")
        index = draw(st.integers(0, len(lines) - 1))
        raw = b"\n".join([*lines[: index + 1], lines[index], *lines[index + 1:]])
    elif change == "cut":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif change == "nest":
        depth = draw(st.integers(30, 3_000))
        raw += b"\ndeep: " + b"[" * depth + b"]" * depth + b"\n"
    elif change == "alias":
        levels = draw(st.integers(2, 9))
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
        raw += ("\n" + "\n".join(lines) + "\n").encode()
    return raw
