"""The permission matrix of volunteer activities, posts and tasks and of signing up: every role × every
read and write × activities organised by community A1, community A2 (open to A2's members only), the
estate branch of A1, a service team of A1 (led by `member`, for the team only) and work unit U1 in
A1 (paired), through the services, the JSON API and some HTML screens. Refused means NotFound or
Forbidden (401/403/404 through HTTP) with nothing written; a Conflict counts as reached.

Who reaches what, in one line each: community staff organise everything in their community; the
estate's branch secretary their estate's activities; a team's leader the team's; a work unit its own
joint activities; the street and the organisation department see their subtree and organise nothing;
a member sees the activities open to them and changes only their own sign-ups.
"""

from collections.abc import Iterator
from datetime import date, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from huijia.accounts.models import AuditLog
from huijia.core.testing import World
from huijia.tests.test_permission_matrix import (
    ACTORS,
    ALL_STAFF_A,
    HttpOp,
    Op,
    everyone,
    http_attempt,
    in_list,
    matrix_world,
    reached_targets,
    signed_in_clients,
    targets,
    try_refused,
    world_built_once,
)
from huijia.volunteering import activities as services
from huijia.volunteering import activity_selectors as selectors
from huijia.volunteering.activities import ActivityInput, Recurrence, ShiftTime, SlotInput
from huijia.volunteering.models import (
    Activity,
    ActivityKind,
    Audience,
    Enrolment,
    OrganiserKind,
    Pairing,
    ServiceTeam,
    ServiceTeamMember,
    Slot,
)
from huijia.volunteering.testing import enrol, make_activity

KINDS = ("a1", "a2", "estate", "team", "unit")


def activities_world() -> World:
    w = matrix_world()
    team = ServiceTeam.objects.create(community=w.areas["a1"], name="教师志愿服务队")
    ServiceTeamMember.objects.create(team=team, member=w.members["member"], is_leader=True)
    w.service_team = team
    pairing = Pairing.objects.create(
        work_unit=w.units["u1"], community=w.areas["a1"], starts_on=date(2024, 1, 1)
    )
    w.pairings = {
        "a1": pairing,
        "a2": Pairing.objects.create(
            work_unit=w.units["u2"], community=w.areas["a2"], starts_on=date(2024, 1, 1)
        ),
    }
    w.activities = {
        "a1": make_activity(w, title="A1活动"),
        "a2": make_activity(
            w, title="A2活动", community="a2", audience=Audience.COMMUNITY, creator="other_staff"
        ),
        "estate": make_activity(
            w, title="小区活动", organiser_kind=OrganiserKind.ESTATE, estate=w.areas["a1_estate"]
        ),
        "team": make_activity(
            w,
            title="服务队活动",
            organiser_kind=OrganiserKind.TEAM,
            service_team=team,
            audience=Audience.TEAM,
        ),
        "unit": make_activity(
            w,
            title="共建活动",
            organiser_kind=OrganiserKind.WORK_UNIT,
            work_unit=w.units["u1"],
            pairing=pairing,
        ),
    }
    w.slots = {k: a.slots.get() for k, a in w.activities.items()}
    # two service posts (not among KINDS: the reads above do not change), with two shifts each
    w.posts = {
        "a1_post": make_activity(
            w,
            title="A1值守岗",
            kind=ActivityKind.POST,
            slots=[("党群服务中心", 24, 3, 2), ("党群服务中心", 48, 3, 2)],
        ),
        "a2_post": make_activity(
            w,
            title="A2值守岗",
            community="a2",
            kind=ActivityKind.POST,
            creator="other_staff",
            slots=[("党群服务中心", 24, 3, 2), ("党群服务中心", 48, 3, 2)],
        ),
    }
    w.enrolments = {
        "a1_member": enrol(w.slots["a1"], w.members["member"]),
        "a2_other": enrol(w.slots["a2"], w.members["other_member"]),
        "estate_member": enrol(w.slots["estate"], w.members["member"]),
        "unit_other": enrol(w.slots["unit"], w.members["other_member"]),
    }
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(activities_world, django_db_blocker)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker) -> dict[str, Client]:
    return signed_in_clients(world, django_db_blocker)


ACTIVITIES = {k: (lambda w, k=k: w.activities[k].pk) for k in KINDS}
SLOTS = {k: (lambda w, k=k: w.slots[k].pk) for k in KINDS}
ENROLMENTS = {
    k: (lambda w, k=k: w.enrolments[k].pk) for k in ("a1_member", "a2_other", "estate_member", "unit_other")
}
A1_KINDS = {"a1", "estate", "team", "unit"}
POSTS = {k: (lambda w, k=k: w.posts[k].pk) for k in ("a1_post", "a2_post")}
POST_SLOTS = {k: (lambda w, k=k: w.posts[k].slots.order_by("starts_at").last().pk) for k in POSTS}
MANAGE_POSTS = {"staff": {"a1_post"}, "other_staff": {"a2_post"}}
PAIRING_OF = {"a1": "a1", "a2": "a2", "estate": "a1", "team": "a1", "unit": "a1"}

