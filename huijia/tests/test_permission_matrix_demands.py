"""The permission matrix of residents' demands (诉求) and complaints and suggestions (投诉建议): every role
× every read (selectors) and write (services, feedback) × demands in their own community, in a sibling
community (A2), in another street's community (B1), and on the community itself (the parent of the
estate and the building: out of reach of the branch secretary and the building head). Refused means
NotFound or Forbidden with nothing written; a Conflict counts as reached (the scope check was passed).

Who reaches what, in one line each: staff their community; the estate's branch secretary their estate;
the building head sees their building; the street and the organisation department see their subtree
and handle nothing, the street receiving escalations to itself only; a work unit sees only what was
escalated to it; a member what they collected or what is assigned to them or their team; a resident
what they reported. A tracking code opens one demand to whoever holds it: that is the only access an
outsider or an anonymous visitor has, besides reporting and writing to any community.
"""

from collections.abc import Iterator
from datetime import date

import pytest

from huijia.accounts.models import AuditLog, RoleGrant
from huijia.accounts.roles import Role
from huijia.core.testing import World, make_user
from huijia.demands import selectors
from huijia.demands.feedback import (
    FeedbackInput,
    answer_feedback,
    feedback_for,
    feedback_item,
    submit_feedback,
)
from huijia.demands.models import (
    Demand,
    DemandEvent,
    DemandRollup,
    DemandSource,
    Escalation,
    Feedback,
    Rating,
)
from huijia.demands.services import (
    DemandInput,
    accept_demand,
    add_note,
    answer_escalation,
    assign_demand,
    decline_demand,
    escalate_demand,
    follow_demand,
    merge_demands,
    rate_demand,
    recategorise_demand,
    reopen_demand,
    report_escalation,
    resolve_demand,
    reveal_reporter_phone,
    start_demand,
    submit_demand,
)
from huijia.grid.models import Area, AreaKind
from huijia.tests.test_permission_matrix import (
    ACTORS,
    HttpOp,
    Op,
    actor_of,
    http_attempt,
    in_list,
    matrix_world,
    reached_targets,
    signed_in_clients,
    targets,
    try_refused,
    world_built_once,
)
from huijia.volunteering.models import Pairing
from huijia.volunteering.teams import TeamInput, add_team_member, create_team

TEXT = "下水道堵了，污水冒出来"


