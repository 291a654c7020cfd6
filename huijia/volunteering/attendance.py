"""Writes of attendance and hours: check-in and check-out by QR code, roll call, hours corrections,
people served, and the served resident's confirmation.

Either way of recording attendance is enough and neither is compulsory: a member scans the slot's QR
code at the venue (first scan checks in, the next checks out), or the organiser ticks who was there
on their phone. No photo, no location, ever. Hours are the overlap of [in, out] with the slot, never
more than the slot; a member who thinks their hours are wrong asks for a correction, which the
organiser approves or rejects with an answer. Trust comes from the people served: a resident may
confirm a member's service from their own phone, with no account (never the member themselves).
The organiser may untick someone at roll call or remove a wrong record (with a reason, audited), add a
walk-in or a waitlisted member who turned up, and decides corrections of others' hours, never their
own.

Each step is one transaction: it locks the row it changes (`select_for_update`), checks that the actor
may take the step, writes, audits, and queues the notifications.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor
from huijia.accounts.services import audit, notify
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.volunteering import attendance_selectors as selectors
from huijia.volunteering.checkin_codes import CodeCheck, check_code
from huijia.volunteering.models import (
    ACTIVE_ENROLMENT,
    Activity,
    ActivityStatus,
    AttendanceMethod,
    CorrectionStatus,
    Enrolment,
    EnrolmentStatus,
    HoursCorrection,
    ServiceRecord,
    Slot,
)

CHECK_IN_EARLY = timedelta(minutes=30)  # members may check in from half an hour before the start
MAX_REASON = 200
MAX_COMMENT = 200
MAX_PEOPLE_SERVED = 100_000
CENT = Decimal("0.01")


def _bad(field_name: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={field_name: [message]})


def _url(name: str, *args) -> str:
    """A page's address for a notification; empty while that page does not exist yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


# --- hours -----------------------------------------------------------------------------------------


def slot_hours(slot: Slot) -> Decimal:
    """The slot's length in hours (2 decimals): the most any record of it can count."""
    seconds = Decimal((slot.ends_at - slot.starts_at).total_seconds())
    return (seconds / 3600).quantize(CENT, rounding=ROUND_HALF_UP)


def hours_between(slot: Slot, checked_in_at: datetime, checked_out_at: datetime) -> Decimal:
    """The hours of [checked_in_at, checked_out_at] that fall inside the slot, to 2 decimals: arriving
    early or leaving late adds nothing, and nothing counts outside the slot."""
    start, end = max(checked_in_at, slot.starts_at), min(checked_out_at, slot.ends_at)
    if end <= start:
        return Decimal("0.00")
    seconds = Decimal((end - start).total_seconds())
    return min((seconds / 3600).quantize(CENT, rounding=ROUND_HALF_UP), slot_hours(slot))


def _hours(value, slot: Slot, field_name: str = "hours") -> Decimal:
    """A number of hours typed by someone: more than 0, at most the slot's length, 2 decimals."""
    try:
        hours = Decimal(str(value).strip()).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        raise _bad(field_name, _("请填写服务时长（小时），例如 1.5"), "bad_hours") from None
    if not hours.is_finite() or hours <= 0:
        raise _bad(field_name, _("服务时长要大于0"), "bad_hours")
    limit = slot_hours(slot)
    if hours > limit:
        message = _("服务时长不能超过本时段的 %(h)s 小时") % {"h": _plain(limit)}
        raise _bad(field_name, message, "hours_beyond_slot")
    return hours


def _plain(hours: Decimal) -> str:
    return f"{hours.normalize():f}"


def not_counted_reason(record: ServiceRecord, slot: Slot) -> str:
    """Why a closed record has 0 hours (it then does not count as a service); empty otherwise."""
    if record.hours is None or record.hours > 0:
        return ""
    out = record.checked_out_at or record.checked_in_at
    if out <= slot.starts_at:
        why = _("签到签退都在活动开始前，本次不计时长")
    elif record.checked_in_at >= slot.ends_at:
        why = _("签到时活动已经结束，本次不计时长")
    else:
        why = _("签到和签退只隔了不到1分钟，本次不计时长")
    return why + _("。如果您实际参加了服务，可以申请更正时长。")


