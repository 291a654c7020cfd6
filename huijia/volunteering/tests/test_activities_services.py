"""Publishing activities, posts and tasks, and signing up for them (the services).

After each step the tests look at what a user relies on: the slots and places shown, who is confirmed
and who waits, who was told, the audit trail; refused and bad steps store nothing.
"""

from datetime import date, time, timedelta
from decimal import Decimal  # noqa: F401 (kept for symmetry with record tests)

import pytest
from django.utils import timezone

from huijia.accounts.models import AuditLog, Notification
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.volunteering import activities as svc
from huijia.volunteering.activities import ActivityInput, Recurrence, ShiftTime, SlotInput
from huijia.volunteering.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Audience,
    Enrolment,
    EnrolmentStatus,
    OrganiserKind,
    Pairing,
    ServiceTeam,
    ServiceTeamMember,
    Slot,
)
from huijia.volunteering.testing import enrol, make_activity


def later(hours: float):
    return timezone.now() + timedelta(hours=hours)


def slot(venue="3栋楼下", start_h=24.0, length_h=2.0, capacity=10, **kw) -> SlotInput:
    return SlotInput(
        venue=venue, starts_at=later(start_h), ends_at=later(start_h + length_h), capacity=capacity, **kw
    )


def data(**kw) -> ActivityInput:
    fields = {
        "title": "清理楼道小广告",
        "category": "environment",
        "organiser_kind": OrganiserKind.COMMUNITY,
        "slots": (slot(),),
    }
    fields.update(kw)
    return ActivityInput(**fields)


def state() -> tuple:
    return (
        tuple(Activity.objects.order_by("pk").values_list("pk", "status", "title")),
        tuple(
            Slot.objects.order_by("pk").values_list("pk", "capacity", "confirmed", "waitlisted", "starts_at")
        ),
        tuple(Enrolment.objects.order_by("pk").values_list("pk", "status")),
        AuditLog.objects.count(),
    )


def team(world, leader="member", community="a1", name="教师志愿服务队") -> ServiceTeam:
    t = ServiceTeam.objects.create(community=world.areas[community], name=name, service_areas=["助学"])
    ServiceTeamMember.objects.create(team=t, member=world.members[leader], is_leader=True)
    return t


def pair(world, unit="u1", community="a1", **kw) -> Pairing:
    return Pairing.objects.create(
        work_unit=world.units[unit], community=world.areas[community], starts_on=date(2020, 1, 1), **kw
    )


# --- publishing ----------------------------------------------------------------------------------------


def test_community_staff_publish_an_activity_with_several_venues(world):
    a1 = world.areas["a1"]
    activity = svc.publish_activity(
        actor=world.actor("staff"),
        data=data(
            community_id=a1.pk,
            description="带上手套",
            slots=(slot("2栋", 48, 3, 20), slot("1栋", 24, 2, 10, label="上午")),
        ),
    )
    assert activity.community == a1
    assert activity.organiser_kind == OrganiserKind.COMMUNITY
    assert activity.status == ActivityStatus.PUBLISHED
    rows = list(activity.slots.order_by("starts_at").values_list("venue", "label", "capacity", "confirmed"))
    assert rows == [("1栋", "上午", 10, 0), ("2栋", "", 20, 0)]
    first, last = activity.slots.order_by("starts_at")
    assert activity.starts_at == first.starts_at
    assert activity.ends_at == last.ends_at
    log = AuditLog.objects.get(action="volunteering.publish")
    assert log.detail == {"kind": "activity", "organiser": "community", "slots": 2}


def test_the_estate_secretary_publishes_for_the_estate_in_its_community(world):
    activity = svc.publish_activity(
        actor=world.actor("estate_secretary"),
        data=data(organiser_kind=OrganiserKind.ESTATE, estate_id=world.areas["a1_estate"].pk),
    )
    assert activity.estate == world.areas["a1_estate"]
    assert activity.community == world.areas["a1"]
    with pytest.raises(Forbidden):  # not as the community
        svc.publish_activity(
            actor=world.actor("estate_secretary"), data=data(community_id=world.areas["a1"].pk)
        )
    with pytest.raises(Forbidden):  # not for another estate
        svc.publish_activity(
            actor=world.actor("estate_secretary"),
            data=data(organiser_kind=OrganiserKind.ESTATE, estate_id=world.areas["a2_estate"].pk),
        )


