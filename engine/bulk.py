"""Bulk actions on a whole filtered set (a search or a dead-letter filter): cancel, retry, delete.

One action handles at most BULK_CAP jobs; a larger set is refused before anything changes, so an
operator narrows the filter instead of half-applying an action. Jobs that moved on meanwhile (another
operator, a worker) are skipped and not counted.
"""
from __future__ import annotations

from typing import Any, Callable

from . import cancel, dead_letters, job_ops
from .app import Engine, resolve
from .errors import ConflictError, NotFoundError, ValidationError
from .search import SearchFilter, iter_matches

BULK_CAP = 10_000
ACTIONS = ("cancel", "retry", "delete")
_APPLIES_TO = {"cancel": ("waiting", "scheduled", "active"), "retry": ("dead_lettered",),
               "delete": ("waiting", "scheduled", "finished", "failed", "dead_lettered", "cancelled")}


def _check_cap(n: int, cap: int) -> None:
    if n > cap:
        raise ConflictError(f"the filter matches more than {cap:,} jobs; one bulk action handles at most {cap:,}: "
                            "narrow the filter (queue, state, a key) and run it again")


def search_targets(flt: SearchFilter, action: str, *, cap: int = BULK_CAP,
                   engine: Engine | None = None) -> list[tuple[str, str]]:
    """(queue, job id) of every job the search matches that `action` applies to; ConflictError above `cap`."""
    if action not in ACTIONS:
        raise ValidationError("action", f"must be one of {', '.join(ACTIONS)}")
    targets = []
    for _pos, item in iter_matches(flt, engine=engine):
        if item["state"] in _APPLIES_TO[action]:
            targets.append((item["queue"], item["id"]))
            _check_cap(len(targets), cap)
    return targets


def count_search(flt: SearchFilter, action: str, *, cap: int = BULK_CAP, engine: Engine | None = None) -> int:
    """How many jobs `action` would touch (counting stops at cap + 1), to show before the user confirms."""
    if action not in ACTIONS:
        raise ValidationError("action", f"must be one of {', '.join(ACTIONS)}")
    n = 0
    for _pos, item in iter_matches(flt, engine=engine):
        if item["state"] in _APPLIES_TO[action]:
            n += 1
            if n > cap:
                break
    return n


def _apply(targets: list[Any], one: Callable[[Any], Any]) -> int:
    done = 0
    for target in targets:
        try:
            done += 1 if one(target) is not False else 0
        except (NotFoundError, ConflictError):
            continue
    return done


def bulk_search(action: str, flt: SearchFilter, *, cap: int = BULK_CAP, engine: Engine | None = None) -> int:
    """Apply `action` to the whole matching set; returns how many jobs it changed."""
    eng = resolve(engine)
    targets = search_targets(flt, action, cap=cap, engine=eng)
    if action == "cancel":
        return _apply(targets, lambda t: cancel.cancel_job(t[0], t[1], engine=eng))
    if action == "retry":
        return _apply(targets, lambda t: dead_letters.retry(t[1], engine=eng))
    return _apply(targets, lambda t: job_ops.remove_job(t[0], t[1], engine=eng) or True)


def bulk_dead_letters(action: str, flt: dead_letters.Filter | None = None, *, ids: list[str] | None = None,
                      cap: int = BULK_CAP, engine: Engine | None = None) -> int:
    """Retry or delete every dead-letter entry matching the filter (or the given ids), at most `cap`."""
    eng = resolve(engine)
    if action not in ("retry", "delete"):
        raise ValidationError("action", "must be retry or delete")
    targets = ids if ids is not None else dead_letters.matching_ids(flt or dead_letters.Filter(), engine=eng)
    _check_cap(len(targets), cap)
    one = dead_letters.retry if action == "retry" else dead_letters.delete
    return _apply(targets, lambda entry_id: one(entry_id, engine=eng))
