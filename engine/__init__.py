"""Job queue engine on RQ: queue table machinery, worker, dead letters, monitoring. It knows no business:
the application gives it a table of QueuePolicy rows (ENGINE_QUEUES)."""
from .app import Engine, default_engine, set_default_engine
from .errors import (ConflictError, EngineError, NotFoundError, PermanentError, ProviderBackPressure,
                     ServerFullError, ServerUnavailableError, UnknownQueueError, ValidationError)
from .queues import QueuePolicy, QueueTable, SlaTarget
from .settings import Settings

__all__ = ["Engine", "default_engine", "set_default_engine", "ConflictError", "EngineError", "NotFoundError",
           "PermanentError", "ProviderBackPressure", "ServerFullError", "ServerUnavailableError", "UnknownQueueError",
           "ValidationError", "QueuePolicy", "QueueTable", "SlaTarget", "Settings"]
