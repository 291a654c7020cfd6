"""The campaign screens as people use them: staff start one and watch it, members knock and record."""

from io import BytesIO

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from huijia.accounts.models import AuditLog
from huijia.core.testing import make_member, register
from huijia.members.models import HouseholdAccess, Team, TeamMembership, ZoneAssignment
from huijia.visits.campaign_services import Selection, close_campaign, record_outcome, start_campaign
from huijia.visits.models import Campaign, CampaignHousehold, Outcome

QUESTIONS = ["是否已接种？", "有什么需要帮忙的？"]


def browser(world, who: str) -> Client:
    client = Client()
    client.force_login(world.users[who])
    return client


def start(world, **kwargs):
    return start_campaign(
        actor=world.actor("staff"),
        community_id=world.areas["a1"].pk,
        name=kwargs.pop("name", "疫苗接种敲门行动"),
        questions=kwargs.pop("questions", QUESTIONS),
        selection=Selection(**kwargs),
    )


# --- staff: start -------------------------------------------------------------------------------------


def test_staff_start_a_campaign_from_the_form(world):
    client = browser(world, "staff")
    page = client.get(reverse("campaigns:new"))
    assert page.status_code == 200
    assert "3栋" in page.content.decode()  # the building choices of the community
    response = client.post(
        reverse("campaigns:new"),
        {
            "community": world.areas["a1"].pk,
            "name": "疫苗接种敲门行动",
            "questions": "是否已接种？\n\n有什么需要帮忙的？\n",
            "area": world.areas["a1_bldg"].pk,
            "who": "all",
            "min_age": "60",
            "vulnerable_kind": "",
            "due_on": "",
        },
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert campaign.questions == QUESTIONS
    assert CampaignHousehold.objects.filter(campaign=campaign).count() == 4


def test_the_form_counts_the_households_as_the_filter_changes(world):
    client = browser(world, "staff")
    url = reverse("campaigns:count")
    html = client.get(url, {"community": world.areas["a1"].pk, "who": "all", "area": ""}).content.decode()
    assert "将走访 5 户" in html
    html = client.get(
        url, {"community": world.areas["a1"].pk, "who": "elderly", "min_age": 60}
    ).content.decode()
    assert "没有符合的住户" in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "请填写行动名称"),
        ({"who": "vulnerable"}, "没有符合条件的住户"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_stored(world, data, message):
    body = {"community": world.areas["a1"].pk, "name": "行动", "questions": "", "who": "all", "min_age": "60"}
    response = browser(world, "staff").post(reverse("campaigns:new"), {**body, **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("who", ["estate_secretary", "building_head", "street_staff"])
def test_the_start_form_is_for_community_staff(world, who):
    assert browser(world, who).get(reverse("campaigns:new")).status_code == 403


# --- staff: progress, close, export ---------------------------------------------------------------


def test_the_progress_page_shows_counts_by_team_and_building_and_polls(world):
    campaign = start(world)
    record_outcome(
        actor=world.actor("member"),
        campaign_id=campaign.pk,
        household_id=world.households["a1_101"].pk,
        outcome=Outcome.DONE,
    )
    client = browser(world, "staff")
    html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "3栋第1组" in html
    assert "未分组" in html
    assert "5栋" in html
    assert 'hx-trigger="every 15s"' in html
    assert "导出结果" in html
    assert "结束行动" in html
    part = client.get(
        reverse("campaigns:detail", args=[campaign.pk]),
        headers={"HX-Request": "true", "HX-Target": "progress"},
    ).content.decode()
    assert part.startswith('<div id="progress"')
    assert "<html" not in part
    assert "20%" in part  # one of five done


def test_a_closed_campaign_stops_polling(world):
    campaign = start(world)
    response = browser(world, "staff").post(reverse("campaigns:close", args=[campaign.pk]))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.closed_at is not None
    html = browser(world, "staff").get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "every 15s" not in html
    assert "已结束" in html


def test_the_estate_secretary_watches_but_does_not_close_or_export(world):
    campaign = start(world)
    client = browser(world, "estate_secretary")
    html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "3栋第1组" in html
    assert "结束行动" not in html
    assert "导出结果" not in html
    assert client.post(reverse("campaigns:close", args=[campaign.pk])).status_code == 302
    campaign.refresh_from_db()
    assert campaign.closed_at is None


def test_the_export_has_one_row_per_household_with_the_answers(world):
    campaign = start(world)
    record_outcome(
        actor=world.actor("member"),
        campaign_id=campaign.pk,
        household_id=world.households["a1_201"].pk,
        outcome=Outcome.DONE,
        answers=["已接种", "需要代购药品"],
        note="老人独居",
    )
    response = browser(world, "staff").post(reverse("campaigns:export", args=[campaign.pk]))
    assert response.status_code == 200
    book = load_workbook(BytesIO(b"".join(response.streaming_content)))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == (
        *("小区", "楼栋", "单元", "楼层", "房号", "包干小组", "走访结果"),
        *QUESTIONS,
        *("备注", "登记人", "登记时间"),
    )
    assert len(rows) == 6
    done = next(r for r in rows if r[4] == "201")
    assert done[:11] == (
        "识字岭社区幸福小区",
        "3栋",
        "1单元",
        2,
        "201",
        "3栋第1组",
        "已完成",
        "已接种",
        "需要代购药品",
        "老人独居",
        "李建国",
    )
    assert done[11]  # when
    nobody = next(r for r in rows if r[1] == "5栋")
    assert (nobody[2], nobody[5], nobody[6], nobody[9]) == (None, "未分组", "未走访", None)
    assert AuditLog.objects.filter(action="export.campaign", target_id=str(campaign.pk)).get().detail == {
        "rows": 5
    }


def test_export_is_refused_to_those_without_export_rights(world):
    campaign = start(world)
    response = browser(world, "estate_secretary").post(reverse("campaigns:export", args=[campaign.pk]))
    assert response.status_code == 302  # back to the page, with the reason
    assert not AuditLog.objects.filter(action="export.campaign").exists()
    assert (
        browser(world, "other_staff").post(reverse("campaigns:export", args=[campaign.pk])).status_code == 404
    )


def test_the_list_takes_the_same_queries_whatever_its_length(world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start(world, name="一")
    client = browser(world, "staff")
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("campaigns:list")).status_code == 200
    for n in range(6):
        start(world, name=f"第{n}次")
    with django_assert_max_num_queries(len(one)):
        html = client.get(reverse("campaigns:list")).content.decode()
    assert html.count('id="campaign-') == 7


# --- members: the phone -------------------------------------------------------------------------


def test_a_member_finds_their_share_and_records_a_door(world):
    campaign = start(world)
    client = browser(world, "member")
    mine = client.get(reverse("campaigns:mine")).content.decode()
    assert "疫苗接种敲门行动" in mine
    assert "还有 4 户" in mine
    share = client.get(reverse("campaigns:share", args=[campaign.pk])).content.decode()
    assert share.count('id="door-') == 4
    assert str(world.households["a1_bldg2_101"].pk) not in share.split("door-")[-1][:10]
    url = reverse("campaigns:record", args=[campaign.pk, world.households["a1_102"].pk])
    form = client.get(url).content.decode()
    assert "是否已接种？" in form
    assert "不在家" in form
    response = client.post(url, {"outcome": "not_home", "answer_0": "", "answer_1": "", "note": "晚上再来"})
    assert response.status_code == 302
    entry = CampaignHousehold.objects.get(campaign=campaign, household=world.households["a1_102"])
    assert (entry.outcome, entry.note) == (Outcome.NOT_HOME, "晚上再来")
    assert "还有 3 户" in client.get(reverse("campaigns:mine")).content.decode()


def test_no_outcome_chosen_is_asked_again_and_nothing_is_stored(world):
    campaign = start(world)
    url = reverse("campaigns:record", args=[campaign.pk, world.households["a1_102"].pk])
    response = browser(world, "member").post(url, {"note": "x"})
    assert response.status_code == 400
    assert "请选择走访结果" in response.content.decode()
    assert not CampaignHousehold.objects.exclude(outcome=Outcome.PENDING).exists()


def test_a_door_outside_the_share_is_not_found(world):
    campaign = start(world)
    client = browser(world, "member")
    url = reverse("campaigns:record", args=[campaign.pk, world.households["a1_bldg2_101"].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"outcome": "done"}).status_code == 404
    assert (
        browser(world, "other_member").get(reverse("campaigns:share", args=[campaign.pk])).status_code == 404
    )


def test_a_closed_campaign_shows_the_result_but_takes_no_more(world):
    campaign = start(world)
    close_campaign(actor=world.actor("staff"), campaign_id=campaign.pk)
    client = browser(world, "member")
    url = reverse("campaigns:record", args=[campaign.pk, world.households["a1_102"].pk])
    assert "不能再登记" in client.get(url).content.decode()
    response = client.post(url, {"outcome": "done"})
    assert response.status_code == 400
    assert "已经结束" in response.content.decode()
    assert not CampaignHousehold.objects.exclude(outcome=Outcome.PENDING).exists()


def test_the_share_page_takes_the_same_queries_whatever_its_length(world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = start(world)
    client = browser(world, "staff")
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("campaigns:share", args=[campaign.pk])).status_code == 200
    make_member(world, "m2", name="党员二", serial=88, unit=None)
    register(world, "m2", "a1", "a1_bldg2_101")
    team = Team.objects.create(community=world.areas["a1"], building=world.areas["a1_bldg2"], name="5栋第1组")
    TeamMembership.objects.create(team=team, member=world.members["m2"])
    from huijia.grid.models import Household

    for i in range(8):
        h = Household.objects.create(building=world.areas["a1_bldg2"], floor=3, room=f"30{i}")
        ZoneAssignment.objects.create(team=team, household=h)
        HouseholdAccess.objects.create(member=world.members["m2"], household=h, by_zone=True)
    bigger = start(world, name="第二次")
    with django_assert_max_num_queries(len(one)):
        html = client.get(reverse("campaigns:share", args=[bigger.pk])).content.decode()
    assert html.count('id="door-') == 13


def test_changing_the_community_reloads_the_form_without_starting_anything(world):
    response = browser(world, "staff").post(
        reverse("campaigns:new"), {"community": world.areas["a1"].pk, "reload": "1", "name": ""}
    )
    assert response.status_code == 200
    assert "请填写行动名称" not in response.content.decode()
    assert not Campaign.objects.exists()