def demands_world() -> World:
    """The matrix world with a demand in every state the operations start from, in A1, A2 and B1."""
    w = matrix_world()
    w.users["b1_staff"] = make_user("b1_staff")  # handles B1's demands: not one of the actors tried
    RoleGrant.objects.create(user=w.users["b1_staff"], role=Role.COMMUNITY, area=w.areas["b1"])
    actor = w.actor

    def new(area: str, who: str | None = None, source: str = DemandSource.RESIDENT) -> Demand:
        data = DemandInput(
            description=TEXT, area_id=w.areas[area].pk, source=source, reporter_phone="13800001234"
        )
        return submit_demand(actor=actor_of(w, who or "anonymous"), data=data)

    def assign(demand: Demand, kind: str, target_id: int, who: str = "staff") -> Demand:
        return assign_demand(actor=actor(who), demand_id=demand.pk, kind=kind, target_id=target_id)

    d = w.demands = {
        "bldg": new("a1_bldg", "resident"),  # building 3 of A1's estate, reported by the resident
        "community": new("a1"),  # on the community itself
        "a2": new("a2_bldg"),
        "b1": new("b1_bldg"),
        "collected": new("a1_bldg2", "member", DemandSource.POST),  # taken by the member at a post
    }
    d["mine"] = assign(new("a1_bldg2"), "member", w.members["member"].pk)
    w.service_teams = {  # volunteer service teams (服务队): `member` is in A1's, `other_member` in A2's
        c: create_team(actor=actor(who), community_id=w.areas[c].pk, data=TeamInput(name="志愿服务队"))
        for c, who in (("a1", "staff"), ("a2", "other_staff"), ("b1", "b1_staff"))
    }
    for c, who, member in (("a1", "staff", "member"), ("a2", "other_staff", "other_member")):
        add_team_member(actor=actor(who), team_id=w.service_teams[c].pk, member_id=w.members[member].pk)
    d["svc"] = assign(new("a1_bldg2"), "service_team", w.service_teams["a1"].pk)
    d["team"] = assign(new("a1_bldg2"), "team", w.teams["a1_team"].pk)
    d["branch"] = assign(new("a1_bldg2"), "branch", w.areas["a1_estate"].pk)
    d["a2_member"] = assign(new("a2_bldg"), "member", w.members["other_member"].pk, who="other_staff")
    d["to_unit"] = new("a1_bldg2")
    # 结对共建: a demand is escalated only to a work unit paired with its community
    Pairing.objects.create(work_unit=w.units["u1"], community=w.areas["a1"], starts_on=date(2020, 1, 1))
    d["to_street"] = new("a1_estate")
    d["b1_street"] = new("b1_bldg")
    w.escalations = {
        "to_unit": escalate_demand(
            actor=actor("staff"),
            demand_id=d["to_unit"].pk,
            target="work_unit",
            work_unit_id=w.units["u1"].pk,
            reason="需要结对单位协调",
        ),
        "to_street": escalate_demand(
            actor=actor("staff"), demand_id=d["to_street"].pk, target="street", reason="涉及市政管网"
        ),
        "b1_street": escalate_demand(
            actor=actor("b1_staff"), demand_id=d["b1_street"].pk, target="street", reason="涉及市政管网"
        ),
    }
    d["resolved"] = assign(new("a1_bldg", "resident"), "member", w.members["member"].pk)
    resolve_demand(actor=actor("member"), demand_id=d["resolved"].pk, resolution="已疏通")
    d["resolved_a2"] = new("a2_bldg")
    accept_demand(actor=actor("other_staff"), demand_id=d["resolved_a2"].pk)
    resolve_demand(actor=actor("other_staff"), demand_id=d["resolved_a2"].pk, resolution="已疏通")
    for key, area in (("dup_a1", "a1_bldg"), ("dup_a2", "a2_bldg"), ("dup_b1", "b1_bldg")):
        d[key] = new(area)
    Demand.objects.update(overdue=True)  # so that the late lists hold every open demand
    w.feedback = {
        "a1": submit_feedback(
            actor=actor("resident"),
            data=FeedbackInput(community_id=w.areas["a1"].pk, kind="complaint", text="物业电话没人接"),
        ),
        "a2": submit_feedback(
            actor=actor_of(w, "anonymous"),
            data=FeedbackInput(community_id=w.areas["a2"].pk, kind="suggestion", text="多装几个路灯"),
        ),
        "b1": submit_feedback(
            actor=actor_of(w, "anonymous"),
            data=FeedbackInput(community_id=w.areas["b1"].pk, kind="complaint", text="垃圾没人清"),
        ),
    }
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(demands_world, django_db_blocker)


def demand_targets(*keys: str):
    return targets({k: (lambda w, k=k: w.demands[k].pk) for k in keys})


def escalation_targets():
    return targets({k: (lambda w, k=k: w.escalations[k].pk) for k in ("to_unit", "to_street", "b1_street")})


def code_of(pk: int) -> str:
    return Demand.objects.values_list("tracking_code", flat=True).get(pk=pk)


SEEN = (
    "bldg",
    "community",
    "a2",
    "b1",
    "collected",
    "mine",
    "team",
    "svc",
    "branch",
    "a2_member",
    "to_unit",
    "to_street",
    "resolved",
)
A1 = {"bldg", "community", "collected", "mine", "team", "svc", "branch", "to_unit", "to_street", "resolved"}
A1_ESTATE = A1 - {"community"}
VIEW = {
    "org_dept": set(SEEN),
    "street_staff": set(SEEN) - {"b1"},
    "staff": A1,
    "other_staff": {"a2", "a2_member"},
    "estate_secretary": A1_ESTATE,
    "building_head": {"bldg", "resolved"},  # building 3 only
    "unit_organiser": {"to_unit"},  # only what was escalated to its unit
    "member": {"collected", "mine", "team", "svc", "resolved"},  # collected, or assigned to them or a team
    "other_member": {"a2_member"},
    "resident": {"bldg", "resolved"},  # what they reported
}
LATE = {name: seen - {"resolved"} for name, seen in VIEW.items()}

SUBMITTED = ("bldg", "community", "a2", "b1", "collected")
MANAGE = {
    "staff": {"bldg", "community", "collected"},
    "other_staff": {"a2"},
    "estate_secretary": {"bldg", "collected"},
}

