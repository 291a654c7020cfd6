"""The console page: malformed files, upload and job pages, the progress fragment, who may see what."""

import re
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from huijia.core.models import ImportJob, ImportKind, ImportStatus
from huijia.core.testing import PASSWORD, make_id_number
from huijia.members.models import Member, Registration

MEMBER_HEADER = [
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
GOOD_ROW = [
    "周明",
    make_id_number(101),
    "13800000101",
    "",
    "识字岭社区",
    "识字岭社区幸福小区",
    "3栋",
    "1单元",
    "202",
    "",
    "",
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
    return tmp_path / "media"


def workbook_bytes(*sheets: tuple[str, list[list]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def login(client, world, who):
    assert client.login(username=world.users[who].username, password=PASSWORD)
    return client


def upload(client, content: bytes, name="members.xlsx", kind="members"):
    f = BytesIO(content)
    f.name = name
    return client.post(reverse("data:upload", args=[kind]), {"file": f})


def post_file(client, content: bytes, capture, name="members.xlsx", kind="members"):
    with capture(execute=True):
        return upload(client, content, name, kind)


MALFORMED = [
    ("not_xlsx", b"this is plainly not a spreadsheet", "不是 Excel"),
    ("zero_bytes", b"", "空的"),
    ("old_xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "旧版 .xls"),
    ("broken_zip", b"PK\x03\x04garbage", "已损坏"),
    ("header_only", workbook_bytes(("党员", [MEMBER_HEADER])), "没有数据行"),
    (
        "missing_header",
        workbook_bytes(("党员", [["姓名", "手机号"], ["周明", "13800000101"]])),
        "缺少必填列：身份证号",
    ),
    ("wrong_sheet", workbook_bytes(("统计", [["月份", "人数"], ["一月", 3]])), "没有找到第一行是"),
    ("empty_workbook", workbook_bytes(("Sheet", [])), "没有找到第一行是"),
    ("duplicate_header", workbook_bytes(("党员", [[*MEMBER_HEADER, "手机号"], GOOD_ROW])), "出现了两次"),
]


@pytest.mark.parametrize(("case", "content", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_gets_one_message_and_stores_nothing(
    client, world, django_capture_on_commit_callbacks, case, content, message
):
    login(client, world, "staff")
    before = (Member.objects.count(), Registration.objects.count())
    response = post_file(client, content, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("data:job", args=[job.pk])
    assert job.status == ImportStatus.BAD_FILE
    assert message in job.message
    assert not job.error_report
    assert (Member.objects.count(), Registration.objects.count()) == before
    page = client.get(response.url)
    assert message in page.content.decode()


def test_the_sheet_with_the_headers_is_found_among_others(client, world, django_capture_on_commit_callbacks):
    login(client, world, "staff")
    content = workbook_bytes(("说明", [["请在第二个工作表填写"]]), ("党员", [MEMBER_HEADER, GOOD_ROW]))
    post_file(client, content, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.DONE, job.message
    assert Member.objects.filter(name="周明").exists()


def test_wrong_extension_is_refused_before_any_job(client, world):
    login(client, world, "staff")
    response = upload(client, b"a,b,c", name="members.csv")
    assert response.status_code == 400
    assert "请上传 .xlsx 格式" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_good_upload_shows_the_counts_and_deletes_the_file(
    client, world, django_capture_on_commit_callbacks, media
):
    login(client, world, "staff")
    response = post_file(
        client, workbook_bytes(("党员", [MEMBER_HEADER, GOOD_ROW])), django_capture_on_commit_callbacks
    )
    page = client.get(response.url).content.decode()
    assert "导入成功" in page
    assert re.search(r"<dt>新增党员</dt><dd>1</dd>", page)
    assert re.search(r"<dt>直接记为已报到</dt><dd>1</dd>", page)
    assert not list((media / "imports" / "members").glob("*.xlsx"))


def test_error_report_downloads_for_its_owner_only(client, world, django_capture_on_commit_callbacks):
    login(client, world, "staff")
    bad = [*GOOD_ROW[:2], "12345", *GOOD_ROW[3:]]
    response = post_file(
        client, workbook_bytes(("党员", [MEMBER_HEADER, bad])), django_capture_on_commit_callbacks
    )
    job = ImportJob.objects.get()
    page = client.get(response.url).content.decode()
    assert "有错误，未导入" in page
    assert "下载错误报告" in page
    report = client.get(reverse("data:job_report", args=[job.pk]))
    assert report.status_code == 200
    assert "attachment" in report["Content-Disposition"]
    sheet = load_workbook(BytesIO(b"".join(report.streaming_content)), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列", "问题")
    assert rows[1][:2] == (2, "手机号")
    client.logout()
    login(client, world, "other_staff")
    for name in ("job", "job_progress", "job_report"):
        assert client.get(reverse(f"data:{name}", args=[job.pk])).status_code == 404


def make_job(world, who="staff", **fields) -> ImportJob:
    fields.setdefault("kind", ImportKind.MEMBERS)
    fields.setdefault("original_name", "名单.xlsx")
    return ImportJob.objects.create(created_by=world.users[who], **fields)


def test_progress_fragment_polls_while_running_and_stops_when_done(client, world):
    login(client, world, "staff")
    job = make_job(world, status=ImportStatus.READING, total_rows=100_000, processed_rows=40_000)
    html = client.get(reverse("data:job_progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert f'hx-get="{reverse("data:job_progress", args=[job.pk])}"' in html
    assert re.search(r'<progress value="40000" max="100000"', html)
    assert "已校验 40000 / 100000 行（40%）" in html
    assert "<html" not in html  # a fragment, not a page
    job.status, job.processed_rows, job.summary = ImportStatus.DONE, 100_000, {"members_created": 100_000}
    job.save()
    html = client.get(reverse("data:job_progress", args=[job.pk])).content.decode()
    assert "hx-get" not in html
    assert "hx-trigger" not in html
    assert "<dt>新增党员</dt><dd>100000</dd>" in html


def test_queued_and_saving_jobs_show_an_indeterminate_bar(client, world):
    login(client, world, "staff")
    for status in (ImportStatus.QUEUED, ImportStatus.SAVING):
        job = make_job(world, status=status, total_rows=10)
        html = client.get(reverse("data:job_progress", args=[job.pk])).content.decode()
        assert re.search(r"<progress aria-label=", html), status
        assert "hx-trigger" in html


def test_job_list_uses_a_constant_number_of_queries(client, world):
    login(client, world, "staff")
    make_job(world)
    client.get(reverse("data:home"))  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("data:home")).status_code == 200
    for n in range(15):
        make_job(world, original_name=f"第{n}批.xlsx", status=ImportStatus.DONE, total_rows=n)
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("data:home")).content.decode()
    assert page.count('class="job-name"') == 16
    assert len(many) == len(one), "\n".join(q["sql"] for q in many.captured_queries)


def test_job_list_shows_only_my_jobs(client, world):
    make_job(world, "other_staff", original_name="别人的名单.xlsx")
    make_job(world, "staff", original_name="我的名单.xlsx")
    page = login(client, world, "staff").get(reverse("data:home")).content.decode()
    assert "我的名单.xlsx" in page
    assert "别人的名单.xlsx" not in page


@pytest.mark.parametrize("who", ["member", "outsider", "resident"])
def test_non_staff_cannot_open_the_page_or_upload(client, world, who):
    login(client, world, who)
    assert client.get(reverse("data:home")).status_code == 403
    assert upload(client, workbook_bytes(("党员", [MEMBER_HEADER, GOOD_ROW]))).status_code == 403
    assert ImportJob.objects.count() == 0


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(reverse("data:home"))
    assert response.status_code == 302
    assert reverse("login") in response.url


def test_staff_without_import_rights_sees_no_form_and_is_refused(client, world):
    login(client, world, "building_head")
    page = client.get(reverse("data:home")).content.decode()
    assert "上传并导入" not in page
    assert upload(client, workbook_bytes(("党员", [MEMBER_HEADER, GOOD_ROW]))).status_code == 403
    assert ImportJob.objects.count() == 0


def test_page_offers_what_each_role_may_do(client, world):
    staff = login(client, world, "staff").get(reverse("data:home")).content.decode()
    assert reverse("data:upload", args=["households"]) in staff
    assert reverse("data:upload", args=["members"]) in staff
    assert 'name="full"' in staff
    client.logout()
    unit = login(client, world, "unit_organiser").get(reverse("data:home")).content.decode()
    assert reverse("data:upload", args=["members"]) in unit
    assert reverse("data:upload", args=["households"]) not in unit
    client.logout()
    street = login(client, world, "street_staff").get(reverse("data:home")).content.decode()
    assert reverse("data:upload", args=["households"]) in street
    assert reverse("data:upload", args=["members"]) not in street
    assert 'name="full"' not in street


@pytest.mark.parametrize("kind", ["households", "members"])
def test_templates_carry_the_header_row(client, world, kind):
    login(client, world, "staff")
    response = client.get(reverse("data:template", args=[kind]))
    assert response.status_code == 200
    workbook = load_workbook(BytesIO(b"".join(response.streaming_content)), read_only=True)
    header = next(workbook.worksheets[0].iter_rows(values_only=True))
    assert header[:3] == (
        ("区县", "街道", "社区") if kind == "households" else ("姓名", "身份证号", "手机号")
    )
    assert workbook.sheetnames[1] == "填写说明"
