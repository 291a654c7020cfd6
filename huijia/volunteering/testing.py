"""Rows for volunteering tests, written straight to the database (the services have their own tests).

`make_activity(world, ...)` publishes an activity of community A1 with one slot per (venue, hours from
now, length in hours, capacity); `enrol` and `record` add a sign-up and a service record as the
services would have left them (slot counters kept).
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from huijia.core.testing import World
from huijia.volunteering.models import (
    Activity,
    ActivityKind,
    AttendanceMethod,
    Audience,
    Enrolment,
    EnrolmentStatus,
    OrganiserKind,
    ServiceCategory,
    ServiceRecord,
    Slot,
)


def make_activity(
    w: World,
    *,
    title: str = "清理楼道小广告",
    community: str = "a1",
    kind: str = ActivityKind.ACTIVITY,
    organiser_kind: str = OrganiserKind.COMMUNITY,
    audience: str = Audience.OPEN,
    category: str = ServiceCategory.ENVIRONMENT,
    slots: list[tuple[str, float, float, int]] | None = None,
    creator: str = "staff",
    **fields,
) -> Activity:
    now = timezone.now()
    activity = Activity.objects.create(
        kind=kind,
        title=title,
        description=fields.pop("description", "带上手套，集合后分组"),
        category=category,
        organiser_kind=organiser_kind,
        community=w.areas[community],
        audience=audience,
        created_by=w.users.get(creator),
        **fields,
    )
    for venue, start_h, length_h, capacity in slots or [("3栋楼下", 24, 2, 10)]:
        start = now + timedelta(hours=start_h)
        Slot.objects.create(
            activity=activity,
            venue=venue,
            starts_at=start,
            ends_at=start + timedelta(hours=length_h),
            capacity=capacity,
        )
    first, last = activity.slots.order_by("starts_at").first(), activity.slots.order_by("-ends_at").first()
    Activity.objects.filter(pk=activity.pk).update(starts_at=first.starts_at, ends_at=last.ends_at)
    activity.refresh_from_db()
    return activity


def enrol(slot: Slot, member, status: str = EnrolmentStatus.CONFIRMED) -> Enrolment:
    enrolment = Enrolment.objects.create(slot=slot, member=member, status=status)
    counter = "confirmed" if status == EnrolmentStatus.CONFIRMED else "waitlisted"
    if status != EnrolmentStatus.CANCELLED:
        Slot.objects.filter(pk=slot.pk).update(**{counter: F(counter) + 1})
    return enrolment


def record(
    slot: Slot,
    member,
    *,
    hours: Decimal | str | None = None,
    checked_in_at: datetime | None = None,
    method: str = AttendanceMethod.ROLL_CALL,
) -> ServiceRecord:
    """A finished record (hours given, default the slot's length) or an open one (hours=None and a
    check-in time)."""
    activity = slot.activity
    if hours is None and checked_in_at is None:
        hours = Decimal(slot.minutes) / 60
    return ServiceRecord.objects.create(
        member=member,
        slot=slot,
        activity=activity,
        community_id=activity.community_id,
        method=method,
        checked_in_at=checked_in_at or slot.starts_at,
        checked_out_at=None if hours is None else slot.ends_at,
        hours=None if hours is None else Decimal(hours).quantize(Decimal("0.01")),
    )