# --- check-in and check-out by QR code -------------------------------------------------------------


def _code_ok(slot: Slot, code: str, now: datetime) -> None:
    verdict = check_code(slot, code, now)
    if verdict == CodeCheck.EXPIRED:
        raise _bad("code", _("二维码已过期，请扫描现场最新的二维码"), "code_expired")
    if verdict == CodeCheck.INVALID:
        raise _bad("code", _("这不是本时段的签到二维码，请扫描活动现场展示的二维码"), "code_invalid")


def _scanned(actor: Actor, slot_id: int, code: str, now: datetime) -> tuple[Slot, Enrolment]:
    """The slot and the member's confirmed place, the place locked, the code checked."""
    if not actor.member_id:
        raise Forbidden(_("只有报到党员可以扫码签到"), code="not_member")
    slot = Slot.objects.select_related("activity").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound()
    _code_ok(slot, code, now)
    enrolment = (
        Enrolment.objects.select_for_update()
        .filter(slot=slot, member_id=actor.member_id, status=EnrolmentStatus.CONFIRMED)
        .first()
    )
    if enrolment is None:
        raise Forbidden(_("您没有报上这个时段（或还在候补），不能签到"), code="not_enrolled")
    return slot, enrolment


@transaction.atomic
def check_in(*, actor: Actor, slot_id: int, code: str, now: datetime | None = None) -> ServiceRecord:
    """A member checks in by scanning the slot's code: from 30 minutes before the start to the end."""
    now = now or timezone.now()
    slot, _enrolment = _scanned(actor, slot_id, code, now)
    if slot.activity.status == ActivityStatus.CANCELLED:
        raise Conflict(_("这个活动已取消"), code="cancelled")
    if now < slot.starts_at - CHECK_IN_EARLY:
        raise InvalidInput(_("还没到签到时间：开始前30分钟起可以签到"), code="too_early")
    if now > slot.ends_at:
        raise InvalidInput(_("这个时段已经结束，不能再签到；请联系组织者补记"), code="too_late")
    if ServiceRecord.objects.filter(slot=slot, member_id=actor.member_id).exists():
        raise Conflict(_("您已经签到过了"), code="already_checked_in")
    try:
        with transaction.atomic():
            record = ServiceRecord.objects.create(
                member_id=actor.member_id,
                slot=slot,
                activity=slot.activity,
                community_id=slot.activity.community_id,
                method=AttendanceMethod.QR,
                checked_in_at=now,
                recorded_by_id=actor.user_id,
            )
    except IntegrityError:
        raise Conflict(_("您已经签到过了"), code="already_checked_in") from None
    audit(actor=actor, action="volunteer.check_in", target=record, slot=slot.pk)
    return record


@transaction.atomic
def check_out(*, actor: Actor, slot_id: int, code: str, now: datetime | None = None) -> ServiceRecord:
    """The second scan: the record is closed and its hours counted (capped to the slot). 0 hours (both
    scans before the start) closes it too; `not_counted_reason` tells the member why it does not count."""
    now = now or timezone.now()
    slot, _enrolment = _scanned(actor, slot_id, code, now)
    record = ServiceRecord.objects.select_for_update().filter(slot=slot, member_id=actor.member_id).first()
    if record is None:
        raise InvalidInput(_("您还没有签到，不能签退；请先扫码签到"), code="not_checked_in")
    if record.checked_out_at is not None or record.hours is not None:
        raise Conflict(_("您已经签退过了，本次服务已记录"), code="already_checked_out")
    record.checked_out_at = max(now, record.checked_in_at)
    record.hours = hours_between(slot, record.checked_in_at, record.checked_out_at)
    record.save(update_fields=["checked_out_at", "hours"])
    audit(actor=actor, action="volunteer.check_out", target=record, hours=str(record.hours))
    return record


