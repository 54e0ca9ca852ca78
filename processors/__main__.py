"""`python -m processors seed [--force] [--no-jobs]`: the demo data set and its queue jobs, once.

Like `python -m engine`, an error prints one clear line and exits with code 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from engine.errors import EngineError

from domain.errors import DomainError
from domain.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m processors", description="The platform's demo")
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed", help="write the demo data set and enqueue its jobs (once)")
    p_seed.add_argument("--force", action="store_true", help="wipe the domain tables and seed again")
    p_seed.add_argument("--no-jobs", action="store_true", help="write the data only; enqueue nothing")
    args = parser.parse_args(argv)
    from .demo import seed_demo

    try:
        result = seed_demo(get_settings(), force=args.force, with_jobs=not args.no_jobs)
    except (DomainError, EngineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
