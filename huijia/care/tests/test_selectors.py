"""Care reads: the file grouped by household, the overdue list, a member's pairings; constant queries."""

import pytest
from django.utils import timezone

from huijia.care import selectors
from huijia.care.tests.helpers import days_ago, pairing, visit, vulnerable
from huijia.core.errors import NotFound
from huijia.core.testing import make_member, register
from huijia.grid.models import Household


def test_the_file_groups_people_by_household_with_their_pairing(world):
    vulnerable(world, "a1_201", "elderly_alone", name="陈奶奶")
    vulnerable(world, "a1_201", "disabled")
    vulnerable(world, "a1_bldg2_101", "hardship")
    vulnerable(world, "a1_102", "other", ended_at=timezone.now())  # ended: not on the active file
    vulnerable(world, "a2_101", "hardship")  # another community
    p = pairing(world, "a1_201", "member")
    files = selectors.vulnerable_file(actor=world.actor("staff"), area=world.areas["a1"])
    assert [(f.place, [x.kind for x in f.people]) for f in files] == [
        ("3栋 1单元201室", ["elderly_alone", "disabled"]),
        ("5栋 101室", ["hardship"]),
    ]
    assert files[0].pairing == p
    assert files[1].pairing is None


def test_care_areas_follow_scope(world):
    assert [a.name for a in selectors.care_areas(actor=world.actor("estate_secretary"))] == [
        "识字岭社区幸福小区"
    ]
    staff = [a.name for a in selectors.care_areas(actor=world.actor("staff"))]
    assert staff == ["识字岭社区", "识字岭社区幸福小区"]
    assert selectors.care_areas(actor=world.actor("building_head")) == []
    with pytest.raises(NotFound):
        selectors.care_area(actor=world.actor("other_staff"), area_id=world.areas["a1_estate"].pk)


def test_overdue_counts_only_visits_by_paired_members_most_overdue_first(world):
    make_member(world, "neighbour", name="周红", serial=60, unit=None)
    register(world, "neighbour", "a1", "a1_bldg2_101")
    on_time = pairing(world, "a1_101", "member", cadence=30, started=days_ago(100))
    visit(world, "a1_101", on=days_ago(10))  # by the paired member: fine
    late = pairing(world, "a1_102", "member", cadence=30, started=days_ago(100))
    visit(world, "a1_102", on=days_ago(45))  # 15 days overdue
    visit(world, "a1_102", on=days_ago(2), member="neighbour")  # not paired: does not count
    visit(world, "a1_102", on=days_ago(1), member=None)  # staff, no member: does not count
    never = pairing(world, "a1_201", "member", "neighbour", cadence=7, started=days_ago(60))  # 53 days
    by_other = pairing(world, "a1_202", "member", "neighbour", cadence=7, started=days_ago(60))
    visit(world, "a1_202", on=days_ago(3), member="neighbour")  # either paired member counts
    new = pairing(world, "a1_bldg2_101", "member", cadence=30, started=days_ago(5))  # not due yet
    pairing(world, "a2_101", "other_member", cadence=7, started=days_ago(90))  # other community
    ended = pairing(world, "a1_201", "member", cadence=7, started=days_ago(90), ended_on=days_ago(50))

    rows = selectors.overdue_pairings(actor=world.actor("estate_secretary"), area=world.areas["a1_estate"])
    assert [(r.pairing, r.days_overdue, r.last_visit) for r in rows] == [
        (never, 53, None),
        (late, 15, days_ago(45)),
    ]
    assert rows[1].due_on == days_ago(15)
    assert {on_time, by_other, new, ended}.isdisjoint({r.pairing for r in rows})


def test_a_visit_before_the_pairing_started_does_not_reset_the_clock(world):
    visit(world, "a1_101", on=days_ago(50))
    p = pairing(world, "a1_101", "member", cadence=30, started=days_ago(40))
    (row,) = selectors.overdue_pairings(actor=world.actor("staff"), area=world.areas["a1"])
    assert (row.pairing, row.days_overdue) == (p, 10)


def test_a_member_sees_their_own_pairings_soonest_due_first(world):
    later = pairing(world, "a1_101", "member", cadence=30, started=days_ago(1))
    sooner = pairing(world, "a1_bldg2_101", "member", cadence=7, started=days_ago(20))
    pairing(world, "a2_101", "other_member")
    dues = selectors.my_pairings(actor=world.actor("member"))
    assert [(d.pairing, d.overdue) for d in dues] == [(sooner, True), (later, False)]
    assert selectors.my_pairings(actor=world.actor("staff")) == []


def test_candidates_are_members_reporting_in_the_community_neighbours_first(world):
    make_member(world, "far", name="安静", serial=61, unit=None)
    register(world, "far", "a1", "a1_bldg2_101")
    household = selectors.household_for_care(
        actor=world.actor("staff"), household_id=world.households["a1_202"].pk
    )
    names = [m.name for m in selectors.candidate_members(actor=world.actor("staff"), household=household)]
    assert names == ["李建国", "安静"]  # 李建国 lives in building 3, like the household


def more(world, n: int) -> None:
    """n more households in building 5 of A1, each on the file and paired with `member`, one visit each."""
    building = world.areas["a1_bldg2"]
    for i in range(n):
        key = f"x{Household.objects.count()}"
        world.households[key] = Household.objects.create(building=building, floor=2, room=f"2{i:02d}{key}")
        vulnerable(world, key, "hardship")
        pairing(world, key, "member", cadence=7, started=days_ago(30))
        visit(world, key, on=days_ago(20))


def test_lists_take_the_same_queries_whatever_their_length(world, django_assert_num_queries):
    more(world, 1)
    staff, member, area = world.actor("staff"), world.actor("member"), world.areas["a1"]

    def run():
        return (
            selectors.vulnerable_file(actor=staff, area=area),
            selectors.overdue_pairings(actor=staff, area=area),
            [
                (p.last_visit, list(p.pairing_members.all()))
                for p in selectors.pairings_for(actor=staff, area=area)
            ],
            selectors.my_pairings(actor=member),
            list(selectors.vulnerable_people(actor=staff, area=area)),
        )

    counts = []
    for expected_rows in (1, 6):
        with django_assert_num_queries(3 + 3 + 3 + 3 + 1) as ctx:
            files, late, _pairings, mine, _people = run()
            for d in late:  # what the overdue page shows
                _ = (
                    [pm.member.name for pm in d.pairing.pairing_members.all()],
                    d.pairing.household.active_people,
                )
                _ = d.pairing.household.building.parent.name
            for f in files:
                _ = [pm.member.name for pm in f.pairing.pairing_members.all()] if f.pairing else None
        counts.append(len(ctx.captured_queries))
        assert len(late) == len(mine) == expected_rows
        more(world, 5)
    assert counts[0] == counts[1]
