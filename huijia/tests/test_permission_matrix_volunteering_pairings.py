"""The permission matrix of unit–community pairings (结对共建): every role × every read and write of
pairings, coverage and a work unit's view of its members' service, through the services, the JSON API
and the HTML screens. Refused means NotFound or Forbidden with nothing written.

Who reaches what, in one line each: the organisation department (city) and the street (its own
communities) and the community committee (its own community) see, create and end pairings; a work
unit sees its own pairings and its own members' service, and nothing else; coverage is for those who
manage pairings, over their own area; the estate's branch secretary, building heads, members,
residents and outsiders reach none of it.
"""

from collections.abc import Iterator
from datetime import date

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from huijia.accounts.models import AuditLog, Notification
from huijia.core.testing import World
from huijia.orgs.models import WorkUnit
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
from huijia.volunteering.models import Pairing
from huijia.volunteering.pairing_selectors import coverage, pairing_for, pairings_for, unit_service
from huijia.volunteering.pairings import PairingInput, create_pairing, end_pairing

YEAR = 2026


def pairings_world() -> World:
    """The matrix world with pairings U1↔A1, U2↔A2 and U2↔B1, and a unit U3 paired with nobody."""
    w = matrix_world()
    w.units["u3"] = WorkUnit.objects.create(name="芙蓉区卫健局")
    w.pairings = {
        key: Pairing.objects.create(
            work_unit=w.units[unit], community=w.areas[key], starts_on=date(2025, 1, 1)
        )
        for key, unit in (("a1", "u1"), ("a2", "u2"), ("b1", "u2"))
    }
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(pairings_world, django_db_blocker)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker) -> dict[str, Client]:
    return signed_in_clients(world, django_db_blocker)


PAIRINGS = targets({k: (lambda w, k=k: w.pairings[k].pk) for k in ("a1", "a2", "b1")})
COMMUNITIES = targets({k: (lambda w, k=k: w.areas[k].pk) for k in ("a1", "a2", "b1")})
AREAS = targets(
    {k: (lambda w, k=k: w.areas[k].pk) for k in ("city", "district", "street_a", "street_b", "a1", "a2")}
)
UNITS = targets({k: (lambda w, k=k: w.units[k].pk) for k in ("u1", "u2")})

SEE = {
    "org_dept": {"a1", "a2", "b1"},
    "street_staff": {"a1", "a2"},
    "staff": {"a1"},
    "other_staff": {"a2"},
    "unit_organiser": {"a1"},  # its own unit's pairing
}
MANAGE = {name: seen for name, seen in SEE.items() if name != "unit_organiser"}
COVER = {
    "org_dept": {"city", "district", "street_a", "street_b", "a1", "a2"},
    "street_staff": {"street_a", "a1", "a2"},
    "staff": {"a1"},
    "other_staff": {"a2"},
}
UNIT = {"unit_organiser": {"u1"}}


def new_pairing(a, community_id, w):
    create_pairing(actor=a, data=PairingInput(work_unit_id=w.units["u3"].pk, community_id=community_id))


OPS = [
    Op("view a pairing", PAIRINGS, lambda a, pk, w: pairing_for(actor=a, pairing_id=pk), SEE),
    Op("list pairings", PAIRINGS, in_list(lambda a: pairings_for(actor=a)), SEE),
    Op("coverage of an area", AREAS, lambda a, pk, w: coverage(actor=a, area_id=pk), COVER),
    Op(
        "a unit's members' service",
        UNITS,
        lambda a, pk, w: unit_service(actor=a, work_unit_id=pk, year=YEAR),
        UNIT,
    ),
    Op("create a pairing", COMMUNITIES, new_pairing, MANAGE),
    Op("end a pairing", PAIRINGS, lambda a, pk, w: end_pairing(actor=a, pairing_id=pk), MANAGE),
]


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, world: World):
    assert reached_targets(op, world) == {name: op.allowed.get(name, set()) for name in ACTORS}


def stored() -> tuple:
    return (
        Pairing.objects.count(),
        Pairing.objects.filter(ended_at__isnull=False).count(),
        AuditLog.objects.count(),
        Notification.objects.count(),
    )


