"""What the processors share: the job's engine and the domain-to-engine error mapping."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from engine import jobctx
from engine.app import Engine
from engine.errors import PermanentError

from domain.errors import DomainError, NotFound



def job_engine() -> Engine | None:
    """The engine running the current job; None outside a worker (the helpers then use the default)."""
    ctx = jobctx.current()
    return ctx.engine if ctx else None


@contextmanager
def permanent_domain_errors() -> Iterator[None]:
    """A missing row or an impossible transition will not fix itself: dead-letter at once."""
    try:
        yield
    except NotFound as exc:
        raise PermanentError(str(exc)) from exc
    except DomainError as exc:
        raise PermanentError(f"{type(exc).__name__}: {exc}") from exc


def parse_aware(field: str, value: str | datetime) -> datetime:
    """An ISO timestamp from job data; a malformed one can never succeed, so it is permanent."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise PermanentError(f"{field}: not an ISO datetime: {value!r}") from None
    if parsed.tzinfo is None:
        raise PermanentError(f"{field}: must be timezone-aware: {value!r}")
    return parsed
