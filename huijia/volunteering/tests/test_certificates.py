"""Certificates of service records: issued by the member (or their community's staff), a frozen copy of
the records, a PDF in a real CJK font with a serial and a QR code, a public verification page that
shows a masked name and nothing personal; a certificate for someone else is refused.
"""

import time
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from huijia.accounts.models import AuditLog
from huijia.core.errors import InvalidInput, NotFound
from huijia.volunteering import certificates
from huijia.volunteering.models import Certificate, ServiceRecord
from huijia.volunteering.tests.test_records import many_served, served


def issue(w, who: str = "member", **kwargs) -> Certificate:
    return certificates.issue_certificate(actor=w.actor(who), **kwargs)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def test_member_issues_their_own_certificate(world):
    served(world, title="清理楼道小广告", hours="2")
    served(world, title="关爱独居老人", hours="1.5", hours_ago=30)
    served(world, open_record=True)  # not closed: not on the certificate
    served(world, hours_ago=24 * 400)  # before the period (this year so far)
    cert = issue(world)
    year = timezone.localdate().year
    assert cert.serial == f"ZYFW-{timezone.localdate(cert.issued_at).year}-{cert.pk:08d}"
    assert Certificate.objects.get(pk=cert.pk).serial == cert.serial
    assert (cert.period_from, cert.period_to) == (date(year, 1, 1), timezone.localdate())
    assert (cert.record_count, cert.total_hours) == (2, Decimal("3.50"))
    assert cert.issuer == "识字岭社区党委"  # the community committee on file
    assert cert.member_name == "李建国"
    assert [r["content"] for r in cert.records] == ["关爱独居老人", "清理楼道小广告"]  # oldest first
    assert cert.records[1] == {
        "date": timezone.localdate(timezone.now() - timedelta(hours=3)).isoformat(),
        "content": "清理楼道小广告",
        "hours": "2.00",
        "organiser": "识字岭社区",
    }
    assert AuditLog.objects.filter(action="volunteer.certificate_issue", target_id=str(cert.pk)).exists()


def test_the_certificate_is_a_frozen_copy(world):
    rec = served(world, hours="2")
    cert = issue(world)
    ServiceRecord.objects.filter(pk=rec.pk).update(hours=Decimal("0.50"))
    cert.refresh_from_db()
    assert cert.total_hours == Decimal("2.00")
    assert cert.records[0]["hours"] == "2.00"


def test_issuer_without_a_committee_on_file_is_named_after_the_community(world):
    served(world, "other_member", community="a2")
    assert issue(world, "other_member").issuer == "燕子岭社区党委"


def test_staff_issue_for_a_member_of_their_community(world):
    served(world)
    cert = issue(world, "staff", member_id=world.members["member"].pk)
    assert cert.member_id == world.members["member"].pk
    assert cert.issued_by_id == world.users["staff"].pk


@pytest.mark.parametrize(
    "who", ["other_member", "other_staff", "estate_secretary", "unit_organiser", "street_staff", "resident"]
)
def test_a_certificate_for_someone_else_is_refused(world, who):
    served(world)
    with pytest.raises(NotFound):
        issue(world, who, member_id=world.members["member"].pk)
    assert not Certificate.objects.exists()


@pytest.mark.parametrize(
    ("period", "code"),
    [
        ({"period_to": date.today() + timedelta(days=2)}, "period_in_future"),
        ({"period_from": date(2026, 5, 2), "period_to": date(2026, 5, 1)}, "period_order"),
        ({"period_from": date(1999, 12, 31)}, "period_too_early"),
        ({}, "no_records"),  # nothing served yet
    ],
)
def test_bad_periods_are_clear_errors_and_store_nothing(world, period, code):
    with pytest.raises(InvalidInput) as exc:
        issue(world, **period)
    assert exc.value.code == code
    assert not Certificate.objects.exists()


def test_someone_who_is_not_a_member_gets_no_certificate(world):
    with pytest.raises(NotFound):
        issue(world, "resident")


def test_pdf_lists_the_records_in_a_cjk_font(world):
    served(world, title="清理楼道小广告", hours="2")
    served(world, title="关爱独居老人", hours="1.5", hours_ago=30)
    cert = issue(world)
    data = certificates.render_certificate_pdf(Certificate.objects.select_related("member").get(pk=cert.pk))
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for expected in (
        "李建国",
        cert.serial,
        "清理楼道小广告",
        "关爱独居老人",
        "识字岭社区党委",
        "志愿服务记录证明",
    ):
        assert expected in text
    assert "3.50" in text
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in PdfReader(BytesIO(data)).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("WenQuanYiMicroHei" in f for f in fonts)  # the CJK font is embedded, not a fallback


def test_pdf_of_100_records_in_under_a_second(world):
    many_served(world, 100)
    cert = Certificate.objects.select_related("member").get(pk=issue(world).pk)
    certificates.render_certificate_pdf(cert)  # the first one registers the font
    started = time.perf_counter()
    data = certificates.render_certificate_pdf(cert)
    elapsed = time.perf_counter() - started
    assert cert.record_count == 100
    assert "志愿服务第100次" in pdf_text(data)
    assert elapsed < 1.5  # measured ~0.3 s; the target is 1 s, with room for a busy CI machine


