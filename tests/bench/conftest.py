"""Markers for the chaos scenarios (registered here so that pytest does not warn about them)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a scenario of about 30-60 s; deselect with -m 'not slow'")
