"""Hooks that SIGKILL the worker at exact points of a job's life, once per job."""
import os

from engine.hooks import Hooks


def _once(job, point: str) -> bool:
    return bool(job.connection.set(f"test:crash:{point}:{job.id}", 1, nx=True))


class CrashBeforeStart(Hooks):
    def before_job(self, job, queue):
        if _once(job, "start"):
            os.kill(os.getpid(), 9)


class CrashWhileCompleting(Hooks):
    def after_job(self, job, queue, result):
        if _once(job, "complete"):
            os.kill(os.getpid(), 9)