@transaction.atomic
def scan(*, actor: Actor, slot_id: int, code: str, now: datetime | None = None) -> tuple[str, ServiceRecord]:
    """What scanning the code at the venue does: the first scan checks in, the next checks out."""
    now = now or timezone.now()
    open_record = ServiceRecord.objects.filter(slot_id=slot_id, member_id=actor.member_id).first()
    if actor.member_id and open_record is not None and open_record.method == AttendanceMethod.QR:
        return "out", check_out(actor=actor, slot_id=slot_id, code=code, now=now)
    return "in", check_in(actor=actor, slot_id=slot_id, code=code, now=now)


# --- roll call, walk-ins and removing a record ----------------------------------------------------


def _organised_slot(actor: Actor, slot_id: int) -> Slot:
    """The slot, locked, if the actor organises it: Forbidden for those who only see it."""
    slot = (
        selectors.slots_for(actor, Perm.MANAGE_VOLUNTEERING)
        .select_for_update(of=("self",))
        .select_related("activity")
        .filter(pk=slot_id)
        .first()
    )
    if slot is None:
        if selectors.slots_for(actor, Perm.VIEW).filter(pk=slot_id).exists():
            raise Forbidden(_("您不是这个活动的组织者"))
        raise NotFound()
    return slot


def _ready_for_roll_call(slot: Slot, now: datetime) -> None:
    if slot.activity.status == ActivityStatus.CANCELLED:
        raise Conflict(_("这个活动已取消"), code="cancelled")
    if now < slot.starts_at - CHECK_IN_EARLY:
        raise InvalidInput(_("活动还没开始，开始前30分钟起才能点名"), code="too_early")


@dataclass(frozen=True)
class RollCallResult:
    created: int = 0
    updated: int = 0
    closed: int = 0
    skipped_qr: int = 0  # ticked (or unticked), but recorded by scanning: left as scanned
    removed: int = 0  # unticked: their roll-call record is gone
    confirmed: int = 0  # waitlisted people who came and got a free place


def _roll_call_hours(slot: Slot, present: list[int], hours: dict[int, object]) -> dict[int, Decimal]:
    default = slot_hours(slot)
    unknown = set(hours) - set(present)
    if unknown:
        raise _bad("hours", _("只能给勾选到场的人填写时长"), "hours_without_presence")
    return {m: _hours(hours[m], slot, f"hours.{m}") if m in hours else default for m in present}


def _on_the_list(slot: Slot, member_ids: list[int]) -> set[int]:
    """Of `member_ids`, those roll call may tick: signed up (confirmed or waitlisted) or already
    recorded in the slot (a walk-in)."""
    signed_up = Enrolment.objects.filter(
        slot=slot, member_id__in=member_ids, status__in=ACTIVE_ENROLMENT
    ).values_list("member_id", flat=True)
    recorded = ServiceRecord.objects.filter(slot=slot, member_id__in=member_ids).values_list(
        "member_id", flat=True
    )
    return set(signed_up) | set(recorded)


