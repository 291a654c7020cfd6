"""Demands assigned to a service team (服务队派单, finishing issue 4): staff send a demand to an active
team of its community; every member of the team (leader or not) is told, sees it in 派给我的诉求, and
may start and resolve it; nobody else may. Through the services, the console, the member's phone pages
and the API. Refused assignments store nothing."""

import pytest
from django.test import Client
from django.urls import reverse

from huijia.accounts.models import AuditLog, Notification
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import make_member, register
from huijia.demands import selectors
from huijia.demands.models import AssigneeKind, Demand, DemandEvent, DemandSource, DemandStatus, EventKind
from huijia.demands.services import (
    DemandInput,
    add_note,
    assign_demand,
    reopen_demand,
    resolve_demand,
    start_demand,
    submit_demand,
)
from huijia.volunteering.models import ServiceTeam
from huijia.volunteering.teams import (
    TeamInput,
    add_team_member,
    create_team,
    dissolve_team,
    remove_team_member,
)

DRAIN = "3栋楼道的灯坏了一个月，老人晚上上下楼看不见"
SERVICE_TEAM = AssigneeKind.SERVICE_TEAM


@pytest.fixture
def teams(world):
    """`member` (李建国) and 张老师 (the leader) in A1's 电工志愿服务队; A2 has a team of its own; A1 also
    has a team with nobody in it yet."""
    make_member(world, "teacher", name="张老师", serial=11, unit="u1")
    register(world, "teacher", "a1", "a1_202")
    staff = world.actor("staff")

    def team(name, who="staff", community="a1"):
        data = TeamInput(name=name, service_areas=("水电维修", "便民服务"))
        return create_team(actor=world.actor(who), community_id=world.areas[community].pk, data=data)

    world.service_teams = {
        "a1": team("电工志愿服务队"),
        "a1_empty": team("新成立的服务队"),
        "a2": team("燕子岭服务队", "other_staff", "a2"),
    }
    add_team_member(
        actor=staff,
        team_id=world.service_teams["a1"].pk,
        member_id=world.members["teacher"].pk,
        is_leader=True,
    )
    add_team_member(actor=staff, team_id=world.service_teams["a1"].pk, member_id=world.members["member"].pk)
    add_team_member(
        actor=world.actor("other_staff"),
        team_id=world.service_teams["a2"].pk,
        member_id=world.members["other_member"].pk,
    )
    return world


def report(w, area="a1_bldg") -> Demand:
    return submit_demand(
        actor=w.actor("resident"),
        data=DemandInput(description=DRAIN, area_id=w.areas[area].pk, source=DemandSource.RESIDENT),
    )


def to_team(w, demand, team="a1", who="staff", **kwargs) -> Demand:
    return assign_demand(
        actor=w.actor(who),
        demand_id=demand.pk,
        kind=SERVICE_TEAM,
        target_id=w.service_teams[team].pk,
        **kwargs,
    )


def fresh(demand: Demand) -> Demand:
    return Demand.objects.select_related("assigned_service_team").get(pk=demand.pk)


def inbox(w, who) -> list[str]:
    return list(Notification.objects.filter(user=w.users[who]).order_by("pk").values_list("text", flat=True))


def stored() -> tuple:
    return (
        tuple(
            Demand.objects.order_by("pk").values_list(
                "pk", "status", "version", "assignee_kind", "assigned_service_team_id"
            )
        ),
        DemandEvent.objects.count(),
        AuditLog.objects.count(),
    )


# --- the services ---------------------------------------------------------------------------------------


def test_staff_assign_a_demand_to_a_service_team_and_every_member_is_told(
    teams, django_capture_on_commit_callbacks
):
    demand = report(teams)
    with django_capture_on_commit_callbacks(execute=True):
        to_team(teams, demand, note="请带上梯子")
    got = fresh(demand)
    assert (got.status, got.assignee_kind, got.assigned_service_team) == (
        DemandStatus.ASSIGNED,
        SERVICE_TEAM,
        teams.service_teams["a1"],
    )
    assert (got.assigned_member_id, got.assigned_team_id, got.assigned_area_id) == (None, None, None)
    event = DemandEvent.objects.filter(demand=demand, kind=EventKind.ASSIGNED).get()
    assert (event.data["to"], event.data["assignee_kind"], event.text) == (
        "电工志愿服务队",
        SERVICE_TEAM,
        "请带上梯子",
    )
    assert (
        AuditLog.objects.filter(action="demand.assign", target_id=str(demand.pk)).get().detail["to"]
        == "电工志愿服务队"
    )
    for who in ("teacher", "member"):
        assert inbox(teams, who)[-1].startswith("新派单：")
    assert not any(t.startswith("新派单") for t in inbox(teams, "other_member"))


