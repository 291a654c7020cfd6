"""Scoped reads of the three lists (三单管理, F6): resources, needs, service items and claims.

Every read goes through the actor's scope (accounts.scope): staff see the rows of their subtree (an
estate's branch secretary the members and needs of their estate), a work unit's organiser its own
members and the service items of the communities its members report to, a member the service list of
their own community. Each list is a fixed few queries whatever its length.

Filters and their indexes: members by community (Member.community's index) — skill and free time are
then picked out in Python among that one community's members (a few hundred); needs by community and
status (need_community_status); service items by community and status (service_item_community);
claims by item (ServiceClaim.item's index); open demands of a community (demand_community_status).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict, scope_q
from huijia.core.errors import NotFound
from huijia.demands.matching import Suggestion, suggest_members
from huijia.demands.models import (
    OPEN_STATUSES,
    Demand,
    Need,
    NeedStatus,
    ServiceClaim,
    ServiceItem,
    ServiceItemStatus,
)
from huijia.grid.models import Area, AreaKind, Household
from huijia.members.models import FreeTime, Member, Team
from huijia.members.selectors import in_community

OPEN_ITEM = (ServiceItemStatus.PUBLISHED, ServiceItemStatus.CLAIMED)
ACTIVE_NEED = (NeedStatus.OPEN, NeedStatus.SERVING)


def _count(qs, key: str):
    counted = qs.order_by().values(key).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


# --- the community the lists are about -----------------------------------------------------------------


def unit_communities(unit_ids):
    """Communities where members of these work units report: where the units may claim services
    (the rule until unit–community pairings exist), as a subquery."""
    return (
        Member.objects.filter(work_unit_id__in=list(unit_ids), community__isnull=False)
        .values("community_id")
        .distinct()
    )


def _community_q(actor: Actor) -> Q | None:
    """Communities an actor works in: at or below one of their grants, above one (an estate's
    secretary works in its community), or where their work unit's members report."""
    clauses = [Q(path__startswith=p) for p in actor.paths(Perm.VIEW)]
    above = {int(part) for _, path in actor.area_grants for part in path.strip("/").split("/") if part}
    if above:
        clauses.append(Q(pk__in=sorted(above)))
    if units := actor.work_units(Perm.VIEW):
        clauses.append(Q(pk__in=unit_communities(units)))
    if not clauses:
        return None
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return combined


def list_communities(*, actor: Actor) -> list[Area]:
    """The communities of the lists' community picker (1 query). The rows shown inside one are still
    scoped row by row: a branch secretary picking their community sees their estate's part of it."""
    qs = Area.objects.filter(kind=AreaKind.COMMUNITY).only("id", "name", "path", "kind")
    if not actor.is_superuser:
        q = _community_q(actor)
        if q is None:
            return []
        qs = qs.filter(q)
    return list(qs.order_by("name", "pk"))


def list_community(*, actor: Actor, community_id: int | None) -> Area:
    """One community of the picker; NotFound for any other id."""
    qs = Area.objects.filter(kind=AreaKind.COMMUNITY, pk=community_id)
    if not actor.is_superuser:
        q = _community_q(actor)
        qs = qs.filter(q) if q is not None else qs.none()
    community = qs.first() if community_id is not None else None
    if community is None:
        raise NotFound()
    return community


# --- resources (资源清单) --------------------------------------------------------------------------------

FREE_TIME_LABELS = dict(FreeTime.choices)


@dataclass
class MemberBrief:
    """A member as the resource list shows them: no phone number, no ID number."""

    id: int
    name: str
    estate: str
    building: str
    resources: str
    free_time: list[str]
    light_duty: bool
    skills: list[str] = field(default_factory=list)

    @property
    def place(self) -> str:
        return " ".join(p for p in (self.estate, self.building) if p)

    @property
    def free_time_labels(self) -> list[str]:
        return [str(FREE_TIME_LABELS.get(t, t)) for t in self.free_time]


@dataclass
class SkillGroup:
    skill_id: int
    name: str
    category: str
    members: list[MemberBrief] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.members)


@dataclass
class ResourceList:
    """What a community's reporting members offer, grouped by skill, with the filter options."""

    community: Area
    total: int  # members in the actor's view of the community, before filters
    members: list[MemberBrief]  # after filters
    groups: list[SkillGroup]  # after filters, most members first
    no_skill: list[MemberBrief]
    with_resources: list[MemberBrief]
    skill_options: list[tuple[int, str, int]]  # (id, name, members) before filters
    free_time_counts: list[tuple[str, str, int]]  # (code, label, members) before filters
    skill_id: int | None = None
    free_time: str | None = None


