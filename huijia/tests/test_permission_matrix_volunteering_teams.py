"""The permission matrix of service teams (服务队): every role × every read (selectors) and write
(services) × a team of their own community (A1), of the sibling community (A2) and of another street's
community (B1); then the same through the JSON API. Refused means NotFound or Forbidden with nothing
written; a Conflict counts as reached.

Who reaches what: staff see and manage their community's teams; the street and the organisation
department see their subtree's teams and manage none; a team's members see their own team; the
estate's branch secretary, the building head, work units, residents and outsiders see no team (a
team belongs to the community, above the estate).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction

from huijia.accounts.models import AuditLog, Notification, RoleGrant
from huijia.accounts.roles import Role
from huijia.core.errors import NotFound
from huijia.core.testing import World, make_member, make_user, register
from huijia.tests.test_permission_matrix import (
    ACTORS,
    Op,
    in_list,
    matrix_world,
    reached_targets,
    signed_in_clients,
    targets,
    try_refused,
    world_built_once,
)
from huijia.volunteering import team_selectors as selectors
from huijia.volunteering.models import ServiceTeam, ServiceTeamMember
from huijia.volunteering.teams import (
    TeamInput,
    add_team_member,
    create_team,
    dissolve_team,
    remove_team_member,
    set_team_leader,
    update_team,
)

PLACES = ("a1", "a2", "b1")


def teams_world() -> World:
    """The matrix world with a team in A1 (`member` leads it), A2 (`other_member` is in it) and B1,
    and in each community a member reporting there who is in no team yet."""
    w = matrix_world()
    w.users["b1_staff"] = make_user("b1_staff")
    RoleGrant.objects.create(user=w.users["b1_staff"], role=Role.COMMUNITY, area=w.areas["b1"])
    for i, c in enumerate(PLACES):
        make_member(w, f"{c}_free", name=f"空闲党员{i}", serial=40 + i, unit=None, user=False)
        register(w, f"{c}_free", c, f"{c}_202")
    make_member(w, "b1_member", name="周红", serial=50, unit="u2", user=False)
    register(w, "b1_member", "b1", "b1_201")
    staff = {"a1": "staff", "a2": "other_staff", "b1": "b1_staff"}
    in_team = {"a1": "member", "a2": "other_member", "b1": "b1_member"}
    w.service_teams = {}
    for c in PLACES:
        actor = w.actor(staff[c])
        team = create_team(actor=actor, community_id=w.areas[c].pk, data=TeamInput(name="志愿服务队"))
        add_team_member(actor=actor, team_id=team.pk, member_id=w.members[in_team[c]].pk, is_leader=c == "a1")
        w.service_teams[c] = team
    w.in_team = {c: w.members[in_team[c]].pk for c in PLACES}
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(teams_world, django_db_blocker)


TEAMS = targets({c: (lambda w, c=c: w.service_teams[c].pk) for c in PLACES})
COMMUNITIES = targets({c: (lambda w, c=c: w.areas[c].pk) for c in PLACES})
SEE = {
    "org_dept": {"a1", "a2", "b1"},
    "street_staff": {"a1", "a2"},
    "staff": {"a1"},
    "other_staff": {"a2"},
    "member": {"a1"},  # their own team
    "other_member": {"a2"},
}
MANAGE = {"staff": {"a1"}, "other_staff": {"a2"}}


def community_of(team_id: int) -> str:
    area = ServiceTeam.objects.values_list("community__name", flat=True).get(pk=team_id)
    return {"识字岭社区": "a1", "燕子岭社区": "a2", "新园社区": "b1"}[area]


def free_member(w: World, team_id: int) -> int:
    return w.members[f"{community_of(team_id)}_free"].pk


def member_in(w: World, team_id: int) -> int:
    return w.in_team[community_of(team_id)]


def mine(a, pk, w) -> None:
    if pk not in {r.team.pk for r in selectors.my_teams(actor=a)}:
        raise NotFound()


def offered(a, pk, w) -> None:
    """The teams the demand assignment form offers for the team's community."""
    community = ServiceTeam.objects.values_list("community_id", flat=True).get(pk=pk)
    if pk not in {t.pk for t in selectors.teams_for_assignment(actor=a, community_id=community)}:
        raise NotFound()


