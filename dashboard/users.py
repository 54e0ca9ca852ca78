"""Managing dashboard users in `.streamlit/secrets.toml`.

    python -m dashboard.users add NAME --role operator|viewer [--password-stdin] [--file PATH]
    python -m dashboard.users ensure-dev-operator NAME PASSWORD [--file PATH]
    python -m dashboard.users remove NAME [--file PATH]
    python -m dashboard.users list [--file PATH]
    python -m dashboard.users hash [--password-stdin]      # a hash for DASHBOARD_USERS

The file is edited as text: the `[users.NAME]` table is replaced or appended and everything else
(other secrets, comments) is kept. The file is written atomically with mode 0600.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import tempfile
import tomllib
from pathlib import Path

from .passwords import (MIN_PASSWORD_LENGTH, ROLES, UserStoreError, check_name, check_role, hash_password,
                        problems, users_from_env, users_from_mapping, verify_password)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / ".streamlit" / "secrets.toml"

_USER_HEADER = re.compile(r'^\s*\[\s*users\s*\.\s*("?)([A-Za-z0-9_-]+)\1\s*\]\s*(#.*)?$')
_ANY_HEADER = re.compile(r"^\s*\[")


def read_store(path: Path) -> dict:
    """The parsed secrets file ({} when it does not exist)."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserStoreError(f"{path} is not valid TOML: {exc}") from None


def _without_user(lines: list[str], name: str) -> list[str]:
    out, skipping = [], False
    for line in lines:
        match = _USER_HEADER.match(line)
        if match:
            skipping = match.group(2) == name
            if skipping:
                continue
        elif _ANY_HEADER.match(line):
            skipping = False
        if not skipping:
            out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return out


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _edit(path: Path, name: str, block: list[str] | None) -> None:
    read_store(path)  # refuse to touch a file that is already broken
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = _without_user(text.splitlines(), name)
    if block:
        lines += ([""] if lines else []) + block
    new = "\n".join(lines) + "\n" if lines else ""
    try:
        parsed = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise UserStoreError(f"cannot update {path} automatically ({exc}); edit its [users] tables by hand") from None
    entry = parsed.get("users", {}).get(name)
    if (block is None and entry is not None) or (block is not None and not isinstance(entry, dict)):
        raise UserStoreError(f"cannot update user {name!r} in {path} automatically; edit it by hand")
    _write(path, new)


def set_user(path: Path, name: str, role: str, password_hash: str) -> None:
    """Create or replace `[users.NAME]`."""
    check_name(name)
    check_role(role)
    _edit(path, name, [f"[users.{name}]", f'role = "{role}"', f'hash = "{password_hash}"'])


def remove_user(path: Path, name: str) -> bool:
    check_name(name)
    if name not in read_store(path).get("users", {}):
        return False
    _edit(path, name, None)
    return True


def ensure_dev_operator(path: Path, name: str, password: str) -> str:
    """Make `name` an operator with `password`; leaves the file alone when that is already so."""
    check_name(name)
    _check_password(password)
    entry = read_store(path).get("users", {}).get(name)
    if (isinstance(entry, dict) and entry.get("role") == "operator"
            and verify_password(password, str(entry.get("hash", "")))):
        return "unchanged"
    set_user(path, name, "operator", hash_password(password))
    return "updated" if entry is not None else "created"


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise UserStoreError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return _check_password(sys.stdin.readline().rstrip("\r\n"))
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise UserStoreError("the passwords do not match")
    return _check_password(first)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.users", description="Dashboard users")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_file(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--file", type=Path, default=DEFAULT_FILE, help=f"secrets file (default {DEFAULT_FILE})")
        return p

    p_add = with_file(sub.add_parser("add", help="add a user or replace their role and password"))
    p_add.add_argument("name")
    p_add.add_argument("--role", choices=ROLES, required=True)
    p_add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p_dev = with_file(sub.add_parser("ensure-dev-operator", help="create or update a local operator (idempotent)"))
    p_dev.add_argument("name")
    p_dev.add_argument("password")
    p_rm = with_file(sub.add_parser("remove", help="remove a user"))
    p_rm.add_argument("name")
    with_file(sub.add_parser("list", help="list users and roles (file and DASHBOARD_USERS)"))
    p_hash = sub.add_parser("hash", help="print a password hash, e.g. for DASHBOARD_USERS")
    p_hash.add_argument("--password-stdin", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "add":
            check_name(args.name)
            set_user(args.file, args.name, args.role, hash_password(_read_password(args.password_stdin)))
            print(f"user {args.name} ({args.role}) saved in {args.file}")
        elif args.command == "ensure-dev-operator":
            outcome = ensure_dev_operator(args.file, args.name, args.password)
            print(f"operator {args.name}: {outcome} ({args.file})")
        elif args.command == "remove":
            print(f"user {args.name} {'removed' if remove_user(args.file, args.name) else 'not found'}")
        elif args.command == "list":
            table = read_store(args.file).get("users", {})
            for name, user in sorted(users_from_mapping(table).items()):
                print(f"{name}\t{user.role}\t{args.file}")
            for name, user in sorted(users_from_env().items()):
                print(f"{name}\t{user.role}\tDASHBOARD_USERS")
            for problem in problems(table):
                print(f"skipped: {problem}", file=sys.stderr)
        else:
            print(json.dumps(hash_password(_read_password(args.password_stdin))).strip('"'))
    except UserStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