MEMBER_VALUES = (
    *("id", "name", "resources", "free_time", "light_duty"),
    *("household__building__name", "household__building__parent__name"),
)


def resource_list(
    *,
    actor: Actor,
    community: Area,
    skill_id: int | None = None,
    free_time: str | None = None,
    perm: Perm = Perm.VIEW,
) -> ResourceList:
    """The resource list of a community as the actor may see it: 2 queries."""
    members_qs = in_community(Member.objects.all(), actor, community.pk, perm, path=community.path)
    rows = members_qs.order_by("name", "pk").values(*MEMBER_VALUES)
    members = {
        r["id"]: MemberBrief(
            id=r["id"],
            name=r["name"],
            estate=r["household__building__parent__name"] or "",
            building=r["household__building__name"] or "",
            resources=r["resources"],
            free_time=[t for t in r["free_time"] or () if isinstance(t, str)],
            light_duty=r["light_duty"],
        )
        for r in rows
    }
    links = Member.skills.through.objects.filter(member_id__in=members_qs.values("pk"))
    skills: dict[int, tuple[str, str]] = {}
    held: dict[int, set[int]] = defaultdict(set)
    for member_id, sid, name, category in links.order_by("skill__name").values_list(
        "member_id", "skill_id", "skill__name", "skill__category"
    ):
        if member_id in members:
            members[member_id].skills.append(name)
            skills[sid] = (name, category)
            held[sid].add(member_id)
    everyone = list(members.values())
    chosen = [
        m
        for m in everyone
        if (skill_id is None or m.id in held.get(skill_id, ()))
        and (not free_time or free_time in m.free_time)
    ]
    chosen_ids = {m.id for m in chosen}
    groups = [
        SkillGroup(sid, name, category, [members[i] for i in sorted(held[sid], key=_by_name(members))])
        for sid, (name, category) in skills.items()
        if skill_id is None or sid == skill_id
    ]
    for group in groups:
        group.members = [m for m in group.members if m.id in chosen_ids]
    groups = sorted((g for g in groups if g.members), key=lambda g: (-g.count, g.name))
    return ResourceList(
        community=community,
        total=len(everyone),
        members=chosen,
        groups=groups,
        no_skill=[m for m in chosen if not m.skills],
        with_resources=[m for m in chosen if m.resources],
        skill_options=sorted(
            ((sid, n, len(held[sid])) for sid, (n, _c) in skills.items()), key=lambda o: o[1]
        ),
        free_time_counts=[
            (code, str(label), sum(1 for m in everyone if code in m.free_time))
            for code, label in FreeTime.choices
        ],
        skill_id=skill_id,
        free_time=free_time or None,
    )


def _second(option: tuple) -> str:
    return option[1]


def _by_name(members: dict[int, MemberBrief]):
    return lambda member_id: (members[member_id].name, member_id)


# --- needs (需求清单) -------------------------------------------------------------------------------------


def needs_for(
    *, actor: Actor, community_id: int | None = None, status: str | None = None, active: bool = False
) -> QuerySet[Need]:
    """Needs the actor may see, newest first, with their counts of demands and service items."""
    qs = restrict(Need.objects.all(), actor, Perm.VIEW)
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if status:
        qs = qs.filter(status=status)
    elif active:
        qs = qs.filter(status__in=ACTIVE_NEED)
    demands = Need.demands.through.objects.filter(need_id=OuterRef("pk"))
    items = ServiceItem.needs.through.objects.filter(need_id=OuterRef("pk"))
    return (
        qs.select_related("category", "area__parent", "household__building__parent", "community")
        .annotate(demand_count=_count(demands, "need_id"), item_count=_count(items, "need_id"))
        .order_by("-created_at", "-pk")
    )


DEMAND_ROW = ("id", "tracking_code", "description", "status", "created_at", "category_id", "estate_id")


def _demand_rows() -> QuerySet[Demand]:
    return (
        Demand.objects.select_related("category", "estate", "household", "household__building", "area")
        .only(
            *DEMAND_ROW,
            *("area_id", "household_id", "community_id", "category__name", "estate__name", "area__name"),
            *("household__unit", "household__room", "household__building__name"),
        )
        .order_by("-created_at", "-pk")
    )