OPS = [
    # --- reads -------------------------------------------------------------------------------------
    Op("view a team", TEAMS, lambda a, pk, w: selectors.team_for(actor=a, team_id=pk), SEE),
    Op("list teams", TEAMS, in_list(lambda a: selectors.teams_for(actor=a)), SEE),
    Op("list my teams", TEAMS, mine, {"member": {"a1"}, "other_member": {"a2"}}),
    Op("teams offered for a demand", TEAMS, offered, SEE),
    # --- writes ------------------------------------------------------------------------------------
    Op(
        "create a team",
        COMMUNITIES,
        lambda a, pk, w: create_team(actor=a, community_id=pk, data=TeamInput(name="新服务队")),
        MANAGE,
    ),
    Op(
        "edit a team",
        TEAMS,
        lambda a, pk, w: update_team(
            actor=a, team_id=pk, data=TeamInput(name="改名服务队", service_areas=("义诊",))
        ),
        MANAGE,
    ),
    Op(
        "add a member",
        TEAMS,
        lambda a, pk, w: add_team_member(actor=a, team_id=pk, member_id=free_member(w, pk)),
        MANAGE,
    ),
    Op(
        "remove a member",
        TEAMS,
        lambda a, pk, w: remove_team_member(actor=a, team_id=pk, member_id=member_in(w, pk)),
        MANAGE,
    ),
    Op(
        "appoint a leader",
        TEAMS,
        lambda a, pk, w: set_team_leader(actor=a, team_id=pk, member_id=member_in(w, pk), is_leader=True),
        MANAGE,
    ),
    Op("dissolve a team", TEAMS, lambda a, pk, w: dissolve_team(actor=a, team_id=pk), MANAGE),
]


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, world: World):
    assert reached_targets(op, world) == {name: op.allowed.get(name, set()) for name in ACTORS}


def state() -> tuple:
    return (
        tuple(ServiceTeam.objects.order_by("pk").values_list("pk", "name", "service_areas", "ended_at")),
        tuple(
            ServiceTeamMember.objects.order_by("pk").values_list("pk", "member_id", "is_leader", "ended_at")
        ),
        AuditLog.objects.count(),
        Notification.objects.count(),
    )


@pytest.mark.django_db
def test_refused_writes_store_nothing(world: World):
    before = state()
    try_refused(OPS[4:], world, must_raise=True)
    assert state() == before


# --- the JSON API: the same expectations, through /api/v1 -------------------------------------------


@dataclass(frozen=True)
class ApiOp:
    same_as: str
    method: str
    url: Callable[[object], str]
    body: Callable[[World, object], dict] | None = None
    listed: bool = False  # a list endpoint: "reached" means the target is in its items


API_OPS = [
    ApiOp("view a team", "get", lambda pk: f"/api/v1/volunteer/teams/{pk}"),
    ApiOp("list teams", "get", lambda pk: "/api/v1/volunteer/teams?limit=100", listed=True),
    ApiOp(
        "create a team",
        "post",
        lambda pk: "/api/v1/volunteer/teams",
        lambda w, pk: {"community_id": pk, "name": "新队"},
    ),
    ApiOp(
        "edit a team", "put", lambda pk: f"/api/v1/volunteer/teams/{pk}", lambda w, pk: {"name": "改名服务队"}
    ),
    ApiOp(
        "add a member",
        "post",
        lambda pk: f"/api/v1/volunteer/teams/{pk}/members",
        lambda w, pk: {"member_id": free_member(w, pk)},
    ),
    ApiOp("dissolve a team", "post", lambda pk: f"/api/v1/volunteer/teams/{pk}/dissolve", lambda w, pk: {}),
]
OPS_BY_NAME = {op.name: op for op in OPS}


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker):
    return signed_in_clients(world, django_db_blocker)


def api_attempt(client, op: ApiOp, w: World, target: object) -> bool:
    with transaction.atomic():
        call = getattr(client, op.method)
        if op.body is None:
            response = call(op.url(target))
        else:
            response = call(op.url(target), op.body(w, target), content_type="application/json")
        transaction.set_rollback(True)
    if response.status_code in (401, 403, 404):
        return False
    assert response.status_code < 300, (response.status_code, response.content)
    if op.listed:
        return target in {row["id"] for row in response.json()["items"]}
    return True


@pytest.mark.django_db
@pytest.mark.parametrize("op", API_OPS, ids=lambda op: f"API {op.method.upper()} {op.same_as}")
def test_permission_matrix_through_the_api(op: ApiOp, world: World, clients):
    base = OPS_BY_NAME[op.same_as]
    subjects = base.targets(world)
    got = {
        name: {t for t, obj in subjects.items() if api_attempt(clients[name], op, world, obj)}
        for name in ACTORS
    }
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}


@pytest.mark.django_db
def test_remove_and_leader_through_the_api(world: World, clients):
    """DELETE a member and PUT a leader: staff of the team's community only."""
    for name in ACTORS:
        for c in PLACES:
            pk, member = world.service_teams[c].pk, world.in_team[c]
            calls = (
                ("delete", f"/api/v1/volunteer/teams/{pk}/members/{member}", None),
                ("put", f"/api/v1/volunteer/teams/{pk}/members/{member}/leader", {"is_leader": True}),
            )
            for method, url, body in calls:
                with transaction.atomic():
                    call = getattr(clients[name], method)
                    response = call(url, body, content_type="application/json") if body else call(url)
                    transaction.set_rollback(True)
                assert (response.status_code < 300) == (c in MANAGE.get(name, set())), (
                    name,
                    c,
                    method,
                    response.content,
                )
