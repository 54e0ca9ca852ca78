"""The Cloud API provider against a real local HTTP server speaking the API's shapes."""
import pytest

from domain.whatsapp import CloudProvider, SandboxProvider, SendError, make_provider

from tests.domain_fixtures import Reply, error_reply, expect_messages_path


def provider(api, timeout_s=0.3, **over):
    return CloudProvider(over.get("base_url", api.base_url), over.get("phone_number_id", api.phone_number_id),
                         over.get("token", api.token), timeout_s)


def send(api, **over):
    return provider(api, **over).send_text("+9779820000001", "Your order #42 is confirmed.", idempotency_key="k")


def test_a_text_message_is_posted_in_the_cloud_api_shape(cloud_api):
    result = send(cloud_api)
    assert (result.provider_message_id, result.status) == ("wamid.TEST0001", "sent")
    [req] = cloud_api.requests
    assert req["path"] == expect_messages_path(cloud_api)
    assert req["authorization"] == "Bearer test-token"
    assert req["content_type"].startswith("application/json")
    assert req["json"] == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "9779820000001",
                           "type": "text", "text": {"preview_url": False, "body": "Your order #42 is confirmed."}}


@pytest.mark.parametrize("status,code,message", [
    (400, 131026, "Message undeliverable"),
    (400, 131030, "Recipient phone number not in allowed list"),
    (400, 100, "Invalid parameter"),
])
def test_an_invalid_recipient_or_request_is_permanent(cloud_api, status, code, message):
    cloud_api.replies.append(error_reply(status, code, message))
    with pytest.raises(SendError) as info:
        send(cloud_api)
    err = info.value
    assert (err.retryable, err.code, err.retry_after_s) == (False, str(code), None)
    assert message in str(err) and str(code) in str(err) and "AbCdEf123" in str(err)


@pytest.mark.parametrize("status", [401, 400])
def test_an_authentication_error_is_permanent(cloud_api, status):
    cloud_api.replies.append(error_reply(status, 190, "Error validating access token: Session has expired",
                                         subcode=463))
    with pytest.raises(SendError) as info:
        send(cloud_api)
    assert (info.value.retryable, info.value.code) == (False, "190")
    assert "authentication failed" in str(info.value) and "190/463" in str(info.value)


def test_http_429_asks_to_back_off_for_the_retry_after_seconds(cloud_api):
    cloud_api.replies.append(error_reply(429, 130429, "Rate limit hit", headers={"Retry-After": "17"}))
    with pytest.raises(SendError) as info:
        send(cloud_api)
    assert (info.value.retryable, info.value.retry_after_s) == (True, 17.0)


def test_http_429_without_retry_after_backs_off_for_a_minute(cloud_api):
    cloud_api.replies.append(Reply(429, {"error": {"message": "Too many calls", "code": 4}}))
    with pytest.raises(SendError) as info:
        send(cloud_api)
    assert info.value.retry_after_s == 60.0


def test_a_server_error_is_retryable(cloud_api):
    cloud_api.replies.append(error_reply(500, 131000, "Something went wrong", err_type="OAuthException"))
    with pytest.raises(SendError) as info:
        send(cloud_api)
    assert (info.value.retryable, info.value.retry_after_s, info.value.http_status) == (True, None, 500)


def test_a_server_error_without_a_json_body_is_retryable(cloud_api):
    cloud_api.replies.append(Reply(503, None))
    with pytest.raises(SendError) as info:
        send(cloud_api)
    assert info.value.retryable and "503" in str(info.value)


def test_a_response_slower_than_the_timeout_is_retryable(cloud_api):
    cloud_api.replies.append(Reply(200, {"messages": [{"id": "wamid.LATE"}]}, delay_s=1.0))
    with pytest.raises(SendError) as info:
        send(cloud_api, timeout_s=0.2)
    assert (info.value.retryable, info.value.code) == (True, "timeout")


def test_a_refused_connection_is_retryable(cloud_api):
    with pytest.raises(SendError) as info:
        send(cloud_api, base_url="http://127.0.0.1:9/v21.0")
    assert (info.value.retryable, info.value.code) == (True, "connection")


def test_an_accepted_response_without_a_message_id_is_not_retried(cloud_api):
    cloud_api.replies.append(Reply(200, {"messaging_product": "whatsapp"}))
    with pytest.raises(SendError) as info:
        send(cloud_api)
    assert (info.value.retryable, info.value.code) == (False, "bad_response")


def test_missing_credentials_are_a_permanent_configuration_error(cloud_api):
    with pytest.raises(SendError) as info:
        send(cloud_api, token=None)
    assert (info.value.retryable, info.value.code) == (False, "config")
    assert cloud_api.requests == []


def test_the_settings_choose_the_provider(settings, cloud_api):
    assert isinstance(make_provider(settings), SandboxProvider)
    cloud = make_provider(cloud_api.settings(settings))
    assert isinstance(cloud, CloudProvider) and cloud.timeout_s == 0.3 and cloud.base_url == cloud_api.base_url


def test_the_sandbox_delivers_without_sending(cloud_api):
    result = SandboxProvider().send_text("+9779820000001", "hi", idempotency_key="job-7")
    assert result.status == "delivered" and result.provider_message_id.startswith("sandbox.")
    assert result == SandboxProvider().send_text("+9779820000001", "hi", idempotency_key="job-7")


def test_a_template_is_posted_with_its_language_and_body_text_parameters(cloud_api):
    result = provider(cloud_api).send_template("+9779820000001", "order_failed", "en", ["Sharma Kirana", "42"],
                                               idempotency_key="k")
    assert result.status == "sent"
    [req] = cloud_api.requests
    assert req["json"] == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "9779820000001", "type": "template",
        "template": {"name": "order_failed", "language": {"code": "en"},
                     "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sharma Kirana"},
                                                                    {"type": "text", "text": "42"}]}]}}