SEE = {  # the console's reads (staff in scope, the organising unit, the team's leader)
    **everyone(ALL_STAFF_A, set(KINDS)),
    "staff": A1_KINDS,
    "other_staff": {"a2"},
    "estate_secretary": {"estate"},
    "unit_organiser": {"unit"},
    "member": {"team"},
}
MANAGE = {
    "staff": A1_KINDS,
    "other_staff": {"a2"},
    "estate_secretary": {"estate"},
    "unit_organiser": {"unit"},
    "member": {"team"},
}
SEE_AS_MEMBER = {  # the phone page and the API's reads: the console's reach, plus what is open to members
    **SEE,
    "member": {"a1", "estate", "team", "unit"},  # open ones, their team's, and where they signed up
    "other_member": {"a1", "estate", "unit", "a2"},  # open ones and A2's own
}
JOIN = {"member": {"a1", "estate", "team", "unit"}, "other_member": {"a1", "estate", "unit", "a2"}}
CANCEL_SIGN_UP = {
    "staff": {"a1_member", "estate_member", "unit_other"},
    "other_staff": {"a2_other"},
    "estate_secretary": {"estate_member"},
    "unit_organiser": {"unit_other"},
    "member": {"a1_member", "estate_member"},
    "other_member": {"a2_other", "unit_other"},
}
MINE = {"member": {"a1_member", "estate_member"}, "other_member": {"a2_other", "unit_other"}}


def later(hours: float):
    return timezone.now() + timedelta(hours=hours)


def new_slot() -> tuple[SlotInput, ...]:
    return (SlotInput(venue="社区广场", starts_at=later(30), ends_at=later(32), capacity=5),)


PUBLISH = {
    "a1": lambda w: {"organiser_kind": OrganiserKind.COMMUNITY, "community_id": w.areas["a1"].pk},
    "a2": lambda w: {"organiser_kind": OrganiserKind.COMMUNITY, "community_id": w.areas["a2"].pk},
    "estate": lambda w: {"organiser_kind": OrganiserKind.ESTATE, "estate_id": w.areas["a1_estate"].pk},
    "team": lambda w: {"organiser_kind": OrganiserKind.TEAM, "service_team_id": w.service_team.pk},
    "unit": lambda w: {"organiser_kind": OrganiserKind.WORK_UNIT, "community_id": w.areas["a1"].pk},
    "unit_unpaired": lambda w: {"organiser_kind": OrganiserKind.WORK_UNIT, "community_id": w.areas["a2"].pk},
}
PUBLISHERS = {**MANAGE, "staff": {"a1", "estate", "team"}}  # staff publish as community, estate, team


def publish(a, fields, w):
    data = ActivityInput(title="新活动", category="environment", slots=new_slot(), **fields)
    return services.publish_activity(actor=a, data=data)


def edit(a, pk, w):
    return services.update_activity(actor=a, activity_id=pk, title="改过的活动")


def change_slot(a, pk, w):
    s = Slot.objects.get(pk=pk)
    data = SlotInput(venue="社区广场", starts_at=s.starts_at, ends_at=s.ends_at, capacity=s.capacity + 5)
    return services.change_slot(actor=a, slot_id=pk, data=data)


def recurrence() -> Recurrence:
    first = timezone.localdate() + timedelta(days=10)
    return Recurrence(
        date_from=first,
        date_to=first + timedelta(days=6),
        weekdays=frozenset(range(7)),
        times=(ShiftTime(time(9, 0), time(12, 0)),),
        venue="党群服务中心",
        capacity=2,
    )


def link_pairing(a, pk, w):
    kind = next(k for k, act in w.activities.items() if act.pk == pk)
    return services.set_pairing(actor=a, activity_id=pk, pairing_id=w.pairings[PAIRING_OF[kind]].pk)


