"""Reading plan files: a built-in name or a YAML path, validated once, every problem named by its YAML path.

Names (importer, partners, blocs, elements) are checked against the dataset here, so that a typo is
reported before anything is built, with the closest valid name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from raremap.plan.spec import Plan
from raremap.specfiles import SpecificationError, SpecificationFiles, deep_merge, unknown_names


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


NAME_KEYS = {"importer": "country", "partner": "country", "element": "element", "elements": "element", "blocs": "bloc"}
"""Which keys of a plan name a country, an element or a bloc of the dataset."""


def known_names(dataset: Any) -> dict[str, set[str]]:
    return {
        "country": set(dataset["countries"]["country"].astype(str)),
        "element": set(dataset["ore_composition"]["element"].astype(str)) | {"NdFeB", "NdPr"},
        "bloc": set(dataset["blocs"]["bloc"].astype(str)),
    }


def _repeated_targets(plan: Plan) -> list[str]:
    problems = []
    targeted: dict[str, str] = {}
    for index, partnership in enumerate(plan.technology):
        for target in partnership.targets:
            if target in targeted:
                problems.append(
                    f"technology[{index}].targets: {target!r} is already targeted by {targeted[target]!r}; "
                    "one technology partnership per domestic build"
                )
            targeted[target] = partnership.name
    return problems


def check_against_dataset(plan: Plan, dataset: Any, label: str) -> None:
    """Raise one PlanError listing every name of the plan that the dataset does not know."""
    document = plan.model_dump(mode="json", by_alias=True)
    problems = unknown_names(document, NAME_KEYS, known_names(dataset)) + _repeated_targets(plan)
    if problems:
        raise PlanError(label, problems)


def load_plan(reference: str | Path, dataset: Any = None, **changes: Any) -> Plan:
    """A built-in name or YAML path as a validated Plan (with top-level `changes` deep-merged)."""
    document, label = FILES.read(reference)
    document = deep_merge(document, {key: value for key, value in changes.items() if value is not None})
    names = (lambda checked: unknown_names(checked, NAME_KEYS, known_names(dataset))) if dataset is not None else None
    plan = FILES.validate(Plan, document, label, PlanError, names)
    if dataset is not None:
        check_against_dataset(plan, dataset, label)
    return plan


def override_plan(plan: Plan, changes: Mapping[str, Any]) -> Plan:
    """A new validated plan with `changes` deep-merged onto `plan`."""
    document = deep_merge(plan.model_dump(mode="json", by_alias=True), changes)
    return validate_plan_document(document, f"{plan.name} with overrides")
