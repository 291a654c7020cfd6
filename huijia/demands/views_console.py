"""The staff console of residents' demands (诉求), under /console/demands/ and /console/feedback/.

- the list of demands in the actor's scope, with filters and the count of each status;
- one demand: its place, reporter (phone masked), photos, timeline, merged duplicates and
  escalations, and a small form for every step the actor may take on it (each posts the `version`
  the page was drawn from, so a stale form gets a Conflict and nothing changes);
- staff entry (代录) of a demand phoned in, brought on paper, or found on a patrol or at a meeting;
- what is late (the branch secretary's list), the 接哨 inbox of streets and work units, and the
  complaints and suggestions to answer.

Thin on purpose: a form parses the request, a service in huijia.demands.services does the step,
the reads come from the selectors. A ServiceError is shown in plain words on the page it came from,
with the HTTP status it carries (400 bad input, 403 not allowed, 409 someone else moved first).
"""

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, actor_for
from huijia.core.errors import Conflict, NotFound, ServiceError
from huijia.core.personal import mask_contact
from huijia.core.photos import photo_response
from huijia.core.sorting import natural_key
from huijia.core.web import int_or_none, staff_actor
from huijia.demands import duplicates, feedback, selectors, services
from huijia.demands.forms_console import (
    STEP_FORMS,
    DemandFilterForm,
    EscalationAnswerForm,
    EscalationReportForm,
    FeedbackAnswerForm,
    StaffEntryForm,
)
from huijia.demands.models import (
    OPEN_STATUSES,
    AssigneeKind,
    Demand,
    DemandStatus,
    EscalationStatus,
)
from huijia.grid import selectors as grid_selectors
from huijia.grid.models import Area, AreaKind
from huijia.members import selectors as member_selectors
from huijia.members import team_selectors
from huijia.orgs.models import WorkUnit
from huijia.volunteering import pairing_selectors
from huijia.volunteering import team_selectors as service_team_selectors

PAGE_SIZE = member_selectors.PAGE_SIZE
MEMBER_PICKS = 30
UNIT_PICKS = 50
STALE = _("这条诉求刚刚已被他人处理，请刷新后查看最新状态")


# --- shared helpers (also used by views_member) ----------------------------------------------------------


def query_string(**params) -> str:
    return urlencode({k: v for k, v in params.items() if v not in ("", None, False)})


def assignee_label(demand: Demand) -> str:
    """Who handles it, from the rows joined in by the selectors (no query)."""
    if demand.assignee_kind == AssigneeKind.BRANCH and demand.assigned_area_id:
        return _("%(estate)s党支部") % {"estate": demand.assigned_area.name}
    if demand.assignee_kind == AssigneeKind.TEAM and demand.assigned_team_id:
        return demand.assigned_team.name
    if demand.assignee_kind == AssigneeKind.SERVICE_TEAM and demand.assigned_service_team_id:
        return demand.assigned_service_team.name
    if demand.assignee_kind == AssigneeKind.MEMBER and demand.assigned_member_id:
        return demand.assigned_member.name
    return ""


def decorate(demands, now=None) -> list[Demand]:
    """Adds what a row shows beyond the columns: the deadline that matters now, late or not, assignee."""
    now = now or timezone.now()
    rows = list(demands)
    for d in rows:
        if d.status == DemandStatus.SUBMITTED:
            d.deadline, d.deadline_label = d.respond_by, _("受理时限")
        elif d.status in OPEN_STATUSES:
            d.deadline, d.deadline_label = d.resolve_by, _("办结时限")
        else:
            d.deadline, d.deadline_label = None, ""
        d.late = d.status in OPEN_STATUSES and (d.overdue or bool(d.deadline and d.deadline < now))
        d.assignee = assignee_label(d)
    return rows


def demand_or_404(actor: Actor, demand_id: int) -> Demand:
    try:
        return selectors.demand_for(actor=actor, demand_id=demand_id)
    except NotFound:
        raise Http404 from None


def photos_of(request: HttpRequest) -> tuple:
    return tuple(request.FILES.getlist("photos"))


def picked(rows, value):
    """The row of `rows` whose id is `value` (a query or form value), or None."""
    wanted = int_or_none(value)
    return next((r for r in rows if r.pk == wanted), None)


def households_of(building: Area | None) -> list:
    if building is None:
        return []
    rows = grid_selectors.households_of_building(building_id=building.pk)
    return sorted(rows, key=lambda h: (natural_key(h.unit), h.floor, natural_key(h.room)))


