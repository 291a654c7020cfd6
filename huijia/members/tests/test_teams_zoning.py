"""The proposal of teams and zones (members.zoning): a pure function, tested on the shapes real
communities have and on the awkward ones (a building nobody lives in, more members than households,
one member in a whole estate, odd team counts, nobody at all)."""

import json
import random
from io import StringIO

import pytest
from django.core.management import call_command

from huijia.members.bench_zoning import build_community
from huijia.members.zoning import HouseholdIn, MemberIn, natural, propose


class Place:
    """A small community built by hand: estates of buildings of floors of rooms."""

    def __init__(self):
        self.households: list[HouseholdIn] = []
        self.members: list[MemberIn] = []
        self.buildings: dict[int, str] = {}
        self.estates: dict[int, str] = {}
        self._next_building = 100
        self._next_household = 1000
        self._next_member = 1

    def estate(self, estate_id: int, name: str | None = None) -> int:
        self.estates[estate_id] = name or f"{estate_id}号小区"
        return estate_id

    def building(self, estate_id: int, name: str, floors: int, rooms: int = 2) -> int:
        self._next_building += 1
        b = self._next_building
        self.buildings[b] = name
        for floor in range(1, floors + 1):
            for room in range(1, rooms + 1):
                self._next_household += 1
                self.households.append(
                    HouseholdIn(self._next_household, b, estate_id, "", floor, f"{floor}0{room}")
                )
        return b

    def member(self, building: int, floor: int, light: bool = False) -> int:
        self._next_member += 1
        home = next((h.id for h in self.households if h.building_id == building and h.floor == floor), None)
        self.members.append(MemberIn(self._next_member, building, floor, light, household_id=home))
        return self._next_member

    def propose(self, **kwargs):
        return propose(
            members=self.members,
            households=self.households,
            building_names=self.buildings,
            estate_names=self.estates,
            **kwargs,
        )

    def of(self, household_id: int) -> HouseholdIn:
        return next(h for h in self.households if h.id == household_id)


def assert_covered_once(place: Place, proposal) -> None:
    held = [h for t in proposal.teams for h in t.household_ids]
    assert len(held) == len(set(held)), "a household is held by two teams"
    assert set(held) | set(proposal.uncovered) == {h.id for h in place.households}
    assert not set(held) & set(proposal.uncovered)
    placed = [m for t in proposal.teams for m in t.member_ids]
    assert len(placed) == len(set(placed)), "a member is in two teams"


def loads_by_building(proposal) -> dict[int, list[int]]:
    loads: dict[int, list[int]] = {}
    for team in proposal.teams:
        loads.setdefault(team.building_id, []).append(len(team.household_ids))
    return loads


def test_one_building_teams_of_three_hold_their_own_floors():
    place = Place()
    e = place.estate(1)
    b = place.building(e, "3栋", floors=30, rooms=2)
    for floor in (2, 3, 5, 11, 12, 14, 24, 25, 27):
        place.member(b, floor)
    proposal = place.propose()
    assert_covered_once(place, proposal)
    assert [len(t.member_ids) for t in proposal.teams] == [3, 3, 3]
    assert [len(t.household_ids) for t in proposal.teams] == [20, 20, 20]
    assert [t.label for t in proposal.teams] == ["3栋 1–10层", "3栋 11–20层", "3栋 21–30层"]
    assert [t.name for t in proposal.teams] == ["3栋第1组", "3栋第2组", "3栋第3组"]
    # the members of the upper floors hold the upper floors
    top = proposal.teams[2]
    assert {next(m for m in place.members if m.id == mid).floor for mid in top.member_ids} == {24, 25, 27}
    assert top.leader_id in top.member_ids


