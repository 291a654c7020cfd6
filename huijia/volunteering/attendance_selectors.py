"""Scoped reads of attendance: the slots an organiser runs, a slot's attendance, corrections to decide,
a member's own record, and the record a served resident confirms by its token.

Who organises a slot (MANAGE_VOLUNTEERING on its activity): community staff over the community, the
estate's branch secretary for activities of their estate (the Activity scope reaches areas through the
community's path and through the estate's), the organising work unit, and the leaders
of the organising service team. Staff who may only VIEW the community (street, organisation
department) see attendance but change nothing.
"""

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict
from huijia.core.errors import NotFound
from huijia.members.models import Member, Registration, RegistrationStatus
from huijia.volunteering.models import (
    ACTIVE_ENROLMENT,
    Activity,
    Audience,
    CorrectionStatus,
    Enrolment,
    EnrolmentStatus,
    HoursCorrection,
    ServiceRecord,
    ServiceTeamMember,
    Slot,
)


def slots_for(actor: Actor, perm: Perm = Perm.VIEW) -> QuerySet[Slot]:
    """Slots the actor may see (VIEW) or organise (MANAGE_VOLUNTEERING)."""
    return restrict(Slot.objects.all(), actor, perm)


def activities_for(actor: Actor, perm: Perm = Perm.VIEW) -> QuerySet[Activity]:
    return restrict(Activity.objects.all(), actor, perm)


def organises(actor: Actor, slot_id: int) -> bool:
    return slots_for(actor, Perm.MANAGE_VOLUNTEERING).filter(pk=slot_id).exists()


def slot_for(*, actor: Actor, slot_id: int, perm: Perm = Perm.VIEW) -> Slot:
    """One slot with its activity and community; NotFound when missing or out of reach."""
    slot = (
        slots_for(actor, perm)
        .select_related("activity", "activity__community", "activity__estate")
        .filter(pk=slot_id)
        .first()
    )
    if slot is None:
        raise NotFound()
    return slot


def attendance_of(slot: Slot) -> list[ServiceRecord]:
    """A slot's records, in check-in order, with the member and any pending correction joined in."""
    pending = HoursCorrection.objects.filter(status=CorrectionStatus.PENDING)
    return list(
        ServiceRecord.objects.filter(slot=slot)
        .select_related("member")
        .prefetch_related(Prefetch("corrections", queryset=pending, to_attr="pending"))
        .order_by("checked_in_at", "pk")
    )


def confirmed_of(slot: Slot) -> list[Enrolment]:
    """The slot's confirmed places, in sign-up order, with the member."""
    return list(
        Enrolment.objects.filter(slot=slot, status=EnrolmentStatus.CONFIRMED)
        .select_related("member")
        .order_by("created_at", "pk")
    )


def signed_up_of(slot: Slot) -> list[Enrolment]:
    """The roll-call list: confirmed places in sign-up order, then the waitlist in its order."""
    rows = list(
        Enrolment.objects.filter(slot=slot, status__in=ACTIVE_ENROLMENT)
        .select_related("member")
        .order_by("created_at", "pk")
    )
    return sorted(rows, key=lambda e: e.status != EnrolmentStatus.CONFIRMED)


MAX_WALK_IN_PICKS = 20


def _reported_in(community_id: int) -> QuerySet[Registration]:
    return Registration.objects.filter(community_id=community_id, status=RegistrationStatus.APPROVED)


def _team_members(team_id: int | None) -> QuerySet[ServiceTeamMember]:
    return ServiceTeamMember.objects.filter(team_id=team_id, ended_at__isnull=True)


def walk_in_refusal(activity: Activity, member_id: int) -> tuple[str, str] | None:
    """(code, message) when this member may not be recorded as a walk-in of the activity, else None:
    they must report in the activity's community (approved registration), and a team-only activity
    takes only the team's members."""
    if not _reported_in(activity.community_id).filter(member_id=member_id).exists():
        return "not_in_community", _("只能补记在本社区报到的党员")
    if (
        activity.audience == Audience.TEAM
        and not _team_members(activity.service_team_id).filter(member_id=member_id).exists()
    ):
        return "not_eligible", _("这个活动只面向本服务队的队员")
    return None


def walk_in_candidates(*, slot: Slot, query: str) -> list[Member]:
    """Members the organiser may add as walk-ins, by name (nothing without a name typed): reported in
    the activity's community, open to the activity, not yet signed up for or recorded in the slot."""
    query = (query or "").strip()[:20]
    if not query:
        return []
    activity = slot.activity
    rows = Member.objects.filter(
        pk__in=_reported_in(activity.community_id).values("member_id"), name__contains=query
    )
    if activity.audience == Audience.TEAM:
        rows = rows.filter(pk__in=_team_members(activity.service_team_id).values("member_id"))
    rows = rows.exclude(
        pk__in=Enrolment.objects.filter(slot=slot, status__in=ACTIVE_ENROLMENT).values("member_id")
    ).exclude(pk__in=ServiceRecord.objects.filter(slot=slot).values("member_id"))
    return list(
        rows.select_related("household", "household__building").order_by("name", "pk")[:MAX_WALK_IN_PICKS]
    )


def corrections_for(
    *, actor: Actor, pending_only: bool = True, slot_id: int | None = None
) -> QuerySet[HoursCorrection]:
    """Hours corrections on the slots the actor organises, oldest request first; never the actor's own
    (an organiser who is also a member does not decide their own hours)."""
    slots = slots_for(actor, Perm.MANAGE_VOLUNTEERING)
    qs = HoursCorrection.objects.filter(record__slot__in=slots.values("pk"))
    if actor.member_id:
        qs = qs.exclude(record__member_id=actor.member_id)
    if pending_only:
        qs = qs.filter(status=CorrectionStatus.PENDING)
    if slot_id is not None:
        qs = qs.filter(record__slot_id=slot_id)
    return qs.select_related(
        "record", "record__member", "record__slot", "record__activity", "record__community"
    ).order_by("requested_at", "pk")


def my_records(*, actor: Actor) -> QuerySet[ServiceRecord]:
    """The member's own records (the API's and the phone's list), newest first."""
    if not actor.member_id:
        return ServiceRecord.objects.none()
    return (
        ServiceRecord.objects.filter(member_id=actor.member_id)
        .select_related("slot", "activity")
        .order_by("-checked_in_at", "-pk")
    )


def my_record(*, actor: Actor, record_id: int) -> ServiceRecord:
    """One of the member's own records with its corrections; NotFound for anyone else's."""
    record = (
        my_records(actor=actor)
        .select_related("activity__community")
        .prefetch_related(
            Prefetch("corrections", queryset=HoursCorrection.objects.order_by("-requested_at", "-pk"))
        )
        .filter(pk=record_id)
        .first()
    )
    if record is None:
        raise NotFound()
    return record


def my_open_record(*, actor: Actor, slot_id: int) -> ServiceRecord | None:
    if not actor.member_id:
        return None
    return ServiceRecord.objects.filter(member_id=actor.member_id, slot_id=slot_id).first()


def record_by_token(*, token: str) -> ServiceRecord:
    """The record a served resident opens from the member's link (public: whoever holds the token)."""
    token = (token or "").strip()[:32]
    record = (
        ServiceRecord.objects.select_related("activity", "activity__community", "slot", "member")
        .filter(confirm_token=token)
        .first()
        if token
        else None
    )
    if record is None:
        raise NotFound(message="这个确认链接无效，请让党员重新出示")
    return record
