"""Writes of activities, service posts and tasks (志愿活动、服务岗、任务认领) and of signing up for them.

Each step is one function and one transaction, with its permission check and its audit row.

Who may do what:
- publish, edit (slots still to come; started ones stay as they are), extend a post's shifts, cancel,
  close, link to a pairing (community and estate activities): whoever organises the activity —
  community staff over the community (organiser kind community), the estate's branch secretary
  (estate), a service team's leader or the community's staff (team), a work unit's organiser for a
  community it is actively paired with (work_unit: a joint activity of the pairing);
- sign up, give a place back: a member with an approved registration the activity is open to (any
  such member; those reporting in the activity's community; the team's active members); the organiser
  may also take someone off a slot's list; a place may be given back after sign-up was closed, until
  the slot starts (the waitlist still moves up);
- every slot has a capacity: signing up when it is full puts the member on the waitlist, and a place
  given back goes to the first in line (by the time they signed up), who is told.

Concurrency: signing up and giving a place back lock the slot's row (`select_for_update`) and keep its
`confirmed` and `waitlisted` counters under that lock, so however many members sign up at once, no more
are confirmed than the slot has places (the check constraint `slot_not_overfull` guards it too); the
partial unique constraint `enrolment_once` is the last guard against signing up twice.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit, notify
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.grid.models import Area, AreaKind
from huijia.members.models import Registration, RegistrationStatus
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
    ServiceCategory,
    ServiceRecord,
    ServiceTeam,
    ServiceTeamMember,
    Slot,
)
from huijia.volunteering.pairing_selectors import active_q

MAX_TITLE = 100
MAX_DESCRIPTION = 2000
MAX_VENUE = 100
MAX_LABEL = 32
MAX_REASON = 200
MAX_SLOTS = 1200  # a year-round post of three shifts a day (366 × 3) fits
MAX_CAPACITY = 10000  # a task's places (S3: 2,400 members)
MAX_SLOT_HOURS = 24
MAX_POST_DAYS = 366


def _bad(field_name: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={field_name: [message]})


def _text(value: str | None, field_name: str, *, limit: int, required: str = "") -> str:
    value = (value or "").strip()
    if not value and required:
        raise _bad(field_name, required, f"{field_name}_empty")
    if len(value) > limit:
        raise _bad(field_name, _("不超过{n}个字").format(n=limit), f"{field_name}_too_long")
    return value


# --- inputs --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotInput:
    """One venue and time with its places; `id` names an existing slot when editing."""

    venue: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    label: str = ""
    id: int | None = None


@dataclass(frozen=True)
class ActivityInput:
    title: str
    category: str
    organiser_kind: str
    slots: tuple[SlotInput, ...] = ()
    kind: str = ActivityKind.ACTIVITY
    description: str = ""
    audience: str = Audience.OPEN
    community_id: int | None = None  # for community and work-unit activities
    estate_id: int | None = None  # for an estate branch's activity
    service_team_id: int | None = None  # for a team's activity
    work_unit_id: int | None = None  # for a work unit's (default: the organiser's only unit)
    # a joint activity (共建活动) of a community or estate with a unit actively paired with the community
    pairing_id: int | None = None


@dataclass(frozen=True)
class ShiftTime:
    starts: time
    ends: time
    label: str = ""


@dataclass(frozen=True)
class Recurrence:
    """A post's shifts: on these weekdays (0 Monday … 6 Sunday) between two dates, at these times."""

    date_from: date
    date_to: date
    weekdays: frozenset[int]
    times: tuple[ShiftTime, ...]
    venue: str
    capacity: int
    skip: frozenset[date] = field(default=frozenset())


