"""Scoped reads of teams, zones and plans (包干到户, F4), each in a constant few queries.

Plans store ids; the names, floors and rooms shown with them are read here in bulk (one query for the
members, one for the households, one for the area names), never row by row.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Prefetch, Q, QuerySet

from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Perm, Role
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.core.errors import NotFound
from huijia.core.personal import mask_mobile
from huijia.grid.models import Area, AreaKind, Household
from huijia.members.models import HouseholdAccess, Member, Team, TeamMembership, TeamPlan
from huijia.members.zoning import natural

RECENT_PLANS = 10


def _household_label(unit: str, room: str) -> str:
    return f"{unit}{room}室"


# --- plans ----------------------------------------------------------------------------------------


def plan_for(*, actor: Actor, plan_id: int) -> TeamPlan:
    """A plan the actor may see (missing and forbidden both NotFound)."""
    return get_visible(TeamPlan.objects.select_related("community", "estate", "created_by"), actor, plan_id)


def plans_for(*, actor: Actor, community: Area) -> list[TeamPlan]:
    """The latest plans of a community, newest first; `outdated` marks an open plan overtaken by a
    plan committed after it was proposed (it can no longer be committed). Two queries."""
    qs = restrict(TeamPlan.objects.filter(community=community), actor, Perm.VIEW)
    plans = list(
        qs.select_related("estate", "created_by").defer("data").order_by("-created_at", "-pk")[:RECENT_PLANS]
    )
    commits = list(qs.exclude(committed_at=None).values_list("estate_id", "committed_at")) if plans else []
    for plan in plans:
        plan.outdated = plan.committed_at is None and any(
            at > plan.created_at and (plan.estate_id is None or estate is None or estate == plan.estate_id)
            for estate, at in commits
        )
    return plans


def plan_outdated(*, plan: TeamPlan) -> bool:
    """Whether a plan committed after this one was proposed covers part of its scope (then this one
    may no longer be committed: it was drawn on teams that are gone)."""
    newer = TeamPlan.objects.filter(community_id=plan.community_id, committed_at__gt=plan.created_at)
    if plan.estate_id:
        newer = newer.filter(Q(estate=None) | Q(estate=plan.estate_id))
    return plan.committed_at is None and newer.exists()


@dataclass(slots=True)
class PlanMember:
    id: int
    name: str
    masked_phone: str
    home: str  # "3栋 1单元101室"
    building_id: int | None
    floor: int | None
    light_duty: bool
    leader: bool = False
    building_head: bool = False  # suggested as the building's head


@dataclass(slots=True)
class PlanHousehold:
    id: int
    building_id: int
    floor: int
    label: str  # "1单元101室"
    building_name: str = ""


@dataclass(slots=True)
class PlanTeam:
    key: int
    name: str
    label: str
    building_id: int | None
    members: list[PlanMember]
    households: list[PlanHousehold]
    floors: list[tuple[str, list[PlanHousehold]]] = field(default_factory=list)  # (floor label, rooms)

    @property
    def load(self) -> int:
        return len(self.households)


@dataclass(slots=True)
class PlanBuilding:
    id: int
    name: str
    estate_name: str
    teams: list[PlanTeam]
    households: int
    members: int

    @property
    def load_range(self) -> str:
        loads = [t.load for t in self.teams]
        if not loads:
            return "—"
        low, high = min(loads), max(loads)
        return str(low) if low == high else f"{low}–{high}"


@dataclass(slots=True)
class PlanView:
    plan: TeamPlan
    buildings: list[PlanBuilding]
    selected: PlanBuilding | None
    team_choices: list[tuple[int, str]]  # (key, "name · label"): teams of the chosen building's estate
    all_choices: list[tuple[int, str]]  # every team of the plan
    uncovered: list[PlanHousehold]
    notes: list[str]
    links: int
    totals: dict[str, int]


def _plan_members(ids) -> dict[int, PlanMember]:
    rows = Member.objects.filter(pk__in=list(ids)).values_list(
        "pk",
        "name",
        "phone",
        "light_duty",
        "household__building_id",
        "household__building__name",
        "household__floor",
        "household__unit",
        "household__room",
    )
    out = {}
    for pk, name, phone, light, building_id, building, floor, unit, room in rows:
        home = f"{building} {_household_label(unit, room)}" if building else "—"
        out[pk] = PlanMember(pk, name, mask_mobile(phone), home, building_id, floor, light)
    return out


def _scope_households(scope: Area) -> dict[int, PlanHousehold]:
    rows = Household.objects.filter(building__path__startswith=scope.path).values_list(
        "pk", "building_id", "floor", "unit", "room", "building__name"
    )
    return {pk: PlanHousehold(pk, b, f, _household_label(u, r), name) for pk, b, f, u, r, name in rows}


def _by_floor(
    households: list[PlanHousehold], names: dict[int, str]
) -> list[tuple[str, list[PlanHousehold]]]:
    groups: dict[tuple[int, int], list[PlanHousehold]] = defaultdict(list)
    for h in households:
        groups[(h.building_id, h.floor)].append(h)
    return [(f"{names.get(b, '')} {f}层", rows) for (b, f), rows in groups.items()]


def plan_view(*, plan: TeamPlan, building_id: int | None = None) -> PlanView:
    """A plan as the screen shows it: building by building, the teams of each (members, floor range,
    household count); the households of one building's teams in full. Four queries."""
    data = plan.data
    scope = plan.estate or plan.community
    areas = Area.objects.filter(path__startswith=scope.path, kind__in=[AreaKind.ESTATE, AreaKind.BUILDING])
    names, parents = {}, {}
    for pk, name, parent in areas.values_list("pk", "name", "parent_id"):
        names[pk], parents[pk] = name, parent
    members = _plan_members(m for t in data["teams"] for m in t["member_ids"])
    households = _scope_households(scope)
    heads = {int(m) for m in data.get("building_heads", {}).values()}
    by_building: dict[int | None, list[PlanTeam]] = defaultdict(list)
    for t in data["teams"]:
        crew = [members[m] for m in t["member_ids"] if m in members]
        for m in crew:
            m.leader = m.id == t["leader_id"]
            m.building_head = m.id in heads
        zone = [households[h] for h in t["household_ids"] if h in households]
        by_building[t["building_id"]].append(
            PlanTeam(t["key"], t["name"], t["label"], t["building_id"], crew, zone)
        )
    buildings = []
    for b, teams in by_building.items():
        buildings.append(
            PlanBuilding(
                id=b or 0,
                name=names.get(b, "—"),
                estate_name=names.get(parents.get(b), ""),
                teams=teams,
                households=sum(t.load for t in teams),
                members=sum(len(t.members) for t in teams),
            )
        )
    buildings.sort(key=lambda x: (natural(x.estate_name), natural(x.name), x.id))
    selected = next((x for x in buildings if x.id == building_id), buildings[0] if buildings else None)
    if selected is not None:
        for team in selected.teams:
            team.floors = _by_floor(team.households, names)
    choices = [(t["key"], f"{t['name']} · {t['label'] or '—'}", t["estate_id"]) for t in data["teams"]]
    estate = parents.get(selected.id) if selected else None
    return PlanView(
        plan=plan,
        buildings=buildings,
        selected=selected,
        team_choices=[(k, label) for k, label, e in choices if e == estate],
        all_choices=[(k, label) for k, label, _e in choices],
        uncovered=[households[h] for h in data.get("uncovered", []) if h in households],
        notes=data.get("notes", []),
        links=sum(len(v) for v in data.get("links", {}).values()),
        totals={
            "teams": len(data["teams"]),
            "members": len(members),
            "households": sum(len(t["household_ids"]) for t in data["teams"]),
        },
    )


