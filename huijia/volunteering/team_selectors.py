"""Scoped reads of service teams (服务队): lists, one team with its members, activities and record, a
member's own teams, and the teams a demand can be assigned to. Every read goes through `restrict`
(staff over the team's community; the team's own members), each in a constant few queries.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.demands.models import OPEN_STATUSES
from huijia.grid.models import Area, AreaKind
from huijia.members import selectors as member_selectors
from huijia.members.models import Member
from huijia.volunteering.minimum import counted
from huijia.volunteering.models import (
    Activity,
    ActivityStatus,
    ServiceRecord,
    ServiceTeam,
    ServiceTeamMember,
)

RECENT_ACTIVITIES = 20
MEMBER_PICKS = 30


def _crew(prefix: str = "") -> Prefetch:
    """The team's current members, leaders first, as `team.crew` (one query for all teams)."""
    rows = ServiceTeamMember.objects.filter(ended_at=None).select_related("member", "member__work_unit")
    rows = rows.only(
        *("team_id", "is_leader", "joined_at", "ended_at", "member__id", "member__name", "member__user"),
        "member__work_unit__name",
    )
    ordered = rows.order_by("-is_leader", "joined_at", "pk")
    return Prefetch(f"{prefix}memberships", queryset=ordered, to_attr="crew")


def team_communities(*, actor: Actor) -> list[Area]:
    """The communities whose teams the actor may see, for the list's picker (one query)."""
    qs = Area.objects.filter(kind=AreaKind.COMMUNITY).only("id", "name", "path")
    if not actor.is_superuser:
        paths = actor.paths(Perm.VIEW)
        if not paths:
            return []
        q = Q()
        for path in paths:
            q |= Q(path__startswith=path)
        qs = qs.filter(q)
    return list(qs.order_by("name", "pk"))


def teams_for(
    *, actor: Actor, community_id: int | None = None, active: bool = True, query: str = ""
) -> QuerySet[ServiceTeam]:
    """Teams the actor may see (staff: their area; a member: their own teams), with the number of
    members and the members themselves (leaders first): two queries plus the count of a page."""
    qs = restrict(ServiceTeam.objects.all(), actor, Perm.VIEW)
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    qs = qs.filter(ended_at=None) if active else qs.exclude(ended_at=None)
    if query:
        qs = qs.filter(name__contains=query)
    return (
        qs.select_related("community")
        .annotate(member_count=Count("memberships", filter=Q(memberships__ended_at=None)))
        .prefetch_related(_crew())
        .order_by("community__name", "name", "pk")
    )


def team_for(*, actor: Actor, team_id: int) -> ServiceTeam:
    """One team the actor may see, with its current members (missing and forbidden: NotFound)."""
    qs = ServiceTeam.objects.select_related("community", "created_by").prefetch_related(_crew())
    return get_visible(qs, actor, team_id)


def may_manage(actor: Actor, team: ServiceTeam) -> bool:
    """Whether the actor manages the team (community staff): the screens show the forms then."""
    return team.ended_at is None and actor.covers(Perm.MANAGE_VOLUNTEERING, team.community.path)


def leads(actor: Actor, team: ServiceTeam) -> bool:
    """Whether the actor is one of the team's leaders (reads the prefetched members)."""
    return bool(actor.member_id) and any(m.member_id == actor.member_id and m.is_leader for m in team.crew)


def team_activities(*, team: ServiceTeam, limit: int = RECENT_ACTIVITIES) -> list[Activity]:
    """The team's activities, the latest first, with their number of slots (one query)."""
    qs = Activity.objects.filter(service_team=team).annotate(slot_count=Count("slots"))
    return list(qs.order_by("-starts_at", "-pk")[:limit])


def upcoming_activities(*, team: ServiceTeam) -> list[Activity]:
    """The team's published activities that have not ended yet, the soonest first (one query)."""
    now = timezone.now()
    qs = Activity.objects.filter(service_team=team, status=ActivityStatus.PUBLISHED, ends_at__gt=now)
    return list(qs.order_by("starts_at", "pk")[:RECENT_ACTIVITIES])


@dataclass
class YearRecord:
    """What a team did in one year: activities held, services given (records with hours), by how
    many of its volunteers, hours, and people served."""

    year: int
    activities: int = 0
    services: int = 0
    volunteers: int = 0
    hours: Decimal = Decimal("0")
    people_served: int = 0


def team_record(*, team: ServiceTeam) -> list[YearRecord]:
    """The team's record per year, the latest first: two aggregate queries. Cancelled activities do
    not count; a record counts once it has hours (an open check-in does not)."""
    years: dict[int, YearRecord] = {}
    held = (
        Activity.objects.filter(service_team=team)
        .exclude(status=ActivityStatus.CANCELLED)
        .exclude(starts_at=None)
        .annotate(year=ExtractYear("starts_at"))
        .values("year")
        .annotate(n=Count("pk"), people=Sum("people_served"))
    )
    for row in held:
        years[row["year"]] = YearRecord(row["year"], activities=row["n"], people_served=row["people"] or 0)
    served = (
        ServiceRecord.objects.filter(counted(), activity__service_team=team)
        .annotate(year=ExtractYear("checked_in_at"))
        .values("year")
        .annotate(n=Count("pk"), who=Count("member", distinct=True), hours=Sum("hours"))
    )
    for row in served:
        year = years.setdefault(row["year"], YearRecord(row["year"]))
        year.services, year.volunteers, year.hours = row["n"], row["who"], row["hours"] or Decimal("0")
    return sorted(years.values(), key=lambda y: -y.year)


def open_demand_count(*, team: ServiceTeam) -> int:
    """How many demands assigned to the team are still open (one query)."""
    return team.assigned_demands.filter(status__in=sorted(OPEN_STATUSES)).count()


def candidates(*, actor: Actor, team: ServiceTeam, query: str = "") -> list[Member]:
    """Members reporting in the team's community who are not in the team yet (name contains `query`),
    for the add-member picker; at most MEMBER_PICKS."""
    rows = member_selectors.members_for(actor=actor, community_id=team.community_id)
    rows = rows.exclude(pk__in=ServiceTeamMember.objects.filter(team=team, ended_at=None).values("member_id"))
    if query:
        rows = rows.filter(name__contains=query)
    return list(rows.prefetch_related(None)[:MEMBER_PICKS])


@dataclass
class MyTeam:
    team: ServiceTeam  # with `crew`, its current members
    is_leader: bool
    joined_at: datetime

    @property
    def member_count(self) -> int:
        return len(self.team.crew)


def my_teams(*, actor: Actor) -> list[MyTeam]:
    """The service teams a member is in now, with their role and the team's members (two queries)."""
    if not actor.member_id:
        return []
    rows = (
        ServiceTeamMember.objects.filter(member_id=actor.member_id, ended_at=None, team__ended_at=None)
        .select_related("team", "team__community")
        .prefetch_related(_crew("team__"))
        .order_by("-is_leader", "team__name", "pk")
    )
    return [MyTeam(r.team, r.is_leader, r.joined_at) for r in rows]


def teams_for_assignment(*, actor: Actor, community_id: int) -> list[ServiceTeam]:
    """The community's active teams that have members, for the demand assignment form (one query)."""
    qs = restrict(ServiceTeam.objects.filter(community_id=community_id, ended_at=None), actor, Perm.VIEW)
    qs = qs.annotate(member_count=Count("memberships", filter=Q(memberships__ended_at=None)))
    return list(qs.filter(member_count__gt=0).order_by("name", "pk"))
