"""The app's OpenAPI document with its queue table filled in: every queue-name schema becomes an enum."""
from __future__ import annotations

from typing import Any, Sequence

from fastapi import FastAPI

from .models import QUEUE_NAME_MARK


def fill_queue_names(node: Any, names: Sequence[str]) -> None:
    """Replace each {QUEUE_NAME_MARK: true} schema (models.QueueName, the queueName path parameter) in place."""
    if isinstance(node, dict):
        if node.pop(QUEUE_NAME_MARK, False):
            node["enum"] = list(names)
        for value in node.values():
            fill_queue_names(value, names)
    elif isinstance(node, list):
        for value in node:
            fill_queue_names(value, names)


def install_openapi(app: FastAPI, names: Sequence[str]) -> None:
    """Serve FastAPI's document (generated once, cached by FastAPI) with the app's queue names filled in."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        fill_queue_names(schema, names)  # a filled document holds no mark: cheap and idempotent
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
