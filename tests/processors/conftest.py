"""Fixtures for the processor tests live in tests/domain_fixtures.py (shared with tests/domain)."""
from tests.domain_fixtures import *  # noqa: F401,F403


import pytest  # noqa: E402


@pytest.fixture
def engine(processors_engine):
    """Processor tests run the platform's real processors."""
    return processors_engine
