"""Scoped reads of service records: a member's record, where they stand against the annual minimum,
and who is below it in a community or a work unit.

Every read goes through `restrict` (accounts.scope): a member sees their own records, community staff
the records of their community, a work unit its own members' records (ServiceRecord's scope). The
standing of a member is shown to that member (and to staff who may see them); the list of members
below the minimum is for the community and the member's work unit, ordered by name: nothing here
ranks anyone.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.core.errors import InvalidInput, NotFound
from huijia.core.web import public_url
from huijia.grid.models import Area, AreaKind
from huijia.members.models import Member
from huijia.orgs.models import WorkUnit
from huijia.volunteering.minimum import (
    DEFAULT_POLICY,
    Policy,
    all_policies,
    city_id_of,
    closed_in,
    counted,
    counts,
    policy_for,
    year_bounds,
)
from huijia.volunteering.models import (
    Activity,
    CorrectionStatus,
    HoursCorrection,
    MinimumReminder,
    OrganiserKind,
    ServiceRecord,
)

RECORD_RELATED = (
    "slot",
    "activity",
    "activity__community",
    "activity__estate",
    "activity__service_team",
    "activity__work_unit",
)
FIRST_YEAR = 2000
CENTS = Decimal("0.01")


def _cents(value) -> Decimal:
    """A sum of hours as 2 decimals (SQLite sums decimals as floats: 1.60000000000000)."""
    return Decimal(value or 0).quantize(CENTS)


def _tidy(members: list[Member]) -> list[Member]:
    for member in members:
        member.hours = _cents(member.hours)
    return members


def organiser_label(activity: Activity) -> str:
    """Who organised it, as a record and a certificate name it: the community, the estate's branch,
    the service team or the paired work unit (needs RECORD_RELATED's activity joins)."""
    kind = activity.organiser_kind
    if kind == OrganiserKind.ESTATE and activity.estate_id:
        return f"{activity.estate.name}党支部"
    if kind == OrganiserKind.TEAM and activity.service_team_id:
        return activity.service_team.name
    if kind == OrganiserKind.WORK_UNIT and activity.work_unit_id:
        return activity.work_unit.name
    return activity.community.name


def check_year(year: int | None) -> int:
    """The year asked for, this year when none; a clear error for a year that makes no sense."""
    this_year = timezone.localdate().year
    if year is None:
        return this_year
    if not FIRST_YEAR <= year <= this_year + 1:
        raise InvalidInput(
            f"请选择 {FIRST_YEAR}–{this_year} 之间的年份", code="bad_year", fields={"year": ["年份不正确"]}
        )
    return year


def records_for(
    *, actor: Actor, member_id: int | None = None, year: int | None = None
) -> QuerySet[ServiceRecord]:
    """Service records the actor may see, newest first, with what a row shows joined in (1 query).

    `member_id` narrows to one member, `year` to the records checked in that year. Whether a
    correction is pending is annotated (`correction_pending`), so a list never asks per row.
    """
    qs = restrict(ServiceRecord.objects.all(), actor)
    if member_id is not None:
        qs = qs.filter(member_id=member_id)
    if year is not None:
        start, end = year_bounds(year)
        qs = qs.filter(checked_in_at__gte=start, checked_in_at__lt=end)
    pending = HoursCorrection.objects.filter(record=OuterRef("pk"), status=CorrectionStatus.PENDING)
    return (
        qs.select_related("member", *RECORD_RELATED)
        .annotate(correction_pending=Exists(pending))
        .order_by("-checked_in_at", "-pk")
    )


def record_for(*, actor: Actor, record_id: int) -> ServiceRecord:
    """One record in scope (the member's own; staff over the community it was served in; the
    member's work unit), with what a row shows; NotFound otherwise."""
    found = records_for(actor=actor).filter(pk=record_id).first()
    if found is None:
        raise NotFound(_("没有找到这条服务记录"))
    return found


def confirm_url(record: ServiceRecord) -> str:
    """The absolute address a served resident opens to confirm the service (no account needed)."""
    path = reverse("volunteering:resident_confirm", args=[record.confirm_token])
    return public_url(path)


def asks_confirmation(record: ServiceRecord, actor: Actor) -> bool:
    """Whether the record's member may still ask the resident to confirm it: their own record, one
    that counts, not yet confirmed."""
    return record.member_id == actor.member_id and counts(record) and record.resident_confirmed_at is None


def my_records(*, actor: Actor, year: int | None = None) -> QuerySet[ServiceRecord]:
    """The signed-in member's own records (none for someone who is not a member)."""
    if not actor.member_id:
        return ServiceRecord.objects.none()
    return records_for(actor=actor, member_id=actor.member_id, year=year)


def record_years(*, actor: Actor) -> list[int]:
    """The years the member has records in, newest first, always including this year (1 query)."""
    years = {timezone.localdate().year}
    if actor.member_id:
        dates = ServiceRecord.objects.filter(member_id=actor.member_id).dates("checked_in_at", "year")
        years |= {d.year for d in dates}
    return sorted(years, reverse=True)


@dataclass(frozen=True)
class Standing:
    """Where a member stands this year: what counts, what is still open, what does not count (0 hours),
    and the city's minimum."""

    year: int
    services: int
    hours: Decimal
    open_records: int
    minimum: int
    not_counted: int = 0  # closed with 0 hours (minimum.counted): shown, never counted

    @property
    def below(self) -> bool:
        return self.services < self.minimum

    @property
    def missing(self) -> int:
        return max(self.minimum - self.services, 0)


def standing_from(records, *, year: int, policy: Policy) -> Standing:
    """The standing computed from the year's records already fetched (a page that lists them)."""
    done = [r for r in records if counts(r)]
    still_open = sum(1 for r in records if r.hours is None)
    return Standing(
        year=year,
        services=len(done),
        hours=sum((r.hours for r in done), Decimal("0.00")),
        open_records=still_open,
        minimum=policy.annual_minimum,
        not_counted=len(records) - len(done) - still_open,
    )


def member_of(*, actor: Actor, member_id: int | None) -> Member:
    """The member asked about: oneself by default. Another member only for staff whose grant covers
    the member's whole reporting community (community, street, organisation department) or who
    organise the member's work unit; a building head or an estate secretary who sees the neighbour's
    household does not reach their service record (NotFound, as for anyone else)."""
    if member_id is None or member_id == actor.member_id:
        if not actor.member_id:
            raise NotFound("只有报到党员有志愿服务记录")
        member_id = actor.member_id
        return Member.objects.select_related("community").get(pk=member_id)
    member = (
        Member.objects.select_related("community").filter(pk=member_id).first() if member_id > 0 else None
    )
    if member is None or not reaches_member(actor, member):
        raise NotFound()
    return member


def reaches_member(actor: Actor, member: Member) -> bool:
    """Staff over the member's reporting community, or over the member's work unit (no query)."""
    if actor.is_superuser:
        return True
    if member.community_id and actor.covers(Perm.VIEW, member.community.path):
        return True
    return bool(member.work_unit_id) and member.work_unit_id in actor.work_units(Perm.VIEW)


def standing_of(*, actor: Actor, member_id: int | None = None, year: int | None = None) -> Standing:
    """A member's standing in a year (their own by default), 3 queries."""
    year = check_year(year)
    member = member_of(actor=actor, member_id=member_id)
    start, end = year_bounds(year)
    totals = ServiceRecord.objects.filter(
        member_id=member.pk, checked_in_at__gte=start, checked_in_at__lt=end
    ).aggregate(
        services=Count("pk", filter=counted()),
        hours_total=Sum("hours", filter=counted()),
        still_open=Count("pk", filter=Q(hours__isnull=True)),
        total=Count("pk"),
    )
    return Standing(
        year=year,
        services=totals["services"],
        hours=_cents(totals["hours_total"]),
        open_records=totals["still_open"],
        minimum=policy_for(member.community).annual_minimum,
        not_counted=totals["total"] - totals["services"] - totals["still_open"],
    )


# --- below the minimum ----------------------------------------------------------------------------


@dataclass
class BelowMinimum:
    """Members below the minimum in a community or a work unit, ordered by name (never by count)."""

    year: int
    minimum: int | None  # None for a work unit whose members live in cities with different minimums
    rows: list[Member]  # each with .services, .hours and .reminded
    reporting: int  # how many reporting members were looked at
    community: Area | None = None
    work_unit: WorkUnit | None = None


def _annotated(members: QuerySet[Member], year: int) -> QuerySet[Member]:
    start, end = year_bounds(year)
    counted = closed_in("service_records__", start, end)
    reminded = MinimumReminder.objects.filter(member=OuterRef("pk"), year=year)
    return members.annotate(
        services=Count("service_records", filter=counted),
        hours=Sum("service_records__hours", filter=counted),
        reminded=Exists(reminded),
    )


def community_for_minimum(*, actor: Actor, community_id: int) -> Area:
    """A community whose list the actor may see: staff over it (community, street, organisation
    department); the estate's secretary and members do not reach it (NotFound)."""
    community = get_visible(Area.objects.filter(kind=AreaKind.COMMUNITY), actor, community_id)
    if not actor.covers(Perm.VIEW, community.path):
        raise NotFound()
    return community


def below_minimum(
    *,
    actor: Actor,
    community_id: int | None = None,
    work_unit_id: int | None = None,
    year: int | None = None,
) -> BelowMinimum:
    """Who is below the annual minimum in a community, or among a work unit's reporting members.

    A community: its reporting members (Member.community), with the count in one aggregate query
    (the record_member_time index) and the total in a second; 3 queries with the community and the
    policy. A work unit: its members wherever they report, each against their own city's minimum.
    """
    year = check_year(year)
    if (community_id is None) == (work_unit_id is None):
        raise InvalidInput(
            "请选择一个社区或一个单位", code="choose_one", fields={"community": ["请选择社区"]}
        )
    if community_id is not None:
        community = community_for_minimum(actor=actor, community_id=community_id)
        minimum = policy_for(community).annual_minimum
        members = restrict(Member.objects.filter(community_id=community.pk), actor)
        rows = _annotated(members, year).filter(services__lt=minimum).select_related("work_unit")
        return BelowMinimum(
            year=year,
            minimum=minimum,
            rows=_tidy(list(rows.order_by("name", "pk"))),
            reporting=members.count(),
            community=community,
        )
    unit = get_visible(WorkUnit.objects.all(), actor, work_unit_id)
    members = restrict(Member.objects.filter(work_unit_id=unit.pk, community__isnull=False), actor)
    policies = all_policies()
    cities = Area.objects.filter(kind=AreaKind.CITY).values_list("pk", flat=True)
    minimums = {policies.get(city, DEFAULT_POLICY).annual_minimum for city in cities} or {
        DEFAULT_POLICY.annual_minimum
    }
    rows = _annotated(members, year).filter(services__lt=max(minimums)).select_related("community")
    below = [
        m
        for m in rows.order_by("name", "pk")
        if m.services < policies.get(city_id_of(m.community), DEFAULT_POLICY).annual_minimum
    ]
    return BelowMinimum(
        year=year,
        minimum=minimums.pop() if len(minimums) == 1 else None,
        rows=_tidy(below),
        reporting=members.count(),
        work_unit=unit,
    )


def minimum_communities(*, actor: Actor) -> list[Area]:
    """The communities whose below-minimum list the actor may open (the console's picker)."""
    from huijia.grid.selectors import community_choices

    return [c for c in community_choices(actor=actor) if actor.covers(Perm.VIEW, c.path)]


def minimum_units(*, actor: Actor) -> list[WorkUnit]:
    """The work units the actor organises (a unit organiser sees its own members' list)."""
    ids = actor.work_units(Perm.VIEW)
    return list(WorkUnit.objects.filter(pk__in=ids).order_by("name")) if ids else []