def test_certificate_page_issues_and_lists_them(world, client):
    served(world)
    client.force_login(world.users["member"])
    url = reverse("volunteering:certificate_new")
    page = client.get(url).content.decode()
    assert f'value="{timezone.localdate().year}-01-01"' in page
    response = client.post(url, {"date_from": "", "date_to": ""})
    cert = Certificate.objects.get()
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert cert.serial in html
    assert reverse("volunteering:certificate_pdf", args=[cert.pk]) in html
    assert "fresh" in html


def test_certificate_page_shows_a_bad_period_on_the_form(world, client):
    served(world)
    client.force_login(world.users["member"])
    url = reverse("volunteering:certificate_new")
    response = client.post(url, {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert response.status_code == 400
    assert "起始日期不能晚于截止日期" in response.content.decode()
    response = client.post(url, {"date_from": "not a date"})
    assert response.status_code == 400
    assert "请选择日期" in response.content.decode()
    assert not Certificate.objects.exists()


def test_staff_open_the_certificate_page_for_a_member(world, client):
    served(world)
    client.force_login(world.users["staff"])
    url = reverse("volunteering:certificate_new") + f"?member={world.members['member'].pk}"
    assert "为 李建国 开具" in client.get(url).content.decode()
    assert client.post(url, {}).status_code == 302
    assert Certificate.objects.get().member == world.members["member"]
    client.force_login(world.users["other_staff"])
    assert client.post(url, {}).status_code == 404
    assert Certificate.objects.count() == 1


def test_pdf_download_is_for_the_member_and_their_staff_only(world, client):
    served(world)
    cert = issue(world)
    url = reverse("volunteering:certificate_pdf", args=[cert.pk])
    client.force_login(world.users["member"])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert cert.serial in pdf_text(response.content)
    for who, status in (("staff", 200), ("unit_organiser", 200), ("other_member", 404), ("other_staff", 404)):
        client.force_login(world.users[who])
        assert client.get(url).status_code == status, who
    client.logout()
    assert client.get(url).status_code == 302


def test_public_verification_page_shows_a_masked_name_and_nothing_personal(world, client):
    served(world, title="清理楼道小广告")
    cert = issue(world)
    member = world.members["member"]
    response = client.get(reverse("volunteering:certificate_verify", args=[cert.verify_token]))
    html = response.content.decode()
    assert response.status_code == 200
    for expected in ("李*国", cert.serial, "识字岭社区党委", "清理楼道小广告", "证明真实有效"):
        assert expected in html
    for secret in ("李建国", member.phone, member.id_number, member.volunteer_no):
        assert secret not in html
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    missing = client.get(reverse("volunteering:certificate_verify", args=["not-a-token"]))
    assert missing.status_code == 404
    assert "没有找到这份证明" in missing.content.decode()


def test_the_pdf_qr_points_at_the_verification_page(world, settings):
    settings.HUIJIA_PUBLIC_BASE_URL = "https://hj.example.cn/"
    served(world)
    cert = issue(world)
    assert certificates.verify_url(cert) == f"https://hj.example.cn/v/cert/{cert.verify_token}/"
    text = pdf_text(certificates.render_certificate_pdf(Certificate.objects.get(pk=cert.pk)))
    assert "https://hj.example.cn/v/cert/" in text


def test_api_issue_download_and_verify(world, client):
    served(world, title="清理楼道小广告")
    client.force_login(world.users["member"])
    response = client.post("/api/v1/volunteer/certificates", {}, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["record_count"] == 1
    assert body["serial"].startswith("ZYFW-")
    pdf = client.get(body["pdf_url"])
    assert pdf.status_code == 200
    assert body["serial"] in pdf_text(pdf.content)
    listed = client.get("/api/v1/volunteer/certificates").json()
    assert [c["id"] for c in listed["items"]] == [body["id"]]
    token = body["verify_url"].rstrip("/").rsplit("/", 1)[-1]
    client.logout()
    public = client.get(f"/api/v1/volunteer/certificates/verify/{token}")
    assert public.status_code == 200
    assert public.json()["masked_name"] == "李*国"
    assert "member_name" not in public.json()
    assert client.get("/api/v1/volunteer/certificates/verify/nope").status_code == 404
    assert client.get(body["pdf_url"]).status_code == 401


def test_api_refusals(world, client):
    served(world)
    client.force_login(world.users["other_member"])
    mine = world.members["member"].pk
    response = client.post(
        "/api/v1/volunteer/certificates", {"member_id": mine}, content_type="application/json"
    )
    assert response.status_code == 404
    response = client.post(
        "/api/v1/volunteer/certificates", {"period_from": "2026-13-01"}, content_type="application/json"
    )
    assert response.status_code == 422
    response = client.post("/api/v1/volunteer/certificates", {}, content_type="application/json")
    assert response.json()["code"] == "no_records"
    assert not Certificate.objects.exists()
