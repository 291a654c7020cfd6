"""Background jobs of demands: the deadline watch (催办 before a deadline, 超时 after it).

`watch_deadlines` runs services.check_deadlines and then queues itself to run again ten minutes
later, so one job, queued once, keeps the watch going for as long as a task worker runs (django
tasks, backend django-tasks-db, worker `manage.py db_worker`). `make run` queues it before starting
the worker (`manage.py demand_deadlines --schedule`); a site that runs no worker calls
`manage.py demand_deadlines` from cron instead. The task is a thin wrapper: the rules live in the
service.
"""

from datetime import datetime, timedelta

from django.tasks import TaskResult, task
from django.utils import timezone

from huijia.core.recurring import ensure_queued, queue_next
from huijia.demands.services import check_deadlines

INTERVAL = timedelta(minutes=10)


@task()
def watch_deadlines() -> dict[str, int]:
    """One round of the deadline watch; the next round is queued even when this one fails."""
    try:
        return check_deadlines()
    finally:
        schedule_next()


def schedule_next(*, now: datetime | None = None) -> TaskResult | None:
    """Queues the next round INTERVAL from now, unless one is already waiting (huijia.core.recurring)."""
    return queue_next(watch_deadlines, (now or timezone.now()) + INTERVAL)


def ensure_scheduled() -> TaskResult | None:
    """Queues a round to run at once unless one is already waiting (`make run`, before the worker)."""
    return ensure_queued(watch_deadlines)
