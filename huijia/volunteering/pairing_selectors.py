"""Reads of unit–community pairings (结对共建, F3): the pairings an actor sees, one pairing with its
joint activities, coverage of an area (which communities have no active partner, which work units
none), and a work unit's view of its own members' community service.

A pairing is active from `starts_on` until `ends_on` (inclusive; open-ended when empty) unless it was
ended (`ended_at`). Other apps ask `is_paired` and `paired_units` (demands: escalation to the paired
work unit; activities: a work unit publishes joint activities only where it is paired).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.core.errors import NotFound
from huijia.grid.models import Area, AreaKind
from huijia.members.models import Member
from huijia.orgs.models import WorkUnit
from huijia.volunteering.minimum import counted, year_bounds
from huijia.volunteering.models import Activity, Pairing, ServiceRecord

CENT = Decimal("0.01")
COVERAGE_KINDS = (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY)


class PairingState:
    ACTIVE = "active"
    UPCOMING = "upcoming"
    EXPIRED = "expired"
    ENDED = "ended"
    LABELS = {ACTIVE: "结对中", UPCOMING: "未开始", EXPIRED: "已到期", ENDED: "已解除"}


def _hours(value) -> Decimal:
    """Hours as stored (two decimals), whatever the database's SUM returns."""
    return Decimal(value or 0).quantize(CENT)


def active_q(today: date | None = None, prefix: str = "") -> Q:
    """Pairings in force on `today`: not ended, started, and not past their end date."""
    today = today or timezone.localdate()
    return Q(**{f"{prefix}ended_at__isnull": True, f"{prefix}starts_on__lte": today}) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": today})
    )


def state_of(pairing: Pairing, today: date | None = None) -> str:
    today = today or timezone.localdate()
    if pairing.ended_at is not None:
        return PairingState.ENDED
    if pairing.starts_on > today:
        return PairingState.UPCOMING
    if pairing.ends_on is not None and pairing.ends_on < today:
        return PairingState.EXPIRED
    return PairingState.ACTIVE


def is_paired(*, work_unit_id: int, community_id: int | None, today: date | None = None) -> bool:
    """Whether the work unit is actively paired with the community (one indexed query)."""
    if community_id is None:
        return False
    return Pairing.objects.filter(
        active_q(today), work_unit_id=work_unit_id, community_id=community_id
    ).exists()


def paired_units(community_id: int | None, query: str = "") -> QuerySet[WorkUnit]:
    """The work units actively paired with the community, by name (names of units are public)."""
    if community_id is None:
        return WorkUnit.objects.none()
    active = Pairing.objects.filter(active_q(), community_id=community_id).values("work_unit_id")
    qs = WorkUnit.objects.filter(pk__in=active).only("id", "name").order_by("name")
    query = query.strip()
    return qs.filter(name__contains=query) if query else qs


# --- lists and one pairing ------------------------------------------------------------------------


def _decorate(rows: list[Pairing]) -> list[Pairing]:
    today = timezone.localdate()
    for p in rows:
        p.state = state_of(p, today)
        p.state_label = PairingState.LABELS[p.state]
        p.commitment_lines = commitment_lines(p.commitments)
    return rows


def decorate(rows) -> list[Pairing]:
    """Adds `state`, `state_label` and `commitment_lines` to pairings (no query)."""
    return _decorate(list(rows))


def commitment_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def pairings_for(
    *,
    actor: Actor,
    community_id: int | None = None,
    work_unit_id: int | None = None,
    state: str | None = None,
    query: str = "",
) -> QuerySet[Pairing]:
    """Pairings the actor sees (staff over the community, the unit itself), newest first, with the
    number of joint activities (`joint`). `state`: active, upcoming, expired or ended."""
    qs = restrict(Pairing.objects.all(), actor).select_related("work_unit", "community", "community__parent")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if work_unit_id is not None:
        qs = qs.filter(work_unit_id=work_unit_id)
    if query.strip():
        q = query.strip()
        qs = qs.filter(Q(work_unit__name__contains=q) | Q(community__name__contains=q))
    today = timezone.localdate()
    if state == PairingState.ACTIVE:
        qs = qs.filter(active_q(today))
    elif state == PairingState.UPCOMING:
        qs = qs.filter(ended_at__isnull=True, starts_on__gt=today)
    elif state == PairingState.EXPIRED:
        qs = qs.filter(ended_at__isnull=True, ends_on__lt=today)
    elif state == PairingState.ENDED:
        qs = qs.filter(ended_at__isnull=False)
    joint = Activity.objects.filter(pairing_id=OuterRef("pk")).order_by().values("pairing_id")
    joint = joint.annotate(n=Count("pk")).values("n")
    return qs.annotate(joint=Coalesce(Subquery(joint, output_field=IntegerField()), 0)).order_by(
        "-starts_on", "-pk"
    )


