"""The REST API (FastAPI) over the engine: `create_app()`, served by `python -m api_shim`."""
from .app import create_app

__all__ = ["create_app"]
