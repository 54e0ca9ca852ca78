"""Debian packages a test needs (Chromium, promtool, ...), installed with apt-get when missing, never downloaded
otherwise; a machine without apt-get skips the test and says why."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def ensure_tool(package: str, tool: str) -> str:
    """The path of `tool` (a command name or an absolute path), installing Debian's `package` if it is missing."""
    found = _find(tool)
    if found:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip(f"{tool} is not installed and apt-get is not available to install Debian's {package} package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", package]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    found = _find(tool)
    assert found, f"apt-get installed {package} but {tool} is not there"
    return found


def _find(tool: str) -> str | None:
    if os.path.isabs(tool):
        return tool if os.path.exists(tool) else None
    return shutil.which(tool)
