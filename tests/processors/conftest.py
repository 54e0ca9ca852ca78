"""Fixtures for the processor tests live in tests/domain_fixtures.py (shared with tests/domain)."""
from tests.domain_fixtures import *  # noqa: F401,F403
