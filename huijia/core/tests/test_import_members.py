"""Member import: counts, idempotence, every kind of bad row, scope, work units, encryption at rest."""

from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from openpyxl import Workbook, load_workbook

from huijia.accounts.models import AuditLog
from huijia.core.crypto import blind_index
from huijia.core.errors import Forbidden
from huijia.core.models import ImportJob, ImportStatus
from huijia.core.tasks import start_import
from huijia.core.testing import make_id_number
from huijia.members.models import Member, Registration, RegistrationStatus, Skill

HEADER = [
    "姓名",
    "身份证号",
    "手机号",
    "工作单位",
    "社区",
    "小区",
    "楼栋",
    "单元",
    "房号",
    "专长",
    "空闲时间",
]
A1 = ("识字岭社区", "识字岭社区幸福小区", "3栋", "1单元")


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
    sheet.title = "党员"
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def member_row(
    serial, name=None, *, unit="芙蓉区教育局", home=(*A1, "202"), skills="医疗、法律", free="周末"
):
    return [name or f"党员{serial}", make_id_number(serial), f"138{serial:08d}", unit, *home, skills, free]


def run(world, who, content, django_capture_on_commit_callbacks, name="members.xlsx") -> ImportJob:
    upload = SimpleUploadedFile(name, content)
    with django_capture_on_commit_callbacks(execute=True):
        job = start_import(actor=world.actor(who), kind="members", upload=upload)
    job.refresh_from_db()
    return job


def counts():
    return (
        Member.objects.count(),
        Registration.objects.count(),
        Skill.objects.count(),
        Member.skills.through.objects.count(),
        Registration.skills.through.objects.count(),
    )


def report_rows(job) -> list[tuple]:
    with job.error_report.open("rb") as f:
        sheet = load_workbook(BytesIO(f.read()), read_only=True).active
        return list(sheet.iter_rows(min_row=2, values_only=True))


GOOD = [
    member_row(101, "周明", home=(*A1, "202")),
    member_row(
        102,
        "吴丽",
        home=(A1[0], A1[1], "5栋", "", "101"),
        skills="水电维修,心理咨询",
        free="工作日晚上、节假日",
    ),
    member_row(103, "郑强", unit="", home=(*A1, "201"), skills="", free=""),
]