OPS = [
    Op(
        "view an activity (console)",
        targets(ACTIVITIES),
        lambda a, pk, w: selectors.activity_for(actor=a, activity_id=pk),
        SEE,
    ),
    Op(
        "list activities (console)",
        targets(ACTIVITIES),
        in_list(lambda a: selectors.activities_for(actor=a)),
        SEE,
    ),
    Op(
        "view an activity (member)",
        targets(ACTIVITIES),
        lambda a, pk, w: selectors.activity_for_member(actor=a, activity_id=pk),
        SEE_AS_MEMBER,
    ),
    Op(
        "list activities (API reach)",
        targets(ACTIVITIES),
        in_list(lambda a: selectors.activities_for(actor=a, visible=True)),
        SEE_AS_MEMBER,
    ),
    Op(
        "view a slot's roster",
        targets(SLOTS),
        lambda a, pk, w: selectors.slot_roster(actor=a, slot_id=pk),
        SEE,
    ),
    Op("publish an activity", targets(PUBLISH), publish, PUBLISHERS),
    Op("change an activity", targets(ACTIVITIES), edit, MANAGE),
    Op(
        "cancel an activity",
        targets(ACTIVITIES),
        lambda a, pk, w: services.cancel_activity(actor=a, activity_id=pk, reason="天气"),
        MANAGE,
    ),
    Op(
        "close an activity",
        targets(ACTIVITIES),
        lambda a, pk, w: services.close_activity(actor=a, activity_id=pk),
        MANAGE,
    ),
    Op("change a slot", targets(SLOTS), change_slot, MANAGE),
    Op(
        "remove a slot",
        targets(POST_SLOTS),
        lambda a, pk, w: services.remove_slot(actor=a, slot_id=pk),
        MANAGE_POSTS,
    ),
    Op(
        "extend a post",
        targets(POSTS),
        lambda a, pk, w: services.extend_post(actor=a, activity_id=pk, recurrence=recurrence()),
        MANAGE_POSTS,
    ),
    Op("link a pairing", targets(ACTIVITIES), link_pairing, MANAGE),
    Op("sign up", targets(SLOTS), lambda a, pk, w: services.sign_up(actor=a, slot_id=pk), JOIN),
    Op(
        "cancel a sign-up",
        targets(ENROLMENTS),
        lambda a, pk, w: services.cancel_enrolment(actor=a, enrolment_id=pk),
        CANCEL_SIGN_UP,
    ),
    Op("my sign-ups", targets(ENROLMENTS), in_list(lambda a: selectors.my_enrolments(actor=a)), MINE),
]
OPS_BY_NAME = {op.name: op for op in OPS}


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, world: World):
    assert reached_targets(op, world) == {name: op.allowed.get(name, set()) for name in ACTORS}


def state() -> tuple:
    return (
        tuple(Activity.objects.order_by("pk").values_list("pk", "status", "title")),
        tuple(Slot.objects.order_by("pk").values_list("pk", "capacity", "confirmed", "waitlisted")),
        tuple(Enrolment.objects.order_by("pk").values_list("pk", "status")),
        AuditLog.objects.count(),
    )


@pytest.mark.django_db
def test_refused_writes_store_nothing(world: World):
    before = state()
    try_refused(OPS, world)
    assert state() == before


# --- the JSON API ---------------------------------------------------------------------------------

V = "/api/v1/volunteer"


def _api(name: str, method: str, url, body=None, listed: bool = False):
    return (HttpOp(name, method, url, listed=listed), body)


def publish_body(fields: dict) -> dict:
    return {
        "title": "新活动",
        "category": "environment",
        "slots": [
            {
                "venue": "社区广场",
                "starts_at": later(30).isoformat(),
                "ends_at": later(32).isoformat(),
                "capacity": 5,
            }
        ],
        **{k: (v.value if hasattr(v, "value") else v) for k, v in fields.items()},
    }


API_OPS = [
    _api("list activities (API reach)", "get", lambda pk: f"{V}/activities?limit=100", listed=True),
    _api("view an activity (member)", "get", lambda pk: f"{V}/activities/{pk}"),
    _api("view a slot's roster", "get", lambda pk: f"{V}/slots/{pk}/roster"),
    _api("publish an activity", "post", lambda f: f"{V}/activities", publish_body),
    _api(
        "cancel an activity", "post", lambda pk: f"{V}/activities/{pk}/cancel", lambda pk: {"reason": "天气"}
    ),
    _api("close an activity", "post", lambda pk: f"{V}/activities/{pk}/close", lambda pk: {}),
    _api("sign up", "post", lambda pk: f"{V}/slots/{pk}/signup", lambda pk: {}),
    _api("cancel a sign-up", "post", lambda pk: f"{V}/enrolments/{pk}/cancel", lambda pk: {}),
    _api("my sign-ups", "get", lambda pk: f"{V}/enrolments?limit=100", listed=True),
]


def reached_over_http(client, op: HttpOp, target) -> bool:
    """http_attempt, where a 409 (already signed up: the state check, after the scope check) is reached."""
    from django.db import transaction

    if op.method == "post":
        with transaction.atomic():
            r = client.post(op.url(target), op.body, content_type="application/json")
            transaction.set_rollback(True)
        if r.status_code == 409:
            return True
        if r.status_code in (401, 403, 404):
            return False
        assert r.status_code < 300, (r.status_code, r.content)
        return True
    return http_attempt(client, op, target)