@transaction.atomic
def roll_call(
    *,
    actor: Actor,
    slot_id: int,
    present: list[int],
    hours: dict[int, object] | None = None,
    absent: list[int] | None = None,
    close_open: bool = False,
    now: datetime | None = None,
) -> RollCallResult:
    """The organiser ticks who came (member ids of those signed up, waitlisted included, or already
    recorded) and, if needed, their hours (default the slot's length, never more). `absent` are those
    unticked: their roll-call records are removed (audited). Records made by scanning are left alone;
    the organiser may also close the open check-ins of members who forgot to scan out, once the slot
    has ended. A waitlisted member who came gets a confirmed place if one is free."""
    now = now or timezone.now()
    slot = _organised_slot(actor, slot_id)
    present = list(dict.fromkeys(int(m) for m in present))
    absent = list(dict.fromkeys(int(m) for m in absent or ()))
    if slot.activity.status == ActivityStatus.CANCELLED:
        raise Conflict(_("这个活动已取消"), code="cancelled")
    if present:
        _ready_for_roll_call(slot, now)
    if close_open and now < slot.ends_at:
        raise InvalidInput(_("时段结束后才能统一签退"), code="not_ended")
    if set(present) & set(absent):
        raise _bad("absent", _("同一个人不能既到场又未到"), "present_and_absent")
    chosen = _roll_call_hours(slot, present, {int(k): v for k, v in (hours or {}).items()})
    if set(present) - _on_the_list(slot, present):
        raise _bad(
            "present",
            _("点名只能勾选本时段已报名、候补或已补记的人；没报名的请用“补记到场的人”"),
            "not_enrolled",
        )
    existing = {
        r.member_id: r
        for r in ServiceRecord.objects.select_for_update().filter(slot=slot, member_id__in=present + absent)
    }
    created, updated, skipped = _write_roll_call(actor, slot, chosen, existing)
    unticked = [existing[m] for m in absent if m in existing]
    gone = [r for r in unticked if r.method == AttendanceMethod.ROLL_CALL]
    _delete_records(actor, slot, gone, _("点名时取消勾选"))
    moved_up = _confirm_waitlisted(slot, present)
    closed = _close_open(actor, slot) if close_open else 0
    audit(
        actor=actor,
        action="volunteer.roll_call",
        target=slot,
        created=created,
        updated=updated,
        removed=[r.pk for r in gone],
        confirmed_from_waitlist=moved_up,
        closed=closed,
    )
    return RollCallResult(
        created=created,
        updated=updated,
        closed=closed,
        skipped_qr=skipped + len(unticked) - len(gone),
        removed=len(gone),
        confirmed=len(moved_up),
    )


def _write_roll_call(
    actor: Actor, slot: Slot, chosen: dict[int, Decimal], existing: dict[int, ServiceRecord]
) -> tuple[int, int, int]:
    new, changed, skipped = [], [], 0
    for member_id, hours in chosen.items():
        record = existing.get(member_id)
        if record is not None and record.method == AttendanceMethod.QR:
            skipped += 1
        elif record is None:
            new.append(_roll_call_record(actor, slot, member_id, hours))
        elif record.hours != hours:
            record.hours, record.checked_out_at = hours, slot.starts_at + timedelta(hours=float(hours))
            changed.append(record)
    ServiceRecord.objects.bulk_create(new)
    ServiceRecord.objects.bulk_update(changed, ["hours", "checked_out_at"])
    _tell_recorded(slot, [r.member_id for r in new + changed])
    return len(new), len(changed), skipped


def _roll_call_record(actor: Actor, slot: Slot, member_id: int, hours: Decimal) -> ServiceRecord:
    return ServiceRecord(
        member_id=member_id,
        slot=slot,
        activity=slot.activity,
        community_id=slot.activity.community_id,
        method=AttendanceMethod.ROLL_CALL,
        checked_in_at=slot.starts_at,
        checked_out_at=slot.starts_at + timedelta(hours=float(hours)),
        hours=hours,
        recorded_by_id=actor.user_id,
    )


def _confirm_waitlisted(slot: Slot, member_ids: list[int]) -> list[int]:
    """Waitlisted members who came get a confirmed place while places are free (in waitlist order);
    the slot's row is locked by the caller. Without a free place they keep just their record."""
    free = slot.capacity - slot.confirmed
    if free <= 0 or not member_ids or not slot.waitlisted:
        return []
    rows = list(
        Enrolment.objects.select_for_update(of=("self",))
        .filter(slot=slot, member_id__in=member_ids, status=EnrolmentStatus.WAITLISTED)
        .order_by("created_at", "pk")[:free]
    )
    if not rows:
        return []
    Enrolment.objects.filter(pk__in=[e.pk for e in rows]).update(
        status=EnrolmentStatus.CONFIRMED, changed_at=timezone.now()
    )
    slot.confirmed += len(rows)
    slot.waitlisted -= len(rows)
    slot.save(update_fields=["confirmed", "waitlisted"])
    return [e.member_id for e in rows]


def _tell_recorded(slot: Slot, member_ids: list[int]) -> None:
    _tell(member_ids, _("「%(t)s」已为您记录服务时长") % {"t": slot.activity.title})


