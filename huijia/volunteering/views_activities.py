"""HTML screens of activities, service posts and tasks.

Phone (/m/volunteer/, members): what they can join (soon, this week, later) and their own sign-ups
with a cancel button; one activity with its slots and sign-up buttons; a post with its shifts and who
holds them.
Console (/console/volunteer/activities/, organisers and staff): the list with filters, the new
activity form (several slots), the new post form (recurring shifts), one activity with its slots,
the roster of a slot (confirmed and waitlist), edit, cancel and close.
"""

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.scope import Actor, actor_for
from huijia.core.errors import NotFound, ServiceError
from huijia.core.web import int_or_none, step_and_back
from huijia.volunteering import activities as services
from huijia.volunteering import activity_selectors as selectors
from huijia.volunteering.activities import JOINT_KINDS
from huijia.volunteering.forms_activities import (
    ActivityFilterForm,
    ActivityForm,
    CancelForm,
    EditForm,
    ExtendForm,
    OneSlotForm,
    PairingForm,
    PostForm,
    SlotForm,
    SlotFormSet,
    slot_inputs,
)
from huijia.volunteering.models import (
    ActivityKind,
    ActivityStatus,
    Enrolment,
    ServiceTeamMember,
    Slot,
)

PAGE_SIZE = 30
FORM_ROWS = 60  # slots still to come edited on one form; more (a post's shifts): one by one


def _act(
    request: HttpRequest, action: Callable[[Actor], object], done: str, back: str, actor: Actor
) -> HttpResponse:
    """Runs a service for a POST and goes back with its outcome as a message."""
    return step_and_back(request, lambda: action(actor), done, back)


def _back(request: HttpRequest, default: str) -> str:
    """Where a phone form came from (only paths of this site), else the default."""
    target = request.POST.get("next", "")
    return target if target.startswith("/m/volunteer/") else default


# --- phone --------------------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The member's volunteer page: activities to join, their sign-ups."""
    hub = selectors.member_hub(actor=actor_for(request.user))
    return render(request, "volunteering/activities/home.html", {"hub": hub, "now": timezone.now()})


@login_required
@never_cache
@require_GET
def activity(request: HttpRequest, pk: int) -> HttpResponse:
    """One activity on the phone: slots with places left and sign-up buttons; a post's shifts."""
    try:
        view = selectors.activity_for_member(actor=actor_for(request.user), activity_id=pk)
    except NotFound:
        raise Http404 from None
    return render(request, "volunteering/activities/detail.html", {"v": view, "a": view.activity})


@login_required
@require_POST
def signup(request: HttpRequest, slot_id: int) -> HttpResponse:
    actor = actor_for(request.user)
    activity_id = Slot.objects.filter(pk=slot_id).values_list("activity_id", flat=True).first()
    if activity_id is None:
        raise Http404
    back = _back(request, reverse("volunteering:activity", args=[activity_id]))
    try:
        enrolment = services.sign_up(actor=actor, slot_id=slot_id)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if enrolment.status == "confirmed":
        messages.success(request, _("报名成功，谢谢您！请按时到场。"))
    else:
        position = selectors.waitlist_position(enrolment)
        messages.info(
            request,
            _("名额已满，您已排入候补第{n}位。有人让出名额时会自动为您报上并通知您。").format(n=position),
        )
    return redirect(back)


