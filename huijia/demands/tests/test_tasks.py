"""The deadline watch: reminders before a deadline, overdue after it, each once; and the job that runs it.

Time is never slept through: each round of services.check_deadlines is given the moment it runs at
(`now=`), hours after the demand came in.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from huijia.demands import selectors, services, tasks
from huijia.demands.models import Demand, DemandEvent, DemandStatus, EventKind, Rating
from huijia.demands.services import (
    accept_demand,
    check_deadlines,
    decline_demand,
    follow_demand,
    rate_demand,
    resolve_demand,
)
from huijia.demands.tests.test_services import DRAIN, inbox, report, resolved, to_member

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def watch(django_capture_on_commit_callbacks):
    """One round of the watch at `hours` after `demand` came in, with its notifications sent."""

    def run(demand: Demand, hours: float) -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return check_deadlines(now=demand.created_at + timedelta(hours=hours))

    return run


def events(demand: Demand, kind: str) -> list[DemandEvent]:
    return list(DemandEvent.objects.filter(demand=demand, kind=kind).order_by("pk"))


def fresh(demand: Demand) -> Demand:
    return Demand.objects.get(pk=demand.pk)


# --- reminders and overdue marks ---------------------------------------------------------------------


def test_a_reminder_before_the_deadline_to_respond_once(world, watch):
    demand = report(world)  # drain: respond within 24 hours, resolve within 72
    assert watch(demand, 1) == {"reminded": 0, "overdue": 0}
    assert watch(demand, 21) == {"reminded": 1, "overdue": 0}
    assert fresh(demand).reminded_at == demand.created_at + timedelta(hours=21)
    [event] = events(demand, EventKind.REMINDED)
    assert (event.actor, event.actor_label) == (None, "系统")
    assert inbox(world, "estate_secretary") == [f"诉求即将到期：{DRAIN[:30]}"]
    assert watch(demand, 22) == {"reminded": 0, "overdue": 0}
    assert watch(demand, 23.9) == {"reminded": 0, "overdue": 0}
    assert len(events(demand, EventKind.REMINDED)) == 1
    assert len(inbox(world, "estate_secretary")) == 1
    assert fresh(demand).version == 1  # a staff form open on it is not made stale by the watch


def test_overdue_is_marked_once_after_the_deadline_passes(world, watch):
    demand = report(world)
    assert watch(demand, 23.99)["overdue"] == 0
    assert watch(demand, 24.01) == {"reminded": 0, "overdue": 1}
    assert fresh(demand).overdue
    [event] = events(demand, EventKind.OVERDUE)
    assert event.text == "已超过受理时限"
    assert inbox(world, "estate_secretary")[-1] == f"诉求超时未受理：{DRAIN[:30]}"
    for hours in (25, 48, 200):
        assert watch(demand, hours) == {"reminded": 0, "overdue": 0}
    assert len(events(demand, EventKind.OVERDUE)) == 1
    assert [d.pk for d in selectors.late_for(actor=world.actor("estate_secretary"))] == [demand.pk]
    assert [d.pk for d in selectors.late_for(actor=world.actor("staff"))] == [demand.pk]
    assert not selectors.late_for(actor=world.actor("other_staff")).exists()


def test_without_a_branch_secretary_the_community_staff_hear_it(world, watch):
    in_a2 = report(world, area="a2_bldg")  # A2's estate has no branch secretary
    on_community = report(world, area="a1")  # on the community itself: no estate
    watch(in_a2, 30)
    assert inbox(world, "other_staff") == [f"诉求超时未受理：{DRAIN[:30]}"]
    assert inbox(world, "staff") == [f"诉求超时未受理：{DRAIN[:30]}"]  # the one on A1 itself
    assert inbox(world, "estate_secretary") == []
    assert fresh(on_community).overdue


def test_acceptance_lifts_the_overdue_flag_and_the_resolve_deadline_is_then_watched(world, watch):
    demand = report(world)
    watch(demand, 21)
    watch(demand, 25)
    assert fresh(demand).overdue
    accept_demand(actor=world.actor("staff"), demand_id=demand.pk)  # late, but accepted
    demand = fresh(demand)
    assert (demand.overdue, demand.reminded_at) == (False, None)
    assert not selectors.late_for(actor=world.actor("estate_secretary")).exists()
    to_member(world, demand)
    assert watch(demand, 60) == {"reminded": 0, "overdue": 0}
    assert watch(demand, 69) == {"reminded": 1, "overdue": 0}
    assert inbox(world, "member")[-1] == f"诉求即将到期：{DRAIN[:30]}"  # the assignee is reminded
    assert watch(demand, 70) == {"reminded": 0, "overdue": 0}
    assert watch(demand, 72.5) == {"reminded": 0, "overdue": 1}
    assert events(demand, EventKind.OVERDUE)[-1].text == "已超过办结时限"
    assert inbox(world, "estate_secretary")[-1] == f"诉求超时未办结：{DRAIN[:30]}"
    assert watch(demand, 100) == {"reminded": 0, "overdue": 0}
    assert len(events(demand, EventKind.OVERDUE)) == 2  # once for responding, once for resolving


def test_closed_declined_resolved_and_merged_demands_are_never_marked(world, watch):
    declined = report(world)
    decline_demand(actor=world.actor("staff"), demand_id=declined.pk, reason="不属于社区职责")
    done = report(world)
    resolved(world, done)
    closed = report(world, "resident")
    resolved(world, closed)
    rate_demand(actor=world.actor("resident"), demand_id=closed.pk, rating=Rating.SATISFIED)
    main = report(world)
    follower = follow_demand(actor=world.actor("resident"), demand_id=main.pk)
    accept_demand(actor=world.actor("staff"), demand_id=main.pk)
    resolve_demand(actor=world.actor("staff"), demand_id=main.pk, resolution="已处理")
    merged_open = follow_demand(actor=world.actor("resident"), demand_id=report(world).pk)
    quiet = [declined, done, closed, main, follower, merged_open]
    for hours in (21, 23, 70, 80, 500):
        watch(declined, hours)
    for demand in quiet:
        demand = fresh(demand)
        assert not demand.overdue
        assert demand.reminded_at is None
        assert not events(demand, EventKind.OVERDUE)
        assert not events(demand, EventKind.REMINDED)
    assert fresh(merged_open).status == DemandStatus.MERGED


def test_a_demand_accepted_after_it_was_listed_is_left_alone(world, monkeypatch):
    """The round lists late demands first, then locks each: a demand accepted in between is skipped."""
    demand = report(world)
    listed = services._mark_overdue

    def accept_first(pk, now):
        accept_demand(actor=world.actor("staff"), demand_id=pk)
        return listed(pk, now)

    monkeypatch.setattr(services, "_mark_overdue", accept_first)
    assert check_deadlines(now=demand.created_at + timedelta(hours=25)) == {"reminded": 0, "overdue": 0}
    assert not fresh(demand).overdue


# --- the job -----------------------------------------------------------------------------------------


def test_the_job_runs_the_watch(world):
    demand = report(world)
    Demand.objects.filter(pk=demand.pk).update(respond_by=demand.created_at)  # already late
    result = tasks.watch_deadlines.enqueue()  # the tests' backend runs a task at once
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"reminded": 0, "overdue": 1}
    assert fresh(demand).overdue
    assert tasks.schedule_next() is None  # and cannot run one later: nothing queued, no endless loop


def waiting() -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(
            task_path=tasks.watch_deadlines.module_path, status=TaskResultStatus.READY
        )
    )


def test_make_run_queues_the_watch_once(db, settings):
    settings.TASKS = DB_TASKS
    first = tasks.ensure_scheduled()
    assert first is not None
    [row] = waiting()
    assert row.task_result.task.run_after is None  # due at once
    assert tasks.ensure_scheduled() is None  # `make run` again: still one
    out = StringIO()
    call_command("demand_deadlines", "--schedule", stdout=out)
    assert "已在队列中" in out.getvalue()
    assert len(waiting()) == 1


@pytest.mark.django_db(transaction=True)  # the worker ends its transactions and checks its connection
def test_each_round_queues_the_next_one_ten_minutes_later(world, settings):
    settings.TASKS = DB_TASKS
    demand = report(world)
    Demand.objects.filter(pk=demand.pk).update(respond_by=demand.created_at)
    tasks.ensure_scheduled()
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--verbosity", "0")
    assert fresh(demand).overdue
    done = DBTaskResult.objects.get(
        task_path=tasks.watch_deadlines.module_path, status=TaskResultStatus.SUCCESSFUL
    )
    assert done.return_value == {"reminded": 0, "overdue": 1}
    [next_round] = waiting()
    delay = next_round.run_after - done.finished_at
    assert timedelta(minutes=9) < delay <= timedelta(minutes=10)
    assert tasks.schedule_next() is None  # one is waiting: no second chain


def test_a_failing_round_still_queues_the_next(world, settings, monkeypatch):
    settings.TASKS = DB_TASKS

    def broken(now=None):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tasks, "check_deadlines", broken)
    with pytest.raises(RuntimeError):
        tasks.watch_deadlines.call()
    assert len(waiting()) == 1


def test_the_cron_command_runs_one_round(world):
    demand = report(world)
    Demand.objects.filter(pk=demand.pk).update(respond_by=demand.created_at)
    out = StringIO()
    call_command("demand_deadlines", stdout=out)
    assert out.getvalue().strip() == "提醒 0 条即将到期的诉求，标记 1 条超时诉求。"
    assert fresh(demand).overdue
    call_command("demand_deadlines", stdout=out)
    assert len(events(demand, EventKind.OVERDUE)) == 1
