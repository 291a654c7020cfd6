"""The permission matrix of the three lists (三单管理): every role × every read and write × targets in
their own community, the sibling community A2 and the parent street, through the services, the JSON
API and the HTML screens. Refused means NotFound or Forbidden (401/403/404, or the sign-in page on the
screens) with nothing written; reached means the write happened or the row was shown.

Targets: needs on the estate of A1, on building 3 of A1 and on the estate of A2; service items of A1 and
A2 (claimed: by `member` and work unit U1 in A1, by `other_member` in A2) and unclaimed ones; teams of
A1 (led by `member`) and A2 (led by `other_member`); demands of A1 and A2.
"""

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from huijia.accounts.models import AuditLog
from huijia.core.errors import NotFound
from huijia.core.testing import World
from huijia.demands import list_selectors as lists
from huijia.demands import list_services as services
from huijia.demands.list_services import NeedInput, ServiceInput
from huijia.demands.models import (
    ClaimantKind,
    Demand,
    DemandSource,
    DemandStatus,
    Need,
    NeedKind,
    ServiceClaim,
    ServiceItem,
)
from huijia.members.models import Team, TeamMembership
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
from huijia.volunteering.models import Pairing

STAFF = {
    "org_dept",
    "street_staff",
    "staff",
    "other_staff",
    "estate_secretary",
    "building_head",
    "unit_organiser",
}


def _demand(w: World, community: str, where: str) -> Demand:
    return Demand.objects.create(
        area=w.areas[where],
        community=w.areas[community],
        estate=w.areas[f"{community}_estate"],
        description="下水道堵了",
        source=DemandSource.RESIDENT,
        status=DemandStatus.ACCEPTED,
    )


def _need(w: World, community: str, where: str) -> Need:
    return Need.objects.create(
        community=w.areas[community], area=w.areas[where], kind=NeedKind.COMMON, title=f"{where}的需求"
    )


def _item(w: World, community: str, title: str) -> ServiceItem:
    return ServiceItem.objects.create(community=w.areas[community], title=title, places=3)


def _claim(item: ServiceItem, **claimant) -> ServiceClaim:
    kind = ClaimantKind.MEMBER if "member" in claimant else ClaimantKind.WORK_UNIT
    return ServiceClaim.objects.create(item=item, kind=kind, **claimant)


def lists_world() -> World:
    w = matrix_world()
    team = Team.objects.create(
        community=w.areas["a2"], estate=w.areas["a2_estate"], building=w.areas["a2_bldg"], name="A2小组"
    )
    TeamMembership.objects.create(team=team, member=w.members["other_member"], is_leader=True)
    w.teams["a2_team"] = team
    w.needs = {
        k: _need(w, k[:2], where)
        for k, where in (("a1", "a1_estate"), ("a1_bldg", "a1_bldg"), ("a2", "a2_estate"))
    }
    w.demands = {k: _demand(w, k, f"{k}_bldg") for k in ("a1", "a2")}
    w.linked = {k: _demand(w, k, f"{k}_bldg2") for k in ("a1", "a2")}
    for k in ("a1", "a2"):
        w.needs[k].demands.add(w.linked[k])
    # U1 is paired with A1 (结对共建): the only community where it may claim services
    Pairing.objects.create(work_unit=w.units["u1"], community=w.areas["a1"], starts_on=date(2026, 1, 1))
    w.items = {k: _item(w, k, f"{k}的服务") for k in ("a1", "a2")}
    w.fresh = {k: _item(w, k, f"{k}的新服务") for k in ("a1", "a2")}
    w.claims = {
        "a1_member": _claim(w.items["a1"], member=w.members["member"]),
        "a1_unit": _claim(w.items["a1"], work_unit=w.units["u1"]),
        "a2_member": _claim(w.items["a2"], member=w.members["other_member"]),
    }
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(lists_world, django_db_blocker)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker) -> dict[str, Client]:
    return signed_in_clients(world, django_db_blocker)