def _tell(member_ids: list[int], text: str) -> None:
    from huijia.members.models import Member

    if not member_ids:
        return
    url = _url("volunteering:records")
    for user_id in Member.objects.filter(pk__in=member_ids, user_id__isnull=False).values_list(
        "user_id", flat=True
    ):
        notify(user_id=user_id, text=text, url=url)


def _close_open(actor: Actor, slot: Slot) -> int:
    """Checks out, at the slot's end, everyone still checked in."""
    open_records = list(ServiceRecord.objects.select_for_update().filter(slot=slot, hours__isnull=True))
    for record in open_records:
        record.checked_out_at = max(slot.ends_at, record.checked_in_at)
        record.hours = hours_between(slot, record.checked_in_at, record.checked_out_at)
    ServiceRecord.objects.bulk_update(open_records, ["checked_out_at", "hours"])
    _tell_recorded(slot, [r.member_id for r in open_records])
    return len(open_records)


@transaction.atomic
def add_walk_in(
    *, actor: Actor, slot_id: int, member_id: int, hours=None, now: datetime | None = None
) -> ServiceRecord:
    """Records someone who came without a confirmed place (a walk-in, or someone on the waitlist): a
    member reported in the activity's community whom the activity is open to (a team-only activity
    takes only the team's members). A waitlisted member gets a confirmed place if one is free;
    otherwise just the record — attendance is what counts."""
    now = now or timezone.now()
    slot = _organised_slot(actor, slot_id)
    _ready_for_roll_call(slot, now)
    chosen = slot_hours(slot) if hours is None or str(hours).strip() == "" else _hours(hours, slot)
    refusal = selectors.walk_in_refusal(slot.activity, member_id)
    if refusal:
        raise _bad("member", refusal[1], refusal[0])
    if ServiceRecord.objects.filter(slot=slot, member_id=member_id).exists():
        raise Conflict(_("这位党员在本时段已有记录，不用再补记"), code="already_recorded")
    try:
        with transaction.atomic():
            record = _roll_call_record(actor, slot, member_id, chosen)
            record.save()
    except IntegrityError:
        raise Conflict(_("这位党员在本时段已有记录，不用再补记"), code="already_recorded") from None
    moved_up = _confirm_waitlisted(slot, [member_id])
    audit(
        actor=actor,
        action="volunteer.walk_in",
        target=record,
        slot=slot.pk,
        member=member_id,
        hours=str(chosen),
        confirmed_from_waitlist=bool(moved_up),
    )
    _tell_recorded(slot, [member_id])
    return record


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise _bad("reason", _("请写明删除的原因"), "reason_empty")
    if len(reason) > MAX_REASON:
        raise _bad("reason", _("原因不超过200个字"), "reason_too_long")
    return reason


def _delete_records(actor: Actor, slot: Slot, records: list[ServiceRecord], reason: str) -> None:
    """Removes records of the slot with their corrections (pending or decided), each audited with what
    it held, and tells the members."""
    if not records:
        return
    ids = [r.pk for r in records]
    corrections: dict[int, list[int]] = {}
    for record_id, correction_id in HoursCorrection.objects.filter(record_id__in=ids).values_list(
        "record_id", "pk"
    ):
        corrections.setdefault(record_id, []).append(correction_id)
    for r in records:
        audit(
            actor=actor,
            action="volunteer.record_remove",
            target=r,
            slot=slot.pk,
            member=r.member_id,
            method=r.method,
            hours=None if r.hours is None else str(r.hours),
            resident_confirmed=r.resident_confirmed_at is not None,
            corrections_removed=corrections.get(r.pk, []),
            reason=reason,
        )
    HoursCorrection.objects.filter(record_id__in=ids).delete()
    ServiceRecord.objects.filter(pk__in=ids).delete()
    text = _("组织者删除了您在「%(t)s」的服务记录（%(r)s）") % {"t": slot.activity.title, "r": reason}
    _tell([r.member_id for r in records], text)