def pairing_for(*, actor: Actor, pairing_id: int) -> Pairing:
    """One pairing in the actor's sight (NotFound otherwise), decorated."""
    qs = Pairing.objects.select_related("work_unit", "community", "community__parent", "created_by")
    return decorate([get_visible(qs, actor, pairing_id)])[0]


@dataclass
class JointSummary:
    activities: int = 0
    participants: int = 0  # distinct members with a record in the joint activities
    services: int = 0  # records with hours
    hours: Decimal = Decimal("0")
    people_served: int = 0


def joint_activities(pairing: Pairing) -> tuple[list[Activity], JointSummary]:
    """The pairing's joint activities (共建活动), newest first, each with `participants` (members who
    served), `services` and `hours` (finished records) and people served; and their totals. These
    count for both sides: the community and the unit. Two queries."""
    finished = counted("records__")
    rows = list(
        Activity.objects.filter(pairing=pairing)
        .annotate(
            participants=Count("records__member", filter=finished, distinct=True),
            services=Count("records", filter=finished),
            hours=Sum("records__hours"),
        )
        .only("id", "title", "kind", "status", "starts_at", "ends_at", "people_served", "community_id")
        .order_by("-starts_at", "-pk")
    )
    members = (
        ServiceRecord.objects.filter(counted(), activity__pairing=pairing)
        .values("member_id")
        .distinct()
        .count()
    )
    total = JointSummary(activities=len(rows), participants=members, hours=Decimal("0.00"))
    for a in rows:
        a.hours = _hours(a.hours)
        total.services += a.services
        total.hours += a.hours
        total.people_served += a.people_served
    return rows, total


# --- coverage ---------------------------------------------------------------------------------------


@dataclass
class CoveragePart:
    area: Area
    communities: int = 0
    paired: int = 0

    @property
    def unpaired(self) -> int:
        return self.communities - self.paired


@dataclass
class Coverage:
    area: Area
    communities: int
    paired_communities: int
    unpaired_communities: list[Area]  # each with `street_name`
    units: int
    paired_units: int
    unpaired_units: list[WorkUnit]
    active_pairings: int
    parts: list[CoveragePart] = field(default_factory=list)

    @property
    def all_paired(self) -> bool:
        return self.communities > 0 and self.paired_communities == self.communities

    @property
    def percent(self) -> int:
        return round(100 * self.paired_communities / self.communities) if self.communities else 0


def coverage_areas(actor: Actor) -> list[Area]:
    """The top areas the actor may see coverage of: where they hold MANAGE_PAIRINGS."""
    if actor.is_superuser:
        return list(Area.objects.filter(kind=AreaKind.CITY).order_by("path"))
    paths = actor.paths(Perm.MANAGE_PAIRINGS)
    return list(Area.objects.filter(path__in=paths, kind__in=COVERAGE_KINDS).order_by("path"))


def coverage_area(*, actor: Actor, area_id: int | None) -> Area:
    """The area to show (the actor's first by default); one outside their reach is a NotFound."""
    if area_id is None:
        tops = coverage_areas(actor)
        if not tops:
            raise NotFound()
        return tops[0]
    area = Area.objects.filter(pk=area_id, kind__in=COVERAGE_KINDS).select_related("parent").first()
    if area is None or not actor.covers(Perm.MANAGE_PAIRINGS, area.path):
        raise NotFound()
    return area


def coverage(*, actor: Actor, area_id: int | None = None) -> Coverage:
    """Who is paired in an area (city, district, street or community): its communities with and
    without an active partner, the work units located there (or above it, or nowhere recorded) with
    and without one, and per street or district the counts. Four queries."""
    area = coverage_area(actor=actor, area_id=area_id)
    today = timezone.localdate()
    active = Pairing.objects.filter(active_q(today))
    communities = list(
        Area.objects.filter(kind=AreaKind.COMMUNITY, path__startswith=area.path)
        .select_related("parent")
        .only("id", "name", "path", "parent__name", "parent_id")
        .annotate(paired=Exists(active.filter(community_id=OuterRef("pk"))))
        .order_by("path")
    )
    ancestors = area.ancestor_ids()
    units = list(
        WorkUnit.objects.filter(
            Q(area__isnull=True) | Q(area__path__startswith=area.path) | Q(area_id__in=ancestors)
        )
        .only("id", "name", "kind")
        .annotate(paired=Exists(active.filter(work_unit_id=OuterRef("pk"))))
        .order_by("name")
    )
    for c in communities:
        c.street_name = c.parent.name if c.parent_id else ""
    result = Coverage(
        area=area,
        communities=len(communities),
        paired_communities=sum(c.paired for c in communities),
        unpaired_communities=[c for c in communities if not c.paired],
        units=len(units),
        paired_units=sum(u.paired for u in units),
        unpaired_units=[u for u in units if not u.paired],
        active_pairings=active.filter(community__path__startswith=area.path).count(),
    )
    if area.kind in (AreaKind.CITY, AreaKind.DISTRICT):
        children = list(Area.objects.filter(parent=area).only("id", "name", "path", "kind").order_by("path"))
        for child in children:
            inside = [c for c in communities if c.path.startswith(child.path)]
            part = CoveragePart(area=child, communities=len(inside), paired=sum(c.paired for c in inside))
            result.parts.append(part)
    return result


