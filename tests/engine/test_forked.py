"""The supervisor's forked `python -m` children (make run): warm, their own session, exit codes, restarts."""
import json
import os
import sys

from engine.forked import ForkedProcess, forkable
from engine.supervisor import Child, Supervisor


def test_a_python_m_child_is_forked_from_the_warm_supervisor_and_exits_with_its_code(tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "tests.engine.forked_child", str(out), "3"]
    assert forkable(argv) and not forkable(["/bin/true"])
    proc = ForkedProcess(argv, {**os.environ, "FORK_TEST": "yes"})
    assert proc.wait(timeout=20) == 3 and proc.poll() == 3
    [seen] = [json.loads(line) for line in out.read_text().splitlines()]
    argv0 = seen.pop("argv")
    assert argv0[0].endswith("tests/engine/forked_child.py") and argv0[1:] == [str(out), "3"]  # as `python -m` sets it
    assert seen == {"warm": True, "env": "yes", "ppid": os.getpid(), "sid": True}
    assert "FORK_TEST" not in os.environ  # the child's environment is its own


def test_the_supervisor_forks_python_children_only_when_asked_and_restarts_them(tmp_path):
    out = tmp_path / "out"
    child = Child("once", [sys.executable, "-m", "tests.engine.forked_child", str(out), "0"], restart=False)
    assert Supervisor([child], fork_python=True).run(until_all_exit=True) == 0
    cold = Child("cold", [sys.executable, "-m", "tests.engine.forked_child", str(out), "0"], restart=False)
    assert Supervisor([cold]).run(until_all_exit=True) == 0
    assert [json.loads(line)["warm"] for line in out.read_text().splitlines()] == [True, False]