@transaction.atomic
def remove_record(*, actor: Actor, record_id: int, reason: str, slot_id: int | None = None) -> ServiceRecord:
    """The organiser removes a wrong record of their slot (e.g. scanned by mistake), with a reason the
    member reads; its corrections go with it. Audited with everything the record held."""
    found = ServiceRecord.objects.filter(pk=record_id).values_list("slot_id", flat=True).first()
    if found is None or (slot_id is not None and found != slot_id):
        raise NotFound()
    slot = _organised_slot(actor, found)
    reason = _reason(reason)
    record = ServiceRecord.objects.select_for_update().filter(pk=record_id).first()
    if record is None:  # removed by someone else meanwhile
        raise NotFound()
    _delete_records(actor, slot, [record], reason)
    return record


# --- hours corrections -----------------------------------------------------------------------------


@transaction.atomic
def request_correction(*, actor: Actor, record_id: int, hours, reason: str) -> HoursCorrection:
    """A member asks for other hours on one of their own records, with a reason; one pending at a time."""
    if not actor.member_id:
        raise NotFound()
    record = (
        ServiceRecord.objects.select_for_update(of=("self",))
        .select_related("slot", "activity")
        .filter(pk=record_id, member_id=actor.member_id)
        .first()
    )
    if record is None:
        raise NotFound()
    wanted = _hours(hours, record.slot)
    if record.hours is not None and wanted == record.hours:
        raise _bad("hours", _("申请的时长与现有时长相同"), "same_hours")
    reason = (reason or "").strip()
    if not reason:
        raise _bad("reason", _("请说明更正的原因"), "reason_empty")
    if len(reason) > MAX_REASON:
        raise _bad("reason", _("原因不超过200个字"), "reason_too_long")
    if HoursCorrection.objects.filter(record=record, status=CorrectionStatus.PENDING).exists():
        raise Conflict(_("这条记录已有一个待审核的更正申请，请等组织者处理"), code="already_pending")
    try:
        with transaction.atomic():
            correction = HoursCorrection.objects.create(record=record, requested_hours=wanted, reason=reason)
    except IntegrityError:
        raise Conflict(
            _("这条记录已有一个待审核的更正申请，请等组织者处理"), code="already_pending"
        ) from None
    audit(actor=actor, action="volunteer.correction_request", target=correction, hours=str(wanted))
    creator = record.activity.created_by_id
    notify(  # the member may have published the activity: they cannot decide their own request
        user_id=None if creator == actor.user_id else creator,
        text=_("有党员申请更正「%(t)s」的服务时长") % {"t": record.activity.title},
        url=_url("volunteering:corrections"),
    )
    return correction


@transaction.atomic
def decide_correction(
    *, actor: Actor, correction_id: int, approve: bool, answer: str = ""
) -> HoursCorrection:
    """The organiser approves (the record's hours change) or rejects (with an answer the member reads)."""
    slots = selectors.slots_for(actor, Perm.MANAGE_VOLUNTEERING)
    correction = (
        HoursCorrection.objects.select_for_update(of=("self",))
        .select_related("record", "record__slot", "record__activity", "record__member")
        .filter(pk=correction_id, record__slot__in=slots.values("pk"))
        .first()
    )
    if correction is None:
        seen = selectors.slots_for(actor, Perm.VIEW).values("pk")
        if HoursCorrection.objects.filter(pk=correction_id, record__slot__in=seen).exists():
            raise Forbidden(_("您不是这个活动的组织者"))
        raise NotFound()
    if actor.member_id is not None and correction.record.member_id == actor.member_id:
        raise Forbidden(_("不能审核自己的服务时长，请由其他组织者审核"), code="own_record")
    if correction.status != CorrectionStatus.PENDING:
        raise Conflict(_("这个申请已经处理过了"), code="already_decided")
    answer = (answer or "").strip()
    if len(answer) > MAX_REASON:
        raise _bad("answer", _("答复不超过200个字"), "answer_too_long")
    if not approve and not answer:
        raise _bad("answer", _("不同意时请写明理由，党员会看到"), "answer_empty")
    record = ServiceRecord.objects.select_for_update().get(pk=correction.record_id)
    old = record.hours
    if approve:
        _apply(record, correction)
    correction.status = CorrectionStatus.APPROVED if approve else CorrectionStatus.REJECTED
    correction.decided_by_id, correction.decided_at, correction.answer = actor.user_id, timezone.now(), answer
    correction.save(update_fields=["status", "decided_by", "decided_at", "answer"])
    audit(
        actor=actor,
        action="volunteer.correction_" + ("approve" if approve else "reject"),
        target=correction,
        record=record.pk,
        old_hours=None if old is None else str(old),
        new_hours=None if record.hours is None else str(record.hours),
    )
    _tell_decision(correction, approve)
    return correction