# --- a work unit's members' community service ----------------------------------------------------------


@dataclass
class UnitService:
    work_unit: WorkUnit
    year: int
    rows: list[dict]  # member_id, name, community, services, hours, last
    members_served: int
    services: int
    hours: Decimal
    reporting_members: int  # the unit's members reporting in a community
    pairings: list[Pairing]

    @property
    def without_service(self) -> int:
        return max(self.reporting_members - self.members_served, 0)


def unit_service(*, actor: Actor, work_unit_id: int, year: int) -> UnitService:
    """What the unit's own members did in their communities in `year`: per member and community the
    finished services and hours, read through the ServiceRecord scope (the unit reaches only its own
    members' records), with the totals and the unit's pairings. Never another unit's members."""
    unit = WorkUnit.objects.filter(pk=work_unit_id).only("id", "name").first()
    if unit is None or not (actor.is_superuser or work_unit_id in actor.work_units(Perm.VIEW)):
        raise NotFound()
    start, end = year_bounds(year)
    records = restrict(ServiceRecord.objects.all(), actor).filter(
        counted(),
        member__work_unit_id=work_unit_id,
        checked_in_at__gte=start,
        checked_in_at__lt=end,
    )
    rows = list(
        records.values("member_id", "member__name", "community__name")
        .annotate(services=Count("pk"), hours=Sum("hours"), last=Max("checked_in_at"))
        .order_by("member__name", "member_id", "community__name")
    )
    for row in rows:
        row["hours"] = _hours(row["hours"])
        row["name"] = row.pop("member__name")
        row["community"] = row.pop("community__name")
    reporting = (
        restrict(Member.objects.all(), actor)
        .filter(work_unit_id=work_unit_id, community__isnull=False)
        .count()
    )
    pairings = decorate(
        restrict(Pairing.objects.filter(work_unit_id=work_unit_id, ended_at__isnull=True), actor)
        .select_related("community", "community__parent")
        .order_by("-starts_on")
    )
    return UnitService(
        work_unit=unit,
        year=year,
        rows=rows,
        members_served=len({r["member_id"] for r in rows}),
        services=sum(r["services"] for r in rows),
        hours=sum((r["hours"] for r in rows), Decimal("0.00")),
        reporting_members=reporting,
        pairings=pairings,
    )


# --- the pairing form's choices ---------------------------------------------------------------------

UNIT_PICKS = 50


def pairable_communities(actor: Actor) -> list[Area]:
    """Communities the actor may pair (MANAGE_PAIRINGS), by street, each with `paired` (has an active
    partner) and `street_name`. One query."""
    qs = Area.objects.filter(kind=AreaKind.COMMUNITY)
    if not actor.is_superuser:
        paths = actor.paths(Perm.MANAGE_PAIRINGS)
        if not paths:
            return []
        where = Q()
        for path in paths:
            where |= Q(path__startswith=path)
        qs = qs.filter(where)
    rows = list(
        qs.select_related("parent")
        .only("id", "name", "path", "parent__name", "parent_id")
        .annotate(paired=Exists(Pairing.objects.filter(active_q(), community_id=OuterRef("pk"))))
        .order_by("path")
    )
    for c in rows:
        c.street_name = c.parent.name if c.parent_id else ""
    return rows


def units_to_pair(query: str = "", *, include: int | None = None) -> list[WorkUnit]:
    """Work units for the pairing form: those whose name contains `query`, else those without an
    active pairing first; each with `active` (communities it is paired with now). `include`: a unit
    already chosen, kept in the list."""
    active = Pairing.objects.filter(active_q(), work_unit_id=OuterRef("pk")).order_by().values("work_unit_id")
    active = active.annotate(n=Count("pk")).values("n")
    qs = WorkUnit.objects.only("id", "name").annotate(
        active=Coalesce(Subquery(active, output_field=IntegerField()), 0)
    )
    query = query.strip()
    if query:
        rows = list(qs.filter(name__contains=query).order_by("name")[:UNIT_PICKS])
    else:
        rows = list(qs.order_by("active", "name")[:UNIT_PICKS])
    if include and all(u.pk != include for u in rows):
        rows = list(qs.filter(pk=include)) + rows
    return rows
