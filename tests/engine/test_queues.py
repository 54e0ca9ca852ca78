"""The queue table machinery: policies validate themselves, tables are built from any rows, overrides apply."""
import pytest
from pydantic import BaseModel

from engine.app import table_from_settings
from engine.errors import ConfigError, UnknownQueueError
from engine.queues import QueuePolicy, QueueTable
from engine.settings import Settings


class Ping(BaseModel):
    text: str


ROWS = (
    QueuePolicy("ping", "tests.engine.jobfuncs.noop", 2, 3, "exponential", 2.0, 100, schema=Ping),
    QueuePolicy("pong", "tests.engine.jobfuncs.noop", 1, 1, "fixed", 5.0, 10, schema=Ping),
)


def test_overrides_change_one_setting_and_keep_the_rest():
    table = QueueTable.build(ROWS, {"ping": {"timeout_s": 90, "concurrency": 8}})
    assert table["ping"].timeout_s == 90 and table["ping"].concurrency == 8
    assert table["ping"].retries == 3 and table["ping"].schema is Ping
    assert table.names == ["ping", "pong"]


def test_a_table_can_be_built_from_another_table():
    assert QueueTable.build(QueueTable.build(ROWS)).names == ["ping", "pong"]


@pytest.mark.parametrize("overrides, message", [
    ({"ping": {"concurrency": 0}}, "concurrency"),
    ({"ping": {"retries": -1}}, "retries"),
    ({"ping": {"backoff": "linear"}}, "backoff"),
    ({"ping": {"colour": "red"}}, "unknown setting"),
    ({"ping": {"schema": "dict"}}, "unknown setting"),
    ({"sms": {"concurrency": 1}}, "unknown queue"),
])
def test_bad_configuration_is_rejected_when_the_table_is_built(overrides, message):
    with pytest.raises(ConfigError, match=message):
        QueueTable.build(ROWS, overrides)


@pytest.mark.parametrize("rows, message", [
    ((), "no queues"),
    ((ROWS[0], ROWS[0]), "more than once"),
    (({"name": "ping"},), "must be QueuePolicy"),
])
def test_bad_tables_are_rejected(rows, message):
    with pytest.raises(ConfigError, match=message):
        QueueTable.build(rows)


def test_unknown_queue_lookup_is_a_clear_error_not_a_key_error():
    with pytest.raises(UnknownQueueError):
        QueueTable.build(ROWS)["sms"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(backoff_base_s=0), "backoff_base_s"),
    (dict(schema=None), "schema must be a pydantic model"),
    (dict(schema=dict), "schema must be a pydantic model"),
    (dict(name="bad name"), "name must be"),
    (dict(func="noop"), "dotted path"),
    (dict(also_accepts=("noop",)), "also_accepts must be a tuple of dotted paths"),
    (dict(also_accepts="m.old"), "also_accepts must be a tuple of dotted paths"),  # a string, not a tuple
])
def test_policy_validates_itself(kwargs, message):
    values = dict(name="x", func="m.f", concurrency=1, retries=1, backoff="fixed", backoff_base_s=1,
                  rate_limit_per_min=10, schema=Ping) | kwargs
    with pytest.raises(ConfigError, match=message):
        QueuePolicy(**values)


def test_a_policy_accepts_its_func_and_the_names_it_also_accepts_only():
    policy = QueuePolicy("x", "m.new", 1, 1, "fixed", 1, 10, also_accepts=("m.old",), schema=Ping)
    assert policy.accepts("m.new") and policy.accepts("m.old")
    assert not policy.accepts("m.other") and not policy.accepts("os.system")


def test_also_accepts_is_overridden_from_a_json_list():
    table = QueueTable.build(ROWS, {"ping": {"also_accepts": ["m.old"]}})
    assert table["ping"].also_accepts == ("m.old",) and table["ping"].accepts("m.old")


def test_overriding_func_keeps_the_tables_name_accepted_so_queued_jobs_still_run():
    row = QueuePolicy("x", "m.new", 1, 1, "fixed", 1, 10, also_accepts=("m.old",), schema=Ping)
    back = QueueTable.build([row], {"x": {"func": "m.old"}})["x"]  # an opt-out to the old processor
    assert back.func == "m.old" and back.also_accepts == ("m.new",)
    other = QueueTable.build([row], {"x": {"func": "m.other"}})["x"]
    assert other.also_accepts == ("m.old", "m.new") and not other.accepts("m.unrelated")


@pytest.mark.parametrize("spec, message", [
    ("no_colon", "module:attribute"),
    ("no_such_module_xyz:QUEUES", "cannot import"),
    ("tests.engine.test_queues:NOPE", "no attribute"),
])
def test_engine_queues_that_do_not_load_are_a_config_error(spec, message):
    with pytest.raises(ConfigError, match=message):
        table_from_settings(Settings(engine_queues=spec))


def test_engine_queues_names_the_table_to_load():
    table = table_from_settings(Settings(engine_queues="tests.engine.test_queues:ROWS",
                                         queue_overrides={"pong": {"retries": 4}}))
    assert table.names == ["ping", "pong"] and table["pong"].retries == 4
