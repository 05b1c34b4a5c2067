"""Specification files (scenarios, risk files, plans): YAML read once through the guarded reader,
validated by pydantic, and every problem reported by its YAML path (``export_controls[2].elements[0]``),
bad value and fix, all in one pass.

The three kinds of file share this reading and reporting so that a person meets the same messages
whichever file they wrote, and so that the command line and the web server (which validates the
same documents from request bodies) apply the same rules: the same limits, finite numbers only,
country codes in any case (``ind`` is read as ``IND``), names checked against the dataset with the
closest real name suggested.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from raremap.errors import RaremapError
from raremap.reading_guard import (
    SPECIFICATION_LIMITS,
    document_problems,
    read_yaml_file,
    shortened,
    yaml_path,
)
from raremap.suggestions import closest, did_you_mean

SpecificationModel = TypeVar("SpecificationModel", bound=BaseModel)

COUNTRY_KEYS = frozenset(
    {"importer", "exporter", "country", "holder", "partner", "counterpart", "destinations",
     "except_destinations", "exporters", "countries"}
)
"""Keys whose values are ISO3 country codes (or lists of them) in every specification file.

Country codes are read case-insensitively everywhere (files, command-line options, the API):
their values are upper-cased before anything else looks at them."""
EVERYTHING = "all"

__all__ = ["SpecificationError", "SpecificationFiles", "deep_merge", "published_schema", "yaml_path"]


class SpecificationError(RaremapError):
    """Every problem of one specification file, each with its YAML path, the bad value and the fix."""

    kind = "specification"

    def __init__(self, source: str, problems: Sequence[str]):
        self.problems = tuple(problems)
        count = len(self.problems)
        listed = "; ".join(self.problems)
        super().__init__(f"{self.kind} {source}: {count} problem{'s' if count != 1 else ''}: {listed}")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` onto `base`: mappings merge key by key; lists and plain values replace."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def upper_case_codes(document: Any) -> Any:
    """A copy of `document` whose country codes are upper case (`ind` -> `IND`; `all` stays `all`)."""

    def code(value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() != EVERYTHING:
            return value.strip().upper()
        return value

    if isinstance(document, Mapping):
        result = {}
        for key, value in document.items():
            if key in COUNTRY_KEYS and isinstance(value, list | tuple):
                result[key] = [code(item) for item in value]
            elif key in COUNTRY_KEYS:
                result[key] = code(value)
            else:
                result[key] = upper_case_codes(value)
        return result
    if isinstance(document, list | tuple):
        return [upper_case_codes(item) for item in document]
    return document


def _named_values(document: Any, keys: Mapping[str, str]) -> Iterator[tuple[str, str, str]]:
    """Every (YAML path, value, kind) where a key of `keys` holds a name (or a list of names)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while stack:
        location, value = stack.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                kind = keys.get(str(key))
                if kind is not None and isinstance(item, str):
                    yield yaml_path((*location, str(key))), item, kind
                elif kind is not None and isinstance(item, list | tuple):
                    for position, entry in enumerate(item):
                        if isinstance(entry, str):
                            yield yaml_path((*location, str(key), position)), entry, kind
                else:
                    stack.append(((*location, str(key)), item))
        elif isinstance(value, list | tuple):
            stack.extend(((*location, index), item) for index, item in enumerate(value))


def unknown_names(
    document: Any, keys: Mapping[str, str], valid: Mapping[str, Collection[str]]
) -> list[str]:
    """'path = value: unknown country; did you mean ...' for every name the dataset does not know.

    `keys` maps a key (``exporter``) to the kind of name it holds (``country``); `valid` maps each
    kind to the names the dataset knows. Works on the raw document, so unknown names are reported
    together with the model's own problems, in one pass.
    """
    problems = []
    for path, value, kind in sorted(_named_values(document, keys)):
        known = valid[kind]
        if value in known:
            continue
        problems.append(f"{path} = {shortened(value)!r}: unknown {kind}; {did_you_mean(value, known, kind)}")
    return problems


