"""One definition of a service that counts (minimum.counted): a record closed with hours above zero.

A record of 0 hours (checked in and out before the slot began, or corrected to 0) and an open
check-in are shown to the member, but count nowhere: not toward the annual minimum (standing, the
below-minimum list, the reminders), not on a certificate, not in the ledgers' counts.
"""

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from huijia.core.errors import InvalidInput
from huijia.volunteering import certificates, ledgers, records
from huijia.volunteering.minimum import counted, counts, send_minimum_reminders
from huijia.volunteering.models import Certificate, MinimumReminder, ServiceRecord
from huijia.volunteering.testing import enrol, make_activity, record


def served(w, key="member", *, title="清理楼道小广告", hours="2", hours_ago=5.0, community="a1"):
    activity = make_activity(w, title=title, community=community, slots=[("活动室", -hours_ago, 2, 5)])
    slot = activity.slots.get()
    enrol(slot, w.members[key])
    return record(slot, w.members[key], hours=hours)


@pytest.fixture
def zero(world):
    """The member has one real service (2 h) and one of 0 hours this year."""
    served(world, title="真正的服务", hours="2", hours_ago=9)
    served(world, title="零时长的服务", hours="0", hours_ago=5)
    return world


def test_the_definition(world):
    real = served(world, hours="0.25")
    nothing = served(world, hours="0", hours_ago=9)
    still_open = served(world, hours=None, hours_ago=12)
    ServiceRecord.objects.filter(pk=still_open.pk).update(hours=None, checked_out_at=None)
    still_open.refresh_from_db()
    assert [counts(r) for r in (real, nothing, still_open)] == [True, False, False]
    assert list(ServiceRecord.objects.filter(counted()).values_list("pk", flat=True)) == [real.pk]


def test_a_0_hour_record_does_not_count_toward_the_standing(zero):
    standing = records.standing_of(actor=zero.actor("member"))
    assert (standing.services, standing.hours, standing.open_records, standing.not_counted) == (
        1,
        Decimal("2.00"),
        0,
        1,
    )
    assert standing.below
    assert standing.missing == 1


def test_the_record_page_says_a_0_hour_record_is_not_counted(zero, client):
    client.force_login(zero.users["member"])
    html = client.get(reverse("volunteering:records")).content.decode()
    assert "今年已服务 1 次，每年至少 2 次" in html
    assert "1 次时长为 0，不计入服务次数" in html
    assert "零时长的服务" in html  # shown, with the reason and the way to correct it
    assert "本次时长为 0，不计入服务次数" in html


def test_the_api_says_which_records_count(zero, client):
    client.force_login(zero.users["member"])
    items = client.get("/api/v1/volunteer/records").json()["items"]
    assert {r["activity"]["name"]: r["counted"] for r in items} == {"真正的服务": True, "零时长的服务": False}
    standing = client.get("/api/v1/volunteer/standing").json()
    assert (standing["services"], standing["not_counted"], standing["below"]) == (1, 1, True)


def test_a_0_hour_record_does_not_take_a_member_off_the_below_minimum_list(zero):
    served(zero, "member", title="又一次零时长", hours="0", hours_ago=14)
    result = records.below_minimum(actor=zero.actor("staff"), community_id=zero.areas["a1"].pk)
    row = next(m for m in result.rows if m.name == "李建国")
    assert (row.services, row.hours) == (1, Decimal("2.00"))


def test_a_member_with_only_0_hour_records_is_reminded(world, django_capture_on_commit_callbacks):
    served(world, hours="0")
    served(world, hours="0", hours_ago=9)
    with django_capture_on_commit_callbacks(execute=True):
        send_minimum_reminders(today=date(timezone.localdate().year, 12, 1))
    assert MinimumReminder.objects.filter(member=world.members["member"]).exists()


def test_a_certificate_leaves_out_0_hour_records(zero):
    cert = certificates.issue_certificate(actor=zero.actor("member"))
    assert cert.record_count == 1
    assert [r["content"] for r in cert.records] == ["真正的服务"]
    assert cert.total_hours == Decimal("2.00")


def test_no_certificate_of_0_hour_records_only(world):
    served(world, hours="0")
    with pytest.raises(InvalidInput) as exc:
        certificates.issue_certificate(actor=world.actor("member"))
    assert exc.value.code == "no_records"
    assert not Certificate.objects.exists()


def _rows(fn, w, **kwargs) -> list[tuple]:
    dest = BytesIO()
    fn(actor=w.actor(kwargs.pop("who", "staff")), date_from=None, date_to=None, dest=dest, **kwargs)
    sheet = load_workbook(BytesIO(dest.getvalue())).active
    return [tuple(r) for r in sheet.iter_rows(min_row=4, values_only=True) if isinstance(r[0], int)]


def test_the_ledgers_count_only_services_that_count(world):
    real = served(world, title="楼道清理", hours="2")
    enrol(real.slot, world.members["other_member"])
    record(real.slot, world.members["other_member"], hours="0")  # same activity, 0 hours
    a1 = world.areas["a1"].pk
    (activity,) = _rows(ledgers.export_activity_ledger, world, community_id=a1)
    assert activity[8:10] == (1, 2.0)  # 参加人数 1 (not the 0-hour record), 2 hours
    members = {r[1]: r for r in _rows(ledgers.export_member_ledger, world, community_id=a1)}
    assert members["李建国"][4:6] == (1, 2.0)
    assert "赵敏" not in members  # served here only for 0 hours, and reports in A2
