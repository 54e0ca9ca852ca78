"""A Hooks class for the ENGINE_HOOKS tests: appends every final failure to the file named by
TEST_HOOKS_LOG (so it is seen across processes)."""
import json
import os

from engine.hooks import Hooks


class RecordFinalFailures(Hooks):
    def on_final_failure(self, job_id, queue, error):
        with open(os.environ["TEST_HOOKS_LOG"], "a") as fh:
            fh.write(json.dumps({"job_id": job_id, "queue": queue, "type": error["type"], "pid": os.getpid()}) + "\n")


class NotHooks:
    """Not a Hooks subclass: ENGINE_HOOKS naming it is refused."""