def shifts(recurrence: Recurrence, *, after: datetime | None = None) -> tuple[SlotInput, ...]:
    """The shifts a recurrence makes, in order of time (a pure function: the form previews it); with
    `after`, shifts starting at or before it (today's shifts already under way) are left out."""
    r = recurrence
    if r.date_to < r.date_from:
        raise _bad("date_to", _("结束日期不能早于开始日期"), "bad_period")
    if (r.date_to - r.date_from).days >= MAX_POST_DAYS:
        raise _bad("date_to", _("服务岗一次最多排一年的班"), "period_too_long")
    if not r.weekdays or not r.weekdays <= set(range(7)):
        raise _bad("weekdays", _("请选择每周哪几天有班"), "weekdays_empty")
    if not r.times:
        raise _bad("times", _("请至少填写一个班次的时间"), "times_empty")
    for t in r.times:
        if t.ends <= t.starts:
            raise _bad("times", _("班次的结束时间要晚于开始时间"), "bad_shift_time")
    tz = timezone.get_current_timezone()
    out = []
    skipped = 0
    day = r.date_from
    while day <= r.date_to:
        if day.weekday() in r.weekdays and day not in r.skip:
            for t in sorted(r.times, key=lambda t: t.starts):
                starts_at = datetime.combine(day, t.starts, tzinfo=tz)
                if after is not None and starts_at <= after:
                    skipped += 1
                    continue
                out.append(
                    SlotInput(
                        venue=r.venue,
                        label=t.label,
                        starts_at=starts_at,
                        ends_at=datetime.combine(day, t.ends, tzinfo=tz),
                        capacity=r.capacity,
                    )
                )
        day += timedelta(days=1)
    if not out:
        if skipped:
            raise _bad("date_from", _("这段日期里的班次都已经开始了，请选择以后的日期"), "no_shifts")
        raise _bad("weekdays", _("这段日期里没有所选的星期，排不出班"), "no_shifts")
    return tuple(out)


# --- who organises --------------------------------------------------------------------------------------


@dataclass
class Organiser:
    kind: str
    community: Area
    estate: Area | None = None
    team: ServiceTeam | None = None
    work_unit_id: int | None = None
    pairing: Pairing | None = None


def _area(pk: int | None, kind: str, field_name: str, missing: str) -> Area:
    area = Area.objects.filter(pk=pk, kind=kind).first() if pk else None
    if area is None:
        raise _bad(field_name, missing, f"{field_name}_missing")
    return area


def leads_team(actor: Actor, team_id: int | None) -> bool:
    return bool(
        actor.member_id
        and team_id
        and ServiceTeamMember.objects.filter(
            team_id=team_id, member_id=actor.member_id, is_leader=True, ended_at__isnull=True
        ).exists()
    )


def active_pairing(work_unit_id: int, community_id: int, on: date | None = None) -> Pairing | None:
    """The pairing in force today between a work unit and a community, if any."""
    return Pairing.objects.filter(active_q(on), work_unit_id=work_unit_id, community_id=community_id).first()


def _organiser(actor: Actor, data: ActivityInput) -> Organiser:
    """Who publishes, checked against the actor: refused with Forbidden when they may not."""
    kind = data.organiser_kind
    if kind == OrganiserKind.COMMUNITY:
        community = _area(data.community_id, AreaKind.COMMUNITY, "community_id", _("请选择社区"))
        if not actor.covers(Perm.MANAGE_VOLUNTEERING, community.path):
            raise Forbidden(_("只有本社区的工作人员可以以社区名义发布"))
        return Organiser(kind, community)
    if kind == OrganiserKind.ESTATE:
        estate = _area(data.estate_id, AreaKind.ESTATE, "estate_id", _("请选择小区"))
        if not actor.covers(Perm.MANAGE_VOLUNTEERING, estate.path):
            raise Forbidden(_("只有本小区的党支部书记可以以小区党支部名义发布"))
        return Organiser(kind, Area.objects.get(pk=estate.parent_id), estate=estate)
    if kind == OrganiserKind.TEAM:
        team = ServiceTeam.objects.select_related("community").filter(pk=data.service_team_id).first()
        if team is None:
            raise _bad("service_team_id", _("请选择服务队"), "service_team_id_missing")
        may = leads_team(actor, team.pk) or actor.covers(Perm.MANAGE_VOLUNTEERING, team.community.path)
        if not may:
            raise Forbidden(_("只有服务队队长或社区工作人员可以发布服务队的活动"))
        if team.ended_at is not None:
            raise _bad("service_team_id", _("这个服务队已经解散"), "team_ended")
        return Organiser(kind, team.community, team=team)
    if kind == OrganiserKind.WORK_UNIT:
        units = actor.work_units(Perm.MANAGE_VOLUNTEERING)
        unit = data.work_unit_id or (units[0] if len(units) == 1 else None)
        if unit is None or (unit not in units and not actor.is_superuser):
            raise Forbidden(_("只有单位党组织可以以单位名义发布"))
        community = _area(data.community_id, AreaKind.COMMUNITY, "community_id", _("请选择社区"))
        pairing = active_pairing(unit, community.pk)
        if pairing is None:
            raise Forbidden(_("贵单位和这个社区还没有结对共建，不能在这里发布活动"), code="not_paired")
        return Organiser(kind, community, work_unit_id=unit, pairing=pairing)
    raise _bad("organiser_kind", _("请选择发布方"), "bad_organiser")