def test_a_team_leader_publishes_a_team_only_activity(world):
    t = team(world)
    activity = svc.publish_activity(
        actor=world.actor("member"),
        data=data(organiser_kind=OrganiserKind.TEAM, service_team_id=t.pk, audience=Audience.TEAM),
    )
    assert activity.service_team == t
    assert activity.community == world.areas["a1"]
    assert activity.audience == Audience.TEAM
    with pytest.raises(Forbidden):  # a member who does not lead it
        svc.publish_activity(
            actor=world.actor("other_member"),
            data=data(organiser_kind=OrganiserKind.TEAM, service_team_id=t.pk),
        )


def test_only_a_team_activity_may_be_for_the_team_only(world):
    before = state()
    with pytest.raises(InvalidInput) as err:
        svc.publish_activity(
            actor=world.actor("staff"), data=data(community_id=world.areas["a1"].pk, audience=Audience.TEAM)
        )
    assert err.value.code == "team_audience"
    assert state() == before


def test_a_work_unit_publishes_a_joint_activity_only_where_it_is_paired(world):
    organiser, a1 = world.actor("unit_organiser"), world.areas["a1"]
    unit_data = data(organiser_kind=OrganiserKind.WORK_UNIT, community_id=a1.pk)
    before = state()
    with pytest.raises(Forbidden) as err:
        svc.publish_activity(actor=organiser, data=unit_data)
    assert err.value.code == "not_paired"
    assert "结对" in err.value.message
    assert state() == before
    pairing = pair(world, community="a1", ends_on=date(2020, 12, 31))  # its period is over
    with pytest.raises(Forbidden):
        svc.publish_activity(actor=organiser, data=unit_data)
    Pairing.objects.filter(pk=pairing.pk).update(ends_on=None)
    activity = svc.publish_activity(actor=organiser, data=unit_data)
    assert activity.work_unit == world.units["u1"]
    assert activity.pairing == pairing
    assert activity.organiser_kind == OrganiserKind.WORK_UNIT


def test_others_may_not_publish_for_a_community(world):
    a1 = world.areas["a1"].pk
    before = state()
    for name in ("other_staff", "street_staff", "org_dept", "building_head", "member", "resident"):
        with pytest.raises(Forbidden):
            svc.publish_activity(actor=world.actor(name), data=data(community_id=a1))
    assert state() == before


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"title": "  "}, "title", "title_empty"),
        ({"title": "长" * 101}, "title", "title_too_long"),
        ({"category": "dancing"}, "category", "bad_category"),
        ({"audience": "everyone"}, "audience", "bad_audience"),
        ({"slots": ()}, "slots", "slots_empty"),
        ({"slots": (slot(venue=" "),)}, "slots.0.venue", "venue_empty"),
        ({"slots": (slot(start_h=-1),)}, "slots.0.starts_at", "in_the_past"),
        ({"slots": (slot(length_h=-1),)}, "slots.0.ends_at", "bad_time"),
        ({"slots": (slot(length_h=30),)}, "slots.0.ends_at", "slot_too_long"),
        ({"slots": (slot(), slot(capacity=0))}, "slots.1.capacity", "bad_capacity"),
        ({"slots": (slot(capacity=10001),)}, "slots.0.capacity", "bad_capacity"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_stored(world, change, field, code):
    before = state()
    with pytest.raises(InvalidInput) as err:
        svc.publish_activity(
            actor=world.actor("staff"), data=data(community_id=world.areas["a1"].pk, **change)
        )
    assert err.value.code == code
    assert field in err.value.fields
    assert err.value.message
    assert state() == before


def test_a_task_has_thousands_of_places(world):
    activity = svc.publish_activity(
        actor=world.actor("staff"),
        data=data(
            community_id=world.areas["a1"].pk,
            kind=ActivityKind.TASK,
            category="emergency",
            title="防疫值守任务",
            slots=(slot("各小区卡口", 24, 8, 2400),),
        ),
    )
    assert activity.kind == ActivityKind.TASK
    assert activity.slots.get().capacity == 2400


# --- posts ---------------------------------------------------------------------------------------------


def test_a_post_gets_its_shifts_from_weekdays_times_and_dates(world):
    start = timezone.localdate() + timedelta(days=1)
    while start.weekday() != 0:  # the next Monday
        start += timedelta(days=1)
    recurrence = Recurrence(
        date_from=start,
        date_to=start + timedelta(days=13),  # two weeks
        weekdays=frozenset({0, 2}),  # Monday and Wednesday
        times=(ShiftTime(time(14, 0), time(17, 0), "下午班"), ShiftTime(time(9, 0), time(12, 0), "上午班")),
        venue="社区党群服务中心",
        capacity=2,
    )
    post = svc.publish_post(
        actor=world.actor("staff"),
        data=data(community_id=world.areas["a1"].pk, title="社情民意收集岗", category="opinion"),
        recurrence=recurrence,
    )
    shifts = list(post.slots.order_by("starts_at"))
    assert post.kind == ActivityKind.POST
    assert len(shifts) == 8  # 2 weeks × 2 days × 2 shifts
    local = [timezone.localtime(s.starts_at) for s in shifts]
    assert {d.weekday() for d in local} == {0, 2}
    assert [(d.hour, s.label) for d, s in zip(local[:2], shifts[:2], strict=True)] == [
        (9, "上午班"),
        (14, "下午班"),
    ]
    assert all(s.capacity == 2 and s.venue == "社区党群服务中心" for s in shifts)
    assert post.starts_at == shifts[0].starts_at
    assert post.ends_at == shifts[-1].ends_at


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"weekdays": frozenset()}, "weekdays_empty"),
        ({"times": ()}, "times_empty"),
        ({"times": (ShiftTime(time(12, 0), time(9, 0)),)}, "bad_shift_time"),
        ({"date_to": date(2020, 1, 1)}, "bad_period"),
        ({"date_to": timezone.localdate() + timedelta(days=400)}, "period_too_long"),
    ],
)
def test_a_bad_recurrence_is_refused(world, change, code):
    fields = {
        "date_from": timezone.localdate() + timedelta(days=1),
        "date_to": timezone.localdate() + timedelta(days=10),
        "weekdays": frozenset({5}),
        "times": (ShiftTime(time(9, 0), time(11, 0)),),
        "venue": "门口",
        "capacity": 1,
    }
    fields.update(change)
    before = state()
    with pytest.raises(InvalidInput) as err:
        svc.publish_post(
            actor=world.actor("staff"),
            data=data(community_id=world.areas["a1"].pk),
            recurrence=Recurrence(**fields),
        )
    assert err.value.code == code
    assert state() == before


