"""A work unit's member service ledger: its organiser downloads the service of ITS members in any
community for a period (never another unit's members), on the ledgers page and through the API; the
API also returns the community ledgers as xlsx files.
"""

from datetime import date
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from huijia.accounts.models import AuditLog
from huijia.core.errors import Forbidden, InvalidInput, NotFound
from huijia.core.testing import make_member, register
from huijia.volunteering import ledgers
from huijia.volunteering.testing import enrol, make_activity, record

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def rows_of(data: bytes) -> list[tuple]:
    sheet = load_workbook(BytesIO(data)).active
    return [tuple(r) for r in sheet.iter_rows(min_row=4, values_only=True) if isinstance(r[0], int)]


def title_of(data: bytes) -> tuple[str, str]:
    sheet = load_workbook(BytesIO(data)).active
    return sheet["A1"].value, sheet["A2"].value


def served(w, key, community, title, hours="2", hours_ago=5.0):
    activity = make_activity(w, title=title, community=community, slots=[("活动室", -hours_ago, 2, 5)])
    slot = activity.slots.get()
    enrol(slot, w.members[key])
    return record(slot, w.members[key], hours=hours)


@pytest.fixture
def unit_world(world):
    """U1: 李建国 (reports in A1) served in A1 and in A2; 孙强 (U1, reports in A2) has not served;
    赵敏 (U2) served in A1."""
    w = world
    make_member(w, "sun", name="孙强", serial=31, unit="u1")
    register(w, "sun", "a2", "a2_202")
    served(w, "member", "a1", "清理楼道小广告")
    served(w, "member", "a2", "燕子岭义诊", hours="1.5", hours_ago=9)
    served(w, "member", "a2", "零时长", hours="0", hours_ago=12)
    served(w, "other_member", "a1", "别的单位的服务")
    return w


def export_unit(w, who="unit_organiser", unit="u1", **period) -> bytes:
    dest = BytesIO()
    ledgers.export_member_ledger(
        actor=w.actor(who), work_unit_id=w.units[unit].pk, date_from=period.get("date_from"),
        date_to=period.get("date_to"), dest=dest,
    )  # fmt: skip
    return dest.getvalue()


def test_the_unit_ledger_lists_its_members_service_in_any_community(unit_world):
    data = export_unit(unit_world)
    title, info = title_of(data)
    assert title == "芙蓉区教育局党员志愿服务台账"
    assert "2 名党员，在报到社区共服务 2 次、3.50 小时" in info
    rows = {r[1]: r for r in rows_of(data)}
    assert set(rows) == {"李建国", "孙强"}  # its own members only, never 赵敏 (U2)
    li = rows["李建国"]
    assert li[3] == "识字岭社区"
    assert li[4:6] == (2, 3.5)  # the 0-hour record does not count
    assert "识字岭社区　清理楼道小广告　2.00小时" in li[6]
    assert "燕子岭社区　燕子岭义诊　1.50小时" in li[6]
    assert "零时长" not in li[6]
    assert rows["孙强"][3:6] == ("燕子岭社区", 0, 0.0)
    log = AuditLog.objects.get(action="ledger.volunteer_unit_members")
    assert log.target_id == str(unit_world.units["u1"].pk)


@pytest.mark.parametrize(
    ("who", "unit", "error"),
    [
        ("unit_organiser", "u2", NotFound),  # another unit
        ("staff", "u1", NotFound),
        ("org_dept", "u1", NotFound),
        ("member", "u1", NotFound),
        ("outsider", "u1", NotFound),
    ],
)
def test_only_the_units_organiser_downloads_it(unit_world, who, unit, error):
    before = AuditLog.objects.count()
    with pytest.raises(error):
        export_unit(unit_world, who, unit)
    assert AuditLog.objects.count() == before


def test_staff_who_only_see_the_unit_are_forbidden(unit_world):
    from huijia.orgs.models import WorkUnit

    WorkUnit.objects.filter(pk=unit_world.units["u1"].pk).update(area=unit_world.areas["a1"])
    before = AuditLog.objects.count()
    with pytest.raises(Forbidden):
        export_unit(unit_world, "staff")
    assert AuditLog.objects.count() == before


def test_bad_inputs_store_nothing(unit_world):
    before = AuditLog.objects.count()
    with pytest.raises(InvalidInput) as exc:
        ledgers.export_member_ledger(actor=unit_world.actor("unit_organiser"), date_from=None, date_to=None,
                                     dest=BytesIO())  # fmt: skip
    assert exc.value.code == "choose_one"
    with pytest.raises(InvalidInput) as exc:
        export_unit(unit_world, date_from=date(2026, 5, 2), date_to=date(2026, 5, 1))
    assert exc.value.code == "period_order"
    assert AuditLog.objects.count() == before