def buildings_of(estate: Area | None) -> list[Area]:
    return sorted(estate.children.all(), key=lambda b: natural_key(b.name)) if estate else []


def status_for(exc: ServiceError) -> int:
    return exc.status if exc.status in (400, 403, 409) else 400


# --- the list ----------------------------------------------------------------------------------------


def _community(request: HttpRequest, communities: list[Area]) -> Area | None:
    """The community chosen in the filter; out-of-scope ids are a 404, a lone community is implied."""
    raw = request.GET.get("community", "")
    if raw == "":
        return communities[0] if "community" not in request.GET and len(communities) == 1 else None
    chosen = picked(communities, raw)
    if chosen is None:
        raise Http404
    return chosen


def _estates(actor: Actor, community: Area | None, communities: list[Area]) -> list[Area]:
    """The estates to filter by: those of the chosen community, or of an estate secretary's grants."""
    if community is not None:
        return list(
            grid_selectors.visible_areas(actor=actor)
            .filter(parent_id=community.pk, kind=AreaKind.ESTATE)
            .only("id", "name", "path")
            .order_by("name")
        )
    if communities:
        return []
    return list(
        grid_selectors.visible_areas(actor=actor)
        .filter(kind=AreaKind.ESTATE)
        .only("id", "name", "path")
        .order_by("name")[:50]
    )


def _filters(request: HttpRequest, actor: Actor) -> dict:
    communities = grid_selectors.community_choices(actor=actor)
    community = _community(request, communities)
    estates = _estates(actor, community, communities)
    categories = list(selectors.categories())
    form = DemandFilterForm(request.GET, communities=communities, categories=categories, estates=estates)
    form.is_valid()
    if "estate" in form.errors:
        raise Http404
    data = form.cleaned_data
    return {
        "communities": communities,
        "community": community,
        "estates": estates,
        "categories": categories,
        "estate": picked(estates, data.get("estate")),
        "status": data.get("status") or "",
        "category": data.get("category") or "",
        "overdue": bool(data.get("overdue")),
    }


