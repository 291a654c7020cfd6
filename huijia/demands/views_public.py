"""The resident's screens of demands (诉求), on a phone and with no account needed.

- the building QR poster (staff console): one printable QR code per building of a community;
- the report form the QR code opens (/d/b/<building>/): where, what, the category suggested while
  typing, similar open problems of the estate to follow instead, an optional name, phone and photos;
- the page giving the tracking code back, and the tracking page (/d/t/<code>/): the status in plain
  words, the timeline, the result, and confirm-and-rate or reopen once it is resolved;
- a signed-in resident's own list (/d/mine/);
- complaints and suggestions (投诉建议, /d/feedback/), always reachable, with their own tracking code.

Thin like every view: forms parse, services (huijia.demands.services, .feedback) write and judge,
selectors read. A ServiceError is shown in plain words on the form; nothing is stored when one is raised.
"""

from dataclasses import dataclass
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.scope import Actor, actor_for
from huijia.core.errors import NotFound, ServiceError
from huijia.core.personal import mask_contact, mask_name
from huijia.core.photos import photo_response
from huijia.core.sorting import natural_key
from huijia.core.web import int_or_none, public_url, qr_svg, staff_actor
from huijia.demands import classify, duplicates, selectors, services
from huijia.demands.feedback import FeedbackInput, feedback_by_code, submit_feedback
from huijia.demands.forms_public import (
    PUBLIC_AREA,
    CodeForm,
    FeedbackForm,
    RateForm,
    ReopenForm,
    ReportForm,
)
from huijia.demands.models import (
    OPEN_STATUSES,
    AssigneeKind,
    Demand,
    DemandPhoto,
    DemandSource,
    DemandStatus,
    EventKind,
    Rating,
)
from huijia.grid import selectors as grid_selectors
from huijia.grid.models import Area, AreaKind, Household

MINE_PAGE = 20
HINT_MIN_CHARS = 4  # fewer characters say too little to suggest a category or a duplicate
SIMILAR_LIMIT = 5


# --- reads these screens need (small, unscoped: a building's address and rooms are public) -------------


def _building_or_404(building_id: int) -> Area:
    """The building with its estate and community, for the form's heading and the duplicate search."""
    building = (
        Area.objects.filter(pk=building_id, kind=AreaKind.BUILDING)
        .select_related("parent", "parent__parent")
        .only(
            "id",
            "name",
            "path",
            "parent__id",
            "parent__name",
            "parent__path",
            "parent__parent__id",
            "parent__parent__name",
        )
        .first()
    )
    if building is None:
        raise Http404
    return building


def _households_by_unit(building: Area) -> list[tuple[str, list[Household]]]:
    """The building's households as (unit, rooms) in the order people count them."""
    rows = sorted(
        grid_selectors.households_of_building(building_id=building.pk).only("id", "unit", "floor", "room"),
        key=lambda h: (natural_key(h.unit), h.floor, natural_key(h.room)),
    )
    return [(unit or _("住户"), list(rooms)) for unit, rooms in groupby(rows, key=lambda h: h.unit)]


def _building_of_household(household_id: int | None) -> int | None:
    if household_id is None:
        return None
    return Household.objects.filter(pk=household_id).values_list("building_id", flat=True).first()


def _qr_communities(actor: Actor):
    """Communities with at least one building the actor may see (an estate secretary: their own)."""
    buildings = grid_selectors.visible_areas(actor=actor).filter(kind=AreaKind.BUILDING)
    return (
        Area.objects.filter(kind=AreaKind.COMMUNITY, children__children__in=buildings.values("pk"))
        .distinct()
        .order_by("name")
    )


def _qr_buildings(actor: Actor, community: Area) -> list[Area]:
    buildings = (
        grid_selectors.visible_areas(actor=actor)
        .filter(kind=AreaKind.BUILDING, parent__parent=community)
        .select_related("parent")
        .only("id", "name", "parent__id", "parent__name")
    )
    return sorted(buildings, key=lambda b: (natural_key(b.parent.name), natural_key(b.name)))


# --- the building QR poster (staff) ----------------------------------------------------------------


