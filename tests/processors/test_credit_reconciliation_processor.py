from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain import credit
from domain.models import CreditAccount, ReconciliationRun
from engine.errors import PermanentError
from processors import credit_reconciliation

from tests.domain_fixtures import NOW, as_job, fetch_job, fresh, job_ids


def drift(session, world, amount):
    credit.post_entry(session, world.account, "opening", "debit", Decimal("1000.00"), NOW)
    world.account.balance += Decimal(amount)
    session.commit()


def test_a_discrepancy_is_recorded_and_support_is_alerted(engine, settings, db, session, world):
    drift(session, world, "250.75")
    result = credit_reconciliation.run(settings=settings, now=NOW)
    assert result["discrepancies"] == [{"account_id": world.account.id, "expected": "1000.00", "stored": "1250.75",
                                        "difference": "250.75"}]
    alert_id = f"recon-alert-{result['run_id']}-{world.account.id}"
    assert result["alert_job_ids"] == [alert_id]
    alert = fetch_job(engine, alert_id)
    assert alert.kwargs["phone"] == settings.support_phone and alert.kwargs["template"]["name"] == "reconciliation_alert"
    assert "NPR 250.75" in alert.kwargs["template"]["params"][1]
    with fresh(db) as s:
        assert s.get(CreditAccount, world.account.id).balance == Decimal("1250.75")  # never corrected


def test_a_discrepancy_within_the_threshold_is_recorded_without_an_alert(engine, settings, db, session, world):
    drift(session, world, "-99.99")
    result = credit_reconciliation.run(settings=settings, now=NOW)
    assert result["discrepancy_count"] == 1 and result["alert_job_ids"] == []
    assert job_ids(engine, "whatsapp") == set()


def test_matching_balances_record_a_clean_run(engine, settings, db, session, world):
    drift(session, world, "0")
    result = credit_reconciliation.run(str(world.account.id), settings=settings, now=NOW)
    assert (result["accounts_checked"], result["discrepancy_count"]) == (1, 0)
    with fresh(db) as s:
        assert s.get(ReconciliationRun, result["run_id"]).account_id == world.account.id


def test_the_same_job_run_twice_records_one_run_and_one_alert(engine, settings, db, session, world):
    drift(session, world, "500")
    with as_job(engine, "recon-1", "creditReconciliation"):
        first = credit_reconciliation.run(settings=settings, now=NOW)
    with as_job(engine, "recon-1", "creditReconciliation", run=2):
        second = credit_reconciliation.run(settings=settings, now=NOW)
    assert (second["run_id"], second["reused_run"]) == (first["run_id"], True)
    with fresh(db) as s:
        assert s.scalar(select(func.count()).select_from(ReconciliationRun)) == 1
    assert job_ids(engine, "whatsapp") == set(first["alert_job_ids"])


@pytest.mark.parametrize("account_id", ["999", "acct-1"])
def test_an_unknown_account_is_permanent(engine, settings, db, world, account_id):
    with pytest.raises(PermanentError, match="unknown credit account"):
        credit_reconciliation.run(account_id, settings=settings, now=NOW)