@login_required
@never_cache
@require_GET
def demand_list(request: HttpRequest) -> HttpResponse:
    """The demands in the actor's scope, newest first, with filters and a tab per status."""
    actor = staff_actor(request)
    f = _filters(request, actor)
    scoped = {
        "actor": actor,
        "community_id": f["community"].pk if f["community"] else None,
        "category_code": f["category"] or None,
        "estate_id": f["estate"].pk if f["estate"] else None,
        "overdue": True if f["overdue"] else None,
    }
    counts = dict(
        selectors.demands_for(**scoped)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    rows = selectors.demands_for(**scoped, status=f["status"] or None).select_related("household")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    base = {
        "community": f["community"].pk if f["community"] else "",
        "category": f["category"],
        "estate": f["estate"].pk if f["estate"] else "",
        "overdue": "1" if f["overdue"] else "",
    }
    tabs = [("", _("全部"), sum(counts.values()))] + [
        (value, label, counts.get(value, 0)) for value, label in DemandStatus.choices
    ]
    context = {
        **f,
        "page": page,
        "rows": decorate(page.object_list),
        "tabs": tabs,
        "base_query": query_string(**base),
        "query": query_string(**base, status=f["status"]),
        "can_enter": _may_enter(actor),
    }
    return render(request, "demands/console/list.html", context)


def _may_enter(actor: Actor) -> bool:
    return actor.is_superuser or bool(actor.paths(Perm.MANAGE_DEMANDS))


@login_required
@never_cache
@require_GET
def late(request: HttpRequest) -> HttpResponse:
    """What is late in the actor's scope: open demands past their deadline, the oldest deadline first."""
    actor = staff_actor(request)
    page = Paginator(selectors.late_for(actor=actor).select_related("household"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "rows": decorate(page.object_list), "query": ""}
    return render(request, "demands/console/late.html", context)


# --- one demand -----------------------------------------------------------------------------------------


def _steps(actor: Actor, demand: Demand) -> dict[str, bool]:
    """Which steps the actor may take on the demand now (the services check again)."""
    manage = actor.covers(Perm.MANAGE_DEMANDS, demand.area.path)
    assignee = bool(demand.assignee_kind) and services.is_assignee(actor, demand)
    status = demand.status
    open_ = status in OPEN_STATUSES
    return {
        "accept": manage and status == DemandStatus.SUBMITTED,
        "decline": manage and status == DemandStatus.SUBMITTED,
        "assign": manage and status in (DemandStatus.SUBMITTED, DemandStatus.ACCEPTED),
        "reassign": manage and status in (DemandStatus.ASSIGNED, DemandStatus.IN_PROGRESS),
        "recategorise": manage and open_,
        "merge": manage and open_,
        "escalate": manage
        and status
        in (DemandStatus.SUBMITTED, DemandStatus.ACCEPTED, DemandStatus.ASSIGNED, DemandStatus.IN_PROGRESS),
        "start": assignee and status == DemandStatus.ASSIGNED,
        "resolve": (
            manage
            and status
            in (
                DemandStatus.ACCEPTED,
                DemandStatus.ASSIGNED,
                DemandStatus.IN_PROGRESS,
                DemandStatus.ESCALATED,
            )
        )
        or (assignee and status in (DemandStatus.ASSIGNED, DemandStatus.IN_PROGRESS)),
        "note": manage or assignee,
        "rate": manage and status == DemandStatus.RESOLVED and not demand.rating,
    }


def _merge_candidates(demand: Demand) -> list[Demand]:
    """Open demands of the same estate (or place) and category that could be the same problem."""
    where = demand.estate or demand.area
    similar = duplicates.similar_open(demand.description, where, demand.category, limit=10)
    return [
        d
        for d in similar
        if d.pk != demand.pk
        and d.status in (DemandStatus.SUBMITTED, DemandStatus.ACCEPTED)
        and d.community_id == demand.community_id
        and d.merged_into_id is None
    ]


def _picker_members(actor: Actor, demand: Demand, query: str) -> list:
    """Members reporting in the demand's community, for the assign picker (name contains `query`)."""
    if not demand.community_id:
        return []
    rows = member_selectors.members_for(actor=actor, community_id=demand.community_id)
    if query:
        rows = rows.filter(name__contains=query)
    return list(rows[:MEMBER_PICKS])


def _suggested_members(demand: Demand) -> list:
    """Members proposed for the demand (matching skills, living nearby, not overloaded), best first.

    huijia.demands.matching is built with the three lists; until it is there, nobody is proposed."""
    try:
        from huijia.demands import matching  # optional: built with the three lists
    except ImportError:
        return []
    if not demand.community_id:
        return []
    return matching.suggest_members(demand.community_id, demand.category, demand.area, limit=5)


def _work_units(community_id: int | None, query: str = "") -> list[WorkUnit]:
    """Work units to escalate to: those actively paired with the community (结对共建), by name; a
    demand goes only to a paired unit (or up to the street)."""
    return list(pairing_selectors.paired_units(community_id, query)[:UNIT_PICKS])


def reporter_of(demand: Demand, actor: Actor | None = None) -> dict:
    """Who reported it: a name, and the phone number masked (138****5678). Whoever handles the demand
    may show the number in full to call back (audited): `reveal_url`."""
    name = demand.reporter_name
    if not name and demand.reporter_id:
        name = str(demand.reporter)
    can_reveal = bool(demand.reporter_phone) and actor is not None and services.may_handle(actor, demand)
    return {
        "name": name,
        "phone": mask_contact(demand.reporter_phone),
        "has_account": bool(demand.reporter_id),
        "reveal_url": reverse("demands:reveal_phone", args=[demand.pk]) if can_reveal else "",
    }


@login_required
@never_cache
@require_POST
def reveal_phone(request: HttpRequest, demand_id: int) -> HttpResponse:
    """The reporter's phone in full, in place (htmx) or on its own page; the service audits the view."""
    try:
        value, error = services.reveal_reporter_phone(actor=actor_for(request.user), demand_id=demand_id), ""
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        value, error = "", exc.message
    context = {"value": value, "error": error, "field": "phone"}
    if request.headers.get("HX-Request"):
        return render(request, "members/_pii_revealed.html", context)
    return render(request, "members/reveal.html", context, status=403 if error else 200)


def _receivable(actor: Actor, demand: Demand) -> list:
    """The demand's open escalations the actor receives (a street's or work unit's staff)."""
    units = set(actor.work_units(Perm.RECEIVE_ESCALATIONS))
    return [
        e
        for e in demand.escalation_rows
        if e.status in (EscalationStatus.SENT, EscalationStatus.ACCEPTED)
        and (
            (e.work_unit_id and e.work_unit_id in units)
            or (e.street_id and actor.covers(Perm.RECEIVE_ESCALATIONS, e.street.path))
        )
    ]


def _render_detail(
    request: HttpRequest,
    actor: Actor,
    demand: Demand,
    *,
    failed: tuple[str, object] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    steps = _steps(actor, demand)
    categories = list(selectors.categories())
    candidates = _merge_candidates(demand) if steps["merge"] else []
    forms = {}
    for step, form_class in STEP_FORMS.items():
        kwargs = {}
        if step in ("accept", "recategorise"):
            kwargs["categories"] = categories
        if step == "merge":
            kwargs["candidates"] = candidates
        initial = {"version": demand.version}
        if step == "recategorise" and demand.category_id:
            initial["category"] = demand.category.code
        forms[step] = form_class(initial=initial, **kwargs)
    if failed is not None:
        forms[failed[0]] = failed[1]
    assigning = steps["assign"] or steps["reassign"]
    member_q = request.GET.get("member_q", "").strip()[:20]
    unit_q = request.GET.get("unit_q", "").strip()[:40]
    context = {
        "demand": demand,
        "row": decorate([demand])[0],
        "steps": steps,
        "any_step": any(steps.values()),
        "forms": forms,
        "error": error,
        "reporter": reporter_of(demand, actor),
        "report_photos": [p for p in demand.photo_rows if p.stage == "report"],
        "result_photos": [p for p in demand.photo_rows if p.stage == "resolution"],
        "candidates": candidates,
        "receivable": _receivable(actor, demand),
        "member_q": member_q,
        "unit_q": unit_q,
    }
    if assigning and demand.community_id:
        context.update(
            estates=list(grid_selectors.estates_and_buildings(community=demand.community)),
            teams=list(team_selectors.teams_for(actor=actor, community_id=demand.community_id)),
            service_teams=service_team_selectors.teams_for_assignment(
                actor=actor, community_id=demand.community_id
            ),
            members=_picker_members(actor, demand, member_q),
            suggested=_suggested_members(demand),
        )
    if steps["escalate"]:
        context["units"] = _work_units(demand.community_id, unit_q)
        context["may_pair"] = actor.covers(Perm.MANAGE_PAIRINGS, demand.area.path)
    return render(request, "demands/console/detail.html", context, status=status)


@login_required
@never_cache
@require_GET
def detail(request: HttpRequest, demand_id: int) -> HttpResponse:
    actor = staff_actor(request)
    return _render_detail(request, actor, demand_or_404(actor, demand_id))


@login_required
@never_cache
@require_GET
def member_picks(request: HttpRequest, demand_id: int) -> HttpResponse:
    """The assign picker's member list filtered by name (an htmx fragment)."""
    actor = staff_actor(request)
    demand = demand_or_404(actor, demand_id)
    if not actor.covers(Perm.MANAGE_DEMANDS, demand.area.path):
        raise Http404
    query = request.GET.get("member_q", "").strip()[:20]
    context = {"members": _picker_members(actor, demand, query), "member_q": query, "demand": demand}
    return render(request, "demands/console/_member_picks.html", context)


@login_required
@never_cache
@require_GET
def unit_options(request: HttpRequest) -> HttpResponse:
    """The community's paired work units whose name contains what staff typed, as <option>s (htmx);
    only for staff who may escalate the community's demands (which unit is paired with which community
    is as scoped as the pairings themselves)."""
    actor = staff_actor(request)
    query = request.GET.get("unit_q", "").strip()[:40]
    community = Area.objects.filter(pk=int_or_none(request.GET.get("community")) or 0).only("path").first()
    may_escalate = community is not None and (
        actor.is_superuser
        or any(
            p.startswith(community.path) or community.path.startswith(p)
            for p in actor.paths(Perm.MANAGE_DEMANDS)
        )
    )
    units = _work_units(community.pk, query) if may_escalate else []
    return render(request, "demands/console/_unit_options.html", {"units": units, "unit_q": query})


def _run_step(step: str, actor: Actor, demand: Demand, data: dict, request: HttpRequest) -> str:
    """Runs one step through its service; returns what to tell the user."""
    pk, version = demand.pk, data.get("version")
    if step == "accept":
        services.accept_demand(
            actor=actor, demand_id=pk, version=version, category_code=data["category"], note=data["note"]
        )
        return _("已受理，居民会收到通知。下一步：派单。")
    if step == "decline":
        services.decline_demand(actor=actor, demand_id=pk, reason=data["reason"], version=version)
        return _("已不予受理，原因已告知居民。")
    if step == "assign":
        services.assign_demand(
            actor=actor,
            demand_id=pk,
            kind=data["kind"],
            target_id=data["target_id"],
            version=version,
            reassign=data["reassign"],
            note=data["note"],
        )
        return _("已派单，承办方会收到通知。")
    if step == "recategorise":
        services.recategorise_demand(
            actor=actor, demand_id=pk, category_code=data["category"], version=version
        )
        return _("类别已调整，办理时限按新类别计算。")
    if step == "merge":
        services.merge_demands(actor=actor, into_id=pk, demand_ids=data["demand_ids"], version=version)
        return _("已合并。办结时，这些居民都会收到通知。")
    if step == "escalate":
        services.escalate_demand(
            actor=actor,
            demand_id=pk,
            target=data["target"],
            reason=data["reason"],
            work_unit_id=data.get("work_unit"),
            version=version,
        )
        return _("已吹哨，接哨方会收到通知。")
    if step == "resolve":
        services.resolve_demand(
            actor=actor,
            demand_id=pk,
            resolution=data["resolution"],
            photos=photos_of(request),
            version=version,
        )
        return _("已办结，居民会收到通知并请他确认评价。")
    if step == "note":
        services.add_note(actor=actor, demand_id=pk, text=data["text"])
        return _("备注已记下。")
    if step == "rate":
        services.rate_demand(
            actor=actor, demand_id=pk, rating=data["rating"], comment=data["comment"], version=version
        )
        return _("回访评价已记录。")
    services.start_demand(actor=actor, demand_id=pk, version=version)
    return _("已开始办理。")


def step_form(step: str, request: HttpRequest, demand: Demand):
    kwargs = {}
    if step in ("accept", "recategorise"):
        kwargs["categories"] = list(selectors.categories())
    if step == "merge":
        kwargs["candidates"] = _merge_candidates(demand)
    return STEP_FORMS[step](request.POST, **kwargs)


def take_step(
    request: HttpRequest,
    actor: Actor,
    demand: Demand,
    step: str,
    rerender: Callable[..., HttpResponse],
    done_url: str,
) -> HttpResponse:
    """Parses the step's form, runs it, and answers: back to the page, or the page with the refusal."""
    form = step_form(step, request, demand)
    if not form.is_valid():
        return rerender(failed=(step, form), status=400)
    try:
        done = _run_step(step, actor, demand, form.cleaned_data, request)
    except NotFound:
        raise Http404 from None
    except Conflict as exc:
        return rerender(error=exc.message, status=409)
    except ServiceError as exc:
        form.add_service_error(exc)
        return rerender(
            failed=(step, form), error=exc.message if exc.status == 403 else "", status=status_for(exc)
        )
    messages.success(request, done)
    return redirect(done_url)


@login_required
@require_POST
def act(request: HttpRequest, demand_id: int, step: str) -> HttpResponse:
    """One step on a demand (accept, decline, assign, …), posted from the demand's page."""
    if step not in STEP_FORMS:
        raise Http404
    actor = staff_actor(request)
    demand = demand_or_404(actor, demand_id)

    def rerender(**kwargs) -> HttpResponse:
        return _render_detail(request, actor, demand_or_404(actor, demand_id), **kwargs)

    return take_step(
        request, actor, demand, step, rerender, reverse("demands:console_detail", args=[demand_id])
    )


@login_required
@require_GET
def photo(request: HttpRequest, demand_id: int, photo_id: int) -> FileResponse:
    """A photo of a demand, to whoever may see the demand (staff in scope, its handlers)."""
    demand = demand_or_404(actor_for(request.user), demand_id)
    found = next((p for p in demand.photo_rows if p.pk == photo_id), None)
    if found is None:
        raise Http404
    return photo_response(found.image)


# --- staff entry (代录) ----------------------------------------------------------------------------------


def _entry_places(actor: Actor, data) -> dict:
    """The places staff may enter a demand for, narrowed by what they picked so far."""
    managed = grid_selectors.visible_areas(actor=actor, perm=Perm.MANAGE_DEMANDS)
    communities = list(managed.filter(kind=AreaKind.COMMUNITY).only("id", "name", "path").order_by("name"))
    community = picked(communities, data.get("community"))
    if community is None and len(communities) == 1:
        community = communities[0]
    if communities:
        estates = grid_selectors.estates_and_buildings(community=community) if community else []
    else:  # an estate's branch secretary: their own estates
        children = Prefetch("children", queryset=Area.objects.order_by("name"))
        estates = list(managed.filter(kind=AreaKind.ESTATE).prefetch_related(children).order_by("name"))
    estate = picked(estates, data.get("estate"))
    if estate is None and len(estates) == 1 and not communities:
        estate = estates[0]
    buildings = buildings_of(estate)
    building = picked(buildings, data.get("building"))
    return {
        "communities": communities,
        "community": community,
        "estates": estates,
        "estate": estate,
        "buildings": buildings,
        "building": building,
        "households": households_of(building),
    }


def place_input(places: dict, data: dict) -> tuple[int | None, int | None]:
    """(area id, household id) from the picked household, building, estate or community."""
    area = places["building"] or places["estate"] or places.get("community")
    household = data.get("household")
    if places["building"] is None or data.get("building") is None:
        household = None
    return (area.pk if area else None), household


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    """代录: staff type in a demand phoned in, brought on paper, or from a patrol or a meeting."""
    actor = staff_actor(request)
    data = request.POST if request.method == "POST" else request.GET
    places = _entry_places(actor, data)
    if not places["communities"] and not places["estates"]:
        raise PermissionDenied
    categories = list(selectors.categories())
    kwargs = {
        "communities": places["communities"],
        "estates": places["estates"],
        "buildings": places["buildings"],
        "households": places["households"],
        "categories": categories,
    }
    posted = request.method == "POST" and "refresh" not in request.POST
    if posted:
        form = StaffEntryForm(request.POST, **kwargs)
    else:
        initial = {k: v for k, v in data.items() if k in StaffEntryForm.base_fields}
        if places["community"]:
            initial["community"] = places["community"].pk
        if places["estate"]:
            initial["estate"] = places["estate"].pk
        form = StaffEntryForm(initial=initial, **kwargs)
    if posted and form.is_valid():
        cd = form.cleaned_data
        area_id, household_id = place_input(places, cd)
        try:
            demand = services.submit_demand(
                actor=actor,
                data=services.DemandInput(
                    description=cd["description"],
                    source=cd["source"],
                    area_id=area_id,
                    household_id=household_id,
                    category_code=cd["category"],
                    reporter_name=cd["reporter_name"],
                    reporter_phone=cd["reporter_phone"],
                    photos=photos_of(request),
                ),
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("已录入。查询码 %(code)s，请告诉居民，凭它可以查进度。") % {"code": demand.tracking_code},
            )
            return redirect("demands:console_detail", demand_id=demand.pk)
    context = {**places, "form": form}
    return render(request, "demands/console/new.html", context, status=400 if form.errors else 200)


# --- 接哨: the inbox of streets and work units ----------------------------------------------------------


def _may_receive(actor: Actor) -> bool:
    return (
        actor.is_superuser
        or bool(actor.work_units(Perm.RECEIVE_ESCALATIONS))
        or bool(actor.paths(Perm.RECEIVE_ESCALATIONS))
    )


def _lost_error(pk: int, form, items: list) -> str:
    """The refusal of a row that is no longer on the page (answered meanwhile), to show above it."""
    if any(item.pk == pk for item in items):
        return ""
    return next((str(e) for errors in form.errors.values() for e in errors), "")


def _render_inbox(
    request: HttpRequest, actor: Actor, *, failed: tuple[int, str, object] | None = None, status: int = 200
) -> HttpResponse:
    show = "all" if request.GET.get("show") == "all" else "open"
    rows = selectors.escalations_for(actor=actor, open_only=show == "open")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    for e in items:
        e.is_open = e.status in (EscalationStatus.SENT, EscalationStatus.ACCEPTED)
        e.answer_form = EscalationAnswerForm()
        e.report_form = EscalationReportForm()
        if failed is not None and failed[0] == e.pk:
            setattr(e, failed[1], failed[2])
    context = {
        "page": page,
        "rows": items,
        "show": show,
        "query": query_string(show=show if show == "all" else ""),
        "error": _lost_error(failed[0], failed[-1], items) if failed else "",
    }
    return render(request, "demands/console/escalations.html", context, status=status)


@login_required
@never_cache
@require_GET
def escalations(request: HttpRequest) -> HttpResponse:
    """接哨: demands escalated (吹哨) to the actor's street or work unit, to take on or send back."""
    actor = staff_actor(request)
    if not _may_receive(actor):
        raise PermissionDenied
    return _render_inbox(request, actor)


def _escalation_step(request: HttpRequest, escalation_id: int, form, which: str, run) -> HttpResponse:
    actor = staff_actor(request)
    if form.is_valid():
        try:
            done = run(actor, form.cleaned_data)
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            form.add_service_error(exc)
            return _render_inbox(request, actor, failed=(escalation_id, which, form), status=status_for(exc))
        messages.success(request, done)
        return redirect(reverse("demands:escalations") + f"#esc-{escalation_id}")
    return _render_inbox(request, actor, failed=(escalation_id, which, form), status=400)


@login_required
@require_POST
def escalation_answer(request: HttpRequest, escalation_id: int) -> HttpResponse:
    """Take the escalated demand on (接哨), or send it back with the reason."""

    def run(actor: Actor, data: dict) -> str:
        accept = data["decision"] == "accept"
        services.answer_escalation(
            actor=actor, escalation_id=escalation_id, accept=accept, answer=data["answer"]
        )
        return _("已接哨，请办理后反馈结果。") if accept else _("已退回，社区会收到原因。")

    return _escalation_step(request, escalation_id, EscalationAnswerForm(request.POST), "answer_form", run)


@login_required
@require_POST
def escalation_report(request: HttpRequest, escalation_id: int) -> HttpResponse:
    """Report back what was done: the demand is resolved and the resident asked to rate it."""

    def run(actor: Actor, data: dict) -> str:
        services.report_escalation(actor=actor, escalation_id=escalation_id, answer=data["answer"])
        return _("已反馈办理结果，诉求已办结。")

    return _escalation_step(request, escalation_id, EscalationReportForm(request.POST), "report_form", run)


# --- complaints and suggestions (投诉建议) -------------------------------------------------------------


def _render_feedback(
    request: HttpRequest, actor: Actor, *, failed: tuple[int, object] | None = None, status: int = 200
) -> HttpResponse:
    communities = grid_selectors.community_choices(actor=actor)
    community = _community(request, communities)
    show = request.GET.get("show", "open")
    show = show if show in ("open", "answered", "all") else "open"
    answered = {"open": False, "answered": True, "all": None}[show]
    rows = feedback.feedback_for(
        actor=actor, answered=answered, community_id=community.pk if community is not None else None
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    for f in items:
        f.masked_phone = mask_contact(f.contact_phone)
        f.can_answer = f.answered_at is None and actor.covers(Perm.MANAGE_DEMANDS, f.community.path)
        f.form = failed[1] if failed is not None and failed[0] == f.pk else FeedbackAnswerForm()
    base = {"community": community.pk if community else ""}
    context = {
        "error": _lost_error(failed[0], failed[1], items) if failed else "",
        "communities": communities,
        "community": community,
        "page": page,
        "rows": items,
        "show": show,
        "shows": [("open", _("待答复")), ("answered", _("已答复")), ("all", _("全部"))],
        "base_query": query_string(**base),
        "query": query_string(**base, show=show),
    }
    return render(request, "demands/console/feedback.html", context, status=status)


@login_required
@never_cache
@require_GET
def feedback_list(request: HttpRequest) -> HttpResponse:
    """Complaints and suggestions of residents and members, the unanswered first to answer."""
    return _render_feedback(request, staff_actor(request))


@login_required
@require_POST
def feedback_answer(request: HttpRequest, feedback_id: int) -> HttpResponse:
    actor = staff_actor(request)
    form = FeedbackAnswerForm(request.POST)
    if not form.is_valid():
        return _render_feedback(request, actor, failed=(feedback_id, form), status=400)
    try:
        feedback.answer_feedback(actor=actor, feedback_id=feedback_id, answer=form.cleaned_data["answer"])
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        form.add_service_error(exc)
        return _render_feedback(request, actor, failed=(feedback_id, form), status=status_for(exc))
    messages.success(request, _("已答复，对方会收到通知。"))
    back = request.GET.urlencode()
    return redirect(reverse("demands:console_feedback") + (f"?{back}" if back else ""))
