"""Background jobs of demands: the deadline watch (催办 before a deadline, 超时 after it).

`watch_deadlines` runs services.check_deadlines and then queues itself to run again ten minutes
later, so one job, queued once, keeps the watch going for as long as a task worker runs (django
tasks, backend django-tasks-db, worker `manage.py db_worker`). `make run` queues it before starting
the worker (`manage.py demand_deadlines --schedule`); a site that runs no worker calls
`manage.py demand_deadlines` from cron instead. The task is a thin wrapper: the rules live in the
service.
"""

from datetime import datetime, timedelta

from django.tasks import TaskResult, TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from huijia.demands.services import check_deadlines

INTERVAL = timedelta(minutes=10)


@task()
def watch_deadlines() -> dict[str, int]:
    """One round of the deadline watch; the next round is queued even when this one fails."""
    try:
        return check_deadlines()
    finally:
        schedule_next()


def _waiting() -> bool:
    """Whether a round of the watch is already queued and not yet started (on the database backend)."""
    backend = watch_deadlines.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return False
    return DBTaskResult.objects.filter(
        task_path=watch_deadlines.module_path,
        backend_name=backend.alias,
        status=TaskResultStatus.READY,
    ).exists()


def schedule_next(*, now: datetime | None = None) -> TaskResult | None:
    """Queues the next round INTERVAL from now, unless one is already waiting.

    Nothing is queued on a backend that cannot run a task later (the tests' immediate backend would
    run it at once, and again, for ever). When two rounds are ever queued (two workers started at
    once), the first to run finds the other waiting and does not queue a third: they fold into one.
    """
    if not watch_deadlines.get_backend().supports_defer or _waiting():
        return None
    return watch_deadlines.using(run_after=(now or timezone.now()) + INTERVAL).enqueue()


def ensure_scheduled() -> TaskResult | None:
    """Queues a round to run at once unless one is already waiting (`make run`, before the worker)."""
    if _waiting():
        return None
    return watch_deadlines.enqueue()