def put_attempt(client, pk) -> bool:
    return write_attempt(client, "put", f"{V}/activities/{pk}", {"title": "改过的活动"})


def write_attempt(client, method: str, path: str, body=None) -> bool:
    """A PUT or DELETE: reached unless 401, 403 or 404 (a 409 is the state check, after the scope)."""
    from django.db import transaction

    with transaction.atomic():
        call = getattr(client, method)
        r = call(path, body, content_type="application/json") if body is not None else call(path)
        transaction.set_rollback(True)
    if r.status_code in (401, 403, 404):
        return False
    assert r.status_code < 300 or r.status_code == 409, (r.status_code, r.content)
    return True


def slot_body(w, pk) -> dict:
    s = Slot.objects.get(pk=pk)
    return {
        "venue": "社区广场",
        "starts_at": s.starts_at.isoformat(),
        "ends_at": s.ends_at.isoformat(),
        "capacity": s.capacity + 5,
    }


RECURRENCE_BODY = {
    "date_from": (timezone.localdate() + timedelta(days=10)).isoformat(),
    "date_to": (timezone.localdate() + timedelta(days=16)).isoformat(),
    "weekdays": [0, 1, 2, 3, 4, 5, 6],
    "times": [{"starts": "09:00", "ends": "12:00"}],
    "venue": "党群服务中心",
    "capacity": 2,
}


@pytest.mark.django_db
def test_the_new_writes_through_the_api(world: World, clients):
    """Changing and removing slots, more shifts for a post, the joint-activity link: the same reach as
    the services."""

    def pairing_body(pk):
        kind = next(k for k, act in world.activities.items() if act.pk == pk)
        return {"pairing_id": world.pairings[PAIRING_OF[kind]].pk}

    cases = [
        ("change a slot", SLOTS, lambda pk: ("put", f"{V}/slots/{pk}", slot_body(world, pk))),
        ("remove a slot", POST_SLOTS, lambda pk: ("delete", f"{V}/slots/{pk}", None)),
        ("extend a post", POSTS, lambda pk: ("post", f"{V}/activities/{pk}/shifts", RECURRENCE_BODY)),
        ("link a pairing", ACTIVITIES, lambda pk: ("put", f"{V}/activities/{pk}/pairing", pairing_body(pk))),
    ]
    for name, spec, request in cases:
        got = {
            actor: {t for t, make in spec.items() if write_attempt(clients[actor], *request(make(world)))}
            for actor in ACTORS
        }
        assert got == {actor: OPS_BY_NAME[name].allowed.get(actor, set()) for actor in ACTORS}, name


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("op", "body"), API_OPS, ids=[f"API {op.method.upper()} {op.same_as}" for op, _b in API_OPS]
)
def test_permission_matrix_through_the_api(op: HttpOp, body, world: World, clients):
    base = OPS_BY_NAME[op.same_as]
    subjects = base.targets(world)

    def attempt(client, target) -> bool:
        one = HttpOp(op.same_as, op.method, op.url, body(target) if body else None, op.listed)
        return reached_over_http(client, one, target)

    got = {name: {t for t, obj in subjects.items() if attempt(clients[name], obj)} for name in ACTORS}
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}


@pytest.mark.django_db
def test_changing_an_activity_through_the_api(world: World, clients):
    subjects = ACTIVITIES
    got = {
        name: {t for t, make in subjects.items() if put_attempt(clients[name], make(world))}
        for name in ACTORS
    }
    assert got == {name: MANAGE.get(name, set()) for name in ACTORS}


# --- some HTML screens ------------------------------------------------------------------------------


def page_reached(client, path: str) -> bool:
    r = client.get(path)
    if r.status_code in (302, 403, 404):  # anonymous: sent to sign in
        return False
    assert r.status_code == 200, r.status_code
    return True


@pytest.mark.django_db
def test_the_console_and_phone_pages_follow_the_same_rules(world: World, clients):
    from django.urls import reverse

    pages = [
        ("console_activity", ACTIVITIES, SEE),
        ("console_slot_edit", SLOTS, MANAGE),
        ("console_post_extend", POSTS, MANAGE_POSTS),
        ("console_roster", SLOTS, SEE),
        ("activity", ACTIVITIES, SEE_AS_MEMBER),
    ]
    for name, spec, allowed in pages:
        got = {
            actor: {
                t
                for t, make in spec.items()
                if page_reached(clients[actor], reverse(f"volunteering:{name}", args=[make(world)]))
            }
            for actor in ACTORS
        }
        expected = {actor: allowed.get(actor, set()) for actor in ACTORS}
        # the console is for staff and team leaders: other members get the 403 page there
        assert got == expected, name
