"""The permission matrix of door-knocking campaigns (敲门行动): every role × every read and write ×
the campaign of their own community and of the sibling community, through the services, the JSON API
and the HTML screens. Refused means NotFound or Forbidden (403/404 on the screens) with nothing written.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from huijia.accounts.models import AuditLog
from huijia.core.errors import NotFound
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
from huijia.visits import campaign_selectors as selectors
from huijia.visits.campaign_services import (
    Selection,
    close_campaign,
    export_campaign,
    record_outcome,
    start_campaign,
)
from huijia.visits.models import Campaign, CampaignHousehold, Outcome


def campaign_world() -> World:
    w = matrix_world()
    for community, staff in (("a1", "staff"), ("a2", "other_staff")):
        campaign = start_campaign(
            actor=w.actor(staff),
            community_id=w.areas[community].pk,
            name=f"{community}敲门",
            selection=Selection(),
        )
        w.registrations[f"campaign_{community}"] = campaign  # kept with the world's named rows
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(campaign_world, django_db_blocker)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker) -> dict[str, Client]:
    return signed_in_clients(world, django_db_blocker)


def campaign(w: World, community: str) -> Campaign:
    return w.registrations[f"campaign_{community}"]


CAMPAIGNS = {"a1": lambda w: campaign(w, "a1").pk, "a2": lambda w: campaign(w, "a2").pk}
COMMUNITIES = {"a1": lambda w: w.areas["a1"].pk, "a2": lambda w: w.areas["a2"].pk}
DOORS = {  # (campaign, household)
    "a1_zone": lambda w: (campaign(w, "a1").pk, w.households["a1_101"].pk),  # member's team zone
    "a1_unzoned": lambda w: (campaign(w, "a1").pk, w.households["a1_bldg2_101"].pk),  # held by nobody
    "a2_linked": lambda w: (campaign(w, "a2").pk, w.households["a2_101"].pk),  # other_member's link
}
SEE = {  # who sees a campaign: its community's viewers, and whoever sees one of its households
    **everyone(ALL_STAFF_A, {"a1", "a2"}),
    "staff": {"a1"},
    "other_staff": {"a2"},
    "estate_secretary": {"a1"},
    "building_head": {"a1"},
    "member": {"a1"},
    "other_member": {"a2"},
}
RECORD = {
    "staff": {"a1_zone", "a1_unzoned"},
    "other_staff": {"a2_linked"},
    "estate_secretary": {"a1_zone", "a1_unzoned"},
    "building_head": {"a1_zone"},
    "member": {"a1_zone"},
    "other_member": {"a2_linked"},
}
MANAGE = {"staff": {"a1"}, "other_staff": {"a2"}}
EXPORT = {**everyone(ALL_STAFF_A, {"a1", "a2"}), "staff": {"a1"}, "other_staff": {"a2"}}


def in_share(a, door, w) -> None:
    campaign_id, household_id = door
    if not selectors.share_for(actor=a, campaign_id=campaign_id).filter(household_id=household_id).exists():
        raise NotFound()


def export(a, pk, w) -> None:
    import io

    export_campaign(actor=a, campaign_id=pk, dest=io.BytesIO())


OPS = [
    Op(
        "view campaign progress",
        targets(CAMPAIGNS),
        lambda a, pk, w: selectors.campaign_progress(actor=a, campaign_id=pk),
        SEE,
    ),
    Op("list campaigns", targets(CAMPAIGNS), in_list(lambda a: selectors.campaigns_for(actor=a)), SEE),
    Op(
        "start campaign",
        targets(COMMUNITIES),
        lambda a, pk, w: start_campaign(actor=a, community_id=pk, name="新行动", selection=Selection()),
        MANAGE,
    ),
    Op("list my share", targets(DOORS), in_share, RECORD),
    Op(
        "record outcome",
        targets(DOORS),
        lambda a, door, w: record_outcome(
            actor=a, campaign_id=door[0], household_id=door[1], outcome=Outcome.DONE, answers=[]
        ),
        RECORD,
    ),
    Op(
        "close campaign", targets(CAMPAIGNS), lambda a, pk, w: close_campaign(actor=a, campaign_id=pk), MANAGE
    ),
    Op("export campaign", targets(CAMPAIGNS), export, EXPORT),
]
OPS_BY_NAME = {op.name: op for op in OPS}


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, world: World):
    assert reached_targets(op, world) == {name: op.allowed.get(name, set()) for name in ACTORS}


def state() -> tuple:
    return (
        tuple(Campaign.objects.order_by("pk").values_list("pk", "closed_at")),
        tuple(CampaignHousehold.objects.order_by("pk").values_list("pk", "outcome", "updated_by_id")),
        AuditLog.objects.count(),
    )


@pytest.mark.django_db
def test_refused_writes_store_nothing(world: World):
    before = state()
    try_refused(OPS, world)
    assert state() == before


# --- the JSON API ---------------------------------------------------------------------------------

API_OPS = [
    HttpOp("view campaign progress", "get", lambda pk: f"/api/v1/campaigns/{pk}"),
    HttpOp("list campaigns", "get", lambda pk: "/api/v1/campaigns?limit=100", listed=True),
    HttpOp("start campaign", "post", lambda pk: "/api/v1/campaigns", None),  # body per target below
    HttpOp(
        "record outcome",
        "post",
        lambda door: f"/api/v1/campaigns/{door[0]}/households/{door[1]}/outcome",
        {"outcome": "done"},
    ),
    HttpOp("close campaign", "post", lambda pk: f"/api/v1/campaigns/{pk}/close", {}),
    HttpOp("export campaign", "get", lambda pk: f"/api/v1/campaigns/{pk}/export"),
]


def api_attempt(client, op: HttpOp, target) -> bool:
    if op.same_as == "start campaign":
        body = {"community_id": target, "name": "新行动"}
        op = HttpOp(op.same_as, "post", op.url, body)
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
    """A screen; `done` says whether the target was shown (a read) or the write happened."""

    name: str
    same_as: str
    send: Callable[[Client, object], object]
    done: Callable[[object, object], bool]
    staff_only: bool = False  # a console screen: members use their phone pages
    listed: bool = False  # a list: an ordinary answer (200) that leaves the target out is a refusal too


def outcome_of(door) -> str:
    return CampaignHousehold.objects.get(campaign_id=door[0], household_id=door[1]).outcome


PAGES = [
    Page(
        "GET progress page",
        "view campaign progress",
        lambda c, pk: c.get(reverse("campaigns:detail", args=[pk])),
        lambda r, pk: r.status_code == 200 and 'id="progress"' in r.content.decode(),
        staff_only=True,
    ),
    Page(
        "GET campaign list",
        "list campaigns",
        lambda c, pk: c.get(reverse("campaigns:list")),
        lambda r, pk: f'id="campaign-{pk}"' in r.content.decode(),
        staff_only=True,
        listed=True,
    ),
    Page(
        "GET my share (phone)",
        "list my share",
        lambda c, door: c.get(reverse("campaigns:share", args=[door[0]])),
        lambda r, door: f'id="door-{door[1]}"' in r.content.decode(),
        listed=True,
    ),
    Page(
        "GET outcome form (phone)",
        "list my share",
        lambda c, door: c.get(reverse("campaigns:record", args=door)),
        lambda r, door: r.status_code == 200 and 'name="outcome"' in r.content.decode(),
    ),
    Page(
        "POST outcome (phone)",
        "record outcome",
        lambda c, door: c.post(reverse("campaigns:record", args=door), {"outcome": "done"}),
        lambda r, door: outcome_of(door) == Outcome.DONE,
    ),
    Page(
        "POST close",
        "close campaign",
        lambda c, pk: c.post(reverse("campaigns:close", args=[pk])),
        lambda r, pk: Campaign.objects.get(pk=pk).closed_at is not None,
        staff_only=True,
    ),
    Page(
        "POST export",
        "export campaign",
        lambda c, pk: c.post(reverse("campaigns:export", args=[pk])),
        lambda r, pk: (
            r.status_code == 200 and r.get("Content-Type", "").startswith("application/vnd.openxml")
        ),
        staff_only=True,
    ),
]
STAFF = {
    "org_dept",
    "street_staff",
    "staff",
    "other_staff",
    "estate_secretary",
    "building_head",
    "unit_organiser",
}


def page_attempt(page: Page, client: Client, target, who: str) -> bool:
    before = state()
    with transaction.atomic():
        response = page.send(client, target)
        reached = page.done(response, target)
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
        name: {t for t, obj in subjects.items() if page_attempt(page, clients[name], obj, name)}
        for name in ACTORS
    }
    expected = {
        name: set() if page.staff_only and name not in STAFF else base.allowed.get(name, set())
        for name in ACTORS
    }
    assert got == expected
