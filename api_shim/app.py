"""The app factory: routers, auth, error shape, body limit. Tests pass their own engine and keys.

Everything queue-specific (the add-job operations, the queue-name enums) comes from the engine's table
when the app is created, so one factory serves any table (ENGINE_QUEUES)."""
from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.routing import APIRoute

from engine.app import Engine
from engine.settings import Settings

from .middleware import BodyLimitMiddleware, BudgetMiddleware
from .errors import install_error_handlers
from .openapi import install_openapi
from .routers import (alerts, audit, dead_letters, failed, failure_groups, health, history, jobs, metrics, queues,
                      search, whatsapp_webhook)
from .settings import ApiKey, ApiSettings, Keyring, build_keyring

log = logging.getLogger("api_shim")

DESCRIPTION = """\
REST API of the job queue engine. Every `/api/v1/queue/...` route needs an API key
(`X-API-Key: <key>` or `Authorization: Bearer <key>`); mutating routes need a `write` key and are
recorded in the audit log under the key's name. `/healthz` and `/metrics` are open.
Errors share one shape: `{"error": {"code", "message", "field"}}`.
"""


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_app(engine: Engine | None = None, api_keys: str | Sequence[ApiKey] | Keyring | None = None, *,
               max_body_bytes: int | None = None, request_budget_s: float | None = None) -> FastAPI:
    """Build the API. `engine` defaults to one built from the environment (Settings()); `api_keys`
    ("name:role:key,..." or ApiKey objects) defaults to API_KEYS from the environment."""
    api_settings = ApiSettings()
    keyring = build_keyring(api_keys if api_keys is not None else api_settings.keyring())
    limit = max_body_bytes if max_body_bytes is not None else api_settings.api_max_body_bytes
    budget_s = request_budget_s if request_budget_s is not None else api_settings.api_request_budget_s
    if engine is None:
        engine = Engine.from_settings(Settings(), check=False)

    app = FastAPI(title="Job queue API", version="1.0.0", description=DESCRIPTION, redirect_slashes=False,
                  generate_unique_id_function=_operation_id)
    app.state.engine = engine
    app.state.keyring = keyring
    install_error_handlers(app)
    app.state.domain_settings = None  # the WhatsApp webhook's settings; None: from the environment
    for module in (metrics, history, jobs, failed, dead_letters, queues, failure_groups, audit, alerts, search,
                   health):
        if module is jobs:
            app.include_router(jobs.add_job_router(engine.table))
        app.include_router(module.router)
    if whatsapp_webhook.QUEUE in engine.table.names:  # the platform's table; another application has no WhatsApp
        app.include_router(whatsapp_webhook.router)
    install_openapi(app, engine.table.names)
    app.add_middleware(BodyLimitMiddleware, max_bytes=limit)
    app.add_middleware(BudgetMiddleware, budget_s=budget_s)  # outermost: the budget starts on arrival
    return app
