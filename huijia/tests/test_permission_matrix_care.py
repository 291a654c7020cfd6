"""The permission matrix of care (结对帮扶) and the monthly ledgers (台账): every role × every read and
write × targets in their own community, the sibling community and above, through the services, the
JSON API and the HTML screens. Refused means NotFound or Forbidden (403/404) with nothing written.
"""

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huijia.accounts.models import AuditLog
from huijia.care import selectors
from huijia.care.ledgers import export_care_ledger
from huijia.care.models import CarePairing, CarePairingMember, VulnerablePerson
from huijia.care.services import add_vulnerable, create_pairing, end_pairing, end_vulnerable
from huijia.core.errors import NotFound
from huijia.core.testing import World
from huijia.members.models import HouseholdAccess
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
from huijia.visits.ledgers import export_visit_ledger

STAFF = {
    "org_dept",
    "street_staff",
    "staff",
    "other_staff",
    "estate_secretary",
    "building_head",
    "unit_organiser",
}


def care_world() -> World:
    """The matrix world with people on file in A1 and A2 and one pairing in each."""
    w = matrix_world()
    h = w.households
    w.people = {
        "a1": VulnerablePerson.objects.create(household=h["a1_201"], kind="elderly_alone"),
        "a1_unzoned": VulnerablePerson.objects.create(household=h["a1_bldg2_101"], kind="hardship"),
        "a2": VulnerablePerson.objects.create(household=h["a2_101"], kind="hardship"),
    }
    VulnerablePerson.objects.create(household=h["a2_202"], kind="disabled")
    w.pairings = {}
    for key, household, member in (("a1", "a1_201", "member"), ("a2", "a2_101", "other_member")):
        pairing = CarePairing.objects.create(
            household=h[household], cadence_days=7, started_on=timezone.localdate() - timedelta(days=30)
        )
        CarePairingMember.objects.create(pairing=pairing, member=w.members[member])
        w.pairings[key] = pairing
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(care_world, django_db_blocker)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker) -> dict[str, Client]:
    return signed_in_clients(world, django_db_blocker)


AREAS = {
    "a1": lambda w: w.areas["a1"].pk,
    "a1_estate": lambda w: w.areas["a1_estate"].pk,
    "a2": lambda w: w.areas["a2"].pk,
}
PEOPLE = {k: (lambda w, k=k: w.people[k].pk) for k in ("a1", "a1_unzoned", "a2")}
PAIRINGS = {k: (lambda w, k=k: w.pairings[k].pk) for k in ("a1", "a2")}
TO_FILE = {  # households with nobody of that kind on file yet
    "a1": lambda w: w.households["a1_202"].pk,
    "a1_unzoned": lambda w: w.households["a1_bldg2_101"].pk,
    "a2": lambda w: w.households["a2_102"].pk,
}
TO_PAIR = {  # (household on file without a pairing, a member reporting there)
    "a1": lambda w: (w.households["a1_bldg2_101"].pk, w.members["member"].pk),
    "a2": lambda w: (w.households["a2_202"].pk, w.members["other_member"].pk),
}
ESTATES = {"a1_estate": lambda w: w.areas["a1_estate"].pk, "a2_estate": lambda w: w.areas["a2_estate"].pk}

VIEW_AREAS = {
    **everyone(ALL_STAFF_A, set(AREAS)),
    "staff": {"a1", "a1_estate"},
    "other_staff": {"a2"},
    "estate_secretary": {"a1_estate"},
}
SEE_PEOPLE = {
    **everyone(ALL_STAFF_A, set(PEOPLE)),
    "staff": {"a1", "a1_unzoned"},
    "other_staff": {"a2"},
    "estate_secretary": {"a1", "a1_unzoned"},
    "building_head": {"a1"},  # building 3 only
    "member": {"a1"},  # their team's zone
    "other_member": {"a2"},  # their linked household
}
MANAGE_PEOPLE = {
    "staff": {"a1", "a1_unzoned"},
    "other_staff": {"a2"},
    "estate_secretary": {"a1", "a1_unzoned"},
}
SEE_PAIRINGS = {
    **everyone(ALL_STAFF_A, set(PAIRINGS)),
    "staff": {"a1"},
    "other_staff": {"a2"},
    "estate_secretary": {"a1"},
    "building_head": {"a1"},
    "member": {"a1"},
    "other_member": {"a2"},
}
MANAGE_PAIRINGS = {"staff": {"a1"}, "other_staff": {"a2"}, "estate_secretary": {"a1"}}
LEDGERS = {**everyone(ALL_STAFF_A, set(ESTATES)), "staff": {"a1_estate"}, "other_staff": {"a2_estate"}}
LEDGERS["estate_secretary"] = {"a1_estate"}


