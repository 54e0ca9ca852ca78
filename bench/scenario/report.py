"""Reports of scenario runs: named pass/fail checks, and the text table printed at the end."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any


class CheckedReport:
    """For a report dataclass: checks() lists (ok, why) pairs; a run passes when every check is ok."""

    def checks(self) -> list[tuple[bool, str]]:
        raise NotImplementedError

    def problems(self) -> list[str]:
        return [why for ok, why in self.checks() if not ok]

    @property
    def passed(self) -> bool:
        return not self.problems()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed, "problems": self.problems()}  # type: ignore[call-overload]


def table(title: str, rows: list[tuple[str, Any]]) -> list[str]:
    """The title, then one `name  value` line per row, the names padded to one width."""
    width = max((len(name) for name, _ in rows), default=0)
    return [title, *(f"  {name.ljust(width)}  {value}" for name, value in rows)]


def log_tails(exits: list[dict[str, Any]], *, what: str, limit: int = 3, lines: int = 12) -> list[str]:
    """Lines showing how processes exited (processes.exit_record) with the end of their logs."""
    out = []
    for ex in exits[:limit]:
        out.append(f"  {what} {ex['name']} exited with {ex['code']}:")
        out += [f"    | {line}" for line in ex["log_tail"][-lines:]]
    return out
