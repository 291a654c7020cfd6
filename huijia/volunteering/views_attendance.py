"""Screens of attendance and hours (see attendance.py for the rules).

Organiser (community staff, the estate's branch secretary, a paired unit, a service team's leader),
on a phone at the venue:
- 签到二维码 /console/volunteer/slots/<id>/qr/: a big QR code that changes every minute (htmx reload
  when the countdown ends);
- 现场点名 /console/volunteer/slots/<id>/roll-call/: tick who came (the waitlisted too), hours default to
  the slot's length; untick to take a roll-call record back; add a walk-in found by name;
and at a desk:
- 签到情况 /console/volunteer/slots/<id>/attendance/: who checked in and out, how, the hours; removing a
  wrong record with a reason; pending corrections to decide (never one's own); people served;
- 时长更正 /console/volunteer/corrections/: every pending correction of the slots they organise.
Member, on a phone: scanning the code (/v/scan/<slot>/<code>/, sign-in needed), one record with the
link the served resident scans, a correction request. Resident, no account: /v/confirm/<token>/.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, actor_for
from huijia.core.errors import NotFound, ServiceError
from huijia.core.personal import mask_name
from huijia.core.web import public_url, qr_svg
from huijia.volunteering import attendance, checkin_codes
from huijia.volunteering import attendance_selectors as selectors
from huijia.volunteering.forms_attendance import (
    ConfirmForm,
    CorrectionForm,
    DecideForm,
    PeopleServedForm,
    RemoveRecordForm,
    RollCallForm,
    WalkInForm,
)
from huijia.volunteering.models import AttendanceMethod, CorrectionStatus, ServiceRecord, Slot
from huijia.volunteering.records import asks_confirmation, confirm_url


def _404(view):
    """A service's or selector's NotFound is the HTML 404 page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapped


def _organised(actor: Actor, slot_id: int) -> Slot:
    return selectors.slot_for(actor=actor, slot_id=slot_id, perm=Perm.MANAGE_VOLUNTEERING)


def scan_url(slot: Slot, code: str) -> str:
    return public_url(reverse("volunteering:scan", args=[slot.pk, code]))


# --- the check-in QR code (organiser's phone) -------------------------------------------------------


def _qr_context(slot: Slot) -> dict:
    code, seconds_left = checkin_codes.current_code(slot)
    url = scan_url(slot, code)
    return {
        "slot": slot,
        "code": code,
        "seconds_left": seconds_left,
        "qr": qr_svg(url, _("扫码签到")),
        "scan_url": url,
        "checked_in": ServiceRecord.objects.filter(slot=slot).count(),
    }


@login_required
@_404
@never_cache
@require_GET
def slot_qr(request: HttpRequest, slot_id: int) -> HttpResponse:
    """The big check-in code; `?partial=1` (htmx) answers only the code and its countdown."""
    slot = _organised(actor_for(request.user), slot_id)
    context = _qr_context(slot)
    if request.GET.get("partial") or request.headers.get("HX-Request"):
        return render(request, "volunteering/attendance/_qr.html", context)
    return render(request, "volunteering/attendance/qr.html", context)


# --- scanning (member's phone) ---------------------------------------------------------------------


@login_required
@_404
@never_cache
@require_http_methods(["GET", "POST"])
def scan(request: HttpRequest, slot_id: int, code: str) -> HttpResponse:
    """The page the code opens: it says what the scan will do (签到 or 签退) and does it on one tap."""
    actor = actor_for(request.user)
    slot = Slot.objects.select_related("activity").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound()
    context: dict = {"slot": slot, "code": code}
    status = 200
    if request.method == "POST":
        try:
            step, record = attendance.scan(actor=actor, slot_id=slot.pk, code=code)
        except ServiceError as exc:
            context["error"], status = exc.message, exc.status
        else:
            context.update(done=step, record=record, not_counted=attendance.not_counted_reason(record, slot))
            return render(request, "volunteering/attendance/scan.html", context)
    verdict = checkin_codes.check_code(slot, code)
    if verdict != checkin_codes.CodeCheck.OK and "error" not in context:
        context["error"] = (
            _("二维码已过期，请扫描现场最新的二维码")
            if verdict == checkin_codes.CodeCheck.EXPIRED
            else _("这不是本时段的签到二维码，请扫描活动现场展示的二维码")
        )
        status = 400
    record = selectors.my_open_record(actor=actor, slot_id=slot.pk)
    context["record"] = record
    context["next_step"] = "out" if record is not None and record.method == AttendanceMethod.QR else "in"
    context["before_start"] = timezone.now() < slot.starts_at
    return render(request, "volunteering/attendance/scan.html", context, status=status)