ASSIGNED = ("mine", "team", "svc", "branch", "a2_member")
START = {
    "member": {"mine", "team", "svc"},  # svc: assigned to the service team they are in
    "other_member": {"a2_member"},
    "estate_secretary": {"branch"},  # the branch of their estate is the assignee
    "staff": {"branch"},  # the community committee stands for its branches
}
HANDLE = {
    "member": {"mine", "team", "svc"},
    "other_member": {"a2_member"},
    "staff": {"mine", "team", "svc", "branch"},  # staff resolve what they manage
    "estate_secretary": {"mine", "team", "svc", "branch"},
    "other_staff": {"a2_member"},
}
RATE = {"resident": {"resolved"}, "staff": {"resolved"}, "estate_secretary": {"resolved"}}
RATE["other_staff"] = {"resolved_a2"}  # staff record a call-back (回访) rating
RECEIVE = {"unit_organiser": {"to_unit"}, "street_staff": {"to_street"}}  # its own street only, not B1's
PLACES = {k: (lambda w, k=k: w.areas[k].pk) for k in ("a1_bldg", "a1", "a2_bldg", "b1_bldg")}
ENTER = {"staff": {"a1_bldg", "a1"}, "other_staff": {"a2_bldg"}, "estate_secretary": {"a1_bldg"}}
FEEDBACK = {k: (lambda w, k=k: w.feedback[k].pk) for k in ("a1", "a2", "b1")}
SEE_FEEDBACK = {
    "org_dept": {"a1", "a2", "b1"},
    "street_staff": {"a1", "a2"},
    "staff": {"a1"},
    "other_staff": {"a2"},
    "resident": {"a1"},  # the author
}
COMMUNITIES = {k: (lambda w, k=k: w.areas[k].pk) for k in ("a1", "a2", "b1")}


def everyone(allowed) -> dict[str, set[str]]:
    return {name: set(allowed) for name in ACTORS}


def enter(source: str):
    def run(a, area_id, w):
        submit_demand(actor=a, data=DemandInput(description=TEXT, area_id=area_id, source=source))

    return run


def estate_of(demand_id: int) -> int:
    community = Demand.objects.values_list("community_id", flat=True).get(pk=demand_id)
    return Area.objects.get(parent_id=community, kind=AreaKind.ESTATE).pk


def service_team_of(w: World, demand_id: int) -> int:
    community = Demand.objects.values_list("community_id", flat=True).get(pk=demand_id)
    return next(t.pk for t in w.service_teams.values() if t.community_id == community)


MERGES = {
    "bldg": lambda w: (w.demands["bldg"].pk, w.demands["dup_a1"].pk),
    "community": lambda w: (w.demands["community"].pk, w.demands["dup_a1"].pk),
    "a2": lambda w: (w.demands["a2"].pk, w.demands["dup_a2"].pk),
    "b1": lambda w: (w.demands["b1"].pk, w.demands["dup_b1"].pk),
}

