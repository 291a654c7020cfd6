"""The member's phone screens of demands (诉求), under /m/demands/.

- 派给我的诉求: the demands assigned to the member or to their team, the nearest deadline first;
- one demand: what the resident asked, where, the timeline; start it, add a note, resolve it
  (a result in words; photos may be added, never required);
- 社情民意收集: the opinion-collection post, where a member takes down a resident's demand for a place
  in the community they report to.

Large type, one task per screen, plain words. The steps run through the same services and step forms
as the console (views_console.take_step); a refusal is shown on the page with its HTTP status.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.scope import Actor, actor_for
from huijia.core.errors import ServiceError
from huijia.demands import classify, selectors, services
from huijia.demands.forms_console import STEP_FORMS, PostForm
from huijia.demands.models import DemandSource, DemandStatus
from huijia.demands.views_console import (
    buildings_of,
    decorate,
    demand_or_404,
    households_of,
    photos_of,
    picked,
    place_input,
    reporter_of,
    take_step,
)
from huijia.grid import selectors as grid_selectors
from huijia.members.models import Member

PHONE_PAGE = 20
MEMBER_STEPS = ("start", "note", "resolve")


@login_required
@never_cache
@require_GET
def mine_list(request: HttpRequest) -> HttpResponse:
    """派给我的诉求: open ones by deadline; `?show=all` also those already done."""
    actor = actor_for(request.user)
    show = "all" if request.GET.get("show") == "all" else "open"
    rows = selectors.assigned_to_me(actor=actor, open_only=show == "open").select_related("household")
    page = Paginator(rows, PHONE_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": decorate(page.object_list),
        "show": show,
        "query": "show=all" if show == "all" else "",
        "is_member": bool(actor.member_id),
    }
    return render(request, "demands/member/list.html", context)


def _steps(actor: Actor, demand) -> dict[str, bool]:
    assignee = bool(demand.assignee_kind) and services.is_assignee(actor, demand)
    return {
        "start": assignee and demand.status == DemandStatus.ASSIGNED,
        "resolve": assignee and demand.status in (DemandStatus.ASSIGNED, DemandStatus.IN_PROGRESS),
        "note": assignee and demand.status not in (DemandStatus.MERGED,),
    }


def _render_detail(
    request: HttpRequest,
    actor: Actor,
    demand,
    *,
    failed: tuple[str, object] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    forms = {step: STEP_FORMS[step](initial={"version": demand.version}) for step in MEMBER_STEPS}
    if failed is not None:
        forms[failed[0]] = failed[1]
    steps = _steps(actor, demand)
    context = {
        "demand": demand,
        "row": decorate([demand])[0],
        "steps": steps,
        "forms": forms,
        "error": error,
        "reporter": reporter_of(demand, actor),
        "report_photos": [p for p in demand.photo_rows if p.stage == "report"],
        "result_photos": [p for p in demand.photo_rows if p.stage == "resolution"],
    }
    return render(request, "demands/member/detail.html", context, status=status)


@login_required
@never_cache
@require_GET
def detail(request: HttpRequest, demand_id: int) -> HttpResponse:
    """One demand the member handles (or collected): what, where, by when, what happened so far."""
    actor = actor_for(request.user)
    return _render_detail(request, actor, demand_or_404(actor, demand_id))


@login_required
@require_POST
def act(request: HttpRequest, demand_id: int, step: str) -> HttpResponse:
    """Start, note or resolve, from the member's demand page."""
    if step not in MEMBER_STEPS:
        raise Http404
    actor = actor_for(request.user)
    demand = demand_or_404(actor, demand_id)

    def rerender(**kwargs) -> HttpResponse:
        return _render_detail(request, actor, demand_or_404(actor, demand_id), **kwargs)

    return take_step(request, actor, demand, step, rerender, reverse("demands:mine_detail", args=[demand_id]))


# --- 社情民意收集岗: the opinion-collection post --------------------------------------------------------


def _my_community(actor: Actor):
    """The community the member reports to, or None (not a member, or not reported in yet)."""
    if not actor.member_id:
        return None
    member = Member.objects.select_related("community").only("community").filter(pk=actor.member_id).first()
    return member.community if member else None


def _post_places(community, data) -> dict:
    estates = grid_selectors.estates_and_buildings(community=community)
    estate = picked(estates, data.get("estate"))
    if estate is None and len(estates) == 1:
        estate = estates[0]
    buildings = buildings_of(estate)
    building = picked(buildings, data.get("building"))
    return {
        "community": community,
        "estates": estates,
        "estate": estate,
        "buildings": buildings,
        "building": building,
        "households": households_of(building),
    }


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def post_form(request: HttpRequest) -> HttpResponse:
    """社情民意收集: a member writes down what a resident asks, for a place in their community."""
    actor = actor_for(request.user)
    community = _my_community(actor)
    if community is None:
        return render(request, "demands/member/post_unavailable.html", status=403)
    data = request.POST if request.method == "POST" else request.GET
    places = _post_places(community, data)
    kwargs = {
        "estates": places["estates"],
        "buildings": places["buildings"],
        "households": places["households"],
        "categories": list(selectors.categories()),
    }
    posted = request.method == "POST" and "refresh" not in request.POST
    if posted:
        form = PostForm(request.POST, **kwargs)
    else:
        initial = {k: v for k, v in data.items() if k in PostForm.base_fields}
        if places["estate"]:
            initial["estate"] = places["estate"].pk
        form = PostForm(initial=initial, **kwargs)
    if posted and form.is_valid():
        cd = form.cleaned_data
        area_id, household_id = place_input(places, cd)
        try:
            demand = services.submit_demand(
                actor=actor,
                data=services.DemandInput(
                    description=cd["description"],
                    source=DemandSource.POST,
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
                _("已记下，社区会尽快受理。查询码 %(code)s，可以告诉居民，凭它查进度。")
                % {"code": demand.tracking_code},
            )
            return redirect("demands:member_post")
    context = {**places, "form": form}
    return render(request, "demands/member/post.html", context, status=400 if form.errors else 200)


@login_required
@never_cache
@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """The category the classifier suggests for what has been typed so far (an htmx fragment)."""
    text = request.GET.get("description", "").strip()[:2000]
    category = classify.suggest_category(text) if text else None
    return render(request, "demands/member/_suggestion.html", {"category": category, "text": text})