COMMUNITIES = {
    "a1": lambda w: w.areas["a1"].pk,
    "a2": lambda w: w.areas["a2"].pk,
    "parent": lambda w: w.areas["street_a"].pk,
}
PLACES = {
    "a1": lambda w: w.areas["a1_estate"].pk,
    "a2": lambda w: w.areas["a2_estate"].pk,
    "parent": lambda w: w.areas["street_a"].pk,
}
NEEDS = {k: (lambda w, k=k: w.needs[k].pk) for k in ("a1", "a1_bldg", "a2")}
DEMANDS = {k: (lambda w, k=k: w.demands[k].pk) for k in ("a1", "a2")}
LINKS = {k: (lambda w, k=k: (w.needs[k].pk, w.demands[k].pk)) for k in ("a1", "a2")}
LINKED = {k: (lambda w, k=k: (w.needs[k].pk, w.linked[k].pk)) for k in ("a1", "a2")}
ITEMS = {k: (lambda w, k=k: w.items[k].pk) for k in ("a1", "a2")}
FRESH = {k: (lambda w, k=k: w.fresh[k].pk) for k in ("a1", "a2")}
TEAM_CLAIMS = {k: (lambda w, k=k: (w.fresh[k].pk, w.teams[f"{k}_team"].pk)) for k in ("a1", "a2")}
BUILDINGS = {k: (lambda w, k=k: w.areas[f"{k}_bldg"].pk) for k in ("a1", "a2")}
CLAIMS = {k: (lambda w, k=k: w.claims[k].pk) for k in ("a1_member", "a1_unit", "a2_member")}

PICK = {  # the communities an actor works in (the lists' community picker)
    **everyone(ALL_STAFF_A, {"a1", "a2"}),
    "staff": {"a1"},
    "other_staff": {"a2"},
    "estate_secretary": {"a1"},
    "building_head": {"a1"},
    "unit_organiser": {"a1"},  # where U1's member reports
}
EXPORT = {
    **everyone(ALL_STAFF_A, {"a1", "a2"}),
    "staff": {"a1"},
    "other_staff": {"a2"},
    "unit_organiser": {"a1"},
}
SEE_NEEDS = {
    **everyone(ALL_STAFF_A, set(NEEDS)),
    "staff": {"a1", "a1_bldg"},
    "other_staff": {"a2"},
    "estate_secretary": {"a1", "a1_bldg"},
    "building_head": {"a1_bldg"},
}
MANAGE_NEEDS = {"staff": {"a1", "a1_bldg"}, "other_staff": {"a2"}, "estate_secretary": {"a1", "a1_bldg"}}
MANAGE_A = {"staff": {"a1"}, "other_staff": {"a2"}, "estate_secretary": {"a1"}}
COMMUNITY_STAFF = {"staff": {"a1"}, "other_staff": {"a2"}}
SEE_ITEMS = {
    **everyone(ALL_STAFF_A, {"a1", "a2"}),
    "staff": {"a1"},
    "other_staff": {"a2"},
    "unit_organiser": {"a1"},
    "member": {"a1"},
    "other_member": {"a2"},
}
MEMBERS = {"member": {"a1"}, "other_member": {"a2"}}
WITHDRAW = {
    "staff": {"a1_member", "a1_unit"},
    "other_staff": {"a2_member"},
    "member": {"a1_member"},
    "other_member": {"a2_member"},
    "unit_organiser": {"a1_unit"},
}


def resources(a, pk, w):
    community = lists.list_community(actor=a, community_id=pk)
    return lists.resource_list(actor=a, community=community)


def export(a, pk, w):
    community = lists.list_community(actor=a, community_id=pk)
    return services.export_resources(actor=a, community=community, dest=io.BytesIO())


def my_list(a, pk, w):
    if pk not in {i.pk for i in lists.my_services(actor=a).items}:
        raise NotFound()


