"""Proposing teams and zones (包干到户, F4): a pure function of members and households, no database.

What staff of a community do by hand with a spreadsheet (S1: 300 members in teams of three, each team
holding a few floors of the building they live in), proposed in one call:

- Members are grouped by where they live. Inside an estate (小区), every building with at least a team's
  worth of members is a *host*; every other building (few members, or none) joins the nearest host
  in the same estate (buildings are "near" when their names sort next to each other: 3栋 is next to
  4栋). An estate with no host at all is one group around its most populated building.
- In a group, members and households are laid out in the same order (building, then floor), members
  are cut into teams of `team_size` (a leftover of one or two joins the teams instead of forming a
  team of its own, unless they are all there is), and households into as many zones, of sizes that
  differ by at most one. Team i holds zone i: the members of the lower floors hold the lower floors.
- Members who asked for fewer duties (`light_duty`) join the team holding their own floor without
  adding to the team count, get fewer neighbour links, and are never suggested as team leader or
  building head. (An estate where everyone asked for fewer duties is still organised: they are all
  there is.)
- An estate with households but no member living in it is held by the teams of the nearest estate
  that has members (the group with the lightest load takes it). With no member at all, nothing is
  proposed and the households are listed as uncovered, with a note saying so.
- Each member is linked to a few households nearest their own home (党员联户), preferring households
  nobody else is linked to yet.

Deterministic (everything is ordered by names, floors and ids, never by hash order), and linear
apart from a few sorts: 600 members and 5,000 households take a few milliseconds.
"""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from huijia.core.sorting import natural_key as natural

DEFAULT_TEAM_SIZE = 3
DEFAULT_LINKS = 3
LIGHT_DUTY_LINKS = 1


@dataclass(frozen=True, slots=True)
class MemberIn:
    """A member living in the area being organised."""

    id: int
    building_id: int
    floor: int
    light_duty: bool = False
    estate_id: int | None = None  # needed only when their building has no household in the input
    household_id: int | None = None  # their own home, never linked to themselves


@dataclass(frozen=True, slots=True)
class HouseholdIn:
    id: int
    building_id: int
    estate_id: int
    unit: str
    floor: int
    room: str


@dataclass(slots=True)
class TeamOut:
    """One proposed team: its members (leader suggested), its zone and a label such as "3栋 24–27层"."""

    name: str
    estate_id: int
    building_id: int  # the building most of its zone lies in
    member_ids: list[int]
    leader_id: int | None
    household_ids: list[int]
    label: str


@dataclass(slots=True)
class Proposal:
    teams: list[TeamOut] = field(default_factory=list)
    links: dict[int, list[int]] = field(default_factory=dict)  # member id -> household ids (党员联户)
    building_heads: dict[int, int] = field(default_factory=dict)  # building id -> suggested member id
    uncovered: list[int] = field(default_factory=list)  # households no team could take
    notes: list[str] = field(default_factory=list)  # what staff should know, in plain words


def floor_label(building: str, floors: Iterable[int]) -> str:
    floors = list(floors)
    low, high = min(floors), max(floors)
    if low == high:
        return _("{b} {f}层").format(b=building, f=low)
    return _("{b} {low}–{high}层").format(b=building, low=low, high=high)


