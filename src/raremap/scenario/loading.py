"""Reading scenario files: built-in names or YAML paths, deep-merged onto their base, validated once.

Every error names the YAML path of the bad entry (``export_controls[2].elements[0]``), the bad
value and the fix, and all problems of a file are reported together.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from raremap.errors import RaremapError
from raremap.scenario.spec import Periods, Scenario
from raremap.specfiles import SpecificationError, SpecificationFiles, deep_merge, published_schema

MAXIMUM_BASE_DEPTH = 10


class ScenarioError(SpecificationError):
    """Every problem of one scenario file, each with its YAML path, value and fix."""

    kind = "scenario"


FILES = SpecificationFiles(
    package="raremap.scenario",
    kind="scenario",
    example_keys="name: ..., export_controls: ...",
    schema_reference="docs/scenario-schema.json",
)


def builtin_directory() -> Path:
    """The folder of the built-in scenario YAML files shipped inside the package."""
    return FILES.directory()


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    return FILES.names()


def resolve_document(reference: str | Path) -> tuple[dict[str, Any], str]:
    """The scenario mapping with its chain of bases merged in (base first, this file last)."""
    document, label = FILES.read(reference)
    chain = [document]
    seen = {label}
    current = label
    while isinstance(chain[-1].get("base"), str) and chain[-1]["base"] != chain[-1].get("name"):
        if len(chain) > MAXIMUM_BASE_DEPTH:
            raise RaremapError(
                f"scenario {label}: bases nest deeper than {MAXIMUM_BASE_DEPTH}; shorten the chain"
            )
        parent, parent_label = FILES.read(_beside(chain[-1]["base"], current))
        if parent_label in seen:
            raise RaremapError(
                f"scenario {label}: base {chain[-1]['base']!r} refers back to itself; break the cycle"
            )
        seen.add(parent_label)
        chain.append(parent)
        current = parent_label
    merged: dict[str, Any] = {}
    for layer in reversed(chain):
        merged = merge_layer(merged, layer)
    merged["base"] = document.get("base")
    merged["name"] = document.get("name", Path(label).stem)
    return merged, label


def merge_layer(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """`layer` deep-merged onto `base`; a layer that moves the horizon without naming its own sub-annual
    stretch gets the inherited one cut to the new horizon (shortening baseline to 2024-2025 keeps its
    2025 quarters and drops 2026's), rather than an error about a setting it never wrote."""
    merged = deep_merge(base, layer)
    periods, own = merged.get("periods"), layer.get("periods")
    if not (isinstance(periods, Mapping) and isinstance(own, Mapping)) or "sub_annual" in own:
        return merged
    fine = periods.get("sub_annual")
    start = periods.get("start", Periods.model_fields["start"].default)
    end = periods.get("end", Periods.model_fields["end"].default)
    if not (isinstance(fine, Mapping) and all(isinstance(year, int) for year in (start, end, fine.get("start"), fine.get("end")))):
        return merged
    first, last = max(fine["start"], start + 1), min(fine["end"], end)
    kept = first <= last and periods.get("length", 1) == 1
    merged["periods"] = {**periods, "sub_annual": {**fine, "start": first, "end": last} if kept else None}
    return merged


def _beside(base: str, including: str) -> str | Path:
    """A base given as a relative file path is read next to the file that names it (as YAML includes are)."""
    path = Path(base)
    if path.suffix and not path.is_absolute() and (Path(including).parent / path).is_file():
        return Path(including).parent / path
    return base


def validate_document(document: Mapping[str, Any], label: str = "(in memory)", dataset: Any = None) -> Scenario:
    """A Scenario from a mapping, with every problem named by its YAML path, all in one error.

    Types and ranges (the model), dates against the horizon and, given a `dataset`, names and
    contradictory shocks are all checked before anything is raised.
    """
    from raremap.scenario.checks import contradiction_problems, document_problems

    scenario = FILES.validate(
        Scenario, document, label, ScenarioError, lambda checked: document_problems(checked, dataset)
    )
    if dataset is not None and (problems := contradiction_problems(scenario)):
        raise ScenarioError(label, problems)
    return scenario


def load_scenario(reference: str | Path, dataset: Any = None) -> Scenario:
    """Load a built-in name or YAML file, merged onto its base, validated (and checked against `dataset`)."""
    document, label = resolve_document(reference)
    return validate_document(document, label, dataset)


def override(scenario: Scenario, changes: Mapping[str, Any], dataset: Any = None) -> Scenario:
    """A new validated scenario with `changes` deep-merged onto `scenario` (checked against `dataset` if given)."""
    document = merge_layer(scenario.model_dump(mode="json"), changes)
    return validate_document(document, f"{scenario.name} with overrides", dataset)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, as published in docs/scenario-schema.json."""
    return published_schema(Scenario, "raremap scenario")
