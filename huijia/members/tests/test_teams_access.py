"""The household access list (members.access): who may see and visit which household, and why.

Bulk by design: the number of queries does not grow with the number of members and households."""

import pytest

from huijia.accounts.roles import Perm
from huijia.accounts.scope import restrict
from huijia.grid.models import Household
from huijia.members.access import (
    rebuild_link_access,
    rebuild_zone_access,
    set_household_access,
    sync_household_access,
)
from huijia.members.models import HouseholdAccess, HouseholdLink, TeamMembership, ZoneAssignment

pytestmark = pytest.mark.django_db


def flags(member_id: int) -> dict[int, tuple[bool, bool, bool]]:
    rows = HouseholdAccess.objects.filter(member_id=member_id)
    return {
        h: (z, li, c) for h, z, li, c in rows.values_list("household_id", "by_zone", "by_link", "by_care")
    }


def many_households(world, count: int) -> list[int]:
    building = world.areas["a1_bldg2"]
    return [
        Household.objects.create(building=building, unit="", floor=2 + i // 4, room=f"x{i}").pk
        for i in range(count)
    ]


def test_setting_care_adds_rows_and_keeps_other_reasons(world):
    member = world.members["member"]
    h = world.households
    set_household_access(
        member_ids=[member.pk], household_ids=[h["a1_101"].pk, h["a1_bldg2_101"].pk], reason="care", on=True
    )
    got = flags(member.pk)
    assert got[h["a1_101"].pk] == (True, False, True)  # the zone stays
    assert got[h["a1_bldg2_101"].pk] == (False, False, True)
    visible = restrict(Household.objects.all(), world.actor("member"), Perm.VISIT)
    assert visible.filter(pk=h["a1_bldg2_101"].pk).exists()


def test_clearing_a_reason_deletes_rows_left_without_any(world):
    member = world.members["member"]
    h = world.households
    set_household_access(member_ids=[member.pk], household_ids=[h["a1_bldg2_101"].pk], reason="care", on=True)
    set_household_access(member_ids=[member.pk], household_ids=[h["a1_101"].pk], reason="care", on=True)
    set_household_access(
        member_ids=[member.pk], household_ids=[h["a1_101"].pk, h["a1_bldg2_101"].pk], reason="care", on=False
    )
    got = flags(member.pk)
    assert h["a1_bldg2_101"].pk not in got  # no reason left: gone
    assert got[h["a1_101"].pk] == (True, False, False)  # still in the zone
    visible = restrict(Household.objects.all(), world.actor("member"), Perm.VISIT)
    assert not visible.filter(pk=h["a1_bldg2_101"].pk).exists()


def test_setting_twice_is_harmless(world):
    member = world.members["other_member"]
    target = world.households["a2_102"].pk
    for _ in range(2):
        set_household_access(member_ids=[member.pk], household_ids=[target], reason="link", on=True)
    assert HouseholdAccess.objects.filter(member=member, household_id=target).count() == 1


@pytest.mark.parametrize("size", [2, 40])
def test_a_constant_few_queries_whatever_the_size(world, django_assert_max_num_queries, size):
    members = [world.members["member"].pk, world.members["other_member"].pk]
    households = many_households(world, size)
    with django_assert_max_num_queries(1):
        set_household_access(member_ids=members, household_ids=households, reason="care", on=True)
    assert HouseholdAccess.objects.filter(by_care=True).count() == 2 * size
    with django_assert_max_num_queries(2):
        set_household_access(member_ids=members, household_ids=households, reason="care", on=False)
    assert not HouseholdAccess.objects.filter(by_care=True).exists()
    with django_assert_max_num_queries(5):
        sync_household_access(member_ids=members, reason="link", pairs=[(members[0], h) for h in households])
    assert HouseholdAccess.objects.filter(by_link=True, member_id=members[0]).count() == size


def test_sync_makes_a_reason_hold_for_exactly_the_pairs_given(world):
    member, other = world.members["member"], world.members["other_member"]
    h = world.households
    sync_household_access(
        member_ids=[member.pk],
        reason="zone",
        pairs=[(member.pk, h["a1_101"].pk), (member.pk, h["a1_bldg2_101"].pk), (other.pk, h["a1_102"].pk)],
    )
    assert flags(member.pk) == {
        h["a1_101"].pk: (True, False, False),
        h["a1_bldg2_101"].pk: (True, False, False),
    }
    assert flags(other.pk) == {h["a2_101"].pk: (False, True, False)}  # not among the members synced


def test_rebuild_follows_active_teams_zones_and_links(world):
    member, other = world.members["member"], world.members["other_member"]
    h = world.households
    ZoneAssignment.objects.filter(household=h["a1_202"]).update(ended_at="2026-01-01T00:00:00Z")
    HouseholdLink.objects.create(member=member, household=h["a1_bldg2_101"])
    rebuild_zone_access(member_ids=[member.pk, other.pk])
    rebuild_link_access(member_ids=[member.pk, other.pk])
    assert flags(member.pk) == {
        h["a1_101"].pk: (True, False, False),
        h["a1_102"].pk: (True, False, False),
        h["a1_201"].pk: (True, False, False),
        h["a1_bldg2_101"].pk: (False, True, False),
    }
    assert flags(other.pk) == {h["a2_101"].pk: (False, True, False)}
    TeamMembership.objects.filter(member=member).update(ended_at="2026-01-01T00:00:00Z")
    rebuild_zone_access(member_ids=[member.pk])
    assert flags(member.pk) == {h["a1_bldg2_101"].pk: (False, True, False)}


def test_unknown_reason_is_refused(world):
    with pytest.raises(ValueError, match="reason"):
        set_household_access(member_ids=[1], household_ids=[1], reason="friendship", on=True)


def test_nothing_given_does_nothing(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        set_household_access(member_ids=[], household_ids=[1, 2], reason="zone", on=True)
        sync_household_access(member_ids=[], reason="zone", pairs=[])
