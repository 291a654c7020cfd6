"""JSON API of volunteering: activities, service posts and tasks, their slots, signing up. Mounted
under /api/v1/ by huijia/api.py; the same services and selectors as the screens. Members' names
appear only to the organisers (the roster); no phone or ID number appears here."""

from datetime import date, datetime, time

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.api import PageQuery, actor, errors, page_of
from huijia.volunteering import activities as services
from huijia.volunteering import activity_selectors as selectors
from huijia.volunteering.activities import MAX_SLOTS, ActivityInput, Recurrence, ShiftTime, SlotInput
from huijia.volunteering.models import (
    ACTIVE_ENROLMENT,
    Activity,
    ActivityKind,
    ActivityStatus,
    Audience,
    Enrolment,
    OrganiserKind,
    ServiceCategory,
)
from huijia.volunteering.records import organiser_label

router = Router(tags=["志愿服务"])


# --- Schemas -------------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class SlotIn(Schema):
    id: int | None = Field(
        None, description="an existing slot (when changing an activity); omit for a new one"
    )
    venue: str = Field(max_length=100)
    label: str = Field("", max_length=32, description="e.g. 上午班")
    starts_at: datetime
    ends_at: datetime
    capacity: int = Field(ge=1, le=10000, description="places")


class ShiftTimeIn(Schema):
    starts: time
    ends: time
    label: str = Field("", max_length=32)


class RecurrenceIn(Schema):
    date_from: date
    date_to: date
    weekdays: list[int] = Field(max_length=7, description="0 Monday … 6 Sunday")
    times: list[ShiftTimeIn] = Field(max_length=6, description="the shifts of each day")
    venue: str = Field(max_length=100)
    capacity: int = Field(ge=1, le=10000, description="places per shift")


class ActivityIn(Schema):
    kind: ActivityKind = Field(
        ActivityKind.ACTIVITY, description="activity, post (服务岗) or task (任务认领)"
    )
    title: str = Field(max_length=100)
    description: str = Field("", max_length=2000)
    category: ServiceCategory
    organiser_kind: OrganiserKind = Field(
        description="community (community_id), estate (estate_id), team (service_team_id), "
        "work_unit (community_id of a community the unit is paired with; work_unit_id if several)"
    )
    audience: Audience = Field(Audience.OPEN, description="open, community (its reporting members), team")
    community_id: int | None = None
    estate_id: int | None = None
    service_team_id: int | None = None
    work_unit_id: int | None = None
    pairing_id: int | None = Field(
        None,
        description="joint activity (共建活动) of a community or estate: an active pairing of the community",
    )
    slots: list[SlotIn] = Field(
        [], max_length=MAX_SLOTS, description="the slots; for a post, or give `recurrence`"
    )
    recurrence: RecurrenceIn | None = Field(
        None, description="a post's shifts, generated (instead of slots); shifts already started are left out"
    )


class ActivityChangeIn(Schema):
    title: str = Field(max_length=100)
    description: str = Field("", max_length=2000)
    slots: list[SlotIn] | None = Field(
        None,
        max_length=MAX_SLOTS,
        description="the new list (with ids of kept slots; slots still to come left out are removed, started "
        "slots stay as they are, listed or not); omitted: unchanged",
    )


class ActivityPairingIn(Schema):
    pairing_id: int | None = Field(
        description="an active pairing of the activity's community; null: not joint"
    )


class ReasonIn(Schema):
    reason: str = Field("", max_length=200)


class MyPlaceOut(Schema):
    enrolment_id: int
    status: str = Field(description="confirmed or waitlisted")


class SlotOut(Schema):
    id: int
    venue: str
    label: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    confirmed: int
    waitlisted: int
    left: int = Field(description="places left")
    mine: MyPlaceOut | None = Field(None, description="the caller's own sign-up for this slot")


class ActivitySummaryOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    category: str
    category_label: str
    organiser_kind: str
    organiser: str = Field(description="who organises, e.g. 识字岭社区, 教师志愿服务队")
    community: Ref
    audience: str
    status: str
    status_label: str
    starts_at: datetime | None
    ends_at: datetime | None
    slot_count: int
    capacity: int
    confirmed: int
    waitlisted: int


class ActivityOut(ActivitySummaryOut):
    description: str
    estate: Ref | None
    service_team: Ref | None
    work_unit: Ref | None
    pairing_id: int | None = Field(description="the pairing of a joint activity (共建活动)")
    people_served: int
    slots: list[SlotOut]


