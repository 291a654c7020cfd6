"""Attendance and hours through the services: QR check-in and check-out, roll call, corrections, people
served and the served resident's confirmation — what members and organisers rely on, and the bad
inputs the issue names (expired or foreign code, checking out before checking in, hours beyond the
slot), each refused with a clear message and nothing stored."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from huijia.accounts.models import AuditLog, Notification
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import make_member, register
from huijia.volunteering import attendance
from huijia.volunteering.checkin_codes import CodeCheck, check_code, code_at, current_code, minute_of
from huijia.volunteering.models import (
    ActivityStatus,
    AttendanceMethod,
    CorrectionStatus,
    EnrolmentStatus,
    HoursCorrection,
    OrganiserKind,
    ServiceRecord,
    ServiceTeam,
    ServiceTeamMember,
)
from huijia.volunteering.testing import enrol, make_activity, record

pytestmark = pytest.mark.django_db


def running_slot(world, *, start_h: float = -0.5, length_h: float = 2, capacity: int = 10, **fields):
    """A slot of A1 that started half an hour ago (checking in is open), the member signed up."""
    activity = make_activity(world, slots=[("3栋楼下", start_h, length_h, capacity)], **fields)
    slot = activity.slots.get()
    enrol(slot, world.members["member"])
    return slot


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Runs a service and then its on-commit side effects (the notifications)."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def code(slot, moment=None) -> str:
    return current_code(slot, moment)[0]


def state() -> tuple:
    return (
        tuple(ServiceRecord.objects.order_by("pk").values_list("pk", "hours", "checked_out_at", "method")),
        tuple(HoursCorrection.objects.order_by("pk").values_list("pk", "status")),
        AuditLog.objects.count(),
    )


# --- hours ------------------------------------------------------------------------------------------


def test_hours_are_the_overlap_with_the_slot_never_beyond_it(world):
    slot = running_slot(world, start_h=1, length_h=2)
    start, end = slot.starts_at, slot.ends_at
    assert attendance.hours_between(slot, start, end) == Decimal("2.00")
    assert attendance.hours_between(slot, start - timedelta(hours=1), end + timedelta(hours=3)) == Decimal(
        "2.00"
    )
    assert attendance.hours_between(slot, start + timedelta(minutes=20), end) == Decimal("1.67")
    assert attendance.hours_between(slot, start - timedelta(hours=2), start - timedelta(hours=1)) == Decimal(
        "0"
    )
    assert attendance.hours_between(slot, start, start + timedelta(minutes=1)) == Decimal("0.02")


# --- the code that changes every minute -------------------------------------------------------------


def test_the_code_of_this_minute_and_the_last_open_the_slot_older_ones_have_expired(world):
    slot = running_slot(world)
    now = timezone.now()
    minute = minute_of(now)
    assert check_code(slot, code_at(slot, minute), now) == CodeCheck.OK
    assert check_code(slot, code_at(slot, minute - 1).upper(), now) == CodeCheck.OK
    assert check_code(slot, code_at(slot, minute - 2), now) == CodeCheck.EXPIRED
    assert check_code(slot, code_at(slot, minute - 300), now) == CodeCheck.EXPIRED
    other = running_slot(world, title="另一个活动")
    assert check_code(slot, code_at(other, minute), now) == CodeCheck.INVALID
    assert check_code(slot, "", now) == CodeCheck.INVALID
    assert check_code(slot, "abc", now) == CodeCheck.INVALID
    shown, seconds_left = current_code(slot, now)
    assert len(shown) == 8
    assert 1 <= seconds_left <= 60
    assert shown != code_at(slot, minute + 1)  # it changes with the minute


# --- checking in and out ------------------------------------------------------------------------------


def test_first_scan_checks_in_the_next_checks_out_with_hours_capped_to_the_slot(world):
    slot = running_slot(world, start_h=-1.5, length_h=2)
    member = world.actor("member")
    now = timezone.now()
    step, rec = attendance.scan(actor=member, slot_id=slot.pk, code=code(slot, now), now=now)
    assert step == "in"
    assert rec.method == AttendanceMethod.QR
    assert rec.is_open
    assert rec.community_id == world.areas["a1"].pk
    later = slot.ends_at + timedelta(hours=2)  # forgot to leave on time: counts to the slot's end only
    step, rec = attendance.scan(actor=member, slot_id=slot.pk, code=code(slot, later), now=later)
    assert step == "out"
    rec.refresh_from_db()
    expected = attendance.hours_between(slot, now, slot.ends_at)
    assert rec.hours == expected
    assert rec.hours <= Decimal("2.00")
    assert rec.hours > Decimal("0.40")
    assert AuditLog.objects.filter(action="volunteer.check_in").count() == 1
    assert AuditLog.objects.filter(action="volunteer.check_out").count() == 1
    with pytest.raises(Conflict) as err:
        attendance.scan(actor=member, slot_id=slot.pk, code=code(slot, later), now=later)
    assert err.value.code == "already_checked_out"


def test_an_expired_code_is_refused_with_the_message_to_scan_the_current_one(world):
    slot = running_slot(world)
    before = state()
    old = code_at(slot, minute_of(timezone.now()) - 3)
    with pytest.raises(InvalidInput) as err:
        attendance.check_in(actor=world.actor("member"), slot_id=slot.pk, code=old)
    assert err.value.code == "code_expired"
    assert err.value.message == "二维码已过期，请扫描现场最新的二维码"
    assert state() == before


def test_the_code_of_another_slot_is_refused_with_a_different_message(world):
    slot = running_slot(world)
    other = running_slot(world, title="另一个活动")
    before = state()
    with pytest.raises(InvalidInput) as err:
        attendance.check_in(actor=world.actor("member"), slot_id=slot.pk, code=code(other))
    assert err.value.code == "code_invalid"
    assert "不是本时段" in err.value.message
    assert state() == before


def test_checking_out_before_checking_in_is_refused(world):
    slot = running_slot(world)
    before = state()
    with pytest.raises(InvalidInput) as err:
        attendance.check_out(actor=world.actor("member"), slot_id=slot.pk, code=code(slot))
    assert err.value.code == "not_checked_in"
    assert "还没有签到" in err.value.message
    assert state() == before


def test_only_a_confirmed_place_may_check_in_within_the_window(world):
    slot = running_slot(world)
    enrol(slot, world.members["other_member"], status=EnrolmentStatus.WAITLISTED)
    before = state()
    with pytest.raises(Forbidden) as err:  # still on the waitlist
        attendance.check_in(actor=world.actor("other_member"), slot_id=slot.pk, code=code(slot))
    assert err.value.code == "not_enrolled"
    for name in ("staff", "resident", "outsider"):  # not a member at all
        with pytest.raises(Forbidden):
            attendance.check_in(actor=world.actor(name), slot_id=slot.pk, code=code(slot))
    early = running_slot(world, start_h=1, title="一小时后开始")
    with pytest.raises(InvalidInput) as err:
        attendance.check_in(actor=world.actor("member"), slot_id=early.pk, code=code(early))
    assert err.value.code == "too_early"
    over = running_slot(world, start_h=-3, length_h=1, title="已经结束")
    with pytest.raises(InvalidInput) as err:
        attendance.check_in(actor=world.actor("member"), slot_id=over.pk, code=code(over))
    assert err.value.code == "too_late"
    with pytest.raises(NotFound):
        attendance.check_in(actor=world.actor("member"), slot_id=999999, code="abcdefgh")
    assert state() == before
    soon = running_slot(world, start_h=0.4, title="20分钟后开始")  # 30 minutes before: already open
    assert attendance.check_in(actor=world.actor("member"), slot_id=soon.pk, code=code(soon))


def test_a_cancelled_activity_takes_no_check_in_and_a_second_check_in_is_refused(world):
    slot = running_slot(world)
    member = world.actor("member")
    attendance.check_in(actor=member, slot_id=slot.pk, code=code(slot))
    with pytest.raises(Conflict) as err:
        attendance.check_in(actor=member, slot_id=slot.pk, code=code(slot))
    assert err.value.code == "already_checked_in"
    cancelled = running_slot(world, title="取消了")
    cancelled.activity.status = ActivityStatus.CANCELLED
    cancelled.activity.save()
    with pytest.raises(Conflict):
        attendance.check_in(actor=member, slot_id=cancelled.pk, code=code(cancelled))
    assert ServiceRecord.objects.count() == 1


# --- roll call ----------------------------------------------------------------------------------------


def second_member(world, key="wang", name="王小明", serial=41):
    make_member(world, key, name=name, serial=serial, unit="u1")
    register(world, key, "a1", "a1_102")
    return world.members[key]


def test_roll_call_records_those_ticked_with_the_slot_length_or_less(world, commit):
    slot = running_slot(world, start_h=-3, length_h=2)
    wang = second_member(world)
    enrol(slot, wang)
    member = world.members["member"]
    result = commit(
        attendance.roll_call,
        actor=world.actor("staff"),
        slot_id=slot.pk,
        present=[member.pk, wang.pk],
        hours={wang.pk: "1.5"},
    )
    assert (result.created, result.updated) == (2, 0)
    rows = dict(ServiceRecord.objects.values_list("member_id", "hours"))
    assert rows == {member.pk: Decimal("2.00"), wang.pk: Decimal("1.50")}
    assert set(ServiceRecord.objects.values_list("method", flat=True)) == {AttendanceMethod.ROLL_CALL}
    assert Notification.objects.filter(user=world.users["member"], text__contains="记录服务时长").exists()
    # ticking again with other hours changes them; nobody is recorded twice
    result = attendance.roll_call(
        actor=world.actor("staff"), slot_id=slot.pk, present=[wang.pk], hours={wang.pk: Decimal("2")}
    )
    assert (result.created, result.updated) == (0, 1)
    assert ServiceRecord.objects.get(member=wang).hours == Decimal("2.00")
    assert ServiceRecord.objects.count() == 2


@pytest.mark.parametrize(
    ("present", "hours", "code", "field"),
    [
        ("member", {"member": "2.5"}, "hours_beyond_slot", "hours.member"),
        ("member", {"member": "0"}, "bad_hours", "hours.member"),
        ("member", {"member": "两小时"}, "bad_hours", "hours.member"),
        ("other_member", {}, "not_enrolled", "present"),
        ("", {"member": "1"}, "hours_without_presence", "hours"),
    ],
)
def test_roll_call_refuses_hours_beyond_the_slot_and_people_not_signed_up(world, present, hours, code, field):
    slot = running_slot(world, start_h=-3, length_h=2)
    ids = {"member": world.members["member"].pk, "other_member": world.members["other_member"].pk}
    before = state()
    with pytest.raises(InvalidInput) as err:
        attendance.roll_call(
            actor=world.actor("staff"),
            slot_id=slot.pk,
            present=[ids[present]] if present else [],
            hours={ids[k]: v for k, v in hours.items()},
        )
    assert err.value.code == code
    assert err.value.message
    assert list(err.value.fields) == [field.replace("member", str(ids["member"]))]
    assert state() == before


def test_roll_call_leaves_scanned_records_alone_and_closes_open_check_ins_after_the_end(world):
    slot = running_slot(world, start_h=-3, length_h=2)
    wang = second_member(world)
    enrol(slot, wang)
    scanned = record(
        slot, world.members["member"], checked_in_at=slot.starts_at + timedelta(minutes=30), method="qr"
    )
    staff = world.actor("staff")
    result = attendance.roll_call(actor=staff, slot_id=slot.pk, present=[wang.pk, world.members["member"].pk])
    assert (result.created, result.skipped_qr, result.closed) == (1, 1, 0)
    scanned.refresh_from_db()
    assert scanned.is_open
    assert scanned.method == AttendanceMethod.QR
    result = attendance.roll_call(actor=staff, slot_id=slot.pk, present=[], close_open=True)
    assert result.closed == 1
    scanned.refresh_from_db()
    assert scanned.hours == Decimal("1.50")
    assert scanned.checked_out_at == slot.ends_at


def test_open_check_ins_are_closed_only_once_the_slot_has_ended(world):
    slot = running_slot(world)
    record(slot, world.members["member"], checked_in_at=timezone.now(), method="qr")
    before = state()
    with pytest.raises(InvalidInput) as err:
        attendance.roll_call(actor=world.actor("staff"), slot_id=slot.pk, present=[], close_open=True)
    assert err.value.code == "not_ended"
    assert state() == before


def test_roll_call_is_for_the_organiser_only(world):
    slot = running_slot(world)
    member = world.members["member"].pk
    with pytest.raises(NotFound):
        attendance.roll_call(actor=world.actor("other_staff"), slot_id=slot.pk, present=[member])
    with pytest.raises(Forbidden):  # the street sees it but does not run it
        attendance.roll_call(actor=world.actor("street_staff"), slot_id=slot.pk, present=[member])
    with pytest.raises(NotFound):  # a community activity is not the estate branch's
        attendance.roll_call(actor=world.actor("estate_secretary"), slot_id=slot.pk, present=[member])
    assert not ServiceRecord.objects.exists()


def test_the_estate_branch_and_a_team_leader_run_their_own_activities(world):
    estate_slot = running_slot(
        world, organiser_kind=OrganiserKind.ESTATE, estate=world.areas["a1_estate"], title="小区活动"
    )
    member = world.members["member"]
    result = attendance.roll_call(
        actor=world.actor("estate_secretary"), slot_id=estate_slot.pk, present=[member.pk]
    )
    assert result.created == 1
    team = ServiceTeam.objects.create(community=world.areas["a1"], name="教师服务队")
    ServiceTeamMember.objects.create(team=team, member=world.members["other_member"], is_leader=True)
    team_slot = running_slot(world, organiser_kind=OrganiserKind.TEAM, service_team=team, title="队活动")
    result = attendance.roll_call(
        actor=world.actor("other_member"), slot_id=team_slot.pk, present=[member.pk]
    )
    assert result.created == 1
    with pytest.raises(NotFound):  # a member who leads no team runs nothing
        attendance.roll_call(actor=world.actor("member"), slot_id=team_slot.pk, present=[member.pk])


# --- corrections --------------------------------------------------------------------------------------


def finished(world, hours="1.00"):
    slot = running_slot(world, start_h=-3, length_h=2)
    return record(slot, world.members["member"], hours=hours)


def test_a_member_asks_for_a_correction_and_the_organiser_approves_it(world, commit):
    rec = finished(world)
    correction = attendance.request_correction(
        actor=world.actor("member"), record_id=rec.pk, hours="2", reason="忘了签退，其实待到结束"
    )
    assert correction.status == CorrectionStatus.PENDING
    assert correction.requested_hours == Decimal("2.00")
    approved = commit(
        attendance.decide_correction, actor=world.actor("staff"), correction_id=correction.pk, approve=True
    )
    assert approved.status == CorrectionStatus.APPROVED
    rec.refresh_from_db()
    assert rec.hours == Decimal("2.00")
    log = AuditLog.objects.get(action="volunteer.correction_approve")
    assert (log.detail["old_hours"], log.detail["new_hours"]) == ("1.00", "2.00")
    told = Notification.objects.get(user=world.users["member"])
    assert "已同意" in told.text
    with pytest.raises(Conflict) as err:
        attendance.decide_correction(
            actor=world.actor("staff"), correction_id=correction.pk, approve=False, answer="x"
        )
    assert err.value.code == "already_decided"


def test_a_rejection_needs_an_answer_and_leaves_the_hours(world, commit):
    rec = finished(world)
    correction = attendance.request_correction(
        actor=world.actor("member"), record_id=rec.pk, hours="2", reason="待到结束"
    )
    with pytest.raises(InvalidInput) as err:
        attendance.decide_correction(actor=world.actor("staff"), correction_id=correction.pk, approve=False)
    assert err.value.code == "answer_empty"
    commit(
        attendance.decide_correction,
        actor=world.actor("staff"),
        correction_id=correction.pk,
        approve=False,
        answer="签到表显示提前离开",
    )
    rec.refresh_from_db()
    assert rec.hours == Decimal("1.00")
    assert "签到表显示提前离开" in Notification.objects.get(user=world.users["member"]).text
    # decided: the member may ask again
    assert attendance.request_correction(
        actor=world.actor("member"), record_id=rec.pk, hours="1.5", reason="再核对"
    )


def test_an_open_record_gets_its_hours_and_check_out_from_an_approved_correction(world):
    slot = running_slot(world, start_h=-3, length_h=2)
    rec = record(slot, world.members["member"], checked_in_at=slot.starts_at, method="qr")
    correction = attendance.request_correction(
        actor=world.actor("member"), record_id=rec.pk, hours="2", reason="忘了签退"
    )
    attendance.decide_correction(actor=world.actor("staff"), correction_id=correction.pk, approve=True)
    rec.refresh_from_db()
    assert rec.hours == Decimal("2.00")
    assert rec.checked_out_at == slot.ends_at


@pytest.mark.parametrize(
    ("hours", "reason", "code"),
    [
        ("2.01", "待到结束", "hours_beyond_slot"),
        ("-1", "待到结束", "bad_hours"),
        ("abc", "待到结束", "bad_hours"),
        ("1.00", "待到结束", "same_hours"),
        ("2", "  ", "reason_empty"),
        ("2", "长" * 201, "reason_too_long"),
    ],
)
def test_a_correction_beyond_the_slot_or_without_a_reason_is_refused(world, hours, reason, code):
    rec = finished(world)
    before = state()
    with pytest.raises(InvalidInput) as err:
        attendance.request_correction(
            actor=world.actor("member"), record_id=rec.pk, hours=hours, reason=reason
        )
    assert err.value.code == code
    assert err.value.message
    assert state() == before


def test_one_pending_correction_per_record_and_only_on_ones_own_record(world):
    rec = finished(world)
    attendance.request_correction(actor=world.actor("member"), record_id=rec.pk, hours="2", reason="待到结束")
    before = state()
    with pytest.raises(Conflict) as err:
        attendance.request_correction(
            actor=world.actor("member"), record_id=rec.pk, hours="1.5", reason="再改"
        )
    assert err.value.code == "already_pending"
    for name in ("other_member", "staff", "outsider"):
        with pytest.raises(NotFound):
            attendance.request_correction(actor=world.actor(name), record_id=rec.pk, hours="1.5", reason="改")
    assert state() == before


def test_only_the_organiser_decides_a_correction(world):
    rec = finished(world)
    correction = attendance.request_correction(
        actor=world.actor("member"), record_id=rec.pk, hours="2", reason="到结束"
    )
    with pytest.raises(NotFound):
        attendance.decide_correction(
            actor=world.actor("other_staff"), correction_id=correction.pk, approve=True
        )
    with pytest.raises(NotFound):  # the member's own work unit sees the record, but did not organise it
        attendance.decide_correction(
            actor=world.actor("unit_organiser"), correction_id=correction.pk, approve=True
        )
    with pytest.raises(NotFound):  # nor does the member approve their own
        attendance.decide_correction(actor=world.actor("member"), correction_id=correction.pk, approve=True)
    with pytest.raises(Forbidden):
        attendance.decide_correction(
            actor=world.actor("street_staff"), correction_id=correction.pk, approve=True
        )
    rec.refresh_from_db()
    assert rec.hours == Decimal("1.00")


# --- people served ------------------------------------------------------------------------------------


def test_the_organiser_counts_the_people_served(world):
    slot = running_slot(world)
    activity = attendance.set_people_served(
        actor=world.actor("staff"), activity_id=slot.activity_id, people_served=35
    )
    assert activity.people_served == 35
    log = AuditLog.objects.get(action="volunteer.people_served")
    assert (log.detail["old"], log.detail["new"]) == (0, 35)
    for bad in (-1, "很多", 100_001):
        with pytest.raises(InvalidInput):
            attendance.set_people_served(
                actor=world.actor("staff"), activity_id=slot.activity_id, people_served=bad
            )
    with pytest.raises(NotFound):
        attendance.set_people_served(
            actor=world.actor("other_staff"), activity_id=slot.activity_id, people_served=1
        )
    with pytest.raises(NotFound):
        attendance.set_people_served(
            actor=world.actor("member"), activity_id=slot.activity_id, people_served=1
        )
    slot.activity.refresh_from_db()
    assert slot.activity.people_served == 35


# --- the served resident --------------------------------------------------------------------------------


def test_a_served_resident_confirms_once_with_no_account(world, commit):
    rec = finished(world)
    confirmed = commit(attendance.confirm_service, token=rec.confirm_token, comment="帮我修好了水龙头，谢谢")
    assert confirmed.resident_confirmed_at is not None
    assert confirmed.resident_comment == "帮我修好了水龙头，谢谢"
    assert Notification.objects.filter(user=world.users["member"], text__contains="居民确认").exists()
    with pytest.raises(Conflict) as err:
        attendance.confirm_service(token=rec.confirm_token, comment="再确认")
    assert err.value.code == "already_confirmed"
    rec.refresh_from_db()
    assert rec.resident_comment == "帮我修好了水龙头，谢谢"


def test_a_wrong_token_or_a_long_comment_is_refused(world):
    rec = finished(world)
    with pytest.raises(NotFound):
        attendance.confirm_service(token="not-a-token")
    with pytest.raises(NotFound):
        attendance.confirm_service(token="")
    with pytest.raises(InvalidInput) as err:
        attendance.confirm_service(token=rec.confirm_token, comment="好" * 201)
    assert err.value.code == "comment_too_long"
    rec.refresh_from_db()
    assert rec.resident_confirmed_at is None
