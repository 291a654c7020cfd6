"""Campaigns and care in a real browser, at desktop and phone sizes, with screenshots in test-artifacts/.

Staff watch a campaign's progress page while a member, on a phone, records a door: the page picks the
new outcome up by itself (htmx polling, made fast for the test). The estate secretary opens the overdue
list; the member opens their pairings. Everything touching the database happens before the browser
starts or after it has closed (Playwright runs an event loop in this thread).
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from huijia.care.models import CarePairing, CarePairingMember, VulnerablePerson
from huijia.core.testing import PASSWORD, build_world, make_member, register
from huijia.grid.models import Area, AreaKind, Household
from huijia.members.models import HouseholdAccess, Team, TeamMembership, ZoneAssignment
from huijia.visits import campaign_views
from huijia.visits.campaign_services import Selection, record_outcome, start_campaign
from huijia.visits.models import CampaignHousehold, Outcome, Visit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def grow_estate(world) -> None:
    """Building 7 of A1: two units, six floors, two rooms a floor, held by three teams of members."""
    from huijia.grid.services import _new_area

    estate = world.areas["a1_estate"]
    building = _new_area(parent=estate, kind=AreaKind.BUILDING, name="7栋")
    households = [
        Household.objects.create(building=building, unit=f"{u}单元", floor=f, room=f"{f}0{r}")
        for u in (1, 2)
        for f in range(1, 7)
        for r in (1, 2)
    ]
    for t in range(3):
        team = Team.objects.create(
            community=world.areas["a1"],
            estate=estate,
            building=building,
            name=f"7栋第{t + 1}组",
            zone_label=f"7栋 {t * 2 + 1}–{t * 2 + 2}层",
        )
        key = f"b7_{t}"
        make_member(world, key, name=["周红", "吴刚", "郑丽"][t], serial=300 + t, unit="u1")
        register(world, key, "a1", "a1_bldg2_101")
        TeamMembership.objects.create(team=team, member=world.members[key], is_leader=True)
        for h in households[t * 8 : t * 8 + 8]:
            ZoneAssignment.objects.create(team=team, household=h)
            HouseholdAccess.objects.create(member=world.members[key], household=h, by_zone=True)
    assert Area.objects.filter(name="7栋").exists()


@pytest.fixture
def scene(transactional_db, live_server, monkeypatch):
    monkeypatch.setattr(campaign_views, "POLL_SECONDS", 1)
    world = build_world()
    grow_estate(world)
    campaign = start_campaign(
        actor=world.actor("staff"),
        community_id=world.areas["a1"].pk,
        name="60岁以上老人疫苗接种敲门行动",
        questions=["家中60岁以上老人是否已接种？", "是否需要上门接种服务？"],
        selection=Selection(),
        due_on=timezone.localdate() + timedelta(days=14),
    )
    outcomes = [Outcome.DONE, Outcome.DONE, Outcome.REACHED, Outcome.NOT_HOME, Outcome.REFUSED, Outcome.DONE]
    entries = CampaignHousehold.objects.filter(campaign=campaign, team__name__startswith="7栋").order_by("pk")
    for i, entry in enumerate(entries[:16]):
        record_outcome(
            actor=world.actor("staff"),
            campaign_id=campaign.pk,
            household_id=entry.household_id,
            outcome=outcomes[i % len(outcomes)],
            answers=["已接种", "否"],
        )
    record_outcome(
        actor=world.actor("member"),
        campaign_id=campaign.pk,
        household_id=world.households["a1_101"].pk,
        outcome=Outcome.NOT_HOME,
    )
    care(world)
    return world, campaign


def care(world) -> None:
    today = timezone.localdate()
    rows = [
        ("a1_201", "elderly_alone", "陈奶奶", ["member"], 30, 75, [50]),
        ("a1_202", "disabled", "", ["member", "b7_0"], 14, 60, [40]),
        ("a1_bldg2_101", "hardship", "", ["b7_1"], 30, 40, []),
        ("a1_102", "left_behind_child", "小宇", ["member"], 30, 20, [5]),
    ]
    for household, kind, name, members, cadence, started, visits in rows:
        h = world.households[household]
        VulnerablePerson.objects.create(household=h, kind=kind, name=name)
        pairing = CarePairing.objects.create(
            household=h, cadence_days=cadence, started_on=today - timedelta(days=started), note="定期探望"
        )
        for m in members:
            CarePairingMember.objects.create(pairing=pairing, member=world.members[m])
            HouseholdAccess.objects.update_or_create(
                member=world.members[m], household=h, defaults={"by_care": True}
            )
        for n, ago in enumerate(visits):
            Visit.objects.create(
                household=h,
                visited_on=today - timedelta(days=ago),
                member=world.members[members[0]],
                recorded_by=world.users["member"],
                idempotency_key=f"browser-{household}-{n}",
                request_hash="0" * 64,
            )


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_campaign_progress_and_care_pages(scene, live_server):
    """One browser for both walks (starting Chromium is the slow part)."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    world, campaign = scene
    base = live_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            before, after = progress_while_a_member_records(browser, base, world, campaign)
            count, first = overdue_list_and_my_pairings(browser, base)
        finally:
            browser.close()
    assert before.split("%")[0] != after.split("%")[0]
    entry = CampaignHousehold.objects.get(campaign=campaign, household=world.households["a1_102"])
    assert entry.outcome == Outcome.DONE
    assert entry.answers == {"家中60岁以上老人是否已接种？": "已接种"}
    assert count == 3  # a1_102 was visited 5 days ago: on time
    assert "1单元202室" in first  # every 14 days, last visited 40 days ago: 26 days late, the most


