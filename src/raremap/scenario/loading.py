"""Reading scenario files: built-in names or YAML paths, deep-merged onto their base, validated once.

Every error names the YAML path of the bad entry (``export_controls[2].elements[0]``), the bad
value and the fix, and all problems of a file are reported together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from raremap.errors import RaremapError
from raremap.scenario.spec import Scenario

MAXIMUM_BASE_DEPTH = 10


class ScenarioError(RaremapError):
    """Every problem of one scenario file, each with its YAML path, value and fix."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.problems = tuple(problems)
        count = len(self.problems)
        listed = "; ".join(self.problems)
        super().__init__(f"scenario {source}: {count} problem{'s' if count != 1 else ''}: {listed}")


def builtin_directory() -> Path:
    """The folder of the built-in scenario YAML files shipped inside the package."""
    return Path(str(resources.files("raremap.scenario").joinpath("builtin")))


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    return sorted(path.stem for path in builtin_directory().glob("*.yaml"))


def yaml_path(location: Sequence[str | int]) -> str:
    """A pydantic error location as a YAML path: ('a', 2, 'b') -> 'a[2].b'."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` onto `base`: mappings merge key by key; lists and plain values replace."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_document(reference: str | Path) -> tuple[dict[str, Any], str]:
    """The YAML mapping of a built-in name or a file path, and a label for messages."""
    path = Path(reference)
    if not path.suffix and str(reference) in builtin_names():
        path = builtin_directory() / f"{reference}.yaml"
    elif not path.exists():
        from raremap.data.reading import closest

        suggestion = closest(str(reference), builtin_names())
        hint = f"did you mean {suggestion}?" if suggestion else f"built-ins are {', '.join(builtin_names())}"
        raise RaremapError(f"scenario {reference!r} is neither a file nor a built-in scenario; {hint}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RaremapError(f"scenario {path}: not valid YAML ({error}); fix the syntax at the marked line") from error
    if not isinstance(document, dict):
        raise RaremapError(f"scenario {path}: the file must hold a mapping (name: ..., export_controls: ...)")
    return document, str(path)


def resolve_document(reference: str | Path) -> tuple[dict[str, Any], str]:
    """The scenario mapping with its chain of bases merged in (base first, this file last)."""
    document, label = _read_document(reference)
    chain = [document]
    seen = {label}
    while isinstance(chain[-1].get("base"), str) and chain[-1]["base"] != chain[-1].get("name"):
        if len(chain) > MAXIMUM_BASE_DEPTH:
            raise RaremapError(f"scenario {label}: bases nest deeper than {MAXIMUM_BASE_DEPTH}; shorten the chain")
        parent, parent_label = _read_document(chain[-1]["base"])
        if parent_label in seen:
            raise RaremapError(f"scenario {label}: base {chain[-1]['base']!r} refers back to itself; break the cycle")
        seen.add(parent_label)
        chain.append(parent)
    merged: dict[str, Any] = {}
    for layer in reversed(chain):
        merged = deep_merge(merged, layer)
    merged["base"] = document.get("base")
    merged["name"] = document.get("name", Path(label).stem)
    return merged, label


def validate_document(document: Mapping[str, Any], label: str = "(in memory)") -> Scenario:
    """A Scenario from a mapping, with every validation problem named by its YAML path."""
    try:
        return Scenario.model_validate(dict(document))
    except ValidationError as error:
        problems = [_describe(item) for item in error.errors()]
        raise ScenarioError(label, problems) from None


def _describe(item: Mapping[str, Any]) -> str:
    where = yaml_path(item["loc"])
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "extra_forbidden":
        return f"{where}: unknown key; remove it or check its spelling against docs/scenario-schema.json"
    if item["type"] == "missing":
        return f"{where}: required; add it"
    value = json.dumps(item.get("input"), default=str)
    return f"{where} = {value}: {message}; fix the value"


def load_scenario(reference: str | Path, dataset: Any = None) -> Scenario:
    """Load a built-in name or YAML file, merged onto its base, validated (and checked against `dataset`)."""
    document, label = resolve_document(reference)
    scenario = validate_document(document, label)
    if dataset is not None:
        from raremap.scenario.checks import check_against_dataset

        check_against_dataset(scenario, dataset, label)
    return scenario


def override(scenario: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """A new validated scenario with `changes` deep-merged onto `scenario`."""
    document = deep_merge(scenario.model_dump(mode="json"), changes)
    return validate_document(document, f"{scenario.name} with overrides")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, as published in docs/scenario-schema.json."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "raremap scenario"
    return schema
