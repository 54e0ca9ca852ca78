"""`python -m domain seed`: write the demo data set once (its queue jobs: processors/demo.py)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .db import create_schema, drop_schema, engine_for, session_scope
from .demo_data import DemoSize, build_demo_data
from .models import Wholesaler
from .settings import DomainSettings


def is_seeded(session: Session) -> bool:
    """True when the database already holds marketplace data."""
    return bool(session.scalar(select(func.count()).select_from(Wholesaler)))


def seed(settings: DomainSettings, *, force: bool = False, now: datetime | None = None,
         size: DemoSize | None = None) -> dict[str, Any]:
    """Seed an empty database (or wipe and reseed with `force`); does nothing on a seeded one without `force`."""
    now = now or utcnow()
    db = engine_for(settings.database_url)
    with session_scope(db) as session:
        if is_seeded(session) and not force:
            return {"seeded": False, "reason": "database already seeded; use --force to wipe and reseed"}
    if force:
        drop_schema(db)
        create_schema(db)
    with session_scope(db) as session:
        summary = build_demo_data(session, now, size=size)
    return {"seeded": True, **asdict(summary)}