# --- teams in force, and their history ------------------------------------------------------------


def teams_for(*, actor: Actor, community_id: int | None = None, active: bool = True) -> QuerySet[Team]:
    """Teams the actor may see (staff: their area; a member: their own team), with members and the
    number of households held; in force (`active`) or ended (history, newest first). Two queries
    plus the count of a page."""
    qs = restrict(Team.objects.all(), actor, Perm.VIEW)
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if active:
        qs = qs.filter(ended_at=None).annotate(households=Count("zone", filter=Q(zone__ended_at=None)))
        memberships = TeamMembership.objects.filter(ended_at=None)
        order = ("estate__name", "building__name", "name", "pk")
    else:
        qs = qs.exclude(ended_at=None).annotate(households=Count("zone"))
        memberships = TeamMembership.objects.all()
        order = ("-ended_at", "-pk")
    crew = memberships.select_related("member").only("team_id", "is_leader", "member__id", "member__name")
    return (
        qs.select_related("estate", "building")
        .only(
            *("id", "name", "zone_label", "created_at", "ended_at", "community_id"),
            *("estate__id", "estate__name", "building__id", "building__name"),
        )
        .prefetch_related(Prefetch("memberships", queryset=crew.order_by("-is_leader", "pk"), to_attr="crew"))
        .order_by(*order)
    )


