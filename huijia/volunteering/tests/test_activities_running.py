"""After review (issue 5, group B), through the services: a standing post keeps running — shifts still
to come stay editable, more shifts can be added, empty future shifts removed, started ones stay as they
are; a year-round post of three shifts a day fits and a recurrence from today skips what has started;
a place can be given back after sign-up was closed; a community's or estate's activity can be a joint
activity of a pairing. Refused and bad steps store nothing."""

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from huijia.accounts.models import AuditLog, Notification
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.volunteering import activities as svc
from huijia.volunteering.activities import MAX_SLOTS, ActivityInput, Recurrence, ShiftTime, SlotInput
from huijia.volunteering.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Enrolment,
    EnrolmentStatus,
    OrganiserKind,
    Pairing,
    ServiceTeam,
    ServiceTeamMember,
    Slot,
)
from huijia.volunteering.testing import enrol, make_activity, record


def later(hours: float):
    return timezone.now() + timedelta(hours=hours)


def state() -> tuple:
    return (
        tuple(Activity.objects.order_by("pk").values_list("pk", "status", "title", "pairing_id")),
        tuple(
            Slot.objects.order_by("pk").values_list(
                "pk", "venue", "capacity", "confirmed", "waitlisted", "starts_at", "ends_at"
            )
        ),
        tuple(Enrolment.objects.order_by("pk").values_list("pk", "status")),
        AuditLog.objects.count(),
    )


def keep(s: Slot, **kw) -> SlotInput:
    fields = {
        "venue": s.venue,
        "label": s.label,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "capacity": s.capacity,
    }
    fields.update(kw)
    return SlotInput(id=s.pk, **fields)


def running_post(world) -> tuple[Activity, Slot, Slot, Slot]:
    """A post under way: a shift that started an hour ago (one holder), one tomorrow (one holder) and
    one the day after (nobody yet)."""
    post = make_activity(
        world,
        title="社情民意收集岗",
        kind=ActivityKind.POST,
        slots=[("党群服务中心", -1, 3, 2), ("党群服务中心", 24, 3, 2), ("党群服务中心", 48, 3, 2)],
    )
    started, tomorrow, after = post.slots.order_by("starts_at")
    enrol(started, world.members["other_member"])
    enrol(tomorrow, world.members["member"])
    return post, started, tomorrow, after


def pair(world, unit="u1", community="a1", **kw) -> Pairing:
    fields = {"starts_on": date(2020, 1, 1)}
    fields.update(kw)
    return Pairing.objects.create(work_unit=world.units[unit], community=world.areas[community], **fields)


# --- 1. a standing post is not frozen once its first shift starts ---------------------------------


def test_a_running_post_changes_its_later_shifts_and_keeps_the_started_one(
    world, django_capture_on_commit_callbacks
):
    post, started, tomorrow, after = running_post(world)
    new = SlotInput(venue="社区广场", starts_at=later(72), ends_at=later(75), capacity=4, label="下午班")
    with django_capture_on_commit_callbacks(execute=True):
        svc.update_activity(
            actor=world.actor("staff"),
            activity_id=post.pk,
            title="社情民意收集岗（延长）",
            # the started shift is left out: it stays; the day after's is left out: removed (nobody)
            slots=(keep(tomorrow, venue="党群服务中心二楼", capacity=3), new),
        )
    post.refresh_from_db()
    rows = list(post.slots.order_by("starts_at").values_list("pk", "venue", "capacity"))
    assert rows[0] == (started.pk, "党群服务中心", 2)  # as it was
    assert rows[1] == (tomorrow.pk, "党群服务中心二楼", 3)
    assert rows[2][1:] == ("社区广场", 4)
    assert not Slot.objects.filter(pk=after.pk).exists()
    assert post.title == "社情民意收集岗（延长）"
    assert (post.starts_at, post.ends_at) == (started.starts_at, new.ends_at)
    told = Notification.objects.filter(text__contains="有调整")
    assert list(told.values_list("user_id", flat=True)) == [world.users["member"].pk]  # not the started one


