"""HTML screens of service teams (服务队).

Console (/console/volunteer/teams/, staff): the teams of the communities in the actor's scope (filter by
community and name; dissolved ones on their own tab), a new team, and one team: its members (add from
the community's reporting members, appoint or dismiss leaders, remove), service areas, activities,
record per year (activities, services, hours, people served), editing and dissolving.
Phone (/m/volunteer/teams/, members): the teams I am in, and one team: members, service areas, coming
activities, what is assigned to the team, and the record of this year. A leader gets a link to publish
a team activity (the activities part's console page with ?team=<id>).

Thin: forms parse, huijia.volunteering.teams decides, huijia.volunteering.team_selectors reads.
"""

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
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
from huijia.core.web import int_or_none, staff_actor, step_and_back
from huijia.volunteering import team_selectors as selectors
from huijia.volunteering import teams as services
from huijia.volunteering.forms_teams import AddMemberForm, TeamForm
from huijia.volunteering.models import ServiceTeam

PAGE_SIZE = 30


def _team_or_404(actor: Actor, team_id: int) -> ServiceTeam:
    try:
        return selectors.team_for(actor=actor, team_id=team_id)
    except NotFound:
        raise Http404 from None


# --- console: the list and a new team -------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def teams(request: HttpRequest) -> HttpResponse:
    """The teams in the actor's scope, by community; `?ended=1` lists the dissolved ones."""
    actor = staff_actor(request)
    communities = selectors.team_communities(actor=actor)
    community_id = int_or_none(request.GET.get("community"))
    community = next((c for c in communities if c.pk == community_id), None)
    ended = request.GET.get("ended") == "1"
    query = request.GET.get("q", "").strip()[:20]
    qs = selectors.teams_for(
        actor=actor, community_id=community.pk if community else None, active=not ended, query=query
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    managed = [c for c in communities if actor.covers(Perm.MANAGE_VOLUNTEERING, c.path)]
    params = {"community": community.pk if community else "", "q": query, "ended": "1" if ended else ""}
    context = {
        "page": page,
        "communities": communities,
        "community": community,
        "ended": ended,
        "q": query,
        "can_create": bool(managed),
        "new_community": community if community in managed else (managed[0] if len(managed) == 1 else None),
        "query": urlencode({k: v for k, v in params.items() if v}),
        "base_query": urlencode({k: v for k, v in params.items() if v and k != "ended"}),
    }
    return render(request, "volunteering/teams/list.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def team_new(request: HttpRequest) -> HttpResponse:
    """A new team of a community the actor manages volunteering in."""
    actor = staff_actor(request)
    managed = [
        c for c in selectors.team_communities(actor=actor) if actor.covers(Perm.MANAGE_VOLUNTEERING, c.path)
    ]
    if not managed:
        return render(request, "volunteering/teams/not_allowed.html", status=403)
    raw = request.POST.get("community") if request.method == "POST" else request.GET.get("community")
    community = next(
        (c for c in managed if c.pk == int_or_none(raw)), managed[0] if len(managed) == 1 else None
    )
    form = TeamForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            team = services.create_team(
                actor=actor, community_id=community.pk if community else None, data=form.team_input()
            )
        except ServiceError as exc:
            if "community" in exc.fields:
                error = exc.message
            form.add_service_error(exc)
        else:
            messages.success(request, _("服务队已建立，下一步：添加队员，指定队长。"))
            return redirect("volunteering:team", team.pk)
    context = {"form": form, "communities": managed, "community": community, "error": error}
    return render(request, "volunteering/teams/new.html", context, status=400 if form.errors else 200)


# --- console: one team ------------------------------------------------------------------------------------


def _render_team(
    request: HttpRequest,
    actor: Actor,
    team: ServiceTeam,
    *,
    edit_form: TeamForm | None = None,
    add_form: AddMemberForm | None = None,
    status: int = 200,
) -> HttpResponse:
    manage = selectors.may_manage(actor, team)
    query = request.GET.get("member_q", "").strip()[:20]
    context = {
        "team": team,
        "crew": team.crew,
        "manage": manage,
        "activities": selectors.team_activities(team=team),
        "record": selectors.team_record(team=team),
        "open_demands": selectors.open_demand_count(team=team),
        "edit_form": edit_form or TeamForm(initial=TeamForm.initial_of(team)),
        "add_form": add_form or AddMemberForm(),
        "candidates": selectors.candidates(actor=actor, team=team, query=query) if manage else [],
        "member_q": query,
    }
    return render(request, "volunteering/teams/detail.html", context, status=status)


@login_required
@never_cache
@require_GET
def team(request: HttpRequest, pk: int) -> HttpResponse:
    actor = staff_actor(request)
    return _render_team(request, actor, _team_or_404(actor, pk))


@login_required
@never_cache
@require_GET
def member_picks(request: HttpRequest, pk: int) -> HttpResponse:
    """The add-member picker filtered by name (an htmx fragment)."""
    actor = staff_actor(request)
    team = _team_or_404(actor, pk)
    if not selectors.may_manage(actor, team):
        raise Http404
    query = request.GET.get("member_q", "").strip()[:20]
    context = {
        "team": team,
        "candidates": selectors.candidates(actor=actor, team=team, query=query),
        "member_q": query,
    }
    return render(request, "volunteering/teams/_member_picks.html", context)


@login_required
@require_POST
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = staff_actor(request)
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            services.update_team(actor=actor, team_id=pk, data=form.team_input())
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("volunteering:team", pk)
    return _render_team(request, actor, _team_or_404(actor, pk), edit_form=form, status=400)


@login_required
@require_POST
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    actor = staff_actor(request)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        try:
            row = services.add_team_member(
                actor=actor,
                team_id=pk,
                member_id=form.cleaned_data["member"],
                is_leader=form.cleaned_data["is_leader"],
            )
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("%(name)s已加入服务队，会收到通知。") % {"name": row.member.name})
            return redirect(reverse("volunteering:team", args=[pk]) + "#members")
    return _render_team(request, actor, _team_or_404(actor, pk), add_form=form, status=400)


def _act(request: HttpRequest, pk: int, action: Callable[[Actor], object], done: str) -> HttpResponse:
    """Runs a service for a POST and goes back to the team with its outcome as a message."""
    actor = staff_actor(request)
    back = reverse("volunteering:team", args=[pk]) + "#members"
    return step_and_back(request, lambda: action(actor), done, back)


@login_required
@require_POST
def member_remove(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda a: services.remove_team_member(actor=a, team_id=pk, member_id=member_id),
        _("已移出服务队。"),
    )


@login_required
@require_POST
def member_leader(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    leader = request.POST.get("is_leader") == "1"
    return _act(
        request,
        pk,
        lambda a: services.set_team_leader(actor=a, team_id=pk, member_id=member_id, is_leader=leader),
        _("已设为队长。") if leader else _("已取消队长。"),
    )


@login_required
@require_POST
def team_dissolve(request: HttpRequest, pk: int) -> HttpResponse:
    actor = staff_actor(request)
    try:
        team = services.dissolve_team(actor=actor, team_id=pk)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("volunteering:team", pk)
    messages.success(request, _("服务队“%(name)s”已解散，它的服务记录仍然保留。") % {"name": team.name})
    return redirect(reverse("volunteering:teams") + "?ended=1")


# --- phone: my teams ------------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def my_teams(request: HttpRequest) -> HttpResponse:
    """The service teams I am in, with my role in each."""
    actor = actor_for(request.user)
    context = {"rows": selectors.my_teams(actor=actor), "is_member": bool(actor.member_id)}
    return render(request, "volunteering/teams/mine.html", context)


@login_required
@never_cache
@require_GET
def my_team(request: HttpRequest, pk: int) -> HttpResponse:
    """One of my teams on the phone: who is in it, what it does, what is coming, this year's record."""
    actor = actor_for(request.user)
    team = _team_or_404(actor, pk)
    year = timezone.localdate().year
    record = next((r for r in selectors.team_record(team=team) if r.year == year), None)
    context = {
        "team": team,
        "crew": team.crew,
        "me": actor.member_id,
        "leads": selectors.leads(actor, team) and team.ended_at is None,
        "upcoming": selectors.upcoming_activities(team=team),
        "open_demands": selectors.open_demand_count(team=team),
        "record": record,
        "year": year,
    }
    return render(request, "volunteering/teams/phone_detail.html", context)