class ActivityPage(Schema):
    items: list[ActivitySummaryOut]
    count: int
    limit: int
    offset: int


class ActivityQuery(PageQuery):
    community_id: int | None = None
    service_team_id: int | None = Field(None, description="a service team's activities")
    pairing_id: int | None = Field(None, description="a pairing's joint activities (共建活动)")
    kind: ActivityKind | None = None
    status: ActivityStatus | None = None
    period: str | None = Field(None, pattern="^(upcoming|month|past)$", description="upcoming, month or past")


class EnrolmentOut(Schema):
    id: int
    status: str = Field(description="confirmed, waitlisted or cancelled")
    status_label: str
    waitlist_position: int | None = Field(description="1 for the first in line; null when not waiting")
    slot_id: int
    activity_id: int
    activity_title: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


class EnrolmentPage(Schema):
    items: list[EnrolmentOut]
    count: int
    limit: int
    offset: int


class EnrolmentQuery(PageQuery):
    upcoming: bool = Field(False, description="only slots not yet over")
    include_cancelled: bool = False


class RosterRowOut(Schema):
    enrolment_id: int
    member_id: int
    name: str
    work_unit: str
    signed_up_at: datetime


class RosterOut(Schema):
    slot: SlotOut
    activity_id: int
    confirmed: list[RosterRowOut]
    waitlisted: list[RosterRowOut] = Field(description="in line order")


# --- Shaping -------------------------------------------------------------------------------------


def _summary(a: Activity) -> dict:
    return {
        "id": a.pk,
        "kind": a.kind,
        "kind_label": a.get_kind_display(),
        "title": a.title,
        "category": a.category,
        "category_label": a.get_category_display(),
        "organiser_kind": a.organiser_kind,
        "organiser": organiser_label(a),
        "community": {"id": a.community_id, "name": a.community.name},
        "audience": a.audience,
        "status": a.status,
        "status_label": a.get_status_display(),
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "slot_count": a.slot_count,
        "capacity": a.capacity,
        "confirmed": a.confirmed,
        "waitlisted": a.waitlisted,
    }


def _ref(obj) -> dict | None:
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


def _slot(s, mine: dict | None = None) -> dict:
    e = (mine or {}).get(s.pk)
    return {
        "id": s.pk,
        "venue": s.venue,
        "label": s.label,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "capacity": s.capacity,
        "confirmed": s.confirmed,
        "waitlisted": s.waitlisted,
        "left": max(s.capacity - s.confirmed, 0),
        "mine": {"enrolment_id": e.pk, "status": e.status} if e else None,
    }


def _detail(request: HttpRequest, activity_id: int) -> dict:
    who = actor(request)
    a = selectors.api_activity(actor=who, activity_id=activity_id)
    slots = a.slot_rows
    mine = {}
    if who.member_id:
        rows = Enrolment.objects.filter(
            slot__activity_id=a.pk,
            member_id=who.member_id,
            status__in=ACTIVE_ENROLMENT,
        )
        mine = {e.slot_id: e for e in rows}
    a.slot_count = len(slots)
    a.capacity = sum(s.capacity for s in slots)
    a.confirmed = sum(s.confirmed for s in slots)
    a.waitlisted = sum(s.waitlisted for s in slots)
    return {
        **_summary(a),
        "description": a.description,
        "estate": _ref(a.estate),
        "service_team": _ref(a.service_team),
        "work_unit": _ref(a.work_unit),
        "pairing_id": a.pairing_id,
        "people_served": a.people_served,
        "slots": [_slot(s, mine) for s in slots],
    }


def _enrolment(e: Enrolment) -> dict:
    slot = e.slot
    return {
        "id": e.pk,
        "status": e.status,
        "status_label": e.get_status_display(),
        "waitlist_position": selectors.waitlist_position(e),
        "slot_id": slot.pk,
        "activity_id": slot.activity_id,
        "activity_title": slot.activity.title,
        "venue": slot.venue,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "created_at": e.created_at,
    }


def _slot_inputs(slots: list[SlotIn] | None) -> tuple[SlotInput, ...] | None:
    if slots is None:
        return None
    return tuple(
        SlotInput(
            id=s.id,
            venue=s.venue,
            label=s.label,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            capacity=s.capacity,
        )
        for s in slots
    )