def progress_while_a_member_records(browser, base, world, campaign) -> tuple[str, str]:
    """Staff watch the progress page; a member records a door on a phone; the page updates itself."""
    door = world.households["a1_102"].pk
    desk = browser.new_context(viewport=DESKTOP)
    staff = desk.new_page()
    sign_in(staff, base, "staff")
    staff.goto(f"{base}/console/campaigns/{campaign.pk}/")
    staff.wait_for_selector("#progress")
    before = staff.inner_text(".kpi.done .n")
    shoot(staff, "campaign-progress-desktop")

    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    member = phone.new_page()
    sign_in(member, base, "member")
    member.goto(f"{base}/m/campaigns/")
    shoot(member, "campaign-mine-phone")
    member.click(f"text={campaign.name}")
    member.wait_for_selector(f"#door-{door}")
    shoot(member, "campaign-share-phone")
    member.click(f"#door-{door}")
    member.wait_for_selector("text=敲门结果")
    member.check("label.choice:has-text('已完成') input")
    member.fill("#id_answer_0", "已接种")
    shoot(member, "campaign-record-phone")
    member.click("button[type=submit]")
    member.wait_for_selector("text=已登记")
    assert no_horizontal_scroll(member)

    staff.wait_for_function(
        "before => document.querySelector('.kpi.done .n').innerText !== before", arg=before, timeout=8000
    )
    after = staff.inner_text(".kpi.done .n")
    shoot(staff, "campaign-progress-desktop-updated")

    small = browser.new_context(viewport=PHONE, device_scale_factor=2).new_page()
    sign_in(small, base, "staff")
    small.goto(f"{base}/console/campaigns/{campaign.pk}/")
    small.wait_for_selector("#progress")
    shoot(small, "campaign-progress-phone")
    assert no_horizontal_scroll(small)
    return before, after


def overdue_list_and_my_pairings(browser, base) -> tuple[int, str]:
    """The estate secretary's overdue list (desktop and phone), the care file, and a member's pairings."""
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, base, "estate_secretary")
    page.goto(f"{base}/console/care/overdue/")
    page.wait_for_selector(".overdue-days")
    rows = page.locator("tbody tr")
    first, count = rows.first.inner_text(), rows.count()
    shoot(page, "care-overdue-desktop")
    page.goto(f"{base}/console/care/")
    shoot(page, "care-file-desktop")
    page.goto(f"{base}/console/ledgers/")
    shoot(page, "ledgers-desktop")

    small = browser.new_context(viewport=PHONE, device_scale_factor=2).new_page()
    sign_in(small, base, "estate_secretary")
    small.goto(f"{base}/console/care/overdue/")
    small.wait_for_selector(".overdue-days")
    shoot(small, "care-overdue-phone")
    assert no_horizontal_scroll(small)

    mine = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    member = mine.new_page()
    sign_in(member, base, "member")
    member.goto(f"{base}/m/care/")
    member.wait_for_selector(".pairing-card")
    shoot(member, "care-mine-phone")
    assert no_horizontal_scroll(member)
    return count, first