def test_a_started_shift_cannot_be_changed_and_bad_changes_store_nothing(world):
    post, started, tomorrow, after = running_post(world)
    enrol(tomorrow, world.members["other_member"])  # tomorrow's shift is now full: 2 of 2
    tomorrow.refresh_from_db()
    staff = world.actor("staff")

    def refused(slots, code):
        with pytest.raises(InvalidInput) as err:
            svc.update_activity(actor=staff, activity_id=post.pk, title="改过", slots=slots)
        assert err.value.code == code
        return err.value.message

    before = state()
    message = refused((keep(started, capacity=5), keep(tomorrow), keep(after)), "slot_started")
    assert "已经开始" in message
    refused((keep(tomorrow, capacity=0), keep(after)), "bad_capacity")
    assert "不能少于2" in refused((keep(tomorrow, capacity=1), keep(after)), "capacity_below_confirmed")
    refused((keep(tomorrow, starts_at=later(-2), ends_at=later(1)), keep(after)), "in_the_past")
    refused((keep(after),), "slot_taken")  # tomorrow's shift has holders: not removed
    new_in_the_past = SlotInput(venue="社区广场", starts_at=later(-3), ends_at=later(-1), capacity=2)
    refused((keep(tomorrow), keep(after), new_in_the_past), "in_the_past")
    assert state() == before


def test_an_activity_whose_slots_all_started_takes_only_new_slots(world):
    activity = make_activity(world, slots=[("3栋楼下", -1, 2, 5)])
    s = activity.slots.get()
    with pytest.raises(Conflict) as err:
        svc.update_activity(
            actor=world.actor("staff"), activity_id=activity.pk, title="改名", slots=(keep(s),)
        )
    assert err.value.code == "started"
    svc.update_activity(
        actor=world.actor("staff"),
        activity_id=activity.pk,
        title=activity.title,
        slots=(SlotInput(venue="3栋楼下", starts_at=later(24), ends_at=later(26), capacity=5),),
    )
    assert activity.slots.count() == 2  # the started one kept, one added


def test_the_organiser_changes_one_shift_still_to_come(world, django_capture_on_commit_callbacks):
    post, started, tomorrow, _after = running_post(world)
    enrol(tomorrow, world.members["other_member"])  # full: 2 of 2
    enrol(tomorrow, world.members["pending_member"], EnrolmentStatus.WAITLISTED)
    tomorrow.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        svc.change_slot(
            actor=world.actor("staff"),
            slot_id=tomorrow.pk,
            data=SlotInput(
                venue="党群服务中心", starts_at=tomorrow.starts_at, ends_at=tomorrow.ends_at, capacity=3
            ),
        )
    tomorrow.refresh_from_db()
    assert (tomorrow.capacity, tomorrow.confirmed, tomorrow.waitlisted) == (3, 3, 0)  # the waitlist moved up
    assert Notification.objects.filter(user=world.users["pending_member"], text__contains="报名成功").exists()
    assert AuditLog.objects.filter(action="volunteering.change_slot", detail__activity=post.pk).exists()

    before = state()
    same = SlotInput(venue="别处", starts_at=started.starts_at, ends_at=started.ends_at, capacity=2)
    with pytest.raises(InvalidInput) as err:
        svc.change_slot(actor=world.actor("staff"), slot_id=started.pk, data=same)
    assert err.value.code == "slot_started"
    low = SlotInput(venue="党群服务中心", starts_at=tomorrow.starts_at, ends_at=tomorrow.ends_at, capacity=2)
    with pytest.raises(InvalidInput) as err:
        svc.change_slot(actor=world.actor("staff"), slot_id=tomorrow.pk, data=low)
    assert err.value.code == "capacity_below_confirmed"
    bad = SlotInput(venue=" ", starts_at=tomorrow.starts_at, ends_at=tomorrow.ends_at, capacity=5)
    with pytest.raises(InvalidInput) as err:
        svc.change_slot(actor=world.actor("staff"), slot_id=tomorrow.pk, data=bad)
    assert err.value.fields == {"slots.0.venue": ["请填写地点"]}
    with pytest.raises(NotFound):
        svc.change_slot(actor=world.actor("other_staff"), slot_id=tomorrow.pk, data=low)
    with pytest.raises(Forbidden):
        svc.change_slot(actor=world.actor("street_staff"), slot_id=tomorrow.pk, data=low)
    with pytest.raises(NotFound):
        svc.change_slot(actor=world.actor("member"), slot_id=tomorrow.pk, data=low)
    assert state() == before


def test_the_organiser_removes_an_empty_shift_still_to_come(world):
    post, started, tomorrow, after = running_post(world)
    before = state()
    with pytest.raises(Conflict) as err:
        svc.remove_slot(actor=world.actor("staff"), slot_id=tomorrow.pk)
    assert err.value.code == "slot_taken"
    with pytest.raises(Conflict) as err:
        svc.remove_slot(actor=world.actor("staff"), slot_id=started.pk)
    assert err.value.code == "slot_started"
    with pytest.raises(NotFound):
        svc.remove_slot(actor=world.actor("other_staff"), slot_id=after.pk)
    assert state() == before

    svc.remove_slot(actor=world.actor("staff"), slot_id=after.pk)
    assert not Slot.objects.filter(pk=after.pk).exists()
    post.refresh_from_db()
    assert post.ends_at == tomorrow.ends_at
    log = AuditLog.objects.get(action="volunteering.remove_slot")
    assert log.detail["slot"] == after.pk


