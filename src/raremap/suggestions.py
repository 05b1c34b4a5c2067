"""The closest real name to a mistyped one, for every "did you mean ...?" raremap prints.

difflib alone ranks by shared characters, so `CNH` ties between CHN and PCN (Pitcairn) and the
alphabet decides. People mistype codes by swapping or changing one letter, so candidates that
difflib finds are re-ranked by edit distance with swaps counted as one edit, then by a shared
first letter and prefix. A name that differs only in case is the same name (`aus` is AUS).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable

LONGEST_NAME = 64
"""Longer text is not a mistyped name (a pasted paragraph, a garbage header): no suggestion."""
CUTOFF = 0.6


def edit_distance(first: str, second: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours needed to turn one into the other."""
    previous_previous: list[int] = []
    previous = list(range(len(second) + 1))
    for row, left in enumerate(first, start=1):
        current = [row] + [0] * len(second)
        for column, right in enumerate(second, start=1):
            cost = 0 if left == right else 1
            current[column] = min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + cost)
            if row > 1 and column > 1 and left == second[column - 2] and first[row - 2] == right:
                current[column] = min(current[column], previous_previous[column - 2] + 1)
        previous_previous, previous = previous, current
    return previous[-1]


def _shared_prefix(first: str, second: str) -> int:
    count = 0
    for left, right in zip(first, second, strict=False):
        if left != right:
            break
        count += 1
    return count


def ranked(value: str, candidates: Iterable[str], count: int = 3) -> list[str]:
    """Up to `count` candidates like `value`, most alike first; an exact match ignoring case alone."""
    options = [str(candidate) for candidate in candidates]
    folded = value.strip().casefold()
    if not folded or len(folded) > LONGEST_NAME or not options:
        return []
    same = [option for option in options if option.casefold() == folded]
    if same:
        return same[:1]
    by_fold: dict[str, list[str]] = {}
    for option in options:
        by_fold.setdefault(option.casefold(), []).append(option)
    near = difflib.get_close_matches(folded, list(by_fold), n=12, cutoff=CUTOFF - 0.1)

    def score(option: str) -> tuple[float, int, int, str]:
        longest = max(len(folded), len(option))
        similarity = 1 - edit_distance(folded, option) / longest
        similarity = max(similarity, difflib.SequenceMatcher(None, folded, option).ratio() - 0.01)
        return (-similarity, -int(option[:1] == folded[:1]), -_shared_prefix(folded, option), option)

    scored = sorted(near, key=score)
    chosen = [option for option in scored if -score(option)[0] >= CUTOFF]
    return [name for option in chosen for name in by_fold[option]][:count]


def closest(value: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `value`, if any is reasonably close."""
    matches = ranked(value, candidates, 1)
    return matches[0] if matches else None


PLURALS = {"country": "countries", "bloc": "blocs", "element": "elements", "sector": "sectors"}


def did_you_mean(value: str, known: Collection[str], kind: str) -> str:
    """The fix for an unknown name: the closest ones, or where to find the valid names."""
    names = ranked(value, known)
    if names:
        others = f" (or {', '.join(repr(name) for name in names[1:])})" if len(names) > 1 else ""
        return f"did you mean {names[0]!r}?{others}"
    plural = PLURALS.get(kind, f"{kind}s")
    listed = sorted(known)
    if kind == "country":
        return "use an ISO3 code listed in countries.csv (`raremap data show countries`)"
    shown = ", ".join(listed[:24]) + (", ..." if len(listed) > 24 else "")
    return f"use one of the {plural}: {shown}"