@dataclass(slots=True)
class Holder:
    member_id: int | None  # None: an account that is not a member's (e.g. a staff member)
    name: str


@dataclass(slots=True)
class AppointmentRow:
    """An estate or building of a community, who holds its role now, and whom staff may appoint."""

    area: Area
    role: str
    holders: list[Holder]
    candidates: list[Holder]
    estate_name: str = ""


def appointments_for(*, community: Area) -> list[AppointmentRow]:
    """Every estate and building of the community with who holds its branch secretary / building head
    role, and the members living there who may be appointed (with an account, not asking for fewer
    duties).
    Three queries. The caller has checked that the actor may see the community."""
    areas = list(
        Area.objects.filter(
            path__startswith=community.path, kind__in=[AreaKind.ESTATE, AreaKind.BUILDING]
        ).only("id", "name", "kind", "path", "parent_id")
    )
    estate_ids = {a.pk for a in areas if a.kind == AreaKind.ESTATE}
    grants = RoleGrant.objects.filter(
        role__in=[Role.ESTATE, Role.BUILDING], area__path__startswith=community.path
    ).values_list(
        "area_id", "role", "user__member__id", "user__member__name", "user__display_name", "user__username"
    )
    holders: dict[int, list[Holder]] = defaultdict(list)
    for area_id, role, member_id, name, display_name, username in grants.order_by("pk"):
        if (role == Role.ESTATE) == (area_id in estate_ids):  # a role on its own kind of area
            holders[area_id].append(Holder(member_id, name or display_name or username))
    candidates: dict[int, list[Holder]] = defaultdict(list)
    members = Member.objects.filter(
        community=community, light_duty=False, household__isnull=False, user__isnull=False
    ).values_list("pk", "name", "household__building_id", "household__building__parent_id")
    for pk, name, building_id, estate_id in members.order_by("name", "pk"):
        candidates[building_id].append(Holder(pk, name))
        candidates[estate_id].append(Holder(pk, name))
    estates = {a.pk: a for a in areas if a.kind == AreaKind.ESTATE}
    rows = []
    for estate in sorted(estates.values(), key=lambda a: (natural(a.name), a.pk)):
        rows.append(AppointmentRow(estate, Role.ESTATE, holders[estate.pk], candidates[estate.pk]))
        buildings = [a for a in areas if a.parent_id == estate.pk and a.kind == AreaKind.BUILDING]
        for b in sorted(buildings, key=lambda a: (natural(a.name), a.pk)):
            rows.append(AppointmentRow(b, Role.BUILDING, holders[b.pk], candidates[b.pk], estate.name))
    return rows


# --- a member's own team and households -----------------------------------------------------------


