"""Exports: households of a subtree, members in scope, masked unless an allowed role asks (audited)."""

from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from huijia.accounts.models import AuditLog
from huijia.core.testing import PASSWORD


def login(client, world, who):
    assert client.login(username=world.users[who].username, password=PASSWORD)
    return client


def sheet_rows(response) -> list[tuple]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(BytesIO(b"".join(response.streaming_content)), read_only=True)
    return list(workbook.worksheets[0].iter_rows(values_only=True))


def export_households(client, area):
    return client.post(reverse("data:export_households"), {"area": area.pk})


def export_members(client, **data):
    return client.post(reverse("data:export_members"), data)


def test_household_export_holds_the_subtree_in_import_columns(client, world):
    rows = sheet_rows(export_households(login(client, world, "staff"), world.areas["a1"]))
    assert rows[0] == ("区县", "街道", "社区", "小区", "楼栋", "单元", "楼层", "房号")
    assert len(rows) - 1 == 5
    assert ("芙蓉区", "文艺路街道", "识字岭社区", "识字岭社区幸福小区", "3栋", "1单元", 1, "101") in rows
    assert {r[2] for r in rows[1:]} == {"识字岭社区"}
    assert AuditLog.objects.filter(action="export.households", target_id=str(world.areas["a1"].pk)).exists()


def test_street_exports_all_its_communities(client, world):
    rows = sheet_rows(export_households(login(client, world, "street_staff"), world.areas["street_a"]))
    assert {r[2] for r in rows[1:]} == {"识字岭社区", "燕子岭社区"}


@pytest.mark.parametrize(
    ("who", "status"), [("other_staff", 404), ("estate_secretary", 404), ("member", 403), ("outsider", 403)]
)
def test_household_export_outside_scope_is_refused(client, world, who, status):
    response = export_households(login(client, world, who), world.areas["a1"])
    assert response.status_code == status
    assert not AuditLog.objects.filter(action="export.households").exists()


def test_member_export_is_masked_by_default(client, world):
    rows = sheet_rows(export_members(login(client, world, "staff")))
    assert rows[0][:3] == ("姓名", "身份证号", "手机号")
    names = {r[0] for r in rows[1:]}
    assert names == {"李建国"}  # the approved member of A1 (王芳 is still pending)
    li = world.members["member"]
    [row] = rows[1:]
    assert row[1] == li.masked_id_number
    assert row[2] == "139****0001"
    dump = repr(rows)
    assert li.id_number not in dump
    assert li.phone not in dump
    log = AuditLog.objects.get(action="export.members")
    assert log.detail == {"rows": 1, "full": False}


def test_full_member_export_for_staff_is_audited(client, world):
    rows = sheet_rows(export_members(login(client, world, "staff"), full="1", area=world.areas["a1"].pk))
    li = world.members["member"]
    [row] = rows[1:]
    assert (row[1], row[2]) == (li.id_number, li.phone)
    assert row[4:9] == ("识字岭社区", "识字岭社区幸福小区", "3栋", "1单元", "101")
    log = AuditLog.objects.get(action="export.members")
    assert log.actor == world.users["staff"]
    assert log.detail == {"rows": 1, "full": True}
    assert log.target_id == str(world.areas["a1"].pk)


def test_work_unit_exports_only_its_own_members_and_may_unmask(client, world):
    rows = sheet_rows(export_members(login(client, world, "unit_organiser"), full="1"))
    assert [r[0] for r in rows[1:]] == ["李建国"]
    assert rows[1][3] == "芙蓉区教育局"
    assert rows[1][2] == world.members["member"].phone


@pytest.mark.parametrize("who", ["org_dept", "street_staff"])
def test_roles_without_view_pii_get_masked_only(client, world, who):
    login(client, world, who)
    response = export_members(client, full="1")
    assert response.status_code == 403
    assert "完整身份证号" in response.content.decode()
    assert not AuditLog.objects.filter(action="export.members").exists()
    rows = sheet_rows(export_members(client))
    assert {r[0] for r in rows[1:]} == {"李建国", "赵敏"}
    assert all("****" in r[2] for r in rows[1:])


@pytest.mark.parametrize("who", ["member", "outsider", "resident"])
def test_non_staff_cannot_export_members(client, world, who):
    assert export_members(login(client, world, who)).status_code == 403


@pytest.mark.parametrize("who", ["estate_secretary", "building_head"])
def test_staff_without_export_right_cannot_export_members(client, world, who):
    assert export_members(login(client, world, who), full="1").status_code == 403
    assert not AuditLog.objects.filter(action="export.members").exists()


def test_member_export_of_another_communitys_area_is_refused(client, world):
    response = export_members(login(client, world, "other_staff"), area=world.areas["a1"].pk)
    assert response.status_code == 404
