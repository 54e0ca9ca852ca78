"""pyproject.toml: the package builds offline, installs, and its `jobqueue` console script runs the same
commands as `python -m engine`, from the installed copy; its pins are requirements.txt's runtime pins."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "processors", "domain", "api_shim", "dashboard")


def runtime_pins() -> list[str]:
    """requirements.txt's lines between "# Runtime" and the next comment."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    start = lines.index("# Runtime") + 1
    pins = []
    for line in lines[start:]:
        if line.startswith("#"):
            break
        if line.strip():
            pins.append(line.strip())
    return pins


def test_package_dependencies_are_the_runtime_pins_of_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == runtime_pins()
    assert project["scripts"] == {"jobqueue": "engine.cli:main"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from a copy of the source and installed (no dependencies) into a folder of its own."""
    work = tmp_path_factory.mktemp("pkg")
    src = work / "src"
    src.mkdir()
    for name in PACKAGES:
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(work / "dist"),
                            str(src)], capture_output=True, text=True, timeout=240)
    assert built.returncode == 0, built.stderr
    [wheel] = (work / "dist").glob("jobqueue-*.whl")
    target = work / "site"
    done = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    return target


def run_installed(target: Path, redis_url: str, *argv: str) -> subprocess.CompletedProcess:
    """Run in an empty folder with only the installed copy importable (not this checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), REDIS_URL=redis_url)
    cwd = target.parent / "elsewhere"
    cwd.mkdir(exist_ok=True)
    return subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_jobqueue_script_runs_the_engine_commands_from_the_installed_package(installed, engine, redis_url):
    script = installed / "bin" / "jobqueue"
    where = run_installed(installed, redis_url, sys.executable, "-c", "import engine; print(engine.__file__)")
    assert where.stdout.strip().startswith(str(installed)), where.stderr
    assert (installed / "engine" / "lua" / "enqueue.lua").exists()

    helped = run_installed(installed, redis_url, str(script), "--help")
    assert helped.returncode == 0 and "workers" in helped.stdout and "dead-letters" in helped.stdout
    assert helped.stdout.startswith("usage: jobqueue ")
    added = run_installed(installed, redis_url, str(script), "enqueue", "creditReconciliation", "{}")
    assert added.returncode == 0, added.stderr
    info = run_installed(installed, redis_url, str(script), "info")
    assert info.returncode == 0, info.stderr
    counts = json.loads(info.stdout)
    assert list(counts) == engine.table.names and counts["creditReconciliation"]["waiting"]["total"] == 1
    bad = run_installed(installed, redis_url, str(script), "workers", "--queues", "sms")
    assert bad.returncode == 2 and "unknown queue" in bad.stderr