# --- roll call (organiser's phone) -----------------------------------------------------------------


def _roll_call_form(slot: Slot, data=None) -> RollCallForm:
    recorded = {r.member_id: r for r in selectors.attendance_of(slot)}
    return RollCallForm(
        data,
        enrolments=selectors.signed_up_of(slot),
        default_hours=attendance.slot_hours(slot),
        recorded=recorded,
    )


def _roll_call_page(
    request, slot: Slot, form: RollCallForm, *, walk_in: WalkInForm | None = None, status=200
):
    query = request.GET.get("q", "").strip()[:20]
    context = {
        "slot": slot,
        "form": form,
        "ended": timezone.now() >= slot.ends_at,
        "open_count": sum(
            1 for line in form.lines() if line.record is not None and line.record.hours is None
        ),
        "slot_hours": attendance.slot_hours(slot),
        "walk_in": walk_in or WalkInForm(),
        "candidates": selectors.walk_in_candidates(slot=slot, query=query),
        "q": query,
    }
    return render(request, "volunteering/attendance/roll_call.html", context, status=status)


@login_required
@_404
@never_cache
@require_http_methods(["GET", "POST"])
def roll_call(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Tick who came (the waitlisted too); hours default to the slot's length. Unticking someone takes
    their roll-call record back. Scanned records are shown and left alone."""
    actor = actor_for(request.user)
    slot = _organised(actor, slot_id)
    form = _roll_call_form(slot, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = attendance.roll_call(
                    actor=actor,
                    slot_id=slot.pk,
                    present=form.present(),
                    hours=form.hours(),
                    absent=form.absent(),
                    close_open="close_open" in request.POST,
                )
            except ServiceError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, _roll_call_message(result))
                return redirect("volunteering:roll_call", slot.pk)
        else:
            status = 400
    return _roll_call_page(request, slot, form, status=status)


def _roll_call_message(result: attendance.RollCallResult) -> str:
    parts = [_("已记录 %(n)s 人") % {"n": result.created}]
    if result.updated:
        parts.append(_("改了 %(n)s 人的时长") % {"n": result.updated})
    if result.removed:
        parts.append(_("取消了 %(n)s 人的点名记录") % {"n": result.removed})
    if result.confirmed:
        parts.append(_("%(n)s 位候补的人转为已报名") % {"n": result.confirmed})
    if result.closed:
        parts.append(_("统一签退 %(n)s 人") % {"n": result.closed})
    if result.skipped_qr:
        parts.append(_("%(n)s 人已扫码签到，保留扫码记录") % {"n": result.skipped_qr})
    return "，".join(parts)


@login_required
@_404
@never_cache
@require_GET
def walk_in_picks(request: HttpRequest, slot_id: int) -> HttpResponse:
    """The walk-in picker filtered by name (an htmx fragment of the roll-call page)."""
    slot = _organised(actor_for(request.user), slot_id)
    query = request.GET.get("q", "").strip()[:20]
    context = {"slot": slot, "candidates": selectors.walk_in_candidates(slot=slot, query=query), "q": query}
    return render(request, "volunteering/attendance/_walk_in_picks.html", context)


@login_required
@_404
@require_POST
def walk_in(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Records a walk-in (or a waitlisted member) picked by name; back to the roll call."""
    actor = actor_for(request.user)
    slot = _organised(actor, slot_id)
    form = WalkInForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            record = attendance.add_walk_in(
                actor=actor,
                slot_id=slot.pk,
                member_id=form.cleaned_data["member"],
                hours=form.cleaned_data["hours"],
            )
        except ServiceError as exc:
            if isinstance(exc, NotFound):
                raise
            form.add_service_error(exc)
            status = exc.status
        else:
            name = ServiceRecord.objects.filter(pk=record.pk).values_list("member__name", flat=True).first()
            messages.success(request, _("已补记 %(n)s 到场") % {"n": name})
            return redirect("volunteering:roll_call", slot.pk)
    return _roll_call_page(request, slot, _roll_call_form(slot), walk_in=form, status=status)


# --- the organiser's attendance screen and corrections (console) -----------------------------------


def _attendance_context(actor: Actor, slot: Slot, **forms) -> dict:
    records = selectors.attendance_of(slot)
    corrections = list(selectors.corrections_for(actor=actor, slot_id=slot.pk))
    manages = selectors.organises(actor, slot.pk)
    return {
        "slot": slot,
        "activity": slot.activity,
        "records": records,
        "confirmed": slot.confirmed,
        "total_hours": sum((r.hours for r in records if r.hours is not None), start=0),
        "corrections": corrections,
        "manages": manages,
        "served_form": forms.get("served_form")
        or PeopleServedForm(initial={"people_served": slot.activity.people_served}),
        "decide_forms": forms.get("decide_forms", {}),
        "slot_hours": attendance.slot_hours(slot),
        "remove_form": forms.get("remove_form"),
        "remove_id": forms.get("remove_id"),
    }


@login_required
@_404
@never_cache
@require_GET
def slot_attendance(request: HttpRequest, slot_id: int) -> HttpResponse:
    actor = actor_for(request.user)
    slot = selectors.slot_for(actor=actor, slot_id=slot_id)
    return render(request, "volunteering/attendance/slot.html", _attendance_context(actor, slot))


@login_required
@_404
@require_POST
def people_served(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Counts the people the slot's activity served; answers on the attendance screen."""
    actor = actor_for(request.user)
    slot = selectors.slot_for(actor=actor, slot_id=slot_id)
    form = PeopleServedForm(request.POST)
    if form.is_valid():
        try:
            attendance.set_people_served(
                actor=actor, activity_id=slot.activity_id, people_served=form.cleaned_data["people_served"]
            )
        except ServiceError as exc:
            form.add_service_error(exc)
            context = _attendance_context(actor, slot, served_form=form)
            return render(request, "volunteering/attendance/slot.html", context, status=exc.status)
        messages.success(request, _("已保存服务群众人次"))
        return redirect("volunteering:slot_attendance", slot.pk)
    context = _attendance_context(actor, slot, served_form=form)
    return render(request, "volunteering/attendance/slot.html", context, status=400)


@login_required
@_404
@require_POST
def remove_record(request: HttpRequest, slot_id: int, record_id: int) -> HttpResponse:
    """Removes a wrong record of the slot with a reason (audited; the member is told)."""
    actor = actor_for(request.user)
    slot = _organised(actor, slot_id)
    form = RemoveRecordForm(request.POST)
    if form.is_valid():
        try:
            attendance.remove_record(
                actor=actor, slot_id=slot.pk, record_id=record_id, reason=form.cleaned_data["reason"]
            )
        except ServiceError as exc:
            if isinstance(exc, NotFound):
                raise
            form.add_service_error(exc)
        else:
            messages.success(request, _("已删除这条记录"))
            return redirect("volunteering:slot_attendance", slot.pk)
    context = _attendance_context(actor, slot, remove_form=form, remove_id=record_id)
    return render(request, "volunteering/attendance/slot.html", context, status=400)


@login_required
@_404
@never_cache
@require_GET
def corrections(request: HttpRequest) -> HttpResponse:
    """Every pending hours correction of the slots the actor organises, oldest first."""
    actor = actor_for(request.user)
    rows = list(selectors.corrections_for(actor=actor)[:200])
    return render(request, "volunteering/attendance/corrections.html", {"rows": rows})


@login_required
@_404
@require_POST
def decide_correction(request: HttpRequest, correction_id: int) -> HttpResponse:
    """Approve or reject; back to where the organiser came from (the list or the slot's screen)."""
    actor = actor_for(request.user)
    form = DecideForm(request.POST)
    back = request.POST.get("back") or ""
    target = back if back.startswith("/console/volunteer/") else reverse("volunteering:corrections")
    if not form.is_valid():
        messages.error(request, _("请选择同意或不同意"))
        return redirect(target)
    try:
        correction = attendance.decide_correction(
            actor=actor,
            correction_id=correction_id,
            approve=form.cleaned_data["decision"] == "approve",
            answer=form.cleaned_data["answer"],
        )
    except ServiceError as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, exc.message)
        return redirect(target)
    messages.success(
        request,
        _("已同意，时长改为 %(h)s 小时") % {"h": correction.requested_hours}
        if correction.status == CorrectionStatus.APPROVED
        else _("已答复：不同意"),
    )
    return redirect(target)


# --- the member's record and correction request (phone) --------------------------------------------


@login_required
@_404
@never_cache
@require_GET
def record(request: HttpRequest, record_id: int) -> HttpResponse:
    """One of the member's records: hours, how it was recorded, corrections, and the code a served
    resident scans to confirm the service."""
    actor = actor_for(request.user)
    item = selectors.my_record(actor=actor, record_id=record_id)
    url = confirm_url(item)
    context = {
        "record": item,
        "corrections": list(item.corrections.all()),
        "confirm_url": url,
        "confirm_qr": qr_svg(url, _("居民确认服务")) if asks_confirmation(item, actor) else "",
        "not_counted": attendance.not_counted_reason(item, item.slot),
    }
    return render(request, "volunteering/attendance/record.html", context)


@login_required
@_404
@never_cache
@require_http_methods(["GET", "POST"])
def request_correction(request: HttpRequest, record_id: int) -> HttpResponse:
    actor = actor_for(request.user)
    item = selectors.my_record(actor=actor, record_id=record_id)
    form = CorrectionForm(request.POST or None, initial={"hours": item.hours})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                attendance.request_correction(
                    actor=actor,
                    record_id=item.pk,
                    hours=form.cleaned_data["hours"],
                    reason=form.cleaned_data["reason"],
                )
            except ServiceError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, _("已提交，组织者审核后会通知您"))
                return redirect("volunteering:record", item.pk)
        else:
            status = 400
    pending = next((c for c in item.corrections.all() if c.status == CorrectionStatus.PENDING), None)
    context = {
        "record": item,
        "form": form,
        "pending": pending,
        "slot_hours": attendance.slot_hours(item.slot),
    }
    return render(request, "volunteering/attendance/correction.html", context, status=status)


# --- the served resident's confirmation (public, no account) ---------------------------------------


@_404
@never_cache
@require_http_methods(["GET", "POST"])
def resident_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The served resident's page; signing in is not needed. The member opening their own link is told
    to hand it to the resident, and cannot confirm it."""
    actor = actor_for(request.user)
    item = selectors.record_by_token(token=token)
    form = ConfirmForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                attendance.confirm_service(token=token, comment=form.cleaned_data["comment"], actor=actor)
                item = selectors.record_by_token(token=token)
            except ServiceError as exc:
                form.add_service_error(exc)
                status = exc.status
        else:
            status = 400
    context = {
        "record": item,
        "member_name": mask_name(item.member.name),
        "form": form,
        "own": attendance.is_own_record(actor, item),
    }
    return render(request, "volunteering/attendance/confirm.html", context, status=status)
