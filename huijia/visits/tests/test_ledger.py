"""The visit ledger (入户走访台账) of an estate for a month, opened with openpyxl as an office would."""

from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from huijia.accounts.models import AuditLog
from huijia.care.models import VulnerablePerson
from huijia.care.tests.helpers import visit, vulnerable
from huijia.core.errors import Forbidden, InvalidInput, NotFound
from huijia.core.ledger import Month
from huijia.visits.ledgers import HEADER, export_visit_ledger

PHONE = "13987654321"


def last_month() -> Month:
    first = timezone.localdate().replace(day=1) - timedelta(days=1)
    return Month(first.year, first.month)


def day(n: int) -> date:
    m = last_month()
    return date(m.year, m.month, n)


def ledger(world, who="staff", estate="a1_estate", month=None):
    dest = BytesIO()
    export_visit_ledger(
        actor=world.actor(who),
        estate_id=world.areas[estate].pk,
        month=str(last_month()) if month is None else month,
        dest=dest,
    )
    sheet = load_workbook(BytesIO(dest.getvalue())).active
    return sheet, list(sheet.iter_rows(values_only=True))


def test_title_header_rows_and_signature_line(world):
    known = vulnerable(world, "a1_201", "elderly_alone", name="陈奶奶", note="腿脚不便")
    VulnerablePerson.objects.filter(pk=known.pk).update(recorded_at=timezone.now() - timedelta(days=90))
    vulnerable(world, "a1_201", "hardship")  # put on the file today, after the visit: not in that row
    vulnerable(world, "a1_202", "disabled", ended_at=timezone.now() - timedelta(days=400))  # long ended
    visit(
        world,
        "a1_201",
        on=day(12),
        tenure="rented",
        occupants=2,
        moved_in_on=date(2024, 3, 1),
        contact_phone=PHONE,
        opinions="楼道灯坏了\n希望加装扶手",
        help_given="帮助办理养老资格认证",
        notes="下次带血压计",
    )
    visit(world, "a1_202", on=day(3), member=None)  # recorded by staff
    visit(world, "a1_101", on=day(28) + timedelta(days=5))  # next month: not in this ledger
    visit(world, "a2_101", on=day(5), member="other_member")  # another estate
    sheet, rows = ledger(world)
    m = last_month()
    assert rows[0][0] == f"识字岭社区幸福小区入户走访台账（{m.year}年{m.month}月）"
    assert "社区：识字岭社区" in rows[1][0]
    assert "走访共 2 户次" in rows[1][0]
    assert rows[2] == HEADER
    assert rows[3] == (
        1,
        datetime(m.year, m.month, 3),
        "3栋",
        "1单元",
        "202",
        "staff",
        None,
        None,
        None,
        None,
        None,
        None,
    )
    assert rows[4] == (
        2,
        datetime(m.year, m.month, 12),
        "3栋",
        "1单元",
        "201",
        "李建国",
        "租住，2024年3月入住",
        2,
        "楼道灯坏了；希望加装扶手",
        "独居老人（陈奶奶，腿脚不便）",
        "帮助办理养老资格认证",
        "下次带血压计",
    )
    assert rows[5] == (None,) * 12
    assert rows[6][0].startswith("填表人：")
    assert len(rows) == 7
    assert "A1:L1" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet.page_setup.orientation == "landscape"
    assert sheet["B5"].number_format == 'yyyy"年"m"月"d"日"'
    every_cell = " ".join(str(v) for row in rows for v in row if v is not None)
    assert PHONE not in every_cell
    log = AuditLog.objects.get(action="ledger.visits")
    assert log.detail == {"month": str(m), "rows": 2}


def test_vulnerable_people_learnt_in_the_visit_are_listed(world):
    v = visit(world, "a1_102", on=day(2))
    vulnerable(world, "a1_102", "left_behind_child", visit_id=v.pk)
    _sheet, rows = ledger(world)
    assert rows[3][9] == "留守儿童"


def test_a_campaign_visit_names_the_campaign_in_the_remarks(world):
    from huijia.visits.models import Campaign

    campaign = Campaign.objects.create(community=world.areas["a1"], name="疫苗接种敲门行动")
    visit(world, "a1_102", on=day(2), campaign=campaign)
    _sheet, rows = ledger(world)
    assert rows[3][11] == "敲门行动：疫苗接种敲门行动"


def test_an_empty_month_still_gives_a_ledger_to_file(world):
    _sheet, rows = ledger(world)
    assert rows[2] == HEADER
    assert rows[4][0].startswith("填表人：")


@pytest.mark.parametrize("who", ["estate_secretary", "street_staff", "org_dept"])
def test_the_estate_secretary_and_higher_levels_download(world, who):
    visit(world, "a1_101", on=day(1))
    _sheet, rows = ledger(world, who=who)
    assert rows[3][4] == "101"


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("building_head", NotFound),
        ("member", NotFound),
        ("other_staff", NotFound),
        ("unit_organiser", NotFound),
        ("outsider", NotFound),
    ],
)
def test_others_get_nothing_and_nothing_is_audited(world, who, error):
    with pytest.raises(error):
        ledger(world, who=who)
    assert not AuditLog.objects.filter(action="ledger.visits").exists()


def test_viewing_without_the_right_to_download_is_forbidden(world):
    from huijia.accounts.models import RoleGrant
    from huijia.accounts.roles import Role
    from huijia.core.testing import make_user

    world.users["viewer"] = make_user("viewer")
    RoleGrant.objects.create(user=world.users["viewer"], role=Role.BUILDING, area=world.areas["a1_estate"])
    with pytest.raises(Forbidden):
        ledger(world, who="viewer")


@pytest.mark.parametrize("month", ["2026-13", "2026", "", "十一月"])
def test_a_bad_month_is_a_clear_error(world, month):
    with pytest.raises(InvalidInput, match="月份"):
        ledger(world, month=month)
    assert not AuditLog.objects.filter(action="ledger.visits").exists()


def test_a_community_is_not_an_estate(world):
    with pytest.raises(NotFound):
        ledger(world, estate="a1")