JOINT_KINDS = (OrganiserKind.COMMUNITY, OrganiserKind.ESTATE)


def _joint_pairing(pairing_id: int, *, kind: str, community_id: int) -> Pairing:
    """The pairing a community's or an estate's activity is to count for: in force today, with the
    activity's community; refused with a plain reason otherwise."""
    if kind not in JOINT_KINDS:
        message = _("只有社区或小区党支部发布的活动可以设为结对共建活动")
        raise _bad("pairing_id", message, "pairing_not_for_kind")
    pairing = Pairing.objects.filter(active_q(), pk=pairing_id).select_related("work_unit").first()
    if pairing is None or pairing.community_id != community_id:
        message = _("请选择和本社区正在结对共建的单位")
        raise _bad("pairing_id", message, "bad_pairing")
    return pairing


def _with_pairing(organiser: Organiser, pairing_id: int | None) -> Organiser:
    if pairing_id is None:
        return organiser
    if organiser.kind == OrganiserKind.WORK_UNIT:  # already its unit's joint activity
        if organiser.pairing is None or organiser.pairing.pk != pairing_id:
            raise _bad("pairing_id", _("单位发布的活动自动算作本单位的结对共建活动"), "bad_pairing")
        return organiser
    organiser.pairing = _joint_pairing(pairing_id, kind=organiser.kind, community_id=organiser.community.pk)
    return organiser


# --- publishing -----------------------------------------------------------------------------------------


def _slots(slots: Iterable[SlotInput], *, now: datetime) -> list[SlotInput]:
    slots = list(slots)
    if not slots:
        raise _bad("slots", _("请至少安排一个时段"), "slots_empty")
    if len(slots) > MAX_SLOTS:
        raise _bad("slots", _("一次最多安排{n}个时段").format(n=MAX_SLOTS), "too_many_slots")
    for i, s in enumerate(slots):
        _check_slot(s, i, now=now)
    return sorted(slots, key=lambda s: (s.starts_at, s.venue))


def _check_slot(s: SlotInput, i: int, *, now: datetime) -> None:
    def bad(name: str, message: str, code: str) -> InvalidInput:
        return InvalidInput(message, code=code, fields={f"slots.{i}.{name}": [message]})

    if not (s.venue or "").strip():
        raise bad("venue", _("请填写地点"), "venue_empty")
    if len(s.venue.strip()) > MAX_VENUE or len((s.label or "").strip()) > MAX_LABEL:
        raise bad("venue", _("地点不超过100个字，班次名称不超过32个字"), "venue_too_long")
    if s.starts_at is None or s.ends_at is None:
        raise bad("starts_at", _("请填写开始和结束时间"), "time_missing")
    if s.ends_at <= s.starts_at:
        raise bad("ends_at", _("结束时间要晚于开始时间"), "bad_time")
    if s.ends_at - s.starts_at > timedelta(hours=MAX_SLOT_HOURS):
        raise bad("ends_at", _("一个时段不超过24小时，多天的活动请分成几个时段"), "slot_too_long")
    if s.starts_at <= now and s.id is None:
        raise bad("starts_at", _("开始时间已经过去了，请选择以后的时间"), "in_the_past")
    if not isinstance(s.capacity, int) or not 1 <= s.capacity <= MAX_CAPACITY:
        raise bad("capacity", _("名额在1到{n}之间").format(n=MAX_CAPACITY), "bad_capacity")


def _check_fields(data: ActivityInput) -> tuple[str, str]:
    title = _text(data.title, "title", limit=MAX_TITLE, required=_("请填写名称"))
    description = _text(data.description, "description", limit=MAX_DESCRIPTION)
    if data.kind not in ActivityKind.values:
        raise _bad("kind", _("类型不正确"), "bad_kind")
    if data.category not in ServiceCategory.values:
        raise _bad("category", _("请选择服务类别"), "bad_category")
    if data.audience not in Audience.values:
        raise _bad("audience", _("请选择参加对象"), "bad_audience")
    if data.audience == Audience.TEAM and data.organiser_kind != OrganiserKind.TEAM:
        raise _bad("audience", _("只有服务队的活动可以只面向本队队员"), "team_audience")
    return title, description