def need_for(*, actor: Actor, need_id: int) -> Need:
    """One need with its demands and the service items meeting it (4 queries)."""
    items = ServiceItem.objects.annotate(taken=_active_count()).order_by("-created_at", "-pk")
    need = (
        needs_for(actor=actor)
        .prefetch_related(
            Prefetch("demands", queryset=_demand_rows(), to_attr="demand_rows"),
            Prefetch("service_items", queryset=items, to_attr="item_rows"),
        )
        .filter(pk=need_id)
        .first()
    )
    if need is None:
        raise NotFound()
    return need


def need_matches(*, actor: Actor, need_id: int, limit: int = 10) -> tuple[Need, list[Suggestion]]:
    """A need the actor may see and the members proposed to serve it."""
    need = need_for(actor=actor, need_id=need_id)
    place = need.household.building if need.household_id else need.area
    return need, suggest_members(need.community_id, need.category, place, limit)


@dataclass
class Proposal:
    """Open demands of one category in one estate (or the community) not yet on the need list."""

    estate_id: int | None
    estate: str
    category_id: int
    category: str
    demands: list[Demand]

    @property
    def count(self) -> int:
        return len(self.demands)

    @property
    def demand_ids(self) -> str:
        return ",".join(str(d.pk) for d in self.demands)


def _unlisted_open(actor: Actor, community: Area) -> QuerySet[Demand]:
    listed = Need.demands.through.objects.filter(demand_id=OuterRef("pk"))
    return (
        restrict(Demand.objects.filter(community_id=community.pk), actor, Perm.VIEW)
        .filter(status__in=list(OPEN_STATUSES))
        .exclude(Exists(listed))
    )


def need_proposals(
    *, actor: Actor, community: Area, min_count: int = 2, singles: int = 10
) -> tuple[list[Proposal], list[Demand]]:
    """Groups of open demands the actor sees in a community that are not yet on the need list: the
    same category in the same estate, `min_count` or more of them (common needs to create), and the
    newest single demands of one household (individual needs). One query."""
    groups: dict[tuple, Proposal] = {}
    single: list[Demand] = []
    for demand in _demand_rows().filter(pk__in=_unlisted_open(actor, community).values("pk")):
        if demand.category_id is None:
            continue
        key = (demand.estate_id, demand.category_id)
        if key not in groups:
            estate = demand.estate.name if demand.estate else community.name
            groups[key] = Proposal(demand.estate_id, estate, demand.category_id, demand.category.name, [])
        groups[key].demands.append(demand)
    common = [g for g in groups.values() if g.count >= min_count]
    in_groups = {d.pk for g in common for d in g.demands}
    for group in groups.values():
        single += [d for d in group.demands if d.household_id and d.pk not in in_groups]
    single.sort(key=lambda d: (d.created_at, d.pk), reverse=True)
    return sorted(common, key=lambda g: (-g.count, g.estate, g.category)), single[:singles]


def need_households(*, actor: Actor, building_id: int | None) -> list[tuple[int, str]]:
    """(id, label) of the households of a building the actor manages needs in: the need form's
    household picker. NotFound for any other building."""
    building = Area.objects.filter(pk=building_id or -1, kind=AreaKind.BUILDING).first()
    if building is None or not actor.covers(Perm.MANAGE_DEMANDS, building.path):
        raise NotFound()
    rows = Household.objects.filter(building=building).order_by("unit", "floor", "room")
    return [(h.pk, f"{building.name} {h.label}") for h in rows]


def linkable_demands(*, actor: Actor, need: Need, limit: int = 20) -> list[Demand]:
    """Open demands of the need's community (same category first) that could be filed under it."""
    community = Area(pk=need.community_id)
    rows = list(_demand_rows().filter(pk__in=_unlisted_open(actor, community).values("pk"))[:200])
    rows.sort(key=lambda d: (d.category_id != need.category_id, -d.created_at.timestamp()))
    return rows[:limit]


# --- service items (服务清单) -------------------------------------------------------------------------------


def visible_items(actor: Actor) -> QuerySet[ServiceItem]:
    """Items the actor sees: by scope (staff, the members of the community), plus, for a work unit's
    organiser, the items of the communities where the unit's members report."""
    if actor.is_superuser:
        return ServiceItem.objects.all()
    clauses = []
    if (q := scope_q(ServiceItem, actor, Perm.VIEW)) is not None:
        clauses.append(q)
    if units := actor.work_units(Perm.VIEW):
        clauses.append(Q(community_id__in=unit_communities(units)))
    if not clauses:
        return ServiceItem.objects.none()
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return ServiceItem.objects.filter(combined)


