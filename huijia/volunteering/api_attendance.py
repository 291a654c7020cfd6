"""JSON API of volunteering: attendance, mounted under /api/v1/ by huijia/api.py.

Thin over huijia.volunteering.attendance (writes) and attendance_selectors (reads), like the screens.
- a member: check in and out with the code of the QR shown at the venue, their own records, a
  correction request on one of them;
- the organiser of a slot: the current code (for a kiosk or a projector), roll call (untick to take a
  roll-call record back; the waitlisted may be ticked), walk-ins found by name, removing a wrong record
  with a reason, the slot's attendance, deciding corrections (never their own), the people served;
- anyone holding a record's confirmation token (the served resident): read it and confirm it once;
  the record's own member cannot.
Hours are strings with two decimals ("1.50"). Check-in is optional: roll call alone is enough.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.accounts.roles import Perm
from huijia.api import ErrorOut, PageQuery, SessionAuth, TokenAuth, actor, errors, page_of
from huijia.core.personal import mask_name
from huijia.volunteering import attendance, checkin_codes
from huijia.volunteering import attendance_selectors as selectors
from huijia.volunteering.models import HoursCorrection, ServiceRecord

router = Router(tags=["志愿服务"])

__all__ = ["ErrorOut", "router"]


def _anyone(request: HttpRequest) -> AnonymousUser:
    return AnonymousUser()


OPEN = {
    "auth": [TokenAuth(), SessionAuth(), _anyone],
    "openapi_extra": {"security": [{"TokenAuth": []}, {"SessionAuth": []}, {}]},
}
WRITE_ERRORS = errors(400, 401, 403, 404, 409, 422)


def _hours(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# --- Schemas ---------------------------------------------------------------------------------------


class CodeIn(Schema):
    code: str = Field(
        ..., max_length=16, description="the code in the scanned QR (the last part of /v/scan/<slot>/<code>/)"
    )


class MemberRef(Schema):
    id: int
    name: str


class AttendanceRecordOut(Schema):
    id: int
    member: MemberRef
    slot_id: int
    activity_id: int
    activity_title: str
    method: str = Field(description="qr (scanned) or roll_call")
    method_label: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    hours: str | None = Field(description="null while checked in; two decimals, never beyond the slot")
    resident_confirmed_at: datetime | None
    note: str = Field(
        "", description="why a closed record of 0 hours does not count (e.g. both scans before the start)"
    )


def _record(r: ServiceRecord, activity_title: str | None = None, slot=None) -> dict:
    return {
        "id": r.pk,
        "member": {"id": r.member_id, "name": r.member.name},
        "slot_id": r.slot_id,
        "activity_id": r.activity_id,
        "activity_title": activity_title if activity_title is not None else r.activity.title,
        "method": r.method,
        "method_label": r.get_method_display(),
        "checked_in_at": r.checked_in_at,
        "checked_out_at": r.checked_out_at,
        "hours": _hours(r.hours),
        "resident_confirmed_at": r.resident_confirmed_at,
        "note": attendance.not_counted_reason(r, slot or r.slot) if r.hours == 0 else "",
    }


class ScanOut(Schema):
    step: str = Field(description="in (checked in) or out (checked out, hours counted)")
    record: AttendanceRecordOut


class QrCodeOut(Schema):
    code: str
    scan_url: str = Field(description="what the QR code holds: the member's phone opens it")
    seconds_left: int = Field(description="seconds until the code changes (every minute)")
    expires_at: datetime = Field(description="after this the code is still accepted for one more minute")


class RollCallIn(Schema):
    present: list[int] = Field(
        default_factory=list, max_length=5000, description="member ids of those present"
    )
    hours: dict[int, Decimal] = Field(
        default_factory=dict, description="member id → hours, for those who stayed less than the slot"
    )
    absent: list[int] = Field(
        default_factory=list,
        max_length=5000,
        description="member ids unticked: their roll-call records are removed (scanned ones stay)",
    )
    close_open: bool = Field(False, description="check out, at the slot's end, everyone still checked in")


class RollCallOut(Schema):
    created: int
    updated: int
    closed: int
    skipped_qr: int = Field(description="ticked or unticked but recorded by scanning: left as scanned")
    removed: int = Field(description="unticked: roll-call records removed")
    confirmed: int = Field(description="waitlisted people who came and got a free place")


class WalkInIn(Schema):
    member_id: int
    hours: Decimal | None = Field(None, description="default the slot's length; never more")


class CandidateOut(Schema):
    id: int
    name: str
    building: str


class RemoveIn(Schema):
    reason: str = Field(..., max_length=200, description="the member reads it")


class CorrectionOut(Schema):
    id: int
    record_id: int
    member: MemberRef
    activity_title: str
    current_hours: str | None
    requested_hours: str
    reason: str
    status: str
    status_label: str
    requested_at: datetime
    decided_at: datetime | None
    answer: str


def _correction(c: HoursCorrection) -> dict:
    record = c.record
    return {
        "id": c.pk,
        "record_id": record.pk,
        "member": {"id": record.member_id, "name": record.member.name},
        "activity_title": record.activity.title,
        "current_hours": _hours(record.hours),
        "requested_hours": _hours(c.requested_hours),
        "reason": c.reason,
        "status": c.status,
        "status_label": c.get_status_display(),
        "requested_at": c.requested_at,
        "decided_at": c.decided_at,
        "answer": c.answer,
    }


class SlotRef(Schema):
    id: int
    activity_id: int
    activity_title: str
    venue: str
    label: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    confirmed: int
    hours: str = Field(description="the slot's length: the most a record can count")


class AttendanceOut(Schema):
    slot: SlotRef
    people_served: int
    records: list[AttendanceRecordOut]
    pending_corrections: list[CorrectionOut]


class CorrectionIn(Schema):
    hours: Decimal = Field(..., description="the hours the member says are right (at most the slot's length)")
    reason: str = Field(..., max_length=200)


class DecideIn(Schema):
    approve: bool
    answer: str = Field("", max_length=200, description="required when rejecting: the member reads it")


class PeopleServedIn(Schema):
    people_served: int = Field(..., ge=0, le=100_000)


class PeopleServedOut(Schema):
    id: int
    people_served: int


class CorrectionPage(Schema):
    items: list[CorrectionOut]
    count: int
    limit: int
    offset: int


class ConfirmIn(Schema):
    comment: str = Field("", max_length=200)


class ConfirmOut(Schema):
    activity_title: str
    community: str
    date: datetime
    member_name: str = Field(description="masked, e.g. 李*国")
    hours: str | None
    confirmed_at: datetime | None
    comment: str


def _confirmation(r: ServiceRecord) -> dict:
    return {
        "activity_title": r.activity.title,
        "community": r.activity.community.name,
        "date": r.checked_in_at,
        "member_name": mask_name(r.member.name),
        "hours": _hours(r.hours),
        "confirmed_at": r.resident_confirmed_at,
        "comment": r.resident_comment,
    }


# --- Member: scanning ------------------------------------------------------------------------------


def _with_member(record: ServiceRecord) -> ServiceRecord:
    return ServiceRecord.objects.select_related("member", "activity", "slot").get(pk=record.pk)


@router.post(
    "/volunteer/slots/{int:slot_id}/checkin",
    response={200: AttendanceRecordOut, **WRITE_ERRORS},
    summary="扫码签到",
)
def check_in(request: HttpRequest, slot_id: int, payload: CodeIn):
    """Checks the member in with the code of the slot's QR (current or previous minute). From 30
    minutes before the start to the end, for a confirmed place only. 400 `code_expired` / `code_invalid`."""
    record = attendance.check_in(actor=actor(request), slot_id=slot_id, code=payload.code)
    return _record(_with_member(record))


@router.post(
    "/volunteer/slots/{int:slot_id}/checkout",
    response={200: AttendanceRecordOut, **WRITE_ERRORS},
    summary="扫码签退",
)
def check_out(request: HttpRequest, slot_id: int, payload: CodeIn):
    """Checks the member out: the hours are the overlap of check-in to now with the slot. 400
    `not_checked_in` before a check-in; 409 `already_checked_out`."""
    record = attendance.check_out(actor=actor(request), slot_id=slot_id, code=payload.code)
    return _record(_with_member(record))


@router.post(
    "/volunteer/slots/{int:slot_id}/scan",
    response={200: ScanOut, **WRITE_ERRORS},
    summary="扫码（签到或签退）",
)
def scan(request: HttpRequest, slot_id: int, payload: CodeIn):
    """What the QR page does: the first scan checks in, the next checks out."""
    step, record = attendance.scan(actor=actor(request), slot_id=slot_id, code=payload.code)
    return {"step": step, "record": _record(_with_member(record))}


# --- Organiser ---------------------------------------------------------------------------------------


@router.get(
    "/volunteer/slots/{int:slot_id}/qr-code",
    response={200: QrCodeOut, **errors(401, 404, 422)},
    summary="当前签到码（组织者）",
)
def qr_code(request: HttpRequest, slot_id: int):
    """The code to show now, for a kiosk or a projector; it changes every minute. Organisers only."""
    from huijia.volunteering.views_attendance import scan_url

    slot = selectors.slot_for(actor=actor(request), slot_id=slot_id, perm=Perm.MANAGE_VOLUNTEERING)
    code, seconds_left = checkin_codes.current_code(slot)
    return {
        "code": code,
        "scan_url": scan_url(slot, code),
        "seconds_left": seconds_left,
        "expires_at": (timezone.now() + timedelta(seconds=seconds_left)).replace(microsecond=0),
    }


@router.post(
    "/volunteer/slots/{int:slot_id}/roll-call",
    response={200: RollCallOut, **WRITE_ERRORS},
    summary="现场点名",
)
def roll_call(request: HttpRequest, slot_id: int, payload: RollCallIn):
    """Records those present (signed up, waitlisted included, or already recorded as walk-ins), hours
    defaulting to the slot's length; `absent` takes roll-call records back. Records made by scanning
    are left alone. A waitlisted member who came gets a free place. 400 for hours beyond the slot or
    someone not on the list (add them with POST .../walk-ins)."""
    result = attendance.roll_call(
        actor=actor(request),
        slot_id=slot_id,
        present=payload.present,
        hours=payload.hours,
        absent=payload.absent,
        close_open=payload.close_open,
    )
    return result.__dict__


@router.get(
    "/volunteer/slots/{int:slot_id}/walk-in-candidates",
    response={200: list[CandidateOut], **errors(401, 404, 422)},
    summary="按姓名查找可补记的党员",
)
def walk_in_candidates(request: HttpRequest, slot_id: int, q: str = Query("", max_length=20)):
    """Members reported in the activity's community (team members for a team-only activity) whose
    name contains `q`, not yet signed up for or recorded in the slot; at most 20. Empty without `q`."""
    slot = selectors.slot_for(actor=actor(request), slot_id=slot_id, perm=Perm.MANAGE_VOLUNTEERING)
    return [
        {"id": m.pk, "name": m.name, "building": m.household.building.name if m.household else ""}
        for m in selectors.walk_in_candidates(slot=slot, query=q)
    ]


@router.post(
    "/volunteer/slots/{int:slot_id}/walk-ins",
    response={201: AttendanceRecordOut, **WRITE_ERRORS},
    summary="补记到场的人",
)
def add_walk_in(request: HttpRequest, slot_id: int, payload: WalkInIn):
    """Records someone who came without a confirmed place; a waitlisted member gets a free place. 400
    `not_in_community` / `not_eligible`, 409 `already_recorded`."""
    record = attendance.add_walk_in(
        actor=actor(request), slot_id=slot_id, member_id=payload.member_id, hours=payload.hours
    )
    return Status(201, _record(_with_member(record)))


@router.delete(
    "/volunteer/slots/{int:slot_id}/records/{int:record_id}",
    response={204: None, **WRITE_ERRORS},
    summary="删除一条签到记录",
)
def remove_record(request: HttpRequest, slot_id: int, record_id: int, payload: RemoveIn):
    """Removes a wrong record of the slot (and its corrections) with a reason the member reads;
    audited. Organisers only."""
    attendance.remove_record(
        actor=actor(request), slot_id=slot_id, record_id=record_id, reason=payload.reason
    )
    return Status(204, None)


@router.get(
    "/volunteer/slots/{int:slot_id}/attendance",
    response={200: AttendanceOut, **errors(401, 404, 422)},
    summary="签到情况",
)
def slot_attendance(request: HttpRequest, slot_id: int):
    """Who was there, how it was recorded, in/out and hours; corrections waiting for a decision."""
    who = actor(request)
    slot = selectors.slot_for(actor=who, slot_id=slot_id)
    title = slot.activity.title
    return {
        "slot": {
            "id": slot.pk,
            "activity_id": slot.activity_id,
            "activity_title": title,
            "venue": slot.venue,
            "label": slot.label,
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
            "capacity": slot.capacity,
            "confirmed": slot.confirmed,
            "hours": _hours(attendance.slot_hours(slot)),
        },
        "people_served": slot.activity.people_served,
        "records": [_record(r, title, slot) for r in selectors.attendance_of(slot)],
        "pending_corrections": [
            _correction(c) for c in selectors.corrections_for(actor=who, slot_id=slot.pk)
        ],
    }


@router.get(
    "/volunteer/corrections",
    response={200: CorrectionPage, **errors(401, 422)},
    summary="待审核的时长更正",
)
def list_corrections(request: HttpRequest, page: Query[PageQuery]):
    """Pending corrections of the slots the caller organises, oldest first."""
    result = page_of(selectors.corrections_for(actor=actor(request)), page)
    result["items"] = [_correction(c) for c in result["items"]]
    return result


@router.post(
    "/volunteer/corrections/{int:correction_id}/decide",
    response={200: CorrectionOut, **WRITE_ERRORS},
    summary="审核时长更正",
)
def decide_correction(request: HttpRequest, correction_id: int, payload: DecideIn):
    """Approve (the record's hours change, audited, the member is told) or reject with an answer."""
    correction = attendance.decide_correction(
        actor=actor(request), correction_id=correction_id, approve=payload.approve, answer=payload.answer
    )
    return _correction(
        HoursCorrection.objects.select_related("record", "record__member", "record__activity").get(
            pk=correction.pk
        )
    )


@router.put(
    "/volunteer/activities/{int:activity_id}/people-served",
    response={200: PeopleServedOut, **WRITE_ERRORS},
    summary="服务群众人次",
)
def set_people_served(request: HttpRequest, activity_id: int, payload: PeopleServedIn):
    activity = attendance.set_people_served(
        actor=actor(request), activity_id=activity_id, people_served=payload.people_served
    )
    return {"id": activity.pk, "people_served": activity.people_served}


# --- Member: records and corrections -----------------------------------------------------------------


@router.post(
    "/volunteer/records/{int:record_id}/corrections",
    response={201: CorrectionOut, **WRITE_ERRORS},
    summary="申请更正时长",
)
def request_correction(request: HttpRequest, record_id: int, payload: CorrectionIn):
    """On one of the caller's own records; one pending request at a time (409 `already_pending`)."""
    correction = attendance.request_correction(
        actor=actor(request), record_id=record_id, hours=payload.hours, reason=payload.reason
    )
    correction = HoursCorrection.objects.select_related("record", "record__member", "record__activity").get(
        pk=correction.pk
    )
    return Status(201, _correction(correction))


# --- The served resident (no account) -------------------------------------------------------------


@router.get(
    "/volunteer/confirm/{token}",
    response={200: ConfirmOut, **errors(401, 404, 422)},
    **OPEN,
    summary="居民查看服务记录",
)
def confirmation(request: HttpRequest, token: str):
    """The service a member asks the resident to confirm; the member's name is masked."""
    return _confirmation(selectors.record_by_token(token=token))


@router.post(
    "/volunteer/confirm/{token}",
    response={200: ConfirmOut, **errors(400, 401, 403, 404, 409, 422)},
    **OPEN,
    summary="居民确认服务",
)
def confirm(request: HttpRequest, token: str, payload: ConfirmIn):
    """Confirms once (409 `already_confirmed` after), with an optional comment. 403 `own_record` when
    the signed-in caller is the record's member."""
    attendance.confirm_service(token=token, comment=payload.comment, actor=actor(request))
    return _confirmation(selectors.record_by_token(token=token))