def test_every_member_of_the_team_sees_it_among_their_assigned_demands(teams):
    demand = to_team(teams, report(teams))
    for who in ("teacher", "member"):
        assert list(selectors.assigned_to_me(actor=teams.actor(who))) == [demand]
        assert selectors.demand_for(actor=teams.actor(who), demand_id=demand.pk) == demand
    assert not selectors.assigned_to_me(actor=teams.actor("other_member")).exists()
    with pytest.raises(NotFound):
        selectors.demand_for(actor=teams.actor("other_member"), demand_id=demand.pk)


def test_a_member_of_the_team_starts_and_another_resolves(teams):
    demand = to_team(teams, report(teams))
    start_demand(actor=teams.actor("member"), demand_id=demand.pk)
    add_note(actor=teams.actor("teacher"), demand_id=demand.pk, text="已买好灯泡")
    resolve_demand(actor=teams.actor("teacher"), demand_id=demand.pk, resolution="换了新灯，居民试过了")
    assert fresh(demand).status == DemandStatus.RESOLVED


@pytest.mark.parametrize("who", ["other_member", "pending_member", "resident", "unit_organiser"])
def test_those_outside_the_team_cannot_start_or_resolve(teams, who):
    demand = to_team(teams, report(teams))
    before = stored()
    with pytest.raises((Forbidden, NotFound)):
        start_demand(actor=teams.actor(who), demand_id=demand.pk)
    with pytest.raises((Forbidden, NotFound)):
        resolve_demand(actor=teams.actor(who), demand_id=demand.pk, resolution="修好了")
    assert stored() == before


def test_a_member_who_leaves_the_team_no_longer_sees_or_handles_it(teams):
    demand = to_team(teams, report(teams))
    remove_team_member(
        actor=teams.actor("staff"), team_id=teams.service_teams["a1"].pk, member_id=teams.members["member"].pk
    )
    assert not selectors.assigned_to_me(actor=teams.actor("member")).exists()
    with pytest.raises((Forbidden, NotFound)):
        start_demand(actor=teams.actor("member"), demand_id=demand.pk)
    start_demand(actor=teams.actor("teacher"), demand_id=demand.pk)  # the leader still can


@pytest.mark.parametrize(
    ("team", "code"),
    [
        ("a2", "assignee_elsewhere"),  # another community's team
        ("a1_empty", "service_team_empty"),  # nobody to do the work
        ("dissolved", "assignee_elsewhere"),
        ("missing", "assignee_missing"),
    ],
)
def test_assigning_to_a_team_that_cannot_take_it_is_refused(teams, team, code):
    demand = report(teams)
    if team == "dissolved":
        dissolve_team(actor=teams.actor("staff"), team_id=teams.service_teams["a1_empty"].pk)
    target = {"dissolved": teams.service_teams["a1_empty"].pk, "missing": None}.get(team)
    target = target if team in ("dissolved", "missing") else teams.service_teams[team].pk
    before = stored()
    with pytest.raises(InvalidInput) as refused:
        assign_demand(actor=teams.actor("staff"), demand_id=demand.pk, kind=SERVICE_TEAM, target_id=target)
    assert refused.value.code == code
    assert "target_id" in refused.value.fields
    assert stored() == before


def test_the_estate_secretary_may_assign_to_the_communitys_team(teams):
    demand = to_team(teams, report(teams), who="estate_secretary")
    assert fresh(demand).assigned_service_team == teams.service_teams["a1"]


def test_reassigning_moves_the_demand_between_a_team_and_a_member(teams):
    demand = to_team(teams, report(teams))
    with pytest.raises(Conflict) as again:
        to_team(teams, demand)
    assert "电工志愿服务队" in again.value.message  # "already sent to 电工志愿服务队"
    assign_demand(
        actor=teams.actor("staff"),
        demand_id=demand.pk,
        kind="member",
        target_id=teams.members["member"].pk,
        reassign=True,
    )
    got = fresh(demand)
    assert (got.assignee_kind, got.assigned_service_team_id) == ("member", None)
    assert not selectors.assigned_to_me(actor=teams.actor("teacher")).exists()
    to_team(teams, demand, reassign=True)
    assert fresh(demand).assigned_service_team_id == teams.service_teams["a1"].pk


def test_a_reopened_demand_goes_back_to_the_team(teams, django_capture_on_commit_callbacks):
    demand = to_team(teams, report(teams))
    resolve_demand(actor=teams.actor("member"), demand_id=demand.pk, resolution="换了灯")
    with django_capture_on_commit_callbacks(execute=True):
        reopen_demand(actor=teams.actor("resident"), demand_id=demand.pk, reason="另一盏也不亮")
    assert fresh(demand).status == DemandStatus.IN_PROGRESS
    assert "居民认为诉求没有解决" in inbox(teams, "teacher")[-1]


def test_a_team_with_an_open_demand_is_not_dissolved(teams):
    to_team(teams, report(teams))
    with pytest.raises(Conflict) as refused:
        dissolve_team(actor=teams.actor("staff"), team_id=teams.service_teams["a1"].pk)
    assert refused.value.code == "team_has_demands"
    assert ServiceTeam.objects.get(pk=teams.service_teams["a1"].pk).ended_at is None