# --- Endpoints -----------------------------------------------------------------------------------


@router.get("/volunteer/activities", response={200: ActivityPage, **errors(401, 422)}, summary="志愿活动列表")
def list_activities(request: HttpRequest, filters: Query[ActivityQuery]):
    """Activities, posts and tasks the caller may see: those in their scope (staff, the organising unit,
    a team's leaders), those open to them as a member, and those they signed up for; last started first."""
    qs = selectors.activities_for(
        actor=actor(request),
        community_id=filters.community_id,
        kind=filters.kind.value if filters.kind else None,
        status=filters.status.value if filters.status else None,
        period=filters.period,
        visible=True,
        service_team_id=filters.service_team_id,
        pairing_id=filters.pairing_id,
    )
    result = page_of(qs, filters)
    result["items"] = [_summary(a) for a in result["items"]]
    return result


@router.post(
    "/volunteer/activities",
    response={201: ActivityOut, **errors(400, 401, 403, 404, 422)},
    summary="发布志愿活动",
)
def publish_activity(request: HttpRequest, payload: ActivityIn):
    """Publishes an activity, a post or a task with its slots (a post: or its `recurrence`)."""
    data = ActivityInput(
        kind=payload.kind.value,
        title=payload.title,
        description=payload.description,
        category=payload.category.value,
        organiser_kind=payload.organiser_kind.value,
        audience=payload.audience.value,
        community_id=payload.community_id,
        estate_id=payload.estate_id,
        service_team_id=payload.service_team_id,
        work_unit_id=payload.work_unit_id,
        pairing_id=payload.pairing_id,
        slots=_slot_inputs(payload.slots) or (),
    )
    who = actor(request)
    if payload.recurrence is not None:
        created = services.publish_post(actor=who, data=data, recurrence=_recurrence(payload.recurrence))
    else:
        created = services.publish_activity(actor=who, data=data)
    return Status(201, _detail(request, created.pk))


@router.get(
    "/volunteer/activities/{activity_id}",
    response={200: ActivityOut, **errors(401, 404, 422)},
    summary="志愿活动详情",
)
def get_activity(request: HttpRequest, activity_id: int):
    """One activity with its slots, places left and the caller's own sign-up per slot."""
    return _detail(request, activity_id)