def test_loads_within_a_building_differ_by_at_most_one():
    place = Place()
    e = place.estate(1)
    b = place.building(e, "1栋", floors=17, rooms=3)  # 51 households
    for floor in range(1, 17, 1):
        place.member(b, floor)  # 16 members: 5 teams
    proposal = place.propose()
    assert_covered_once(place, proposal)
    loads = [len(t.household_ids) for t in proposal.teams]
    assert len(loads) == 5
    assert max(loads) - min(loads) <= 1
    assert sum(loads) == 51
    assert sorted(len(t.member_ids) for t in proposal.teams) == [3, 3, 3, 3, 4]


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(1, [1]), (2, [2]), (4, [4]), (5, [5]), (7, [3, 4]), (8, [4, 4]), (10, [3, 3, 4])],
)
def test_odd_counts_leftovers_join_teams_instead_of_standing_alone(count, sizes):
    place = Place()
    e = place.estate(1)
    b = place.building(e, "1栋", floors=20)
    for i in range(count):
        place.member(b, 1 + i)
    proposal = place.propose()
    assert_covered_once(place, proposal)
    assert sorted(len(t.member_ids) for t in proposal.teams) == sizes
    assert not proposal.uncovered


def test_team_size_is_configurable():
    place = Place()
    e = place.estate(1)
    b = place.building(e, "1栋", floors=10)
    for floor in range(1, 11):
        place.member(b, floor)
    assert sorted(len(t.member_ids) for t in place.propose(team_size=2).teams) == [2, 2, 2, 2, 2]
    assert sorted(len(t.member_ids) for t in place.propose(team_size=5).teams) == [5, 5]


def test_a_building_nobody_lives_in_is_held_by_the_nearest_building_of_its_estate():
    place = Place()
    e = place.estate(1)
    b1 = place.building(e, "1栋", floors=6)
    b2 = place.building(e, "2栋", floors=6)  # nobody lives here
    b9 = place.building(e, "9栋", floors=6)
    for floor in (1, 2, 3):
        place.member(b1, floor)
    for floor in (1, 2, 3):
        place.member(b9, floor)
    proposal = place.propose()
    assert_covered_once(place, proposal)
    holder = {h: t for t in proposal.teams for h in t.household_ids}
    held_2 = {holder[h.id].building_id for h in place.households if h.building_id == b2}
    assert held_2 == {b1}  # 2栋 is next to 1栋, not to 9栋
    assert any("2栋没有党员居住" in n for n in proposal.notes)
    assert "2栋" in next(t for t in proposal.teams if t.building_id == b1).label
    assert all(m not in {b2} for m in [t.building_id for t in proposal.teams])
    assert b9 in {t.building_id for t in proposal.teams}


def test_an_estate_nobody_lives_in_is_held_by_the_community():
    place = Place()
    e1, e2 = place.estate(1, "东区"), place.estate(2, "西区")
    b = place.building(e1, "1栋", floors=10)
    empty = place.building(e2, "8栋", floors=4)
    for floor in (1, 4, 8):
        place.member(b, floor)
    proposal = place.propose()
    assert_covered_once(place, proposal)
    assert not proposal.uncovered
    assert any("西区没有党员居住" in n for n in proposal.notes)
    held = {h for t in proposal.teams for h in t.household_ids}
    assert {h.id for h in place.households if h.building_id == empty} <= held


def test_an_estate_nobody_lives_in_goes_to_the_lightest_loaded_teams_of_the_nearest_estate():
    place = Place()
    e1, e2 = place.estate(1, "东区"), place.estate(2, "西区")
    crowded = place.building(e1, "1栋", floors=5)  # 10 households, one team
    roomy = place.building(e1, "2栋", floors=5)  # 10 households, two teams
    empty = place.building(e2, "9栋", floors=1)
    for floor in (1, 2, 3):
        place.member(crowded, floor)
    roomy_members = {place.member(roomy, floor) for floor in (1, 1, 2, 3, 4, 5)}
    proposal = place.propose()
    assert_covered_once(place, proposal)
    holders = [
        t
        for t in proposal.teams
        if {h.id for h in place.households if h.building_id == empty} & set(t.household_ids)
    ]
    assert holders
    assert all(set(t.member_ids) <= roomy_members for t in holders)
    assert sorted(len(t.household_ids) for t in proposal.teams if set(t.member_ids) <= roomy_members) == [
        6,
        6,
    ]


