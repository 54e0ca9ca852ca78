"""Password hashes, the user store and `python -m dashboard.users`."""
from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tomllib

import pytest

from dashboard import passwords, users
from dashboard.passwords import User, authenticate, hash_password, users_from_env, users_from_mapping, verify_password

ROOT = users.ROOT


@pytest.fixture(scope="module")
def known_hash() -> str:
    return hash_password("correct horse battery")


def test_hash_is_salted_pbkdf2_sha256_with_at_least_600k_iterations(known_hash):
    algorithm, iterations, salt, digest = known_hash.split("$")
    assert algorithm == "pbkdf2_sha256" and int(iterations) >= 600_000
    assert len(salt) >= 20 and len(digest) >= 40
    assert verify_password("correct horse battery", known_hash)
    assert not verify_password("correct horse batterY", known_hash)
    assert not verify_password("", known_hash)


def test_same_password_gets_a_different_salt_and_hash():
    a, b = hash_password("same password"), hash_password("same password")
    assert a != b and a.split("$")[2] != b.split("$")[2]


def test_weak_or_malformed_hashes_never_verify():
    with pytest.raises(ValueError):
        hash_password("pw", iterations=1000)
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    weak = "pbkdf2_sha256$1000${}${}".format(base64.b64encode(salt).decode(),
                                             base64.b64encode(hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000)).decode())
    assert not verify_password("pw", weak)  # no downgrade through an edited store
    for bad in ("", "plain", "md5$1$2$3", "pbkdf2_sha256$x$y$z", None):
        assert not verify_password("pw", bad)


def test_comparison_is_constant_time(monkeypatch, known_hash):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(passwords.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    verify_password("nope", known_hash)
    assert calls == [1]


def test_store_from_secrets_table_and_environment(known_hash):
    table = {"alice": {"role": "operator", "hash": known_hash}, "bob": {"role": "admin", "hash": known_hash},
             "bad name!": {"role": "viewer", "hash": known_hash}, "carol": {"role": "viewer", "hash": "nope"}}
    found = users_from_mapping(table)
    assert list(found) == ["alice"] and found["alice"].can_write
    assert len(passwords.problems(table)) == 3
    env = {"DASHBOARD_USERS": json.dumps({"dave": {"role": "viewer", "hash": known_hash}})}
    assert users_from_env(env)["dave"].role == "viewer" and not users_from_env(env)["dave"].can_write
    assert users_from_env({"DASHBOARD_USERS": "not json"}) == {}


def test_authenticate_unknown_user_does_the_same_work(known_hash, monkeypatch):
    store = {"alice": User("alice", "operator", known_hash)}
    assert authenticate(store, "alice", "correct horse battery").name == "alice"
    assert authenticate(store, "alice", "wrong") is None
    seen = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda pw, h: seen.append(h) or real(pw, h))
    assert authenticate(store, "mallory", "whatever") is None
    assert len(seen) == 1  # a dummy hash was verified


def test_add_writes_a_user_table_keeping_other_secrets(tmp_path, monkeypatch):
    path = tmp_path / ".streamlit" / "secrets.toml"
    path.parent.mkdir()
    path.write_text('# my secrets\napi_token = "xyz"\n\n[users.old]\nrole = "viewer"\nhash = "h"\n\n[other]\nx = 1\n')
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-password\n"))
    assert users.main(["add", "alice", "--role", "operator", "--password-stdin", "--file", str(path)]) == 0
    text = path.read_text()
    data = tomllib.loads(text)
    assert "# my secrets" in text and data["api_token"] == "xyz" and data["other"] == {"x": 1}
    assert data["users"]["old"] == {"role": "viewer", "hash": "h"}
    assert data["users"]["alice"]["role"] == "operator"
    assert verify_password("s3cret-password", data["users"]["alice"]["hash"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # replacing the user keeps one table
    monkeypatch.setattr(sys, "stdin", io.StringIO("another-password\n"))
    assert users.main(["add", "alice", "--role", "viewer", "--password-stdin", "--file", str(path)]) == 0
    data = tomllib.loads(path.read_text())
    assert data["users"]["alice"]["role"] == "viewer" and path.read_text().count("[users.alice]") == 1
    assert users.main(["remove", "alice", "--file", str(path)]) == 0
    assert "alice" not in tomllib.loads(path.read_text())["users"]


def test_add_refuses_bad_names_roles_and_short_passwords(tmp_path, monkeypatch, capsys):
    path = tmp_path / "secrets.toml"
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert users.main(["add", "alice", "--role", "operator", "--password-stdin", "--file", str(path)]) == 2
    assert users.main(["add", "a.b", "--role", "operator", "--password-stdin", "--file", str(path)]) == 2
    with pytest.raises(SystemExit):
        users.main(["add", "alice", "--role", "root", "--file", str(path)])
    assert not path.exists()
    assert "error:" in capsys.readouterr().err


def test_ensure_dev_operator_creates_once_and_is_idempotent(tmp_path):
    path = tmp_path / "secrets.toml"
    run = [sys.executable, "-m", "dashboard.users", "ensure-dev-operator", "operator", "dev-password-123",
           "--file", str(path)]
    first = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "created" in first.stdout
    before = path.read_bytes()
    second = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "unchanged" in second.stdout and path.read_bytes() == before
    entry = tomllib.loads(before.decode())["users"]["operator"]
    assert entry["role"] == "operator" and verify_password("dev-password-123", entry["hash"])
    assert users.ensure_dev_operator(path, "operator", "new-password-456") == "updated"
    assert verify_password("new-password-456", tomllib.loads(path.read_text())["users"]["operator"]["hash"])


def test_hash_command_prints_a_usable_hash(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("for-the-environment\n"))
    assert users.main(["hash", "--password-stdin"]) == 0
    printed = capsys.readouterr().out.strip()
    assert verify_password("for-the-environment", printed)


def test_secrets_file_is_git_ignored_and_the_example_is_not():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=ROOT)
    assert ignored.returncode == 0
    example = subprocess.run(["git", "check-ignore", "-q", ".streamlit/secrets.example.toml"], cwd=ROOT)
    assert example.returncode == 1
    assert "[users." in (ROOT / ".streamlit" / "secrets.example.toml").read_text()
