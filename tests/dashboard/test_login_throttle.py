"""Log-in throttling slows a guesser down per client and user name, and never locks the real user out."""
from __future__ import annotations

import pytest

from dashboard import auth, throttle
from dashboard.throttle import LoginThrottle
from engine import audit
from tests.dashboard.conftest import PASSWORDS, texts
from tests.dashboard.test_auth import fresh, login


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the throttle itself ---------------------------------------------------------------------
def test_the_delay_grows_after_the_free_failures_and_is_capped():
    delays = [LoginThrottle.delay_after(n) for n in range(1, 12)]
    assert delays[:throttle.FREE_FAILURES - 1] == [0.0] * (throttle.FREE_FAILURES - 1)
    grown = delays[throttle.FREE_FAILURES - 1:]
    assert grown[0] == throttle.BASE_DELAY_S and all(b >= a for a, b in zip(grown, grown[1:]))
    assert max(delays) == throttle.MAX_DELAY_S


def test_a_client_waits_only_for_its_own_failures_and_the_wait_always_ends():
    clock = Clock()
    t = LoginThrottle(clock)
    for _ in range(8):
        t.failed("10.0.0.66", "olga")
    owed = t.wait_s("10.0.0.66", "olga")
    assert 0 < owed <= throttle.MAX_DELAY_S
    assert t.wait_s("10.0.0.1", "olga") == 0  # the real user's client is not slowed
    assert t.wait_s("10.0.0.66", "vera") == 0  # nor another name
    clock.now += owed
    assert t.wait_s("10.0.0.66", "olga") == 0  # never locked: the next attempt is checked
    t.succeeded("10.0.0.66", "olga")
    assert t.wait_s("10.0.0.66", "olga") == 0 and t.failed("10.0.0.66", "olga") == 0


def test_failures_are_forgotten_and_memory_stays_bounded(monkeypatch):
    clock = Clock()
    t = LoginThrottle(clock)
    for _ in range(5):
        t.failed("a", "olga")
    clock.now += throttle.FORGET_AFTER_S + throttle.MAX_DELAY_S + 1
    assert t.failed("a", "olga") == 0  # starts afresh
    monkeypatch.setattr(throttle, "MAX_ENTRIES", 100)
    for i in range(1000):
        t.failed(f"client-{i}", "olga")
    assert len(t._records) <= 100


# -- through the log-in form (AppTest) -----------------------------------------------------------
@pytest.fixture
def clients(monkeypatch):
    """The form's client address, chosen by the test, and the throttle's clock."""
    state = {"client": "10.0.0.1"}
    monkeypatch.setattr(auth, "client_address", lambda: state["client"])
    t = auth._failures()
    t.clock = Clock()
    return state, t


def test_a_guesser_is_slowed_down_with_a_growing_wait(dash, user_table, clients):
    state, t = clients
    state["client"] = "10.0.0.66"
    waits = []
    for _ in range(throttle.FREE_FAILURES + 2):
        t.clock.now += t.wait_s("10.0.0.66", "olga")  # each guess after its wait, so each is checked
        at = login(fresh(user_table), "olga", "wrong-password")
        assert "Wrong user name or password." in texts(at)
        waits.append(t.wait_s("10.0.0.66", "olga"))
    assert waits[0] == 0 and waits[-1] > waits[-2] > 0
    at = login(fresh(user_table), "olga", "another-guess")  # too soon: refused without being checked
    assert "Try again in" in texts(at) and auth.SESSION_USER not in at.session_state
    denied = [e for e in audit.list_entries(engine=dash, action="login") if e["outcome"].startswith("denied")]
    assert len(denied) == throttle.FREE_FAILURES + 2


def test_the_real_users_correct_password_is_accepted_after_the_wait(dash, user_table, clients):
    state, t = clients
    for _ in range(throttle.FREE_FAILURES + 1):
        login(fresh(user_table), "olga", "wrong-password")  # the user mistyped, many times
    at = login(fresh(user_table), "olga", PASSWORDS["olga"])
    assert "Try again in" in texts(at) and auth.SESSION_USER not in at.session_state
    t.clock.now += t.wait_s(state["client"], "olga")
    at = login(fresh(user_table), "olga", PASSWORDS["olga"])
    assert at.session_state[auth.SESSION_USER] == "olga"


def test_another_clients_wrong_guesses_never_stop_the_real_user(dash, user_table, clients):
    state, t = clients
    state["client"] = "10.0.0.66"
    for _ in range(10):  # an attacker hammering the name, each guess after its wait (the cap is reached)
        t.clock.now += t.wait_s("10.0.0.66", "olga")
        login(fresh(user_table), "olga", "wrong-password")
    assert t.wait_s("10.0.0.66", "olga") == throttle.MAX_DELAY_S
    state["client"] = "10.0.0.1"
    at = login(fresh(user_table), "olga", PASSWORDS["olga"])
    assert at.session_state[auth.SESSION_USER] == "olga"