@login_required
@never_cache
@require_GET
def building_qr(request: HttpRequest) -> HttpResponse:
    """Printable QR codes, one per building of a community: each opens that building's report form."""
    actor = staff_actor(request)
    communities = list(_qr_communities(actor))
    chosen = int_or_none(request.GET.get("community"))
    if chosen is None:
        community = communities[0] if communities else None
    else:
        community = next((c for c in communities if c.pk == chosen), None)
        if community is None:
            raise Http404
    posters = []
    for building in _qr_buildings(actor, community) if community else []:
        url = public_url(reverse("demands:report", args=[building.pk]))
        title = _("扫码反映%(b)s的问题") % {"b": building.name}
        posters.append({"building": building, "url": url, "qr": qr_svg(url, title)})
    context = {"communities": communities, "community": community, "posters": posters}
    return render(request, "demands/public/building_qr.html", context)


# --- reporting a problem --------------------------------------------------------------------------------


def _form(request: HttpRequest, building: Area, *, bound: bool, initial: dict | None = None) -> ReportForm:
    households, categories = _households_by_unit(building), list(selectors.categories())
    if bound:
        return ReportForm(request.POST, request.FILES, households=households, categories=categories)
    return ReportForm(initial=initial or {}, households=households, categories=categories)


@dataclass(frozen=True)
class Hints:
    """What the form offers while a resident types: the suggested category, similar open problems."""

    suggestion: object = None  # Category | None
    similar: tuple = ()


def _hints(building: Area, text: str, category_code: str = "") -> Hints:
    text = (text or "").strip()[: services.MAX_DESCRIPTION]
    if len(text) < HINT_MIN_CHARS:
        return Hints()
    suggestion = classify.suggest_category(text)
    chosen = (
        next((c for c in selectors.categories() if c.code == category_code), None) if category_code else None
    )
    similar = [
        d
        for d in duplicates.similar_open(
            text, building, category=chosen or suggestion, limit=SIMILAR_LIMIT, public=True
        )
        if d.status in OPEN_STATUSES
    ]
    prefetch_related_objects(similar, "area", "category")  # what each row shows, in two queries at most
    return Hints(suggestion=suggestion, similar=tuple(similar))


