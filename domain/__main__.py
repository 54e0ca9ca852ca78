"""Command line: `python -m domain seed [--force]`, `init-db`, `whatsapp-resolve KEY`.

Like `python -m engine`, an error prints one clear line and exits with code 2. The demo's queue jobs
are the application's: `python -m processors seed` writes the data and enqueues them.
"""
from __future__ import annotations

import argparse
import json
import sys

from .clock import utcnow
from .db import engine_for, session_scope
from .errors import DomainError
from .settings import get_settings


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m domain", description="Domain store commands")
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed", help="write the demo data set (once; no jobs)")
    p_seed.add_argument("--force", action="store_true", help="wipe the domain tables and seed again")
    sub.add_parser("init-db", help="create any missing tables")
    p_resolve = sub.add_parser("whatsapp-resolve", help="settle a message left 'unknown' by a crashed send")
    p_resolve.add_argument("key", help="the message's idempotency key (its job id)")
    verdict = p_resolve.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--went-out", action="store_true", help="the recipient got it: mark it sent")
    verdict.add_argument("--resend", action="store_true", help="it did not go out: let a retry of the job send it")
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        if args.command == "seed":
            from .seed import seed

            result = seed(settings, force=args.force)
        elif args.command == "init-db":
            engine_for(settings.database_url)
            result = {"database": settings.database_url.split("@")[-1], "schema": "ready"}
        else:
            from .outbox import resolve_in_doubt

            with session_scope(settings.database_url) as session:
                msg = resolve_in_doubt(session, args.key, went_out=args.went_out, now=utcnow())
                result = {"key": msg.idempotency_key, "status": msg.status}
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