def view_file(a, area_id, w):
    return selectors.vulnerable_file(actor=a, area=selectors.care_area(actor=a, area_id=area_id))


def overdue(a, area_id, w):
    return selectors.overdue_pairings(actor=a, area=selectors.care_area(actor=a, area_id=area_id))


def my_pairing(a, pk, w):
    if pk not in {d.pairing.pk for d in selectors.my_pairings(actor=a)}:
        raise NotFound()


def month() -> str:
    return timezone.localdate().strftime("%Y-%m")


OPS = [
    Op("view the care file", targets(AREAS), view_file, VIEW_AREAS),
    Op("view the overdue list", targets(AREAS), overdue, VIEW_AREAS),
    Op(
        "list vulnerable people",
        targets(PEOPLE),
        in_list(lambda a: selectors.vulnerable_people(actor=a)),
        SEE_PEOPLE,
    ),
    Op(
        "add a vulnerable person",
        targets(TO_FILE),
        lambda a, pk, w: add_vulnerable(actor=a, household_id=pk, kind="other"),
        MANAGE_PEOPLE,
    ),
    Op(
        "end a vulnerable person",
        targets(PEOPLE),
        lambda a, pk, w: end_vulnerable(actor=a, person_id=pk),
        MANAGE_PEOPLE,
    ),
    Op("list pairings", targets(PAIRINGS), in_list(lambda a: selectors.pairings_for(actor=a)), SEE_PAIRINGS),
    Op(
        "view a pairing",
        targets(PAIRINGS),
        lambda a, pk, w: selectors.pairing_for(actor=a, pairing_id=pk),
        SEE_PAIRINGS,
    ),
    Op("my pairings", targets(PAIRINGS), my_pairing, {"member": {"a1"}, "other_member": {"a2"}}),
    Op(
        "create a pairing",
        targets(TO_PAIR),
        lambda a, hm, w: create_pairing(actor=a, household_id=hm[0], member_ids=[hm[1]]),
        MANAGE_PAIRINGS,
    ),
    Op(
        "end a pairing",
        targets(PAIRINGS),
        lambda a, pk, w: end_pairing(actor=a, pairing_id=pk),
        MANAGE_PAIRINGS,
    ),
    Op(
        "download the visit ledger",
        targets(ESTATES),
        lambda a, pk, w: export_visit_ledger(actor=a, estate_id=pk, month=month(), dest=io.BytesIO()),
        LEDGERS,
    ),
    Op(
        "download the care ledger",
        targets(ESTATES),
        lambda a, pk, w: export_care_ledger(actor=a, estate_id=pk, month=month(), dest=io.BytesIO()),
        LEDGERS,
    ),
]
OPS_BY_NAME = {op.name: op for op in OPS}


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, world: World):
    assert reached_targets(op, world) == {name: op.allowed.get(name, set()) for name in ACTORS}


def state() -> tuple:
    return (
        tuple(VulnerablePerson.objects.order_by("pk").values_list("pk", "ended_at")),
        tuple(CarePairing.objects.order_by("pk").values_list("pk", "ended_on")),
        CarePairingMember.objects.count(),
        tuple(HouseholdAccess.objects.order_by("pk").values_list("pk", "by_zone", "by_link", "by_care")),
        AuditLog.objects.count(),
    )


@pytest.mark.django_db
def test_refused_writes_store_nothing(world: World):
    before = state()
    try_refused(OPS, world)
    assert state() == before


# --- the JSON API ---------------------------------------------------------------------------------

API_OPS = [
    HttpOp("view the overdue list", "get", lambda pk: f"/api/v1/care/overdue?area_id={pk}"),
    HttpOp("list vulnerable people", "get", lambda pk: "/api/v1/care/vulnerable?limit=100", listed=True),
    HttpOp("end a vulnerable person", "post", lambda pk: f"/api/v1/care/vulnerable/{pk}/end", {}),
    HttpOp("list pairings", "get", lambda pk: "/api/v1/care/pairings?limit=100", listed=True),
    HttpOp("my pairings", "get", lambda pk: "/api/v1/care/pairings/mine", listed=True),
    HttpOp("end a pairing", "post", lambda pk: f"/api/v1/care/pairings/{pk}/end", {}),
]
BODIES = {  # writes whose body carries the target
    "add a vulnerable person": ("/api/v1/care/vulnerable", lambda pk: {"household_id": pk, "kind": "other"}),
    "create a pairing": ("/api/v1/care/pairings", lambda hm: {"household_id": hm[0], "member_ids": [hm[1]]}),
}
API_OPS += [HttpOp(name, "post", lambda t, url=url: url) for name, (url, _body) in BODIES.items()]


def api_attempt(client, op: HttpOp, target) -> bool:
    if op.same_as in BODIES:
        op = HttpOp(op.same_as, "post", op.url, BODIES[op.same_as][1](target))
    return http_attempt(client, op, target)


