"""Teams and zones through the JSON API: a member's households, and staff proposing, adjusting and
committing plans, listing teams and appointing building heads. Every answer is a declared one."""

from datetime import date

import pytest

from huijia.accounts.models import RoleGrant
from huijia.accounts.tests.test_api import ApiClient, as_user
from huijia.api import api
from huijia.members.models import HouseholdAccess, Team, TeamPlan
from huijia.members.tests.test_teams_services import add_neighbours
from huijia.visits.models import Visit

pytestmark = pytest.mark.django_db


def propose(client: ApiClient, world, **body):
    return client.post("/teams/plans", {"community_id": world.areas["a1"].pk, **body})


# --- a member's households ------------------------------------------------------------------------


def test_my_households_lists_the_zone_with_reasons_and_last_visits(world):
    h = world.households
    Visit.objects.create(
        household=h["a1_101"],
        visited_on=date(2026, 3, 5),
        member=world.members["member"],
        recorded_by=world.users["member"],
        idempotency_key="k1",
        request_hash="x",
    )
    HouseholdAccess.objects.create(member=world.members["member"], household=h["a1_bldg2_101"], by_care=True)
    body = as_user(world, "member").get("/members/me/households").json()
    assert body["team"]["name"] == "3栋第1组"
    assert body["team"]["zone_label"] == "3栋 1–2层"
    assert body["count"] == 5
    by_id = {row["id"]: row for row in body["items"]}
    assert by_id[h["a1_101"].pk]["reasons"] == ["zone"]
    assert by_id[h["a1_101"].pk]["last_visited_on"] == "2026-03-05"
    assert by_id[h["a1_102"].pk]["last_visited_on"] is None
    assert by_id[h["a1_bldg2_101"].pk]["reasons"] == ["care"]
    assert by_id[h["a1_101"].pk]["label"] == "1单元101室"
    assert by_id[h["a1_101"].pk]["building"]["name"] == "3栋"
    assert by_id[h["a1_101"].pk]["estate"]["name"] == "识字岭社区幸福小区"


def test_my_households_of_a_linked_member(world):
    body = as_user(world, "other_member").get("/members/me/households").json()
    assert body["team"] is None
    assert [(r["id"], r["reasons"]) for r in body["items"]] == [(world.households["a2_101"].pk, ["link"])]


def test_my_households_runs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    member = as_user(world, "member")
    member.get("/members/me/households")
    counts = []
    for extra in (0, 30):
        add_neighbours(world, extra, start_serial=400)
        rows = [
            HouseholdAccess(member=world.members["member"], household=x, by_link=True)
            for x in world.households.values()
        ]
        HouseholdAccess.objects.bulk_create(rows, ignore_conflicts=True)
        with django_assert_max_num_queries(8) as captured:
            body = member.get("/members/me/households").json()
        assert body["count"] == len(world.households)
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(("who", "status"), [("staff", 404), ("outsider", 404)])
def test_my_households_needs_a_member(world, who, status):
    assert as_user(world, who).get("/members/me/households").status_code == status


def test_my_households_needs_a_sign_in():
    assert ApiClient().get("/members/me/households").status_code == 401


# --- plans ----------------------------------------------------------------------------------------


def test_propose_adjust_commit(world):
    add_neighbours(world, 5)
    staff = as_user(world, "staff")
    response = propose(staff, world)
    assert response.status_code == 201
    plan = response.json()
    assert plan["version"] == 1
    assert plan["community"]["name"] == "识字岭社区"
    assert len(plan["teams"]) == 2
    assert plan["links"]
    assert plan["building_heads"]
    moving = plan["teams"][0]["member_ids"][-1]
    response = staff.post(
        f"/teams/plans/{plan['id']}/adjust",
        {"version": 1, "kind": "move_member", "to_team": plan["teams"][1]["key"], "member_id": moving},
    )
    assert response.status_code == 200
    assert moving in response.json()["teams"][1]["member_ids"]
    assert response.json()["version"] == 2
    stale = staff.post(f"/teams/plans/{plan['id']}/commit", {"version": 1})
    assert stale.status_code == 409
    assert stale.json()["code"] == "plan_stale"
    committed = staff.post(f"/teams/plans/{plan['id']}/commit", {"version": 2})
    assert committed.status_code == 200
    teams = committed.json()["teams"]
    assert len(teams) == 2
    assert sum(t["households"] for t in teams) == 10
    assert {len(t["members"]) for t in teams} == {2, 4}
    again = staff.get(f"/teams/plans/{plan['id']}").json()
    assert again["committed_at"] is not None
    listed = staff.get("/teams/plans", {"community_id": world.areas["a1"].pk}).json()["items"]
    assert [p["id"] for p in listed] == [plan["id"]]


