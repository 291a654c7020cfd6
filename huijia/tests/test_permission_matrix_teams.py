"""The permission matrix of teams and zones (包干到户, F4): every role × every read and write added for
teams, plans, a member's households and appointments × own / sibling community targets.

Same rules as huijia/tests/test_permission_matrix.py (whose world, actors and helpers this file
reuses): each operation lists exactly which targets each actor may reach; everything else is refused
(NotFound or Forbidden, or, on a screen, 403/404, or an ordinary answer that says why) and nothing
is written. Tried through the services and selectors, the JSON API and the HTML screens.

Targets are made inside each test (rolled back afterwards): a plan proposed for A1 and one for A2, the
world's team of A1 (held by `member`), a team of A2 held by `other_member`, and an ended team in each.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client, TestCase
from django.urls import reverse

from huijia.accounts.models import AuditLog, Notification, RoleGrant
from huijia.accounts.roles import Role
from huijia.accounts.scope import Actor
from huijia.core.errors import NotFound
from huijia.core.testing import World
from huijia.members import team_selectors as selectors
from huijia.members.models import (
    HouseholdAccess,
    HouseholdLink,
    Member,
    Team,
    TeamMembership,
    TeamPlan,
    ZoneAssignment,
)
from huijia.members.team_services import PlanChange, adjust_plan, appoint, commit_plan, propose_teams
from huijia.tests import test_permission_matrix as shared
from huijia.tests.test_permission_matrix import (
    ACTORS,
    ALL_STAFF_A,
    Op,
    Reply,
    Screen,
    Seen,
    answers,
    everyone,
    judge,
    targets,
)

matrix = shared.matrix  # the shared world, built once for this module (a fixture)
clients = shared.clients  # a signed-in browser per actor (a fixture)
ENDED_AT = "2026-01-01T00:00:00Z"


def team_targets(w: World) -> dict[str, object]:
    """A team of A2 held by `other_member`, an ended team in each community, and a plan for each."""
    if "a2_team" not in w.teams or not Team.objects.filter(pk=w.teams["a2_team"].pk).exists():
        a2 = Team.objects.create(
            community=w.areas["a2"],
            estate=w.areas["a2_estate"],
            building=w.areas["a2_bldg"],
            name="燕子岭红旗小组",
        )
        TeamMembership.objects.create(team=a2, member=w.members["other_member"], is_leader=True)
        ZoneAssignment.objects.create(team=a2, household=w.households["a2_102"])
        HouseholdAccess.objects.create(
            member=w.members["other_member"], household=w.households["a2_102"], by_zone=True
        )
        w.teams["a2_team"] = a2
        for c in ("a1", "a2"):
            w.teams[f"{c}_ended"] = Team.objects.create(
                community=w.areas[c],
                estate=w.areas[f"{c}_estate"],
                building=w.areas[f"{c}_bldg"],
                name=f"{c}旧小组",
                ended_at=ENDED_AT,
            )
        w.plans = {
            c: propose_teams(actor=w.actor(who), community_id=w.areas[c].pk)
            for c, who in (("a1", "staff"), ("a2", "other_staff"))
        }
    return {
        "a1_plan": w.plans["a1"],
        "a2_plan": w.plans["a2"],
        "a1_team": w.teams["a1_team"],
        "a2_team": w.teams["a2_team"],
        "a1_ended": w.teams["a1_ended"],
        "a2_ended": w.teams["a2_ended"],
    }


def some(*names: str) -> Callable[[World], dict[str, object]]:
    return lambda w: {name: obj for name, obj in team_targets(w).items() if name in names}


PLANS = some("a1_plan", "a2_plan")
TEAMS = some("a1_team", "a2_team")
ENDED = some("a1_ended", "a2_ended")
COMMUNITIES = {"a1": lambda w: w.areas["a1"], "a2": lambda w: w.areas["a2"]}
ESTATES = {"a1": lambda w: w.areas["a1_estate"], "a2": lambda w: w.areas["a2_estate"]}
HOUSEHOLDS = {
    "a1_zone": lambda w: w.households["a1_101"],
    "a2_link": lambda w: w.households["a2_101"],
    "a1_nobody": lambda w: w.households["a1_bldg2_101"],
}
LIVES_IN = {  # who lives in each building (an appointment target: a building and a member living there)
    "a1": lambda w: (w.areas["a1_bldg"], w.members["member"]),
    "a2": lambda w: (w.areas["a2_bldg"], w.members["other_member"]),
}
ESTATE_OF = {
    "a1": lambda w: (w.areas["a1_estate"], w.members["member"]),
    "a2": lambda w: (w.areas["a2_estate"], w.members["other_member"]),
}

VIEW_A = {**everyone(ALL_STAFF_A, {"a1", "a2"}), "staff": {"a1"}, "other_staff": {"a2"}}
MANAGE = {"staff": {"a1"}, "other_staff": {"a2"}}


def plan_names(allowed: dict[str, set[str]]) -> dict[str, set[str]]:
    return {name: {f"{t}_plan" for t in ts} for name, ts in allowed.items()}


def in_plans(actor: Actor, plan: TeamPlan, w: World) -> None:
    if plan.pk not in {p.pk for p in selectors.plans_for(actor=actor, community=plan.community)}:
        raise NotFound()


def in_teams(active: bool) -> Callable[[Actor, Team, World], None]:
    def run(actor: Actor, team: Team, w: World) -> None:
        if not selectors.teams_for(actor=actor, active=active).filter(pk=team.pk).exists():
            raise NotFound()

    return run


def in_my_households(actor: Actor, household, w: World) -> None:
    if household.pk not in {h.id for h in selectors.my_households(actor=actor)}:
        raise NotFound()


def is_my_team(actor: Actor, team: Team, w: World) -> None:
    mine = selectors.my_team(actor=actor).team
    if mine is None or mine.pk != team.pk:
        raise NotFound()


def plan_member(plan: TeamPlan) -> int:
    return plan.data["teams"][0]["member_ids"][0]


OPS = [
    Op("view plan", PLANS, lambda a, p, w: selectors.plan_for(actor=a, plan_id=p.pk), plan_names(VIEW_A)),
    Op("list plans", PLANS, in_plans, plan_names(VIEW_A)),
    Op(
        "list teams in force",
        TEAMS,
        in_teams(active=True),
        {
            **everyone(ALL_STAFF_A, {"a1_team", "a2_team"}),
            "staff": {"a1_team"},
            "other_staff": {"a2_team"},
            "estate_secretary": {"a1_team"},  # teams of their estate
            "building_head": {"a1_team"},  # teams of their building
            "member": {"a1_team"},  # their own team
            "other_member": {"a2_team"},
        },
    ),
    Op(
        "list ended teams (history)",
        ENDED,
        in_teams(active=False),
        {
            **everyone(ALL_STAFF_A, {"a1_ended", "a2_ended"}),
            "staff": {"a1_ended"},
            "other_staff": {"a2_ended"},
            "estate_secretary": {"a1_ended"},
            "building_head": {"a1_ended"},
        },
    ),
    Op("my team", TEAMS, is_my_team, {"member": {"a1_team"}, "other_member": {"a2_team"}}),
    Op(
        "my households",
        targets(HOUSEHOLDS),
        in_my_households,
        {"member": {"a1_zone"}, "other_member": {"a2_link"}},
    ),
    Op(
        "propose for a community",
        targets(COMMUNITIES),
        lambda a, c, w: propose_teams(actor=a, community_id=c.pk),
        MANAGE,
    ),
    Op(
        "propose for an estate",
        targets(ESTATES),
        lambda a, e, w: propose_teams(actor=a, community_id=e.parent_id, estate_id=e.pk),
        MANAGE,
    ),
    Op(
        "adjust plan",
        PLANS,
        lambda a, p, w: adjust_plan(
            actor=a, plan_id=p.pk, version=1, change=PlanChange("move_member", "new", plan_member(p))
        ),
        plan_names(MANAGE),
    ),
    Op(
        "commit plan",
        PLANS,
        lambda a, p, w: commit_plan(actor=a, plan_id=p.pk, version=1),
        plan_names(MANAGE),
    ),
    Op(
        "appoint building head",
        targets(LIVES_IN),
        lambda a, t, w: appoint(actor=a, role=Role.BUILDING, area_id=t[0].pk, member_id=t[1].pk),
        MANAGE,
    ),
    Op(
        "appoint estate secretary",
        targets(ESTATE_OF),
        lambda a, t, w: appoint(actor=a, role=Role.ESTATE, area_id=t[0].pk, member_id=t[1].pk),
        MANAGE,
    ),
]
OPS_BY_NAME = {op.name: op for op in OPS}


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix_teams(op: Op, matrix: World):
    assert shared.reached_targets(op, matrix) == {name: op.allowed.get(name, set()) for name in ACTORS}


def state() -> tuple:
    """What a refused request must leave exactly as it was."""
    return (
        tuple(TeamPlan.objects.order_by("pk").values_list("pk", "data", "committed_at")),
        tuple(Team.objects.order_by("pk").values_list("pk", "ended_at")),
        tuple(TeamMembership.objects.order_by("pk").values_list("pk", "ended_at")),
        tuple(ZoneAssignment.objects.order_by("pk").values_list("pk", "ended_at")),
        tuple(HouseholdLink.objects.order_by("pk").values_list("pk", "ended_at")),
        tuple(HouseholdAccess.objects.order_by("pk").values_list("pk", "by_zone", "by_link", "by_care")),
        RoleGrant.objects.count(),
        AuditLog.objects.count(),
        Notification.objects.count(),
    )


@pytest.mark.django_db
def test_refused_team_writes_store_nothing(matrix: World):
    team_targets(matrix)
    before = state()
    refusing = ("other_staff", "street_staff", "estate_secretary", "member", "outsider", "anonymous")
    shared.try_refused(OPS, matrix, refusing)
    assert state() == before


# --- The same matrix through the JSON API --------------------------------------------------------------


@dataclass(frozen=True)
class ApiOp:
    same_as: str
    method: str
    url: Callable[[object], str]
    body: Callable[[object], dict] | None = None
    listed: bool = False


API_OPS = [
    ApiOp("view plan", "get", lambda p: f"/api/v1/teams/plans/{p.pk}"),
    ApiOp("list plans", "get", lambda p: f"/api/v1/teams/plans?community_id={p.community_id}", listed=True),
    ApiOp("list teams in force", "get", lambda t: "/api/v1/teams?limit=100", listed=True),
    ApiOp("list ended teams (history)", "get", lambda t: "/api/v1/teams?ended=true&limit=100", listed=True),
    ApiOp("my households", "get", lambda h: "/api/v1/members/me/households", listed=True),
    ApiOp(
        "propose for a community", "post", lambda c: "/api/v1/teams/plans", lambda c: {"community_id": c.pk}
    ),
    ApiOp(
        "propose for an estate",
        "post",
        lambda e: "/api/v1/teams/plans",
        lambda e: {"community_id": e.parent_id, "estate_id": e.pk},
    ),
    ApiOp(
        "adjust plan",
        "post",
        lambda p: f"/api/v1/teams/plans/{p.pk}/adjust",
        lambda p: {"version": 1, "kind": "move_member", "to_team": "new", "member_id": plan_member(p)},
    ),
    ApiOp("commit plan", "post", lambda p: f"/api/v1/teams/plans/{p.pk}/commit", lambda p: {"version": 1}),
    ApiOp(
        "appoint building head",
        "post",
        lambda t: "/api/v1/teams/appointments",
        lambda t: {"role": "building", "area_id": t[0].pk, "member_id": t[1].pk},
    ),
    ApiOp(
        "appoint estate secretary",
        "post",
        lambda t: "/api/v1/teams/appointments",
        lambda t: {"role": "estate", "area_id": t[0].pk, "member_id": t[1].pk},
    ),
]


def api_attempt(client: Client, op: ApiOp, target: object) -> bool:
    with transaction.atomic():
        if op.method == "get":
            response = client.get(op.url(target))
        else:
            response = client.post(op.url(target), op.body(target), content_type="application/json")
        transaction.set_rollback(True)
    if response.status_code in (401, 403, 404):
        return False
    assert response.status_code < 300, (response.status_code, response.content)
    if op.listed:
        return target.pk in {row["id"] for row in response.json()["items"]}
    return True


@pytest.mark.django_db
@pytest.mark.parametrize("op", API_OPS, ids=lambda op: f"API {op.method.upper()} {op.same_as}")
def test_permission_matrix_teams_through_the_api(op: ApiOp, matrix: World, clients: dict[str, Client]):
    base = OPS_BY_NAME[op.same_as]
    subjects = base.targets(matrix)
    got = {name: {t for t, obj in subjects.items() if api_attempt(clients[name], op, obj)} for name in ACTORS}
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}


# --- The same rules through the HTML screens -------------------------------------------------------------


def said(s: Seen, text: str) -> bool:
    """A redirect back with `text` in the message shown at the top of the next page."""
    shown = " ".join(str(m) for m in get_messages(s.reply.response.wsgi_request))
    return s.reply.status == 302 and text in shown


def plan_changed(s: Seen) -> bool:
    plan = TeamPlan.objects.get(pk=s.target.pk)
    return plan.data["version"] == 2 and s.audited("teams.plan.adjust", plan)


def plan_committed(s: Seen) -> bool:
    plan = TeamPlan.objects.get(pk=s.target.pk)
    return plan.committed_at is not None and s.audited("teams.commit", plan)


def proposed(s: Seen) -> bool:
    community = s.target if s.target.kind == "community" else s.target.parent
    return TeamPlan.objects.filter(community=community, created_by=s.user).exists()


def appointed(role: str) -> Callable[[Seen], bool]:
    def done(s: Seen) -> bool:
        area, member = s.target
        return RoleGrant.objects.filter(user=member.user, role=role, area=area).exists() and s.audited(
            "teams.appoint", member
        )

    return done


def appoint_form(role: str) -> Callable[[Client, World, object], object]:
    def send(c: Client, w: World, t) -> object:
        area, member = t
        body = {"role": role, "area": area.pk, "member": member.pk, "community": area.ancestor_ids()[3]}
        return c.post(reverse("members:team_appoint"), body)

    return send


ONLY_VIEW = "您可以查看"  # the start of every "you may see but not change" message
VIEWERS_NOT_MANAGERS = {"org_dept": {"a1", "a2"}, "street_staff": {"a1", "a2"}}

SCREENS = [
    Screen(
        "GET teams of a community",
        targets(COMMUNITIES),
        lambda c, w, area: c.get(reverse("members:teams") + f"?community={area.pk}"),
        lambda s: s.reply.status == 200 and s.target.name in s.html,
        VIEW_A,
        reads=True,
    ),
    Screen(
        "GET teams in force are listed",
        TEAMS,
        lambda c, w, team: c.get(reverse("members:teams") + f"?community={team.community_id}"),
        lambda s: f'id="team-{s.target.pk}"' in s.html,
        {name: {f"{t}_team" for t in ts} for name, ts in VIEW_A.items()},
        reads=True,
    ),
    Screen(
        "GET history of a community",
        ENDED,
        lambda c, w, team: c.get(reverse("members:teams") + f"?community={team.community_id}&view=history"),
        lambda s: f'id="team-{s.target.pk}"' in s.html,
        {name: {f"{t}_ended" for t in ts} for name, ts in VIEW_A.items()},
        reads=True,
    ),
    Screen(
        "GET appointments of a community",
        targets(COMMUNITIES),
        lambda c, w, area: c.get(reverse("members:teams") + f"?community={area.pk}&view=appointments"),
        lambda s: s.reply.status == 200 and "楼栋长" in s.html,
        VIEW_A,
        reads=True,
    ),
    Screen(
        "GET plan",
        PLANS,
        lambda c, w, plan: c.get(reverse("members:team_plan", args=[plan.pk])),
        lambda s: s.reply.status == 200 and s.target.community.name in s.html,
        plan_names(VIEW_A),
        reads=True,
    ),
    Screen(
        "GET plan offers adjustments",
        PLANS,
        lambda c, w, plan: c.get(reverse("members:team_plan", args=[plan.pk])),
        lambda s: reverse("members:team_plan_change", args=[s.target.pk]) in s.html,
        plan_names(MANAGE),
        plan_names(VIEWERS_NOT_MANAGERS),  # they see the plan, without the forms
        reads=True,
    ),
    Screen(
        "POST propose",
        targets(COMMUNITIES),
        lambda c, w, area: c.post(reverse("members:team_propose"), {"community": area.pk, "team_size": 3}),
        proposed,
        MANAGE,
        VIEWERS_NOT_MANAGERS,
        explained=lambda s: said(s, ONLY_VIEW),
    ),
    Screen(
        "POST adjust plan",
        PLANS,
        lambda c, w, plan: c.post(
            reverse("members:team_plan_change", args=[plan.pk]),
            {"version": 1, "kind": "move_member", "to_team": "new", "member": plan_member(plan)},
        ),
        plan_changed,
        plan_names(MANAGE),
        plan_names(VIEWERS_NOT_MANAGERS),
        explained=lambda s: said(s, ONLY_VIEW),
    ),
    Screen(
        "POST commit plan",
        PLANS,
        lambda c, w, plan: c.post(reverse("members:team_plan_commit", args=[plan.pk]), {"version": 1}),
        plan_committed,
        plan_names(MANAGE),
        plan_names(VIEWERS_NOT_MANAGERS),
        explained=lambda s: said(s, ONLY_VIEW),
    ),
    Screen(
        "POST appoint building head",
        targets(LIVES_IN),
        appoint_form("building"),
        appointed(Role.BUILDING),
        MANAGE,
        {**VIEWERS_NOT_MANAGERS, "estate_secretary": {"a1"}, "building_head": {"a1"}},
        explained=lambda s: said(s, ONLY_VIEW),
    ),
    Screen(
        "POST appoint estate secretary",
        targets(ESTATE_OF),
        appoint_form("estate"),
        appointed(Role.ESTATE),
        MANAGE,
        {**VIEWERS_NOT_MANAGERS, "estate_secretary": {"a1"}},
        explained=lambda s: said(s, ONLY_VIEW),
    ),
    Screen(
        "GET my team page",
        TEAMS,
        lambda c, w, t: c.get(reverse("members:my_team")),
        lambda s: s.target.name in s.html,
        {"member": {"a1_team"}, "other_member": {"a2_team"}},
        answers([n for n in ACTORS if n != "anonymous"], {"a1_team", "a2_team"}),
        reads=True,
        listed=True,
    ),
]


def screen_attempts(screen: Screen, client: Client, w: World, who: str, subjects: dict, plain: set[str]):
    """Each request inside a savepoint rolled back afterwards (on-commit work included)."""
    batches = [subjects] if screen.listed else [{name: obj} for name, obj in subjects.items()]
    got = {}
    for batch in batches:
        with transaction.atomic():
            before = state()
            with TestCase.captureOnCommitCallbacks(execute=True):
                reply = Reply(screen.send(client, w, next(iter(batch.values()))))
            after = state()
            for name, obj in batch.items():
                got[name] = judge(screen, Seen(w, who, obj, reply, before, after), plain)
            transaction.set_rollback(True)
    return got


@pytest.mark.django_db
@pytest.mark.parametrize("screen", SCREENS, ids=lambda screen: f"HTML {screen.name}")
def test_permission_matrix_teams_through_the_screens(screen: Screen, matrix: World, clients):
    subjects = screen.targets(matrix)
    plain = {value for m in Member.objects.all() for value in (m.phone, m.id_number)}
    got = {name: screen_attempts(screen, clients[name], matrix, name, subjects, plain) for name in ACTORS}
    assert got == screen.expected(subjects)
