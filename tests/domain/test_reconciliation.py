from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain import credit
from domain.errors import NotFound
from domain.models import CreditAccount, Discrepancy, ReconciliationRun, Retailer
from domain.reconciliation import reconcile

from tests.domain_fixtures import NOW

THRESHOLD = Decimal("100")
SUPPORT = "+9779800000001"


def accounts(session, *balances_and_drift):
    """Accounts whose ledgers hold `balance` and whose stored balance is off by `drift`."""
    made = []
    for i, (balance, drift) in enumerate(balances_and_drift):
        r = Retailer(name=f"Shop {i}", phone=f"+97798200000{i:02d}")
        session.add(r)
        session.flush()
        a = CreditAccount(retailer_id=r.id, credit_limit=Decimal("50000"))
        session.add(a)
        session.flush()
        if balance:
            credit.post_entry(session, a, "opening", "debit", Decimal(balance) + 1000, NOW)
            credit.record_payment(session, a, Decimal("1000"), NOW)
        a.balance += Decimal(drift)
        made.append(a)
    session.commit()
    return made


def test_every_mismatch_is_recorded_and_nothing_is_corrected(session):
    ok, over, under = accounts(session, ("500.00", "0"), ("200.00", "150.25"), ("0", "-40.00"))
    summary = reconcile(session, NOW, THRESHOLD, SUPPORT)
    session.commit()
    assert summary.accounts_checked == 3
    assert summary.discrepancies == [
        {"account_id": over.id, "expected": "200.00", "stored": "350.25", "difference": "150.25"},
        {"account_id": under.id, "expected": "0.00", "stored": "-40.00", "difference": "-40.00"},
    ]
    assert [a.balance for a in session.scalars(select(CreditAccount).order_by(CreditAccount.id))] == [
        Decimal("500.00"), Decimal("350.25"), Decimal("-40.00")]
    run = session.get(ReconciliationRun, summary.run_id)
    assert (run.discrepancy_count, run.finished_at, run.threshold) == (2, NOW, THRESHOLD)


def test_only_differences_above_the_threshold_raise_an_alert(session):
    big, small, exact = accounts(session, ("0", "-100.01"), ("0", "99.99"), ("0", "100.00"))
    summary = reconcile(session, NOW, THRESHOLD, SUPPORT)
    [alert] = summary.alerts
    assert (alert.phone, alert.job_id) == (SUPPORT, f"recon-alert-{summary.run_id}-{big.id}")
    assert "Shop 0" in alert.text and "NPR -100.01" in alert.text
    flags = dict(session.execute(select(Discrepancy.account_id, Discrepancy.alerted)).all())
    assert flags == {big.id: True, small.id: False, exact.id: False}


def test_one_account_can_be_reconciled_alone(session):
    first, second = accounts(session, ("0", "5"), ("0", "7"))
    summary = reconcile(session, NOW, THRESHOLD, SUPPORT, account_id=second.id)
    assert summary.accounts_checked == 1
    assert [d["account_id"] for d in summary.discrepancies] == [second.id]


def test_an_unknown_account_is_not_found(session):
    accounts(session, ("0", "0"))
    with pytest.raises(NotFound):
        reconcile(session, NOW, THRESHOLD, SUPPORT, account_id=999)


def test_the_same_job_reuses_its_run(session):
    accounts(session, ("0", "500"))
    first = reconcile(session, NOW, THRESHOLD, SUPPORT, job_id="job-r")
    session.commit()
    again = reconcile(session, NOW, THRESHOLD, SUPPORT, job_id="job-r")
    assert (again.run_id, again.reused, again.alerts) == (first.run_id, True, first.alerts)
    assert session.scalar(select(func.count()).select_from(ReconciliationRun)) == 1
    other = reconcile(session, NOW, THRESHOLD, SUPPORT, job_id="job-s")
    assert other.run_id != first.run_id and not other.reused
