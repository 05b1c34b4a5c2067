"""Scenarios the server can run: the built-in ones, by name, and those people saved through the API.

A client names a scenario; it never gives a path. Built-in names are looked up in the package's
list before anything is read, and saved scenarios live in the store as JSON documents, so no
string from a request ever reaches the filesystem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from raremap.errors import RaremapError
from raremap.scenario import Scenario, builtin_names, override, validate_document
from raremap.scenario.loading import merge_layer, resolve_document
from raremap.web.storage import Storage

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAXIMUM_DEPTH = 10


class ScenarioNotFoundError(RaremapError):
    """A scenario name that is neither built in nor saved."""


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise RaremapError(
            f"scenario name {name!r} is not allowed; use 1-64 lower-case letters, digits and dashes"
        )
    return name


@cache
def _builtin_names() -> tuple[str, ...]:
    return tuple(builtin_names())


@cache
def _builtin_document(name: str) -> str:
    """A built-in scenario with its bases merged in, as JSON: read from the package once per server."""
    document, _ = resolve_document(name)
    return json.dumps(document, default=str)


def builtin_document(name: str) -> dict[str, Any]:
    """A fresh copy of a built-in scenario's merged mapping (callers may change it)."""
    document: dict[str, Any] = json.loads(_builtin_document(name))
    return document


def resolved_document(name: str, storage: Storage, depth: int = 0) -> dict[str, Any]:
    """The scenario's mapping with its bases merged in (base first), from built-ins or saved documents."""
    if depth > MAXIMUM_DEPTH:
        raise RaremapError(f"scenario {name!r}: bases nest deeper than {MAXIMUM_DEPTH}; shorten the chain")
    if name in _builtin_names():
        return builtin_document(name)
    saved = storage.scenarios()
    if name not in saved:
        known = ", ".join([*builtin_names(), *saved])
        raise ScenarioNotFoundError(f"no scenario named {name!r}; scenarios are {known}")
    document = saved[name]
    base = document.get("base")
    if isinstance(base, str) and base != name:
        merged = merge_layer(resolved_document(base, storage, depth + 1), document)
        merged["base"] = base
        return merged
    return dict(document)


def scenario_named(name: str, storage: Storage, dataset: Any) -> Scenario:
    """A validated scenario, checked against the dataset's names."""
    return validate_document(resolved_document(name, storage), name, dataset)


def with_overrides(scenario: Scenario, changes: Mapping[str, Any] | None, dataset: Any) -> Scenario:
    """The scenario with a form's or client's changes deep-merged in, validated and checked again, in one pass."""
    if not changes:
        return scenario
    return override(scenario, changes, dataset)


def validate_new(document: Mapping[str, Any], storage: Storage, dataset: Any) -> Scenario:
    """Validate a document a client wants to save: its name, its base, its content and its names."""
    name = document.get("name")
    if not isinstance(name, str):
        raise RaremapError("a scenario needs a name (1-64 lower-case letters, digits and dashes)")
    check_name(name)
    if name in _builtin_names():
        raise RaremapError(f"{name!r} is a built-in scenario; choose another name and set base: {name}")
    base = document.get("base")
    merged = dict(document)
    if isinstance(base, str) and base != name:
        merged = merge_layer(resolved_document(base, storage), document)
        merged["base"] = base
    return validate_document(merged, name, dataset)


def listing(storage: Storage) -> list[dict[str, Any]]:
    """Name, origin and description of every scenario the server can run."""
    rows = []
    for name in _builtin_names():
        document = builtin_document(name)
        rows.append(
            {
                "name": name,
                "origin": "built-in",
                "description": " ".join(str(document.get("description", "")).split()),
            }
        )
    for name, document in storage.scenarios().items():
        rows.append(
            {
                "name": name,
                "origin": "saved",
                "description": " ".join(str(document.get("description", "")).split()),
            }
        )
    return rows