def test_more_members_than_households_makes_bigger_teams_not_empty_ones():
    place = Place()
    e = place.estate(1)
    b = place.building(e, "1栋", floors=1, rooms=2)  # two households
    for _ in range(10):
        place.member(b, 1)
    proposal = place.propose()
    assert_covered_once(place, proposal)
    assert len(proposal.teams) == 2
    assert all(len(t.household_ids) == 1 for t in proposal.teams)
    assert sorted(len(t.member_ids) for t in proposal.teams) == [5, 5]
    assert any("党员多于住户" in n for n in proposal.notes)


def test_one_member_in_a_whole_estate_holds_it_all():
    place = Place()
    e = place.estate(1)
    b1 = place.building(e, "1栋", floors=5)
    place.building(e, "2栋", floors=5)
    place.building(e, "3栋", floors=5)
    only = place.member(b1, 3)
    proposal = place.propose()
    assert_covered_once(place, proposal)
    assert len(proposal.teams) == 1
    team = proposal.teams[0]
    assert team.member_ids == [only]
    assert team.leader_id == only
    assert len(team.household_ids) == 30
    assert team.label == "1栋 1–5层、2栋 1–5层、3栋 1–5层"


def test_small_buildings_join_the_nearest_team_rather_than_form_teams_of_one():
    place = Place()
    e = place.estate(1)
    b1 = place.building(e, "1栋", floors=6)
    b2 = place.building(e, "2栋", floors=6)
    for floor in (1, 2, 3):
        place.member(b1, floor)
    lone = place.member(b2, 4)
    proposal = place.propose()
    assert_covered_once(place, proposal)
    assert len(proposal.teams) == 1
    assert lone in proposal.teams[0].member_ids
    assert len(proposal.teams[0].member_ids) == 4


def test_zero_members_no_teams_and_says_so():
    place = Place()
    e = place.estate(1)
    place.building(e, "1栋", floors=3)
    proposal = place.propose()
    assert proposal.teams == []
    assert len(proposal.uncovered) == 6
    assert any("没有已报到的党员" in n for n in proposal.notes)
    assert any("有6户暂时没有小组包干" in n for n in proposal.notes)
    assert proposal.links == {}


def test_no_households_at_all():
    proposal = propose(members=[], households=[])
    assert proposal.teams == []
    assert proposal.uncovered == []


def test_light_duty_members_join_without_adding_teams_and_are_never_leaders_or_heads():
    place = Place()
    e = place.estate(1)
    b = place.building(e, "1栋", floors=12)
    for floor in (1, 2, 3, 10, 11, 12):
        place.member(b, floor)
    light_low = place.member(b, 2, light=True)
    light_high = place.member(b, 11, light=True)
    proposal = place.propose()
    assert_covered_once(place, proposal)
    assert len(proposal.teams) == 2  # six members able to serve: two teams; the two others join them
    low, high = proposal.teams
    assert light_low in low.member_ids
    assert light_high in high.member_ids
    assert {low.leader_id, high.leader_id}.isdisjoint({light_low, light_high})
    assert set(proposal.building_heads.values()).isdisjoint({light_low, light_high})
    assert len(proposal.links[light_low]) == 1
    assert all(len(proposal.links[m.id]) == 3 for m in place.members if not m.light_duty)


def test_an_estate_where_everyone_asked_for_fewer_duties_is_still_organised():
    place = Place()
    e = place.estate(1)
    b = place.building(e, "1栋", floors=3)
    place.member(b, 1, light=True)
    place.member(b, 2, light=True)
    proposal = place.propose()
    assert_covered_once(place, proposal)
    assert len(proposal.teams) == 1
    assert proposal.teams[0].leader_id is None
    assert proposal.building_heads == {}
    assert any("少安排任务" in n for n in proposal.notes)


def test_links_are_neighbours_spread_and_never_the_members_own_home():
    place = Place()
    e = place.estate(1)
    b = place.building(e, "1栋", floors=20, rooms=2)
    members = [place.member(b, floor) for floor in (5, 5, 6)]
    proposal = place.propose(links=3)
    linked = [h for m in members for h in proposal.links[m]]
    assert len(linked) == len(set(linked)) == 9  # nobody linked twice while there are households left
    for mid in members:
        me = next(m for m in place.members if m.id == mid)
        assert me.household_id not in proposal.links[mid]
        assert all(abs(place.of(h).floor - me.floor) <= 3 for h in proposal.links[mid])