@login_required
@require_POST
def cancel_enrolment(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    return _act(
        request,
        lambda actor: services.cancel_enrolment(actor=actor, enrolment_id=enrolment_id),
        _("已取消报名，名额已让给其他人。"),
        _back(request, reverse("volunteering:home")),
        actor_for(request.user),
    )


# --- console ------------------------------------------------------------------------------------------


def _page(request: HttpRequest, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
@never_cache
@require_GET
def console_activities(request: HttpRequest) -> HttpResponse:
    """Activities, posts and tasks in the actor's scope, with filters."""
    actor = _console_actor(request)
    form = ActivityFilterForm(request.GET)
    f = form.cleaned_data if form.is_valid() else {}
    communities = selectors.console_communities(actor=actor)
    community_id = f.get("community")
    qs = selectors.activities_for(
        actor=actor,
        community_id=community_id,
        kind=f.get("kind") or None,
        status=f.get("status") or None,
        period=f.get("period") or None,
    )
    query = urlencode({k: v for k, v in f.items() if v not in (None, "")})
    context = {
        "form": form,
        "communities": communities,
        "community_id": community_id,
        "page": _page(request, qs),
        "query": query,
        "can_publish": bool(selectors.organiser_options(actor=actor)),
    }
    return render(request, "volunteering/activities/console_list.html", context)


def _organiser_initial(request: HttpRequest, options) -> dict:
    team = int_or_none(request.GET.get("team"))
    community = int_or_none(request.GET.get("community"))
    for o in options:
        if (team and o.value == f"team:{team}") or (
            community and not team and o.value == f"community:{community}"
        ):
            return {"organiser": o.value}
    return {}


def _publish_form(request: HttpRequest, actor: Actor, options) -> tuple:
    initial = _organiser_initial(request, options)
    if request.GET.get("kind") == ActivityKind.TASK:
        initial["kind"] = ActivityKind.TASK
    if request.GET.get("team"):
        initial.setdefault("audience", "team")
    pairings = selectors.joint_pairings(community_ids=selectors.joint_community_ids(options))
    form = ActivityForm(request.POST or None, initial=initial, options=options, pairings=pairings)
    slots = SlotFormSet(request.POST or None, prefix="slots")
    return form, slots


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def console_activity_new(request: HttpRequest) -> HttpResponse:
    """Publish an activity or a task with one or several slots (?team=<id>: for a service team)."""
    actor = _console_actor(request)
    options = selectors.organiser_options(actor=actor)
    if not options:
        raise Http404
    form, slots = _publish_form(request, actor, options)
    if request.method == "POST" and form.is_valid() and slots.is_valid():
        try:
            created = services.publish_activity(
                actor=actor,
                data=form.activity_input(kind=form.cleaned_data["kind"], slots=slot_inputs(slots)),
            )
        except ServiceError as exc:
            form.add_service_error(exc)
            _slot_errors(slots, exc)
        else:
            messages.success(request, _("已发布，党员可以在手机上报名了。"))
            return redirect("volunteering:console_activity", created.pk)
    context = {"form": form, "slots": slots, "title": _("发布志愿活动")}
    status = 400 if request.method == "POST" else 200
    return render(request, "volunteering/activities/console_form.html", context, status=status)


def _slot_errors(formset, exc: ServiceError) -> None:
    """Puts a service's "slots.N.field" messages on the slot rows."""
    for name, errors in exc.fields.items():
        parts = name.split(".")
        if parts[0] != "slots" or len(parts) != 3 or not parts[1].isdigit():
            continue
        index, field = int(parts[1]), {"starts_at": "starts", "ends_at": "ends"}.get(parts[2], parts[2])
        filled = [f for f in formset.forms if f.cleaned_data]
        if index < len(filled) and field in filled[index].fields:
            for e in errors:
                filled[index].add_error(field, e)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def console_post_new(request: HttpRequest) -> HttpResponse:
    """Publish a service post (服务岗) with shifts on some weekdays at set times between two dates."""
    actor = _console_actor(request)
    options = selectors.organiser_options(actor=actor)
    if not options:
        raise Http404
    pairings = selectors.joint_pairings(community_ids=selectors.joint_community_ids(options))
    form = PostForm(
        request.POST or None,
        initial=_organiser_initial(request, options),
        options=options,
        pairings=pairings,
    )
    if request.method == "POST" and form.is_valid():
        try:
            created = services.publish_post(
                actor=actor, data=form.activity_input(), recurrence=form.recurrence()
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            count = created.slots.count()
            messages.success(
                request, _("服务岗已发布，共排了{n}个班，党员可以在手机上领岗了。").format(n=count)
            )
            return redirect("volunteering:console_activity", created.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "volunteering/activities/console_post_form.html", {"form": form}, status=status)


def _console_actor(request: HttpRequest) -> Actor:
    """Staff, or a member who leads a service team (they organise its activities); others get 403."""
    actor = actor_for(request.user)
    if actor.is_staff_actor:
        return actor
    led = ServiceTeamMember.objects.filter(
        member_id=actor.member_id, is_leader=True, ended_at__isnull=True, team__ended_at__isnull=True
    )
    if actor.member_id and led.exists():
        return actor
    raise PermissionDenied


@login_required
@never_cache
@require_GET
def console_activity(request: HttpRequest, pk: int) -> HttpResponse:
    """One activity: what, who organises, its slots with places and sign-ups; edit (slots still to
    come, one by one too), more shifts for a post, the joint-activity link, cancel, close."""
    actor = _console_actor(request)
    try:
        a = selectors.activity_for(actor=actor, activity_id=pk)
    except NotFound:
        raise Http404 from None
    may = services.may_manage(actor, a)
    published = a.status == ActivityStatus.PUBLISHED
    now = timezone.now()
    totals = {
        "capacity": sum(s.capacity for s in a.slot_rows),
        "confirmed": sum(s.confirmed for s in a.slot_rows),
        "waitlisted": sum(s.waitlisted for s in a.slot_rows),
    }
    to_come = [s for s in a.slot_rows if s.starts_at > now]
    # a year-round post has hundreds of shifts: by default the page lists the last day's and the
    # coming four weeks' (?all=1 lists them all); the totals stay those of every shift
    shown = a.slot_rows
    if a.kind == ActivityKind.POST and not request.GET.get("all"):
        window = (now - timedelta(days=1), now + timedelta(weeks=selectors.POST_WEEKS))
        shown = [s for s in a.slot_rows if s.ends_at > window[0] and s.starts_at < window[1]]
    joint = may and a.status != ActivityStatus.CANCELLED and a.organiser_kind in JOINT_KINDS
    pairings = selectors.joint_pairings(community_ids=[a.community_id]) if joint else []
    context = {
        "a": a,
        "now": now,
        "can_manage": may and published,
        "can_edit": may and published and bool(to_come),
        "can_extend": may and published and a.kind == ActivityKind.POST,
        "slots_only_future": len(to_come),
        "shown_slots": shown,
        "hidden_slots": len(a.slot_rows) - len(shown),
        "totals": totals,
        "cancel_form": CancelForm(),
        "pairing_form": PairingForm(initial={"pairing": a.pairing_id}, pairings=pairings)
        if joint and (pairings or a.pairing_id)
        else None,
    }
    return render(request, "volunteering/activities/console_detail.html", context)


def _managed_activity(request: HttpRequest, pk: int):
    actor = _console_actor(request)
    try:
        a = selectors.activity_for(actor=actor, activity_id=pk)
    except NotFound:
        raise Http404 from None
    if not services.may_manage(actor, a):
        raise Http404
    return actor, a


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def console_activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the title, description and the slots still to come (also once the activity — a standing
    post — has begun: started slots stay as they are). A post's many shifts are changed one by one
    from the detail page; this form then changes the title and description only."""
    actor, a = _managed_activity(request, pk)
    now = timezone.now()
    started = [s for s in a.slot_rows if s.starts_at <= now]
    to_come = [s for s in a.slot_rows if s.starts_at > now]
    form = EditForm(request.POST or None, initial={"title": a.title, "description": a.description})
    slots = None
    if a.kind != ActivityKind.POST and len(to_come) <= FORM_ROWS:
        slots = SlotFormSet(
            request.POST or None, prefix="slots", initial=[SlotForm.initial_of(s) for s in to_come]
        )
    if request.method == "POST" and form.is_valid() and (slots is None or slots.is_valid()):
        try:
            services.update_activity(
                actor=actor,
                activity_id=a.pk,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                slots=slot_inputs(slots) if slots is not None else None,
            )
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            form.add_service_error(exc)
            if slots is not None:
                _slot_errors(slots, exc)
        else:
            messages.success(request, _("已保存修改，已报名的人会收到通知。"))
            return redirect("volunteering:console_activity", a.pk)
    context = {"form": form, "slots": slots, "a": a, "started": started, "title": _("修改活动")}
    status = 400 if request.method == "POST" else 200
    return render(request, "volunteering/activities/console_form.html", context, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def console_slot_edit(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Change one slot still to come (a post's shift): venue, label, day, times, places."""
    actor = _console_actor(request)
    try:
        slot = selectors.slot_for(actor=actor, slot_id=slot_id)
    except NotFound:
        raise Http404 from None
    if not services.may_manage(actor, slot.activity):
        raise Http404
    if slot.starts_at <= timezone.now():
        messages.error(request, _("这个时段已经开始了，不能再修改。"))
        return redirect(_to_detail(slot.activity_id) + f"#slot-{slot.pk}")
    form = OneSlotForm(request.POST or None, initial=SlotForm.initial_of(slot))
    if request.method == "POST" and form.is_valid():
        try:
            services.change_slot(actor=actor, slot_id=slot.pk, data=form.slot_input())
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已保存，已报名这个时段的人会收到通知。"))
            return redirect(_to_detail(slot.activity_id) + f"#slot-{slot.pk}")
    context = {"form": form, "slot": slot, "a": slot.activity}
    status = 400 if request.method == "POST" else 200
    return render(request, "volunteering/activities/console_slot_form.html", context, status=status)


@login_required
@require_POST
def console_slot_remove(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Remove a slot still to come that nobody signed up for."""
    actor = _console_actor(request)
    activity_id = Slot.objects.filter(pk=slot_id).values_list("activity_id", flat=True).first()
    if activity_id is None:
        raise Http404
    return _act(
        request,
        lambda a: services.remove_slot(actor=a, slot_id=slot_id),
        _("已删除这个时段。"),
        _to_detail(activity_id),
        actor,
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def console_post_extend(request: HttpRequest, pk: int) -> HttpResponse:
    """More shifts for a post (more weeks, another shift a day), also once it has begun."""
    actor, a = _managed_activity(request, pk)
    last = a.slot_rows[-1] if a.slot_rows else None
    initial = {"venue": last.venue, "capacity": last.capacity} if last else {}
    form = ExtendForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            added = services.extend_post(actor=actor, activity_id=a.pk, recurrence=form.recurrence())
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已加排{n}个班，党员可以在手机上领岗了。").format(n=added))
            return redirect("volunteering:console_activity", a.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "a": a}
    return render(request, "volunteering/activities/console_post_extend.html", context, status=status)


@login_required
@require_POST
def console_activity_pairing(request: HttpRequest, pk: int) -> HttpResponse:
    """Link the activity to a pairing of its community (a joint activity), or unlink it."""
    actor = _console_actor(request)
    raw = request.POST.get("pairing", "").strip()
    pairing_id = int_or_none(raw)
    if raw and pairing_id is None:
        messages.error(request, _("请选择和本社区正在结对共建的单位"))
        return redirect(_to_detail(pk))
    return _act(
        request,
        lambda a: services.set_pairing(actor=a, activity_id=pk, pairing_id=pairing_id),
        _("已保存：结对共建") if pairing_id else _("已保存：不是结对共建活动"),
        _to_detail(pk),
        actor,
    )


def _to_detail(pk: int) -> str:
    return reverse("volunteering:console_activity", args=[pk])


@login_required
@require_POST
def console_activity_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _act(
        request,
        lambda actor: services.cancel_activity(actor=actor, activity_id=pk, reason=reason),
        _("活动已取消，已通知报名的人。"),
        _to_detail(pk),
        _console_actor(request),
    )


@login_required
@require_POST
def console_activity_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        lambda actor: services.close_activity(actor=actor, activity_id=pk),
        _("已结束报名。"),
        _to_detail(pk),
        _console_actor(request),
    )


@login_required
@never_cache
@require_GET
def console_roster(request: HttpRequest, slot_id: int) -> HttpResponse:
    """A slot's list: who is confirmed, who waits, in order."""
    actor = _console_actor(request)
    try:
        roster = selectors.slot_roster(actor=actor, slot_id=slot_id)
    except NotFound:
        raise Http404 from None
    context = {"r": roster, "a": roster.slot.activity, "now": timezone.now()}
    return render(request, "volunteering/activities/console_roster.html", context)


@login_required
@require_POST
def console_enrolment_remove(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    """The organiser takes someone off a slot's list (they asked by phone, say); they are told."""
    actor = _console_actor(request)
    slot_id = Enrolment.objects.filter(pk=enrolment_id).values_list("slot_id", flat=True).first()
    if slot_id is None:
        raise Http404
    return _act(
        request,
        lambda a: services.cancel_enrolment(actor=a, enrolment_id=enrolment_id),
        _("已移出名单，名额已让给候补的人。"),
        reverse("volunteering:console_roster", args=[slot_id]),
        actor,
    )