def test_staff_import_creates_members_with_approved_registrations(world, django_capture_on_commit_callbacks):
    job = run(world, "staff", xlsx(GOOD), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE, job.message
    assert job.summary == {
        "members_created": 3,
        "members_updated": 0,
        "members_unchanged": 0,
        "registrations_approved": 3,
        "registrations_pending": 0,
        "skills_created": 1,
    }
    assert (job.total_rows, job.processed_rows, job.error_count) == (3, 3, 0)
    zhou = Member.objects.get(id_number_digest=blind_index(make_id_number(101)))
    assert (zhou.name, zhou.phone, zhou.id_number) == ("周明", "13800000101", make_id_number(101))
    assert zhou.phone_digest == blind_index("13800000101")
    assert zhou.work_unit == world.units["u1"]
    assert zhou.community == world.areas["a1"]
    assert zhou.household == world.households["a1_202"]
    assert zhou.free_time == ["weekend"]
    assert sorted(zhou.skills.values_list("name", flat=True)) == ["医疗", "法律"]
    reg = zhou.registrations.get()
    assert reg.status == RegistrationStatus.APPROVED
    assert reg.reviewed_by == world.users["staff"]
    assert sorted(reg.skills.values_list("name", flat=True)) == ["医疗", "法律"]
    wu = Member.objects.get(name="吴丽")
    assert wu.household == world.households["a1_bldg2_101"]
    assert sorted(wu.free_time) == ["holiday", "weekday_evening"]
    assert Skill.objects.filter(name="心理咨询").exists()
    zheng = Member.objects.get(name="郑强")
    assert zheng.work_unit is None
    assert list(zheng.skills.all()) == []
    assert len({m.volunteer_no for m in Member.objects.all()}) == Member.objects.count()
    assert AuditLog.objects.filter(action="import.members", target_id=str(job.pk)).exists()
    assert not job.file  # the uploaded file (plain personal data) is gone


def test_ciphertext_not_plaintext_lands_in_the_database(world, django_capture_on_commit_callbacks):
    run(world, "staff", xlsx(GOOD), django_capture_on_commit_callbacks)
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, id_number FROM members_member")
        stored = " ".join(v for row in cursor.fetchall() for v in row)
    for row in GOOD:
        assert row[1] not in stored
        assert row[2] not in stored
    assert stored.count("gAAAA") == 2 * Member.objects.count()  # Fernet tokens, one level deep


def test_reimporting_the_same_file_changes_nothing(world, django_capture_on_commit_callbacks):
    run(world, "staff", xlsx(GOOD), django_capture_on_commit_callbacks)
    before = counts()
    snapshot = list(Member.objects.order_by("pk").values_list("pk", "phone_digest", "household", "community"))
    job = run(world, "staff", xlsx(GOOD), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE
    assert job.summary["members_unchanged"] == 3
    assert job.summary["members_created"] == job.summary["registrations_approved"] == 0
    assert counts() == before
    assert (
        list(Member.objects.order_by("pk").values_list("pk", "phone_digest", "household", "community"))
        == snapshot
    )


def test_changed_phone_updates_the_existing_member(world, django_capture_on_commit_callbacks):
    run(world, "staff", xlsx(GOOD), django_capture_on_commit_callbacks)
    before = counts()
    changed = [*GOOD[:2], [*GOOD[2][:2], "13999999999", *GOOD[2][3:]]]
    job = run(world, "staff", xlsx(changed), django_capture_on_commit_callbacks)
    assert job.summary["members_updated"] == 1
    assert Member.objects.get(name="郑强").phone == "13999999999"
    assert counts() == before


BAD_ROWS = [
    (
        "wrong_checksum",
        ["王五", "430102198503120011", "13800000001", "", *A1, "202", "", ""],
        "身份证号",
        "校验位",
    ),
    ("bad_mobile", [*member_row(120)[:2], "1380000", *member_row(120)[3:]], "手机号", "11位"),
    ("unknown_household", member_row(121, home=(*A1, "909")), "房号", "没有“1单元909”"),
    (
        "unknown_community",
        member_row(122, home=("不存在社区", *A1[1:], "202")),
        "社区",
        "没有名为“不存在社区”",
    ),
    (
        "outside_scope",
        member_row(123, home=("燕子岭社区", "燕子岭社区幸福小区", "3栋", "1单元", "101")),
        "社区",
        "不在您的管理范围",
    ),
    ("incomplete_address", member_row(124, home=(A1[0], "", "", "", "")), "小区", "住址不完整"),
    ("numeric_id", ["钱六", 430102198503120000, "13800000002", "", *A1, "202", "", ""], "身份证号", "文本"),
    ("bad_free_time", member_row(125, free="每天"), "空闲时间", "无法识别"),
    ("name_mismatch", ["李四", make_id_number(1), "13900000001", "", *A1, "101", "", ""], "姓名", "不一致"),
]


@pytest.mark.parametrize(("case", "bad", "column", "reason"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_a_bad_row_stores_nothing_and_is_reported(
    world, django_capture_on_commit_callbacks, case, bad, column, reason
):
    before = counts()
    job = run(world, "staff", xlsx([GOOD[0], bad, GOOD[1]]), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.HAS_ERRORS
    assert counts() == before
    assert job.error_count == 1
    [(row, col, text)] = report_rows(job)
    assert (row, col) == (3, column)
    assert reason in text
    assert job.summary["preview"] == [[3, column, text]]


def test_duplicate_id_inside_the_file_names_the_first_row(world, django_capture_on_commit_callbacks):
    before = counts()
    twin = member_row(101, "周明明", home=(*A1, "102"))
    job = run(world, "staff", xlsx([GOOD[0], GOOD[1], twin]), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.HAS_ERRORS
    assert counts() == before
    assert report_rows(job) == [(4, "身份证号", "与第2行的身份证号重复")]


def test_every_error_of_every_row_is_reported_in_row_order(world, django_capture_on_commit_callbacks):
    rows = [
        ["", "123", "abc", "", "", "", "", "", "", "", ""],
        GOOD[0],
        ["张三", make_id_number(130), "", "", "", "", "", "", "", "", ""],
    ]
    job = run(world, "staff", xlsx(rows), django_capture_on_commit_callbacks)
    assert [(r, c) for r, c, _ in report_rows(job)] == [
        (2, "姓名"),
        (2, "身份证号"),
        (2, "手机号"),
        (4, "手机号"),
    ]


def test_staff_row_without_address_is_an_error(world, django_capture_on_commit_callbacks):
    job = run(
        world, "staff", xlsx([member_row(140, home=("", "", "", "", ""))]), django_capture_on_commit_callbacks
    )
    assert job.status == ImportStatus.HAS_ERRORS
    assert report_rows(job)[0][1] == "社区"


def test_other_community_staff_cannot_import_into_a1(world, django_capture_on_commit_callbacks):
    before = counts()
    job = run(world, "other_staff", xlsx(GOOD), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.HAS_ERRORS
    assert job.error_count == 3
    assert {c for _, c, _ in report_rows(job)} == {"社区"}
    assert counts() == before


@pytest.mark.parametrize("who", ["member", "outsider", "resident", "estate_secretary", "building_head"])
def test_roles_without_manage_members_cannot_start_an_import(world, who):
    with pytest.raises(Forbidden):
        start_import(actor=world.actor(who), kind="members", upload=SimpleUploadedFile("m.xlsx", xlsx(GOOD)))
    assert ImportJob.objects.count() == 0


def test_work_unit_imports_its_own_members_as_pending(world, django_capture_on_commit_callbacks):
    rows = [
        member_row(150, "孙伟", unit="", home=(*A1, "202")),
        member_row(
            151, "何静", unit="芙蓉区教育局", home=("燕子岭社区", "燕子岭社区幸福小区", "3栋", "1单元", "102")
        ),
        member_row(152, "冯刚", unit="", home=("", "", "", "", "")),
    ]
    job = run(world, "unit_organiser", xlsx(rows), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE, job.message
    assert job.summary["registrations_pending"] == 2
    assert job.summary["registrations_approved"] == 0
    sun = Member.objects.get(name="孙伟")
    assert sun.work_unit == world.units["u1"]
    assert sun.community is None
    assert sun.household is None
    assert sun.registrations.get().status == RegistrationStatus.PENDING
    assert Member.objects.get(name="何静").registrations.get().community == world.areas["a2"]
    assert not Member.objects.get(name="冯刚").registrations.exists()


def test_work_unit_cannot_import_another_units_members(world, django_capture_on_commit_callbacks):
    before = counts()
    rows = [member_row(160, unit=""), member_row(161, unit="长沙市自来水公司")]
    job = run(world, "unit_organiser", xlsx(rows), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.HAS_ERRORS
    assert [(r, c) for r, c, _ in report_rows(job)] == [(3, "工作单位")]
    assert "只能导入本单位" in report_rows(job)[0][2]
    assert counts() == before


def test_work_unit_cannot_take_over_a_member_of_another_unit(world, django_capture_on_commit_callbacks):
    other = world.members["pending_member"]  # 王芳, unit u2
    row = [other.name, other.id_number, other.phone, "", "", "", "", "", "", "", ""]
    job = run(world, "unit_organiser", xlsx([row]), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.HAS_ERRORS
    assert report_rows(job)[0][1] == "工作单位"


def test_staff_confirms_a_member_the_work_unit_imported(world, django_capture_on_commit_callbacks):
    run(
        world,
        "unit_organiser",
        xlsx([member_row(170, "蒋华", unit="", home=("", "", "", "", ""))]),
        django_capture_on_commit_callbacks,
    )
    job = run(
        world,
        "staff",
        xlsx([member_row(170, "蒋华", unit="", skills="", free="")]),
        django_capture_on_commit_callbacks,
    )
    assert job.status == ImportStatus.DONE, job.message
    assert job.summary["members_updated"] == 1
    assert job.summary["registrations_approved"] == 1
    jiang = Member.objects.get(name="蒋华")
    assert jiang.community == world.areas["a1"]
    assert jiang.work_unit == world.units["u1"]  # blank cell keeps what is stored
    assert sorted(jiang.skills.values_list("name", flat=True)) == ["医疗", "法律"]


def test_member_reporting_elsewhere_is_not_moved_silently(world, django_capture_on_commit_callbacks):
    other = world.members["other_member"]  # approved in A2
    row = [other.name, other.id_number, other.phone, "", *A1, "202", "", ""]
    job = run(world, "staff", xlsx([row]), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.HAS_ERRORS
    assert "其他社区" in report_rows(job)[0][2]


def test_existing_member_with_the_same_data_is_unchanged(world, django_capture_on_commit_callbacks):
    member = world.members["member"]  # 李建国, approved in A1 at a1_101
    row = [member.name, member.id_number, member.phone, "芙蓉区教育局", *A1, "101", "", ""]
    before = counts()
    job = run(world, "staff", xlsx([row]), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE, job.message
    assert job.summary["members_unchanged"] == 1
    assert counts() == before


@pytest.fixture
def parallel(monkeypatch):
    """Large-file mode for small files: a reader process, and on PostgreSQL a writer thread.

    Returns the batches the writer loaded, to show that rows were written before the bad one was found.
    """
    from huijia.members import imports

    monkeypatch.setattr(imports, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    written = []
    write = imports._Writer.write

    def spy(self, batch):
        written.append(len(batch.members))
        return write(self, batch)

    monkeypatch.setattr(imports._Writer, "write", spy)
    return written


@pytest.mark.django_db(transaction=True)
def test_large_file_mode_imports_and_stays_all_or_nothing(parallel):
    from huijia.core.tasks import execute_import
    from huijia.core.testing import build_world

    world = build_world()
    rows = [member_row(200 + i, f"党员{i}", home=(*A1, "202" if i % 2 else "201")) for i in range(7)]

    def job_for(content):
        upload = SimpleUploadedFile("members.xlsx", content)
        job = ImportJob(kind="members", created_by=world.users["staff"], original_name=upload.name)
        job.file.save("members.xlsx", upload, save=True)
        execute_import(job_id=job.pk)
        job.refresh_from_db()
        return job

    before = counts()
    bad = job_for(xlsx([*rows, ["迟到", "430102198503120011", "13800000009", "", *A1, "202", "", ""]]))
    assert bad.status == ImportStatus.HAS_ERRORS
    assert report_rows(bad)[0][:2] == (9, "身份证号")
    if connection.vendor == "postgresql":
        assert sum(parallel) >= 6  # the writer thread had loaded the first rows ...
    assert counts() == before  # ... and they were rolled back
    good = job_for(xlsx(rows))
    assert good.status == ImportStatus.DONE, good.message
    assert good.summary["members_created"] == 7
    assert good.summary["registrations_approved"] == 7
    assert Member.objects.get(name="党员3").phone == "13800000203"
    assert counts()[0] == before[0] + 7
