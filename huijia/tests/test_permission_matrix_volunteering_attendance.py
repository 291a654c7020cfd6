"""The permission matrix of attendance and hours: every role × every read and write of
huijia.volunteering.attendance (services) and attendance_selectors (reads), then the same through
/api/v1/volunteer/... . Refused means NotFound or Forbidden with nothing written; a Conflict, and here
an InvalidInput too (a state or input check that comes after the scope check), counts as reached.

Who reaches what, in one line each: the organiser of a slot (community staff over its community, the
estate's branch secretary for their estate's activities, the organising work unit, the leader of the
organising service team) runs its QR code and roll call, counts people served and decides its hours
corrections; staff who only view the area (street, organisation department) see its attendance and
change nothing; a member checks in and out of the slots they hold a confirmed place in, sees and asks
to correct their own records only; whoever holds a record's token (the served resident) confirms it,
except the record's own member. The organiser adds walk-ins and removes wrong records of their slots.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from huijia.accounts.models import AuditLog
from huijia.core.errors import InvalidInput
from huijia.core.testing import World
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
from huijia.volunteering import attendance
from huijia.volunteering import attendance_selectors as selectors
from huijia.volunteering.checkin_codes import current_code
from huijia.volunteering.models import (
    Activity,
    Enrolment,
    HoursCorrection,
    OrganiserKind,
    ServiceRecord,
    ServiceTeam,
    ServiceTeamMember,
    Slot,
)
from huijia.volunteering.testing import enrol, make_activity, record

SLOT_KEYS = ("a1", "a2", "b1", "estate", "team", "unit")
RECORD_KEYS = ("mine", "theirs")


def attendance_world() -> World:
    """Running slots (checking in is open) of every organiser kind in A1, one in A2 and one in B1; the
    member holds a place in each of A1's and is checked in at A1's; other_member in A2's, checked in.
    Two finished records (the member's in A1, other_member's in A2), each with a pending correction."""
    w = matrix_world()
    team = ServiceTeam.objects.create(community=w.areas["a1"], name="教师服务队")
    ServiceTeamMember.objects.create(team=team, member=w.members["member"], is_leader=True)
    running = [("3栋楼下", -0.5, 2, 10)]
    kinds = {
        "a1": {},
        "a2": {"community": "a2", "creator": "other_staff"},
        "b1": {"community": "b1"},
        "estate": {"organiser_kind": OrganiserKind.ESTATE, "estate": w.areas["a1_estate"]},
        "team": {"organiser_kind": OrganiserKind.TEAM, "service_team": team},
        "unit": {"organiser_kind": OrganiserKind.WORK_UNIT, "work_unit": w.units["u1"]},
    }
    w.slots = {
        k: make_activity(w, title=f"活动{k}", slots=running, **f).slots.get() for k, f in kinds.items()
    }
    for key in ("a1", "estate", "team", "unit"):
        enrol(w.slots[key], w.members["member"])
    enrol(w.slots["a2"], w.members["other_member"])
    record(w.slots["a1"], w.members["member"], checked_in_at=timezone.now(), method="qr")
    record(w.slots["a2"], w.members["other_member"], checked_in_at=timezone.now(), method="qr")
    past = [("党群服务中心", -30, 2, 10)]
    mine = make_activity(w, title="上月活动", slots=past).slots.get()
    theirs = make_activity(
        w, title="燕子岭上月活动", community="a2", creator="other_staff", slots=past
    ).slots.get()
    w.records = {
        "mine": record(mine, w.members["member"], hours="1"),
        "theirs": record(theirs, w.members["other_member"], hours="1"),
    }
    w.corrections = {
        k: HoursCorrection.objects.create(record=r, requested_hours=Decimal("2"), reason="待到结束")
        for k, r in w.records.items()
    }
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(attendance_world, django_db_blocker)


def slot_targets(*keys: str):
    return targets({k: (lambda w, k=k: w.slots[k].pk) for k in keys or SLOT_KEYS})


def activity_targets():
    return targets({k: (lambda w, k=k: w.slots[k].activity_id) for k in SLOT_KEYS})


def record_targets():
    return targets({k: (lambda w, k=k: w.records[k].pk) for k in RECORD_KEYS})


def correction_targets():
    return targets({k: (lambda w, k=k: w.corrections[k].pk) for k in RECORD_KEYS})


def past_scope(run: Callable) -> Callable:
    """An InvalidInput comes after the scope check (e.g. checking out with no check-in): reached."""

    def attempt(a, target, w):
        try:
            return run(a, target, w)
        except InvalidInput:
            return None

    return attempt


def enrolled(slot_id: int) -> list[int]:
    return list(
        Enrolment.objects.filter(slot_id=slot_id, status="confirmed").values_list("member_id", flat=True)
    )


def other_member_id() -> int:
    return ServiceRecord.objects.filter(member__name="赵敏").values_list("member_id", flat=True)[0]


def code_of(slot_id: int) -> str:
    return current_code(Slot.objects.get(pk=slot_id))[0]


ORGANISE = {
    "staff": {"a1", "estate", "team", "unit"},
    "other_staff": {"a2"},
    "estate_secretary": {"estate"},
    "unit_organiser": {"unit"},
    "member": {"team"},  # the team's leader
}
SEE = {
    "org_dept": set(SLOT_KEYS),
    "street_staff": set(SLOT_KEYS) - {"b1"},
    **ORGANISE,
}
SCAN = {"member": {"a1", "estate", "team", "unit"}, "other_member": {"a2"}}
OWN = {"member": {"mine"}, "other_member": {"theirs"}}
DECIDE = {"staff": {"mine"}, "other_staff": {"theirs"}}
# anyone holding the token, signed in or not, except the record's own member
CONFIRM = {name: set(RECORD_KEYS) - OWN.get(name, set()) for name in ACTORS}


def walk_in(a, pk, w):
    """other_member reports in A2: recorded in A2's slot already (Conflict), refused as not of the
    community elsewhere (InvalidInput) — both after the scope check."""
    return attendance.add_walk_in(actor=a, slot_id=pk, member_id=w.members["other_member"].pk)


OPS = [
    # --- reads -------------------------------------------------------------------------------------
    Op(
        "view a slot's attendance",
        slot_targets(),
        lambda a, pk, w: selectors.slot_for(actor=a, slot_id=pk),
        SEE,
    ),
    Op(
        "show the check-in code",
        slot_targets(),
        lambda a, pk, w: selectors.slot_for(actor=a, slot_id=pk, perm="manage_volunteering"),
        ORGANISE,
    ),
    Op(
        "list corrections to decide",
        correction_targets(),
        in_list(lambda a: selectors.corrections_for(actor=a)),
        DECIDE,
    ),
    Op("view my record", record_targets(), lambda a, pk, w: selectors.my_record(actor=a, record_id=pk), OWN),
    Op("list my records", record_targets(), in_list(lambda a: selectors.my_records(actor=a)), OWN),
    Op(
        "view a record by its confirmation token",
        record_targets(),
        lambda a, pk, w: selectors.record_by_token(token=ServiceRecord.objects.get(pk=pk).confirm_token),
        {name: set(RECORD_KEYS) for name in ACTORS},
    ),
    # --- the member's steps -------------------------------------------------------------------------
    Op(
        "check in",
        slot_targets(),
        past_scope(lambda a, pk, w: attendance.check_in(actor=a, slot_id=pk, code=code_of(pk))),
        SCAN,
    ),
    Op(
        "check out",
        slot_targets(),
        past_scope(lambda a, pk, w: attendance.check_out(actor=a, slot_id=pk, code=code_of(pk))),
        SCAN,
    ),
    Op(
        "request a correction",
        record_targets(),
        lambda a, pk, w: attendance.request_correction(actor=a, record_id=pk, hours="1.5", reason="提前到了"),
        OWN,
    ),
    # --- the organiser's steps ----------------------------------------------------------------------
    Op(
        "roll call",
        slot_targets(),
        lambda a, pk, w: attendance.roll_call(actor=a, slot_id=pk, present=enrolled(pk)),
        ORGANISE,
    ),
    Op(
        "decide a correction",
        correction_targets(),
        lambda a, pk, w: attendance.decide_correction(actor=a, correction_id=pk, approve=True),
        DECIDE,
    ),
    Op("add a walk-in", slot_targets(), past_scope(walk_in), ORGANISE),
    Op(
        "remove a record",
        record_targets(),
        lambda a, pk, w: attendance.remove_record(actor=a, record_id=pk, reason="误记"),
        DECIDE,
    ),
    Op(
        "set people served",
        activity_targets(),
        lambda a, pk, w: attendance.set_people_served(actor=a, activity_id=pk, people_served=12),
        ORGANISE,
    ),
    # --- the served resident ------------------------------------------------------------------------
    Op(
        "confirm a service by its token",
        record_targets(),
        lambda a, pk, w: attendance.confirm_service(
            token=ServiceRecord.objects.get(pk=pk).confirm_token, actor=a
        ),
        CONFIRM,
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, world: World):
    assert reached_targets(op, world) == {name: op.allowed.get(name, set()) for name in ACTORS}


def state() -> tuple:
    return (
        tuple(
            ServiceRecord.objects.order_by("pk").values_list(
                "pk", "hours", "checked_out_at", "resident_confirmed_at"
            )
        ),
        tuple(Enrolment.objects.order_by("pk").values_list("pk", "status")),
        tuple(HoursCorrection.objects.order_by("pk").values_list("pk", "status", "requested_hours")),
        tuple(Activity.objects.order_by("pk").values_list("pk", "people_served")),
        AuditLog.objects.count(),
    )


@pytest.mark.django_db
def test_refused_writes_store_nothing(world: World):
    before = state()
    writes = [op for op in OPS if op.name in {"check in", "check out", "request a correction", "roll call"}]
    writes += [op for op in OPS if op.name in {"decide a correction", "set people served"}]
    writes += [
        op for op in OPS if op.name in {"add a walk-in", "remove a record", "confirm a service by its token"}
    ]
    try_refused(writes, world)
    assert state() == before


# --- the JSON API: the same expectations -------------------------------------------------------------


@dataclass(frozen=True)
class ApiOp:
    same_as: str
    method: str
    url: Callable[[object], str]
    body: Callable[[object], dict] | None = None
    listed: bool = False


API_OPS = [
    ApiOp("view a slot's attendance", "get", lambda pk: f"/api/v1/volunteer/slots/{pk}/attendance"),
    ApiOp("show the check-in code", "get", lambda pk: f"/api/v1/volunteer/slots/{pk}/qr-code"),
    ApiOp(
        "list corrections to decide", "get", lambda pk: "/api/v1/volunteer/corrections?limit=100", listed=True
    ),
    ApiOp(
        "check in",
        "post",
        lambda pk: f"/api/v1/volunteer/slots/{pk}/checkin",
        lambda pk: {"code": code_of(pk)},
    ),
    ApiOp(
        "check out",
        "post",
        lambda pk: f"/api/v1/volunteer/slots/{pk}/checkout",
        lambda pk: {"code": code_of(pk)},
    ),
    ApiOp(
        "request a correction",
        "post",
        lambda pk: f"/api/v1/volunteer/records/{pk}/corrections",
        lambda pk: {"hours": "1.5", "reason": "提前到了"},
    ),
    ApiOp(
        "roll call",
        "post",
        lambda pk: f"/api/v1/volunteer/slots/{pk}/roll-call",
        lambda pk: {"present": enrolled(pk)},
    ),
    ApiOp(
        "decide a correction",
        "post",
        lambda pk: f"/api/v1/volunteer/corrections/{pk}/decide",
        lambda pk: {"approve": True},
    ),
    ApiOp(
        "show the check-in code", "get", lambda pk: f"/api/v1/volunteer/slots/{pk}/walk-in-candidates?q=李"
    ),
    ApiOp(
        "add a walk-in",
        "post",
        lambda pk: f"/api/v1/volunteer/slots/{pk}/walk-ins",
        lambda pk: {"member_id": other_member_id()},
    ),
    ApiOp(
        "remove a record",
        "delete",
        lambda pk: f"/api/v1/volunteer/slots/{ServiceRecord.objects.get(pk=pk).slot_id}/records/{pk}",
        lambda pk: {"reason": "误记"},
    ),
    ApiOp(
        "confirm a service by its token",
        "post",
        lambda pk: f"/api/v1/volunteer/confirm/{ServiceRecord.objects.get(pk=pk).confirm_token}",
        lambda pk: {"comment": ""},
    ),
    ApiOp(
        "set people served",
        "put",
        lambda pk: f"/api/v1/volunteer/activities/{pk}/people-served",
        lambda pk: {"people_served": 12},
    ),
]
OPS_BY_NAME = {op.name: op for op in OPS}


def api_attempt(client, op: ApiOp, target) -> bool:
    with transaction.atomic():
        if op.method == "get":
            response = client.get(op.url(target))
        else:
            send = getattr(client, op.method)
            response = send(op.url(target), op.body(target), content_type="application/json")
        transaction.set_rollback(True)
    if response.status_code in (401, 403, 404):
        return False
    assert response.status_code in (200, 201, 204, 400, 409), (response.status_code, response.content)
    if op.listed:
        return target in {row["id"] for row in response.json()["items"]}
    return True


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker):
    return signed_in_clients(world, django_db_blocker)


@pytest.mark.django_db
@pytest.mark.parametrize("op", API_OPS, ids=lambda op: f"API {op.method.upper()} {op.same_as}")
def test_permission_matrix_through_the_api(op: ApiOp, world: World, clients):
    base = OPS_BY_NAME[op.same_as]
    subjects = base.targets(world)
    got = {name: {t for t, obj in subjects.items() if api_attempt(clients[name], op, obj)} for name in ACTORS}
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}


@pytest.mark.django_db
def test_the_world_is_what_the_matrix_assumes(world: World):
    """Guards the expectations above: every slot is open for checking in right now."""
    now = timezone.now()
    for slot in Slot.objects.filter(pk__in=[s.pk for s in world.slots.values()]):
        assert slot.starts_at - timedelta(minutes=30) <= now <= slot.ends_at
