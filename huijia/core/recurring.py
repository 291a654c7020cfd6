"""A background task that queues its own next round (the demands' deadline watch, the volunteer
reminders): one round waiting at a time, on a backend that can run a task later.

`make run` calls `ensure_queued` before starting the worker; each round ends by calling `queue_next`.
When two rounds are ever queued (two workers started at once), the first to run finds the other
waiting and does not queue a third: they fold into one.
"""

from datetime import datetime

from django.tasks import TaskResult, TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult


def waiting(task) -> bool:
    """Whether a round of `task` is already queued and not yet started (on the database backend)."""
    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return False
    return DBTaskResult.objects.filter(
        task_path=task.module_path, backend_name=backend.alias, status=TaskResultStatus.READY
    ).exists()


def queue_next(task, run_after: datetime) -> TaskResult | None:
    """Queues the next round at `run_after`, unless one is already waiting; nothing on a backend that
    cannot run a task later (the tests' immediate backend would run it at once, and again, for ever)."""
    if not task.get_backend().supports_defer or waiting(task):
        return None
    return task.using(run_after=run_after).enqueue()


def ensure_queued(task) -> TaskResult | None:
    """Queues a round to run at once unless one is already waiting."""
    return None if waiting(task) else task.enqueue()