def even_cuts(count: int, parts: int) -> list[int]:
    """Boundaries cutting `count` items into `parts` runs whose lengths differ by at most one."""
    return [j * count // parts for j in range(parts + 1)]


@dataclass(slots=True)
class _Group:
    """Buildings organised together: their households in order, and the members who will hold them."""

    estate_id: int
    buildings: list[int]  # in the estate's natural order
    capacity: list[MemberIn] = field(default_factory=list)  # members making up the teams
    extra: list[MemberIn] = field(default_factory=list)  # light-duty members joining them
    households: list[HouseholdIn] = field(default_factory=list)
    more_buildings: list[int] = field(default_factory=list)  # appended from a memberless estate


class _Planner:
    def __init__(self, members, households, *, team_size, links, light_links, building_names, estate_names):
        if team_size < 1:
            raise ValueError("team_size must be at least 1")
        self.k = team_size
        self.links_per_member, self.light_links = links, light_links
        self.bname = lambda b: building_names.get(b) or f"#{b}"
        self.ename = lambda e: estate_names.get(e) or f"#{e}"
        self.proposal = Proposal()
        self.by_building: dict[int, list[HouseholdIn]] = defaultdict(list)
        self.estate_of: dict[int, int] = {}
        for h in households:
            self.by_building[h.building_id].append(h)
            self.estate_of[h.building_id] = h.estate_id
        for rows in self.by_building.values():
            rows.sort(key=lambda h: (h.floor, natural(h.unit), natural(h.room), h.id))
        self.members = sorted(members, key=lambda m: (m.building_id, m.floor, m.id))
        for m in self.members:
            if m.building_id not in self.estate_of and m.estate_id is not None:
                self.estate_of[m.building_id] = m.estate_id
        self.members = [m for m in self.members if m.building_id in self.estate_of]
        building_key = {b: (natural(self.bname(b)), b) for b in self.estate_of}
        self.estates: dict[int, list[int]] = defaultdict(list)
        for b in sorted(self.estate_of, key=building_key.__getitem__):
            self.estates[self.estate_of[b]].append(b)
        self.estate_order = sorted(self.estates, key=lambda e: (natural(self.ename(e)), e))

    # --- groups -----------------------------------------------------------------------------------

    def groups_of_estate(self, estate_id: int, members: list[MemberIn]) -> list[_Group]:
        buildings = self.estates[estate_id]
        full = [m for m in members if not m.light_duty]
        if not full:
            self.note(_("{e}的党员都申请了少安排任务，仍按实际人数编组。").format(e=self.ename(estate_id)))
        capacity = full or members
        counts = defaultdict(int)
        for m in capacity:
            counts[m.building_id] += 1
        index = {b: i for i, b in enumerate(buildings)}
        lived_in = {m.building_id for m in members}
        capacity_ids = {m.id for m in capacity}
        hosts = [b for b in buildings if counts[b] >= self.k]
        if not hosts:
            hosts = [max(buildings, key=lambda b: (counts[b], -index[b]))]
        host_of = {
            b: b if b in hosts else min(hosts, key=lambda h: (abs(index[h] - index[b]), index[h]))
            for b in buildings
        }
        groups = {h: _Group(estate_id=estate_id, buildings=[]) for h in hosts}
        for b in buildings:
            groups[host_of[b]].buildings.append(b)
            if b not in lived_in and self.by_building[b]:
                self.note(
                    _("{b}没有党员居住，由{h}的小组包干。").format(b=self.bname(b), h=self.bname(host_of[b]))
                )
        for m in members:
            group = groups[host_of[m.building_id]]
            (group.capacity if m.id in capacity_ids else group.extra).append(m)
        return [groups[h] for h in hosts]

    def attach_memberless_estates(self, groups: dict[int, list[_Group]]) -> None:
        with_members = [e for e in self.estate_order if groups.get(e)]
        for estate_id in self.estate_order:
            if groups.get(estate_id) or not any(self.by_building[b] for b in self.estates[estate_id]):
                continue
            if not with_members:
                continue
            me = self.estate_order.index(estate_id)
            nearest = min(with_members, key=lambda e: (abs(self.estate_order.index(e) - me), e))
            target = min(groups[nearest], key=self.load)
            target.more_buildings.extend(self.estates[estate_id])
            self.note(
                _("{e}没有党员居住，由{n}的小组包干。").format(e=self.ename(estate_id), n=self.ename(nearest))
            )

    def load(self, group: _Group) -> float:
        """Households per team the group would have as it stands (before splitting it)."""
        households = sum(len(self.by_building[b]) for b in group.buildings + group.more_buildings)
        return households / max(1, min(len(group.capacity) // self.k, households))

    # --- teams and zones of one group ---------------------------------------------------------------

    def split(self, group: _Group) -> None:
        order = group.buildings + group.more_buildings
        rank = {b: i for i, b in enumerate(order)}
        group.households = [h for b in order for h in self.by_building[b]]
        households = group.households
        if not households:
            if group.capacity:
                self.note(_("{b}一带没有住户，这些党员暂未编组。").format(b=self.bname(group.buildings[0])))
            return
        keys = [(rank[h.building_id], h.floor) for h in households]

        def position(m: MemberIn) -> int:
            return min(bisect_left(keys, (rank[m.building_id], m.floor)), len(keys) - 1)

        capacity = sorted(group.capacity, key=lambda m: (rank[m.building_id], m.floor, m.id))
        teams = max(1, min(len(capacity) // self.k, len(households)))
        if len(capacity) > teams * (self.k + 1) and teams == len(households):
            self.note(
                _("{b}一带党员多于住户，每组人数多于{k}人。").format(
                    b=self.bname(group.buildings[0]), k=self.k
                )
            )
        people, zones = even_cuts(len(capacity), teams), even_cuts(len(households), teams)
        crews = [list(capacity[people[j] : people[j + 1]]) for j in range(teams)]
        spans = [(zones[j], zones[j + 1]) for j in range(teams)]
        light_count = [0] * teams
        for m in sorted(group.extra, key=lambda m: (rank[m.building_id], m.floor, m.id)):
            p = position(m)
            j = min(range(teams), key=lambda j: (_distance(p, spans[j]), light_count[j], j))
            crews[j].append(m)
            light_count[j] += 1
        for j in range(teams):
            zone = households[spans[j][0] : spans[j][1]]
            middle = (spans[j][0] + spans[j][1] - 1) / 2
            able = [m for m in crews[j] if not m.light_duty]
            leader = min(able, key=lambda m: (abs(position(m) - middle), m.floor, m.id)) if able else None
            self.proposal.teams.append(self.team(group.estate_id, crews[j], leader, zone))

    def team(self, estate_id: int, crew: list[MemberIn], leader: MemberIn | None, zone) -> TeamOut:
        floors: dict[int, list[int]] = {}
        for h in zone:
            floors.setdefault(h.building_id, []).append(h.floor)
        main = max(floors, key=lambda b: (len(floors[b]), -list(floors).index(b)))
        label = "、".join(floor_label(self.bname(b), fs) for b, fs in floors.items())
        ordered = sorted(crew, key=lambda m: (m is not leader, m.light_duty, m.building_id, m.floor, m.id))
        return TeamOut(
            name="",
            estate_id=self.estate_of.get(main, estate_id),
            building_id=main,
            member_ids=[m.id for m in ordered],
            leader_id=leader.id if leader else None,
            household_ids=[h.id for h in zone],
            label=label,
        )

    def name_teams(self) -> None:
        numbers: dict[int, int] = defaultdict(int)
        for team in self.proposal.teams:
            numbers[team.building_id] += 1
            team.name = _("{b}第{n}组").format(b=self.bname(team.building_id), n=numbers[team.building_id])

    # --- building heads and neighbour links ---------------------------------------------------------

    def suggest_building_heads(self) -> None:
        leaders = {t.leader_id for t in self.proposal.teams if t.leader_id is not None}
        placed = {mid for t in self.proposal.teams for mid in t.member_ids}
        candidates: dict[int, list[MemberIn]] = defaultdict(list)
        for m in self.members:
            if not m.light_duty and m.id in placed:
                candidates[m.building_id].append(m)
        for b in sorted(candidates, key=lambda b: (natural(self.bname(b)), b)):
            floors = [h.floor for h in self.by_building[b]] or [m.floor for m in candidates[b]]
            middle = (min(floors) + max(floors)) / 2
            best = min(candidates[b], key=lambda m: (m.id not in leaders, abs(m.floor - middle), m.id))
            self.proposal.building_heads[b] = best.id

    def link_neighbours(self) -> None:
        taken: set[int] = set()
        placed = {mid for t in self.proposal.teams for mid in t.member_ids}
        for m in self.members:
            if m.id not in placed:
                continue
            wanted = self.light_links if m.light_duty else self.links_per_member
            near = [h for h in _outward(self.by_building[m.building_id], m.floor) if h.id != m.household_id]
            chosen = [h for h in near if h.id not in taken][:wanted]
            if len(chosen) < wanted:
                chosen += [h for h in near if h.id in taken][: wanted - len(chosen)]
            if chosen:
                self.proposal.links[m.id] = [h.id for h in chosen]
                taken.update(h.id for h in chosen)

    def note(self, text: str) -> None:
        if text not in self.proposal.notes:
            self.proposal.notes.append(text)

    # --- the whole run ------------------------------------------------------------------------------

    def run(self) -> Proposal:
        by_estate: dict[int, list[MemberIn]] = defaultdict(list)
        for m in self.members:
            by_estate[self.estate_of[m.building_id]].append(m)
        groups = {e: self.groups_of_estate(e, by_estate[e]) for e in self.estate_order if by_estate[e]}
        self.attach_memberless_estates(groups)
        for e in self.estate_order:
            for group in groups.get(e, []):
                self.split(group)
        covered = {hid for t in self.proposal.teams for hid in t.household_ids}
        self.proposal.uncovered = [
            h.id
            for e in self.estate_order
            for b in self.estates[e]
            for h in self.by_building[b]
            if h.id not in covered
        ]
        if not self.members:
            self.note(_("这里还没有已报到的党员居住，没有生成小组。"))
        if self.proposal.uncovered:
            self.note(_("有{n}户暂时没有小组包干。").format(n=len(self.proposal.uncovered)))
        self.name_teams()
        self.suggest_building_heads()
        self.link_neighbours()
        return self.proposal


def _distance(p: int, span: tuple[int, int]) -> int:
    start, end = span
    if p < start:
        return start - p
    return 0 if p < end else p - end + 1


def _outward(rows: list[HouseholdIn], floor: int) -> list[HouseholdIn]:
    """A building's households ordered by distance from `floor` (same floor first, then one up or
    down, and so on; below before above at equal distance)."""
    at = bisect_left([h.floor for h in rows], floor)
    out: list[HouseholdIn] = []
    below, above = at - 1, at
    while below >= 0 or above < len(rows):
        down = floor - rows[below].floor if below >= 0 else None
        up = rows[above].floor - floor if above < len(rows) else None
        if up is None or (down is not None and down <= up):
            out.append(rows[below])
            below -= 1
        else:
            out.append(rows[above])
            above += 1
    return out


def propose(
    *,
    members: Iterable[MemberIn],
    households: Iterable[HouseholdIn],
    team_size: int = DEFAULT_TEAM_SIZE,
    links: int = DEFAULT_LINKS,
    light_duty_links: int = LIGHT_DUTY_LINKS,
    building_names: Mapping[int, str] | None = None,
    estate_names: Mapping[int, str] | None = None,
) -> Proposal:
    """Teams, their zones, neighbour links and building-head suggestions for one estate or community.

    `members` are the members living there (approved, reporting in this community); `households` every
    household there. Names only serve labels and the order of buildings and estates.
    """
    return _Planner(
        list(members),
        list(households),
        team_size=team_size,
        links=links,
        light_links=light_duty_links,
        building_names=building_names or {},
        estate_names=estate_names or {},
    ).run()