def _apply(record: ServiceRecord, correction: HoursCorrection) -> None:
    record.hours = correction.requested_hours
    if record.checked_out_at is None:
        record.checked_out_at = max(correction.record.slot.ends_at, record.checked_in_at)
    record.save(update_fields=["hours", "checked_out_at"])


def _tell_decision(correction: HoursCorrection, approve: bool) -> None:
    title = correction.record.activity.title
    if approve:
        text = _("您申请更正的「%(t)s」服务时长已同意，改为 %(h)s 小时") % {
            "t": title,
            "h": _plain(correction.requested_hours),
        }
    else:
        text = _("您申请更正的「%(t)s」服务时长未同意：%(a)s") % {"t": title, "a": correction.answer}
    notify(
        user_id=correction.record.member.user_id,
        text=text,
        url=_url("volunteering:record", correction.record_id),
    )


# --- people served ---------------------------------------------------------------------------------


@transaction.atomic
def set_people_served(*, actor: Actor, activity_id: int, people_served) -> Activity:
    """The organiser counts the people an activity served (服务群众人次)."""
    try:
        count = int(str(people_served).strip())
    except (TypeError, ValueError):
        raise _bad("people_served", _("请填写整数人次"), "bad_count") from None
    if count < 0 or count > MAX_PEOPLE_SERVED:
        raise _bad("people_served", _("服务人次应在0到100000之间"), "bad_count")
    activities = selectors.activities_for(actor, Perm.MANAGE_VOLUNTEERING)
    activity = activities.select_for_update(of=("self",)).filter(pk=activity_id).first()
    if activity is None:
        if selectors.activities_for(actor, Perm.VIEW).filter(pk=activity_id).exists():
            raise Forbidden(_("您不是这个活动的组织者"))
        raise NotFound()
    old = activity.people_served
    activity.people_served = count
    activity.save(update_fields=["people_served"])
    audit(actor=actor, action="volunteer.people_served", target=activity, old=old, new=count)
    return activity


# --- the served resident's confirmation ------------------------------------------------------------


def is_own_record(actor: Actor | None, record: ServiceRecord) -> bool:
    return actor is not None and actor.member_id is not None and record.member_id == actor.member_id


@transaction.atomic
def confirm_service(
    *, token: str, comment: str = "", actor: Actor | None = None, now: datetime | None = None
) -> ServiceRecord:
    """A served resident confirms the member's service from the member's link, once, no account needed.
    `actor` is whoever is signed in, if anyone: the member may not confirm their own service."""
    found = selectors.record_by_token(token=token)
    if is_own_record(actor, found):
        raise Forbidden(_("不能确认自己的服务，请让您服务的居民用他们的手机确认"), code="own_record")
    record = ServiceRecord.objects.select_for_update().get(pk=found.pk)
    if record.resident_confirmed_at is not None:
        raise Conflict(_("这次服务已经确认过了，谢谢您"), code="already_confirmed")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise _bad("comment", _("评价不超过200个字"), "comment_too_long")
    record.resident_confirmed_at = now or timezone.now()
    record.resident_comment = comment
    record.save(update_fields=["resident_confirmed_at", "resident_comment"])
    audit(
        actor=None if actor is None or not actor.is_authenticated else actor,
        action="volunteer.resident_confirm",
        target=record,
    )
    notify(
        user_id=found.member.user_id,
        text=_("居民确认了您在「%(t)s」的服务") % {"t": found.activity.title},
        url=_url("volunteering:record", record.pk),
    )
    return record
