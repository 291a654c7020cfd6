"""The annual minimum's policy and its reminders: who is told, when, and only once a year.

The day is always given (`today=`), never read from the clock, so the tests pass on any date.
"""

from datetime import date, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from huijia.accounts.models import AuditLog, Notification
from huijia.core.testing import make_member, register
from huijia.grid.models import AreaKind
from huijia.grid.services import _new_area
from huijia.volunteering import minimum, tasks
from huijia.volunteering.minimum import DEFAULT_POLICY, Policy, policy_for, send_minimum_reminders
from huijia.volunteering.models import MinimumReminder, VolunteerPolicy
from huijia.volunteering.testing import enrol, make_activity, record

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def year_now() -> int:
    return timezone.localdate().year


def in_season() -> date:
    return date(year_now(), 12, 1)  # 30 days before the year ends: inside the default 45


def served_twice(w, key: str) -> None:
    for hours_ago in (5, 9):
        activity = make_activity(w, slots=[("活动室", -hours_ago, 1, 5)])
        slot = activity.slots.get()
        enrol(slot, w.members[key])
        record(slot, w.members[key])


def inbox(user) -> list[str]:
    return list(Notification.objects.filter(user=user).values_list("text", flat=True))


def test_policy_defaults_and_per_city(world):
    assert policy_for(world.areas["a1"]) == DEFAULT_POLICY == Policy(2, 45)
    assert policy_for(None) == DEFAULT_POLICY
    VolunteerPolicy.objects.create(city=world.areas["city"], annual_minimum=3, remind_days_before_year_end=30)
    assert policy_for(world.areas["a1_estate"]) == Policy(3, 30)


def test_reminder_season_starts_so_many_days_before_the_year_ends():
    assert DEFAULT_POLICY.reminds_on(date(2026, 11, 16))  # 31 Dec minus 45 days
    assert not DEFAULT_POLICY.reminds_on(date(2026, 11, 15))
    assert DEFAULT_POLICY.reminds_on(date(2026, 12, 31))
    assert not DEFAULT_POLICY.reminds_on(date(2027, 1, 2))


def test_reminders_go_once_a_year_to_members_below_the_minimum(world, django_capture_on_commit_callbacks):
    w = world
    served_twice(w, "other_member")  # at the minimum: not told
    make_member(w, "no_account", name="钱多", serial=31, unit="u1", user=False)
    register(w, "no_account", "a1", "a1_202")  # no account to be told through: left alone
    with django_capture_on_commit_callbacks(execute=True):
        counts = send_minimum_reminders(today=in_season())
    assert counts == {"reminded": 1, "cities": 1}  # `member`; pending_member has not reported in
    (text,) = inbox(w.users["member"])
    assert "今年您已参加志愿服务0次，每年至少2次" in text
    assert Notification.objects.get(user=w.users["member"]).url == "/m/volunteer/records/"
    assert inbox(w.users["other_member"]) == []
    assert inbox(w.users["pending_member"]) == []
    assert MinimumReminder.objects.filter(year=year_now()).count() == 1
    assert AuditLog.objects.filter(action="volunteer.minimum_reminders").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        again = send_minimum_reminders(today=date(year_now(), 12, 20))
    assert again["reminded"] == 0
    assert len(inbox(w.users["member"])) == 1


def test_no_reminders_before_the_season_and_the_citys_own_season(world):
    assert send_minimum_reminders(today=date(year_now(), 11, 1)) == {"reminded": 0, "cities": 0}
    VolunteerPolicy.objects.create(city=world.areas["city"], remind_days_before_year_end=10)
    assert send_minimum_reminders(today=in_season())["cities"] == 0  # this city starts on 21 December
    assert send_minimum_reminders(today=date(year_now(), 12, 22))["reminded"] == 2  # member, other_member


def test_a_second_city_has_its_own_minimum(world, django_capture_on_commit_callbacks):
    w = world
    other_city = _new_area(parent=None, kind=AreaKind.CITY, name="株洲市")
    VolunteerPolicy.objects.create(city=other_city, annual_minimum=1)
    VolunteerPolicy.objects.create(city=w.areas["city"], annual_minimum=3)
    served_twice(w, "member")  # two: below Changsha's three
    counts = send_minimum_reminders(today=in_season())
    assert counts == {"reminded": 2, "cities": 2}  # member and other_member, both in Changsha


def test_the_job_requeues_itself_for_the_next_morning(world, settings):
    settings.TASKS = DB_TASKS
    tz = timezone.get_current_timezone()
    queued = tasks.schedule_next(now=datetime(2026, 12, 3, 15, 0, tzinfo=tz))
    assert queued is not None
    row = DBTaskResult.objects.get()
    assert timezone.localtime(row.run_after) == datetime(2026, 12, 4, 9, 0, tzinfo=tz)
    assert tasks.schedule_next() is None  # one is waiting: not a second
    assert tasks.next_run(datetime(2026, 12, 3, 8, 0, tzinfo=tz)) == datetime(2026, 12, 3, 9, 0, tzinfo=tz)


def test_the_job_runs_the_service_and_queues_the_next_round(world, settings, monkeypatch):
    settings.TASKS = DB_TASKS
    monkeypatch.setattr(tasks, "send_minimum_reminders", lambda: {"reminded": 7, "cities": 1})
    assert tasks.remind_below_minimum.call() == {"reminded": 7, "cities": 1}
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1


def test_the_job_on_the_immediate_backend_does_not_loop(world):
    assert tasks.remind_below_minimum.enqueue().return_value["cities"] in (0, 1)
    assert tasks.schedule_next() is None


def test_the_command_runs_a_round_or_queues_the_job(world, settings, monkeypatch):
    out = StringIO()
    monkeypatch.setattr(
        "huijia.volunteering.management.commands.volunteer_reminders.send_minimum_reminders",
        lambda: {"reminded": 3, "cities": 1},
    )
    call_command("volunteer_reminders", stdout=out)
    assert "提醒了 3 名" in out.getvalue()
    settings.TASKS = DB_TASKS
    out = StringIO()
    call_command("volunteer_reminders", "--schedule", stdout=out)
    call_command("volunteer_reminders", "--schedule", stdout=out)
    assert "已排队" in out.getvalue()
    assert "已在队列中" in out.getvalue()
    assert DBTaskResult.objects.count() == 1


@pytest.mark.parametrize("days", [0, 45, 365])
def test_policy_of_a_city_row(world, days):
    city = world.areas["city"]
    row = VolunteerPolicy.objects.create(city=city, annual_minimum=5, remind_days_before_year_end=days)
    assert minimum.policy_for(world.areas["a1"]) == Policy(5, days)
    assert minimum.all_policies() == {row.city_id: Policy(5, days)}