@pytest.mark.django_db
def test_refused_writes_store_nothing(world: World):
    before = stored()
    with transaction.atomic():
        try_refused(
            [op for op in OPS if op.name in ("create a pairing", "end a pairing")], world, must_raise=True
        )
        assert stored() == before
        transaction.set_rollback(True)


# --- the same through the JSON API and the HTML screens -----------------------------------------------


def _api(method: str, url: str, body: dict | None = None):
    def call(client: Client, pk) -> int:
        full = "/api/v1" + url.format(pk=pk)
        if method == "get":
            return client.get(full).status_code
        return client.post(full, body or {}, content_type="application/json").status_code

    return call


def _listed(client: Client, pk) -> int:
    response = client.get("/api/v1/volunteer/pairings?limit=100")
    if response.status_code != 200:
        return response.status_code
    items = response.json()["items"]
    return 200 if pk in {row["id"] for row in items} else 404


def _page(name: str, param: str | None = None, method: str = "get", **data):
    def call(client: Client, pk) -> int:
        if param is None:
            url = reverse(f"volunteering:{name}", args=[pk])
            return getattr(client, method)(url, data).status_code
        return client.get(reverse(f"volunteering:{name}"), {param: pk}).status_code

    return call


def _new_pairing_page(client: Client, pk) -> int:
    w = _new_pairing_page.world
    body = {"community": pk, "work_unit": w.units["u3"].pk, "starts_on": "2026-01-01"}
    response = client.post(reverse("volunteering:pairing_new"), body)
    if response.status_code == 400:  # the community is not among the form's choices: out of reach
        return 404
    return response.status_code


HTTP = [
    ("view a pairing", "API", _api("get", "/volunteer/pairings/{pk}")),
    ("list pairings", "API", _listed),
    ("coverage of an area", "API", _api("get", "/volunteer/pairings/coverage?area_id={pk}")),
    (
        "a unit's members' service",
        "API",
        _api("get", f"/volunteer/unit-service?work_unit_id={{pk}}&year={YEAR}"),
    ),
    ("end a pairing", "API", _api("post", "/volunteer/pairings/{pk}/end")),
    ("view a pairing", "HTML", _page("pairing")),
    ("coverage of an area", "HTML", _page("coverage", "area")),
    ("a unit's members' service", "HTML", _page("unit_service", "unit")),
    ("end a pairing", "HTML", _page("pairing_end", method="post")),
    ("create a pairing", "HTML", _new_pairing_page),
]
OPS_BY_NAME = {op.name: op for op in OPS}


@pytest.mark.django_db
@pytest.mark.parametrize(("same_as", "via", "call"), HTTP, ids=[f"{v} {n}" for n, v, _ in HTTP])
def test_permission_matrix_through_the_api_and_the_screens(same_as, via, call, world, clients):
    _new_pairing_page.world = world
    base = OPS_BY_NAME[same_as]
    got = {}
    for name in ACTORS:
        got[name] = set()
        for target, pk in base.targets(world).items():
            with transaction.atomic():
                status = call(clients[name], pk)
                transaction.set_rollback(True)
            if status in (401, 403, 404) or (via == "HTML" and status == 302 and name == "anonymous"):
                continue
            assert status < 400, (name, target, status)
            got[name].add(target)
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}


@pytest.mark.django_db
def test_creating_through_the_api(world, clients):
    """POST /volunteer/pairings reaches exactly the communities the service allows."""
    op = OPS_BY_NAME["create a pairing"]
    got = {}
    for name in ACTORS:
        got[name] = set()
        for target, pk in op.targets(world).items():
            with transaction.atomic():
                body = {"work_unit_id": world.units["u3"].pk, "community_id": pk}
                status = clients[name].post(
                    "/api/v1/volunteer/pairings", body, content_type="application/json"
                )
                transaction.set_rollback(True)
            if status.status_code in (401, 403, 404):
                continue
            assert status.status_code == 201, (name, target, status.content)
            got[name].add(target)
    assert got == {name: op.allowed.get(name, set()) for name in ACTORS}