def test_a_shift_someone_checked_in_to_early_or_the_only_slot_is_not_removed(world):
    activity = make_activity(world, slots=[("3栋楼下", 0.25, 2, 5), ("5栋", 48, 2, 5)])
    soon, later_slot = activity.slots.order_by("starts_at")
    record(soon, world.members["member"], checked_in_at=timezone.now())  # 30 minutes early is allowed
    only = make_activity(world, title="只有一个时段").slots.get()
    before = state()
    with pytest.raises(Conflict) as err:
        svc.remove_slot(actor=world.actor("staff"), slot_id=soon.pk)
    assert err.value.code == "slot_has_records"
    with pytest.raises(Conflict) as err:
        svc.remove_slot(actor=world.actor("staff"), slot_id=only.pk)
    assert err.value.code == "last_slot"
    assert "取消活动" in err.value.message
    assert state() == before
    assert later_slot.pk


def test_a_running_post_is_extended_skipping_started_and_existing_shifts(world):
    post, _started, _tomorrow, _after = running_post(world)
    r = Recurrence(
        date_from=timezone.localdate() - timedelta(days=1),
        date_to=timezone.localdate() + timedelta(days=13),
        weekdays=frozenset(range(7)),
        times=(ShiftTime(time(0, 0), time(0, 30), "零点班"),),  # yesterday's and today's have started
        venue="党群服务中心",
        capacity=2,
    )
    added = svc.extend_post(actor=world.actor("staff"), activity_id=post.pk, recurrence=r)
    assert added == 13
    new = post.slots.filter(label="零点班")
    assert new.count() == 13
    assert not new.filter(starts_at__lte=timezone.now()).exists()
    assert post.slots.count() == 3 + 13  # the running shifts as they were
    post.refresh_from_db()
    assert post.ends_at == post.slots.order_by("-ends_at").first().ends_at
    assert AuditLog.objects.filter(action="volunteering.extend_post", detail__added=added).exists()

    activity = make_activity(world, title="普通活动")
    before = state()
    with pytest.raises(InvalidInput) as err:  # the same again: nothing new
        svc.extend_post(actor=world.actor("staff"), activity_id=post.pk, recurrence=r)
    assert err.value.code == "no_new_shifts"
    with pytest.raises(InvalidInput) as err:
        svc.extend_post(actor=world.actor("staff"), activity_id=activity.pk, recurrence=r)
    assert err.value.code == "not_a_post"
    with pytest.raises(NotFound):
        svc.extend_post(actor=world.actor("other_staff"), activity_id=post.pk, recurrence=r)
    with pytest.raises(Forbidden):
        svc.extend_post(actor=world.actor("street_staff"), activity_id=post.pk, recurrence=r)
    assert state() == before


# --- 2. a year-round post of three shifts a day; a recurrence from today --------------------------


def three_shifts() -> tuple[ShiftTime, ...]:
    return (
        ShiftTime(time(8, 0), time(11, 0), "上午班"),
        ShiftTime(time(13, 0), time(16, 0), "下午班"),
        ShiftTime(time(18, 0), time(21, 0), "晚班"),
    )


def post_data(**kw) -> ActivityInput:
    fields = {
        "title": "春节值守岗",
        "category": "environment",
        "organiser_kind": OrganiserKind.COMMUNITY,
        "community_id": None,
    }
    fields.update(kw)
    return ActivityInput(**fields)


def test_a_year_round_post_of_three_shifts_a_day_fits(world):
    first = timezone.localdate() + timedelta(days=1)
    r = Recurrence(
        date_from=first,
        date_to=first + timedelta(days=365),
        weekdays=frozenset(range(7)),
        times=three_shifts(),
        venue="党群服务中心",
        capacity=2,
    )
    assert MAX_SLOTS >= 366 * 3
    post = svc.publish_post(
        actor=world.actor("staff"), data=post_data(community_id=world.areas["a1"].pk), recurrence=r
    )
    assert post.slots.count() == 366 * 3