@router.put(
    "/volunteer/activities/{activity_id}",
    response={200: ActivityOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改志愿活动",
)
def change_activity(request: HttpRequest, activity_id: int, payload: ActivityChangeIn):
    """Changes the title, description and the slots still to come, also once it has begun (a standing
    post): started slots stay as they are (a change to one is refused). 409 once every slot has started
    (unless slots are added), or cancelled or closed; a slot's capacity never drops below those confirmed."""
    services.update_activity(
        actor=actor(request),
        activity_id=activity_id,
        title=payload.title,
        description=payload.description,
        slots=_slot_inputs(payload.slots),
    )
    return _detail(request, activity_id)


@router.post(
    "/volunteer/activities/{activity_id}/cancel",
    response={200: ActivityOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="取消志愿活动",
)
def cancel_activity(request: HttpRequest, activity_id: int, payload: ReasonIn):
    """Calls the activity off; everyone signed up or waiting is told, with the reason."""
    services.cancel_activity(actor=actor(request), activity_id=activity_id, reason=payload.reason)
    return _detail(request, activity_id)


def _recurrence(r: RecurrenceIn) -> Recurrence:
    return Recurrence(
        date_from=r.date_from,
        date_to=r.date_to,
        weekdays=frozenset(r.weekdays),
        times=tuple(ShiftTime(t.starts, t.ends, t.label) for t in r.times),
        venue=r.venue,
        capacity=r.capacity,
    )


@router.put(
    "/volunteer/activities/{activity_id}/pairing",
    response={200: ActivityOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="设为结对共建活动",
)
def set_pairing(request: HttpRequest, activity_id: int, payload: ActivityPairingIn):
    """Links a community's or an estate's activity to an active pairing of its community (共建活动: it
    counts for the community and the unit), or unlinks it (null). 400 for a pairing not in force with
    its community; 409 for an activity of a team or a unit, or a cancelled one."""
    services.set_pairing(actor=actor(request), activity_id=activity_id, pairing_id=payload.pairing_id)
    return _detail(request, activity_id)


@router.post(
    "/volunteer/activities/{activity_id}/shifts",
    response={201: ActivityOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="服务岗加排班次",
)
def extend_post(request: HttpRequest, activity_id: int, payload: RecurrenceIn):
    """Adds a post's shifts from a recurrence (more weeks, another shift a day), also once it has begun;
    shifts already started or already there are left out (400 when none is left)."""
    services.extend_post(actor=actor(request), activity_id=activity_id, recurrence=_recurrence(payload))
    return Status(201, _detail(request, activity_id))


@router.put(
    "/volunteer/slots/{slot_id}",
    response={200: SlotOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改时段（班次）",
)
def change_slot(request: HttpRequest, slot_id: int, payload: SlotIn):
    """Changes one slot still to come: venue, label, times, places (never fewer than confirmed); those
    signed up are told. 400 for a slot that has started."""
    data = SlotInput(
        venue=payload.venue,
        label=payload.label,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        capacity=payload.capacity,
    )
    return _slot(services.change_slot(actor=actor(request), slot_id=slot_id, data=data))


@router.delete(
    "/volunteer/slots/{slot_id}",
    response={200: ActivityOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="删除时段（班次）",
)
def remove_slot(request: HttpRequest, slot_id: int):
    """Removes a slot still to come that nobody signed up for; returns the activity. 409 once it has
    started, or for the activity's only slot."""
    activity = services.remove_slot(actor=actor(request), slot_id=slot_id)
    return _detail(request, activity.pk)


@router.post(
    "/volunteer/activities/{activity_id}/close",
    response={200: ActivityOut, **errors(401, 403, 404, 409, 422)},
    summary="结束报名",
)
def close_activity(request: HttpRequest, activity_id: int):
    services.close_activity(actor=actor(request), activity_id=activity_id)
    return _detail(request, activity_id)


@router.get(
    "/volunteer/slots/{slot_id}/roster",
    response={200: RosterOut, **errors(401, 404, 422)},
    summary="报名名单",
)
def slot_roster(request: HttpRequest, slot_id: int):
    """A slot's confirmed list and waitlist (in line order), for the organiser and staff in scope."""
    r = selectors.slot_roster(actor=actor(request), slot_id=slot_id)

    def row(e: Enrolment) -> dict:
        unit = e.member.work_unit
        return {
            "enrolment_id": e.pk,
            "member_id": e.member_id,
            "name": e.member.name,
            "work_unit": unit.name if unit else "",
            "signed_up_at": e.created_at,
        }

    return {
        "slot": _slot(r.slot),
        "activity_id": r.slot.activity_id,
        "confirmed": [row(e) for e in r.confirmed],
        "waitlisted": [row(e) for e in r.waitlisted],
    }


@router.post(
    "/volunteer/slots/{slot_id}/signup",
    response={201: EnrolmentOut, **errors(401, 403, 404, 409, 422)},
    summary="报名（领岗）",
)
def sign_up(request: HttpRequest, slot_id: int):
    """Signs the caller up for a slot (claims a shift or a task): `confirmed` while places are left,
    else `waitlisted` with its place in line. 403 when the activity is not open to them; 409 when they
    are already signed up, the slot has started, or the activity is cancelled or closed."""
    enrolment = services.sign_up(actor=actor(request), slot_id=slot_id)
    return Status(201, _enrolment(enrolment))


@router.post(
    "/volunteer/enrolments/{enrolment_id}/cancel",
    response={200: EnrolmentOut, **errors(401, 403, 404, 409, 422)},
    summary="取消报名",
)
def cancel_enrolment(request: HttpRequest, enrolment_id: int):
    """Gives the place back (or leaves the waitlist); the first in line gets it and is told. The
    organiser may also take someone off. Possible after sign-up was closed, until the slot starts;
    409 once cancelled, once the activity is cancelled or once the slot has started."""
    return _enrolment(services.cancel_enrolment(actor=actor(request), enrolment_id=enrolment_id))


@router.get("/volunteer/enrolments", response={200: EnrolmentPage, **errors(401, 422)}, summary="我的报名")
def my_enrolments(request: HttpRequest, filters: Query[EnrolmentQuery]):
    """The caller's own sign-ups, soonest first."""
    qs = selectors.my_enrolments(
        actor=actor(request), upcoming=filters.upcoming, active=not filters.include_cancelled
    )
    result = page_of(qs, filters)
    result["items"] = [_enrolment(e) for e in result["items"]]
    return result
