"""Call-schedule targets for the alert tests: fails while FAIL is set."""
from __future__ import annotations

FAIL = {"on": True}


def flaky(now) -> None:
    if FAIL["on"]:
        raise RuntimeError(f"tick {now.isoformat()} failed on purpose")
