"""Job queue engine on RQ: queue table, helpers, worker, dead letters, monitoring."""
from .app import Engine, default_engine, set_default_engine
from .errors import (ConflictError, EngineError, NotFoundError, PermanentError, ProviderBackPressure,
                     ServerFullError, ServerUnavailableError, UnknownQueueError, ValidationError)
from .queues import QUEUE_NAMES, QueuePolicy, QueueTable
from .settings import Settings

__all__ = ["Engine", "default_engine", "set_default_engine", "ConflictError", "EngineError", "NotFoundError",
           "PermanentError", "ProviderBackPressure", "ServerFullError", "ServerUnavailableError", "UnknownQueueError",
           "ValidationError", "QUEUE_NAMES", "QueuePolicy", "QueueTable", "Settings"]