def _span(activity: Activity) -> None:
    """Activity.starts_at/ends_at = the first slot's start and the last slot's end."""
    slots = list(activity.slots.values_list("starts_at", "ends_at"))
    activity.starts_at = min(s for s, _e in slots) if slots else None
    activity.ends_at = max(e for _s, e in slots) if slots else None
    activity.save(update_fields=["starts_at", "ends_at"])


@transaction.atomic
def publish_activity(*, actor: Actor, data: ActivityInput) -> Activity:
    """Publishes an activity, a post or a task with its slots; members may sign up at once."""
    title, description = _check_fields(data)
    organiser = _with_pairing(_organiser(actor, data), data.pairing_id)
    slots = _slots(data.slots, now=timezone.now())
    activity = Activity.objects.create(
        kind=data.kind,
        title=title,
        description=description,
        category=data.category,
        organiser_kind=organiser.kind,
        community=organiser.community,
        estate=organiser.estate,
        service_team=organiser.team,
        work_unit_id=organiser.work_unit_id,
        pairing=organiser.pairing,
        audience=data.audience,
        created_by_id=actor.user_id,
        starts_at=slots[0].starts_at,
        ends_at=max(s.ends_at for s in slots),
    )
    _new_slots(activity, slots)
    audit(
        actor=actor,
        action="volunteering.publish",
        target=activity,
        kind=data.kind,
        organiser=organiser.kind,
        slots=len(slots),
        **({"pairing": organiser.pairing.pk} if organiser.pairing else {}),
    )
    return activity


def publish_post(*, actor: Actor, data: ActivityInput, recurrence: Recurrence) -> Activity:
    """A service post (服务岗) with recurring shifts generated from weekdays, times and a date range;
    shifts that have already started (a range from today) are left out."""
    from dataclasses import replace

    slots = shifts(recurrence, after=timezone.now())
    return publish_activity(actor=actor, data=replace(data, kind=ActivityKind.POST, slots=slots))


# --- the organiser's changes ----------------------------------------------------------------------------


def may_manage(actor: Actor, activity: Activity) -> bool:
    """Whether the actor organises this activity (the scope rule's MANAGE_VOLUNTEERING reach)."""
    return restrict(Activity.objects.filter(pk=activity.pk), actor, Perm.MANAGE_VOLUNTEERING).exists()


def _managed(actor: Actor, activity_id: int) -> Activity:
    """The activity, locked, if the actor organises it; Forbidden if they only see it."""
    qs = restrict(Activity.objects.all(), actor, Perm.MANAGE_VOLUNTEERING)
    activity = qs.select_for_update(of=("self",)).filter(pk=activity_id).first()
    if activity is None:
        if restrict(Activity.objects.all(), actor, Perm.VIEW).filter(pk=activity_id).exists():
            raise Forbidden(_("只有活动的组织者可以修改这个活动"))
        raise NotFound()
    return activity


def _require_published(activity: Activity) -> None:
    if activity.status == ActivityStatus.CANCELLED:
        raise Conflict(_("这个活动已经取消了"), code="cancelled")
    if activity.status == ActivityStatus.CLOSED:
        raise Conflict(_("这个活动已经结束了"), code="closed")


def _active_user_ids(slot_ids: Iterable[int]) -> list[int]:
    rows = Enrolment.objects.filter(
        slot_id__in=list(slot_ids), status__in=ACTIVE_ENROLMENT, member__user__isnull=False
    )
    return sorted(set(rows.values_list("member__user_id", flat=True)))


def _when(slot: Slot) -> str:
    return timezone.localtime(slot.starts_at).strftime("%m月%d日 %H:%M")


def _tell_holders(activity: Activity, slot_ids: Iterable[int]) -> None:
    text = _("您报名的“{t}”时间或地点有调整，请查看。").format(t=activity.title)
    url = reverse("volunteering:activity", args=[activity.pk])
    for user_id in _active_user_ids(slot_ids):
        notify(user_id=user_id, text=text, url=url)


