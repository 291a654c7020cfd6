"""The care ledger (结对帮扶台账) of an estate for a month, opened with openpyxl as an office would."""

from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from huijia.accounts.models import AuditLog
from huijia.care.ledgers import HEADER, export_care_ledger
from huijia.care.models import VulnerablePerson
from huijia.care.tests.helpers import pairing, visit, vulnerable
from huijia.core.errors import NotFound
from huijia.core.ledger import Month
from huijia.core.testing import make_member, register


def last_month() -> Month:
    first = timezone.localdate().replace(day=1) - timedelta(days=1)
    return Month(first.year, first.month)


def day(n: int) -> date:
    m = last_month()
    return date(m.year, m.month, n)


def before_month(days: int) -> date:
    return last_month().first - timedelta(days=days)


def ledger(world, who="staff", estate="a1_estate"):
    dest = BytesIO()
    export_care_ledger(
        actor=world.actor(who), estate_id=world.areas[estate].pk, month=str(last_month()), dest=dest
    )
    return list(load_workbook(BytesIO(dest.getvalue())).active.iter_rows(values_only=True))


def on_file_since(world, household: str, kind: str, when: date, **fields):
    person = vulnerable(world, household, kind, **fields)
    stamp = timezone.make_aware(datetime.combine(when, datetime.min.time()))
    VulnerablePerson.objects.filter(pk=person.pk).update(recorded_at=stamp)
    return person


def test_one_row_per_pairing_running_in_the_month(world):
    make_member(world, "neighbour", name="周红", serial=70, unit=None)
    register(world, "neighbour", "a1", "a1_bldg2_101")
    on_file_since(world, "a1_201", "elderly_alone", before_month(60))
    on_file_since(world, "a1_201", "disabled", before_month(60))
    on_file_since(world, "a1_bldg2_101", "hardship", before_month(60))
    visited = pairing(
        world, "a1_201", "member", "neighbour", cadence=30, started=before_month(50), note="代办高龄补贴"
    )
    visit(world, "a1_201", on=day(3), help_given="帮助申请助餐")
    visit(world, "a1_201", on=day(20), member="neighbour")
    visit(world, "a1_201", on=day(21), member=None)  # staff: not a paired member
    visit(world, "a1_201", on=last_month().last + timedelta(days=1))  # next month
    pairing(world, "a1_bldg2_101", "member", cadence=7, started=before_month(40))  # never visited
    pairing(world, "a1_101", "member", started=before_month(90), ended_on=before_month(5))  # ended before
    pairing(world, "a2_101", "other_member", started=before_month(10))  # another estate
    rows = ledger(world)
    m = last_month()
    assert rows[0][0] == f"识字岭社区幸福小区结对帮扶台账（{m.year}年{m.month}月）"
    assert "结对共 2 户" in rows[1][0]
    assert rows[2] == HEADER
    assert rows[3] == (
        1,
        "3栋 1单元201室",
        "独居老人、残疾人",
        "李建国、周红",
        "每月（30天）",
        2,
        datetime(m.year, m.month, 20),
        "代办高龄补贴；帮助申请助餐",
        "否",
    )
    due = before_month(40) + timedelta(days=7)
    late = (last_month().last - due).days
    assert rows[4] == (
        2,
        "5栋 101室",
        "困难家庭",
        "李建国",
        "每周（7天）",
        0,
        None,
        None,
        f"是（逾期{late}天）",
    )
    assert rows[6][0].startswith("填表人：")
    assert len(rows) == 7
    assert visited.pk
    assert AuditLog.objects.get(action="ledger.care").detail == {"month": str(m), "rows": 2}


def test_no_phone_number_in_the_ledger(world):
    on_file_since(world, "a1_201", "elderly_alone", before_month(60))
    pairing(world, "a1_201", "member", started=before_month(30))
    visit(world, "a1_201", on=day(4), contact_phone="13911112222")
    member = world.members["member"]
    cells = " ".join(str(v) for row in ledger(world) for v in row if v is not None)
    assert "13911112222" not in cells
    assert member.phone not in cells


@pytest.mark.parametrize("who", ["building_head", "member", "other_staff", "resident", "outsider"])
def test_others_get_nothing(world, who):
    with pytest.raises(NotFound):
        ledger(world, who=who)
    assert not AuditLog.objects.filter(action="ledger.care").exists()


def test_the_estate_secretary_downloads_their_estate(world):
    on_file_since(world, "a1_201", "elderly_alone", before_month(60))
    pairing(world, "a1_201", "member", started=before_month(30))
    assert ledger(world, who="estate_secretary")[3][1] == "3栋 1单元201室"
