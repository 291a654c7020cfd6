"""The writes of the three lists: needs from demands or by hand, service items, claims within places.

After each step the tests look at what a user relies on: the list rows, the links between needs,
demands and items, who was told, and the audit trail. Refused and bad steps store nothing.
"""

import threading
import time
from io import BytesIO

import pytest
from django.db import OperationalError, connection
from openpyxl import load_workbook

from huijia.accounts.models import AuditLog, Notification
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import build_world
from huijia.demands import list_services as services
from huijia.demands.list_services import NeedInput, ServiceInput
from huijia.demands.models import (
    ClaimantKind,
    DemandStatus,
    Need,
    NeedKind,
    NeedStatus,
    ServiceClaim,
    ServiceItem,
    ServiceItemStatus,
)
from huijia.demands.tests.test_lists_fixtures import claim, demand, item, need, paired, reporting
from huijia.members.models import TeamMembership


def state() -> tuple:
    return (
        tuple(Need.objects.order_by("pk").values_list("pk", "status", "title")),
        tuple(Need.demands.through.objects.order_by("pk").values_list("need_id", "demand_id")),
        tuple(ServiceItem.objects.order_by("pk").values_list("pk", "status", "places", "title")),
        tuple(ServiceClaim.objects.order_by("pk").values_list("pk", "withdrawn_at")),
        AuditLog.objects.count(),
    )


# --- needs -------------------------------------------------------------------------------------------


def test_a_common_need_gathered_from_demands_of_one_estate(world):
    ds = [demand(world, "a1_bldg"), demand(world, "a1_bldg2"), demand(world, "a1_estate")]
    need_ = services.create_need(
        actor=world.actor("staff"), data=NeedInput(demand_ids=tuple(d.pk for d in ds))
    )
    assert need_.kind == NeedKind.COMMON
    assert need_.area == world.areas["a1_estate"]  # all in one estate: the need sits on the estate
    assert need_.community == world.areas["a1"]
    assert need_.category.code == "drain"  # the demands' common category
    assert need_.title == "识字岭社区幸福小区下水道堵塞（3件诉求）"
    assert sorted(need_.demands.values_list("pk", flat=True)) == sorted(d.pk for d in ds)
    log = AuditLog.objects.get(action="need.create")
    assert log.detail["demands"] == sorted(d.pk for d in ds)


def test_one_households_demand_becomes_an_individual_need(world):
    d = demand(world, household="a1_201", code="elderly", text="老人行动不便，想有人陪着去医院")
    need_ = services.create_need(actor=world.actor("estate_secretary"), data=NeedInput(demand_ids=(d.pk,)))
    assert need_.kind == NeedKind.INDIVIDUAL
    assert need_.household == world.households["a1_201"]
    assert need_.area == world.areas["a1_bldg"]
    assert need_.title == "3栋 1单元201室：养老助残"


def test_a_need_by_hand_for_a_place_or_a_household(world):
    staff = world.actor("staff")
    common = services.create_need(
        actor=staff,
        data=NeedInput(title="楼道照明不足", category_code="streetlight", area_id=world.areas["a1_bldg"].pk),
    )
    assert (common.kind, common.area, common.household) == (NeedKind.COMMON, world.areas["a1_bldg"], None)
    one = services.create_need(
        actor=staff, data=NeedInput(title="独居老人助餐", household_id=world.households["a1_202"].pk)
    )
    assert one.kind == NeedKind.INDIVIDUAL
    assert one.area == world.areas["a1_bldg"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (NeedInput(title="需要", area_id=None), "area_id"),
        (NeedInput(title="", area_id=None), "title"),
        (NeedInput(title="   ", area_id=-1), None),  # an unknown place is simply not found
        (NeedInput(title="x" * 101, area_id="a1"), "title"),
        (NeedInput(title="", area_id="a1"), "title"),
        (NeedInput(title="需要", area_id="a1", category_code="nope"), "category"),
        (NeedInput(title="需要", area_id="a1", kind="individual"), "household_id"),
        (NeedInput(title="需要", area_id="a1", kind="weird"), "kind"),
        (NeedInput(title="需要", area_id="a1", description="长" * 2001), "description"),
    ],
)
def test_bad_need_input_is_refused_with_a_clear_message(world, data, field):
    if isinstance(data.area_id, str):
        data = NeedInput(**{**data.__dict__, "area_id": world.areas[data.area_id].pk})
    before = state()
    with pytest.raises((InvalidInput, NotFound)) as caught:
        services.create_need(actor=world.actor("staff"), data=data)
    if field:
        assert isinstance(caught.value, InvalidInput)
        assert field in caught.value.fields
        assert caught.value.message
    assert state() == before