@transaction.atomic
def update_activity(
    *,
    actor: Actor,
    activity_id: int,
    title: str,
    description: str = "",
    slots: tuple[SlotInput, ...] | None = None,
) -> Activity:
    """Changes the title, description and the slots still to come — also once the activity (a standing
    post) has begun: slots that have started stay as they are.

    `slots` is the new list (None: unchanged): slots with an `id` are changed, those without are added
    (they must start later), slots still to come that are left out are removed (only while nobody is
    signed up for them). Started slots are kept whether listed or not, and may not be changed. A slot's
    capacity may not drop below those confirmed; raising it gives the new places to the waitlist.
    Refused once every slot has started, unless slots are added.
    """
    activity = _managed(actor, activity_id)
    _require_published(activity)
    now = timezone.now()
    adds = slots is not None and any(s.id is None for s in slots)
    if not adds and not activity.slots.filter(starts_at__gt=now).exists():
        raise Conflict(_("活动的时段都已经开始了，不能再修改"), code="started")
    activity.title = _text(title, "title", limit=MAX_TITLE, required=_("请填写名称"))
    activity.description = _text(description, "description", limit=MAX_DESCRIPTION)
    activity.save(update_fields=["title", "description"])
    changed: list[int] = []
    if slots is not None:
        changed = _replace_slots(activity, _slots(slots, now=now), now)
        _span(activity)
    audit(actor=actor, action="volunteering.update", target=activity, slots_changed=len(changed))
    if changed:
        _tell_holders(activity, changed)
    return activity


def _change_slot(slot: Slot, s: SlotInput, activity: Activity, now: datetime) -> bool:
    """Applies one slot's new venue, times and places (slot row locked by the caller)."""
    new = (s.venue.strip(), (s.label or "").strip(), s.starts_at, s.ends_at, s.capacity)
    old = (slot.venue, slot.label, slot.starts_at, slot.ends_at, slot.capacity)
    if new == old:
        return False
    if slot.starts_at <= now:
        message = _("{w}“{v}”的时段已经开始，不能再修改").format(w=_when(slot), v=slot.venue)
        raise _bad("slots", message, "slot_started")
    if s.capacity < slot.confirmed:
        message = _("“{v}”已有{n}人报名，名额不能少于{n}").format(v=slot.venue, n=slot.confirmed)
        raise _bad("slots", message, "capacity_below_confirmed")
    if s.starts_at <= now:
        raise _bad("slots", _("开始时间已经过去了，请选择以后的时间"), "in_the_past")
    slot.venue, slot.label, slot.starts_at, slot.ends_at, slot.capacity = new
    slot.save(update_fields=["venue", "label", "starts_at", "ends_at", "capacity"])
    _promote(slot, activity)
    return True


def _removal_refusal(slot: Slot, now: datetime) -> tuple[str, str] | None:
    """Why a slot may not be removed (message, code), or None: only slots still to come that nobody
    signed up for (or checked in to, 30 minutes early) go."""
    if slot.starts_at <= now:
        return _("{w}“{v}”的时段已经开始，不能删除").format(w=_when(slot), v=slot.venue), "slot_started"
    if slot.confirmed or slot.waitlisted:
        return _("“{v}”已有人报名，不能删除这个时段").format(v=slot.venue), "slot_taken"
    if ServiceRecord.objects.filter(slot=slot).exists():
        return _("“{v}”已有人签到，不能删除这个时段").format(v=slot.venue), "slot_has_records"
    return None


def _new_slots(activity: Activity, wanted: Iterable[SlotInput]) -> list[Slot]:
    return Slot.objects.bulk_create(
        [
            Slot(
                activity=activity,
                venue=s.venue.strip(),
                label=(s.label or "").strip(),
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                capacity=s.capacity,
            )
            for s in wanted
        ]
    )


def _check_total(activity: Activity) -> None:
    if activity.slots.count() > MAX_SLOTS:
        raise _bad("slots", _("一个活动最多安排{n}个时段").format(n=MAX_SLOTS), "too_many_slots")


def _replace_slots(activity: Activity, wanted: list[SlotInput], now: datetime) -> list[int]:
    """The ids of the slots changed, kept or removed (removed ones: nobody to tell)."""
    existing = {s.pk: s for s in Slot.objects.select_for_update().filter(activity=activity)}
    changed: list[int] = []
    keep = {s.id for s in wanted if s.id is not None}
    if keep - set(existing):
        raise _bad("slots", _("时段不属于这个活动"), "unknown_slot")
    for pk, slot in existing.items():
        if pk not in keep and slot.starts_at > now:  # started slots stay, listed or not
            if refusal := _removal_refusal(slot, now):
                raise _bad("slots", *refusal)
            slot.delete()
            changed.append(pk)
    added = [s for s in wanted if s.id is None]
    for s in wanted:
        if s.id is not None and _change_slot(existing[s.id], s, activity, now):
            changed.append(s.id)
    if added:
        changed += [slot.pk for slot in _new_slots(activity, added) if slot.pk]
        _check_total(activity)
    return changed