def test_adjust_to_a_new_team_and_bad_adjustments(world):
    staff = as_user(world, "staff")
    plan = propose(staff, world).json()
    url = f"/teams/plans/{plan['id']}/adjust"
    response = staff.post(url, {"version": 1, "kind": "move_households", "to_team": 42, "household_ids": [1]})
    assert response.status_code == 400
    assert response.json()["fields"]
    response = staff.post(url, {"version": 1, "kind": "dance", "to_team": 1})
    assert response.status_code == 422
    assert "kind" in response.json()["fields"]
    first = plan["teams"][0]["household_ids"][0]
    response = staff.post(
        url, {"version": 1, "kind": "move_households", "to_team": "new", "household_ids": [first]}
    )
    assert response.status_code == 200
    assert response.json()["teams"][-1]["household_ids"] == [first]
    assert TeamPlan.objects.get(pk=plan["id"]).data["version"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [({"team_size": 0}, "team_size"), ({"team_size": 11}, "team_size"), ({"team_size": "三"}, "team_size")],
)
def test_bad_proposals_are_refused_and_store_nothing(world, body, field):
    response = propose(as_user(world, "staff"), world, **body)
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert not TeamPlan.objects.exists()


def test_estate_of_another_community(world):
    response = propose(as_user(world, "staff"), world, estate_id=world.areas["a2_estate"].pk)
    assert response.status_code == 400
    assert response.json()["fields"] == {"estate_id": ["所选小区不在该社区"]}


@pytest.mark.parametrize(("who", "status"), [("other_staff", 404), ("street_staff", 403), ("member", 404)])
def test_only_community_staff_propose(world, who, status):
    assert propose(as_user(world, who), world).status_code == status
    assert not TeamPlan.objects.exists()


def test_plans_of_other_communities_are_not_found(world):
    plan = propose(as_user(world, "staff"), world).json()
    other = as_user(world, "other_staff")
    assert other.get(f"/teams/plans/{plan['id']}").status_code == 404
    assert other.post(f"/teams/plans/{plan['id']}/commit", {"version": 1}).status_code == 404
    assert other.get("/teams/plans", {"community_id": world.areas["a1"].pk}).json()["items"] == []
    assert Team.objects.filter(ended_at=None).count() == 1


# --- teams ----------------------------------------------------------------------------------------


def test_team_list_in_force_and_history(world):
    staff = as_user(world, "staff")
    body = staff.get("/teams", {"community_id": world.areas["a1"].pk}).json()
    assert body["count"] == 1
    team = body["items"][0]
    assert team["zone_label"] == "3栋 1–2层"
    assert team["households"] == 4
    assert team["members"] == [{"id": world.members["member"].pk, "name": "李建国", "is_leader": True}]
    plan = propose(staff, world).json()
    staff.post(f"/teams/plans/{plan['id']}/commit", {"version": 1})
    history = staff.get("/teams", {"community_id": world.areas["a1"].pk, "ended": "true"}).json()
    assert [t["id"] for t in history["items"]] == [world.teams["a1_team"].pk]
    assert history["items"][0]["ended_at"] is not None
    assert history["items"][0]["households"] == 4


def test_a_member_lists_only_their_own_team(world):
    assert [t["id"] for t in as_user(world, "member").get("/teams").json()["items"]] == [
        world.teams["a1_team"].pk
    ]
    assert as_user(world, "other_member").get("/teams").json()["count"] == 0
    assert as_user(world, "other_staff").get("/teams").json()["count"] == 0


def test_team_list_runs_the_same_queries_for_few_and_many_teams(world, django_assert_max_num_queries):
    staff = as_user(world, "staff")
    staff.get("/teams")
    counts = []
    for extra in (0, 20):
        for i in range(extra):
            Team.objects.create(
                community=world.areas["a1"],
                estate=world.areas["a1_estate"],
                building=world.areas["a1_bldg"],
                name=f"小组{i}",
            )
        with django_assert_max_num_queries(8) as captured:
            body = staff.get("/teams", {"limit": 100}).json()
        assert body["count"] == 1 + extra
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


# --- appointments ---------------------------------------------------------------------------------


def test_appoint_a_building_head(world):
    response = as_user(world, "staff").post(
        "/teams/appointments",
        {"role": "building", "area_id": world.areas["a1_bldg"].pk, "member_id": world.members["member"].pk},
    )
    assert response.status_code == 201
    assert response.json() == {
        "role": "building",
        "area": {"id": world.areas["a1_bldg"].pk, "name": "3栋"},
        "member": {"id": world.members["member"].pk, "name": "李建国"},
    }


def test_bad_appointments(world):
    before = RoleGrant.objects.count()
    staff = as_user(world, "staff")
    body = {
        "role": "building",
        "area_id": world.areas["a1_bldg2"].pk,
        "member_id": world.members["member"].pk,
    }
    response = staff.post("/teams/appointments", body)
    assert response.status_code == 400
    assert response.json()["fields"]["member_id"] == ["只能任命住在本楼栋、在本社区报到的党员"]
    assert staff.post("/teams/appointments", {**body, "role": "community"}).status_code == 422
    assert as_user(world, "estate_secretary").post("/teams/appointments", body).status_code == 403
    assert as_user(world, "other_staff").post("/teams/appointments", body).status_code == 404
    assert RoleGrant.objects.count() == before


def test_the_endpoints_are_documented():
    doc = api.get_openapi_schema()
    paths = doc["paths"]
    assert "/api/v1/members/me/households" in paths
    assert set(paths["/api/v1/teams/plans/{plan_id}/adjust"]["post"]["responses"]) >= {
        200,
        400,
        403,
        404,
        409,
    }
    assert set(paths["/api/v1/teams/plans/{plan_id}/commit"]["post"]["responses"]) >= {200, 409}
    assert "/api/v1/teams" in paths
    assert "/api/v1/teams/appointments" in paths