def test_demands_of_two_communities_make_no_need(world):
    a1, a2 = demand(world, "a1_bldg"), demand(world, "a2_bldg")
    with pytest.raises(NotFound):  # community staff of A1 do not see A2's demand at all
        services.create_need(actor=world.actor("staff"), data=NeedInput(demand_ids=(a1.pk, a2.pk)))
    with pytest.raises(Forbidden):  # the city's organisation department sees both, manages neither
        services.create_need(actor=world.actor("org_dept"), data=NeedInput(demand_ids=(a1.pk, a2.pk)))
    assert Need.objects.count() == 0


def test_a_branch_secretary_cannot_gather_demands_outside_their_estate(world):
    elsewhere = demand(world, "a1")  # on the community itself, above the estate: out of their sight
    with pytest.raises(NotFound):
        services.create_need(
            actor=world.actor("estate_secretary"), data=NeedInput(demand_ids=(elsewhere.pk,))
        )
    with pytest.raises(Forbidden):
        services.create_need(
            actor=world.actor("street_staff"), data=NeedInput(title="需要", area_id=world.areas["a1"].pk)
        )


def test_status_moves_both_ways_and_the_same_status_is_a_conflict(world):
    n = need(world, "a1_bldg")
    staff = world.actor("staff")
    assert services.set_need_status(actor=staff, need_id=n.pk, status="serving").status == NeedStatus.SERVING
    assert services.set_need_status(actor=staff, need_id=n.pk, status="open").status == NeedStatus.OPEN
    with pytest.raises(Conflict):
        services.set_need_status(actor=staff, need_id=n.pk, status="open")
    with pytest.raises(InvalidInput):
        services.set_need_status(actor=staff, need_id=n.pk, status="finished")
    with pytest.raises(Forbidden):  # the building head sees the need, but needs are not theirs to manage
        services.set_need_status(actor=world.actor("building_head"), need_id=n.pk, status="met")
    assert [a.detail["after"] for a in AuditLog.objects.filter(action="need.status").order_by("pk")] == [
        "serving",
        "open",
    ]


def test_link_and_unlink_demands(world):
    n = need(world)
    d1, d2 = demand(world), demand(world, "a1_bldg2")
    staff = world.actor("staff")
    services.link_demands(actor=staff, need_id=n.pk, demand_ids=[d1.pk, d2.pk])
    assert set(n.demands.values_list("pk", flat=True)) == {d1.pk, d2.pk}
    with pytest.raises(Conflict):
        services.link_demands(actor=staff, need_id=n.pk, demand_ids=[d1.pk])
    with pytest.raises(NotFound):
        services.link_demands(actor=staff, need_id=n.pk, demand_ids=[demand(world, "a2_bldg").pk])
    with pytest.raises(InvalidInput):
        services.link_demands(actor=staff, need_id=n.pk, demand_ids=[])
    services.unlink_demand(actor=staff, need_id=n.pk, demand_id=d1.pk)
    assert list(n.demands.values_list("pk", flat=True)) == [d2.pk]
    d1.refresh_from_db()
    assert d1.status == DemandStatus.ACCEPTED  # the demand itself is untouched
    with pytest.raises(NotFound):
        services.unlink_demand(actor=staff, need_id=n.pk, demand_id=d1.pk)


# --- service items ------------------------------------------------------------------------------------


