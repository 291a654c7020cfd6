"""The permission matrix: every role × every read and write × own / sibling / parent objects.

Each operation lists, per actor, exactly which targets it may reach; everything else must be refused
(NotFound or Forbidden, never a silent success). Writes run inside a savepoint that is rolled back, so
each target is tried on the same untouched world. Extend this file with every read and write you add.
"""

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import transaction

from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Role
from huijia.accounts.scope import ANONYMOUS, Actor, get_visible
from huijia.accounts.services import grant_role
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import World, build_world, make_id_number, make_member, make_user, register
from huijia.grid.models import Area, AreaKind, Household, Resident
from huijia.grid.services import create_area, create_household
from huijia.members import selectors
from huijia.members.models import Member, Registration, RegistrationStatus
from huijia.members.services import (
    Identity,
    RegistrationInput,
    approve_registration,
    reject_registration,
    reveal_member_pii,
    submit_registration,
    withdraw_registration,
)

SERIAL = itertools.count()
ACTORS = [
    "org_dept",
    "street_staff",
    "staff",
    "other_staff",
    "estate_secretary",
    "building_head",
    "unit_organiser",
    "member",
    "pending_member",
    "other_member",
    "resident",
    "outsider",
    "anonymous",
]


def matrix_world() -> World:
    """The shared test world plus a pending registration and a resident in the sibling community A2."""
    w = build_world()
    make_member(w, "a2_pending", name="孙强", serial=4, unit="u1", user=False)
    register(w, "a2_pending", "a2", "a2_102", status=RegistrationStatus.PENDING)
    Resident.objects.create(household=w.households["a2_201"], name="钱爷爷")
    return w


def actor_of(w: World, name: str) -> Actor:
    return ANONYMOUS if name == "anonymous" else w.actor(name)


@dataclass(frozen=True)
class Op:
    name: str
    targets: Callable[[World], dict[str, object]]
    run: Callable[[Actor, object, World], object]
    allowed: dict[str, set[str]]


REGS = {
    "a1": lambda w: w.registrations["pending_member"].pk,
    "a1_u1": lambda w: w.registrations["member"].pk,
    "a2": lambda w: w.registrations["other_member"].pk,
}
PENDING = {
    "a1": lambda w: w.registrations["pending_member"].pk,
    "a2": lambda w: w.registrations["a2_pending"].pk,
}
MEMBERS = {
    "a1_u1": lambda w: w.members["member"].pk,
    "a1_pending": lambda w: w.members["pending_member"].pk,
    "a2": lambda w: w.members["other_member"].pk,
}
AREAS = {
    "a1": lambda w: w.areas["a1"],
    "a2": lambda w: w.areas["a2"],
    "parent": lambda w: w.areas["street_a"],
}


def targets(spec: dict) -> Callable[[World], dict[str, object]]:
    return lambda w: {name: make(w) for name, make in spec.items()}


def in_list(qs_of: Callable[[Actor], object]) -> Callable[[Actor, object, World], None]:
    def run(actor: Actor, pk: object, w: World) -> None:
        if not qs_of(actor).filter(pk=pk).exists():
            raise NotFound()

    return run


def new_registrant_input(w: World, community: str) -> RegistrationInput:
    return RegistrationInput(
        community_id=w.areas[community].pk,
        household_id=w.households[f"{community}_202"].pk,
        identity=Identity(name="新党员", phone="13911112222", id_number=make_id_number(555)),
    )


ALL_STAFF_A = {"org_dept", "street_staff"}


def everyone(actors, allowed: set[str]) -> dict[str, set[str]]:
    return {name: set(allowed) for name in actors}


