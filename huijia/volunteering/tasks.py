"""Background job of volunteering: the annual-minimum reminders.

`remind_below_minimum` runs minimum.send_minimum_reminders (which does nothing outside a city's
reminder season, and tells each member at most once a year) and then queues itself for the next
morning, so one job, queued once, keeps going for as long as a task worker runs (django tasks,
backend django-tasks-db, worker `manage.py db_worker`), like demands.tasks.watch_deadlines. `make run`
queues it before starting the worker (`manage.py volunteer_reminders --schedule`); a site that runs no
worker calls `manage.py volunteer_reminders` from cron once a day instead.
"""

from datetime import datetime, time, timedelta

from django.tasks import TaskResult, task
from django.utils import timezone

from huijia.core.recurring import ensure_queued, queue_next
from huijia.volunteering.minimum import send_minimum_reminders

RUN_AT = time(9, 0)  # in the morning, not at midnight: a reminder is read when it arrives


@task()
def remind_below_minimum() -> dict[str, int]:
    """One daily round of the reminders; the next round is queued even when this one fails."""
    try:
        return send_minimum_reminders()
    finally:
        schedule_next()


def next_run(now: datetime | None = None) -> datetime:
    """The next RUN_AT after `now`, in the site's time zone."""
    local = timezone.localtime(now or timezone.now())
    day = local.date() + timedelta(days=1 if local.time() >= RUN_AT else 0)
    return datetime.combine(day, RUN_AT, tzinfo=local.tzinfo)


def schedule_next(*, now: datetime | None = None) -> TaskResult | None:
    """Queues the next round for the next morning, unless one is already waiting (nothing on a
    backend that cannot run a task later: the tests' immediate backend would loop for ever)."""
    return queue_next(remind_below_minimum, next_run(now))


def ensure_scheduled() -> TaskResult | None:
    """Queues a round to run at once unless one is already waiting (`make run`, before the worker)."""
    return ensure_queued(remind_below_minimum)