def _active_count():
    return _count(ServiceClaim.objects.filter(item_id=OuterRef("pk"), withdrawn_at=None), "item_id")


def _claims(active_only: bool) -> QuerySet[ServiceClaim]:
    qs = ServiceClaim.objects.select_related("member", "team", "work_unit").only(
        *("id", "item_id", "kind", "note", "claimed_at", "withdrawn_at", "claimed_by_id"),
        *("member__id", "member__name", "team__id", "team__name", "work_unit__id", "work_unit__name"),
    )
    if active_only:
        qs = qs.filter(withdrawn_at=None)
    return qs.order_by("claimed_at", "pk")


def _unit_claim(actor: Actor):
    units = actor.work_units(Perm.VIEW)
    mine = ServiceClaim.objects.filter(item_id=OuterRef("pk"), withdrawn_at=None, work_unit_id__in=units)
    return Subquery(mine.values("pk")[:1]) if units else Value(None, output_field=IntegerField())


def services_for(
    *, actor: Actor, community_id: int | None = None, status: str | None = None, open_only: bool = False
) -> QuerySet[ServiceItem]:
    """Service items the actor sees, newest first, with their active claims and linked needs."""
    qs = visible_items(actor)
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if status:
        qs = qs.filter(status=status)
    elif open_only:
        qs = qs.filter(status__in=OPEN_ITEM)
    return (
        qs.select_related("category", "community")
        .annotate(taken=_active_count(), unit_claim=_unit_claim(actor))
        .prefetch_related(
            Prefetch("needs", queryset=Need.objects.only("id", "title", "status"), to_attr="need_rows"),
            Prefetch("claims", queryset=_claims(active_only=True), to_attr="active_claims"),
        )
        .order_by("-created_at", "-pk")
    )


def service_for(*, actor: Actor, item_id: int) -> ServiceItem:
    """One item with its linked needs and every claim, withdrawn ones included."""
    item = (
        services_for(actor=actor)
        .prefetch_related(Prefetch("claims", queryset=_claims(active_only=False), to_attr="claim_rows"))
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise NotFound()
    return item


def claim_for(*, actor: Actor, claim_id: int) -> ServiceClaim:
    """A claim on an item the actor sees."""
    claim = (
        _claims(active_only=False)
        .select_related("item")
        .filter(pk=claim_id, item__in=visible_items(actor))
        .first()
    )
    if claim is None:
        raise NotFound()
    return claim


@dataclass
class MyServices:
    """The member's phone page: their community's open items, the teams they lead, what they did."""

    member: Member | None
    teams: list[Team]
    items: list[ServiceItem]
    done: list[ServiceItem]


def my_services(*, actor: Actor) -> MyServices:
    """The service list of the community the member reports to, with their own and their team's
    claims on each item (4 queries)."""
    member = (
        Member.objects.filter(pk=actor.member_id or -1)
        .select_related("community")
        .only("id", "name", "community__id", "community__name")
        .first()
    )
    if member is None or member.community_id is None:
        return MyServices(member, [], [], [])
    teams = list(
        Team.objects.filter(
            community_id=member.community_id,
            ended_at=None,
            memberships__member_id=member.pk,
            memberships__is_leader=True,
            memberships__ended_at=None,
        ).only("id", "name")
    )
    active = ServiceClaim.objects.filter(item_id=OuterRef("pk"), withdrawn_at=None)
    team_ids = [t.pk for t in teams]
    team_claim = active.filter(team_id__in=team_ids).values("pk")[:1]
    items = list(
        ServiceItem.objects.filter(community_id=member.community_id, status__in=OPEN_ITEM)
        .select_related("category")
        .annotate(
            taken=_active_count(),
            left=F("places") - _active_count(),
            my_claim=Subquery(active.filter(member_id=member.pk).values("pk")[:1]),
            team_claim=Subquery(team_claim) if team_ids else Value(None, output_field=IntegerField()),
        )
        .order_by("-created_at", "-pk")
    )
    done = list(
        ServiceItem.objects.filter(
            community_id=member.community_id,
            status=ServiceItemStatus.DONE,
            pk__in=ServiceClaim.objects.filter(member_id=member.pk, withdrawn_at=None).values("item_id"),
        )
        .select_related("category")
        .order_by("-created_at", "-pk")[:20]
    )
    return MyServices(member, teams, items, done)
