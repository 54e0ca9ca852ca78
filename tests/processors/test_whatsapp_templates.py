"""Templates and the 24-hour window: validated before enqueue, sent in the Cloud API's template shape, free
text outside the window wrapped in the fallback template or dead-lettered without calling the API."""
import json
from datetime import timedelta

import pytest

from domain import delivery
from domain.clock import utcnow
from domain.whatsapp import templates
from engine.errors import PermanentError, ValidationError
from processors import helpers, whatsapp

from tests.domain_fixtures import as_job, fresh

PHONE = "+9779820000001"


@pytest.mark.parametrize("template,field", [
    ({"name": "no_such", "language": "en", "params": []}, "template.name"),
    ({"name": "order_failed", "language": "en", "params": ["only one"]}, "template.params"),
    ({"name": "order_failed", "language": "ne", "params": ["a", "b"]}, "template.language"),
])
def test_an_unknown_template_or_wrong_params_is_a_field_error_before_enqueue(engine, template, field):
    with pytest.raises(ValidationError) as info:
        helpers.add_whatsapp_message(PHONE, template=template, engine=engine)
    assert info.value.field == field
    assert engine.conn.keys("rq:job:*") == []


def test_message_and_template_are_exclusive(engine):
    for kw in ({}, {"message": "hi", "template": {"name": "order_failed", "language": "en", "params": ["a", "b"]}}):
        with pytest.raises(ValidationError, match="exactly one"):
            helpers.add_whatsapp_message(PHONE, engine=engine, **kw)


def test_a_template_job_is_sent_as_a_template(engine, settings, db, cloud_api):
    ref = {"name": "order_failed", "language": "en", "params": ["Sharma Kirana", "42"]}
    with as_job(engine, "job-t", "whatsapp"):
        result = whatsapp.run(PHONE, template=ref, settings=cloud_api.settings(settings))
    [req] = cloud_api.requests
    assert req["json"]["type"] == "template" and req["json"]["template"]["name"] == "order_failed"
    assert result["status"] == "accepted" and result["template"] == "order_failed"


def test_free_text_outside_the_window_goes_as_the_fallback_template(engine, settings, db, cloud_api):
    with as_job(engine, "job-f", "whatsapp"):
        whatsapp.run(PHONE, "Your goods left the depot", settings=cloud_api.settings(settings))
    [req] = cloud_api.requests
    fallback = templates.load(None).fallback
    assert req["json"]["template"]["name"] == fallback.name
    assert req["json"]["template"]["components"][0]["parameters"] == [{"type": "text",
                                                                       "text": "Your goods left the depot"}]


def test_free_text_inside_the_window_goes_as_text(engine, settings, db, cloud_api):
    with fresh(db) as s:
        delivery.record_inbound(s, PHONE, utcnow() - timedelta(hours=23))
        s.commit()
    with as_job(engine, "job-w", "whatsapp"):
        whatsapp.run(PHONE, "Thanks for writing", settings=cloud_api.settings(settings))
    assert cloud_api.requests[0]["json"]["type"] == "text"


def test_free_text_outside_the_window_without_a_fallback_is_permanent_and_never_sent(engine, settings, db, cloud_api,
                                                                                     tmp_path):
    path = tmp_path / "templates.json"
    path.write_text(json.dumps([{"name": "order_failed", "language": "en", "params": 2, "example": "x"}]))
    with fresh(db) as s:
        delivery.record_inbound(s, PHONE, utcnow() - timedelta(hours=25))
        s.commit()
    with as_job(engine, "job-p", "whatsapp"), pytest.raises(PermanentError) as info:
        whatsapp.run(PHONE, "hello", settings=cloud_api.settings(settings, whatsapp_templates=str(path)))
    assert "24-hour" in str(info.value) and "131047" in str(info.value)
    assert cloud_api.requests == []


def test_a_registry_file_is_checked_when_loaded(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"name": "a", "params": -1}]))
    with pytest.raises(templates.RegistryError, match="params"):
        templates.load(str(path))
    registry = templates.parse([{"name": "order_expired", "language": "en", "params": 1,
                                 "example": "Your order {{1}} has expired."}], "inline")
    assert registry.get("order_expired").render(["#7"]) == "Your order #7 has expired."