# --- edit, cancel, close -------------------------------------------------------------------------------


def test_the_organiser_edits_before_the_start_capacity_never_below_confirmed(
    world, django_capture_on_commit_callbacks
):
    activity = make_activity(world, slots=[("3栋楼下", 24, 2, 2), ("5栋楼下", 48, 2, 2)])
    s1, s2 = activity.slots.order_by("starts_at")
    member, other = world.members["member"], world.members["other_member"]
    enrol(s1, member)
    enrol(s1, other)
    staff = world.actor("staff")

    def keep(s, **kw):
        fields = {"venue": s.venue, "starts_at": s.starts_at, "ends_at": s.ends_at, "capacity": s.capacity}
        fields.update(kw)
        return SlotInput(id=s.pk, **fields)

    before = state()
    with pytest.raises(InvalidInput) as err:
        svc.update_activity(
            actor=staff, activity_id=activity.pk, title="新名称", slots=(keep(s1, capacity=1), keep(s2))
        )
    assert err.value.code == "capacity_below_confirmed"
    assert "不能少于2" in err.value.message
    with pytest.raises(InvalidInput) as err:  # a slot people signed up for cannot be dropped
        svc.update_activity(actor=staff, activity_id=activity.pk, title="新名称", slots=(keep(s2),))
    assert err.value.code == "slot_taken"
    assert state() == before

    with django_capture_on_commit_callbacks(execute=True):
        svc.update_activity(
            actor=staff,
            activity_id=activity.pk,
            title="清理楼道（改期）",
            slots=(keep(s1, venue="3栋大厅", capacity=3), slot("7栋", 72, 1, 5)),
        )
    activity.refresh_from_db()
    assert activity.title == "清理楼道（改期）"
    assert list(activity.slots.order_by("starts_at").values_list("venue", "capacity")) == [
        ("3栋大厅", 3),
        ("7栋", 5),
    ]
    assert activity.ends_at == activity.slots.order_by("-ends_at").first().ends_at
    told = Notification.objects.filter(text__contains="有调整")
    assert sorted(told.values_list("user_id", flat=True)) == sorted([member.user_id, other.user_id])
    with pytest.raises(Forbidden):  # staff of another community see nothing to edit
        svc.update_activity(actor=world.actor("street_staff"), activity_id=activity.pk, title="x")
    with pytest.raises(NotFound):
        svc.update_activity(actor=world.actor("other_staff"), activity_id=activity.pk, title="x")


