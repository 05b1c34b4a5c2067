"""Specification files (scenarios, risk files, plans): YAML read once, validated by pydantic, and
every problem reported by its YAML path (``export_controls[2].elements[0]``), bad value and fix.

The three kinds of file share this reading and reporting so that a person meets the same messages
whichever file they wrote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from raremap.data.reading import closest
from raremap.errors import RaremapError

SpecificationModel = TypeVar("SpecificationModel", bound=BaseModel)


class SpecificationError(RaremapError):
    """Every problem of one specification file, each with its YAML path, the bad value and the fix."""

    kind = "specification"

    def __init__(self, source: str, problems: Sequence[str]):
        self.problems = tuple(problems)
        count = len(self.problems)
        listed = "; ".join(self.problems)
        super().__init__(f"{self.kind} {source}: {count} problem{'s' if count != 1 else ''}: {listed}")


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


@dataclass(frozen=True)
class SpecificationFiles:
    """Where one kind of specification file lives in the package, and how to name it in messages."""

    package: str  # e.g. "raremap.scenario"; built-ins are YAML files in its `builtin` folder
    kind: str  # "scenario", "risk file", "plan"
    example_keys: str  # shown when a file does not hold a mapping
    schema_reference: str  # where a person checks key spellings

    def directory(self) -> Path:
        return Path(str(resources.files(self.package).joinpath("builtin")))

    def names(self) -> list[str]:
        return sorted(path.stem for path in self.directory().glob("*.yaml"))

    def read(self, reference: str | Path) -> tuple[dict[str, Any], str]:
        """The YAML mapping of a built-in name or a file path (named after the file unless it says), and a label."""
        path = Path(reference)
        if not path.suffix and str(reference) in self.names():
            path = self.directory() / f"{reference}.yaml"
        elif not path.is_file():
            suggestion = closest(str(reference), self.names())
            hint = f"did you mean {suggestion}?" if suggestion else f"built-ins are {', '.join(self.names())}"
            raise RaremapError(
                f"{self.kind} {str(reference)!r} is neither a file nor a built-in {self.kind}; {hint}"
            )
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise RaremapError(
                f"{self.kind} {path}: not valid YAML ({error}); fix the syntax at the marked line"
            ) from error
        if not isinstance(document, dict):
            raise RaremapError(f"{self.kind} {path}: the file must hold a mapping ({self.example_keys})")
        document.setdefault("name", path.stem)
        return document, str(path)

    def describe(self, item: Mapping[str, Any]) -> str:
        """One pydantic error as 'path = value: what is wrong; fix'."""
        where = yaml_path(item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            return f"{where}: unknown key; remove it or check its spelling against {self.schema_reference}"
        if item["type"] == "missing":
            return f"{where}: required; add it"
        value = json.dumps(item.get("input"), default=str)
        return f"{where} = {value}: {message}; fix the value"

    def validate(
        self,
        model: type[SpecificationModel],
        document: Mapping[str, Any],
        label: str,
        error: type[SpecificationError],
    ) -> SpecificationModel:
        """The validated model, or `error` listing every problem by its YAML path."""
        try:
            return model.model_validate(dict(document))
        except ValidationError as problems:
            raise error(label, [self.describe(item) for item in problems.errors()]) from None


def published_schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    """The JSON Schema of a specification model, as published in docs/."""
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema
