"""Scoped reads of activities, posts, tasks, their slots and sign-ups.

Two ways to reach an activity:
- through `restrict` (accounts.scope): staff over its community or its estate, the organising work
  unit, the leaders
  of the organising team — the console, the roster, the organiser's reads;
- as a member it is open to (audience open: any member with an approved registration; community: those
  reporting in its community; team: the team's active members), or one who signed up for it — the
  phone pages and the member's API reads.
A member's own sign-ups are theirs alone (Enrolment's scope: member_id).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict, scope_q
from huijia.core.errors import NotFound
from huijia.grid.models import Area, AreaKind
from huijia.volunteering.activities import JOINT_KINDS, approved_community, may_join, may_manage
from huijia.volunteering.models import (
    ACTIVE_ENROLMENT,
    Activity,
    ActivityKind,
    ActivityStatus,
    Audience,
    Enrolment,
    EnrolmentStatus,
    OrganiserKind,
    Pairing,
    ServiceTeam,
    Slot,
    service_team_ids,
)
from huijia.volunteering.pairing_selectors import active_q

SOON_DAYS = 3
WEEK_DAYS = 7
HUB_LIMIT = 60


# --- what a member may join -------------------------------------------------------------------------------


def open_to_q(member_id: int | None, community_id: int | None) -> Q | None:
    """The activities open to a member reporting in `community_id` (None: not reported anywhere)."""
    if not member_id or community_id is None:
        return None
    return (
        Q(audience=Audience.OPEN)
        | Q(audience=Audience.COMMUNITY, community_id=community_id)
        | Q(audience=Audience.TEAM, service_team_id__in=service_team_ids(member_id))
    )


def _enrolled_q(member_id: int | None) -> Q | None:
    if not member_id:
        return None
    return Q(pk__in=Enrolment.objects.filter(member_id=member_id).values("slot__activity_id"))


_UNSET = object()


def visible_activities(*, actor: Actor, community_id: int | object | None = _UNSET) -> QuerySet[Activity]:
    """Every activity the actor may look at: in scope, open to them as a member, or signed up for
    (`community_id`: the member's approved community when the caller has it already)."""
    if actor.is_superuser:
        return Activity.objects.all()
    clauses = [
        q
        for q in (
            scope_q(Activity, actor, Perm.VIEW),
            open_to_q(
                actor.member_id,
                approved_community(actor.member_id) if community_id is _UNSET else community_id,
            ),
            _enrolled_q(actor.member_id),
        )
        if q is not None
    ]
    if not clauses:
        return Activity.objects.none()
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return Activity.objects.filter(combined)


def _with_places(qs: QuerySet[Activity], now: datetime) -> QuerySet[Activity]:
    """Annotates the next slot's start and the places left in slots still to come."""
    future = Q(slots__starts_at__gt=now)
    return qs.annotate(
        next_start=Min("slots__starts_at", filter=future),
        places_left=Coalesce(
            Sum(F("slots__capacity") - F("slots__confirmed"), filter=future),
            Value(0),
            output_field=IntegerField(),
        ),
        slot_count=Count("slots", distinct=True),
    )


@dataclass
class Hub:
    """The member's volunteer page: what they can join (soon, this week, later) and their sign-ups."""

    is_member: bool
    reported: bool
    soon: list[Activity] = field(default_factory=list)
    week: list[Activity] = field(default_factory=list)
    later: list[Activity] = field(default_factory=list)
    mine: list[Enrolment] = field(default_factory=list)

    @property
    def any_open(self) -> bool:
        return bool(self.soon or self.week or self.later)


def member_hub(*, actor: Actor) -> Hub:
    """Three queries: the registration, the activities open to the member, their sign-ups to come."""
    community_id = approved_community(actor.member_id)
    hub = Hub(is_member=bool(actor.member_id), reported=community_id is not None)
    q = open_to_q(actor.member_id, community_id)
    now = timezone.now()
    if q is not None:
        mine = Enrolment.objects.filter(
            slot__activity_id=OuterRef("pk"), member_id=actor.member_id, status__in=ACTIVE_ENROLMENT
        )
        rows = (
            _with_places(Activity.objects.filter(q, status=ActivityStatus.PUBLISHED), now)
            .filter(next_start__isnull=False)
            .annotate(signed_up=Exists(mine))
            .select_related("community", "service_team")
            .order_by("next_start", "pk")[:HUB_LIMIT]
        )
        for a in rows:
            days = (timezone.localdate(a.next_start) - timezone.localdate(now)).days
            (hub.soon if days < SOON_DAYS else hub.week if days < WEEK_DAYS else hub.later).append(a)
    hub.mine = list(my_enrolments(actor=actor, upcoming=True)[:HUB_LIMIT])
    return hub


def my_enrolments(*, actor: Actor, upcoming: bool = False, active: bool = True) -> QuerySet[Enrolment]:
    """The member's own sign-ups, soonest first (upcoming: slots not yet over)."""
    if not actor.member_id:
        return Enrolment.objects.none()
    qs = Enrolment.objects.filter(member_id=actor.member_id)
    if active:
        qs = qs.filter(status__in=ACTIVE_ENROLMENT)
    if upcoming:
        qs = qs.filter(slot__ends_at__gt=timezone.now())
    ahead = (
        Enrolment.objects.filter(
            slot_id=OuterRef("slot_id"),
            status=EnrolmentStatus.WAITLISTED,
            created_at__lt=OuterRef("created_at"),
        )
        .order_by()
        .values("slot_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        qs.annotate(ahead=Coalesce(Subquery(ahead, output_field=IntegerField()), Value(0)))
        .select_related("slot", "slot__activity", "slot__activity__community")
        .order_by("slot__starts_at", "pk")
    )


def waitlist_position(enrolment: Enrolment) -> int | None:
    """1 for the first in line; None when not waiting (read off `ahead` when the list annotated it)."""
    if enrolment.status != EnrolmentStatus.WAITLISTED:
        return None
    if hasattr(enrolment, "ahead"):
        return enrolment.ahead + 1
    ahead = Enrolment.objects.filter(
        slot_id=enrolment.slot_id, status=EnrolmentStatus.WAITLISTED, created_at__lt=enrolment.created_at
    ).count()
    return ahead + 1


@dataclass
class SlotView:
    slot: Slot
    mine: Enrolment | None
    holders: list[str]  # masked names of those holding the shift (posts)

    @property
    def left(self) -> int:
        return max(self.slot.capacity - self.slot.confirmed, 0)


POST_WEEKS = 4  # a post's shifts shown on the phone: the coming four weeks


@dataclass
class MemberActivity:
    activity: Activity
    slots: list[SlotView]
    can_join: bool
    reported: bool
    can_manage: bool
    now: datetime
    later: int = 0  # a post's shifts beyond the weeks shown

    @property
    def days(self) -> list[tuple[object, list[SlotView]]]:
        """The slots grouped by local date (a post's shifts day by day)."""
        out: dict = {}
        for s in self.slots:
            out.setdefault(timezone.localdate(s.slot.starts_at), []).append(s)
        return list(out.items())


def activity_for_member(*, actor: Actor, activity_id: int) -> MemberActivity:
    """One activity as a member sees it on the phone: its slots (a post's shifts still to come), places
    left, their own sign-up per slot, and who holds each of a post's shifts (masked names)."""
    from huijia.core.personal import mask_name

    community_id = approved_community(actor.member_id)
    activity = (
        visible_activities(actor=actor, community_id=community_id)
        .select_related("community", "estate", "service_team", "work_unit")
        .filter(pk=activity_id)
        .first()
    )
    if activity is None:
        raise NotFound()
    now = timezone.now()
    slots = activity.slots.order_by("starts_at", "pk")
    later = 0
    if activity.kind == ActivityKind.POST:
        # a year-round post has hundreds of shifts: the phone shows the coming weeks (and the member's
        # own shifts whenever they are), and says how many come later
        upcoming = slots.filter(ends_at__gt=now - timedelta(days=1))
        horizon = now + timedelta(days=POST_WEEKS * 7)
        own = Q(enrolments__member_id=actor.member_id or 0, enrolments__status__in=ACTIVE_ENROLMENT)
        slots = upcoming.filter(Q(starts_at__lt=horizon) | own).distinct()
        later = upcoming.filter(starts_at__gte=horizon).exclude(own).count()
        slots = slots.prefetch_related(
            Prefetch(
                "enrolments",
                queryset=Enrolment.objects.filter(status=EnrolmentStatus.CONFIRMED)
                .select_related("member")
                .only("pk", "slot_id", "member__name")
                .order_by("created_at", "pk"),
                to_attr="holders",
            )
        )
    slots = list(slots)
    mine = {}
    if actor.member_id:
        rows = Enrolment.objects.filter(
            slot__activity=activity, member_id=actor.member_id, status__in=ACTIVE_ENROLMENT
        )
        mine = {e.slot_id: e for e in rows}
    views = [
        SlotView(s, mine.get(s.pk), [mask_name(e.member.name) for e in getattr(s, "holders", [])])
        for s in slots
    ]
    return MemberActivity(
        activity=activity,
        slots=views,
        later=later,
        can_join=activity.status == ActivityStatus.PUBLISHED
        and may_join(actor.member_id, activity, community_id),
        reported=community_id is not None,
        can_manage=may_manage(actor, activity),
        now=now,
    )


# --- the console ------------------------------------------------------------------------------------------


def console_communities(*, actor: Actor) -> list[Area]:
    """The communities of the console's filter: those in the actor's areas, and those a work unit is
    paired with."""
    qs = Area.objects.filter(kind=AreaKind.COMMUNITY).only("id", "name", "path")
    if actor.is_superuser:
        return list(qs.order_by("name", "pk")[:500])
    q = Q(pk__in=[])
    for path in actor.paths(Perm.VIEW):
        q |= Q(path__startswith=path)
    # an estate secretary's community: the one above their estate
    for _role, _area_id, path, kind, _name in actor.grant_areas:
        if kind not in (AreaKind.COMMUNITY, AreaKind.STREET, AreaKind.DISTRICT, AreaKind.CITY):
            q |= Q(pk__in=[int(p) for p in path.strip("/").split("/") if p])
    if units := actor.work_units(Perm.VIEW):
        q |= Q(
            pk__in=Pairing.objects.filter(work_unit_id__in=units, ended_at__isnull=True).values(
                "community_id"
            )
        )
    if actor.member_id:
        led = ServiceTeam.objects.filter(
            memberships__member_id=actor.member_id, memberships__is_leader=True, memberships__ended_at=None
        )
        q |= Q(pk__in=led.values("community_id"))
    return list(qs.filter(q).order_by("name", "pk")[:500])


def activities_for(
    *,
    actor: Actor,
    community_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    period: str | None = None,
    perm: Perm = Perm.VIEW,
    visible: bool = False,
    service_team_id: int | None = None,
    pairing_id: int | None = None,
) -> QuerySet[Activity]:
    """The activities in the actor's scope (`visible`: also those open to them as a member, or signed
    up for), last started first, with their slot counts, places and sign-ups summed."""
    qs = visible_activities(actor=actor) if visible else restrict(Activity.objects.all(), actor, perm)
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if service_team_id is not None:
        qs = qs.filter(service_team_id=service_team_id)
    if pairing_id is not None:
        qs = qs.filter(pairing_id=pairing_id)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    now = timezone.now()
    if period == "upcoming":
        qs = qs.filter(ends_at__gt=now)
    elif period == "month":
        start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        qs = qs.filter(starts_at__lt=end, ends_at__gte=start)
    elif period == "past":
        qs = qs.filter(ends_at__lte=now)
    return (
        qs.annotate(
            slot_count=Count("slots"),
            capacity=Coalesce(Sum("slots__capacity"), 0),
            confirmed=Coalesce(Sum("slots__confirmed"), 0),
            waitlisted=Coalesce(Sum("slots__waitlisted"), 0),
        )
        .select_related("community", "estate", "service_team", "work_unit")
        .order_by("-starts_at", "-pk")
    )


def activity_for(*, actor: Actor, activity_id: int) -> Activity:
    """One activity in the actor's scope, with its slots in order (`slot_rows`)."""
    qs = Activity.objects.select_related(
        "community", "estate", "service_team", "work_unit", "pairing__work_unit", "created_by"
    ).prefetch_related(
        Prefetch("slots", queryset=Slot.objects.order_by("starts_at", "pk"), to_attr="slot_rows")
    )
    return get_visible(qs, actor, activity_id)


def api_activity(*, actor: Actor, activity_id: int) -> Activity:
    """One activity for the API: whoever may see it (staff in scope, members it is open to)."""
    activity = (
        visible_activities(actor=actor)
        .select_related("community", "estate", "service_team", "work_unit")
        .prefetch_related(
            Prefetch("slots", queryset=Slot.objects.order_by("starts_at", "pk"), to_attr="slot_rows")
        )
        .filter(pk=activity_id)
        .first()
    )
    if activity is None:
        raise NotFound()
    return activity


def slot_for(*, actor: Actor, slot_id: int) -> Slot:
    """One slot in the actor's scope, with its activity (the organiser's slot edit page)."""
    qs = Slot.objects.select_related("activity", "activity__community")
    return get_visible(qs, actor, slot_id)


@dataclass
class Roster:
    slot: Slot
    confirmed: list[Enrolment]
    waitlisted: list[Enrolment]
    can_manage: bool


def slot_roster(*, actor: Actor, slot_id: int) -> Roster:
    """A slot's list: confirmed in the order they signed up, then the waitlist in line order."""
    qs = Slot.objects.select_related("activity", "activity__community", "activity__service_team")
    slot = get_visible(qs, actor, slot_id)
    rows = list(
        Enrolment.objects.filter(slot=slot, status__in=ACTIVE_ENROLMENT)
        .select_related("member", "member__work_unit")
        .order_by("created_at", "pk")
    )
    return Roster(
        slot=slot,
        confirmed=[e for e in rows if e.status == EnrolmentStatus.CONFIRMED],
        waitlisted=[e for e in rows if e.status == EnrolmentStatus.WAITLISTED],
        can_manage=may_manage(actor, slot.activity),
    )


# --- whom the console's new-activity form offers as organiser -----------------------------------------------


@dataclass(frozen=True)
class OrganiserOption:
    value: str  # "community:12", "estate:34", "team:5", "pairing:7"
    label: str
    kind: str
    community_id: int


def organiser_options(*, actor: Actor) -> list[OrganiserOption]:
    """The organisers the actor may publish as: their communities, estates, teams, paired units."""
    out: list[OrganiserOption] = []
    paths = actor.paths(Perm.MANAGE_VOLUNTEERING)
    if paths or actor.is_superuser:
        area_q = Q() if actor.is_superuser else Q(pk__in=[])
        for p in paths:
            area_q |= Q(path__startswith=p)
        areas = Area.objects.filter(area_q, kind__in=(AreaKind.COMMUNITY, AreaKind.ESTATE)).only(
            "id", "name", "kind", "parent_id", "path"
        )
        for a in areas.order_by("path")[:200]:
            if a.kind == AreaKind.COMMUNITY:
                out.append(OrganiserOption(f"community:{a.pk}", a.name, OrganiserKind.COMMUNITY, a.pk))
            else:
                label = f"{a.name}党支部"
                out.append(OrganiserOption(f"estate:{a.pk}", label, OrganiserKind.ESTATE, a.parent_id))
        teams = ServiceTeam.objects.filter(ended_at__isnull=True).select_related("community")
        if not actor.is_superuser:
            team_q = Q(pk__in=[])
            for p in paths:
                team_q |= Q(community__path__startswith=p)
            teams = teams.filter(team_q)
        for t in teams.order_by("community__name", "name")[:200]:
            out.append(
                OrganiserOption(
                    f"team:{t.pk}", f"{t.name}（{t.community.name}）", OrganiserKind.TEAM, t.community_id
                )
            )
    if actor.member_id:
        known = {o.value for o in out}
        led = ServiceTeam.objects.filter(
            ended_at__isnull=True,
            memberships__member_id=actor.member_id,
            memberships__is_leader=True,
            memberships__ended_at=None,
        ).select_related("community")
        for t in led.order_by("name"):
            if f"team:{t.pk}" not in known:
                out.append(
                    OrganiserOption(
                        f"team:{t.pk}", f"{t.name}（{t.community.name}）", OrganiserKind.TEAM, t.community_id
                    )
                )
    if units := actor.work_units(Perm.MANAGE_VOLUNTEERING):
        today = timezone.localdate()
        pairings = (
            Pairing.objects.filter(work_unit_id__in=units, ended_at__isnull=True, starts_on__lte=today)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
            .select_related("work_unit", "community")
            .order_by("community__name")
        )
        for p in pairings:
            label = f"{p.work_unit.name} · 结对{p.community.name}"
            out.append(OrganiserOption(f"pairing:{p.pk}", label, OrganiserKind.WORK_UNIT, p.community_id))
    return out


# --- joint activities (共建活动): the pairings a community or estate activity may count for ---------


def joint_pairings(*, community_ids: Iterable[int]) -> list[Pairing]:
    """The pairings in force today of these communities (those the actor may publish for as community
    staff or estate secretary), for the forms' "结对共建" choice; the services check them again."""
    ids = sorted(set(community_ids))
    if not ids:
        return []
    return list(
        Pairing.objects.filter(active_q(), community_id__in=ids)
        .select_related("work_unit", "community")
        .order_by("community__name", "work_unit__name", "pk")[:200]
    )


def joint_community_ids(options: list[OrganiserOption]) -> set[int]:
    """The communities of the organiser options that may hold a joint activity (community, estate)."""
    return {o.community_id for o in options if o.kind in JOINT_KINDS}