def _slot_of_managed(actor: Actor, slot_id: int) -> tuple[Activity, Slot]:
    activity_id = Slot.objects.filter(pk=slot_id).values_list("activity_id", flat=True).first()
    if activity_id is None:
        raise NotFound()
    activity = _managed(actor, activity_id)
    _require_published(activity)
    return activity, Slot.objects.select_for_update().get(pk=slot_id)


@transaction.atomic
def change_slot(*, actor: Actor, slot_id: int, data: SlotInput) -> Slot:
    """Changes one slot still to come (a post's shift, say): venue, label, times, places — never fewer
    places than those confirmed; those signed up are told. Started slots stay as they are."""
    activity, slot = _slot_of_managed(actor, slot_id)
    now = timezone.now()
    from dataclasses import replace

    _check_slot(replace(data, id=slot.pk), 0, now=now)
    if _change_slot(slot, data, activity, now):
        _span(activity)
        audit(actor=actor, action="volunteering.change_slot", target=slot, activity=activity.pk)
        _tell_holders(activity, [slot.pk])
    return slot


@transaction.atomic
def remove_slot(*, actor: Actor, slot_id: int) -> Activity:
    """Removes a slot still to come that nobody signed up for (a shift no longer needed); an activity
    keeps at least one slot (to call it off, cancel it)."""
    activity, slot = _slot_of_managed(actor, slot_id)
    if refusal := _removal_refusal(slot, timezone.now()):
        message, code = refusal
        raise Conflict(message, code=code)
    if not activity.slots.exclude(pk=slot.pk).exists():
        raise Conflict(_("这是活动唯一的时段，不能删除；不办了请取消活动"), code="last_slot")
    detail = {"venue": slot.venue, "starts_at": slot.starts_at.isoformat()}
    slot.delete()
    _span(activity)
    audit(actor=actor, action="volunteering.remove_slot", target=activity, slot=slot_id, **detail)
    return activity


@transaction.atomic
def extend_post(*, actor: Actor, activity_id: int, recurrence: Recurrence) -> int:
    """Adds a post's shifts from a recurrence (more weeks, another shift a day), also after the post has
    begun; shifts already started and shifts already there (same start, end and venue) are left out.
    Returns how many shifts were added."""
    activity = _managed(actor, activity_id)
    _require_published(activity)
    if activity.kind != ActivityKind.POST:
        raise _bad("kind", _("只有服务岗可以按周期加班次，其他活动请在修改页面加时段"), "not_a_post")
    now = timezone.now()
    there = set(
        Slot.objects.filter(activity=activity).values_list("starts_at", "ends_at", "venue").order_by()
    )
    wanted = [
        s for s in shifts(recurrence, after=now) if (s.starts_at, s.ends_at, s.venue.strip()) not in there
    ]
    if not wanted:
        raise _bad("date_from", _("这些班次都已经排过了"), "no_new_shifts")
    for i, s in enumerate(wanted):
        _check_slot(s, i, now=now)
    if len(there) + len(wanted) > MAX_SLOTS:
        raise _bad("slots", _("一个活动最多安排{n}个时段").format(n=MAX_SLOTS), "too_many_slots")
    _new_slots(activity, wanted)
    _span(activity)
    audit(actor=actor, action="volunteering.extend_post", target=activity, added=len(wanted))
    return len(wanted)


@transaction.atomic
def set_pairing(*, actor: Actor, activity_id: int, pairing_id: int | None) -> Activity:
    """Links a community's or an estate's activity to an active pairing of its community (a joint
    activity, 共建活动: it counts for both sides), or unlinks it (None)."""
    activity = _managed(actor, activity_id)
    if activity.status == ActivityStatus.CANCELLED:
        raise Conflict(_("这个活动已经取消了"), code="cancelled")
    if activity.organiser_kind == OrganiserKind.WORK_UNIT:
        message = _("单位发布的活动自动算作本单位的结对共建活动")
        raise Conflict(message, code="pairing_not_for_kind")
    if activity.organiser_kind not in JOINT_KINDS:
        message = _("只有社区或小区党支部发布的活动可以设为结对共建活动")
        raise Conflict(message, code="pairing_not_for_kind")
    was = activity.pairing_id
    if pairing_id is None:
        activity.pairing = None
    else:
        activity.pairing = _joint_pairing(
            pairing_id, kind=activity.organiser_kind, community_id=activity.community_id
        )
    if activity.pairing_id != was:
        activity.save(update_fields=["pairing"])
        audit(actor=actor, action="volunteering.link_pairing", target=activity, pairing=pairing_id, was=was)
    return activity


@transaction.atomic
def cancel_activity(*, actor: Actor, activity_id: int, reason: str = "") -> Activity:
    """Calls the activity off; everyone signed up (or waiting) is told, with the reason."""
    reason = _text(reason, "reason", limit=MAX_REASON)
    activity = _managed(actor, activity_id)
    _require_published(activity)
    if activity.ends_at and activity.ends_at <= timezone.now():
        raise Conflict(_("活动已经结束，不能取消"), code="ended")
    activity.status = ActivityStatus.CANCELLED
    activity.save(update_fields=["status"])
    audit(actor=actor, action="volunteering.cancel", target=activity, reason=reason)
    text = _("您报名的“{t}”已取消。").format(t=activity.title)
    if reason:
        text += _("原因：{r}").format(r=reason)
    url = reverse("volunteering:activity", args=[activity.pk])
    for user_id in _active_user_ids(activity.slots.values_list("pk", flat=True)):
        notify(user_id=user_id, text=text, url=url)
    return activity


@transaction.atomic
def close_activity(*, actor: Actor, activity_id: int) -> Activity:
    """Ends sign-up for good (the activity is over, or enough people have come forward)."""
    activity = _managed(actor, activity_id)
    _require_published(activity)
    activity.status = ActivityStatus.CLOSED
    activity.save(update_fields=["status"])
    audit(actor=actor, action="volunteering.close", target=activity)
    return activity


# --- signing up -----------------------------------------------------------------------------------------


def approved_community(member_id: int | None) -> int | None:
    """The community a member reports in (approved registration), or None."""
    if not member_id:
        return None
    return (
        Registration.objects.filter(member_id=member_id, status=RegistrationStatus.APPROVED)
        .values_list("community_id", flat=True)
        .first()
    )


def may_join(member_id: int | None, activity: Activity, community_id: int | None = None) -> bool:
    """Whether the activity is open to this member (not whether places are left)."""
    community_id = community_id if community_id is not None else approved_community(member_id)
    if community_id is None:
        return False
    if activity.audience == Audience.OPEN:
        return True
    if activity.audience == Audience.COMMUNITY:
        return community_id == activity.community_id
    return ServiceTeamMember.objects.filter(
        team_id=activity.service_team_id, member_id=member_id, ended_at__isnull=True
    ).exists()


def _refusal(activity: Activity, community_id: int | None) -> str:
    if community_id is None:
        return _("在社区报到通过后才能报名")
    if activity.audience == Audience.COMMUNITY:
        return _("这个活动只面向本社区报到的党员")
    return _("这个活动只面向本服务队的队员")


def _locked_slot(slot_id: int) -> Slot:
    slot = Slot.objects.select_for_update(of=("self",)).select_related("activity").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound()
    return slot


def _open_for_changes(slot: Slot, now: datetime) -> None:
    _require_published(slot.activity)
    if slot.starts_at <= now:
        raise Conflict(_("这个时段已经开始了，不能再报名或取消"), code="started")


def _open_for_giving_back(slot: Slot, now: datetime) -> None:
    """A place may be given back until the slot starts, also once sign-up was closed (报名已结束):
    the waitlist still moves up."""
    if slot.activity.status == ActivityStatus.CANCELLED:
        raise Conflict(_("这个活动已经取消了"), code="cancelled")
    if slot.starts_at <= now:
        raise Conflict(_("这个时段已经开始了，不能再报名或取消"), code="started")


@transaction.atomic
def sign_up(*, actor: Actor, slot_id: int) -> Enrolment:
    """A member signs up for a slot (报名) or claims a shift or a task (领岗): a place if one is left,
    else the waitlist."""
    if not actor.member_id:
        raise Forbidden(_("报到党员才能报名参加志愿服务"), code="not_a_member")
    community_id = approved_community(actor.member_id)  # before the lock: it keeps the lock short
    slot = _locked_slot(slot_id)
    activity = slot.activity
    if not may_join(actor.member_id, activity, community_id):
        code = "not_reported" if community_id is None else "not_eligible"
        raise Forbidden(_refusal(activity, community_id), code=code)
    _open_for_changes(slot, timezone.now())
    mine = Enrolment.objects.filter(slot=slot, member_id=actor.member_id, status__in=ACTIVE_ENROLMENT)
    if mine.exists():
        raise Conflict(_("您已经报名了这个时段，不用重复报名"), code="already_signed_up")
    confirmed = slot.confirmed < slot.capacity
    status = EnrolmentStatus.CONFIRMED if confirmed else EnrolmentStatus.WAITLISTED
    try:  # no savepoint: the slot's lock keeps it short, and a refusal rolls the whole step back
        enrolment = Enrolment.objects.create(slot=slot, member_id=actor.member_id, status=status)
    except IntegrityError:
        raise Conflict(_("您已经报名了这个时段，不用重复报名"), code="already_signed_up") from None
    if confirmed:
        slot.confirmed += 1
    else:
        slot.waitlisted += 1
        enrolment.ahead = slot.waitlisted - 1  # last in line (selectors.waitlist_position reads it)
    slot.save(update_fields=["confirmed", "waitlisted"])
    audit(actor=actor, action="volunteering.sign_up", target=enrolment, slot=slot.pk, status=status)
    return enrolment


def _promote(slot: Slot, activity: Activity) -> list[Enrolment]:
    """Gives the slot's free places to the first in line (slot row locked by the caller); tells them."""
    free = slot.capacity - slot.confirmed
    if free <= 0 or not slot.waitlisted:
        return []
    queue = list(
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("member")
        .filter(slot=slot, status=EnrolmentStatus.WAITLISTED)
        .order_by("created_at", "pk")[:free]
    )
    if not queue:
        return []
    Enrolment.objects.filter(pk__in=[e.pk for e in queue]).update(
        status=EnrolmentStatus.CONFIRMED, changed_at=timezone.now()
    )
    slot.confirmed += len(queue)
    slot.waitlisted -= len(queue)
    slot.save(update_fields=["confirmed", "waitlisted"])
    when = timezone.localtime(slot.starts_at).strftime("%m月%d日 %H:%M")
    text = _("有人让出了名额，您候补的“{t}”（{w} {v}）已报名成功。").format(
        t=activity.title, w=when, v=slot.venue
    )
    url = reverse("volunteering:activity", args=[activity.pk])
    for e in queue:
        e.status = EnrolmentStatus.CONFIRMED
        notify(user_id=e.member.user_id, text=text, url=url)
    return queue


@transaction.atomic
def cancel_enrolment(*, actor: Actor, enrolment_id: int) -> Enrolment:
    """The member gives their place back (or leaves the waitlist); the organiser may take someone off.
    A confirmed place goes to the first in line, who is told. Possible until the slot starts, also
    after sign-up was closed; not once the activity is cancelled."""
    slot_id = Enrolment.objects.filter(pk=enrolment_id).values_list("slot_id", flat=True).first()
    if slot_id is None:
        raise NotFound()
    slot = _locked_slot(slot_id)
    enrolment = Enrolment.objects.select_for_update(of=("self",)).get(pk=enrolment_id)
    enrolment.slot = slot
    own = actor.member_id is not None and enrolment.member_id == actor.member_id
    if not own and not may_manage(actor, slot.activity):
        raise NotFound()
    if enrolment.status not in ACTIVE_ENROLMENT:
        raise Conflict(_("这个报名已经取消了"), code="already_cancelled")
    _open_for_giving_back(slot, timezone.now())
    was = enrolment.status
    enrolment.status = EnrolmentStatus.CANCELLED
    enrolment.save(update_fields=["status", "changed_at"])
    if was == EnrolmentStatus.CONFIRMED:
        slot.confirmed -= 1
    else:
        slot.waitlisted -= 1
    slot.save(update_fields=["confirmed", "waitlisted"])
    promoted = _promote(slot, slot.activity) if was == EnrolmentStatus.CONFIRMED else []
    audit(
        actor=actor,
        action="volunteering.cancel_enrolment",
        target=enrolment,
        slot=slot.pk,
        was=was,
        by_member=own,
        promoted=[e.pk for e in promoted],
    )
    if not own:
        member_user = enrolment.member.user_id
        text = _("组织者把您从“{t}”的报名名单中移出了。").format(t=slot.activity.title)
        notify(user_id=member_user, text=text, url=reverse("volunteering:activity", args=[slot.activity_id]))
    return enrolment