def item_input(title: str = "服务") -> ServiceInput:
    return ServiceInput(title=title, places=3)


OPS = [
    Op(
        "open a community's lists",
        targets(COMMUNITIES),
        lambda a, pk, w: lists.list_community(actor=a, community_id=pk),
        PICK,
    ),
    Op("view the resource list", targets(COMMUNITIES), resources, PICK),
    Op("export the resource list", targets(COMMUNITIES), export, EXPORT),
    Op("list needs", targets(NEEDS), in_list(lambda a: lists.needs_for(actor=a)), SEE_NEEDS),
    Op("view a need", targets(NEEDS), lambda a, pk, w: lists.need_for(actor=a, need_id=pk), SEE_NEEDS),
    Op(
        "propose members for a need",
        targets(NEEDS),
        lambda a, pk, w: lists.need_matches(actor=a, need_id=pk),
        SEE_NEEDS,
    ),
    Op(
        "pick a household for a need",
        targets(BUILDINGS),
        lambda a, pk, w: lists.need_households(actor=a, building_id=pk),
        MANAGE_A,
    ),
    Op(
        "create a need by hand",
        targets(PLACES),
        lambda a, pk, w: services.create_need(actor=a, data=NeedInput(title="需要", area_id=pk)),
        MANAGE_A,
    ),
    Op(
        "create a need from a demand",
        targets(DEMANDS),
        lambda a, pk, w: services.create_need(actor=a, data=NeedInput(demand_ids=(pk,))),
        MANAGE_A,
    ),
    Op(
        "change a need's status",
        targets(NEEDS),
        lambda a, pk, w: services.set_need_status(actor=a, need_id=pk, status="met"),
        MANAGE_NEEDS,
    ),
    Op(
        "file a demand under a need",
        targets(LINKS),
        lambda a, nd, w: services.link_demands(actor=a, need_id=nd[0], demand_ids=[nd[1]]),
        MANAGE_A,
    ),
    Op(
        "take a demand out of a need",
        targets(LINKED),
        lambda a, nd, w: services.unlink_demand(actor=a, need_id=nd[0], demand_id=nd[1]),
        MANAGE_A,
    ),
    Op("list service items", targets(ITEMS), in_list(lambda a: lists.services_for(actor=a)), SEE_ITEMS),
    Op(
        "view a service item",
        targets(ITEMS),
        lambda a, pk, w: lists.service_for(actor=a, item_id=pk),
        SEE_ITEMS,
    ),
    Op("my service list", targets(FRESH), my_list, MEMBERS),
    Op(
        "publish a service item",
        targets(COMMUNITIES),
        lambda a, pk, w: services.publish_service(actor=a, data=ServiceInput(community_id=pk, title="服务")),
        COMMUNITY_STAFF,
    ),
    Op(
        "change a service item",
        targets(ITEMS),
        lambda a, pk, w: services.update_service(actor=a, item_id=pk, data=item_input()),
        COMMUNITY_STAFF,
    ),
    Op(
        "finish a service item",
        targets(ITEMS),
        lambda a, pk, w: services.finish_service(actor=a, item_id=pk),
        COMMUNITY_STAFF,
    ),
    Op(
        "take a service item down",
        targets(ITEMS),
        lambda a, pk, w: services.take_down_service(actor=a, item_id=pk),
        COMMUNITY_STAFF,
    ),
    Op(
        "claim as a member",
        targets(FRESH),
        lambda a, pk, w: services.claim_service(actor=a, item_id=pk),
        MEMBERS,
    ),
    Op(
        "claim for a team",
        targets(TEAM_CLAIMS),
        lambda a, it, w: services.claim_service(actor=a, item_id=it[0], kind="team", team_id=it[1]),
        {"staff": {"a1"}, "other_staff": {"a2"}, "member": {"a1"}, "other_member": {"a2"}},
    ),
    Op(
        "claim for a work unit",
        targets(FRESH),
        lambda a, pk, w: services.claim_service(actor=a, item_id=pk, kind="work_unit"),
        {"unit_organiser": {"a1"}},
    ),
    Op(
        "withdraw a claim",
        targets(CLAIMS),
        lambda a, pk, w: services.withdraw_claim(actor=a, claim_id=pk),
        WITHDRAW,
    ),
]
OPS_BY_NAME = {op.name: op for op in OPS}


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, world: World):
    assert reached_targets(op, world) == {name: op.allowed.get(name, set()) for name in ACTORS}


