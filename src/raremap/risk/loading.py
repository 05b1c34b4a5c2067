"""Reading risk files: a built-in name or a YAML path, validated once, every problem named by its YAML path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from raremap.data.schema import vocabularies
from raremap.errors import RaremapError
from raremap.risk.spec import ALL, RiskModel
from raremap.specfiles import SpecificationError, SpecificationFiles, published_schema, unknown_names


class RiskFileError(SpecificationError):
    """Every problem of one risk file, each with its YAML path, the bad value and the fix."""

    kind = "risk file"


FILES = SpecificationFiles(
    package="raremap.risk",
    kind="risk file",
    example_keys="name: ..., base: ..., draws: ...",
    schema_reference="docs/risk-schema.json",
)


def builtin_directory() -> Path:
    """The folder of the built-in risk files shipped inside the package."""
    return FILES.directory()


def builtin_names() -> list[str]:
    return FILES.names()


NAME_KEYS = {
    "importer": "country",
    "country": "country",
    "countries": "country",
    "exporter": "country",
    "destinations": "country",
    "elements": "element",
    "blocs": "bloc",
}
"""Which keys of a risk file name a country, an element or a bloc of the dataset."""


def known_names(dataset: Any) -> dict[str, set[str]]:
    return {
        "country": {*dataset["countries"]["country"].astype(str), ALL},
        "element": {*vocabularies()["element"], ALL},
        "bloc": set(dataset["blocs"]["bloc"].astype(str)),
    }


def validate_risk_document(document: Mapping[str, Any], label: str = "(in memory)", dataset: Any = None) -> RiskModel:
    """A RiskModel from a mapping; all validation problems (and, given a dataset, unknown names) raised together."""
    checks = None if dataset is None else (lambda checked: unknown_names(checked, NAME_KEYS, known_names(dataset)))
    return FILES.validate(RiskModel, document, label, RiskFileError, checks)


def load_risk_model(reference: str | Path, dataset: Any = None, **changes: Any) -> tuple[RiskModel, str]:
    """A built-in name or YAML path as a validated RiskModel (with top-level `changes` such as draws, seed).

    Given the `dataset`, names it does not know are reported with the file's other problems. A bad
    change (``--draws 0``) is reported as given with the command, never blamed on the file.
    """
    document, label = FILES.read(reference)
    given = {key: value for key, value in changes.items() if value is not None}
    document.update(given)
    try:
        return validate_risk_document(document, label, dataset), label
    except RiskFileError as error:
        raise _blame_changes(error, label, set(given)) from None


def _blame_changes(error: RiskFileError, label: str, changed: set[str]) -> RaremapError:
    """The error with problems of the given changes marked as such (a plain error if the file has none)."""
    def from_changes(problem: str) -> bool:
        return problem.split("=", 1)[0].split(":", 1)[0].strip() in changed

    of_changes = [f"{problem} (given with the command, not in the file)" for problem in error.problems if from_changes(problem)]
    of_file = [problem for problem in error.problems if not from_changes(problem)]
    if of_file:
        return RiskFileError(label, of_file + of_changes)
    return RaremapError("; ".join(of_changes))


def risk_json_schema() -> dict[str, Any]:
    """The JSON Schema of risk files, as published in docs/risk-schema.json."""
    return published_schema(RiskModel, "raremap risk file")
