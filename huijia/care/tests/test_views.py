"""The care screens and the ledger downloads as people use them."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from huijia.accounts.models import AuditLog
from huijia.care.models import CarePairing, VulnerablePerson
from huijia.care.tests.helpers import days_ago, pairing, visit, vulnerable
from huijia.grid.models import Household
from huijia.members.models import HouseholdAccess


def browser(world, who: str) -> Client:
    client = Client()
    client.force_login(world.users[who])
    return client


def test_the_file_lists_households_and_offers_pairing_to_care_managers(world):
    vulnerable(world, "a1_201", "elderly_alone", name="陈奶奶")
    p = pairing(world, "a1_bldg2_101", "member")
    vulnerable(world, "a1_bldg2_101", "hardship")
    html = browser(world, "estate_secretary").get(reverse("care:file")).content.decode()
    assert "陈奶奶" in html
    assert "独居老人" in html
    assert "困难家庭" in html
    assert reverse("care:pair", args=[world.households["a1_201"].pk]) in html
    assert reverse("care:pairing_end", args=[p.pk]) in html
    viewer = browser(world, "street_staff").get(reverse("care:file") + f"?area={world.areas['a1'].pk}")
    assert "陈奶奶" in viewer.content.decode()
    assert "安排结对" not in viewer.content.decode()


def test_an_area_out_of_scope_is_not_found(world):
    url = reverse("care:file") + f"?area={world.areas['a2'].pk}"
    assert browser(world, "staff").get(url).status_code == 404
    assert browser(world, "member").get(reverse("care:file")).status_code == 403


def test_add_and_end_a_file_entry_from_the_console(world):
    client = browser(world, "staff")
    area = world.areas["a1"].pk
    response = client.post(
        reverse("care:vulnerable_add"),
        {
            "area": area,
            "household": world.households["a1_202"].pk,
            "kind": "disabled",
            "name": "",
            "note": "轮椅",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("care:file") + f"?area={area}"
    person = VulnerablePerson.objects.get()
    assert (person.kind, person.note) == ("disabled", "轮椅")
    client.post(reverse("care:vulnerable_end", args=[person.pk]), {"area": area})
    person.refresh_from_db()
    assert person.ended_at is not None


def test_a_refused_add_says_why_and_stores_nothing(world):
    client = browser(world, "building_head")
    response = client.post(
        reverse("care:vulnerable_add"),
        {"household": world.households["a1_202"].pk, "kind": "disabled"},
        follow=True,
    )
    assert "困难群体档案和结对帮扶由社区党委和小区党支部书记管理" in response.content.decode()
    assert not VulnerablePerson.objects.exists()


def test_pair_a_household_with_two_members(world):
    from huijia.core.testing import make_member, register

    make_member(world, "neighbour", name="周红", serial=71, unit=None)
    register(world, "neighbour", "a1", "a1_bldg2_101")
    vulnerable(world, "a1_bldg2_101", "hardship")
    client = browser(world, "staff")
    url = reverse("care:pair", args=[world.households["a1_bldg2_101"].pk])
    page = client.get(url).content.decode()
    assert page.index("周红") < page.index("李建国")  # the neighbour in the same building first
    members = [world.members["member"].pk, world.members["neighbour"].pk]
    response = client.post(url, {"members": members, "cadence_days": "14", "started_on": "", "note": "送餐"})
    assert response.status_code == 302
    p = CarePairing.objects.get()
    assert (p.cadence_days, p.note, p.members.count()) == (14, "送餐", 2)
    assert (
        HouseholdAccess.objects.filter(household=world.households["a1_bldg2_101"], by_care=True).count() == 2
    )


def test_a_pairing_for_a_household_not_on_file_is_refused_on_the_form(world):
    url = reverse("care:pair", args=[world.households["a1_202"].pk])
    response = browser(world, "staff").post(
        url, {"members": [world.members["member"].pk], "cadence_days": "30"}
    )
    assert response.status_code == 400
    assert "不在困难群体档案中" in response.content.decode()
    assert not CarePairing.objects.exists()


def test_the_pair_form_is_for_care_managers(world):
    url = reverse("care:pair", args=[world.households["a1_202"].pk])
    assert browser(world, "building_head").get(url).status_code == 404
    assert browser(world, "other_staff").get(url).status_code == 404


def test_the_overdue_list_most_overdue_first(world):
    pairing(world, "a1_101", "member", cadence=30, started=days_ago(40))  # 10 days
    pairing(world, "a1_102", "member", cadence=7, started=days_ago(40))  # 33 days
    visit(world, "a1_102", on=days_ago(30))  # 23 days
    pairing(world, "a1_201", "member", cadence=30, started=days_ago(3))  # not due
    html = browser(world, "estate_secretary").get(reverse("care:overdue")).content.decode()
    assert html.count('id="pairing-') == 2
    assert html.index("102室") < html.index("101室")
    assert "23 天" in html
    assert "10 天" in html
    assert "结对后未走访" in html


def test_the_overdue_page_takes_the_same_queries_whatever_its_length(world, django_assert_max_num_queries):
    pairing(world, "a1_101", "member", cadence=7, started=days_ago(40))
    client = browser(world, "staff")
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("care:overdue"))
    for i in range(6):
        h = Household.objects.create(building=world.areas["a1_bldg2"], floor=4, room=f"40{i}")
        world.households[f"extra{i}"] = h
        vulnerable(world, f"extra{i}", "hardship")
        pairing(world, f"extra{i}", "member", cadence=7, started=days_ago(40))
    with django_assert_max_num_queries(len(one)):
        html = client.get(reverse("care:overdue")).content.decode()
    assert html.count('id="pairing-') == 7
    with CaptureQueriesContext(connection) as file_page:
        client.get(reverse("care:file"))
    vulnerable(world, "a1_202", "other")
    with django_assert_max_num_queries(len(file_page)):
        client.get(reverse("care:file"))


def test_a_member_sees_their_pairings_on_the_phone(world):
    vulnerable(world, "a1_bldg2_101", "elderly_alone", note="耳背，敲门要用力")
    pairing(world, "a1_bldg2_101", "member", cadence=7, started=days_ago(10))
    html = browser(world, "member").get(reverse("care:mine")).content.decode()
    assert "5栋 101室" in html
    assert "耳背" in html
    assert "已超过 3 天没去了" in html
    assert "还没去过" in html
    other = browser(world, "other_member").get(reverse("care:mine")).content.decode()
    assert "没有结对帮扶的住户" in other


# --- ledgers ----------------------------------------------------------------------------------------


def month() -> str:
    last = timezone.localdate().replace(day=1) - timedelta(days=1)
    return last.strftime("%Y-%m")


@pytest.mark.parametrize(
    ("name", "title"), [("care:ledger_visits", "入户走访台账"), ("care:ledger_care", "结对帮扶台账")]
)
def test_the_ledgers_download_from_the_console(world, name, title):
    client = browser(world, "estate_secretary")
    page = client.get(reverse("care:ledgers")).content.decode()
    assert "识字岭社区幸福小区" in page
    response = client.post(reverse(name), {"estate": world.areas["a1_estate"].pk, "month": month()})
    assert response.status_code == 200
    assert title in response["Content-Disposition"] or "filename*" in response["Content-Disposition"]
    rows = list(
        load_workbook(BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True)
    )
    assert title in rows[0][0]
    assert (
        AuditLog.objects.filter(actor=world.users["estate_secretary"], action__startswith="ledger.").count()
        == 1
    )


def test_a_bad_month_is_shown_on_the_page(world):
    response = browser(world, "staff").post(
        reverse("care:ledger_visits"), {"estate": world.areas["a1_estate"].pk, "month": "2026-13"}
    )
    assert response.status_code == 400
    assert "请选择月份" in response.content.decode()


@pytest.mark.parametrize("who", ["building_head", "other_staff"])
def test_the_ledgers_of_an_estate_out_of_reach_are_not_found(world, who):
    response = browser(world, who).post(
        reverse("care:ledger_care"), {"estate": world.areas["a1_estate"].pk, "month": month()}
    )
    assert response.status_code == 404
    assert not AuditLog.objects.filter(action__startswith="ledger.").exists()