def test_raising_capacity_gives_the_new_place_to_the_first_in_line(world, django_capture_on_commit_callbacks):
    activity = make_activity(world, slots=[("3栋楼下", 24, 2, 1)])
    s = activity.slots.get()
    svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    waiting = svc.sign_up(actor=world.actor("other_member"), slot_id=s.pk)
    assert waiting.status == EnrolmentStatus.WAITLISTED
    with django_capture_on_commit_callbacks(execute=True):
        svc.update_activity(
            actor=world.actor("staff"),
            activity_id=activity.pk,
            title=activity.title,
            slots=(SlotInput(id=s.pk, venue=s.venue, starts_at=s.starts_at, ends_at=s.ends_at, capacity=2),),
        )
    waiting.refresh_from_db()
    s.refresh_from_db()
    assert waiting.status == EnrolmentStatus.CONFIRMED
    assert (s.confirmed, s.waitlisted) == (2, 0)
    assert Notification.objects.filter(user=world.users["other_member"], text__contains="报名成功").exists()


def test_an_activity_that_started_cannot_be_edited(world):
    activity = make_activity(world, slots=[("3栋楼下", -1, 2, 5)])
    with pytest.raises(Conflict) as err:
        svc.update_activity(actor=world.actor("staff"), activity_id=activity.pk, title="改名")
    assert err.value.code == "started"


def test_cancelling_tells_everyone_signed_up_or_waiting(world, django_capture_on_commit_callbacks):
    activity = make_activity(world, slots=[("3栋楼下", 24, 2, 1)])
    s = activity.slots.get()
    enrol(s, world.members["member"])
    enrol(s, world.members["other_member"], EnrolmentStatus.WAITLISTED)
    with django_capture_on_commit_callbacks(execute=True):
        svc.cancel_activity(actor=world.actor("staff"), activity_id=activity.pk, reason="暴雨预警")
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.CANCELLED
    told = Notification.objects.filter(text__contains="已取消").filter(text__contains="暴雨预警")
    assert sorted(told.values_list("user_id", flat=True)) == sorted(
        [world.users["member"].pk, world.users["other_member"].pk]
    )
    assert AuditLog.objects.filter(action="volunteering.cancel", detail__reason="暴雨预警").exists()
    with pytest.raises(Conflict) as err:
        svc.cancel_activity(actor=world.actor("staff"), activity_id=activity.pk)
    assert err.value.code == "cancelled"
    with pytest.raises(Conflict) as err:  # and nobody signs up for it any more
        svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    assert err.value.code == "cancelled"
    assert "取消" in err.value.message


def test_closing_ends_sign_up(world):
    activity = make_activity(world)
    svc.close_activity(actor=world.actor("staff"), activity_id=activity.pk)
    with pytest.raises(Conflict) as err:
        svc.sign_up(actor=world.actor("member"), slot_id=activity.slots.get().pk)
    assert err.value.code == "closed"
    with pytest.raises(NotFound):
        svc.close_activity(actor=world.actor("other_staff"), activity_id=activity.pk)


# --- signing up ----------------------------------------------------------------------------------------


def test_sign_up_takes_a_place_then_the_waitlist(world):
    activity = make_activity(world, slots=[("3栋楼下", 24, 2, 1)])
    s = activity.slots.get()
    first = svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    second = svc.sign_up(actor=world.actor("other_member"), slot_id=s.pk)
    assert (first.status, second.status) == (EnrolmentStatus.CONFIRMED, EnrolmentStatus.WAITLISTED)
    s.refresh_from_db()
    assert (s.confirmed, s.waitlisted) == (1, 1)
    assert AuditLog.objects.filter(action="volunteering.sign_up").count() == 2


def test_signing_up_twice_is_a_clear_error(world):
    s = make_activity(world).slots.get()
    svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    before = state()
    with pytest.raises(Conflict) as err:
        svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    assert err.value.code == "already_signed_up"
    assert "已经报名" in err.value.message
    assert state() == before


def test_a_slot_that_started_takes_no_more_sign_ups(world):
    s = make_activity(world, slots=[("3栋楼下", -0.5, 2, 5)]).slots.get()
    before = state()
    with pytest.raises(Conflict) as err:
        svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    assert err.value.code == "started"
    assert "已经开始" in err.value.message
    assert state() == before


