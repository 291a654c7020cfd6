"""HTML screens of teams and zones (包干到户, F4): the staff console (teams in force, history,
appointments; propose a plan, see it building by building, adjust it, commit it) and the member's
own team page on the phone.

Thin like the other views: a form parses the request, a service or a selector does the work, and a
ServiceError is shown in plain words at the top of the page (nothing is written when one is raised).
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from huijia.accounts.roles import Perm, Role
from huijia.accounts.scope import Actor, actor_for
from huijia.core.errors import NotFound, ServiceError
from huijia.core.web import int_or_none, staff_actor
from huijia.grid import selectors as grid_selectors
from huijia.grid.models import Area
from huijia.members import team_selectors as selectors
from huijia.members import team_services as services
from huijia.members.team_forms import AppointForm, ChangeForm, CommitForm, ProposeForm, first_error

HISTORY_PAGE = 20
VIEWS = ("current", "history", "appointments")


def _teams_url(community_id: int | None, view: str = "current") -> str:
    params = {"community": community_id or "", "view": view if view != "current" else ""}
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("members:teams") + (f"?{query}" if query else "")


def _plan_url(plan_id: int, building: int | None = None) -> str:
    url = reverse("members:team_plan", args=[plan_id])
    return f"{url}?building={building}" if building else url


# --- the console: teams of a community ------------------------------------------------------------


@login_required
@never_cache
def teams(request):
    """Teams of a community: in force (by estate and building), ended (history), and appointments;
    with the form that proposes a new plan. `?community=<id>&view=current|history|appointments`."""
    actor = staff_actor(request)
    communities = grid_selectors.community_choices(actor=actor)
    chosen = int_or_none(request.GET.get("community"))
    community = next((c for c in communities if c.pk == chosen), None)
    if chosen is not None and community is None:
        raise Http404
    if community is None and communities:
        community = communities[0]
    view = request.GET.get("view") if request.GET.get("view") in VIEWS else "current"
    context = {"communities": communities, "community": community, "view": view, "tabs": _tabs(community)}
    if community is not None:
        context.update(_community_part(request, actor, community, view))
    return render(request, "teams/teams.html", context)


def _tabs(community: Area | None) -> list[tuple[str, str, str]]:
    pk = community.pk if community else None
    return [
        ("current", _("在岗小组"), _teams_url(pk)),
        ("history", _("历史小组"), _teams_url(pk, "history")),
        ("appointments", _("楼栋长与支部书记"), _teams_url(pk, "appointments")),
    ]


def _community_part(request: HttpRequest, actor: Actor, community: Area, view: str) -> dict:
    can_manage = actor.covers(Perm.MANAGE_TEAMS, community.path)
    part: dict = {"can_manage": can_manage}
    if view == "current":
        part["rows"] = list(selectors.teams_for(actor=actor, community_id=community.pk))
        part["plans"] = selectors.plans_for(actor=actor, community=community)
        part["estates"] = grid_selectors.estates_and_buildings(community=community) if can_manage else []
        part["propose_form"] = ProposeForm(initial={"team_size": 3})
    elif view == "history":
        qs = selectors.teams_for(actor=actor, community_id=community.pk, active=False)
        page = Paginator(qs, HISTORY_PAGE).get_page(request.GET.get("page"))
        part.update(
            page=page, rows=list(page.object_list), query=urlencode({"community": community.pk, "view": view})
        )
    else:
        part["appointments"] = selectors.appointments_for(community=community)
    return part


@login_required
@require_POST
def propose(request):
    """Proposes a plan for the community or one estate, then shows it."""
    actor = staff_actor(request)
    form = ProposeForm(request.POST)
    community_id = int_or_none(request.POST.get("community"))
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(_teams_url(community_id))
    try:
        plan = services.propose_teams(
            actor=actor,
            community_id=form.cleaned_data["community"],
            estate_id=form.cleaned_data["estate"],
            team_size=form.cleaned_data["team_size"],
        )
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(_teams_url(community_id))
    messages.success(request, _("方案已生成。请逐栋查看，需要时调整，然后确认生效。"))
    return redirect(_plan_url(plan.pk))


# --- the console: one plan ------------------------------------------------------------------------


@login_required
@never_cache
def plan(request, plan_id: int):
    """A plan building by building: an overview of every building, then the teams of the chosen one
    with their members and households, and the forms that adjust and commit it."""
    actor = staff_actor(request)
    try:
        found = selectors.plan_for(actor=actor, plan_id=plan_id)
    except NotFound:
        raise Http404 from None
    shown = selectors.plan_view(plan=found, building_id=int_or_none(request.GET.get("building")))
    outdated = selectors.plan_outdated(plan=found)
    scope = found.estate or found.community
    context = {
        "view": shown,
        "plan": found,
        "community": found.community,
        "can_manage": actor.covers(Perm.MANAGE_TEAMS, scope.path)
        and found.committed_at is None
        and not outdated,
        "outdated": outdated,
        "version": found.data["version"],
        "teams_url": _teams_url(found.community_id),
    }
    return render(request, "teams/plan.html", context)


@login_required
@require_POST
def change(request, plan_id: int):
    """One adjustment (move a member, move households, choose a leader); back to the same building."""
    actor = staff_actor(request)
    form = ChangeForm(request.POST)
    building = int_or_none(request.POST.get("building"))
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(_plan_url(plan_id, building))
    data = form.cleaned_data
    adjustment = services.PlanChange(
        kind=data["kind"], to_team=data["to_team"], member_id=data["member"], household_ids=data["households"]
    )
    try:
        services.adjust_plan(actor=actor, plan_id=plan_id, version=data["version"], change=adjustment)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已调整。"))
    return redirect(_plan_url(plan_id, building))


@login_required
@require_POST
def commit(request, plan_id: int):
    """Puts the plan in force, then shows the teams in force."""
    actor = staff_actor(request)
    form = CommitForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(_plan_url(plan_id))
    try:
        created = services.commit_plan(actor=actor, plan_id=plan_id, version=form.cleaned_data["version"])
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(_plan_url(plan_id))
    messages.success(request, _("方案已生效：{n}个小组，已通知每位党员。").format(n=len(created)))
    community_id = created[0].community_id if created else None
    return redirect(_teams_url(community_id))


@login_required
@require_POST
def appoint(request):
    """Appoints a member living there as building head or estate branch secretary."""
    actor = staff_actor(request)
    form = AppointForm(request.POST)
    community_id = int_or_none(request.POST.get("community"))
    back = _teams_url(community_id, "appointments")
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(back)
    role = Role.BUILDING if form.cleaned_data["role"] == "building" else Role.ESTATE
    try:
        grant = services.appoint(
            actor=actor, role=role, area_id=form.cleaned_data["area"], member_id=form.cleaned_data["member"]
        )
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("已任命{m}为{a}{r}。").format(m=grant.user.member.name, a=grant.area.name, r=Role(role).label),
        )
    return redirect(back)


# --- the member's own team (phone) ----------------------------------------------------------------


@login_required
@never_cache
def my_team(request):
    """The member's team, teammates (phones masked) and the households they hold or are linked to."""
    try:
        mine = selectors.my_team(actor=actor_for(request.user))
    except NotFound:
        mine = None
    return render(
        request,
        "teams/my_team.html",
        {"mine": mine, "visits_known": selectors.last_visits_available()},
    )
