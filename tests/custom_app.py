"""A small application no project code names: one queue ("restock"), its schema, its processor and a
schedule, written as a module into a test's temp folder (see tests/engine/test_custom_table.py)."""
from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

APP = '''
from pydantic import BaseModel, ConfigDict, Field

from engine.queues import QueuePolicy
from engine.schedules import Schedule


class Restock(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Restock a shelf")

    sku: str = Field(pattern=r"^[A-Z]{3}-[0-9]{3}$", description="stock keeping unit, e.g. ABC-123")
    quantity: int = Field(ge=1, le=1000, description="units to order")


def restock(sku: str, quantity: int) -> dict:
    return {"ordered": f"{quantity} x {sku}"}


QUEUES = (QueuePolicy("restock", "MODULE.restock", 1, 0, "fixed", 1.0, 600, timeout_s=10, schema=Restock),)
SCHEDULES = (Schedule("nightly-restock", "0 3 * * *", "job", "restock", lambda tick: {"sku": "NGT-001", "quantity": 5}),)

SIDECAR = "import os, signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); " \\
          "print('sidecar mode=' + os.environ['STOCK_MODE'], flush=True); time.sleep(120)"


def compose(eng, settings):
    """What `python -m engine run` starts beside the workers and the scheduler (ENGINE_SYSTEM)."""
    import sys

    from engine.runner import System
    from engine.supervisor import Child

    return System(children=[Child("sidecar", [sys.executable, "-c", SIDECAR])], env={"STOCK_MODE": "test"},
                  banner=[f"Stockroom: {len(eng.table.names)} queue(s)"])
'''


def write_app(folder: Path) -> str:
    """Write the module into `folder` under a fresh name; returns the module name."""
    module = f"stockroom_{uuid.uuid4().hex[:8]}"
    (folder / f"{module}.py").write_text(textwrap.dedent(APP).replace("MODULE", module))
    return module
