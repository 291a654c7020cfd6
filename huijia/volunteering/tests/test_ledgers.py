"""The volunteer service ledgers in Excel: generated from the activities and records of a community for
a period, laid out as offices file them, for the staff over the community only, without phone numbers.
"""

from datetime import timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from huijia.accounts.models import AuditLog
from huijia.core.errors import Forbidden, InvalidInput, NotFound
from huijia.volunteering import ledgers
from huijia.volunteering.models import Activity, ActivityStatus, OrganiserKind, ServiceRecord
from huijia.volunteering.testing import enrol, make_activity, record


def rows_of(data: bytes) -> list[tuple]:
    sheet = load_workbook(BytesIO(data)).active
    return [tuple(row) for row in sheet.iter_rows(min_row=4, values_only=True) if isinstance(row[0], int)]


def title_of(data: bytes) -> tuple[str, str]:
    sheet = load_workbook(BytesIO(data)).active
    return sheet["A1"].value, sheet["A2"].value


@pytest.fixture
def held(world):
    """Two activities held in A1 (one with two venues), one cancelled, one in A2, one last year."""
    w = world
    cleanup = make_activity(
        w, title="清理楼道小广告", slots=[("3栋楼下", -30, 2, 10), ("5栋楼下", -27, 2, 10)]
    )
    Activity.objects.filter(pk=cleanup.pk).update(people_served=40)
    first, _second = cleanup.slots.order_by("starts_at")
    enrol(first, w.members["member"])
    enrol(first, w.members["other_member"])
    record(first, w.members["member"])
    record(first, w.members["other_member"], hours="1.5")
    ServiceRecord.objects.filter(slot=first, member=w.members["member"]).update(
        resident_confirmed_at=timezone.now()
    )
    clinic = make_activity(
        w,
        title="义诊",
        organiser_kind=OrganiserKind.ESTATE,
        estate=w.areas["a1_estate"],
        slots=[("活动室", -5, 3, 5)],
    )
    enrol(clinic.slots.get(), w.members["member"])
    record(clinic.slots.get(), w.members["member"], checked_in_at=clinic.slots.get().starts_at)  # still open
    cancelled = make_activity(w, title="取消的活动", slots=[("广场", -10, 1, 5)])
    Activity.objects.filter(pk=cancelled.pk).update(status=ActivityStatus.CANCELLED)
    make_activity(w, title="别的社区", community="a2", slots=[("广场", -10, 1, 5)])
    make_activity(w, title="去年的活动", slots=[("广场", -24 * 400, 1, 5)])
    return w


def export(fn, w, who="staff", community="a1", **period) -> bytes:
    dest = BytesIO()
    fn(actor=w.actor(who), community_id=w.areas[community].pk, date_from=period.get("date_from"),
       date_to=period.get("date_to"), dest=dest)  # fmt: skip
    return dest.getvalue()


def test_activity_ledger(held):
    data = export(ledgers.export_activity_ledger, held)
    title, info = title_of(data)
    assert title == "识字岭社区志愿服务活动台账"
    assert "共 2 项活动" in info
    assert "服务群众 40 人次" in info
    rows = rows_of(data)
    assert [r[2] for r in rows] == ["清理楼道小广告", "义诊"]
    cleanup, clinic = rows
    assert cleanup[3:] == ("志愿活动", "环境整治", "识字岭社区", "3栋楼下、5栋楼下", 2, 2, 3.5, 40)
    assert clinic[5] == "识字岭社区幸福小区党支部"
    assert clinic[7:10] == (1, 0, 0)  # one signed up; the record still open does not count (no hours yet)
    assert AuditLog.objects.filter(action="ledger.volunteer_activities").count() == 1


def test_member_ledger(held):
    data = export(ledgers.export_member_ledger, held)
    title, info = title_of(data)
    assert title == "识字岭社区党员志愿服务台账"
    rows = {r[1]: r for r in rows_of(data)}
    assert set(rows) == {"李建国", "赵敏"}  # reporting here, or served here (赵敏 reports in A2)
    member = rows["李建国"]
    assert member[4:6] == (1, 2.0)  # the open record at the clinic does not count yet
    assert "清理楼道小广告" in member[6]
    assert member[7] == 1  # the resident confirmed it
    assert member[3] == "芙蓉区教育局"
    assert rows["赵敏"][4:6] == (1, 1.5)
    assert "2 名党员，共服务 2 次、3.50 小时" in info
    text = repr(
        load_workbook(BytesIO(data)).active.values and list(load_workbook(BytesIO(data)).active.values)
    )
    for member in held.members.values():
        assert member.phone not in text
        assert member.id_number not in text


def test_a_reporting_member_with_no_service_is_on_the_member_ledger(world):
    rows = rows_of(export(ledgers.export_member_ledger, world))
    assert [(r[1], r[4]) for r in rows] == [("李建国", 0)]


def test_period_filters_and_bad_periods(held):
    today = timezone.localdate()
    rows = rows_of(
        export(ledgers.export_activity_ledger, held, date_from=today - timedelta(days=600), date_to=today)
    )
    assert "去年的活动" in [r[2] for r in rows]
    for period, code in (
        ({"date_from": today, "date_to": today - timedelta(days=1)}, "period_order"),
        ({"date_from": today - timedelta(days=5 * 366), "date_to": today}, "period_too_long"),
    ):
        with pytest.raises(InvalidInput) as exc:
            export(ledgers.export_activity_ledger, held, **period)
        assert exc.value.code == code


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("other_staff", NotFound),
        ("estate_secretary", NotFound),
        ("unit_organiser", NotFound),
        ("member", NotFound),
        ("building_head", NotFound),
    ],
)
def test_ledgers_are_for_staff_over_the_community(held, who, error):
    before = AuditLog.objects.count()
    for fn in (ledgers.export_activity_ledger, ledgers.export_member_ledger):
        with pytest.raises(error):
            export(fn, held, who)
    assert AuditLog.objects.count() == before


def test_street_staff_download_and_a_community_they_only_see_is_forbidden(held):
    assert rows_of(export(ledgers.export_activity_ledger, held, "street_staff"))
    from huijia.accounts.models import RoleGrant
    from huijia.accounts.roles import Role

    RoleGrant.objects.filter(user=held.users["street_staff"]).update(role=Role.BUILDING)  # VIEW only
    with pytest.raises(Forbidden):
        export(ledgers.export_activity_ledger, held, "street_staff")


def test_ledger_page_and_downloads(held, client, django_assert_max_num_queries):
    client.force_login(held.users["staff"])
    page = client.get(reverse("volunteering:ledgers"))
    assert page.status_code == 200
    assert "识字岭社区" in page.content.decode()
    form = {"community": held.areas["a1"].pk, "date_from": "", "date_to": ""}
    with django_assert_max_num_queries(14):
        response = client.post(reverse("volunteering:ledger_activities"), form)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert [r[2] for r in rows_of(b"".join(response.streaming_content))] == ["清理楼道小广告", "义诊"]
    response = client.post(reverse("volunteering:ledger_members"), form)
    assert {r[1] for r in rows_of(b"".join(response.streaming_content))} == {"李建国", "赵敏"}
    bad = client.post(
        reverse("volunteering:ledger_members"), {**form, "date_from": "2026-05-02", "date_to": "2026-05-01"}
    )
    assert bad.status_code == 400
    assert "起始日期不能晚于截止日期" in bad.content.decode()
    other = client.post(reverse("volunteering:ledger_members"), {**form, "community": held.areas["a2"].pk})
    assert other.status_code == 404
    client.force_login(held.users["member"])
    assert client.get(reverse("volunteering:ledgers")).status_code == 403
