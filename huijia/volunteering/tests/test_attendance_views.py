"""The attendance screens and API: the organiser's QR page and roll call, the member's scan page,
record and correction request, the organiser's attendance and corrections screens, the served
resident's page (no account), and the same steps through /api/v1/volunteer/... . List pages and list
endpoints are guarded against N+1 queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huijia.core.testing import make_member, register
from huijia.volunteering import attendance
from huijia.volunteering.checkin_codes import code_at, current_code, minute_of
from huijia.volunteering.models import AttendanceMethod, CorrectionStatus, HoursCorrection, ServiceRecord
from huijia.volunteering.testing import enrol, make_activity, record

pytestmark = pytest.mark.django_db


def running_slot(world, *, start_h=-0.5, length_h=2, title="清理楼道小广告"):
    slot = make_activity(world, title=title, slots=[("3栋楼下", start_h, length_h, 50)]).slots.get()
    enrol(slot, world.members["member"])
    return slot


def client_of(world, name) -> Client:
    c = Client()
    c.force_login(world.users[name])
    return c


def many_members(world, slot, n: int, *, hours=None) -> list:
    members = []
    for i in range(n):
        key = f"m{i}"
        make_member(world, key, name=f"张{i}明", serial=100 + i, unit="u1")
        register(world, key, "a1", "a1_102")
        enrol(slot, world.members[key])
        if hours is not None:
            record(slot, world.members[key], hours=hours)
        members.append(world.members[key])
    return members


# --- the organiser's QR page ----------------------------------------------------------------------


def test_the_organiser_shows_a_big_code_that_reloads_itself_each_minute(world):
    slot = running_slot(world)
    page = client_of(world, "staff").get(reverse("volunteering:slot_qr", args=[slot.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    shown, _left = current_code(slot)
    assert "<svg" in html
    assert shown in html  # also typed under the code, for a kiosk without a camera
    assert 'hx-trigger="load delay:' in html
    fragment = client_of(world, "staff").get(reverse("volunteering:slot_qr", args=[slot.pk]) + "?partial=1")
    assert fragment.status_code == 200
    assert b"<html" not in fragment.content
    assert b"qr-stage" in fragment.content


@pytest.mark.parametrize("name", ["member", "other_staff", "street_staff", "resident"])
def test_only_the_organiser_sees_the_code(world, name):
    slot = running_slot(world)
    assert client_of(world, name).get(reverse("volunteering:slot_qr", args=[slot.pk])).status_code == 404
    response = client_of(world, name).get(f"/api/v1/volunteer/slots/{slot.pk}/qr-code")
    assert response.status_code == 404


def test_anonymous_scanning_is_sent_to_sign_in_and_back(world):
    slot = running_slot(world)
    url = reverse("volunteering:scan", args=[slot.pk, current_code(slot)[0]])
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=" in response["Location"]


# --- the member scans -----------------------------------------------------------------------------


def test_a_member_scans_to_check_in_then_again_to_check_out(world):
    slot = running_slot(world)
    browser = client_of(world, "member")
    url = reverse("volunteering:scan", args=[slot.pk, current_code(slot)[0]])
    page = browser.get(url)
    assert page.status_code == 200
    assert "签到</button>" in page.content.decode()
    assert not ServiceRecord.objects.exists()  # opening the page does nothing by itself
    done = browser.post(url)
    assert "签到成功" in done.content.decode()
    assert ServiceRecord.objects.get().is_open
    ServiceRecord.objects.update(checked_in_at=timezone.now() - timedelta(minutes=20))  # they served
    url = reverse("volunteering:scan", args=[slot.pk, current_code(slot)[0]])
    assert "签退</button>" in browser.get(url).content.decode()
    done = browser.post(url)
    assert "签退成功" in done.content.decode()
    assert ServiceRecord.objects.get().hours >= Decimal("0.33")


def test_an_expired_or_foreign_code_says_so_and_offers_no_button(world):
    slot = running_slot(world)
    browser = client_of(world, "member")
    old = code_at(slot, minute_of(timezone.now()) - 5)
    page = browser.get(reverse("volunteering:scan", args=[slot.pk, old]))
    assert page.status_code == 400
    assert "二维码已过期，请扫描现场最新的二维码" in page.content.decode()
    assert "签到</button>" not in page.content.decode()
    response = browser.post(reverse("volunteering:scan", args=[slot.pk, old]))
    assert response.status_code == 400
    other = running_slot(world, title="别的活动")
    page = browser.get(reverse("volunteering:scan", args=[slot.pk, current_code(other)[0]]))
    assert "不是本时段的签到二维码" in page.content.decode()
    assert not ServiceRecord.objects.exists()


# --- roll call ------------------------------------------------------------------------------------


def test_roll_call_on_the_phone_ticks_who_came(world):
    slot = running_slot(world, start_h=-3, length_h=2)
    others = many_members(world, slot, 2)
    browser = client_of(world, "staff")
    url = reverse("volunteering:roll_call", args=[slot.pk])
    page = browser.get(url)
    assert page.status_code == 200
    assert "李建国" in page.content.decode()
    data = {f"present_{world.members['member'].pk}": "on", f"present_{others[0].pk}": "on"}
    data[f"hours_{others[0].pk}"] = "1.5"
    response = browser.post(url, data)
    assert response.status_code == 302
    assert dict(ServiceRecord.objects.values_list("member_id", "hours")) == {
        world.members["member"].pk: Decimal("2.00"),
        others[0].pk: Decimal("1.50"),
    }
    too_much = browser.post(url, {f"present_{others[1].pk}": "on", f"hours_{others[1].pk}": "3"})
    assert too_much.status_code == 400
    assert "不能超过本时段" in too_much.content.decode()
    assert ServiceRecord.objects.count() == 2


def test_the_roll_call_page_for_many_places_takes_few_queries(world, django_assert_max_num_queries):
    slot = running_slot(world, start_h=-3, length_h=2)
    many_members(world, slot, 30, hours="1")
    browser = client_of(world, "staff")
    with django_assert_max_num_queries(12):
        page = browser.get(reverse("volunteering:roll_call", args=[slot.pk]))
    assert page.content.decode().count('class="who"') == 31


# --- the organiser's screens ------------------------------------------------------------------------


def test_the_attendance_screen_lists_records_and_corrections_in_few_queries(
    world, django_assert_max_num_queries
):
    slot = running_slot(world, start_h=-3, length_h=2)
    many_members(world, slot, 25, hours="2")
    mine = record(slot, world.members["member"], hours="1")
    attendance.request_correction(
        actor=world.actor("member"), record_id=mine.pk, hours="2", reason="待到结束"
    )
    browser = client_of(world, "staff")
    with django_assert_max_num_queries(14):
        page = browser.get(reverse("volunteering:slot_attendance", args=[slot.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "张0明" in html
    assert "待审核的时长更正" in html
    assert "现场点名" in html
    assert (
        client_of(world, "other_staff")
        .get(reverse("volunteering:slot_attendance", args=[slot.pk]))
        .status_code
        == 404
    )
    street = client_of(world, "street_staff").get(reverse("volunteering:slot_attendance", args=[slot.pk]))
    assert street.status_code == 200  # the street may look
    assert reverse("volunteering:roll_call", args=[slot.pk]) not in street.content.decode()  # runs nothing


def test_the_corrections_list_and_deciding_from_it(world, django_assert_max_num_queries):
    slot = running_slot(world, start_h=-3, length_h=2)
    for m in many_members(world, slot, 12, hours="1"):
        rec = ServiceRecord.objects.get(member=m)
        HoursCorrection.objects.create(record=rec, requested_hours=Decimal("2"), reason="待到结束")
    browser = client_of(world, "staff")
    with django_assert_max_num_queries(10):
        page = browser.get(reverse("volunteering:corrections"))
    assert page.content.decode().count("decide_correction") == 0  # links are resolved URLs
    assert page.content.decode().count("/decide/") == 12
    first = HoursCorrection.objects.order_by("pk").first()
    response = browser.post(
        reverse("volunteering:decide_correction", args=[first.pk]), {"decision": "reject", "answer": ""}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == CorrectionStatus.PENDING  # a rejection needs an answer
    browser.post(reverse("volunteering:decide_correction", args=[first.pk]), {"decision": "approve"})
    first.refresh_from_db()
    assert first.status == CorrectionStatus.APPROVED
    assert first.record.hours == Decimal("2.00")
    other = client_of(world, "other_staff").post(
        reverse("volunteering:decide_correction", args=[first.pk + 1]), {"decision": "approve"}
    )
    assert other.status_code == 404


def test_people_served_from_the_attendance_screen(world):
    slot = running_slot(world)
    browser = client_of(world, "staff")
    url = reverse("volunteering:people_served", args=[slot.pk])
    assert browser.post(url, {"people_served": "40"}).status_code == 302
    slot.activity.refresh_from_db()
    assert slot.activity.people_served == 40
    bad = browser.post(url, {"people_served": "-3"})
    assert bad.status_code == 400
    assert client_of(world, "other_staff").post(url, {"people_served": "1"}).status_code == 404
    slot.activity.refresh_from_db()
    assert slot.activity.people_served == 40


# --- the member's record and correction -------------------------------------------------------------


def test_the_member_record_shows_the_residents_code_and_takes_a_correction(world):
    slot = running_slot(world, start_h=-3, length_h=2)
    rec = record(slot, world.members["member"], hours="1")
    browser = client_of(world, "member")
    page = browser.get(reverse("volunteering:record", args=[rec.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert f"/v/confirm/{rec.confirm_token}/" in html
    assert "<svg" in html
    url = reverse("volunteering:request_correction", args=[rec.pk])
    beyond = browser.post(url, {"hours": "2.5", "reason": "待到结束"})
    assert beyond.status_code == 400
    assert "不能超过本时段" in beyond.content.decode()
    assert browser.post(url, {"hours": "2", "reason": "忘了签退"}).status_code == 302
    assert HoursCorrection.objects.get().requested_hours == Decimal("2.00")
    assert "正在等组织者审核" in browser.get(url).content.decode()
    for name in ("other_member", "staff"):
        assert client_of(world, name).get(reverse("volunteering:record", args=[rec.pk])).status_code == 404


def test_a_record_of_zero_hours_asks_no_resident_to_confirm_it(world):
    slot = running_slot(world, start_h=-3, length_h=2)
    rec = record(slot, world.members["member"], hours="0")
    html = client_of(world, "member").get(reverse("volunteering:record", args=[rec.pk])).content.decode()
    assert "请服务对象确认" not in html
    assert f"/v/confirm/{rec.confirm_token}/" not in html


# --- the served resident (no account) ----------------------------------------------------------------


def test_the_resident_sees_a_masked_name_and_confirms_once(world):
    slot = running_slot(world, start_h=-3, length_h=2)
    rec = record(slot, world.members["member"], hours="2")
    anyone = Client()
    url = reverse("volunteering:resident_confirm", args=[rec.confirm_token])
    html = anyone.get(url).content.decode()
    assert "李*国" in html
    assert "李建国" not in html
    assert "清理楼道小广告" in html
    response = anyone.post(url, {"comment": "很耐心"})
    assert response.status_code == 200
    assert "已确认，谢谢您" in response.content.decode()
    rec.refresh_from_db()
    assert rec.resident_comment == "很耐心"
    again = anyone.post(url, {"comment": "再来"})
    assert again.status_code == 409
    assert anyone.get(reverse("volunteering:resident_confirm", args=["nope"])).status_code == 404


# --- the API ----------------------------------------------------------------------------------------


def test_api_check_in_and_out_and_the_errors(world):
    slot = running_slot(world)
    api = client_of(world, "member")
    base = f"/api/v1/volunteer/slots/{slot.pk}"
    early_out = api.post(f"{base}/checkout", {"code": current_code(slot)[0]}, content_type="application/json")
    assert early_out.status_code == 400
    assert early_out.json()["code"] == "not_checked_in"
    expired = code_at(slot, minute_of(timezone.now()) - 2)
    answer = api.post(f"{base}/checkin", {"code": expired}, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["message"] == "二维码已过期，请扫描现场最新的二维码"
    answer = api.post(f"{base}/checkin", {"code": current_code(slot)[0]}, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json()["hours"] is None
    assert answer.json()["method"] == AttendanceMethod.QR
    answer = api.post(f"{base}/checkout", {"code": current_code(slot)[0]}, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json()["hours"] is not None
    assert not ServiceRecord.objects.filter(hours__isnull=True).exists()


def test_api_roll_call_attendance_and_people_served(world, django_assert_max_num_queries):
    slot = running_slot(world, start_h=-3, length_h=2)
    others = many_members(world, slot, 20)
    api = client_of(world, "staff")
    base = f"/api/v1/volunteer/slots/{slot.pk}"
    body = {"present": [m.pk for m in others], "hours": {str(others[0].pk): "1.25"}}
    answer = api.post(f"{base}/roll-call", body, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json()["created"] == 20
    beyond = api.post(
        f"{base}/roll-call",
        {"present": [others[0].pk], "hours": {str(others[0].pk): 5}},
        content_type="application/json",
    )
    assert beyond.status_code == 400
    assert beyond.json()["code"] == "hours_beyond_slot"
    with django_assert_max_num_queries(8):
        listed = api.get(f"{base}/attendance")
    assert listed.status_code == 200
    assert len(listed.json()["records"]) == 20
    assert listed.json()["slot"]["hours"] == "2.00"
    put = api.put(
        f"/api/v1/volunteer/activities/{slot.activity_id}/people-served",
        {"people_served": 60},
        content_type="application/json",
    )
    assert put.json() == {"id": slot.activity_id, "people_served": 60}
    kiosk = api.get(f"{base}/qr-code").json()
    assert kiosk["code"] == current_code(slot)[0]
    assert kiosk["scan_url"].endswith(f"/v/scan/{slot.pk}/{kiosk['code']}/")


def test_api_corrections_and_the_residents_confirmation(world, django_assert_max_num_queries):
    slot = running_slot(world, start_h=-3, length_h=2)
    rec = record(slot, world.members["member"], hours="1")
    member = client_of(world, "member")
    url = f"/api/v1/volunteer/records/{rec.pk}/corrections"
    beyond = member.post(url, {"hours": "9", "reason": "多算点"}, content_type="application/json")
    assert beyond.status_code == 400
    made = member.post(url, {"hours": "1.75", "reason": "待到结束"}, content_type="application/json")
    assert made.status_code == 201
    assert made.json()["requested_hours"] == "1.75"
    again = member.post(url, {"hours": "2", "reason": "再改"}, content_type="application/json")
    assert again.status_code == 409
    staff = client_of(world, "staff")
    for m in many_members(world, slot, 10, hours="1"):
        HoursCorrection.objects.create(
            record=ServiceRecord.objects.get(member=m), requested_hours=2, reason="到结束"
        )
    with django_assert_max_num_queries(6):
        page = staff.get("/api/v1/volunteer/corrections?limit=100")
    assert page.json()["count"] == 11
    decided = staff.post(
        f"/api/v1/volunteer/corrections/{made.json()['id']}/decide",
        {"approve": True},
        content_type="application/json",
    )
    assert decided.status_code == 200
    assert decided.json()["status"] == "approved"
    assert decided.json()["current_hours"] == "1.75"
    public = Client()
    seen = public.get(f"/api/v1/volunteer/confirm/{rec.confirm_token}").json()
    assert seen["member_name"] == "李*国"
    assert seen["confirmed_at"] is None
    done = public.post(
        f"/api/v1/volunteer/confirm/{rec.confirm_token}", {"comment": "谢谢"}, content_type="application/json"
    )
    assert done.status_code == 200
    assert done.json()["comment"] == "谢谢"
    twice = public.post(f"/api/v1/volunteer/confirm/{rec.confirm_token}", {}, content_type="application/json")
    assert twice.status_code == 409


def test_api_scan_refuses_a_waitlisted_member_and_nothing_is_stored(world):
    slot = running_slot(world, start_h=-1)
    enrol(slot, world.members["other_member"], status="waitlisted")
    answer = client_of(world, "other_member").post(
        f"/api/v1/volunteer/slots/{slot.pk}/scan",
        {"code": current_code(slot)[0]},
        content_type="application/json",
    )
    assert answer.status_code == 403
    assert answer.json()["code"] == "not_enrolled"
    assert not ServiceRecord.objects.exists()
    late = timezone.now() + timedelta(days=1)
    assert late > slot.ends_at
