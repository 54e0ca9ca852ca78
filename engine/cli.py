"""`python -m engine ...`: workers, scheduler, the whole system, and operator commands.

Bad arguments or an unreachable server print one clear line and exit with code 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from .errors import EngineError


def _queue_list_of(known: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type: comma-separated names of the loaded table's queues."""
    def parse(text: str) -> list[str]:
        names = [q.strip() for q in text.split(",") if q.strip()]
        bad = [q for q in names if q not in known]
        if bad or not names:
            raise argparse.ArgumentTypeError(f"unknown queue(s) {bad or text!r}; known: {', '.join(known)}")
        return names

    return parse


def _concurrency_of(known: Sequence[str]) -> Callable[[str], tuple[str, int]]:
    def parse(text: str) -> tuple[str, int]:
        name, _, n = text.partition("=")
        if name not in known or not n.isdigit() or int(n) < 1:
            raise argparse.ArgumentTypeError(f"expected QUEUE=N with N >= 1 and QUEUE one of {', '.join(known)}, "
                                             f"got {text!r}")
        return name, int(n)

    return parse


def _positive(flag: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < 1:
            raise argparse.ArgumentTypeError(f"{flag} expects a whole number >= 1, got {text!r}")
        return int(text)

    return parse


def build_parser(queue_names: Sequence[str]) -> argparse.ArgumentParser:
    """The command line for a table of `queue_names` (the queue arguments accept only those)."""
    _queue_list, _concurrency = _queue_list_of(queue_names), _concurrency_of(queue_names)
    prog = "jobqueue" if Path(sys.argv[0]).name == "jobqueue" else "python -m engine"  # the console script
    p = argparse.ArgumentParser(prog=prog, description="Job queue engine")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    w = sub.add_parser("worker", help="one worker process: --concurrency slots, each serving all --queues")
    w.add_argument("--queues", type=_queue_list, default=list(queue_names))
    w.add_argument("--concurrency", type=_positive("--concurrency"), default=1, metavar="N",
                   help="slots in this process: at most N jobs run at once")
    w.add_argument("--burst", action="store_true", help="exit when nothing is runnable")
    w.add_argument("--name")
    w.add_argument("--hooks", metavar="MODULE:CLASS", help="a Hooks subclass for this worker (overrides ENGINE_HOOKS)")

    ws = sub.add_parser("workers", help="every queue's workers, with the table's concurrency")
    ws.add_argument("--queues", type=_queue_list, default=list(queue_names))
    ws.add_argument("--burst", action="store_true")
    ws.add_argument("--concurrency", type=_concurrency, action="append", default=[], metavar="QUEUE=N")
    ws.add_argument("--processes", type=_positive("--processes"), metavar="N",
                    help="spread the slots over N processes forked from this one (default: all in this process)")

    s = sub.add_parser("scheduler", help="cron schedules and recovery of dead workers' jobs")
    s.add_argument("--once", action="store_true")

    sub.add_parser("run", help="the whole system (embedded server when none is configured)")
    sub.add_parser("info", help="queue counts")

    e = sub.add_parser("enqueue", help="add a job")
    e.add_argument("queue", type=lambda t: _queue_list(t)[0])
    e.add_argument("data", help="the job's data as JSON")
    e.add_argument("--priority", choices=["high", "normal", "low"], default="normal")
    e.add_argument("--delay", type=float, help="seconds")
    e.add_argument("--job-id")

    for name in ("pause", "resume"):
        c = sub.add_parser(name)
        c.add_argument("queue", type=lambda t: _queue_list(t)[0])
    lim = sub.add_parser("limit", help="change a queue's rate limit (starts per minute)")
    lim.add_argument("queue", type=lambda t: _queue_list(t)[0])
    lim.add_argument("per_minute", type=int)

    c = sub.add_parser("cancel", help="cancel a waiting, scheduled or running job")
    c.add_argument("queue", type=lambda t: _queue_list(t)[0])
    c.add_argument("job_id")

    f = sub.add_parser("search", help="find jobs by order, phone, retailer, wholesaler, account, id prefix or error words")
    for name in ("order-id", "phone", "retailer-id", "wholesaler-id", "account-id", "q", "state", "cursor"):
        f.add_argument(f"--{name}")
    f.add_argument("--queue", type=lambda t: _queue_list(t)[0])
    f.add_argument("--limit", type=int, default=50)

    d = sub.add_parser("dead-letters", help="list, retry or delete dead-letter entries")
    d.add_argument("action", choices=["list", "retry", "delete"])
    d.add_argument("ids", nargs="*")
    d.add_argument("--queue", type=lambda t: _queue_list(t)[0])
    return p


def main(argv: list[str] | None = None) -> int:
    """`python -m engine` and the `jobqueue` console script; returns the exit status."""
    try:
        names = _table_names()
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # settings that do not validate
        print(f"error: invalid configuration: {exc}", file=sys.stderr)
        return 2
    args = build_parser(names).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _dispatch(args)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # settings that do not validate
        print(f"error: invalid configuration: {exc}", file=sys.stderr)
        return 2


def _table_names() -> list[str]:
    """The queues of the table ENGINE_QUEUES names (no server needed)."""
    from .app import table_from_settings
    from .settings import Settings

    return table_from_settings(Settings()).names


def _dispatch(args: argparse.Namespace) -> int:
    from .app import Engine

    if args.command == "run":
        from .runner import run_system

        return run_system()
    if args.command == "workers":
        from .runner import run_workers

        return run_workers(args.queues, burst=args.burst, concurrency=dict(args.concurrency),
                           processes=args.processes)
    eng = Engine.from_settings()
    if args.command == "worker":
        from .hooks import load_hooks
        from .slots import SlotPool, SlotSpec

        hooks = load_hooks(args.hooks, source="--hooks") if args.hooks else None
        return SlotPool(eng, [SlotSpec(tuple(args.queues), args.concurrency)], burst=args.burst, name=args.name,
                        hooks=hooks).run()
    if args.command == "scheduler":
        from .scheduler import main as scheduler_main

        return scheduler_main(eng, once=args.once)
    return _operator_command(eng, args)


def _operator_command(eng, args: argparse.Namespace) -> int:
    from . import monitoring
    from .audit import Actor
    from .operator import Operator

    op = Operator(eng, Actor(_whoami(), "cli"), role="operator")
    out: Any
    if args.command == "info":
        m = monitoring.get_all_metrics(engine=eng)
        out = {q: {k: v for k, v in qm.items() if k in ("waiting", "active", "scheduled", "completed", "failed",
                                                        "dead_lettered", "workers", "paused", "rate_limit")}
               for q, qm in m["queues"].items()}
    elif args.command == "enqueue":
        try:
            data = json.loads(args.data)
        except json.JSONDecodeError as exc:
            print(f"error: data: not valid JSON ({exc.msg})", file=sys.stderr)
            return 2
        job = op.enqueue(args.queue, data, priority=args.priority, delay=args.delay, job_id=args.job_id)
        out = {"id": job.id, "queue": args.queue}
    elif args.command == "pause":
        op.pause(args.queue)
        out = {"paused": args.queue}
    elif args.command == "resume":
        op.resume(args.queue)
        out = {"resumed": args.queue}
    elif args.command == "limit":
        op.set_rate_limit(args.queue, args.per_minute)
        out = {"queue": args.queue, "rate_limit": args.per_minute}
    elif args.command == "cancel":
        out = {"queue": args.queue, "id": args.job_id, "outcome": op.cancel(args.queue, args.job_id)}
    elif args.command == "search":
        from .search import SearchFilter, search

        flt = SearchFilter(order_id=args.order_id, phone=args.phone, retailer_id=args.retailer_id,
                           wholesaler_id=args.wholesaler_id, account_id=args.account_id, q=args.q,
                           queue=args.queue, state=args.state)
        out = search(flt, limit=args.limit, cursor=args.cursor, engine=eng)
    else:
        out = _dead_letters(op, args)
    print(json.dumps(out, indent=2, default=str))
    return 0


def _dead_letters(op, args) -> Any:
    from . import dead_letters

    if args.action == "list":
        entries, total = dead_letters.list_entries(dead_letters.Filter(queue=args.queue), engine=op.eng)
        return {"total": total, "entries": entries}
    if not args.ids:
        raise EngineError(f"dead-letters {args.action} needs at least one entry id")
    if args.action == "retry":
        return {"retried": op.bulk_retry_dead_letters(ids=args.ids)}
    return {"deleted": op.bulk_delete_dead_letters(ids=args.ids)}


def _whoami() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"