def test_who_may_join_follows_the_audience(world):
    open_ = make_activity(world, title="开放").slots.get()
    community = make_activity(world, title="本社区", audience=Audience.COMMUNITY).slots.get()
    t = team(world, leader="other_member", community="a1")
    team_only = make_activity(
        world, title="本队", audience=Audience.TEAM, organiser_kind=OrganiserKind.TEAM, service_team=t
    ).slots.get()
    # other_member reports in A2: open yes, A1-only no, their own team yes
    assert svc.sign_up(actor=world.actor("other_member"), slot_id=open_.pk)
    with pytest.raises(Forbidden) as err:
        svc.sign_up(actor=world.actor("other_member"), slot_id=community.pk)
    assert err.value.code == "not_eligible"
    assert "本社区" in err.value.message
    assert svc.sign_up(actor=world.actor("other_member"), slot_id=team_only.pk)
    # member reports in A1: not in the team
    assert svc.sign_up(actor=world.actor("member"), slot_id=community.pk)
    with pytest.raises(Forbidden) as err:
        svc.sign_up(actor=world.actor("member"), slot_id=team_only.pk)
    assert "服务队" in err.value.message
    # a member whose registration is still pending, and anyone who is not a member
    with pytest.raises(Forbidden) as err:
        svc.sign_up(actor=world.actor("pending_member"), slot_id=open_.pk)
    assert err.value.code == "not_reported"
    assert "报到" in err.value.message
    for name in ("staff", "resident", "outsider"):
        with pytest.raises(Forbidden):
            svc.sign_up(actor=world.actor(name), slot_id=open_.pk)
    with pytest.raises(NotFound):
        svc.sign_up(actor=world.actor("member"), slot_id=999999)


def test_giving_a_place_back_promotes_the_first_in_line_and_tells_them(
    world, django_capture_on_commit_callbacks
):
    from huijia.core.testing import make_member, register

    make_member(world, "third", name="周强", serial=7, unit="u1")
    register(world, "third", "a1", "a1_202")
    s = make_activity(world, slots=[("3栋楼下", 24, 2, 1)]).slots.get()
    mine = svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    second = svc.sign_up(actor=world.actor("other_member"), slot_id=s.pk)
    third = svc.sign_up(actor=world.actor("third"), slot_id=s.pk)
    with django_capture_on_commit_callbacks(execute=True):
        svc.cancel_enrolment(actor=world.actor("member"), enrolment_id=mine.pk)
    for e in (mine, second, third):
        e.refresh_from_db()
    assert (mine.status, second.status, third.status) == ("cancelled", "confirmed", "waitlisted")
    s.refresh_from_db()
    assert (s.confirmed, s.waitlisted) == (1, 1)
    told = Notification.objects.filter(text__contains="报名成功")
    assert list(told.values_list("user_id", flat=True)) == [world.users["other_member"].pk]
    log = AuditLog.objects.get(action="volunteering.cancel_enrolment")
    assert log.detail["promoted"] == [second.pk]
    assert log.detail["was"] == "confirmed"
    # leaving the waitlist promotes nobody
    svc.cancel_enrolment(actor=world.actor("third"), enrolment_id=third.pk)
    s.refresh_from_db()
    assert (s.confirmed, s.waitlisted) == (1, 0)
    with pytest.raises(Conflict) as err:
        svc.cancel_enrolment(actor=world.actor("third"), enrolment_id=third.pk)
    assert err.value.code == "already_cancelled"
    # signing up again after cancelling is fine (the constraint covers active sign-ups only)
    again = svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    assert again.status == EnrolmentStatus.WAITLISTED


def test_only_the_member_or_the_organiser_cancels_a_sign_up(world, django_capture_on_commit_callbacks):
    s = make_activity(world).slots.get()
    e = svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    before = state()
    for name in ("other_member", "other_staff", "resident", "street_staff"):
        with pytest.raises(NotFound):
            svc.cancel_enrolment(actor=world.actor(name), enrolment_id=e.pk)
    assert state() == before
    with django_capture_on_commit_callbacks(execute=True):
        svc.cancel_enrolment(actor=world.actor("staff"), enrolment_id=e.pk)
    assert Notification.objects.filter(user=world.users["member"], text__contains="移出").exists()


def test_a_place_cannot_be_given_back_once_the_slot_started(world):
    s = make_activity(world, slots=[("3栋楼下", -0.5, 2, 5)]).slots.get()
    e = enrol(s, world.members["member"])
    with pytest.raises(Conflict) as err:
        svc.cancel_enrolment(actor=world.actor("member"), enrolment_id=e.pk)
    assert err.value.code == "started"
