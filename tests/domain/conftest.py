"""Fixtures for the domain tests live in tests/domain_fixtures.py (shared with tests/processors)."""
from tests.domain_fixtures import *  # noqa: F401,F403
