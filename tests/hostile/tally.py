"""What the hostile-input suite tried and what came of it, printed at the end of the run.

Every case is one of: refused with a clean error (one line naming the input, what is wrong and the
fix), accepted (valid input), a crash (anything else: a traceback, an internal error, a 5xx), or an
unexpected write (a refused input that still changed a file or the store). The last two must stay 0.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

OUTCOMES = ("clean error", "accepted", "crash", "unexpected write")


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    by_source: Counter[tuple[str, str]] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)

    def record(self, source: str, outcome: str, detail: str = "") -> None:
        assert outcome in OUTCOMES, outcome
        self.counts[outcome] += 1
        self.by_source[(source, outcome)] += 1
        if outcome in ("crash", "unexpected write"):
            self.crashes.append(f"{source}: {outcome}: {detail[:300]}")

    def lines(self) -> list[str]:
        total = sum(self.counts.values())
        lines = [
            f"hostile inputs: {total} cases tried, {self.counts['clean error']} clean errors, "
            f"{self.counts['accepted']} accepted, {self.counts['crash']} crashes, "
            f"{self.counts['unexpected write']} unexpected writes"
        ]
        for source in sorted({source for source, _ in self.by_source}):
            parts = ", ".join(f"{outcome} {self.by_source[(source, outcome)]}" for outcome in OUTCOMES
                              if self.by_source[(source, outcome)])
            lines.append(f"  {source}: {parts}")
        lines += [f"  ! {crash}" for crash in self.crashes[:20]]
        return lines


TALLY = Tally()
