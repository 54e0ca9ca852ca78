"""`python -m api_shim [--host 127.0.0.1] [--port 8000]`: serve the API with uvicorn."""
from __future__ import annotations

import argparse
import logging
import signal
import sys

import uvicorn

from engine.app import Engine
from engine.errors import CredentialsError, ServerUnavailableError
from engine.settings import Settings

from .app import create_app

log = logging.getLogger("api_shim")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api_shim", description="Serve the job queue REST API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    try:
        engine = Engine.from_settings(settings)
    except CredentialsError as exc:  # a wrong user or password does not heal by waiting
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ServerUnavailableError as exc:
        # Serve anyway: /healthz answers 503 and routes 503 until the server is back.
        log.warning("%s; serving anyway", exc)
        engine = Engine.from_settings(settings, check=False)
    try:
        app = create_app(engine)
    except ValueError as exc:  # bad API_KEYS
        log.error("%s", exc)
        return 2
    # uvicorn stops gracefully on SIGTERM/SIGINT, then re-raises the signal: make that a clean exit (0),
    # which is what the supervisor of `python -m engine run` expects from a child it stopped.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, proxy_headers=False)
    return 0


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