def test_publish_an_item_for_needs_of_the_community(world):
    n = need(world)
    it = services.publish_service(
        actor=world.actor("staff"),
        data=ServiceInput(
            community_id=world.areas["a1"].pk,
            title="周末上门疏通",
            category_code="drain",
            places=3,
            need_ids=(n.pk,),
        ),
    )
    assert (it.status, it.places, it.community) == (ServiceItemStatus.PUBLISHED, 3, world.areas["a1"])
    assert list(it.needs.all()) == [n]
    assert AuditLog.objects.filter(action="service.publish", target_id=str(it.pk)).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 101}, "title"),
        ({"places": 0}, "places"),
        ({"places": 201}, "places"),
        ({"category_code": "nope"}, "category"),
    ],
)
def test_bad_item_input_is_refused(world, changes, field):
    data = {"community_id": world.areas["a1"].pk, "title": "上门理发", "places": 2, **changes}
    before = state()
    with pytest.raises(InvalidInput) as caught:
        services.publish_service(actor=world.actor("staff"), data=ServiceInput(**data))
    assert field in caught.value.fields
    assert state() == before


def test_items_are_published_by_the_community_only(world):
    other = need(world, "a2_estate")
    with pytest.raises(NotFound):  # a need of another community cannot be linked
        services.publish_service(
            actor=world.actor("staff"),
            data=ServiceInput(community_id=world.areas["a1"].pk, title="服务", need_ids=(other.pk,)),
        )
    with pytest.raises(NotFound):  # the branch secretary manages their estate's needs, not community items
        services.publish_service(
            actor=world.actor("estate_secretary"),
            data=ServiceInput(community_id=world.areas["a1"].pk, title="t"),
        )
    with pytest.raises(Forbidden):  # street staff see the community, but publish nothing
        services.publish_service(
            actor=world.actor("street_staff"), data=ServiceInput(community_id=world.areas["a1"].pk, title="t")
        )
    with pytest.raises(InvalidInput):  # items belong to a community, not to an estate
        services.publish_service(
            actor=world.actor("staff"), data=ServiceInput(community_id=world.areas["a1_estate"].pk, title="t")
        )
    assert ServiceItem.objects.count() == 0


def test_places_never_drop_below_the_claims(world):
    it = item(world, places_=3)
    claim(it, member=world.members["member"])
    claim(it, unit=world.units["u1"])
    staff = world.actor("staff")
    services.update_service(actor=staff, item_id=it.pk, data=ServiceInput(title="上门疏通", places=2))
    it.refresh_from_db()
    assert (it.title, it.places, it.status) == ("上门疏通", 2, ServiceItemStatus.CLAIMED)  # now full
    with pytest.raises(InvalidInput) as caught:
        services.update_service(actor=staff, item_id=it.pk, data=ServiceInput(title="上门疏通", places=1))
    assert caught.value.code == "below_claims"
    services.update_service(actor=staff, item_id=it.pk, data=ServiceInput(title="上门疏通", places=5))
    it.refresh_from_db()
    assert it.status == ServiceItemStatus.PUBLISHED  # places again


# --- claims -------------------------------------------------------------------------------------------