OPS = [
    Op(
        "view registration",
        targets(REGS),
        lambda a, pk, w: selectors.registration_for(actor=a, registration_id=pk),
        {
            **everyone(ALL_STAFF_A, {"a1", "a1_u1", "a2"}),
            "staff": {"a1", "a1_u1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1", "a1_u1"},
            "building_head": {"a1", "a1_u1"},
            "unit_organiser": {"a1_u1"},
            "member": {"a1_u1"},
            "pending_member": {"a1"},
            "other_member": {"a2"},
        },
    ),
    Op(
        "list registrations (queue)",
        targets(REGS),
        in_list(lambda a: selectors.registration_queue(actor=a, status=None)),
        {
            **everyone(ALL_STAFF_A, {"a1", "a1_u1", "a2"}),
            "staff": {"a1", "a1_u1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1", "a1_u1"},
            "building_head": {"a1", "a1_u1"},
            "unit_organiser": {"a1_u1"},
            "member": {"a1_u1"},
            "pending_member": {"a1"},
            "other_member": {"a2"},
        },
    ),
    Op(
        "approve registration",
        targets(PENDING),
        lambda a, pk, w: approve_registration(actor=a, registration_id=pk),
        {"staff": {"a1"}, "other_staff": {"a2"}},
    ),
    Op(
        "reject registration",
        targets(PENDING),
        lambda a, pk, w: reject_registration(actor=a, registration_id=pk, reason="信息不全"),
        {"staff": {"a1"}, "other_staff": {"a2"}},
    ),
    Op(
        "withdraw registration",
        targets(REGS),
        lambda a, pk, w: withdraw_registration(actor=a, registration_id=pk),
        {"member": {"a1_u1"}, "pending_member": {"a1"}, "other_member": {"a2"}},
    ),
    Op(
        "submit registration (first time)",
        targets({"a1": lambda w: "a1", "a2": lambda w: "a2"}),
        lambda a, c, w: submit_registration(actor=a, data=new_registrant_input(w, c)),
        everyone([name for name in ACTORS if name != "anonymous"], {"a1", "a2"}),
    ),
    Op(
        "view member",
        targets({k: v for k, v in MEMBERS.items() if k != "a1_pending"}),
        lambda a, pk, w: selectors.member_for(actor=a, member_id=pk),
        {
            **everyone(ALL_STAFF_A, {"a1_u1", "a2"}),
            "staff": {"a1_u1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1_u1"},
            "building_head": {"a1_u1"},
            "unit_organiser": {"a1_u1"},
            "member": {"a1_u1"},
            "other_member": {"a2"},
        },
    ),
    Op(
        "list members (roster)",
        targets({k: v for k, v in MEMBERS.items() if k != "a1_pending"}),
        in_list(lambda a: selectors.members_for(actor=a)),
        {
            **everyone(ALL_STAFF_A, {"a1_u1", "a2"}),
            "staff": {"a1_u1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1_u1"},
            "building_head": {"a1_u1"},
            "unit_organiser": {"a1_u1"},
            "member": {"a1_u1"},
            "other_member": {"a2"},
        },
    ),
    Op(
        "reveal phone / ID number",
        targets(MEMBERS),
        lambda a, pk, w: reveal_member_pii(actor=a, member_id=pk, field_name="id_number"),
        {
            "staff": {"a1_u1", "a1_pending"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1_u1", "a1_pending"},
            "unit_organiser": {"a1_u1"},
            "member": {"a1_u1"},
            "pending_member": {"a1_pending"},
            "other_member": {"a2"},
        },
    ),
    Op(
        "view area",
        targets(AREAS),
        lambda a, area, w: get_visible(Area.objects.all(), a, area.pk),
        {
            **everyone(ALL_STAFF_A, {"a1", "a2", "parent"}),
            "staff": {"a1"},
            "other_staff": {"a2"},
        },
    ),
    Op(
        "view household",
        targets(
            {
                "a1": lambda w: w.households["a1_101"].pk,
                "a1_resident": lambda w: w.households["a1_201"].pk,
                "a2": lambda w: w.households["a2_101"].pk,
            }
        ),
        lambda a, pk, w: get_visible(Household.objects.all(), a, pk),
        {
            **everyone(ALL_STAFF_A, {"a1", "a1_resident", "a2"}),
            "staff": {"a1", "a1_resident"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1", "a1_resident"},
            "building_head": {"a1", "a1_resident"},
            "resident": {"a1_resident"},
        },
    ),
    Op(
        "view resident",
        targets(
            {
                "a1": lambda w: Resident.objects.get(household=w.households["a1_201"]).pk,
                "a2": lambda w: Resident.objects.get(household=w.households["a2_201"]).pk,
            }
        ),
        lambda a, pk, w: get_visible(Resident.objects.all(), a, pk),
        {
            **everyone(ALL_STAFF_A, {"a1", "a2"}),
            "staff": {"a1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1"},
            "building_head": {"a1"},
            "resident": {"a1"},
        },
    ),
    Op(
        "create area",
        targets(AREAS),
        lambda a, parent, w: create_area(
            actor=a,
            parent=parent,
            kind=AreaKind.COMMUNITY if parent.kind == AreaKind.STREET else AreaKind.ESTATE,
            name="新建区域",
        ),
        {**everyone(ALL_STAFF_A, {"a1", "a2", "parent"}), "staff": {"a1"}, "other_staff": {"a2"}},
    ),
    Op(
        "create household",
        targets({"a1": lambda w: w.areas["a1_bldg"], "a2": lambda w: w.areas["a2_bldg"]}),
        lambda a, building, w: create_household(
            actor=a, building=building, unit="2单元", floor=9, room="901"
        ),
        {**everyone(ALL_STAFF_A, {"a1", "a2"}), "staff": {"a1"}, "other_staff": {"a2"}},
    ),
    Op(
        "grant a role",
        targets(
            {
                "a1": lambda w: w.areas["a1"],
                "a2": lambda w: w.areas["a2"],
                "parent": lambda w: w.areas["street_a"],
            }
        ),
        lambda a, area, w: grant_role(
            actor=a,
            user=make_user(f"granted{next(SERIAL)}"),
            role=Role.COMMUNITY if area.kind != "street" else Role.STREET,
            area=area,
        ),
        {"org_dept": {"a1", "a2", "parent"}, "street_staff": {"a1", "a2"}},
    ),
]


def attempt(op: Op, actor: Actor, target: object, w: World) -> bool:
    """True when the actor got past the scope check; False when refused as out of scope.

    A Conflict (e.g. "already registered here") means the scope check was passed and the state check
    refused: it counts as reached, since this matrix is about who may touch what.
    """
    try:
        with transaction.atomic():
            op.run(actor, target, w)
            transaction.set_rollback(True)
    except (NotFound, Forbidden):
        return False
    except Conflict:
        return True
    return True


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op):
    w = matrix_world()
    subjects = op.targets(w)
    got = {
        name: {t for t, obj in subjects.items() if attempt(op, actor_of(w, name), obj, w)} for name in ACTORS
    }
    expected = {name: op.allowed.get(name, set()) for name in ACTORS}
    assert got == expected


@pytest.mark.django_db
def test_refused_writes_store_nothing():
    w = matrix_world()
    before = (
        Registration.objects.count(),
        Member.objects.count(),
        Area.objects.count(),
        RoleGrant.objects.count(),
    )
    for op in OPS:
        for name in ("other_staff", "outsider", "anonymous"):
            for target_name, target in op.targets(w).items():
                if target_name in op.allowed.get(name, set()):
                    continue
                with contextlib.suppress(NotFound, Forbidden, InvalidInput, Conflict):
                    op.run(actor_of(w, name), target, w)
    assert (
        Registration.objects.count(),
        Member.objects.count(),
        Area.objects.count(),
        RoleGrant.objects.count(),
    ) == before
    assert Registration.objects.filter(status=RegistrationStatus.PENDING).count() == 2


# --- The same matrix through the JSON API: the endpoints must reach exactly what the services allow ---


@dataclass(frozen=True)
class HttpOp:
    same_as: str  # the name of the service-level Op whose expectations apply
    method: str
    url: Callable[[object], str]
    body: dict | None = None
    listed: bool = False  # a list endpoint: "reached" means the target appears in the page


API_OPS = [
    HttpOp("view registration", "get", lambda pk: f"/api/v1/registrations/{pk}"),
    HttpOp("list registrations (queue)", "get", lambda pk: "/api/v1/registrations?limit=100", listed=True),
    HttpOp("approve registration", "post", lambda pk: f"/api/v1/registrations/{pk}/approve", {}),
    HttpOp(
        "reject registration", "post", lambda pk: f"/api/v1/registrations/{pk}/reject", {"reason": "信息不全"}
    ),
    HttpOp("withdraw registration", "post", lambda pk: f"/api/v1/registrations/{pk}/withdraw", {}),
    HttpOp(
        "reveal phone / ID number", "post", lambda pk: f"/api/v1/members/{pk}/reveal", {"field": "id_number"}
    ),
]
OPS_BY_NAME = {op.name: op for op in OPS}


def http_attempt(client, op: HttpOp, target: object) -> bool:
    with transaction.atomic():
        if op.method == "get":
            response = client.get(op.url(target))
        else:
            response = client.post(op.url(target), op.body, content_type="application/json")
        transaction.set_rollback(True)
    if response.status_code in (401, 403, 404):
        return False
    assert response.status_code < 300, (response.status_code, response.content)
    if op.listed:
        return target in {row["id"] for row in response.json()["items"]}
    return True


@pytest.mark.django_db
@pytest.mark.parametrize("op", API_OPS, ids=lambda op: f"API {op.method.upper()} {op.same_as}")
def test_permission_matrix_through_the_api(op: HttpOp, client):
    base = OPS_BY_NAME[op.same_as]
    w = matrix_world()
    subjects = base.targets(w)
    got = {}
    for name in ACTORS:
        client.logout()
        if name != "anonymous":
            client.force_login(w.users[name])
        got[name] = {t for t, obj in subjects.items() if http_attempt(client, op, obj)}
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}
