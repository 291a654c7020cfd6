"""One walk through registration in a real browser at a phone-sized viewport:

a new user finds their community, picks their household and fills in who they are → community staff
sign in and approve in the console → the member opens their card and its QR code, and the public
verification address on the card shows the masked name and 有效. Screenshots go to test-artifacts/.

Drives Debian's /usr/bin/chromium through Playwright (sync API). Everything touching the database
happens before the browser starts or after it has closed: Playwright runs an event loop in this
thread, and Django refuses synchronous database calls from inside one.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from huijia.core.testing import PASSWORD, build_world, make_id_number, make_user
from huijia.members.models import Member, Registration, RegistrationStatus

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture
def world_online(transactional_db, live_server, settings):
    settings.HUIJIA_PUBLIC_BASE_URL = live_server.url
    world = build_world()
    make_user("zhouming")
    return world


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"registration-{name}.png"), full_page=True)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def register_as_newcomer(browser, base: str, id_number: str) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{base}/m/register/")  # not signed in yet: the login page sends them back here
    page.fill("#id_username", "zhouming")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#q")
    page.fill("#q", "识字岭")  # live search (htmx)
    page.click(".pick-list a:has-text('识字岭社区')")
    page.wait_for_selector("text=您住在哪一栋？")
    page.click(".tiles a:text-is('3栋')")
    page.wait_for_selector("text=您家是哪一户？")
    shoot(page, "1-household")
    assert no_horizontal_scroll(page)
    page.click(".tiles a:text-is('202')")
    page.wait_for_selector("text=填写报到信息")
    page.fill("#id_name", "周明")
    page.fill("#id_phone", "13812345678")
    page.fill("#id_id_number", id_number[:-1] + ("0" if id_number[-1] != "0" else "1"))  # a typo first
    page.select_option("#id_work_unit", label="芙蓉区教育局")
    page.check("label.choice:has-text('医疗') input")
    page.check("label.choice:has-text('周末') input")
    page.click("button[type=submit]")
    page.wait_for_selector("text=身份证号校验位不正确")
    shoot(page, "2-form-error")
    page.fill("#id_id_number", id_number)
    page.click("button[type=submit]")
    page.wait_for_selector("text=报到申请正在审核")
    shoot(page, "3-pending")
    assert no_horizontal_scroll(page)
    context.close()


def approve_in_console(browser, base: str) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = context.new_page()
    sign_in(page, base, "staff")
    page.wait_for_selector("text=报到审核")
    row = page.locator("tbody tr", has_text="周明")
    row.locator("form[action$='/approve/'] button").click()
    page.locator("tbody tr", has_text="周明").locator(".badge.approved").wait_for()
    shoot(page, "4-approved")
    assert no_horizontal_scroll(page)
    context.close()


def open_card_and_verify(browser, base: str) -> tuple[str, str, str]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, base, "zhouming")
    page.wait_for_selector("text=已报到")
    assert "报到已通过审核" in page.inner_text(".notes")  # the in-app notification
    page.click("text=亮身份（电子党员证）")
    page.wait_for_selector("svg.qr")
    assert page.locator("svg.qr").bounding_box()["width"] >= 150
    card = page.inner_text(".member-card")
    verify_url = page.get_attribute("a:has-text('打开核验页面')", "href")
    shoot(page, "5-card")
    context.close()
    stranger = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = stranger.new_page()
    page.goto(verify_url)
    page.wait_for_selector(".verdict")
    shoot(page, "6-verify")
    text = page.inner_text("main")
    stranger.close()
    return card, text, verify_url


def test_register_approve_card_at_phone_size(world_online, live_server):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    id_number = make_id_number(77)
    base = live_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            register_as_newcomer(browser, base, id_number)
            approve_in_console(browser, base)
            card, verified, verify_url = open_card_and_verify(browser, base)
        finally:
            browser.close()

    member = Member.objects.get(user__username="zhouming")
    assert Registration.objects.get(member=member).status == RegistrationStatus.APPROVED
    assert "周明" in card
    assert member.volunteer_no in card
    assert verify_url == f"{base}/v/{member.card_token}/"
    assert "周*" in verified
    assert "识字岭社区" in verified
    assert "有效" in verified
    for secret in (
        "周明",
        "13812345678",
        "138****5678",
        id_number,
        member.volunteer_no,
        "芙蓉区教育局",
        "202",
    ):
        assert secret not in verified
