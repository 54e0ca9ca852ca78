"""One module per queue; each exposes `run(**data) -> dict`, called by the worker with the job's data."""