def as_json(document: Mapping[str, Any]) -> str:
    """The document as JSON, validated in pydantic's strict JSON mode.

    Strict JSON mode is what the published JSON Schema says: `0` is not `false` and `"1.5"` is
    not a number, while dates may be written as text and lists stand for tuples. Python's lax mode
    would quietly turn such values into others. Dates that YAML parsed become ISO text again.
    """
    return json.dumps(document, default=_json_default)


def _json_default(value: Any) -> Any:
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    return str(value)


def describe(item: Mapping[str, Any], schema_reference: str) -> str:
    """One pydantic error as 'path = value: what is wrong; fix'."""
    where = yaml_path(item["loc"])
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "extra_forbidden":
        return f"{where}: unknown key; remove it or check its spelling against {schema_reference}"
    if item["type"] == "missing":
        return f"{where}: required; add it"
    value = shortened(json.dumps(item.get("input"), default=str), 80)
    if item["type"] in ("finite_number",):
        return f"{where} = {value}: not a finite number; give a number"
    if item["type"].startswith("date") or item["type"].startswith("datetime"):
        return f"{where} = {value}: {message}; write a real date as YYYY, YYYY-MM or YYYY-MM-DD"
    if item["type"] == "string_too_long":
        return f"{where} = {value}: {message}; shorten it"
    if "; " in message:  # the model's own message already says how to fix it
        return f"{where} = {value}: {message}"
    return f"{where} = {value}: {message}; fix the value"


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

    def path_of(self, reference: str | Path) -> Path:
        """The file of a built-in name or a path; one clear line when it is neither."""
        path = Path(reference)
        if not path.suffix and str(reference) in self.names():
            return self.directory() / f"{reference}.yaml"
        if path.is_file():
            return path
        if path.is_dir():
            raise RaremapError(f"{self.kind} {path} is a directory; give a YAML file or a built-in name")
        suggestion = closest(str(reference), self.names())
        hint = f"did you mean {suggestion}?" if suggestion else f"built-ins are {', '.join(self.names())}"
        raise RaremapError(
            f"{self.kind} {shortened(str(reference))!r} is neither a file nor a built-in {self.kind}; {hint}"
        )

    def read(self, reference: str | Path) -> tuple[dict[str, Any], str]:
        """The YAML mapping of a built-in name or a file path (named after the file unless it says), and a label."""
        path = self.path_of(reference)
        document = read_yaml_file(path, f"{self.kind} file")
        if not isinstance(document, dict):
            raise RaremapError(f"{self.kind} {path}: the file must hold a mapping ({self.example_keys})")
        document = upper_case_codes(document)
        document.setdefault("name", path.stem)
        return document, str(path)

    def describe(self, item: Mapping[str, Any]) -> str:
        """One pydantic error as 'path = value: what is wrong; fix'."""
        return describe(item, self.schema_reference)

    def problems(
        self, model: type[SpecificationModel], document: Mapping[str, Any]
    ) -> tuple[SpecificationModel | None, list[str]]:
        """The validated model (None if invalid) and every problem of the document itself."""
        problems = document_problems(document, SPECIFICATION_LIMITS)
        try:
            return model.model_validate_json(as_json(document), strict=True), problems
        except ValidationError as errors:
            reported = {problem.split(" = ", 1)[0] for problem in problems}
            return None, problems + [
                self.describe(item)
                for item in errors.errors()
                if yaml_path(item["loc"]) not in reported  # the value itself is already refused
            ]

    def validate(
        self,
        model: type[SpecificationModel],
        document: Mapping[str, Any],
        label: str,
        error: type[SpecificationError],
        checks: Callable[[Mapping[str, Any]], list[str]] | None = None,
    ) -> SpecificationModel:
        """The validated model, or `error` listing every problem by its YAML path.

        `checks` (names against the dataset, dates against the horizon) run on the raw document,
        so their problems are listed with the model's own in the same error.
        """
        document = upper_case_codes(dict(document))
        validated, problems = self.problems(model, document)
        if checks is not None:
            problems += checks(document)
        if problems or validated is None:
            raise error(label, problems)
        return validated


def published_schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    """The JSON Schema of a specification model, as published in docs/."""
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema
