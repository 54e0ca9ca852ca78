from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.settings import DomainSettings, get_settings, resolve_settings

ENV_VARS = ["DATABASE_URL", "SCHEDULER_TZ", "WHATSAPP_PROVIDER", "WHATSAPP_TOKEN", "RECONCILIATION_ALERT_THRESHOLD",
            "VENDOR_CONFIRM_TIMEOUT_S", "SUPPORT_PHONE", "REPORTS_DIR", "WHATSAPP_TIMEOUT_S"]


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_defaults_match_the_documented_values(clean_env):
    s = DomainSettings()
    assert s.database_url == "sqlite:///var/domain.sqlite3"
    assert s.whatsapp_provider == "sandbox"
    assert s.whatsapp_api_base_url == "https://graph.facebook.com/v21.0"
    assert s.whatsapp_timeout_s == 10
    assert s.support_phone == "+9779800000001"
    assert s.reconciliation_alert_threshold == Decimal("100")
    assert s.scheduler_tz == "UTC"
    assert s.reports_dir == Path("var/reports")
    assert s.vendor_confirm_timeout_s == 900


def test_environment_variables_are_read(clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql+psycopg://u@db/x")
    clean_env.setenv("SCHEDULER_TZ", "Asia/Kathmandu")
    clean_env.setenv("WHATSAPP_PROVIDER", "cloud")
    clean_env.setenv("RECONCILIATION_ALERT_THRESHOLD", "250.50")
    s = DomainSettings()
    assert s.database_url == "postgresql+psycopg://u@db/x"
    assert (s.scheduler_tz, s.whatsapp_provider) == ("Asia/Kathmandu", "cloud")
    assert s.reconciliation_alert_threshold == Decimal("250.50")


def test_get_settings_reads_the_environment_once_per_process(clean_env):
    clean_env.setenv("SCHEDULER_TZ", "Asia/Kathmandu")
    first = get_settings()
    clean_env.setenv("SCHEDULER_TZ", "UTC")
    assert get_settings() is first
    assert get_settings().scheduler_tz == "Asia/Kathmandu"


def test_explicit_settings_win_over_the_cached_default(clean_env):
    explicit = DomainSettings(scheduler_tz="Europe/London")
    assert resolve_settings(explicit) is explicit
    assert resolve_settings(None) is get_settings()


@pytest.mark.parametrize("field,value", [("scheduler_tz", "Mars/Olympus"), ("support_phone", "9800000001"),
                                         ("whatsapp_provider", "pigeon"), ("whatsapp_timeout_s", 0)])
def test_invalid_values_are_refused(clean_env, field, value):
    with pytest.raises(ValidationError):
        DomainSettings(**{field: value})