def test_a_recurrence_from_today_skips_the_shifts_already_started(world):
    today = timezone.localdate()
    r = Recurrence(
        date_from=today,
        date_to=today + timedelta(days=2),
        weekdays=frozenset(range(7)),
        times=(ShiftTime(time(0, 0), time(0, 30), "零点班"),),  # today's has always started
        venue="党群服务中心",
        capacity=2,
    )
    post = svc.publish_post(
        actor=world.actor("staff"), data=post_data(community_id=world.areas["a1"].pk), recurrence=r
    )
    starts = post.slots.order_by("starts_at").values_list("starts_at", flat=True)
    days = [timezone.localdate(s) for s in starts]
    assert days == [today + timedelta(days=1), today + timedelta(days=2)]
    # a range whose shifts have all started says so, and stores nothing
    before = state()
    gone = Recurrence(
        date_from=today - timedelta(days=3),
        date_to=today,
        weekdays=frozenset(range(7)),
        times=(ShiftTime(time(0, 0), time(0, 30)),),
        venue="党群服务中心",
        capacity=2,
    )
    with pytest.raises(InvalidInput) as err:
        svc.publish_post(
            actor=world.actor("staff"), data=post_data(community_id=world.areas["a1"].pk), recurrence=gone
        )
    assert err.value.code == "no_shifts"
    assert "已经开始" in err.value.message
    assert state() == before


def test_more_than_the_slot_limit_is_refused(world):
    first = timezone.localdate() + timedelta(days=1)
    four = (*three_shifts(), ShiftTime(time(21, 0), time(23, 0), "夜班"))
    r = Recurrence(
        date_from=first,
        date_to=first + timedelta(days=365),
        weekdays=frozenset(range(7)),
        times=four,
        venue="党群服务中心",
        capacity=2,
    )
    before = state()
    with pytest.raises(InvalidInput) as err:
        svc.publish_post(
            actor=world.actor("staff"), data=post_data(community_id=world.areas["a1"].pk), recurrence=r
        )
    assert err.value.code == "too_many_slots"
    assert state() == before


# --- 3. giving a place back after sign-up was closed ----------------------------------------------


def test_after_sign_up_is_closed_a_place_is_still_given_back_and_the_waitlist_moves_up(
    world, django_capture_on_commit_callbacks
):
    activity = make_activity(world, slots=[("3栋楼下", 24, 2, 1)])
    s = activity.slots.get()
    mine = svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    waiting = svc.sign_up(actor=world.actor("other_member"), slot_id=s.pk)
    svc.close_activity(actor=world.actor("staff"), activity_id=activity.pk)
    with pytest.raises(Conflict) as err:  # nobody signs up any more
        svc.sign_up(actor=world.actor("member"), slot_id=s.pk)
    assert err.value.code == "closed"
    with django_capture_on_commit_callbacks(execute=True):
        svc.cancel_enrolment(actor=world.actor("member"), enrolment_id=mine.pk)
    waiting.refresh_from_db()
    s.refresh_from_db()
    assert waiting.status == EnrolmentStatus.CONFIRMED
    assert (s.confirmed, s.waitlisted) == (1, 0)
    assert Notification.objects.filter(user=world.users["other_member"], text__contains="报名成功").exists()
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.CLOSED


def test_no_giving_back_once_cancelled_or_started(world):
    cancelled = make_activity(world, slots=[("3栋楼下", 24, 2, 1)])
    e = enrol(cancelled.slots.get(), world.members["member"])
    Activity.objects.filter(pk=cancelled.pk).update(status=ActivityStatus.CANCELLED)
    closed = make_activity(world, slots=[("3栋楼下", -0.5, 2, 1)])
    started = enrol(closed.slots.get(), world.members["member"])
    Activity.objects.filter(pk=closed.pk).update(status=ActivityStatus.CLOSED)
    before = state()
    with pytest.raises(Conflict) as err:
        svc.cancel_enrolment(actor=world.actor("member"), enrolment_id=e.pk)
    assert err.value.code == "cancelled"
    with pytest.raises(Conflict) as err:
        svc.cancel_enrolment(actor=world.actor("member"), enrolment_id=started.pk)
    assert err.value.code == "started"
    assert state() == before


# --- 4. joint activities organised by the community -----------------------------------------------


