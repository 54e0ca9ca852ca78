"""A job function whose error message carries its (attacker-controlled) data."""
from engine.errors import PermanentError


def fail(note: str = "", **data):
    raise PermanentError(f"could not deliver: {note}")