@pytest.mark.django_db
@pytest.mark.parametrize("op", API_OPS, ids=lambda op: f"API {op.method.upper()} {op.same_as}")
def test_permission_matrix_through_the_api(op: HttpOp, world: World, clients):
    base = OPS_BY_NAME[op.same_as]
    subjects = base.targets(world)
    got = {name: {t for t, obj in subjects.items() if api_attempt(clients[name], op, obj)} for name in ACTORS}
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}


# --- the HTML screens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    same_as: str
    send: Callable[[Client, World, object], object]
    done: Callable[[object, World, object], bool]
    staff_only: bool = True
    listed: bool = False


def html(r) -> str:
    return "" if r.streaming else r.content.decode()


def xlsx(r) -> bool:
    return r.status_code == 200 and r.get("Content-Type", "").startswith("application/vnd.openxml")


PAGES = [
    Page(
        "GET care file",
        "view the care file",
        lambda c, w, pk: c.get(reverse("care:file") + f"?area={pk}"),
        lambda r, w, pk: r.status_code == 200 and "困难群体档案" in html(r),
    ),
    Page(
        "GET overdue list",
        "view the overdue list",
        lambda c, w, pk: c.get(reverse("care:overdue") + f"?area={pk}"),
        lambda r, w, pk: r.status_code == 200 and "逾期未走访" in html(r),
    ),
    Page(
        "POST add a vulnerable person",
        "add a vulnerable person",
        lambda c, w, pk: c.post(reverse("care:vulnerable_add"), {"household": pk, "kind": "other"}),
        lambda r, w, pk: VulnerablePerson.objects.filter(household_id=pk, kind="other").exists(),
    ),
    Page(
        "POST end a vulnerable person",
        "end a vulnerable person",
        lambda c, w, pk: c.post(reverse("care:vulnerable_end", args=[pk])),
        lambda r, w, pk: VulnerablePerson.objects.get(pk=pk).ended_at is not None,
    ),
    Page(
        "GET pairing form",
        "create a pairing",
        lambda c, w, hm: c.get(reverse("care:pair", args=[hm[0]])),
        lambda r, w, hm: r.status_code == 200 and 'name="members"' in html(r),
    ),
    Page(
        "POST create a pairing",
        "create a pairing",
        lambda c, w, hm: c.post(
            reverse("care:pair", args=[hm[0]]), {"members": [hm[1]], "cadence_days": "30"}
        ),
        lambda r, w, hm: CarePairing.objects.filter(household_id=hm[0], ended_on=None).exists(),
    ),
    Page(
        "POST end a pairing",
        "end a pairing",
        lambda c, w, pk: c.post(reverse("care:pairing_end", args=[pk])),
        lambda r, w, pk: CarePairing.objects.get(pk=pk).ended_on is not None,
    ),
    Page(
        "GET my pairings (phone)",
        "my pairings",
        lambda c, w, pk: c.get(reverse("care:mine")),
        lambda r, w, pk: f'id="pairing-{pk}"' in html(r),
        staff_only=False,
        listed=True,
    ),
    Page(
        "POST visit ledger",
        "download the visit ledger",
        lambda c, w, pk: c.post(reverse("care:ledger_visits"), {"estate": pk, "month": month()}),
        lambda r, w, pk: xlsx(r),
    ),
    Page(
        "POST care ledger",
        "download the care ledger",
        lambda c, w, pk: c.post(reverse("care:ledger_care"), {"estate": pk, "month": month()}),
        lambda r, w, pk: xlsx(r),
    ),
]


def page_attempt(page: Page, client: Client, w: World, target, who: str) -> bool:
    before = state()
    with transaction.atomic():
        response = page.send(client, w, target)
        reached = page.done(response, w, target)
        changed = state() != before
        transaction.set_rollback(True)
    if who == "anonymous":
        assert response.status_code == 302, page.name
        assert "/login/" in response["Location"], page.name
    elif not reached:
        refusals = (200, 302, 400, 403, 404) if page.listed else (302, 400, 403, 404)
        assert response.status_code in refusals, (page.name, who, response.status_code)
    if not reached:
        assert not changed, f"{page.name}: {who} was refused, yet the database changed"
    return reached


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES, ids=lambda p: f"HTML {p.name}")
def test_permission_matrix_through_the_screens(page: Page, world: World, clients):
    base = OPS_BY_NAME[page.same_as]
    subjects = base.targets(world)
    got = {
        name: {t for t, obj in subjects.items() if page_attempt(page, clients[name], world, obj, name)}
        for name in ACTORS
    }
    expected = {
        name: set() if page.staff_only and name not in STAFF else base.allowed.get(name, set())
        for name in ACTORS
    }
    assert got == expected
