"""BullMQ, what users would pick instead, on the same server in the same run: `node bench/bullmq/drain.mjs`.

The bench installs the pinned BullMQ (bench/bullmq/package.json, package-lock.json) with npm into
bench/bullmq/node_modules (gitignored) on first use. Without `node` (or npm) every BullMQ figure is
"skipped: node missing".
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent / "bullmq"


class Skipped(Exception):
    """BullMQ cannot run here; the message says why."""


def ensure_installed() -> None:
    """node_modules from the lock file (npm ci), once; Skipped when node or npm is missing."""
    if not shutil.which("node"):
        raise Skipped("skipped: node missing")
    if (HERE / "node_modules" / "bullmq" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if not npm:
        raise Skipped("skipped: npm missing")
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=HERE,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise Skipped(f"skipped: npm ci failed: {done.stderr.strip().splitlines()[-1:]}")


def drain(url: str, jobs: int, concurrency: int, *, sleep_ms: int = 0, queue: str = "bullbench") -> float:
    """BullMQ's steady-state rate (jobs/s) for `jobs` no-op jobs and one Worker of `concurrency`."""
    ensure_installed()
    done = subprocess.run(["node", "drain.mjs", url, queue, str(jobs), str(concurrency), str(sleep_ms)], cwd=HERE,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"bullmq drain failed: {done.stderr.strip()[-500:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["rate"])
