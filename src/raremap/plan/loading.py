"""Reading plan files: a built-in name or a YAML path, validated once, every problem named by its YAML path.

Names (importer, partners, blocs, elements) are checked against the dataset here, so that a typo is
reported before anything is built, with the closest valid name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from raremap.data.reading import closest
from raremap.plan.spec import FAMILIES, Plan
from raremap.specfiles import SpecificationError, SpecificationFiles, deep_merge


class PlanError(SpecificationError):
    """Every problem of one plan file, each with its YAML path, the bad value and the fix."""

    kind = "plan"


FILES = SpecificationFiles(
    package="raremap.plan",
    kind="plan",
    example_keys="name: ..., budget_usd_million: ...",
    schema_reference="docs/plan.md",
)


def builtin_directory() -> Path:
    """The folder of the built-in plan files shipped inside the package."""
    return FILES.directory()


def builtin_names() -> list[str]:
    return FILES.names()


def validate_plan_document(document: Mapping[str, Any], label: str = "(in memory)") -> Plan:
    """A Plan from a mapping; all validation problems raised together, by YAML path."""
    return FILES.validate(Plan, document, label, PlanError)


def _unknown(path: str, value: str, valid: Iterable[str], kind: str) -> str | None:
    candidates = sorted(set(valid))
    if value in candidates:
        return None
    suggestion = closest(value, candidates)
    fix = f"did you mean {suggestion!r}?" if suggestion else f"use one of {', '.join(candidates[:12])}, ..."
    return f"{path} = {value!r}: unknown {kind}; {fix}"


def _named(plan: Plan) -> Iterable[tuple[str, str, str]]:
    """Every (YAML path, value, kind) of a plan that must name something in the dataset."""
    yield "importer", plan.importer, "country"
    for index, offtake in enumerate(plan.offtakes):
        yield f"offtakes[{index}].partner", offtake.partner, "country"
        yield f"offtakes[{index}].good", offtake.good, "good"
    for index, partnership in enumerate(plan.technology):
        yield f"technology[{index}].partner", partnership.partner, "country"
    for index, stockpile in enumerate(plan.stockpiles):
        yield f"stockpiles[{index}].good", stockpile.good, "good"
    for index, bloc in enumerate(plan.caps.blocs):
        yield f"caps.blocs[{index}]", bloc, "bloc"


def check_against_dataset(plan: Plan, dataset: Any, label: str) -> None:
    """Raise one PlanError listing every name of the plan that the dataset does not know."""
    goods = set(dataset["ore_composition"]["element"].astype(str)) | set(dataset["recipes"]["magnet_type"].astype(str))
    valid = {
        "country": set(dataset["countries"]["country"].astype(str)),
        "good": goods | set(FAMILIES),
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
    edges: dict[tuple[str, str], str] = {}
    for index, offtake in enumerate(plan.offtakes):
        edge = (offtake.partner, offtake.stage)
        if edge in edges:
            problems.append(f"offtakes[{index}]: {offtake.name!r} is a second offtake with {offtake.partner} at the "
                            f"{offtake.stage} stage (after {edges[edge]!r}); merge them into one offtake")
        edges[edge] = offtake.name
    if problems:
        raise PlanError(label, problems)


def load_plan(reference: str | Path, dataset: Any = None, **changes: Any) -> Plan:
    """A built-in name or YAML path as a validated Plan (with top-level `changes` deep-merged)."""
    document, label = FILES.read(reference)
    document = deep_merge(document, {key: value for key, value in changes.items() if value is not None})
    plan = validate_plan_document(document, label)
    if dataset is not None:
        check_against_dataset(plan, dataset, label)
    return plan


def override_plan(plan: Plan, changes: Mapping[str, Any]) -> Plan:
    """A new validated plan with `changes` deep-merged onto `plan`."""
    document = deep_merge(plan.model_dump(mode="json", by_alias=True), changes)
    return validate_plan_document(document, f"{plan.name} with overrides")
