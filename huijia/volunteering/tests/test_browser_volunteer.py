"""A volunteer service from publication to certificate, in a real browser:

community staff publish an activity in the console (desktop) → a member signs up on their phone → at the
venue the organiser's phone shows the check-in QR page, whose code changes every minute; the member
opens the address under the code and taps 签到 → two hours later the organiser's page shows a new code,
the member taps 签退 and is told the hours → the member's service record shows the hours → the member
issues a certificate and downloads its PDF, whose text names them, the activity and the serial.
Screenshots go to test-artifacts/volunteer-*.png.

The server's clock is the test's: it starts at 09:00 today (so the slot can be typed in as a time of
day, whatever the hour the suite runs) and moves forward when the story says "later". Drives Debian's
/usr/bin/chromium through Playwright; database work happens while no browser is running (Django
refuses synchronous database calls inside Playwright's event loop).
"""

import io
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from huijia.core.testing import PASSWORD, build_world
from huijia.demands.tests.test_browser_resident import (
    ARTIFACTS,
    PHONE,
    browse,
    no_horizontal_scroll,
    pytestmark,  # noqa: F401  (browser mark; chromium must be there)
)
from huijia.volunteering.models import Activity, Certificate, Enrolment, EnrolmentStatus, ServiceRecord

TITLE = "重阳节敬老院志愿服务"


class Clock:
    """timezone.now() for the server and the services: 09:00 today plus real elapsed time, plus jumps."""

    def __init__(self, real_now):
        self.real_now = real_now
        today = timezone.localdate()
        start = timezone.make_aware(datetime.combine(today, time(9, 0)))
        self.offset = start - real_now()

    def __call__(self):
        return self.real_now() + self.offset

    def jump(self, **delta) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    c = Clock(timezone.now)
    monkeypatch.setattr(timezone, "now", c)
    return c


@pytest.fixture
def world_online(transactional_db, live_server, settings, clock):
    settings.HUIJIA_PUBLIC_BASE_URL = live_server.url
    return build_world()


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"volunteer-{name}.png"), full_page=True)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def publish(base: str, day: str):
    def steps(browser):
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, base, "staff")
        page.goto(f"{base}/console/volunteer/activities/new/")
        page.fill("#id_title", TITLE)
        page.select_option("#id_category", "elderly")
        page.fill("#id_description", "陪老人聊天、读报、打扫活动室，请穿志愿者马甲")
        page.fill("#id_slots-0-venue", "识字岭社区敬老院")
        page.fill("#id_slots-0-day", day)
        page.fill("#id_slots-0-starts", "09:30")
        page.fill("#id_slots-0-ends", "11:30")
        page.fill("#id_slots-0-capacity", "10")
        shoot(page, "1-publish")
        page.click("form button[type=submit]:not(.link)")
        page.wait_for_load_state()
        shoot(page, "2-published")
        return page.url, page.inner_text("main")

    return steps


def sign_up(base: str):
    def steps(browser):
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        page = context.new_page()
        sign_in(page, base, "member")
        page.goto(f"{base}/m/")
        page.click("text=志愿服务（报名、领岗）")
        page.wait_for_load_state()
        page.click(f"text={TITLE}")
        page.wait_for_load_state()
        fits = no_horizontal_scroll(page)
        page.click("button:has-text('我要报名')")
        page.wait_for_load_state()
        shoot(page, "3-signed-up")
        return page.inner_text("main"), fits

    return steps


def scan(base: str, activity_id: int, slot_id: int, label: str):
    """The organiser's phone opens the QR page from the activity; the member opens the address under
    the shown code."""

    def steps(browser):
        organiser = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True).new_page()
        sign_in(organiser, base, "staff")
        organiser.goto(f"{base}/console/volunteer/activities/{activity_id}/")
        organiser.click(f"#slot-{slot_id} >> text=签到二维码")
        organiser.wait_for_load_state()
        assert organiser.url.endswith(f"/console/volunteer/slots/{slot_id}/qr/")
        code = organiser.inner_text(".qr-stage .code").strip()
        qr_shown = organiser.locator(".qr-stage svg").count() == 1
        shoot(organiser, f"{label}-qr")
        member = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True).new_page()
        sign_in(member, base, "member")
        member.goto(f"{base}/v/scan/{slot_id}/{code}/")
        member.click("button.big-action")
        member.wait_for_load_state()
        shoot(member, f"{label}-scanned")
        return qr_shown, member.inner_text("main")

    return steps


def certificate(base: str):
    def steps(browser):
        page = browser.new_context(viewport=PHONE, is_mobile=True, accept_downloads=True).new_page()
        sign_in(page, base, "member")
        page.goto(f"{base}/m/")
        page.click("text=我的服务记录与证明")
        page.wait_for_load_state()
        records = page.inner_text("main")
        fits = no_horizontal_scroll(page)
        shoot(page, "6-records")
        page.goto(f"{base}/m/volunteer/certificates/")
        page.click("button:has-text('开具证明')")
        page.wait_for_load_state()
        shoot(page, "7-certificate")
        with page.expect_download() as info:
            page.click("a:has-text('下载 PDF')")
        pdf = Path(info.value.path()).read_bytes()
        return records, fits, pdf

    return steps


def test_publish_sign_up_check_in_and_out_by_qr_get_hours_and_a_certificate(world_online, live_server, clock):
    pypdf = pytest.importorskip("pypdf")
    base = live_server.url
    day = timezone.localdate().isoformat()

    url, detail = browse(publish(base, day))
    activity = Activity.objects.get(title=TITLE)
    slot = activity.slots.get()
    assert url.endswith(f"/console/volunteer/activities/{activity.pk}/")
    assert "识字岭社区敬老院" in detail
    assert timezone.localtime(slot.starts_at).time() == time(9, 30)
    assert slot.capacity == 10

    page_text, fits = browse(sign_up(base))
    assert fits, "the activity page scrolls sideways on a phone"
    assert Enrolment.objects.get(slot=slot, member=world_online.members["member"]).status == (
        EnrolmentStatus.CONFIRMED
    )
    assert "已报名" in page_text

    clock.jump(minutes=40)  # 09:40: at the venue
    qr_shown, text = browse(scan(base, activity.pk, slot.pk, "4-check-in"))
    assert qr_shown
    assert "签到成功" in text
    record = ServiceRecord.objects.get(slot=slot, member=world_online.members["member"])
    assert record.hours is None

    clock.jump(minutes=80)  # 11:00: leaving
    _, text = browse(scan(base, activity.pk, slot.pk, "5-check-out"))
    record.refresh_from_db()
    assert record.checked_out_at is not None
    spent = Decimal((record.checked_out_at - record.checked_in_at).total_seconds() / 3600)
    assert record.hours == spent.quantize(Decimal("0.01"))
    assert Decimal("1.3") <= record.hours <= Decimal("1.4")
    assert f"本次服务记 {record.hours} 小时" in text

    records, fits, pdf = browse(certificate(base))
    assert fits
    assert TITLE in records
    assert str(record.hours) in records
    cert = Certificate.objects.get(member=world_online.members["member"])
    assert pdf.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    squeezed = "".join(text.split())
    for expected in ("李建国", TITLE, cert.serial, "志愿服务记录证明"):
        assert expected in squeezed, f"{expected} is not in the certificate's text"
    assert django_settings.HUIJIA_CJK_FONT.endswith(".ttc")
