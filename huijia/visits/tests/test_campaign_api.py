"""Campaigns through the JSON API: every answer is documented, errors have the one shape."""

from io import BytesIO

import pytest
from openpyxl import load_workbook

from huijia.accounts.tests.test_api import as_user
from huijia.visits.models import Campaign, CampaignHousehold, Outcome


def body(world, **overrides) -> dict:
    data = {
        "community_id": world.areas["a1"].pk,
        "name": "疫苗接种敲门行动",
        "questions": ["是否已接种？"],
        "selection": {"area_id": world.areas["a1_bldg"].pk, "who": "all"},
    }
    data.update(overrides)
    return data


def create(world) -> dict:
    response = as_user(world, "staff").post("/campaigns", body(world))
    assert response.status_code == 201, response.content
    return response.json()


def test_create_answers_the_campaign_with_its_progress(world):
    campaign = create(world)
    assert campaign["name"] == "疫苗接种敲门行动"
    assert campaign["selection_label"] == "3栋 · 全部住户"
    assert campaign["progress"]["total"] == 4
    assert campaign["progress"]["pending"] == 4
    assert [(t["name"], t["total"]) for t in campaign["by_team"]] == [("3栋第1组", 4)]
    assert [(b["name"], b["sub"]) for b in campaign["by_building"]] == [("3栋", "识字岭社区幸福小区")]
    assert campaign["export_url"] == f"/api/v1/campaigns/{campaign['id']}/export"


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"name": ""}, 400, "name_required"),
        ({"selection": {"who": "vulnerable"}}, 400, "no_households"),
        ({"selection": {"who": "everyone"}}, 422, "validation_error"),
        ({"community_id": 999999}, 404, "not_found"),
    ],
)
def test_bad_input_answers_a_declared_error_and_stores_nothing(world, overrides, status, code):
    response = as_user(world, "staff").post("/campaigns", body(world, **overrides))
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Campaign.objects.exists()


def test_a_street_may_not_start_one(world):
    response = as_user(world, "street_staff").post("/campaigns", body(world))
    assert response.status_code == 403
    assert not Campaign.objects.exists()


def test_a_member_lists_their_share_and_records_outcomes(world):
    campaign = create(world)
    member = as_user(world, "member")
    listed = member.get("/campaigns").json()
    assert [c["id"] for c in listed["items"]] == [campaign["id"]]
    share = member.get(f"/campaigns/{campaign['id']}/households", {"pending_only": True}).json()
    assert share["count"] == 4
    assert share["items"][0]["household"]["label"] == "1单元101室"
    household = world.households["a1_101"].pk
    response = member.post(
        f"/campaigns/{campaign['id']}/households/{household}/outcome",
        {"outcome": "done", "answers": ["已接种"], "note": "顺利"},
    )
    assert response.status_code == 200
    assert response.json()["answers"] == {"是否已接种？": "已接种"}
    assert response.json()["outcome_label"] == "已完成"
    detail = member.get(f"/campaigns/{campaign['id']}").json()
    assert detail["progress"]["done"] == 1
    assert detail["export_url"] is None


def test_outcome_errors(world):
    campaign = create(world)
    member = as_user(world, "member")
    outside = world.households["a1_bldg2_101"].pk
    url = f"/campaigns/{campaign['id']}/households/{outside}/outcome"
    assert member.post(url, {"outcome": "done"}).status_code == 404
    inside = f"/campaigns/{campaign['id']}/households/{world.households['a1_101'].pk}/outcome"
    assert member.post(inside, {"outcome": "pending"}).status_code == 422
    assert member.post(inside, {"outcome": "done", "answers": ["一", "二"]}).json()["code"] == "invalid"
    assert as_user(world, "staff").post(f"/campaigns/{campaign['id']}/close").status_code == 200
    closed = member.post(inside, {"outcome": "done"})
    assert (closed.status_code, closed.json()["code"]) == (409, "campaign_closed")
    assert not CampaignHousehold.objects.exclude(outcome=Outcome.PENDING).exists()


def test_close_twice_is_a_conflict_and_members_may_not_close(world):
    campaign = create(world)
    assert as_user(world, "member").post(f"/campaigns/{campaign['id']}/close").status_code == 403
    staff = as_user(world, "staff")
    assert staff.post(f"/campaigns/{campaign['id']}/close").json()["closed_at"]
    assert staff.post(f"/campaigns/{campaign['id']}/close").status_code == 409


def test_the_export_link_gives_the_workbook(world):
    campaign = create(world)
    response = as_user(world, "staff").get(f"/campaigns/{campaign['id']}/export")
    assert response.status_code == 200
    rows = list(
        load_workbook(BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True)
    )
    assert rows[0][7] == "是否已接种？"
    assert len(rows) == 5
    assert as_user(world, "estate_secretary").get(f"/campaigns/{campaign['id']}/export").status_code == 403
    assert as_user(world, "other_staff").get(f"/campaigns/{campaign['id']}/export").status_code == 404


def test_the_list_endpoint_takes_the_same_queries_whatever_its_length(world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    create(world)
    staff = as_user(world, "staff")
    with CaptureQueriesContext(connection) as one:
        staff.get("/campaigns")
    first = len(one)  # read now: every request clears the connection's query log
    for _ in range(5):
        create(world)
    with django_assert_max_num_queries(first):
        assert staff.get("/campaigns").json()["count"] == 6