def state() -> tuple:
    return (
        tuple(Need.objects.order_by("pk").values_list("pk", "status", "title")),
        tuple(Need.demands.through.objects.order_by("pk").values_list("need_id", "demand_id")),
        tuple(ServiceItem.objects.order_by("pk").values_list("pk", "status", "places", "title")),
        tuple(ServiceClaim.objects.order_by("pk").values_list("pk", "withdrawn_at")),
        AuditLog.objects.count(),
    )


@pytest.mark.django_db
def test_refused_writes_store_nothing(world: World):
    before = state()
    try_refused(OPS, world)
    assert state() == before


# --- the JSON API ---------------------------------------------------------------------------------


def _api(name: str, method: str, url: Callable, body: Callable | None = None, listed: bool = False):
    return (HttpOp(name, method, url, listed=listed), body)


API_OPS = [
    _api("view the resource list", "get", lambda pk: f"/api/v1/lists/resources?community_id={pk}"),
    _api("list needs", "get", lambda pk: "/api/v1/lists/needs?limit=100", listed=True),
    _api("propose members for a need", "get", lambda pk: f"/api/v1/lists/needs/{pk}/matches"),
    _api(
        "create a need by hand",
        "post",
        lambda pk: "/api/v1/lists/needs",
        lambda pk: {"title": "需要", "area_id": pk},
    ),
    _api(
        "create a need from a demand",
        "post",
        lambda pk: "/api/v1/lists/needs",
        lambda pk: {"demand_ids": [pk]},
    ),
    _api(
        "change a need's status",
        "post",
        lambda pk: f"/api/v1/lists/needs/{pk}/status",
        lambda pk: {"status": "met"},
    ),
    _api(
        "file a demand under a need",
        "post",
        lambda nd: f"/api/v1/lists/needs/{nd[0]}/link",
        lambda nd: {"demand_ids": [nd[1]]},
    ),
    _api(
        "take a demand out of a need",
        "post",
        lambda nd: f"/api/v1/lists/needs/{nd[0]}/unlink",
        lambda nd: {"demand_id": nd[1]},
    ),
    _api("list service items", "get", lambda pk: "/api/v1/lists/services?limit=100", listed=True),
    _api(
        "publish a service item",
        "post",
        lambda pk: "/api/v1/lists/services",
        lambda pk: {"community_id": pk, "title": "服务"},
    ),
    _api("finish a service item", "post", lambda pk: f"/api/v1/lists/services/{pk}/done", lambda pk: {}),
    _api(
        "take a service item down", "post", lambda pk: f"/api/v1/lists/services/{pk}/take-down", lambda pk: {}
    ),
    _api("claim as a member", "post", lambda pk: f"/api/v1/lists/services/{pk}/claim", lambda pk: {}),
    _api(
        "claim for a team",
        "post",
        lambda it: f"/api/v1/lists/services/{it[0]}/claim",
        lambda it: {"kind": "team", "team_id": it[1]},
    ),
    _api(
        "claim for a work unit",
        "post",
        lambda pk: f"/api/v1/lists/services/{pk}/claim",
        lambda pk: {"kind": "work_unit"},
    ),
    _api("withdraw a claim", "post", lambda pk: f"/api/v1/lists/claims/{pk}/withdraw", lambda pk: {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("op", "body"),
    API_OPS,
    ids=[f"API {op.method.upper()} {op.same_as}" for op, _body in API_OPS],
)
def test_permission_matrix_through_the_api(op: HttpOp, body, world: World, clients):
    base = OPS_BY_NAME[op.same_as]
    subjects = base.targets(world)

    def attempt(client, target) -> bool:
        one = HttpOp(op.same_as, op.method, op.url, body(target) if body else None, op.listed)
        return http_attempt(client, one, target)

    got = {name: {t for t, obj in subjects.items() if attempt(clients[name], obj)} for name in ACTORS}
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


def shown(marker: str) -> Callable[[object, World, object], bool]:
    return lambda r, w, t: r.status_code == 200 and marker in html(r)


def community_of(w: World, area_id: int) -> int:
    """The community whose form a place is posted from (the street: A1's, which the form refuses)."""
    return w.areas["a2"].pk if area_id == w.areas["a2_estate"].pk else w.areas["a1"].pk


def url(name: str, *args) -> str:
    return reverse(f"demands:{name}", args=args)


PAGES = [
    Page(
        "GET resource list",
        "open a community's lists",
        lambda c, w, pk: c.get(url("lists_resources") + f"?community={pk}"),
        shown("资源清单："),
    ),
    Page(
        "GET need list",
        "open a community's lists",
        lambda c, w, pk: c.get(url("lists_needs") + f"?community={pk}"),
        shown("需求清单："),
    ),
    Page(
        "GET service list",
        "open a community's lists",
        lambda c, w, pk: c.get(url("lists_services") + f"?community={pk}"),
        shown("服务清单："),
    ),
    Page(
        "POST resource export",
        "export the resource list",
        lambda c, w, pk: c.post(url("lists_resources_export"), {"community": pk}),
        lambda r, w, pk: (
            r.status_code == 200 and r.get("Content-Type", "").startswith("application/vnd.openxml")
        ),
    ),
    Page(
        "GET need list rows",
        "list needs",
        lambda c, w, pk: c.get(url("lists_needs") + f"?community={Need.objects.get(pk=pk).community_id}"),
        lambda r, w, pk: f'id="need-{pk}"' in html(r),
        listed=True,
    ),
    Page(
        "GET need page", "view a need", lambda c, w, pk: c.get(url("lists_need", pk)), shown('id="matches"')
    ),
    Page(
        "GET household picker",
        "pick a household for a need",
        lambda c, w, pk: c.get(url("lists_need_households") + f"?place={pk}"),
        lambda r, w, pk: "1单元101室" in html(r),
        listed=True,
    ),
    Page(
        "POST need by hand",
        "create a need by hand",
        lambda c, w, pk: c.post(
            url("lists_need_new"), {"community": community_of(w, pk), "title": "需要", "place": pk}
        ),
        lambda r, w, pk: Need.objects.filter(area_id=pk, title="需要").exists(),
    ),
    Page(
        "POST need from a demand",
        "create a need from a demand",
        lambda c, w, pk: c.post(
            url("lists_need_new"),
            {"community": Demand.objects.get(pk=pk).community_id, "demand_ids": str(pk)},
        ),
        lambda r, w, pk: Need.objects.filter(demands=pk).exists(),
    ),
    Page(
        "POST need status",
        "change a need's status",
        lambda c, w, pk: c.post(url("lists_need_status", pk), {"status": "met"}),
        lambda r, w, pk: Need.objects.get(pk=pk).status == "met",
    ),
    Page(
        "POST file a demand",
        "file a demand under a need",
        lambda c, w, nd: c.post(url("lists_need_link", nd[0]), {"demands": [nd[1]]}),
        lambda r, w, nd: Need.objects.filter(pk=nd[0], demands=nd[1]).exists(),
    ),
    Page(
        "POST take a demand out",
        "take a demand out of a need",
        lambda c, w, nd: c.post(url("lists_need_unlink", nd[0], nd[1])),
        lambda r, w, nd: not Need.objects.filter(pk=nd[0], demands=nd[1]).exists(),
    ),
    Page(
        "GET service list rows",
        "list service items",
        lambda c, w, pk: c.get(
            url("lists_services") + f"?community={ServiceItem.objects.get(pk=pk).community_id}"
        ),
        lambda r, w, pk: f'id="item-{pk}"' in html(r),
        listed=True,
    ),
    Page(
        "GET service item page",
        "view a service item",
        lambda c, w, pk: c.get(url("lists_service", pk)),
        shown('id="claims"'),
    ),
    Page(
        "GET my service list (phone)",
        "my service list",
        lambda c, w, pk: c.get(url("lists_my_services")),
        lambda r, w, pk: f'id="item-{pk}"' in html(r),
        staff_only=False,
        listed=True,
    ),
    Page(
        "POST publish a service item",
        "publish a service item",
        lambda c, w, pk: c.post(
            url("lists_service_new"), {"community": pk, "title": "新服务", "places": "2"}
        ),
        lambda r, w, pk: ServiceItem.objects.filter(community_id=pk, title="新服务").exists(),
    ),
    Page(
        "POST change a service item",
        "change a service item",
        lambda c, w, pk: c.post(url("lists_service_edit", pk), {"title": "改过的服务", "places": "3"}),
        lambda r, w, pk: ServiceItem.objects.get(pk=pk).title == "改过的服务",
    ),
    Page(
        "POST finish a service item",
        "finish a service item",
        lambda c, w, pk: c.post(url("lists_service_done", pk)),
        lambda r, w, pk: ServiceItem.objects.get(pk=pk).status == "done",
    ),
    Page(
        "POST take a service item down",
        "take a service item down",
        lambda c, w, pk: c.post(url("lists_service_take_down", pk)),
        lambda r, w, pk: ServiceItem.objects.get(pk=pk).status == "withdrawn",
    ),
    Page(
        "POST claim as a member (phone)",
        "claim as a member",
        lambda c, w, pk: c.post(url("lists_my_claim", pk), {"kind": "member"}),
        lambda r, w, pk: ServiceClaim.objects.filter(item_id=pk, kind="member").exists(),
        staff_only=False,
    ),
    Page(
        "POST claim for a team (phone)",
        "claim for a team",
        lambda c, w, it: c.post(url("lists_my_claim", it[0]), {"kind": "team", "team": it[1]}),
        lambda r, w, it: ServiceClaim.objects.filter(item_id=it[0], team_id=it[1]).exists(),
        staff_only=False,
    ),
    Page(
        "POST claim for a team (console)",
        "claim for a team",
        lambda c, w, it: c.post(url("lists_service_claim", it[0]), {"kind": "team", "team": it[1]}),
        lambda r, w, it: ServiceClaim.objects.filter(item_id=it[0], team_id=it[1]).exists(),
    ),
    Page(
        "POST claim for a work unit (console)",
        "claim for a work unit",
        lambda c, w, pk: c.post(
            url("lists_service_claim", pk), {"kind": "work_unit", "work_unit": w.units["u1"].pk}
        ),
        lambda r, w, pk: ServiceClaim.objects.filter(item_id=pk, kind="work_unit").exists(),
    ),
    Page(
        "POST withdraw a claim (phone)",
        "withdraw a claim",
        lambda c, w, pk: c.post(url("lists_my_withdraw", pk)),
        lambda r, w, pk: ServiceClaim.objects.get(pk=pk).withdrawn_at is not None,
        staff_only=False,
    ),
    Page(
        "POST withdraw a claim (console)",
        "withdraw a claim",
        lambda c, w, pk: c.post(url("lists_claim_withdraw", pk)),
        lambda r, w, pk: ServiceClaim.objects.get(pk=pk).withdrawn_at is not None,
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