def test_building_heads_are_suggested_among_members_living_in_the_building():
    place = Place()
    e = place.estate(1)
    b1 = place.building(e, "1栋", floors=10)
    b2 = place.building(e, "2栋", floors=10)
    for floor in (1, 5, 9):
        place.member(b1, floor)
    lone = place.member(b2, 3)
    proposal = place.propose()
    assert set(proposal.building_heads) == {b1, b2}
    assert proposal.building_heads[b2] == lone
    b1_members = {m.id for m in place.members if m.building_id == b1}
    assert proposal.building_heads[b1] in b1_members


def community(seed: int, estates: int = 6):
    """A community shaped like a real one: several estates, buildings of 6 to 33 floors, some
    buildings with no member, about one member in ten asking for fewer duties."""
    rnd = random.Random(seed)
    place = Place()
    for e in range(1, estates + 1):
        place.estate(e)
        buildings = [
            place.building(e, f"{n}栋", floors=rnd.randint(6, 33), rooms=rnd.choice([2, 4]))
            for n in range(1, rnd.randint(3, 8))
        ]
        for b in buildings:
            if rnd.random() < 0.2:
                continue
            for _ in range(rnd.randint(1, 25)):
                floors = [h.floor for h in place.households if h.building_id == b]
                place.member(b, rnd.randint(1, max(floors)), light=rnd.random() < 0.1)
    return place


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_realistic_community_is_covered_once_and_balanced(seed):
    place = community(seed)
    proposal = place.propose()
    assert_covered_once(place, proposal)
    assert not proposal.uncovered
    assert sorted(m for t in proposal.teams for m in t.member_ids) == sorted(m.id for m in place.members)
    for building, loads in loads_by_building(proposal).items():
        assert max(loads) - min(loads) <= 1, (building, loads)
    assert all(t.label and t.member_ids and t.household_ids for t in proposal.teams)
    # teams never mix members of different estates
    estate_of = {h.building_id: h.estate_id for h in place.households}
    lives = {m.id: estate_of[m.building_id] for m in place.members}
    for team in proposal.teams:
        assert len({lives[m] for m in team.member_ids}) == 1


def test_the_proposal_is_deterministic_whatever_the_input_order():
    place = community(7)
    first = place.propose()
    shuffled = Place()
    shuffled.buildings, shuffled.estates = place.buildings, place.estates
    shuffled.households = random.Random(1).sample(place.households, len(place.households))
    shuffled.members = random.Random(2).sample(place.members, len(place.members))
    second = shuffled.propose()
    assert first == second
    assert first == place.propose()


def test_natural_order_of_names():
    names = ["10栋", "2栋", "1栋", "B座", "A座"]
    assert sorted(names, key=natural) == ["1栋", "2栋", "10栋", "A座", "B座"]


def test_team_size_below_one_is_refused():
    with pytest.raises(ValueError, match="team_size"):
        propose(members=[], households=[], team_size=0)


def test_the_benchmark_community_is_shaped_like_a_real_one():
    community = build_community()
    members, households = community["members"], community["households"]
    assert (len(members), len(households)) == (600, 5000)
    assert len(community["estate_names"]) >= 3
    assert set(community["building_names"]) - {m.building_id for m in members}  # buildings nobody lives in
    assert 30 <= sum(m.light_duty for m in members) <= 90
    floors = {}
    for h in households:
        floors[h.building_id] = max(floors.get(h.building_id, 0), h.floor)
    assert min(floors.values()) >= 6
    assert max(floors.values()) <= 33


def test_the_bench_command_times_the_proposal(tmp_path):
    out = StringIO()
    call_command("bench", only_zoning=True, runs=2, warmup=0, output_dir=str(tmp_path), stdout=out)
    assert out.getvalue().startswith("OK  zoning proposal (600 members, 5000 households")
    written = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert written["zoning"]["covered_once"] is True
    assert written["zoning"]["median_ms"] < written["zoning"]["target_ms"]
