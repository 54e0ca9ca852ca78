"""The registry of approved WhatsApp message templates (a JSON file named by WHATSAPP_TEMPLATES).

Each entry is {"name", "language", "params" (how many body parameters), "example"} and optionally
"fallback_for_free_text": true on the one template free text is wrapped in outside the 24-hour window."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("templates.json")
MAX_PARAM_CHARS = 1024  # body text parameters are limited in length


class RegistryError(ValueError):
    """The registry file is unreadable or an entry is malformed."""


@dataclass(frozen=True)
class Template:
    """One approved template: its name, language code, number of body parameters and an example text."""

    name: str
    language: str
    params: int
    example: str = ""
    fallback_for_free_text: bool = False

    def render(self, values: list[str]) -> str:
        """The example with {{1}}..{{n}} replaced: what the recipient reads (for logs and the message record)."""
        text = self.example
        for i, value in enumerate(values, start=1):
            text = text.replace(f"{{{{{i}}}}}", value)
        return text


@dataclass(frozen=True)
class Registry:
    """The templates by name, and the free-text fallback if one is marked."""

    templates: dict[str, Template]
    path: str

    def get(self, name: str) -> Template | None:
        return self.templates.get(name)

    @property
    def fallback(self) -> Template | None:
        return next((t for t in self.templates.values() if t.fallback_for_free_text), None)

    def check(self, name: str, language: str | None, params: list[str]) -> Template:
        """The template a reference names; TemplateRefError (field, message) when it cannot be sent."""
        template = self.get(name)
        if template is None:
            raise TemplateRefError("name", f"unknown template {name!r}; known: {', '.join(sorted(self.templates))}")
        if language is not None and language != template.language:
            raise TemplateRefError("language", f"template {name!r} is approved in {template.language!r}, not {language!r}")
        if len(params) != template.params:
            raise TemplateRefError("params", f"template {name!r} takes {template.params} parameter(s), got {len(params)}")
        return template


class TemplateRefError(ValueError):
    """A template reference the registry refuses; `field` is name, language or params."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def parse(entries: object, path: str) -> Registry:
    """Validate the file's list of entries into a Registry; RegistryError names the bad entry."""
    if not isinstance(entries, list):
        raise RegistryError(f"{path}: must hold a JSON list of templates")
    templates: dict[str, Template] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise RegistryError(f"{path}: entry {i} needs a non-empty \"name\"")
        params = entry.get("params", 0)
        if not isinstance(params, int) or isinstance(params, bool) or params < 0:
            raise RegistryError(f"{path}: template {entry['name']!r}: \"params\" must be a count >= 0")
        templates[entry["name"]] = Template(entry["name"], str(entry.get("language", "en")), params,
                                            str(entry.get("example", "")), bool(entry.get("fallback_for_free_text")))
    if sum(t.fallback_for_free_text for t in templates.values()) > 1:
        raise RegistryError(f"{path}: at most one template may be fallback_for_free_text")
    fallback = next((t for t in templates.values() if t.fallback_for_free_text), None)
    if fallback is not None and fallback.params != 1:
        raise RegistryError(f"{path}: the free-text fallback {fallback.name!r} must take exactly 1 parameter")
    return Registry(templates, path)


@lru_cache(maxsize=8)
def load(path: str | None = None) -> Registry:
    """The registry in `path` (None: the platform's own file), read once per process."""
    path = path or str(DEFAULT_PATH)
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"WHATSAPP_TEMPLATES {path}: {exc}") from exc
    return parse(entries, path)
