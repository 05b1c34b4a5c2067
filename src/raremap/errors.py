"""Errors that raremap reports to people: each says what is wrong, where, and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace


class RaremapError(Exception):
    """An error caused by input a person can fix; the CLI prints it as one red line."""


class NotCoveredError(RaremapError):
    """A valid name the data hold no figure for (an element or importer without rows): the API answers 404."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, the bad value, what is wrong and the fix."""

    file: str
    message: str
    fix: str
    row: int | None = None
    column: str | None = None
    value: object = None
    more_rows: tuple[int, ...] = ()

    def __str__(self) -> str:
        place = shortened(self.file)
        if self.row is not None and self.more_rows:
            shown = ", ".join(str(line) for line in (self.row, *self.more_rows[:4]))
            rest = len(self.more_rows) - 4
            place += f" lines {shown}" + (f" and {rest} more" if rest > 0 else "")
        elif self.row is not None:
            place += f" line {self.row}"
        if self.column is not None:
            place += f" column {shortened(self.column)}"
        value = "" if self.value is None else f" {shortened(repr(plain_value(self.value)), 80)}:"
        return f"{place}:{value} {self.message}; fix: {self.fix}"


def plain_value(value: object) -> object:
    """A numpy or pandas scalar as the Python value it holds, so messages say 2018, not np.int64(2018)."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


def shortened(text: str, characters: int = 60) -> str:
    """`text` cut to `characters`, saying how long it was: a pasted paragraph must not flood a message."""
    if len(text) <= characters:
        return text
    return f"{text[:characters]}... ({len(text):,} characters)"


def merge_repeated(problems: Iterable[Problem]) -> list[Problem]:
    """One problem per (file, column, value, message, fix), listing every row it occurs on."""
    merged: dict[tuple[str, str | None, str, str, str], Problem] = {}
    for problem in problems:
        key = (problem.file, problem.column, repr(problem.value), problem.message, problem.fix)
        first = merged.get(key)
        if first is None or first.row is None or problem.row is None:
            merged.setdefault(key, problem)
            continue
        merged[key] = replace(first, more_rows=(*first.more_rows, problem.row))
    return list(merged.values())


class ConsistencyError(RaremapError):
    """All the problems found in a dataset, collected and raised at once."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(merge_repeated(problems))
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the dataset:\n{lines}")
