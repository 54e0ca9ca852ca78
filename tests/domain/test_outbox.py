import pytest
from sqlalchemy import func, select

from domain import outbox
from domain.errors import InvalidTransition
from domain.models import MessageStatus, OutboundMessage

from tests.domain_fixtures import NOW


def claim(session, key="job-1", harmless=False):
    return outbox.claim(session, key, phone="+9779820000001", body="hello", reference="42", provider="cloud",
                        resend_is_harmless=harmless, now=NOW)


def test_the_first_claim_records_the_attempt_as_sending(session):
    c = claim(session)
    session.commit()
    msg = outbox.find(session, "job-1")
    assert (c.decision, msg.status, msg.attempts, msg.recipient, msg.reference) == (
        outbox.Decision.SEND, MessageStatus.SENDING, 1, "+9779820000001", "42")


def test_a_sent_message_is_never_claimed_for_sending_again(session):
    claim(session)
    outbox.mark_sent(session, "job-1", "wamid.X", "sent", NOW)
    c = claim(session)
    assert (c.decision, c.provider_message_id) == (outbox.Decision.DONE, "wamid.X")
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def test_a_send_left_in_flight_by_a_crash_is_in_doubt_for_a_real_provider(session):
    claim(session)  # the run "dies" here, after recording and before the result
    c = claim(session)
    msg = outbox.find(session, "job-1")
    assert c.decision == outbox.Decision.IN_DOUBT
    assert (msg.status, msg.error_code) == (MessageStatus.UNKNOWN, "in_doubt")
    assert claim(session).decision == outbox.Decision.IN_DOUBT  # stays in doubt on every later run


def test_a_send_left_in_flight_is_simply_repeated_when_resending_is_harmless(session):
    claim(session, harmless=True)
    c = claim(session, harmless=True)
    assert (c.decision, c.attempts) == (outbox.Decision.SEND, 2)


@pytest.mark.parametrize("retryable,status", [(True, MessageStatus.RETRYING), (False, MessageStatus.FAILED)])
def test_a_refused_send_is_recorded_and_may_be_sent_again(session, retryable, status):
    claim(session)
    outbox.mark_failed(session, "job-1", code="131026", error="Message undeliverable", retryable=retryable, now=NOW)
    assert outbox.find(session, "job-1").status == status
    c = claim(session)
    assert (c.decision, c.attempts) == (outbox.Decision.SEND, 2)


def test_a_resend_with_corrected_data_records_the_new_recipient_and_text(session):
    claim(session)
    outbox.mark_failed(session, "job-1", code="131026", error="not a WhatsApp user", retryable=False, now=NOW)
    c = outbox.claim(session, "job-1", phone="+9779820000002", body="hello again", reference="43", provider="cloud",
                     resend_is_harmless=False, now=NOW)
    msg = outbox.find(session, "job-1")
    assert c.decision == outbox.Decision.SEND
    assert (msg.recipient, msg.body, msg.reference, msg.attempts) == ("+9779820000002", "hello again", "43", 2)


def test_an_operator_can_settle_a_message_in_doubt(session):
    claim(session)
    claim(session)
    outbox.resolve_in_doubt(session, "job-1", went_out=False, now=NOW)
    assert claim(session).decision == outbox.Decision.SEND
    with pytest.raises(InvalidTransition):
        outbox.resolve_in_doubt(session, "job-1", went_out=True, now=NOW)
