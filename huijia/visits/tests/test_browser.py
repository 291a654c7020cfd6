"""A visit recorded with the network switched off, in a real browser at phone size (390×844):

the member opens 我的包户 (the service worker keeps the screens), the network goes off, they open a
household and record a visit, which is kept on the phone as 待发送; the network comes back and the
visit arrives (已送达), exactly once even when it is sent again. Then community staff see it in the
console. Screenshots go to test-artifacts/visits-*.png.

Everything touching the database happens before the browser starts or after it has closed (see
huijia/members/tests/test_browser.py).
"""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from huijia.core.testing import PASSWORD, build_world
from huijia.demands.models import Demand
from huijia.grid.models import Household, HouseholdFactChange
from huijia.visits.models import Visit
from huijia.visits.services import VisitInput, record_visit
from huijia.visits.tests.helpers import new_key

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
DESKTOP = {"width": 1280, "height": 900}
ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture
def world_online(transactional_db, live_server):
    world = build_world()
    earlier = VisitInput(
        household_id=world.households["a1_102"].pk,
        visited_on=timezone.localdate(),
        occupants=2,
        tenure="owned",
    )
    record_visit(actor=world.actor("building_head"), data=earlier, idempotency_key=new_key())
    return world


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"visits-{name}.png"), full_page=True)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


OUTBOX = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("huijia-visits", 1);
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const rows = open.result.transaction("outbox").objectStore("outbox").getAll();
    rows.onsuccess = () => resolve(rows.result.map(r => ({key: r.key, state: r.state, payload: r.payload})));
  };
})"""

RESEND = """async ({key, payload}) => {
  const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
  const response = await fetch("/api/v1/visits", {
    method: "POST", credentials: "same-origin", body: JSON.stringify(payload),
    headers: {"Content-Type": "application/json", "Idempotency-Key": key, "X-CSRFToken": token},
  });
  return [response.status, (await response.json()).id];
}"""


def record_offline(browser, base: str) -> tuple[str, list]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    page.goto(f"{base}/login/?next=/m/visits/")
    page.fill("#id_username", "member")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("html[data-offline-ready='1']")  # the screens are kept on the phone
    page.wait_for_selector("#net-state:has-text('已准备好')")
    assert "上次走访" in page.inner_text("main")
    shoot(page, "1-my-households")
    assert no_horizontal_scroll(page)

    context.set_offline(True)
    page.click("a[data-household] :text('201室')")
    page.wait_for_selector("#facts-title")
    assert "现在没有网络" in page.inner_text("#net-state")
    shoot(page, "2-household-offline")
    page.click("a.button:text-is('记录走访')")
    page.wait_for_selector("#visit-form")
    page.check("label.choice:has-text('租住') input")
    page.fill("#id_occupants", "2")
    page.fill("#id_contact_phone", "0731-84567890")
    page.fill("#id_demands", "楼道灯坏了，晚上看不清\n希望小区加装电梯")
    page.check("label.choice:has-text('独居老人') input")
    page.fill("#id_note_elderly_alone", "82岁，腿脚不便")
    page.fill("#id_help_given", "帮老人办理养老金资格认证")
    shoot(page, "3-form-offline")
    assert no_horizontal_scroll(page)
    page.click("button[type=submit]")
    page.wait_for_selector("#saved-state[data-state='pending']")
    assert "离线已保存" in page.inner_text("#saved-state")
    shoot(page, "4-saved-offline")

    page.click("#saved-state a:has-text('回到我的包户')")
    page.wait_for_selector("#outbox:not([hidden])")
    assert page.is_visible("a[data-household]:has-text('201室') .outbox-badge")  # 待发送
    assert not page.is_visible("a[data-household]:has-text('101室') .outbox-badge")
    assert "待发送" in page.inner_text("#outbox")
    shoot(page, "5-pending-in-list")

    context.set_offline(False)  # the online event sends it
    page.wait_for_selector("#outbox .badge.sent")
    assert "已送达" in page.inner_text("#outbox")
    assert page.inner_text("a[data-household]:has-text('201室') .outbox-badge") == "已送达"
    shoot(page, "6-arrived")
    outbox = page.evaluate(OUTBOX)
    assert [row["state"] for row in outbox] == ["sent"]
    page.reload()  # a page load sends what is waiting: nothing is
    page.wait_for_selector("#outbox .badge.sent")
    replays = [page.evaluate(RESEND, {"key": outbox[0]["key"], "payload": outbox[0]["payload"]})]
    context.close()
    return outbox[0]["key"], replays


def console_screens(browser, base: str) -> str:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/login/?next=/console/visits/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('入户走访')")
    shoot(page, "7-console")
    listing = page.inner_text("main")
    page.click("a:has-text('1单元201室')")
    page.wait_for_selector("text=情况变化记录")
    shoot(page, "8-household-file")
    context.close()
    phone = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = phone.new_page()
    page.goto(f"{base}/login/?next=/console/visits/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('入户走访')")
    shoot(page, "9-console-phone")
    assert no_horizontal_scroll(page)
    phone.close()
    return listing


def test_a_visit_recorded_offline_arrives_once(world_online, live_server):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            key, replays = record_offline(browser, live_server.url)
            listing = console_screens(browser, live_server.url)
        finally:
            browser.close()

    visit = Visit.objects.get(idempotency_key=key)
    assert Visit.objects.filter(idempotency_key=key).count() == 1
    assert replays == [[200, visit.pk]]  # sent again: the same visit, nothing new
    assert visit.household_id == world_online.households["a1_201"].pk
    assert visit.member_id == world_online.members["member"].pk
    home = Household.objects.get(pk=visit.household_id)
    assert (home.tenure, home.occupants, home.contact_phone) == ("rented", 2, "0731-84567890")
    assert HouseholdFactChange.objects.filter(visit_id=visit.pk).count() == 3
    assert list(Demand.objects.filter(visit_id=visit.pk).values_list("description", flat=True)) == [
        "楼道灯坏了，晚上看不清",
        "希望小区加装电梯",
    ]
    assert "希望小区加装电梯" in listing
    assert "李建国" in listing
