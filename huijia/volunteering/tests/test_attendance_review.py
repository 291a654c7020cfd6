"""What the review of attendance asked for: nobody decides their own hours or confirms their own service;
a roll-call tick can be taken back and a wrong record removed (with a reason, audited); the waitlisted
and walk-ins who turn up can be recorded; a check-out that counts 0 hours says plainly why. Through
the services, the screens and the API, bad inputs refused with nothing stored."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huijia.accounts.models import AuditLog, Notification, RoleGrant
from huijia.accounts.roles import Role
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import make_member, register
from huijia.volunteering import attendance
from huijia.volunteering import attendance_selectors as selectors
from huijia.volunteering.checkin_codes import current_code
from huijia.volunteering.models import (
    AttendanceMethod,
    Audience,
    CorrectionStatus,
    Enrolment,
    EnrolmentStatus,
    HoursCorrection,
    OrganiserKind,
    ServiceRecord,
    ServiceTeam,
    ServiceTeamMember,
    Slot,
)
from huijia.volunteering.testing import enrol, make_activity, record

pytestmark = pytest.mark.django_db


def slot_of(world, *, start_h=-3.0, length_h=2.0, capacity=10, **fields) -> Slot:
    return make_activity(world, slots=[("3栋楼下", start_h, length_h, capacity)], **fields).slots.get()


def neighbour(world, key="wang", name="王小明", serial=41, community="a1", household="a1_102"):
    make_member(world, key, name=name, serial=serial, unit="u1")
    register(world, key, community, household)
    return world.members[key]


def client_of(world, name) -> Client:
    c = Client()
    c.force_login(world.users[name])
    return c


def state() -> tuple:
    return (
        tuple(
            ServiceRecord.objects.order_by("pk").values_list("pk", "hours", "method", "resident_confirmed_at")
        ),
        tuple(HoursCorrection.objects.order_by("pk").values_list("pk", "status", "requested_hours")),
        tuple(Enrolment.objects.order_by("pk").values_list("pk", "status")),
        tuple(Slot.objects.order_by("pk").values_list("pk", "confirmed", "waitlisted")),
        AuditLog.objects.count(),
    )


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


# --- 1. nobody decides their own hours ----------------------------------------------------------------


def leader_with_own_correction(world):
    """The member leads a team; the team's activity has the member's own record with a correction."""
    team = ServiceTeam.objects.create(community=world.areas["a1"], name="教师服务队")
    ServiceTeamMember.objects.create(team=team, member=world.members["member"], is_leader=True)
    slot = slot_of(world, organiser_kind=OrganiserKind.TEAM, service_team=team, creator="member")
    mine = record(slot, world.members["member"], hours="1")
    correction = attendance.request_correction(
        actor=world.actor("member"), record_id=mine.pk, hours="2", reason="一直待到结束"
    )
    return slot, correction


def test_a_team_leader_cannot_approve_their_own_hours_community_staff_can(world):
    slot, correction = leader_with_own_correction(world)
    leader = world.actor("member")
    assert attendance_selectors_pending(leader) == []  # not offered to them
    before = state()
    with pytest.raises(Forbidden) as err:
        attendance.decide_correction(actor=leader, correction_id=correction.pk, approve=True)
    assert err.value.message == "不能审核自己的服务时长，请由其他组织者审核"
    assert err.value.code == "own_record"
    assert state() == before
    # the leader published the activity: they are not told about their own request either
    assert not Notification.objects.filter(user=world.users["member"], text__contains="申请更正").exists()
    staff = world.actor("staff")
    assert [c.pk for c in selectors.corrections_for(actor=staff)] == [correction.pk]
    attendance.decide_correction(actor=staff, correction_id=correction.pk, approve=True)
    assert ServiceRecord.objects.get(slot=slot).hours == Decimal("2.00")


def attendance_selectors_pending(actor) -> list[int]:
    return [c.pk for c in selectors.corrections_for(actor=actor)]


def staff_who_is_a_member(world):
    """The member is also community staff of A1 (a community worker who reported there)."""
    RoleGrant.objects.create(user=world.users["member"], role=Role.COMMUNITY, area=world.areas["a1"])
    slot = slot_of(world)
    mine = record(slot, world.members["member"], hours="1")
    return HoursCorrection.objects.create(record=mine, requested_hours=Decimal("2"), reason="待到结束")


def test_staff_who_are_members_do_not_see_or_decide_their_own_correction_on_screen_and_api(world):
    correction = staff_who_is_a_member(world)
    browser = client_of(world, "member")
    page = browser.get(reverse("volunteering:corrections"))
    assert page.status_code == 200
    assert "待到结束" not in page.content.decode()
    before = state()
    response = browser.post(
        reverse("volunteering:decide_correction", args=[correction.pk]), {"decision": "approve"}, follow=True
    )
    assert "不能审核自己的服务时长，请由其他组织者审核" in response.content.decode()
    response = browser.post(
        f"/api/v1/volunteer/corrections/{correction.pk}/decide",
        {"approve": True},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "own_record"
    assert state() == before
    listed = browser.get("/api/v1/volunteer/corrections").json()
    assert correction.pk not in [c["id"] for c in listed["items"]]
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.PENDING


# --- 2. nobody confirms their own service --------------------------------------------------------------


def test_the_member_cannot_confirm_their_own_service_the_resident_can(world, commit):
    slot = slot_of(world)
    mine = record(slot, world.members["member"], hours="2")
    before = state()
    with pytest.raises(Forbidden) as err:
        attendance.confirm_service(token=mine.confirm_token, actor=world.actor("member"))
    assert err.value.code == "own_record"
    assert "居民" in err.value.message
    assert state() == before
    # a signed-in neighbour (another account) and an anonymous resident may
    done = commit(attendance.confirm_service, token=mine.confirm_token, comment="谢谢", actor=None)
    assert done.resident_confirmed_at is not None


def test_the_members_own_link_tells_them_to_hand_it_over_and_refuses_on_screen_and_api(world):
    mine = record(slot_of(world), world.members["member"], hours="2")
    url = reverse("volunteering:resident_confirm", args=[mine.confirm_token])
    browser = client_of(world, "member")
    page = browser.get(url).content.decode()
    assert "这是您自己的服务记录" in page
    assert "确认，已为我服务" not in page
    response = browser.post(url, {"comment": "自己确认"})
    assert response.status_code == 403
    assert "不能确认自己的服务" in response.content.decode()
    api = browser.post(f"/api/v1/volunteer/confirm/{mine.confirm_token}", {}, content_type="application/json")
    assert api.status_code == 403
    mine.refresh_from_db()
    assert mine.resident_confirmed_at is None
    # the resident, with no account, still confirms
    assert "确认，已为我服务" in Client().get(url).content.decode()
    assert Client().post(url, {"comment": ""}).status_code == 200
    mine.refresh_from_db()
    assert mine.resident_confirmed_at is not None


# --- 3. taking a roll-call tick back; removing a wrong record ------------------------------------------


def test_unticking_at_roll_call_removes_that_record_and_its_correction_audited(world, commit):
    slot = slot_of(world)
    member, wang = world.members["member"], neighbour(world)
    enrol(slot, member)
    enrol(slot, wang)
    staff = world.actor("staff")
    attendance.roll_call(actor=staff, slot_id=slot.pk, present=[member.pk, wang.pk])
    wrong = ServiceRecord.objects.get(member=wang)
    HoursCorrection.objects.create(record=wrong, requested_hours=Decimal("1"), reason="提前走了")
    result = commit(attendance.roll_call, actor=staff, slot_id=slot.pk, present=[member.pk], absent=[wang.pk])
    assert (result.removed, result.created) == (1, 0)
    assert list(ServiceRecord.objects.values_list("member_id", flat=True)) == [member.pk]
    assert not HoursCorrection.objects.exists()
    log = AuditLog.objects.get(action="volunteer.record_remove")
    assert log.target_id == str(wrong.pk)
    assert log.detail["reason"] == "点名时取消勾选"
    assert log.detail["hours"] == "2.00"
    assert len(log.detail["corrections_removed"]) == 1
    assert Notification.objects.filter(user=world.users["wang"], text__contains="删除了您").exists()


def test_unticking_leaves_a_scanned_record_and_ticking_and_unticking_one_person_is_refused(world):
    slot = slot_of(world)
    member = world.members["member"]
    enrol(slot, member)
    record(slot, member, checked_in_at=slot.starts_at, method="qr")
    staff = world.actor("staff")
    result = attendance.roll_call(actor=staff, slot_id=slot.pk, present=[], absent=[member.pk])
    assert (result.removed, result.skipped_qr) == (0, 1)
    assert ServiceRecord.objects.count() == 1
    before = state()
    with pytest.raises(InvalidInput) as err:
        attendance.roll_call(actor=staff, slot_id=slot.pk, present=[member.pk], absent=[member.pk])
    assert err.value.code == "present_and_absent"
    assert state() == before


def test_the_roll_call_screen_unticks_a_roll_call_record(world):
    slot = slot_of(world)
    member, wang = world.members["member"], neighbour(world)
    enrol(slot, member)
    enrol(slot, wang)
    record(slot, member, hours="2")
    record(slot, wang, hours="2")
    url = reverse("volunteering:roll_call", args=[slot.pk])
    browser = client_of(world, "staff")
    response = browser.post(url, {f"present_{member.pk}": "on", f"hours_{member.pk}": "2"})
    assert response.status_code == 302
    assert list(ServiceRecord.objects.values_list("member_id", flat=True)) == [member.pk]
    assert "取消了 1 人的点名记录" in browser.get(url).content.decode()


def test_the_organiser_removes_a_wrong_scanned_record_with_a_reason(world, commit):
    slot = slot_of(world)
    member = world.members["member"]
    wrong = record(slot, member, hours="1.5", method="qr")
    HoursCorrection.objects.create(record=wrong, requested_hours=Decimal("2"), reason="待到结束")
    gone = commit(
        attendance.remove_record, actor=world.actor("staff"), record_id=wrong.pk, reason="扫错了时段的码"
    )
    assert gone.pk == wrong.pk
    assert not ServiceRecord.objects.exists()
    assert not HoursCorrection.objects.exists()
    log = AuditLog.objects.get(action="volunteer.record_remove")
    assert (log.detail["reason"], log.detail["method"], log.detail["hours"]) == (
        "扫错了时段的码",
        "qr",
        "1.50",
    )
    assert Notification.objects.filter(user=world.users["member"], text__contains="扫错了时段的码").exists()


@pytest.mark.parametrize(
    ("who", "reason", "error", "slot_offset"),
    [
        ("staff", "", InvalidInput, 0),
        ("staff", "很" * 201, InvalidInput, 0),
        ("staff", "扫错了", NotFound, 1),  # the record is not of that slot
        ("other_staff", "扫错了", NotFound, 0),
        ("street_staff", "扫错了", Forbidden, 0),
        ("member", "扫错了", NotFound, 0),  # a member does not remove their own record
    ],
)
def test_removing_a_record_refuses_no_reason_and_those_who_do_not_organise(
    world, who, reason, error, slot_offset
):
    slot = slot_of(world)
    wrong = record(slot, world.members["member"], hours="1.5", method="qr")
    before = state()
    with pytest.raises(error):
        attendance.remove_record(
            actor=world.actor(who), record_id=wrong.pk, reason=reason, slot_id=slot.pk + slot_offset
        )
    assert state() == before


def test_removing_from_the_attendance_screen_and_the_api(world, django_assert_max_num_queries):
    slot = slot_of(world)
    first = record(slot, world.members["member"], hours="1.5", method="qr")
    second = record(slot, neighbour(world), hours="2")
    browser = client_of(world, "staff")
    page_url = reverse("volunteering:slot_attendance", args=[slot.pk])
    with django_assert_max_num_queries(14):
        page = browser.get(page_url)
    assert "删除记录" in page.content.decode()
    url = reverse("volunteering:remove_record", args=[slot.pk, first.pk])
    before = state()
    assert browser.post(url, {"reason": ""}).status_code == 400
    assert state() == before
    assert browser.post(url, {"reason": "误扫"}).status_code == 302
    assert not ServiceRecord.objects.filter(pk=first.pk).exists()
    api = f"/api/v1/volunteer/slots/{slot.pk}/records/{second.pk}"
    assert (
        client_of(world, "street_staff")
        .delete(api, {"reason": "误记"}, content_type="application/json")
        .status_code
        == 403
    )
    bad = browser.delete(api, {"reason": " "}, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "reason_empty"
    assert browser.delete(api, {"reason": "误记"}, content_type="application/json").status_code == 204
    assert not ServiceRecord.objects.exists()
    assert "删除记录" not in client_of(world, "street_staff").get(page_url).content.decode()


# --- 4. the waitlisted and walk-ins who turn up --------------------------------------------------------


def test_roll_call_lists_and_takes_the_waitlisted_who_get_a_free_place(world):
    slot = slot_of(world, capacity=2)
    member, wang = world.members["member"], neighbour(world)
    enrol(slot, member)
    waiting = enrol(slot, wang, status=EnrolmentStatus.WAITLISTED)
    page = client_of(world, "staff").get(reverse("volunteering:roll_call", args=[slot.pk])).content.decode()
    assert "王小明" in page
    assert "候补" in page
    result = attendance.roll_call(actor=world.actor("staff"), slot_id=slot.pk, present=[wang.pk])
    assert (result.created, result.confirmed) == (1, 1)
    waiting.refresh_from_db()
    assert waiting.status == EnrolmentStatus.CONFIRMED
    slot.refresh_from_db()
    assert (slot.confirmed, slot.waitlisted) == (2, 0)


def test_a_waitlisted_member_who_came_to_a_full_slot_gets_just_the_record(world):
    slot = slot_of(world, capacity=1)
    member, wang = world.members["member"], neighbour(world)
    enrol(slot, member)
    waiting = enrol(slot, wang, status=EnrolmentStatus.WAITLISTED)
    result = attendance.roll_call(actor=world.actor("staff"), slot_id=slot.pk, present=[member.pk, wang.pk])
    assert (result.created, result.confirmed) == (2, 0)
    waiting.refresh_from_db()
    assert waiting.status == EnrolmentStatus.WAITLISTED
    slot.refresh_from_db()
    assert (slot.confirmed, slot.waitlisted) == (1, 1)


def test_a_walk_in_reported_in_the_community_is_found_by_name_and_recorded(world, commit):
    slot = slot_of(world)
    enrol(slot, world.members["member"])
    wang = neighbour(world)
    neighbour(world, "far", name="王远", serial=42, community="a2", household="a2_102")
    assert selectors.walk_in_candidates(slot=slot, query="") == []
    assert [m.pk for m in selectors.walk_in_candidates(slot=slot, query="王")] == [wang.pk]
    assert selectors.walk_in_candidates(slot=slot, query="李") == []  # 李建国 is signed up already
    done = commit(
        attendance.add_walk_in, actor=world.actor("staff"), slot_id=slot.pk, member_id=wang.pk, hours="1.5"
    )
    assert (done.method, done.hours, done.member_id) == (AttendanceMethod.ROLL_CALL, Decimal("1.50"), wang.pk)
    assert AuditLog.objects.filter(action="volunteer.walk_in").count() == 1
    assert Notification.objects.filter(user=world.users["wang"], text__contains="记录服务时长").exists()
    assert selectors.walk_in_candidates(slot=slot, query="王") == []
    # the walk-in is now on the roll-call list: unticking takes them back
    result = attendance.roll_call(actor=world.actor("staff"), slot_id=slot.pk, present=[], absent=[wang.pk])
    assert result.removed == 1


def team_only_slot(world):
    team = ServiceTeam.objects.create(community=world.areas["a1"], name="教师服务队")
    ServiceTeamMember.objects.create(team=team, member=world.members["member"], is_leader=True)
    return slot_of(world, organiser_kind=OrganiserKind.TEAM, service_team=team, audience=Audience.TEAM)


@pytest.mark.parametrize(
    ("case", "error", "code"),
    [
        ("other_community", InvalidInput, "not_in_community"),
        ("pending", InvalidInput, "not_in_community"),
        ("not_in_team", InvalidInput, "not_eligible"),
        ("already_recorded", Conflict, "already_recorded"),
        ("hours_beyond", InvalidInput, "hours_beyond_slot"),
        ("not_started", InvalidInput, "too_early"),
    ],
)
def test_walk_ins_keep_the_audience_rules_and_refuse_bad_input(world, case, error, code):
    slot = slot_of(world, start_h=5) if case == "not_started" else slot_of(world)
    wang = neighbour(world)
    member_id, hours = wang.pk, None
    if case == "other_community":
        member_id = world.members["other_member"].pk
    elif case == "pending":
        member_id = world.members["pending_member"].pk
    elif case == "not_in_team":
        slot = team_only_slot(world)
    elif case == "already_recorded":
        record(slot, wang, hours="1")
    elif case == "hours_beyond":
        hours = "2.5"
    before = state()
    with pytest.raises(error) as err:
        attendance.add_walk_in(actor=world.actor("staff"), slot_id=slot.pk, member_id=member_id, hours=hours)
    assert err.value.code == code
    assert err.value.message
    assert state() == before


def test_a_team_only_activity_takes_its_team_members_as_walk_ins(world):
    slot = team_only_slot(world)
    wang = neighbour(world)
    ServiceTeamMember.objects.create(team=slot.activity.service_team, member=wang)
    assert [m.pk for m in selectors.walk_in_candidates(slot=slot, query="王")] == [wang.pk]
    attendance.add_walk_in(actor=world.actor("member"), slot_id=slot.pk, member_id=wang.pk)  # the leader
    assert ServiceRecord.objects.get(member=wang).hours == Decimal("2.00")


def test_only_the_organiser_adds_walk_ins(world):
    slot, wang = slot_of(world), neighbour(world)
    before = state()
    with pytest.raises(NotFound):
        attendance.add_walk_in(actor=world.actor("other_staff"), slot_id=slot.pk, member_id=wang.pk)
    with pytest.raises(Forbidden):
        attendance.add_walk_in(actor=world.actor("street_staff"), slot_id=slot.pk, member_id=wang.pk)
    with pytest.raises(NotFound):
        attendance.add_walk_in(actor=world.actor("wang"), slot_id=slot.pk, member_id=wang.pk)
    assert state() == before


def test_the_walk_in_picker_and_form_on_the_roll_call_screen(world, django_assert_max_num_queries):
    slot = slot_of(world)
    for i in range(15):
        key = f"m{i}"
        make_member(world, key, name=f"张{i}明", serial=100 + i, unit="u1")
        register(world, key, "a1", "a1_102")
        enrol(
            slot,
            world.members[key],
            status=EnrolmentStatus.WAITLISTED if i % 3 else EnrolmentStatus.CONFIRMED,
        )
        if i % 2:
            record(slot, world.members[key], hours="1")
    for i in range(5):
        key = f"w{i}"
        make_member(world, key, name=f"陈{i}华", serial=200 + i, unit="u1")
        register(world, key, "a1", "a1_102")
        record(slot, world.members[key], hours="1")  # walk-ins already recorded
    wang = neighbour(world)
    browser = client_of(world, "staff")
    url = reverse("volunteering:roll_call", args=[slot.pk])
    with django_assert_max_num_queries(16):
        page = browser.get(url)
    html = page.content.decode()
    assert 'hx-get="{}"'.format(reverse("volunteering:walk_in_picks", args=[slot.pk])) in html
    assert html.count("补记</span>") == 5
    with django_assert_max_num_queries(8):
        picks = browser.get(reverse("volunteering:walk_in_picks", args=[slot.pk]), {"q": "王"})
    assert b"<html" not in picks.content
    assert f'value="{wang.pk}"'.encode() in picks.content
    assert "王小明" in browser.get(url, {"q": "王小"}).content.decode()  # without JavaScript
    post = reverse("volunteering:walk_in", args=[slot.pk])
    before = state()
    assert browser.post(post, {"hours": "1"}).status_code == 400
    refused = browser.post(post, {"member": world.members["other_member"].pk})
    assert refused.status_code == 400
    assert "只能补记在本社区报到的党员" in refused.content.decode()
    assert state() == before
    assert browser.post(post, {"member": wang.pk, "hours": ""}).status_code == 302
    assert ServiceRecord.objects.get(member=wang).hours == Decimal("2.00")
    assert client_of(world, "street_staff").get(url).status_code == 404


def test_walk_ins_through_the_api(world):
    slot = slot_of(world, capacity=1)
    wang = neighbour(world)
    waiting = enrol(slot, wang, status=EnrolmentStatus.WAITLISTED)
    neighbour(world, "li", name="王丽", serial=43)
    staff = client_of(world, "staff")
    found = staff.get(f"/api/v1/volunteer/slots/{slot.pk}/walk-in-candidates", {"q": "王"}).json()
    assert [c["name"] for c in found] == ["王丽"]  # 王小明 is on the waitlist, so on the list already
    response = staff.post(
        f"/api/v1/volunteer/slots/{slot.pk}/walk-ins", {"member_id": wang.pk}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json()["hours"] == "2.00"
    waiting.refresh_from_db()
    assert waiting.status == EnrolmentStatus.CONFIRMED  # the place was free
    again = staff.post(
        f"/api/v1/volunteer/slots/{slot.pk}/walk-ins", {"member_id": wang.pk}, content_type="application/json"
    )
    assert again.status_code == 409
    other = client_of(world, "other_staff").get(f"/api/v1/volunteer/slots/{slot.pk}/walk-in-candidates?q=王")
    assert other.status_code == 404


# --- 5. a check-out that counts 0 hours says why ------------------------------------------------------


def test_checking_in_and_out_before_the_start_records_0_hours_and_says_it_does_not_count(world):
    slot = slot_of(world, start_h=0.4)  # starts in 24 minutes: checking in is open
    enrol(slot, world.members["member"])
    member = world.actor("member")
    now = timezone.now()
    attendance.check_in(actor=member, slot_id=slot.pk, code=current_code(slot, now)[0], now=now)
    later = now + timedelta(minutes=5)
    done = attendance.check_out(actor=member, slot_id=slot.pk, code=current_code(slot, later)[0], now=later)
    assert done.hours == Decimal("0.00")
    assert attendance.not_counted_reason(done, slot).startswith("签到签退都在活动开始前，本次不计时长")
    counted = record(slot_of(world), world.members["member"], hours="1")
    assert attendance.not_counted_reason(counted, counted.slot) == ""


def test_the_scan_page_warns_before_and_explains_after_a_check_out_that_counts_nothing(world):
    slot = slot_of(world, start_h=0.4)
    enrol(slot, world.members["member"])
    browser = client_of(world, "member")
    url = reverse("volunteering:scan", args=[slot.pk, current_code(slot)[0]])
    assert browser.post(url).status_code == 200
    url = reverse("volunteering:scan", args=[slot.pk, current_code(slot)[0]])
    assert "现在签退，本次不计时长" in browser.get(url).content.decode()
    done = browser.post(url).content.decode()
    assert "签到签退都在活动开始前，本次不计时长" in done
    assert "签退成功" not in done
    rec = ServiceRecord.objects.get()
    assert rec.hours == Decimal("0.00")
    page = browser.get(reverse("volunteering:record", args=[rec.pk])).content.decode()
    assert "本次不计时长" in page


def test_the_api_check_out_carries_the_note(world):
    slot = slot_of(world, start_h=0.4)
    enrol(slot, world.members["member"])
    browser = client_of(world, "member")
    base = f"/api/v1/volunteer/slots/{slot.pk}"
    body = {"code": current_code(slot)[0]}
    first = browser.post(f"{base}/checkin", body, content_type="application/json").json()
    assert first["note"] == ""
    out = browser.post(f"{base}/checkout", body, content_type="application/json").json()
    assert out["hours"] == "0.00"
    assert "本次不计时长" in out["note"]
