"""Household import: the area chain and its paths, idempotence, bad rows, and the MANAGE_GRID scope."""

import itertools
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from huijia.core.errors import Forbidden
from huijia.core.models import ImportJob, ImportStatus
from huijia.core.tasks import start_import
from huijia.grid.models import Area, AreaKind, Household

HEADER = ["区县", "街道", "社区", "小区", "楼栋", "单元", "楼层", "房号"]
NEW_CHAIN = ["芙蓉区", "文艺路街道", "识字岭社区", "清水塘小区", "1栋"]
GOOD = [
    [*NEW_CHAIN, "1单元", 1, "101"],
    [*NEW_CHAIN, "1单元", 1, 102],
    [*NEW_CHAIN, "", "2", "201"],
    ["芙蓉区", "文艺路街道", "识字岭社区", "识字岭社区幸福小区", "3栋", "1单元", 3, "301"],
]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }


def xlsx(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "住户"
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(world, who, content, django_capture_on_commit_callbacks) -> ImportJob:
    upload = SimpleUploadedFile("households.xlsx", content)
    with django_capture_on_commit_callbacks(execute=True):
        job = start_import(actor=world.actor(who), kind="households", upload=upload)
    job.refresh_from_db()
    return job


def counts():
    return Area.objects.count(), Household.objects.count()


def report_rows(job) -> list[tuple]:
    with job.error_report.open("rb") as f:
        return list(
            load_workbook(BytesIO(f.read()), read_only=True).active.iter_rows(min_row=2, values_only=True)
        )


def test_import_creates_the_missing_chain_with_correct_paths(world, django_capture_on_commit_callbacks):
    job = run(world, "staff", xlsx(GOOD), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE, job.message
    assert job.summary == {
        "areas_created": 2,
        "households_created": 4,
        "households_updated": 0,
        "households_unchanged": 0,
    }
    estate = Area.objects.get(name="清水塘小区")
    building = Area.objects.get(parent=estate, name="1栋")
    assert (estate.kind, building.kind) == (AreaKind.ESTATE, AreaKind.BUILDING)
    assert estate.parent == world.areas["a1"]
    assert estate.path == f"{world.areas['a1'].path}{estate.pk}/"
    assert building.path == f"{estate.path}{building.pk}/"
    assert (estate.depth, building.depth) == (world.areas["a1"].depth + 1, world.areas["a1"].depth + 2)
    rooms = sorted(Household.objects.filter(building=building).values_list("unit", "floor", "room"))
    assert rooms == [("", 2, "201"), ("1单元", 1, "101"), ("1单元", 1, "102")]
    assert Household.objects.filter(building=world.areas["a1_bldg"], room="301", floor=3).exists()


def test_org_dept_creates_a_whole_new_district(world, django_capture_on_commit_callbacks):
    rows = [["天心区", "坡子街街道", "西湖社区", "西湖小区", "8栋", "", 5, "501"]]
    job = run(world, "org_dept", xlsx(rows), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE, job.message
    assert job.summary["areas_created"] == 5
    building = Area.objects.get(name="8栋", parent__name="西湖小区")
    chain = [Area.objects.get(pk=pk) for pk in building.ancestor_ids()]
    assert [a.kind for a in chain] == ["city", "district", "street", "community", "estate", "building"]
    for parent, child in itertools.pairwise(chain):
        assert child.parent_id == parent.pk
        assert child.path == f"{parent.path}{child.pk}/"


def test_reimport_changes_nothing_and_a_new_floor_updates(world, django_capture_on_commit_callbacks):
    run(world, "staff", xlsx(GOOD), django_capture_on_commit_callbacks)
    before = counts()
    again = run(world, "staff", xlsx(GOOD), django_capture_on_commit_callbacks)
    assert again.summary == {
        "areas_created": 0,
        "households_created": 0,
        "households_updated": 0,
        "households_unchanged": 4,
    }
    assert counts() == before
    moved = [*GOOD[:3], [*GOOD[3][:6], 4, "301"]]
    third = run(world, "staff", xlsx(moved), django_capture_on_commit_callbacks)
    assert third.summary["households_updated"] == 1
    assert Household.objects.get(building=world.areas["a1_bldg"], room="301").floor == 4
    assert counts() == before


BAD_ROWS = [
    ("empty_room", [*NEW_CHAIN, "1单元", 1, ""], "房号", "房号不能为空"),
    ("bad_floor", [*NEW_CHAIN, "1单元", "三楼", "301"], "楼层", "整数"),
    ("floor_out_of_range", [*NEW_CHAIN, "1单元", 999, "301"], "楼层", "整数"),
    (
        "missing_estate",
        ["芙蓉区", "文艺路街道", "识字岭社区", "", "1栋", "", 1, "101"],
        "小区",
        "小区不能为空",
    ),
    (
        "sibling_community",
        ["芙蓉区", "文艺路街道", "燕子岭社区", "新小区", "1栋", "", 1, "101"],
        "社区",
        "不在您的管理范围",
    ),
    (
        "other_street",
        ["芙蓉区", "定王台街道", "新园社区", "新园社区幸福小区", "3栋", "1单元", 9, "901"],
        "社区",
        "不在您的管理范围",
    ),
    (
        "unknown_street",
        ["芙蓉区", "不存在街道", "识字岭社区", "小区", "1栋", "", 1, "101"],
        "街道",
        "您也无权新建",
    ),
    ("duplicate_row", [*NEW_CHAIN, "1单元", 1, "101"], "房号", "与第2行是同一户"),
]


@pytest.mark.parametrize(("case", "bad", "column", "reason"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_a_bad_row_stores_nothing_and_is_reported(
    world, django_capture_on_commit_callbacks, case, bad, column, reason
):
    before = counts()
    job = run(world, "staff", xlsx([GOOD[0], bad, GOOD[3]]), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.HAS_ERRORS
    assert counts() == before
    [(row, col, text)] = report_rows(job)
    assert (row, col) == (3, column)
    assert reason in text


def test_street_staff_may_create_communities_in_their_street_only(world, django_capture_on_commit_callbacks):
    mine = ["芙蓉区", "文艺路街道", "新建社区", "新建小区", "1栋", "", 1, "101"]
    theirs = ["芙蓉区", "定王台街道", "新园社区", "新园社区幸福小区", "3栋", "1单元", 9, "901"]
    before = counts()
    job = run(world, "street_staff", xlsx([mine, theirs]), django_capture_on_commit_callbacks)
    assert report_rows(job) == [(3, "街道", "“定王台街道”不在您的管理范围内")]
    assert counts() == before
    job = run(world, "street_staff", xlsx([mine]), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE
    assert Area.objects.get(name="新建社区").parent == world.areas["street_a"]


def test_other_community_staff_cannot_import_into_a1(world, django_capture_on_commit_callbacks):
    before = counts()
    job = run(world, "other_staff", xlsx(GOOD), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.HAS_ERRORS
    assert job.error_count == 4
    assert counts() == before


@pytest.mark.parametrize(
    "who", ["member", "outsider", "resident", "estate_secretary", "building_head", "unit_organiser"]
)
def test_roles_without_manage_grid_cannot_start_an_import(world, who):
    with pytest.raises(Forbidden):
        start_import(
            actor=world.actor(who), kind="households", upload=SimpleUploadedFile("h.xlsx", xlsx(GOOD))
        )
    assert ImportJob.objects.count() == 0