def test_community_staff_and_the_estate_secretary_publish_a_joint_activity(world):
    p = pair(world)
    slots = (SlotInput(venue="社区广场", starts_at=later(24), ends_at=later(26), capacity=5),)
    a = svc.publish_activity(
        actor=world.actor("staff"),
        data=ActivityInput(
            title="共建义诊",
            category="environment",
            organiser_kind=OrganiserKind.COMMUNITY,
            community_id=world.areas["a1"].pk,
            pairing_id=p.pk,
            slots=slots,
        ),
    )
    assert a.pairing_id == p.pk
    assert AuditLog.objects.get(action="volunteering.publish", target_id=str(a.pk)).detail["pairing"] == p.pk
    b = svc.publish_activity(
        actor=world.actor("estate_secretary"),
        data=ActivityInput(
            title="小区共建",
            category="environment",
            organiser_kind=OrganiserKind.ESTATE,
            estate_id=world.areas["a1_estate"].pk,
            pairing_id=p.pk,
            slots=slots,
        ),
    )
    assert b.pairing_id == p.pk


def test_a_joint_activity_needs_an_active_pairing_of_its_community(world):
    from huijia.orgs.models import WorkUnit

    for name in ("u3", "u4"):
        world.units[name] = WorkUnit.objects.create(name=f"单位{name}")
    other = pair(world, unit="u2", community="a2")
    ended = pair(world, unit="u2", community="a1", ended_at=timezone.now())
    future = pair(world, unit="u3", community="a1", starts_on=timezone.localdate() + timedelta(days=10))
    expired = pair(world, unit="u4", community="a1", ends_on=timezone.localdate() - timedelta(days=1))
    good = pair(world)
    slots = (SlotInput(venue="社区广场", starts_at=later(24), ends_at=later(26), capacity=5),)
    t = ServiceTeam.objects.create(community=world.areas["a1"], name="教师志愿服务队")
    ServiceTeamMember.objects.create(team=t, member=world.members["member"], is_leader=True)
    before = state()
    for pairing_id in (other.pk, ended.pk, future.pk, expired.pk, 999999):
        with pytest.raises(InvalidInput) as err:
            svc.publish_activity(
                actor=world.actor("staff"),
                data=ActivityInput(
                    title="共建",
                    category="environment",
                    organiser_kind=OrganiserKind.COMMUNITY,
                    community_id=world.areas["a1"].pk,
                    pairing_id=pairing_id,
                    slots=slots,
                ),
            )
        assert err.value.code == "bad_pairing"
        assert "pairing_id" in err.value.fields
    with pytest.raises(InvalidInput) as err:  # a team's activity is not the community's joint activity
        svc.publish_activity(
            actor=world.actor("member"),
            data=ActivityInput(
                title="队里的",
                category="environment",
                organiser_kind=OrganiserKind.TEAM,
                service_team_id=t.pk,
                pairing_id=good.pk,
                slots=slots,
            ),
        )
    assert err.value.code == "pairing_not_for_kind"
    assert state() == before


def test_an_existing_activity_is_linked_to_a_pairing_and_unlinked(world):
    p = pair(world)
    activity = make_activity(world)
    svc.set_pairing(actor=world.actor("staff"), activity_id=activity.pk, pairing_id=p.pk)
    activity.refresh_from_db()
    assert activity.pairing_id == p.pk
    log = AuditLog.objects.get(action="volunteering.link_pairing")
    assert (log.detail["pairing"], log.detail["was"]) == (p.pk, None)
    Activity.objects.filter(pk=activity.pk).update(status=ActivityStatus.CLOSED)  # afterwards too
    svc.set_pairing(actor=world.actor("staff"), activity_id=activity.pk, pairing_id=None)
    activity.refresh_from_db()
    assert activity.pairing_id is None

    other = pair(world, unit="u2", community="a2")
    unit_activity = make_activity(
        world, title="单位的", organiser_kind=OrganiserKind.WORK_UNIT, work_unit=world.units["u1"], pairing=p
    )
    cancelled = make_activity(world, title="取消的")
    Activity.objects.filter(pk=cancelled.pk).update(status=ActivityStatus.CANCELLED)
    before = state()
    with pytest.raises(InvalidInput) as err:
        svc.set_pairing(actor=world.actor("staff"), activity_id=activity.pk, pairing_id=other.pk)
    assert err.value.code == "bad_pairing"
    with pytest.raises(Conflict) as err:
        svc.set_pairing(actor=world.actor("unit_organiser"), activity_id=unit_activity.pk, pairing_id=None)
    assert err.value.code == "pairing_not_for_kind"
    with pytest.raises(Conflict):
        svc.set_pairing(actor=world.actor("staff"), activity_id=cancelled.pk, pairing_id=p.pk)
    for name, refusal in (("other_staff", NotFound), ("street_staff", Forbidden), ("member", NotFound)):
        with pytest.raises(refusal):
            svc.set_pairing(actor=world.actor(name), activity_id=activity.pk, pairing_id=p.pk)
    assert state() == before