def test_a_member_claims_within_the_places_and_not_twice(world, django_capture_on_commit_callbacks):
    it = item(world, places_=2)
    me = world.actor("member")
    with django_capture_on_commit_callbacks(execute=True):
        c = services.claim_service(actor=me, item_id=it.pk)
    assert (c.kind, c.member) == (ClaimantKind.MEMBER, world.members["member"])
    it.refresh_from_db()
    assert it.status == ServiceItemStatus.PUBLISHED  # one place left
    with pytest.raises(Conflict) as twice:
        services.claim_service(actor=me, item_id=it.pk)
    assert twice.value.code == "already_claimed"
    neighbour = reporting(world, "neighbour", "周华", "a1_202", user=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_service(actor=world.actor("neighbour"), item_id=it.pk)
    it.refresh_from_db()
    assert it.status == ServiceItemStatus.CLAIMED
    late = reporting(world, "late", "吴刚", "a1_bldg2_101", user=True)
    with pytest.raises(Conflict) as full:
        services.claim_service(actor=world.actor("late"), item_id=it.pk)
    assert full.value.code == "full"
    assert ServiceClaim.objects.filter(item=it, withdrawn_at=None).count() == 2
    assert {neighbour.pk, world.members["member"].pk} == set(
        ServiceClaim.objects.filter(item=it).values_list("member_id", flat=True)
    )
    assert late.pk
    # the community staff who published it were told
    assert (
        Notification.objects.filter(user=world.users["staff"], text__contains="认领了服务项目").count() == 2
    )


def test_withdrawing_gives_the_place_back(world):
    it = item(world, places_=1)
    me = world.actor("member")
    c = services.claim_service(actor=me, item_id=it.pk)
    services.withdraw_claim(actor=me, claim_id=c.pk)
    it.refresh_from_db()
    assert it.status == ServiceItemStatus.PUBLISHED
    with pytest.raises(Conflict):
        services.withdraw_claim(actor=me, claim_id=c.pk)
    again = services.claim_service(actor=me, item_id=it.pk)  # a new claim after withdrawing is fine
    assert again.pk != c.pk
    with pytest.raises(NotFound):  # someone else's claim
        services.withdraw_claim(actor=world.actor("other_member"), claim_id=again.pk)


def test_members_claim_only_in_their_own_community(world):
    it = item(world, "a2")
    with pytest.raises(NotFound):
        services.claim_service(actor=world.actor("member"), item_id=it.pk)
    with pytest.raises(Forbidden):  # community staff are no member: they claim for a team or not at all
        services.claim_service(actor=world.actor("other_staff"), item_id=it.pk)
    assert not ServiceClaim.objects.exists()


def test_a_team_claims_by_its_leader_or_by_staff(world):
    it = item(world, places_=3)
    team = world.teams["a1_team"]
    c = services.claim_service(actor=world.actor("member"), item_id=it.pk, kind="team")  # the leader
    assert c.team == team
    services.withdraw_claim(actor=world.actor("member"), claim_id=c.pk)
    services.claim_service(actor=world.actor("staff"), item_id=it.pk, kind="team", team_id=team.pk)
    follower = reporting(world, "follower", "孙丽", "a1_102", user=True)
    TeamMembership.objects.create(team=team, member=follower)
    with pytest.raises(Forbidden):  # a team member who does not lead it
        services.claim_service(actor=world.actor("follower"), item_id=it.pk, kind="team", team_id=team.pk)
    with pytest.raises(Conflict):
        services.claim_service(actor=world.actor("member"), item_id=it.pk, kind="team")


def test_a_work_unit_claims_in_a_community_it_is_paired_with(world):
    it, elsewhere = item(world, "a1"), item(world, "b1")
    unit = world.actor("unit_organiser")  # U1's member 李建国 reports in A1
    with pytest.raises(Forbidden, match="结对"):  # not paired with A1 yet
        services.claim_service(actor=unit, item_id=it.pk, kind="work_unit")
    assert not ServiceClaim.objects.filter(item=it).exists()
    paired(world, "u1", "a1")
    c = services.claim_service(actor=unit, item_id=it.pk, kind="work_unit")
    assert c.work_unit == world.units["u1"]
    with pytest.raises(NotFound):  # no member of U1 reports in B1
        services.claim_service(actor=unit, item_id=elsewhere.pk, kind="work_unit")
    with pytest.raises(Forbidden):  # not their unit
        services.claim_service(actor=unit, item_id=it.pk, kind="work_unit", work_unit_id=world.units["u2"].pk)
    services.withdraw_claim(actor=unit, claim_id=c.pk)
    assert ServiceClaim.objects.get(pk=c.pk).withdrawn_at is not None


def test_done_meets_the_needs_unless_another_item_still_serves_them(
    world, django_capture_on_commit_callbacks
):
    n1, n2 = need(world, title="疏通"), need(world, title="照明", code="streetlight")
    first = item(world, places_=1)
    first.needs.set([n1, n2])
    second = item(world, title="更换楼道灯")
    second.needs.set([n2])
    services.claim_service(actor=world.actor("member"), item_id=first.pk)
    n1.refresh_from_db()
    assert n1.status == NeedStatus.SERVING  # claimed: the needs are being served
    with pytest.raises(Conflict):  # nobody claimed the second one
        services.finish_service(actor=world.actor("staff"), item_id=second.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.finish_service(actor=world.actor("staff"), item_id=first.pk)
    n1.refresh_from_db()
    n2.refresh_from_db()
    assert n1.status == NeedStatus.MET
    assert n2.status == NeedStatus.SERVING  # the second item still serves it
    with pytest.raises(Conflict):
        services.claim_service(actor=world.actor("member"), item_id=first.pk)
    assert Notification.objects.filter(user=world.users["member"], text__contains="已由社区标记完成").exists()


def test_taking_an_item_down_ends_its_claims(world):
    it = item(world)
    c = services.claim_service(actor=world.actor("member"), item_id=it.pk)
    services.take_down_service(actor=world.actor("staff"), item_id=it.pk, reason="已由物业解决")
    it.refresh_from_db()
    c.refresh_from_db()
    assert it.status == ServiceItemStatus.WITHDRAWN
    assert c.withdrawn_at is not None
    with pytest.raises(Conflict):
        services.take_down_service(actor=world.actor("staff"), item_id=it.pk)


def test_the_resource_export_has_no_phone_numbers(world):
    reporting(
        world, "doc", "钱医生", "a1_202", skills=("医疗",), free_time=("weekend",), resources="=HYPERLINK(1)"
    )
    dest = BytesIO()
    count = services.export_resources(actor=world.actor("staff"), community=world.areas["a1"], dest=dest)
    rows = list(load_workbook(BytesIO(dest.getvalue())).active.values)
    assert count == 2
    assert rows[0] == services.EXPORT_HEADER
    doctor = next(r for r in rows if r[0] == "钱医生")
    assert doctor[3] == "医疗"
    assert doctor[5] == "周末"
    assert doctor[4] == "=HYPERLINK(1)"  # kept as text, not a formula
    assert not any("139" in str(v) for r in rows for v in r if v)
    assert AuditLog.objects.filter(action="lists.resources.export").exists()
    with pytest.raises(Forbidden):  # the branch secretary may not export
        services.export_resources(
            actor=world.actor("estate_secretary"), community=world.areas["a1"], dest=BytesIO()
        )


# --- many claims at once --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_many_simultaneous_claims_never_exceed_the_places():
    """Twelve members claim a three-place item at the same moment, each in their own connection and
    transaction: exactly three get it, the others get a clear "full", nobody gets an error.

    On PostgreSQL this is the real race: the claims queue on the item's row lock. SQLite locks the
    whole database for a writer; the test database lives in shared-cache memory, where a waiting
    writer is told "locked" at once instead of waiting as it does on a file database (timeout 20 s),
    so there each thread waits and tries again, as SQLite's busy timeout would.
    """
    w = build_world()
    it = item(w, places_=3)
    for i in range(12):
        reporting(w, f"m{i}", f"党员{i}", "a1_202", user=True)
    actors = [w.actor(f"m{i}") for i in range(12)]
    start = threading.Barrier(len(actors))
    outcomes: list[str] = []

    def claim_once(actor) -> str:
        try:
            services.claim_service(actor=actor, item_id=it.pk)
        except Conflict as exc:
            return exc.code
        return "ok"

    def claim_now(actor):
        start.wait()
        waited = False
        try:
            for _attempt in range(200):
                try:
                    outcome = claim_once(actor)
                except OperationalError as exc:
                    if connection.vendor != "sqlite" or "locked" not in str(exc):
                        raise
                    waited = True
                    time.sleep(0.01)
                    continue
                if outcome == "already_claimed" and waited:
                    # the earlier try had committed; what met the lock was the notification written
                    # after the commit (on_commit), so the claim stands
                    outcome = "ok"
                outcomes.append(outcome)
                return
            outcomes.append("gave up waiting")
        except Exception as exc:  # any other error fails the test below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim_now, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["full"] * 9 + ["ok"] * 3, outcomes
    assert ServiceClaim.objects.filter(item=it, withdrawn_at=None).count() == 3
    it.refresh_from_db()
    assert it.status == ServiceItemStatus.CLAIMED
