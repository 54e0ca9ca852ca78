"""The platform's application package: its five queues (table.py, schemas.py, one processor module per
queue), their helpers (helpers.py), schedules (schedules.py), the demo (demo.py) and what `make run`
starts beside the engine (system.py). The engine loads it only by name (ENGINE_QUEUES and friends).

Each processor module exposes `run(**data) -> dict`, called by the worker with the job's data."""
