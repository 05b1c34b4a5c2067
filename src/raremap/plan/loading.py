"""Reading plan files: a built-in name or a YAML path, validated once, every problem named by its YAML path.

Names (importer, partners, blocs, elements) are checked against the dataset here, so that a typo is
reported before anything is built, with the closest valid name.
"""

from __future__ import annotations

import difflib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from raremap.data.reading import closest
from raremap.errors import RaremapError
from raremap.plan.spec import Plan
from raremap.scenario.loading import deep_merge, yaml_path


class PlanError(RaremapError):
    """Every problem of one plan file, each with its YAML path, the bad value and the fix."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.problems = tuple(problems)
        count = len(self.problems)
        super().__init__(f"plan {source}: {count} problem{'s' if count != 1 else ''}: {'; '.join(self.problems)}")


def builtin_directory() -> Path:
    """The folder of the built-in plan files shipped inside the package."""
    return Path(str(resources.files("raremap.plan").joinpath("builtin")))


def builtin_names() -> list[str]:
    return sorted(path.stem for path in builtin_directory().glob("*.yaml"))


def _read_document(reference: str | Path) -> tuple[dict[str, Any], str]:
    path = Path(reference)
    if not path.suffix and str(reference) in builtin_names():
        path = builtin_directory() / f"{reference}.yaml"
    elif not path.is_file():
        suggestion = closest(str(reference), builtin_names())
        hint = f"did you mean {suggestion}?" if suggestion else f"built-ins are {', '.join(builtin_names())}"
        raise RaremapError(f"plan {reference!r} is neither a file nor a built-in plan; {hint}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RaremapError(f"plan {path}: not valid YAML ({error}); fix the syntax at the marked line") from error
    if not isinstance(document, dict):
        raise RaremapError(f"plan {path}: the file must hold a mapping (name: ..., budget_usd_million: ...)")
    document.setdefault("name", path.stem)
    return document, str(path)


def _describe(item: Mapping[str, Any]) -> str:
    where = yaml_path(item["loc"])
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "extra_forbidden":
        return f"{where}: unknown key; remove it or check its spelling against docs/plan.md"
    if item["type"] == "missing":
        return f"{where}: required; add it"
    value = json.dumps(item.get("input"), default=str)
    return f"{where} = {value}: {message}; fix the value"


def validate_plan_document(document: Mapping[str, Any], label: str = "(in memory)") -> Plan:
    """A Plan from a mapping; all validation problems raised together, by YAML path."""
    try:
        return Plan.model_validate(dict(document))
    except ValidationError as error:
        raise PlanError(label, [_describe(item) for item in error.errors()]) from None


def _suggestions(value: str, candidates: list[str], count: int = 3) -> list[str]:
    """Close names, most alike first; ties go to the name sharing the longer prefix (AUX: AUS before SAU)."""
    def prefix(name: str) -> int:
        pairs = zip(value.upper(), name.upper(), strict=False)
        return sum(1 for _ in itertools.takewhile(lambda pair: pair[0] == pair[1], pairs))

    scored = [(difflib.SequenceMatcher(None, value, name).ratio(), prefix(name), name) for name in candidates]
    close = sorted((item for item in scored if item[0] >= 0.6), key=lambda item: (-item[0], -item[1], item[2]))
    return [name for _, _, name in close[:count]]


def _unknown(path: str, value: str, valid: Iterable[str], kind: str) -> str | None:
    candidates = sorted(set(valid))
    if value in candidates:
        return None
    names = _suggestions(value, candidates)
    if names:
        fix = f"did you mean {names[0]!r}?" + (f" (or {', '.join(repr(name) for name in names[1:])})"
                                               if len(names) > 1 else "")
    else:
        fix = f"use one of {', '.join(candidates[:12])}, ..."
    return f"{path} = {value!r}: unknown {kind}; {fix}"


def _named(plan: Plan) -> Iterable[tuple[str, str, str]]:
    """Every (YAML path, value, kind) of a plan that must name something in the dataset."""
    yield "importer", plan.importer, "country"
    for index, offtake in enumerate(plan.offtakes):
        yield f"offtakes[{index}].partner", offtake.partner, "country"
        for position, element in enumerate(offtake.elements):
            yield f"offtakes[{index}].elements[{position}]", element, "element"
    for index, partnership in enumerate(plan.technology):
        yield f"technology[{index}].partner", partnership.partner, "country"
    for index, stockpile in enumerate(plan.stockpiles):
        yield f"stockpiles[{index}].element", stockpile.element, "element"
    for index, bloc in enumerate(plan.caps.blocs):
        yield f"caps.blocs[{index}]", bloc, "bloc"


def check_against_dataset(plan: Plan, dataset: Any, label: str) -> None:
    """Raise one PlanError listing every name of the plan that the dataset does not know."""
    valid = {
        "country": set(dataset["countries"]["country"].astype(str)),
        "element": set(dataset["ore_composition"]["element"].astype(str)) | {"NdFeB", "NdPr"},
        "bloc": set(dataset["blocs"]["bloc"].astype(str)),
    }
    problems = [
        problem
        for path, value, kind in _named(plan)
        if (problem := _unknown(path, value, valid[kind], kind)) is not None
    ]
    targeted: dict[str, str] = {}
    for index, partnership in enumerate(plan.technology):
        for target in partnership.targets:
            if target in targeted:
                problems.append(
                    f"technology[{index}].targets: {target!r} is already targeted by {targeted[target]!r}; "
                    "one technology partnership per domestic build"
                )
            targeted[target] = partnership.name
    if problems:
        raise PlanError(label, problems)


def load_plan(reference: str | Path, dataset: Any = None, **changes: Any) -> Plan:
    """A built-in name or YAML path as a validated Plan (with top-level `changes` deep-merged)."""
    document, label = _read_document(reference)
    document = deep_merge(document, {key: value for key, value in changes.items() if value is not None})
    plan = validate_plan_document(document, label)
    if dataset is not None:
        check_against_dataset(plan, dataset, label)
    return plan


def override_plan(plan: Plan, changes: Mapping[str, Any]) -> Plan:
    """A new validated plan with `changes` deep-merged onto `plan`."""
    document = deep_merge(plan.model_dump(mode="json", by_alias=True), changes)
    return validate_plan_document(document, f"{plan.name} with overrides")