@dataclass(slots=True)
class MyHousehold:
    id: int
    building: str
    estate: str
    building_id: int
    estate_id: int | None
    unit: str
    floor: int
    room: str
    by_zone: bool
    by_link: bool
    by_care: bool
    last_visited_on: date | None = None

    @property
    def label(self) -> str:
        return _household_label(self.unit, self.room)

    @property
    def reasons(self) -> list[str]:
        return [r for r, on in (("zone", self.by_zone), ("link", self.by_link), ("care", self.by_care)) if on]


def _last_visits(household_ids: list[int]) -> dict[int, date] | None:
    """Latest visit dates from the visits app, or None while it offers no such read."""
    try:
        from huijia.visits.selectors import last_visits  # visits builds on members: read lazily
    except ImportError:
        return None
    return last_visits(household_ids)


def my_households(*, actor: Actor) -> list[MyHousehold]:
    """The households the signed-in member may visit, and why (their team's zone, a neighbour link,
    a care pairing), with the date of each household's latest visit. Two queries."""
    if not actor.member_id:
        raise NotFound()
    rows = (
        HouseholdAccess.objects.filter(member_id=actor.member_id)
        .values_list(
            "household_id",
            "household__building__name",
            "household__building__parent__name",
            "household__building_id",
            "household__building__parent_id",
            "household__unit",
            "household__floor",
            "household__room",
            "by_zone",
            "by_link",
            "by_care",
        )
        .order_by("household__building__parent__name", "household__building__name", "household__floor", "pk")
    )
    out = [MyHousehold(*row) for row in rows]
    out.sort(
        key=lambda h: (
            natural(h.estate or ""),
            natural(h.building),
            h.floor,
            natural(h.unit),
            natural(h.room),
        )
    )
    visits = _last_visits([h.id for h in out]) or {}
    for h in out:
        h.last_visited_on = visits.get(h.id)
    return out


@dataclass(slots=True)
class Teammate:
    id: int
    name: str
    masked_phone: str
    leader: bool
    is_me: bool


@dataclass(slots=True)
class MyTeam:
    team: Team | None
    teammates: list[Teammate]
    households: list[MyHousehold]

    @property
    def zone(self) -> list[MyHousehold]:
        return [h for h in self.households if h.by_zone]

    @property
    def zone_floors(self) -> list[tuple[str, list[MyHousehold]]]:
        """The zone floor by floor ("3栋 5层", its households), for a compact list on a phone."""
        floors: dict[tuple[int, int], list[MyHousehold]] = {}
        for h in self.zone:
            floors.setdefault((h.building_id, h.floor), []).append(h)
        return [(f"{rows[0].building} {rows[0].floor}层", rows) for rows in floors.values()]

    @property
    def linked(self) -> list[MyHousehold]:
        return [h for h in self.households if h.by_link]

    @property
    def paired(self) -> list[MyHousehold]:
        return [h for h in self.households if h.by_care]


def my_team(*, actor: Actor) -> MyTeam:
    """The member's team in force (if any), their teammates with masked phones, and their households.
    Four queries."""
    if not actor.member_id:
        raise NotFound()
    membership = (
        TeamMembership.objects.filter(member_id=actor.member_id, ended_at=None)
        .select_related("team", "team__building")
        .first()
    )
    teammates = []
    if membership is not None:
        crew = (
            TeamMembership.objects.filter(team_id=membership.team_id, ended_at=None)
            .select_related("member")
            .only("is_leader", "member__id", "member__name", "member__phone")
            .order_by("-is_leader", "pk")
        )
        teammates = [
            Teammate(
                m.member.pk, m.member.name, m.member.masked_phone, m.is_leader, m.member.pk == actor.member_id
            )
            for m in crew
        ]
    return MyTeam(membership.team if membership else None, teammates, my_households(actor=actor))


def last_visits_available() -> bool:
    return _last_visits([]) is not None
