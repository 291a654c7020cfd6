"""A resident's blocked drain (堵了的下水道), end to end in a real browser at a phone-sized viewport:

community staff print the building QR codes → a resident opens the address under 3栋's code, reports
the drain with no account (the category is suggested while typing) and notes the tracking code → staff
assign it to a member in the console → the member starts and resolves it on their phone → the
resident opens the tracking page, sees the result, confirms and rates it. Screenshots go to
test-artifacts/demands-resident-*.png.

Drives Debian's /usr/bin/chromium through Playwright (sync API). Everything touching the database
happens while no browser is running: Playwright runs an event loop in this thread, and Django refuses
synchronous database calls from inside one.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from huijia.core.testing import PASSWORD, build_world
from huijia.demands.models import Demand, DemandSource, DemandStatus, EventKind, Rating

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
DRAIN = "3栋1单元楼道的下水道堵了，污水冒出来，已经两天了"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture
def world_online(transactional_db, live_server, settings):
    settings.HUIJIA_PUBLIC_BASE_URL = live_server.url
    return build_world()


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"demands-resident-{name}.png"), full_page=True)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def browse(steps):
    """Runs `steps(browser)` in a fresh chromium and returns what it returns."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            return steps(browser)
        finally:
            browser.close()


def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    return context, context.new_page()


def qr_address_of_building_3(base: str):
    def steps(browser):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/login/")
        page.fill("#id_username", "staff")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{base}/console/demands/qr/")
        card = page.locator(".qr-card", has=page.locator("h2", has_text="3栋"))
        card.locator("svg.qr").wait_for()
        shoot(page, "0-qr-codes")
        address = card.locator(".url").inner_text().strip()
        context.close()
        return address

    return steps


def report_a_blocked_drain(address: str):
    def steps(browser):
        context, page = phone(browser)
        page.goto(address)
        page.wait_for_load_state("networkidle")  # htmx is loaded: suggestions come while typing
        assert no_horizontal_scroll(page)
        page.fill("#id_description", DRAIN)
        page.locator("#category-box .suggested").wait_for()
        suggested = page.locator("#id_category option:checked").inner_text()
        page.fill("#id_reporter_name", "陈阿姨")
        page.fill("#id_reporter_phone", "1381234")  # a digit short first
        page.click("button[type=submit]:text-is('提交')")
        page.wait_for_selector("text=联系电话请填写11位手机号")
        shoot(page, "1-form-error")
        page.fill("#id_reporter_phone", "13812345678")
        shoot(page, "2-form")
        page.click("button[type=submit]:text-is('提交')")
        page.wait_for_selector("#tracking-code")
        code = page.inner_text("#tracking-code").strip()
        done = page.inner_text("main")
        shoot(page, "3-tracking-code")
        assert no_horizontal_scroll(page)
        page.click("a:text-is('查看办理进度')")
        page.wait_for_selector(".state-card")
        waiting = page.inner_text("main")
        shoot(page, "4-waiting")
        context.close()
        return suggested, code, done, waiting

    return steps


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def staff_assign(base: str, demand_id: int, member_id: int):
    def steps(browser):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, base, "staff")
        page.goto(f"{base}/console/demands/{demand_id}/")
        page.click("#step-assign summary")
        form = page.locator("form", has=page.locator("button:text-is('派给所选党员')"))
        form.locator(f"input[name=target_id][value='{member_id}']").first.check()
        page.fill("#assign-note", "请尽快上门看看")
        form.locator("button:text-is('派给所选党员')").click()
        page.wait_for_selector("text=已派单，承办方会收到通知。")
        assigned = page.inner_text("main")
        shoot(page, "5-staff-assigned")
        context.close()
        return assigned

    return steps


def member_resolve(base: str):
    def steps(browser):
        context, page = phone(browser)
        sign_in(page, base, "member")
        page.goto(f"{base}/m/demands/")
        page.click("text=3栋1单元楼道的下水道堵了")
        page.click("button:text-is('我来办，开始办理')")
        page.wait_for_selector("#id_resolution")
        page.fill("#id_resolution", "已请师傅疏通下水道，排水恢复正常")
        shoot(page, "6-member-resolving")
        assert no_horizontal_scroll(page)
        page.click("button:text-is('办好了，提交结果')")
        page.wait_for_load_state()
        done = page.inner_text("main")
        shoot(page, "7-member-resolved")
        context.close()
        return done

    return steps


def confirm_and_rate(base: str, code: str):
    def steps(browser):
        context, page = phone(browser)
        page.goto(f"{base}/d/t/")
        page.fill("#id_code", code.lower())  # typed by hand, in lower case
        page.click("button[type=submit]")
        page.wait_for_selector("text=问题解决了吗？请您评价")
        resolved = page.inner_text("main")
        shoot(page, "8-resolved")
        assert no_horizontal_scroll(page)
        page.check("input[name=rating][value=satisfied]")
        page.fill("#id_comment", "第二天就通了，谢谢")
        page.click("button:text-is('确认办结并评价')")
        page.wait_for_selector("text=谢谢您的评价")
        rated = page.inner_text("main")
        shoot(page, "9-rated")
        context.close()
        return resolved, rated

    return steps


def test_a_resident_reports_a_blocked_drain_and_rates_the_fix(world_online, live_server):
    base = live_server.url
    address = browse(qr_address_of_building_3(base))
    assert address == f"{base}/d/b/{world_online.areas['a1_bldg'].pk}/"

    suggested, code, done, waiting = browse(report_a_blocked_drain(address))
    assert suggested == "下水道堵塞"
    assert "请记下查询码" in done
    assert code in done
    assert "已收到，等待社区受理" in waiting
    assert "138****5678" in waiting
    assert "13812345678" not in waiting

    demand = Demand.objects.get(tracking_code=code)
    assert (demand.source, demand.area_id, demand.category.code) == (
        DemandSource.RESIDENT,
        world_online.areas["a1_bldg"].pk,
        "drain",
    )
    assigned = browse(staff_assign(base, demand.pk, world_online.members["member"].pk))
    assert "李建国" in assigned
    done = browse(member_resolve(base))
    assert "已请师傅疏通下水道，排水恢复正常" in done
    demand.refresh_from_db()
    assert demand.status == DemandStatus.RESOLVED

    resolved, rated = browse(confirm_and_rate(base, code))
    assert "已办结，请您确认是否解决" in resolved
    assert "已请师傅疏通下水道，排水恢复正常" in resolved
    assert "派单" in resolved
    assert "党员 李*国" in resolved
    assert "李建国" not in resolved  # the member's name only masked on a page anyone with the code sees
    assert "已办结，已评价" in rated
    assert "第二天就通了，谢谢" in rated
    assert "确认办结并评价" not in rated  # rated once: the form is gone

    demand.refresh_from_db()
    assert (demand.status, demand.rating, demand.rating_comment) == (
        DemandStatus.CLOSED,
        Rating.SATISFIED,
        "第二天就通了，谢谢",
    )
    kinds = list(demand.events.order_by("created_at", "pk").values_list("kind", flat=True))
    assert kinds == [
        EventKind.SUBMITTED,
        EventKind.ACCEPTED,
        EventKind.ASSIGNED,
        EventKind.STARTED,
        EventKind.RESOLVED,
        EventKind.CONFIRMED,
    ]
