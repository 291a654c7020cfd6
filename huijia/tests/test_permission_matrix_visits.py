"""The permission matrix of household visits (入户走访): every role × every read and write × a household
of the member's zone (building 3 of A1), the resident's own household (also in that zone), a household
of another building of the same estate (held by nobody), and a household of the sibling community A2
(linked to other_member) — through the services, the JSON API and the HTML screens.

Refused means NotFound or Forbidden (401/403/404, or the sign-in page, on the screens) with nothing
written; reached means the write happened or the row was shown.
"""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huijia.core.testing import World
from huijia.demands.models import Demand
from huijia.grid.models import HouseholdFactChange
from huijia.tests.test_permission_matrix import (
    ACTORS,
    ALL_STAFF_A,
    Op,
    everyone,
    in_list,
    matrix_world,
    reached_targets,
    signed_in_clients,
    targets,
    try_refused,
    world_built_once,
)
from huijia.visits import selectors
from huijia.visits.models import Visit, VisitPhoto
from huijia.visits.services import VisitInput, add_visit_photo, record_visit
from huijia.visits.tests.helpers import png

KEYS = itertools.count()


def key() -> str:
    return f"matrix-key-{next(KEYS):06d}"


def visit_input(household_id: int) -> VisitInput:
    return VisitInput(
        household_id=household_id,
        visited_on=timezone.localdate(),
        occupants=3,
        demands=("路灯坏了",),
    )


def visits_world() -> World:
    """The matrix world plus one visit in each place: by the member in their zone, by community staff
    in building 5 (nobody's zone), by other_member at their linked household in A2."""
    w = matrix_world()
    for name, who, household in (
        ("v_a1", "member", "a1_101"),
        ("v_a1_bldg2", "staff", "a1_bldg2_101"),
        ("v_a2", "other_member", "a2_101"),
    ):
        data = visit_input(w.households[household].pk)
        w.registrations[name] = record_visit(actor=w.actor(who), data=data, idempotency_key=key()).visit
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(visits_world, django_db_blocker)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker) -> dict[str, Client]:
    return signed_in_clients(world, django_db_blocker)


HOUSEHOLDS = {
    "zone": lambda w: w.households["a1_101"].pk,
    "resident_home": lambda w: w.households["a1_201"].pk,
    "a1_bldg2": lambda w: w.households["a1_bldg2_101"].pk,
    "a2_linked": lambda w: w.households["a2_101"].pk,
}
VISITS = {
    "zone": lambda w: w.registrations["v_a1"].pk,
    "a1_bldg2": lambda w: w.registrations["v_a1_bldg2"].pk,
    "a2_linked": lambda w: w.registrations["v_a2"].pk,
}
A1 = {"zone", "resident_home", "a1_bldg2"}
BUILDING_3 = {"zone", "resident_home"}

MAY_VISIT = {  # Perm.VISIT: a member's zone and links; building head, estate secretary, community staff
    "staff": A1,
    "other_staff": {"a2_linked"},
    "estate_secretary": A1,
    "building_head": BUILDING_3,
    "member": BUILDING_3,
    "other_member": {"a2_linked"},
}
MAY_SEE_HOUSEHOLD = {  # Perm.VIEW on the household: also street and city, and the resident their own home
    **everyone(ALL_STAFF_A, set(HOUSEHOLDS)),
    **MAY_VISIT,
    "resident": {"resident_home"},
}
MAY_SEE_VISIT = {  # a visit is seen where its household is, and by the members who hold the household
    **everyone(ALL_STAFF_A, set(VISITS)),
    "staff": {"zone", "a1_bldg2"},
    "other_staff": {"a2_linked"},
    "estate_secretary": {"zone", "a1_bldg2"},
    "building_head": {"zone"},
    "member": {"zone"},
    "other_member": {"a2_linked"},
}
RECORDED_IT = {"member": {"zone"}, "staff": {"a1_bldg2"}, "other_member": {"a2_linked"}}

OPS = [
    Op(
        "record visit",
        targets(HOUSEHOLDS),
        lambda a, pk, w: record_visit(actor=a, data=visit_input(pk), idempotency_key=key()),
        MAY_VISIT,
    ),
    Op(
        "view visit",
        targets(VISITS),
        lambda a, pk, w: selectors.visit_for(actor=a, visit_id=pk),
        MAY_SEE_VISIT,
    ),
    Op("list visits", targets(VISITS), in_list(lambda a: selectors.visits_for(actor=a)), MAY_SEE_VISIT),
    Op(
        "visits of a household",
        targets(HOUSEHOLDS),
        lambda a, pk, w: selectors.household_visits(actor=a, household_id=pk),
        MAY_SEE_HOUSEHOLD,
    ),
    Op(
        "households to visit",
        targets(HOUSEHOLDS),
        in_list(lambda a: selectors.households_to_visit(actor=a)),
        MAY_VISIT,
    ),
    Op(
        "add a photo",
        targets(VISITS),
        lambda a, pk, w: add_visit_photo(actor=a, visit_id=pk, photo=png()),
        RECORDED_IT,
    ),
]


def expected(allowed: dict[str, set[str]]) -> dict[str, set[str]]:
    return {name: allowed.get(name, set()) for name in ACTORS}


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, world: World, media):
    assert reached_targets(op, world) == expected(op.allowed)


def state() -> tuple[int, ...]:
    return (
        Visit.objects.count(),
        Demand.objects.count(),
        HouseholdFactChange.objects.count(),
        VisitPhoto.objects.count(),
    )