OPS = [
    # --- reads -------------------------------------------------------------------------------------
    Op(
        "view a demand",
        demand_targets(*SEEN),
        lambda a, pk, w: selectors.demand_for(actor=a, demand_id=pk),
        VIEW,
    ),
    Op("list demands", demand_targets(*SEEN), in_list(lambda a: selectors.demands_for(actor=a)), VIEW),
    Op("list late demands", demand_targets(*SEEN), in_list(lambda a: selectors.late_for(actor=a)), LATE),
    Op(
        "list my reported demands",
        demand_targets(*SEEN),
        in_list(lambda a: selectors.my_reported(actor=a)),
        {"resident": {"bldg", "resolved"}},
    ),
    Op(
        "list demands assigned to me",
        demand_targets(*SEEN),
        in_list(lambda a: selectors.assigned_to_me(actor=a)),
        {"member": {"mine", "team", "svc"}, "other_member": {"a2_member"}},
    ),
    Op(
        "view by tracking code",
        demand_targets(*SEEN),
        lambda a, pk, w: selectors.demand_by_code(tracking_code=code_of(pk)),
        everyone(SEEN),  # whoever holds the code: the reporter's only key when they have no account
    ),
    Op(
        "list received escalations",
        escalation_targets(),
        in_list(lambda a: selectors.escalations_for(actor=a)),
        RECEIVE,
    ),
    # --- submitting --------------------------------------------------------------------------------
    Op("report as a resident", targets(PLACES), enter(DemandSource.RESIDENT), everyone(PLACES)),
    Op("enter for a resident (代录)", targets(PLACES), enter(DemandSource.STAFF), ENTER),
    Op("enter from a patrol", targets(PLACES), enter(DemandSource.PATROL), ENTER),
    Op(
        "enter at a collection post",
        targets(PLACES),
        enter(DemandSource.POST),
        {**ENTER, "member": {"a1_bldg", "a1"}, "other_member": {"a2_bldg"}},
    ),
    Op(
        "enter from a visit",
        targets(PLACES),
        enter(DemandSource.VISIT),
        {**ENTER, "member": {"a1_bldg", "a1"}, "other_member": {"a2_bldg"}, "building_head": {"a1_bldg"}},
    ),
    Op(
        "follow an open demand",
        demand_targets("bldg", "a2", "b1"),
        lambda a, pk, w: follow_demand(actor=a, demand_id=pk),
        everyone({"bldg", "a2", "b1"}),  # public, like reporting; the follower's record copies nothing
    ),
    # --- staff steps -------------------------------------------------------------------------------
    Op("accept", demand_targets(*SUBMITTED), lambda a, pk, w: accept_demand(actor=a, demand_id=pk), MANAGE),
    Op(
        "decline",
        demand_targets(*SUBMITTED),
        lambda a, pk, w: decline_demand(actor=a, demand_id=pk, reason="不属于社区职责"),
        MANAGE,
    ),
    Op(
        "assign to the estate branch",
        demand_targets(*SUBMITTED),
        lambda a, pk, w: assign_demand(actor=a, demand_id=pk, kind="branch", target_id=estate_of(pk)),
        MANAGE,
    ),
    Op(
        "assign to the community's service team",
        demand_targets(*SUBMITTED),
        lambda a, pk, w: assign_demand(
            actor=a, demand_id=pk, kind="service_team", target_id=service_team_of(w, pk)
        ),
        MANAGE,
    ),
    Op(
        "recategorise",
        demand_targets(*SUBMITTED),
        lambda a, pk, w: recategorise_demand(actor=a, demand_id=pk, category_code="road"),
        MANAGE,
    ),
    Op(
        "escalate to the street",
        demand_targets(*SUBMITTED),
        lambda a, pk, w: escalate_demand(actor=a, demand_id=pk, target="street", reason="社区解决不了"),
        MANAGE,
    ),
    Op(
        "merge a duplicate",
        targets(MERGES),
        lambda a, pair, w: merge_demands(actor=a, into_id=pair[0], demand_ids=[pair[1]]),
        {"staff": {"bldg", "community"}, "other_staff": {"a2"}, "estate_secretary": {"bldg"}},
    ),
    # --- the assignee's steps ----------------------------------------------------------------------
    Op("start", demand_targets(*ASSIGNED), lambda a, pk, w: start_demand(actor=a, demand_id=pk), START),
    Op(
        "resolve",
        demand_targets(*ASSIGNED),
        lambda a, pk, w: resolve_demand(actor=a, demand_id=pk, resolution="已疏通"),
        HANDLE,
    ),
    Op(
        "add a note",
        demand_targets(*ASSIGNED),
        lambda a, pk, w: add_note(actor=a, demand_id=pk, text="已约好上门时间"),
        HANDLE,
    ),
    # --- the resident's steps ----------------------------------------------------------------------
    Op(
        "rate (signed in)",
        demand_targets("resolved", "resolved_a2"),
        lambda a, pk, w: rate_demand(actor=a, demand_id=pk, rating=Rating.SATISFIED),
        RATE,
    ),
    Op(
        "reopen (signed in)",
        demand_targets("resolved", "resolved_a2"),
        lambda a, pk, w: reopen_demand(actor=a, demand_id=pk, reason="还是堵"),
        RATE,
    ),
    Op(
        "rate by tracking code",
        demand_targets("resolved", "resolved_a2"),
        lambda a, pk, w: rate_demand(actor=a, tracking_code=code_of(pk), rating=Rating.BASIC),
        everyone({"resolved", "resolved_a2"}),
    ),
    # --- the receiving side of an escalation -------------------------------------------------------
    Op(
        "accept an escalation",
        escalation_targets(),
        lambda a, pk, w: answer_escalation(actor=a, escalation_id=pk, accept=True),
        RECEIVE,
    ),
    Op(
        "send an escalation back",
        escalation_targets(),
        lambda a, pk, w: answer_escalation(actor=a, escalation_id=pk, accept=False, answer="应由社区办理"),
        RECEIVE,
    ),
    Op(
        "report back on an escalation",
        escalation_targets(),
        lambda a, pk, w: report_escalation(actor=a, escalation_id=pk, answer="已协调解决"),
        RECEIVE,
    ),
    # --- complaints and suggestions ----------------------------------------------------------------
    Op(
        "write a complaint",
        targets(COMMUNITIES),
        lambda a, pk, w: submit_feedback(
            actor=a, data=FeedbackInput(community_id=pk, kind="complaint", text="办事太慢")
        ),
        everyone(COMMUNITIES),
    ),
    Op(
        "reveal the reporter's phone (audited)",
        demand_targets(*SEEN),
        lambda a, pk, w: reveal_reporter_phone(actor=a, demand_id=pk),
        {
            "staff": A1,  # staff managing the demand
            "estate_secretary": A1_ESTATE,
            "other_staff": {"a2", "a2_member"},
            "member": {"mine", "team", "svc", "resolved"},  # the assignee, not what they only collected
            "other_member": {"a2_member"},
        },
    ),
    Op(
        "view a complaint",
        targets(FEEDBACK),
        lambda a, pk, w: feedback_item(actor=a, feedback_id=pk),
        SEE_FEEDBACK,
    ),
    Op("list complaints", targets(FEEDBACK), in_list(lambda a: feedback_for(actor=a)), SEE_FEEDBACK),
    Op(
        "answer a complaint",
        targets(FEEDBACK),
        lambda a, pk, w: answer_feedback(actor=a, feedback_id=pk, answer="已督促整改"),
        {"staff": {"a1"}, "other_staff": {"a2"}},
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, world: World):
    assert reached_targets(op, world) == {name: op.allowed.get(name, set()) for name in ACTORS}


def state() -> tuple:
    return (
        tuple(Demand.objects.order_by("pk").values_list("pk", "status", "version", "category_id", "overdue")),
        DemandEvent.objects.count(),
        tuple(Escalation.objects.order_by("pk").values_list("pk", "status")),
        tuple(Feedback.objects.order_by("pk").values_list("pk", "answered_at")),
        tuple(DemandRollup.objects.order_by("pk").values_list("received", "responded", "resolved", "rated")),
        AuditLog.objects.count(),
    )


@pytest.mark.django_db
def test_refused_writes_store_nothing(world: World):
    before = state()
    try_refused(OPS, world, must_raise=True)
    assert state() == before


# --- the JSON API: the same expectations, through /api/v1 -------------------------------------------
# Each attempt runs in a rolled-back transaction, so writes leave the module's world as it was.

API_OPS = [
    HttpOp("view a demand", "get", lambda pk: f"/api/v1/demands/{pk}"),
    HttpOp("list demands", "get", lambda pk: "/api/v1/demands?limit=100", listed=True),
    HttpOp("list my reported demands", "get", lambda pk: "/api/v1/demands/mine?limit=100", listed=True),
    HttpOp(
        "list demands assigned to me", "get", lambda pk: "/api/v1/demands/assigned?limit=100", listed=True
    ),
    HttpOp("list received escalations", "get", lambda pk: "/api/v1/escalations?limit=100", listed=True),
    HttpOp("accept", "post", lambda pk: f"/api/v1/demands/{pk}/accept", {}),
    HttpOp("decline", "post", lambda pk: f"/api/v1/demands/{pk}/decline", {"reason": "不属于社区职责"}),
    HttpOp("start", "post", lambda pk: f"/api/v1/demands/{pk}/start", {}),
    HttpOp("add a note", "post", lambda pk: f"/api/v1/demands/{pk}/notes", {"text": "已电话联系"}),
    HttpOp(
        "reveal the reporter's phone (audited)", "post", lambda pk: f"/api/v1/demands/{pk}/reveal-phone", {}
    ),
]
OPS_BY_NAME = {op.name: op for op in OPS}


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker):
    return signed_in_clients(world, django_db_blocker)


@pytest.mark.django_db
@pytest.mark.parametrize("op", API_OPS, ids=lambda op: f"API {op.method.upper()} {op.same_as}")
def test_permission_matrix_through_the_api(op: HttpOp, world: World, clients):
    base = OPS_BY_NAME[op.same_as]
    subjects = base.targets(world)
    got = {
        name: {t for t, obj in subjects.items() if http_attempt(clients[name], op, obj)} for name in ACTORS
    }
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}