# --- the ledgers page -----------------------------------------------------------------------------------


def test_the_ledgers_page_offers_the_unit_its_ledger(unit_world, client, django_assert_max_num_queries):
    client.force_login(unit_world.users["unit_organiser"])
    page = client.get(reverse("volunteering:ledgers"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "本单位党员志愿服务台账" in html
    assert "芙蓉区教育局" in html
    assert reverse("volunteering:ledger_activities") not in html  # no community to download
    form = {"work_unit": unit_world.units["u1"].pk, "date_from": "", "date_to": ""}
    with django_assert_max_num_queries(12):
        response = client.post(reverse("volunteering:ledger_unit_members"), form)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert {r[1] for r in rows_of(b"".join(response.streaming_content))} == {"李建国", "孙强"}
    bad = client.post(
        reverse("volunteering:ledger_unit_members"),
        {**form, "date_from": "2026-05-02", "date_to": "2026-05-01"},
    )
    assert bad.status_code == 400
    assert "起始日期不能晚于截止日期" in bad.content.decode()
    other = client.post(
        reverse("volunteering:ledger_unit_members"), {**form, "work_unit": unit_world.units["u2"].pk}
    )
    assert other.status_code == 404


def test_community_staff_see_no_unit_option(unit_world, client):
    client.force_login(unit_world.users["staff"])
    html = client.get(reverse("volunteering:ledgers")).content.decode()
    assert "本单位党员志愿服务台账" not in html
    before = AuditLog.objects.count()
    response = client.post(
        reverse("volunteering:ledger_unit_members"), {"work_unit": unit_world.units["u1"].pk}
    )
    assert response.status_code == 404
    assert AuditLog.objects.count() == before


# --- the API --------------------------------------------------------------------------------------------


def test_api_downloads_the_ledgers_as_xlsx(unit_world, client):
    client.force_login(unit_world.users["staff"])
    a1 = unit_world.areas["a1"].pk
    response = client.post(
        "/api/v1/volunteer/ledgers/activities", {"community_id": a1}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith("attachment")
    titles = [r[2] for r in rows_of(b"".join(response.streaming_content))]
    assert titles == ["清理楼道小广告", "别的单位的服务"]
    response = client.post(
        "/api/v1/volunteer/ledgers/members", {"community_id": a1}, content_type="application/json"
    )
    assert response["Content-Type"] == XLSX
    assert {r[1] for r in rows_of(b"".join(response.streaming_content))} == {"李建国", "赵敏"}
    client.force_login(unit_world.users["unit_organiser"])
    response = client.post(
        "/api/v1/volunteer/ledgers/members", {"work_unit_id": unit_world.units["u1"].pk},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200
    assert {r[1] for r in rows_of(b"".join(response.streaming_content))} == {"李建国", "孙强"}


def test_api_ledger_errors_store_nothing(unit_world, client):
    before = AuditLog.objects.count()
    a1, a2 = unit_world.areas["a1"].pk, unit_world.areas["a2"].pk
    client.force_login(unit_world.users["staff"])
    post = lambda url, body: client.post(url, body, content_type="application/json")  # noqa: E731
    missing = post("/api/v1/volunteer/ledgers/activities", {})
    assert (missing.status_code, missing.json()["code"]) == (400, "choose_community")
    both = post("/api/v1/volunteer/ledgers/members", {"community_id": a1, "work_unit_id": 1})
    assert (both.status_code, both.json()["code"]) == (400, "choose_one")
    order = post("/api/v1/volunteer/ledgers/members", {"community_id": a1, "date_from": "2026-05-02",
                                                       "date_to": "2026-05-01"})  # fmt: skip
    assert (order.status_code, order.json()["code"]) == (400, "period_order")
    assert post("/api/v1/volunteer/ledgers/members", {"community_id": a2}).status_code == 404
    assert (
        post("/api/v1/volunteer/ledgers/members", {"work_unit_id": unit_world.units["u1"].pk}).status_code
        == 404
    )
    assert post("/api/v1/volunteer/ledgers/activities", {"community_id": "abc"}).status_code == 422
    client.force_login(unit_world.users["unit_organiser"])
    assert post("/api/v1/volunteer/ledgers/activities", {"community_id": a1}).status_code == 404
    assert (
        post("/api/v1/volunteer/ledgers/members", {"work_unit_id": unit_world.units["u2"].pk}).status_code
        == 404
    )
    assert AuditLog.objects.count() == before
