"""`python -m tests.engine.forked_child PATH [CODE]`: writes what it can see of its start, exits with CODE."""
import json
import os
import sys

if __name__ == "__main__":
    path, code = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
    with open(path, "a") as fh:
        fh.write(json.dumps({"argv": sys.argv, "warm": "pytest" in sys.modules, "env": os.environ.get("FORK_TEST"),
                             "ppid": os.getppid(), "sid": os.getsid(0) == os.getpid()}) + "\n")
    sys.exit(code)