def _report_page(request, building: Area, form: ReportForm, hints: Hints, status: int = 200) -> HttpResponse:
    context = {
        "building": building,
        "estate": building.parent,
        "community": building.parent.parent,
        "form": form,
        "hints": hints,
        "manual": request.POST.get("category_manual") == "1",
    }
    return render(request, "demands/public/report.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, building_id: int) -> HttpResponse:
    """The form a building's QR code opens: no account needed, a tracking code given back."""
    building = _building_or_404(building_id)
    actor = actor_for(request.user)
    if request.method == "GET":
        home = actor.household_id if _building_of_household(actor.household_id) == building.pk else None
        form = _form(request, building, bound=False, initial={"household": home or PUBLIC_AREA})
        return _report_page(request, building, form, Hints())
    form = _form(request, building, bound=True)
    if form.is_valid():
        data = form.cleaned_data
        try:
            demand = services.submit_demand(
                actor=actor,
                data=services.DemandInput(
                    description=data["description"],
                    source=DemandSource.RESIDENT,
                    area_id=building.pk,
                    household_id=form.household_id(),
                    category_code=data["category"],
                    reporter_name=data["reporter_name"],
                    reporter_phone=data["reporter_phone"],
                    photos=tuple(data["photos"]),
                ),
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            return redirect("demands:reported", code=demand.tracking_code)
    hints = _hints(building, request.POST.get("description", ""), request.POST.get("category", ""))
    return _report_page(request, building, form, hints, status=400)


@require_POST
def report_hints(request: HttpRequest, building_id: int) -> HttpResponse:
    """htmx, while typing: similar open problems, and the suggested category (unless chosen by hand)."""
    building = _building_or_404(building_id)
    manual = request.POST.get("category_manual") == "1"
    chosen = request.POST.get("category", "")
    hints = _hints(building, request.POST.get("description", ""), chosen if manual else "")
    context = {"building": building, "hints": hints, "update_category": not manual, "manual": manual}
    if not manual:
        form = _form(
            request, building, bound=False, initial={"category": getattr(hints.suggestion, "code", "")}
        )
        context["form"] = form
    return render(request, "demands/public/_hints.html", context)


@require_POST
def follow(request: HttpRequest, building_id: int, demand_id: int) -> HttpResponse:
    """The resident says "这是同一个问题" and follows the open demand instead of filing a second one."""
    building = _building_or_404(building_id)
    form = _form(request, building, bound=True)
    form.is_valid()
    for irrelevant in ("household", "category", "photos"):  # a follower files under the original
        form.errors.pop(irrelevant, None)
    if not request.POST.get("description", "").strip():
        form.errors.pop("description", None)  # their own words are optional when following
    if not form.errors:
        try:  # the service checks the demand is open and in this building's estate
            follower = services.follow_demand(
                actor=actor_for(request.user),
                demand_id=demand_id,
                reporter_name=form.cleaned_data.get("reporter_name", ""),
                reporter_phone=form.cleaned_data.get("reporter_phone", ""),
                description=form.cleaned_data.get("description", ""),
                area_id=building.pk,
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            return redirect(reverse("demands:reported", args=[follower.tracking_code]) + "?follow=1")
    hints = _hints(building, request.POST.get("description", ""), request.POST.get("category", ""))
    return _report_page(request, building, form, hints, status=400)


def _by_code_or_404(code: str) -> Demand:
    try:
        return selectors.demand_by_code(tracking_code=code)
    except NotFound:
        raise Http404 from None


@never_cache
@require_GET
def reported(request: HttpRequest, code: str) -> HttpResponse:
    """Right after reporting: the tracking code, big, to note down."""
    demand = _by_code_or_404(code)
    context = {"demand": demand, "followed": request.GET.get("follow") == "1"}
    return render(request, "demands/public/reported.html", context)


# --- tracking ------------------------------------------------------------------------------------------

STATUS_WORDS = {
    DemandStatus.SUBMITTED: ("wait", gettext_lazy("已收到，等待社区受理")),
    DemandStatus.ACCEPTED: ("work", gettext_lazy("社区已受理，正在安排人员办理")),
    DemandStatus.DECLINED: ("stop", gettext_lazy("社区没有受理这条诉求")),
    DemandStatus.ASSIGNED: ("work", gettext_lazy("已安排人员办理")),
    DemandStatus.IN_PROGRESS: ("work", gettext_lazy("正在办理")),
    DemandStatus.ESCALATED: ("work", gettext_lazy("社区已请上级部门或结对单位协助（吹哨），正在协调办理")),
    DemandStatus.RESOLVED: ("done", gettext_lazy("已办结，请您确认是否解决")),
    DemandStatus.CLOSED: ("done", gettext_lazy("已办结，已评价")),
    DemandStatus.MERGED: ("work", gettext_lazy("同一问题已有人反映，正在一起办理")),
}
# steps taken by a resident: on another resident's demand they are shown without their words
RESIDENT_STEPS = frozenset({EventKind.SUBMITTED, EventKind.CONFIRMED, EventKind.REOPENED})
HIDDEN_STEPS = frozenset({EventKind.REMINDED})  # internal reminders to the handlers


@dataclass(frozen=True)
class Step:
    """One line of the public timeline."""

    what: str
    who: str
    when: object
    text: str = ""
    to: str = ""


def _member_names(demand: Demand) -> set[str]:
    """Names of the members the demand was assigned to: shown masked on this public page (李*国)."""
    names = {
        e.data.get("to", "") for e in demand.timeline if e.data.get("assignee_kind") == AssigneeKind.MEMBER
    }
    if demand.assigned_member_id:
        names.add(demand.assigned_member.name)
    return names - {""}


def _steps(demand: Demand, *, own: bool, following: bool = False) -> list[Step]:
    """The public timeline of one demand. `own`: the reader's own demand (their words are shown);
    `following`: the two timelines of a follower and the demand it follows are shown as one."""
    members = _member_names(demand)

    def shown(label: str) -> str:
        return mask_name(label) if label in members else label

    steps = []
    for event in demand.timeline:
        if event.kind in HIDDEN_STEPS or (own and event.data.get("by_demand")):
            continue
        if following and not own and event.data.get("follower"):
            continue  # "又有一位居民反映了同一问题": the follower's own steps say so
        resident_step = event.kind in RESIDENT_STEPS and demand.source == DemandSource.RESIDENT
        what = event.get_kind_display()
        if following and event.kind == EventKind.SUBMITTED:
            what = _("您也反映了这个问题") if own else _("有居民首先反映")
        who = _("居民") if resident_step else (shown(event.actor_label) or _("社区"))
        text = event.text if own or not resident_step else ""
        if event.kind == EventKind.CONFIRMED:
            text = "：".join(filter(None, [_rating_label(event.data.get("rating")), text])) if own else ""
        steps.append(Step(what, who, event.created_at, text, shown(event.data.get("to", ""))))
    return steps


def _rating_label(value: str | None) -> str:
    return dict(Rating.choices).get(value or "", "")


def _handler_label(demand: Demand) -> str:
    if demand.assignee_kind == AssigneeKind.BRANCH and demand.assigned_area_id:
        return _("%(estate)s党支部") % {"estate": demand.assigned_area.name}
    if demand.assignee_kind == AssigneeKind.TEAM and demand.assigned_team_id:
        return demand.assigned_team.name
    if demand.assignee_kind == AssigneeKind.SERVICE_TEAM and demand.assigned_service_team_id:
        return demand.assigned_service_team.name
    if demand.assignee_kind == AssigneeKind.MEMBER and demand.assigned_member_id:
        return _("党员 %(name)s") % {"name": mask_name(demand.assigned_member.name)}
    return ""


@dataclass(frozen=True)
class Progress:
    """What the tracking page shows: the resident's own record, and whose progress it follows."""

    demand: Demand  # the resident's own record: its code rates and reopens
    main: Demand  # the demand whose progress is shown (the one a follower's problem was filed under)
    steps: list
    photos: list

    @property
    def following(self) -> bool:
        return self.main.pk != self.demand.pk

    @property
    def shown(self) -> Demand:
        """Whose status is shown: the main demand while the follower waits with it."""
        return self.main if self.demand.status == DemandStatus.MERGED else self.demand

    @property
    def state(self) -> tuple[str, str]:
        tone, words = STATUS_WORDS[self.shown.status]
        return tone, str(words)

    @property
    def handler(self) -> str:
        return _handler_label(self.shown)

    @property
    def others(self) -> int:
        """How many other residents reported the same problem (their demands merged into this one)."""
        return sum(1 for d in self.main.merged_rows if d.pk != self.demand.pk)


def _progress(demand: Demand) -> Progress:
    main = demand
    if demand.merged_into_id:
        main = selectors.demand_by_code(tracking_code=demand.merged_into.tracking_code)
    following = main.pk != demand.pk
    steps = _steps(demand, own=True, following=following)
    photos = list(demand.photo_rows)
    if following:
        steps = sorted(steps + _steps(main, own=False, following=True), key=lambda s: s.when)
        photos += main.photo_rows
    return Progress(demand=demand, main=main, steps=steps, photos=photos)


def _track_page(request, demand: Demand, *, rate=None, reopen=None, error="", status=200) -> HttpResponse:
    progress = _progress(demand)
    context = {
        "p": progress,
        "demand": demand,
        "phone": mask_contact(demand.reporter_phone),
        "name": mask_name(demand.reporter_name),
        "rate_form": rate or RateForm(),
        "reopen_form": reopen or ReopenForm(),
        "reopen_open": reopen is not None,
        "error": error,
    }
    return render(request, "demands/public/track.html", context, status=status)


@never_cache
@require_GET
def track(request: HttpRequest, code: str) -> HttpResponse:
    """Where a resident follows their demand with the code they were given; no account needed."""
    return _track_page(request, _by_code_or_404(code))


@never_cache
@require_GET
def track_lookup(request: HttpRequest) -> HttpResponse:
    """Type in a tracking code (d/t/?code=…) to open its page."""
    form = CodeForm(request.GET or None)
    if form.is_bound and form.is_valid():
        code = form.cleaned_data["code"]
        if Demand.objects.filter(tracking_code=code).exists():
            return redirect("demands:track", code=code)
        form.add_error("code", _("没有找到这个查询码，请核对后重新输入（查询码是8位字母和数字）"))
    return render(request, "demands/public/lookup.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
def rate(request: HttpRequest, code: str) -> HttpResponse:
    """The resident confirms the resolved demand and rates it, once."""
    demand = _by_code_or_404(code)
    form = RateForm(request.POST)
    if form.is_valid():
        try:
            services.rate_demand(
                actor=actor_for(request.user),
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
                tracking_code=demand.tracking_code,
            )
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            if exc.fields:
                form.add_service_error(exc)
            else:
                return _track_page(request, demand, error=exc.message, status=exc.status)
        else:
            messages.success(request, _("谢谢您的评价！"))
            return redirect("demands:track", code=demand.tracking_code)
    return _track_page(request, demand, rate=form, status=400)


@require_POST
def reopen(request: HttpRequest, code: str) -> HttpResponse:
    """ "没有解决": the resolved demand goes back to whoever handled it."""
    demand = _by_code_or_404(code)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            services.reopen_demand(
                actor=actor_for(request.user),
                reason=form.cleaned_data["reason"],
                tracking_code=demand.tracking_code,
            )
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            if exc.fields:
                form.add_service_error(exc)
            else:
                return _track_page(request, demand, error=exc.message, status=exc.status)
        else:
            messages.success(request, _("已转回办理人员重新办理，办结后会再请您确认。"))
            return redirect("demands:track", code=demand.tracking_code)
    return _track_page(request, demand, reopen=form, status=400)


@never_cache
@require_GET
def photo(request: HttpRequest, code: str, photo_id: int) -> FileResponse:
    """A photo of the demand (or of the demand it follows), to whoever holds the tracking code."""
    demand = (
        Demand.objects.filter(tracking_code=code.strip().upper()[:12]).only("pk", "merged_into_id").first()
    )
    if demand is None:
        raise Http404
    owners = [demand.pk] + ([demand.merged_into_id] if demand.merged_into_id else [])
    found = DemandPhoto.objects.filter(pk=photo_id, demand_id__in=owners).only("id", "image").first()
    if found is None:
        raise Http404
    return photo_response(found.image)


# --- a signed-in resident's own demands ------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """The demands a signed-in resident reported, newest first, each linked to its tracking page."""
    actor = actor_for(request.user)
    page = Paginator(selectors.my_reported(actor=actor), MINE_PAGE).get_page(request.GET.get("page"))
    building_id = _building_of_household(actor.household_id)
    context = {
        "page": page,
        "rows": [(d, STATUS_WORDS[d.status][0]) for d in page.object_list],
        "report_url": reverse("demands:report", args=[building_id]) if building_id else "",
    }
    return render(request, "demands/public/mine.html", context)


# --- complaints and suggestions (投诉建议) -----------------------------------------------------------


def _feedback_community(request: HttpRequest) -> tuple[Area | None, str]:
    """The community written to, from ?community=, ?building= or the demand of ?code=; and that code."""
    code = "".join(request.GET.get("code", "").split()).upper()[:12]
    community_id = int_or_none(request.GET.get("community"))
    if community_id is None and (building_id := int_or_none(request.GET.get("building"))):
        community_id = (
            Area.objects.filter(pk=building_id, kind=AreaKind.BUILDING)
            .values_list("parent__parent", flat=True)
            .first()
        )
    if community_id is None and code:
        community_id = (
            Demand.objects.filter(tracking_code=code).values_list("community_id", flat=True).first()
        )
    if community_id is None:
        return None, code
    try:
        return grid_selectors.community(area_id=community_id), code
    except NotFound:
        return None, code


@never_cache
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest) -> HttpResponse:
    """Write a complaint or a suggestion to a community; pick the community first when it is not known."""
    community, code = _feedback_community(request)
    if community is None:
        query = request.GET.get("q", "").strip()[:40]
        results = list(grid_selectors.search_communities(query=query)) if query else []
        return render(request, "demands/public/feedback_pick.html", {"query": query, "results": results})
    if request.method == "POST":
        form = FeedbackForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                item = submit_feedback(
                    actor=actor_for(request.user),
                    data=FeedbackInput(
                        community_id=community.pk,
                        kind=data["kind"],
                        text=data["text"],
                        contact_name=data["reporter_name"],
                        contact_phone=data["reporter_phone"],
                        demand_code=data["demand_code"],
                    ),
                )
            except ServiceError as exc:
                form.add_service_error(exc)
            else:
                return redirect(reverse("demands:feedback_track", args=[item.tracking_code]) + "?new=1")
        status = 400
    else:
        form = FeedbackForm(initial={"demand_code": code})
        status = 200
    return render(
        request, "demands/public/feedback.html", {"form": form, "community": community}, status=status
    )


@never_cache
@require_GET
def feedback_lookup(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.GET or None)
    if form.is_bound and form.is_valid():
        try:
            item = feedback_by_code(tracking_code=form.cleaned_data["code"])
        except NotFound:
            form.add_error("code", _("没有找到这个查询码，请核对后重新输入（查询码是8位字母和数字）"))
        else:
            return redirect("demands:feedback_track", code=item.tracking_code)
    context = {"form": form, "feedback": True}
    return render(request, "demands/public/lookup.html", context, status=400 if form.errors else 200)


@never_cache
@require_GET
def feedback_track(request: HttpRequest, code: str) -> HttpResponse:
    """A complaint or suggestion and the community's answer, to whoever holds its code."""
    try:
        item = feedback_by_code(tracking_code=code)
    except NotFound:
        raise Http404 from None
    context = {
        "item": item,
        "new": request.GET.get("new") == "1",
        "phone": mask_contact(item.contact_phone),
        "name": mask_name(item.contact_name),
    }
    return render(request, "demands/public/feedback_track.html", context)