@pytest.mark.django_db
def test_refused_writes_store_nothing(world: World, media):
    before = state()
    try_refused([o for o in OPS if o.name in ("record visit", "add a photo")], world, must_raise=True)
    assert state() == before


# --- The JSON API ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    same_as: str
    send: Callable[[Client, object], object]
    listed: bool = False


def post_visit(client: Client, household_id: int):
    body = {"household_id": household_id, "visited_on": timezone.localdate().isoformat(), "occupants": 3}
    return client.post(
        "/api/v1/visits", body, content_type="application/json", headers={"Idempotency-Key": key()}
    )


API = [
    Call("record visit", post_visit),
    Call("view visit", lambda c, pk: c.get(f"/api/v1/visits/{pk}")),
    Call("list visits", lambda c, pk: c.get("/api/v1/visits?limit=100"), listed=True),
    Call("visits of a household", lambda c, pk: c.get(f"/api/v1/households/{pk}/visits")),
    Call("add a photo", lambda c, pk: c.post(f"/api/v1/visits/{pk}/photos", {"photo": png()})),
]
OPS_BY_NAME = {op.name: op for op in OPS}


def reached(call: Call, client: Client, target: object) -> bool:
    with transaction.atomic():
        response = call.send(client, target)
        transaction.set_rollback(True)
    if response.status_code in (401, 403, 404):
        return False
    assert response.status_code < 300, (response.status_code, response.content)
    if call.listed:
        return target in {row["id"] for row in response.json()["items"]}
    return True


@pytest.mark.django_db
@pytest.mark.parametrize("call", API, ids=lambda call: f"API {call.same_as}")
def test_permission_matrix_through_the_api(call: Call, world: World, clients, media):
    base = OPS_BY_NAME[call.same_as]
    subjects = base.targets(world)
    before = state()
    got = {name: {t for t, obj in subjects.items() if reached(call, clients[name], obj)} for name in ACTORS}
    assert got == expected(base.allowed)
    assert state() == before


# --- The HTML screens ----------------------------------------------------------------------------------

STAFF = [
    "org_dept",
    "street_staff",
    "staff",
    "other_staff",
    "estate_secretary",
    "building_head",
    "unit_organiser",
]


def form_post(client: Client, household_id: int):
    data = {"visited_on": timezone.localdate().isoformat(), "occupants": "3", "idempotency_key": key()}
    return client.post(reverse("visits:form", args=[household_id]), data)


@dataclass(frozen=True)
class Screen:
    name: str
    targets: dict
    send: Callable[[Client, object], object]
    shown: Callable[[object, object, World], bool]  # (response, target, world) -> reached
    allowed: dict[str, set[str]]


def page_of(response) -> str:
    return response.content.decode() if response.status_code == 200 else ""


def household_shown(response, pk, w: World) -> bool:
    return response.status_code == 200 and f'href="{reverse("visits:form", args=[pk])}"' in page_of(response)


def listed_household(response, pk, w: World) -> bool:
    return f'data-household="{pk}"' in page_of(response)


def listed_visit(response, pk, w: World) -> bool:
    visit = Visit.objects.get(pk=pk)
    link = reverse("visits:console_household", args=[visit.household_id])
    return f'href="{link}"' in page_of(response)


def file_shown(response, pk, w: World) -> bool:
    return response.status_code == 200 and "情况变化记录" in page_of(response)


def stored(response, pk, w: World) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("visits:household", args=[pk])


SCREENS = [
    Screen(
        "GET my households",
        HOUSEHOLDS,
        lambda c, pk: c.get(reverse("visits:mine")),
        listed_household,
        MAY_VISIT,
    ),
    Screen(
        "GET household (phone)",
        HOUSEHOLDS,
        lambda c, pk: c.get(reverse("visits:household", args=[pk])),
        household_shown,
        MAY_VISIT,
    ),
    Screen(
        "GET visit form",
        HOUSEHOLDS,
        lambda c, pk: c.get(reverse("visits:form", args=[pk])),
        lambda r, pk, w: r.status_code == 200 and 'id="visit-form"' in page_of(r),
        MAY_VISIT,
    ),
    Screen("POST visit form", HOUSEHOLDS, form_post, stored, MAY_VISIT),
    Screen(
        "GET console visits (this month, all months)",
        VISITS,
        lambda c, pk: c.get(reverse("visits:console") + "?month="),
        listed_visit,
        {k: v for k, v in MAY_SEE_VISIT.items() if k in STAFF},
    ),
    Screen(
        "GET console household file",
        HOUSEHOLDS,
        lambda c, pk: c.get(reverse("visits:console_household", args=[pk])),
        file_shown,
        {k: v for k, v in MAY_SEE_HOUSEHOLD.items() if k in STAFF},
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"HTML {s.name}")
def test_permission_matrix_through_the_screens(screen: Screen, world: World, clients, media):
    subjects = {name: make(world) for name, make in screen.targets.items()}
    before = state()
    got: dict[str, set[str]] = {}
    for name in ACTORS:
        got[name] = set()
        for target_name, target in subjects.items():
            with transaction.atomic():
                response = screen.send(clients[name], target)
                if screen.shown(response, target, world):
                    got[name].add(target_name)
                else:
                    assert response.status_code in (200, 302, 403, 404), (
                        name,
                        target_name,
                        response.status_code,
                    )
                    if response.status_code == 302:  # refused: only ever sent to sign in
                        assert reverse("login") in response["Location"], (name, target_name)
                    if screen.name.startswith("POST"):
                        assert state() == before, (name, target_name)
                transaction.set_rollback(True)
    assert got == expected(screen.allowed)
    assert state() == before
