"""Reading risk files: a built-in name or a YAML path, validated once, every problem named by its YAML path."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from raremap.data.reading import closest
from raremap.errors import RaremapError
from raremap.risk.spec import RiskModel
from raremap.scenario.loading import yaml_path


class RiskFileError(RaremapError):
    """Every problem of one risk file, each with its YAML path, the bad value and the fix."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.problems = tuple(problems)
        count = len(self.problems)
        super().__init__(f"risk file {source}: {count} problem{'s' if count != 1 else ''}: {'; '.join(self.problems)}")


def builtin_directory() -> Path:
    """The folder of the built-in risk files shipped inside the package."""
    return Path(str(resources.files("raremap.risk").joinpath("builtin")))


def builtin_names() -> list[str]:
    return sorted(path.stem for path in builtin_directory().glob("*.yaml"))


def _read_document(reference: str | Path) -> tuple[dict[str, Any], str]:
    path = Path(reference)
    if not path.suffix and str(reference) in builtin_names():
        path = builtin_directory() / f"{reference}.yaml"
    elif not path.is_file():
        suggestion = closest(str(reference), builtin_names())
        hint = f"did you mean {suggestion}?" if suggestion else f"built-ins are {', '.join(builtin_names())}"
        raise RaremapError(f"risk file {reference!r} is neither a file nor a built-in risk file; {hint}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RaremapError(f"risk file {path}: not valid YAML ({error}); fix the syntax at the marked line") from error
    if not isinstance(document, dict):
        raise RaremapError(f"risk file {path}: the file must hold a mapping (name: ..., base: ..., draws: ...)")
    document.setdefault("name", path.stem)
    return document, str(path)


def _describe(item: Mapping[str, Any]) -> str:
    where = yaml_path(item["loc"])
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "extra_forbidden":
        return f"{where}: unknown key; remove it or check its spelling against docs/risk-schema.json"
    if item["type"] == "missing":
        return f"{where}: required; add it"
    value = json.dumps(item.get("input"), default=str)
    return f"{where} = {value}: {message}; fix the value"


def validate_risk_document(document: Mapping[str, Any], label: str = "(in memory)") -> RiskModel:
    """A RiskModel from a mapping; all validation problems raised together, by YAML path."""
    try:
        return RiskModel.model_validate(dict(document))
    except ValidationError as error:
        raise RiskFileError(label, [_describe(item) for item in error.errors()]) from None


def load_risk_model(reference: str | Path, **changes: Any) -> tuple[RiskModel, str]:
    """A built-in name or YAML path as a validated RiskModel (with top-level `changes` such as draws, seed)."""
    document, label = _read_document(reference)
    document.update({key: value for key, value in changes.items() if value is not None})
    return validate_risk_document(document, label), label


def risk_json_schema() -> dict[str, Any]:
    """The JSON Schema of risk files, as published in docs/risk-schema.json."""
    schema = RiskModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "raremap risk file"
    return schema