# --- the console ----------------------------------------------------------------------------------------


def browser(w, who) -> Client:
    client = Client()
    client.force_login(w.users[who])
    return client


def test_the_console_offers_the_communitys_teams_with_members(teams):
    demand = report(teams)
    page = browser(teams, "staff").get(reverse("demands:console_detail", args=[demand.pk])).content.decode()
    assert "派给服务队" in page
    assert "电工志愿服务队" in page
    assert "新成立的服务队" not in page  # nobody in it yet
    assert "燕子岭服务队" not in page  # another community's


def test_staff_assign_to_a_team_from_the_console(teams):
    demand = report(teams)
    client = browser(teams, "staff")
    url = reverse("demands:console_act", args=[demand.pk, "assign"])
    data = {"version": demand.version, "kind": SERVICE_TEAM, "target_id": teams.service_teams["a1"].pk}
    assert client.post(url, data).status_code == 302
    assert fresh(demand).assigned_service_team == teams.service_teams["a1"]
    page = client.get(reverse("demands:console_detail", args=[demand.pk])).content.decode()
    assert "电工志愿服务队" in page  # the assignee, shown on the page


def test_a_bad_team_on_the_console_says_why_and_changes_nothing(teams):
    demand = report(teams)
    before = stored()
    url = reverse("demands:console_act", args=[demand.pk, "assign"])
    data = {"version": demand.version, "kind": SERVICE_TEAM, "target_id": teams.service_teams["a2"].pk}
    response = browser(teams, "staff").post(url, data)
    assert response.status_code == 400
    assert "所选服务队不在本社区，或已解散" in response.content.decode()
    assert stored() == before


def test_the_console_list_shows_the_team_as_assignee_in_few_queries(teams, django_assert_max_num_queries):
    for _ in range(8):
        to_team(teams, report(teams))
    client = browser(teams, "staff")
    with django_assert_max_num_queries(20):
        page = client.get(reverse("demands:console_list")).content.decode()
    assert page.count("电工志愿服务队") >= 8


# --- the member's phone pages ---------------------------------------------------------------------------


def test_a_team_member_works_on_it_from_the_phone(teams):
    demand = to_team(teams, report(teams))
    client = browser(teams, "member")
    listed = client.get(reverse("demands:mine_list")).content.decode()
    assert "电工志愿服务队" in listed
    assert "路灯" not in listed
    assert "老人晚上上下楼" in listed
    page = client.get(reverse("demands:mine_detail", args=[demand.pk])).content.decode()
    assert reverse("demands:mine_act", args=[demand.pk, "start"]) in page
    client.post(reverse("demands:mine_act", args=[demand.pk, "start"]), {"version": fresh(demand).version})
    client.post(
        reverse("demands:mine_act", args=[demand.pk, "resolve"]),
        {"version": fresh(demand).version, "resolution": "换好了"},
    )
    assert fresh(demand).status == DemandStatus.RESOLVED


def test_the_phone_list_of_a_team_member_counts_few_queries(teams, django_assert_max_num_queries):
    for _ in range(8):
        to_team(teams, report(teams))
    client = browser(teams, "teacher")
    with django_assert_max_num_queries(10):
        assert client.get(reverse("demands:mine_list")).status_code == 200


def test_the_residents_tracking_page_names_the_team(teams):
    demand = to_team(teams, report(teams))
    page = Client().get(reverse("demands:track", args=[demand.tracking_code])).content.decode()
    assert "电工志愿服务队" in page


# --- the API --------------------------------------------------------------------------------------------


def test_the_api_assigns_to_a_team_and_members_list_it(teams):
    demand = report(teams)
    response = browser(teams, "staff").post(
        f"/api/v1/demands/{demand.pk}/assign",
        {"kind": SERVICE_TEAM, "target_id": teams.service_teams["a1"].pk},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["assignee"] == {
        "kind": SERVICE_TEAM,
        "kind_label": "服务队",
        "id": teams.service_teams["a1"].pk,
        "name": "电工志愿服务队",
    }
    mine = browser(teams, "teacher").get("/api/v1/demands/assigned").json()
    assert [d["id"] for d in mine["items"]] == [demand.pk]
    started = browser(teams, "member").post(
        f"/api/v1/demands/{demand.pk}/start", {}, content_type="application/json"
    )
    assert started.json()["status"] == DemandStatus.IN_PROGRESS


def test_the_api_refuses_a_team_without_members_with_a_clear_error(teams):
    demand = report(teams)
    before = stored()
    response = browser(teams, "staff").post(
        f"/api/v1/demands/{demand.pk}/assign",
        {"kind": SERVICE_TEAM, "target_id": teams.service_teams["a1_empty"].pk},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "service_team_empty")
    assert response.json()["message"] == "所选服务队还没有队员，请先添加队员"
    assert stored() == before
