"""Reads of pairings: who sees which pairing, a pairing's joint activities (they count for both sides),
coverage of an area, and a work unit's view of its own members' community service (never another
unit's members)."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huijia.core.errors import NotFound
from huijia.orgs.models import WorkUnit
from huijia.volunteering.models import OrganiserKind, Pairing
from huijia.volunteering.pairing_selectors import (
    PairingState,
    coverage,
    joint_activities,
    pairing_for,
    pairings_for,
    unit_service,
)
from huijia.volunteering.pairings import end_pairing
from huijia.volunteering.testing import make_activity, record
from huijia.volunteering.tests.test_pairings_services import pair

NOW_H = -0.05  # a slot that started three minutes ago: this year, whatever the day


def joint(world, pairing: Pairing, title: str = "共建活动：义诊", *, start_h: float = NOW_H, **fields):
    return make_activity(
        world,
        title=title,
        organiser_kind=OrganiserKind.WORK_UNIT,
        work_unit=pairing.work_unit,
        pairing=pairing,
        creator="unit_organiser",
        slots=[("社区广场", start_h, 2, 20)],
        **fields,
    )


def visible(who: str, world, **filters) -> set[int]:
    return set(pairings_for(actor=world.actor(who), **filters).values_list("pk", flat=True))


def test_who_sees_which_pairing(world):
    a1 = pair(world)  # u1 ↔ A1
    a2 = pair(world, unit="u2", community="a2")
    b1 = pair(world, unit="u2", community="b1", who="org_dept")
    assert visible("org_dept", world) == {a1.pk, a2.pk, b1.pk}
    assert visible("street_staff", world) == {a1.pk, a2.pk}
    assert visible("staff", world) == {a1.pk}
    assert visible("other_staff", world) == {a2.pk}
    assert visible("unit_organiser", world) == {a1.pk}  # its own unit's pairings only
    for nobody in ("estate_secretary", "building_head", "member", "resident", "outsider"):
        assert visible(nobody, world) == set(), nobody
    with pytest.raises(NotFound):
        pairing_for(actor=world.actor("other_staff"), pairing_id=a1.pk)
    with pytest.raises(NotFound):
        pairing_for(actor=world.actor("unit_organiser"), pairing_id=a2.pk)


def test_the_list_filters_by_state_name_and_community(world):
    today = timezone.localdate()
    active = pair(world)
    upcoming = pair(world, unit="u2", starts_on=today + timedelta(days=3))
    ended = pair(world, community="a2")
    end_pairing(actor=world.actor("street_staff"), pairing_id=ended.pk)
    assert visible("street_staff", world, state=PairingState.ACTIVE) == {active.pk}
    assert visible("street_staff", world, state=PairingState.UPCOMING) == {upcoming.pk}
    assert visible("street_staff", world, state=PairingState.ENDED) == {ended.pk}
    assert visible("street_staff", world, query="自来水") == {upcoming.pk}
    assert visible("street_staff", world, query="燕子岭") == {ended.pk}
    assert visible("street_staff", world, community_id=world.areas["a1"].pk) == {active.pk, upcoming.pk}


def test_joint_activities_count_participants_hours_and_people_served(world):
    pairing = pair(world)
    day = joint(world, pairing, people_served=35)
    other = joint(world, pairing, "共建活动：清理楼道", start_h=-48, people_served=12)
    make_activity(world, title="社区自己的活动")  # not joint: not counted
    slot, slot2 = day.slots.get(), other.slots.get()
    record(slot, world.members["member"], hours="2")
    record(slot, world.members["other_member"], hours="1.5")
    record(slot2, world.members["member"], hours="2")
    record(
        slot2, world.members["pending_member"], hours=None, checked_in_at=slot2.starts_at
    )  # still checked in: not counted
    record(slot, world.members["pending_member"], hours="0")  # 0 hours: not a service either
    rows, total = joint_activities(pairing)
    assert [a.title for a in rows] == ["共建活动：义诊", "共建活动：清理楼道"]
    assert [(a.participants, a.services, a.hours) for a in rows] == [
        (2, 2, Decimal("3.50")),
        (1, 1, Decimal("2.00")),
    ]
    assert (total.activities, total.participants, total.services, total.hours, total.people_served) == (
        2,
        2,  # two different members, one of them in both
        3,
        Decimal("5.50"),
        47,
    )
    assert pairings_for(actor=world.actor("staff")).get().joint == 2


def test_coverage_of_the_city_and_of_a_street(world):
    pair(world)  # u1 ↔ A1
    city = coverage(actor=world.actor("org_dept"))
    assert city.area == world.areas["city"]
    assert (city.communities, city.paired_communities, city.all_paired) == (3, 1, False)
    assert [c.name for c in city.unpaired_communities] == ["燕子岭社区", "新园社区"]
    assert [c.street_name for c in city.unpaired_communities] == ["文艺路街道", "定王台街道"]
    assert (city.units, city.paired_units, [u.name for u in city.unpaired_units]) == (
        2,
        1,
        ["长沙市自来水公司"],
    )
    assert city.active_pairings == 1
    assert [(p.area.name, p.communities, p.paired) for p in city.parts] == [("芙蓉区", 3, 1)]
    district = coverage(actor=world.actor("org_dept"), area_id=world.areas["district"].pk)
    assert [(p.area.name, p.communities, p.paired, p.unpaired) for p in district.parts] == [
        ("文艺路街道", 2, 1, 1),
        ("定王台街道", 1, 0, 1),
    ]
    pair(world, unit="u2", community="a2")
    street = coverage(actor=world.actor("street_staff"))
    assert street.area == world.areas["street_a"]
    assert (street.communities, street.paired_communities, street.all_paired, street.percent) == (
        2,
        2,
        True,
        100,
    )
    assert street.unpaired_communities == []
    assert street.parts == []


def test_coverage_counts_only_pairings_in_force(world):
    today = timezone.localdate()
    pair(world, starts_on=today + timedelta(days=1))  # not yet
    assert coverage(actor=world.actor("street_staff")).paired_communities == 0


@pytest.mark.parametrize(
    ("who", "area"),
    [
        ("street_staff", "street_b"),
        ("street_staff", "city"),
        ("staff", "a2"),
        ("unit_organiser", None),
        ("estate_secretary", None),
        ("member", None),
    ],
)
def test_coverage_out_of_reach_is_not_found(world, who, area):
    with pytest.raises(NotFound):
        coverage(actor=world.actor(who), area_id=world.areas[area].pk if area else None)


def test_a_unit_sees_its_own_members_service_this_year(world):
    this_year = joint(world, pair(world)).slots.get()
    june = timezone.make_aware(datetime(timezone.localdate().year - 1, 6, 1, 9))
    hours_ago = (june - timezone.now()).total_seconds() / 3600
    last_year = make_activity(world, title="去年的活动", slots=[("活动室", hours_ago, 3, 10)]).slots.get()
    member, other = world.members["member"], world.members["other_member"]  # of u1, of u2
    record(this_year, member, hours="2")
    record(last_year, member)  # another year
    record(this_year, other, hours="1.5")  # another unit's member
    open_slot = make_activity(world, title="还没签退", slots=[("活动室", NOW_H, 2, 10)]).slots.get()
    record(open_slot, member, hours=None, checked_in_at=open_slot.starts_at)  # not finished
    year = timezone.localdate().year
    seen = unit_service(actor=world.actor("unit_organiser"), work_unit_id=world.units["u1"].pk, year=year)
    assert [(r["name"], r["community"], r["services"], r["hours"]) for r in seen.rows] == [
        ("李建国", "识字岭社区", 1, Decimal("2.00"))
    ]
    assert (seen.members_served, seen.services, seen.hours, seen.reporting_members) == (
        1,
        1,
        Decimal("2.00"),
        1,
    )
    assert [p.community.name for p in seen.pairings] == ["识字岭社区"]
    before = unit_service(
        actor=world.actor("unit_organiser"), work_unit_id=world.units["u1"].pk, year=year - 1
    )
    assert [(r["name"], r["services"], r["hours"]) for r in before.rows] == [("李建国", 1, Decimal("3.00"))]


@pytest.mark.parametrize("who", ["staff", "street_staff", "org_dept", "member", "outsider"])
def test_only_the_units_own_organisers_see_its_members_service(world, who):
    with pytest.raises(NotFound):
        unit_service(actor=world.actor(who), work_unit_id=world.units["u1"].pk, year=2026)


def test_a_unit_cannot_look_at_another_unit(world):
    with pytest.raises(NotFound):
        unit_service(actor=world.actor("unit_organiser"), work_unit_id=world.units["u2"].pk, year=2026)
    with pytest.raises(NotFound):
        unit_service(actor=world.actor("unit_organiser"), work_unit_id=999_999, year=2026)


def test_reads_take_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    """No N+1: the list, a pairing's joint activities, coverage and the unit's view cost the same with
    many rows as with few."""
    staff = world.actor("org_dept")
    year = timezone.localdate().year

    def run_all():
        list(pairings_for(actor=staff))
        joint_activities(first)
        coverage(actor=staff)
        unit_service(actor=world.actor("unit_organiser"), work_unit_id=world.units["u1"].pk, year=year)

    first = pair(world)
    slot = joint(world, first).slots.get()
    record(slot, world.members["member"], hours="1")
    with CaptureQueriesContext(connection) as few:
        run_all()
    for i in range(12):
        world.units[f"x{i}"] = WorkUnit.objects.create(name=f"单位{i}")
        pair(world, unit=f"x{i}", community="b1" if i % 2 else "a2", who="org_dept")
        again = joint(world, first, f"共建活动{i}").slots.get()
        record(again, world.members["member"], hours="1")
    with django_assert_max_num_queries(len(few)):
        run_all()
