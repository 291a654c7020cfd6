"""HTML screens of door-knocking campaigns (敲门行动).

Console (staff): the list, the start form with a live count of the households it will reach, the live
progress page (refreshed by htmx polling), close, and the Excel export. Phone (members, and anyone who
may record): my open campaigns, my share of one campaign door by door, and the outcome form.
Thin: forms parse, services and selectors do the work, a ServiceError is shown in plain words.
"""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, actor_for, restrict
from huijia.core.errors import NotFound, ServiceError
from huijia.core.web import int_or_none, staff_actor
from huijia.grid import selectors as grid_selectors
from huijia.grid.models import Area, AreaKind
from huijia.visits import campaign_selectors as selectors
from huijia.visits import campaign_services as services
from huijia.visits.campaign_forms import SERVICE_FIELDS, CampaignForm, OutcomeForm
from huijia.visits.models import Campaign, Outcome

PAGE_SIZE = 20
SHARE_PAGE_SIZE = 60
POLL_SECONDS = 15


def _show_errors(form, exc: ServiceError) -> None:
    placed = False
    for name, errors in exc.fields.items():
        field = SERVICE_FIELDS.get(name, name)
        if field in form.fields:
            for error in errors:
                form.add_error(field, error)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _managed_communities(actor: Actor) -> list[Area]:
    qs = Area.objects.filter(kind=AreaKind.COMMUNITY).only("id", "name", "path")
    return list(restrict(qs, actor, Perm.MANAGE_CAMPAIGNS).order_by("name"))


def can_manage(actor: Actor, campaign: Campaign) -> bool:
    return actor.covers(Perm.MANAGE_CAMPAIGNS, campaign.community.path)


def can_export(actor: Actor, campaign: Campaign) -> bool:
    return actor.covers(Perm.EXPORT, campaign.community.path)


# --- console --------------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Campaigns the staff member sees, newest first, with the progress of the part they see."""
    actor = staff_actor(request)
    page = Paginator(selectors.campaigns_for(actor=actor), PAGE_SIZE).get_page(request.GET.get("page"))
    campaigns = selectors.attach_counts(actor=actor, campaigns=list(page.object_list))
    context = {
        "page": page,
        "campaigns": campaigns,
        "can_start": actor.is_superuser or bool(actor.paths(Perm.MANAGE_CAMPAIGNS)),
    }
    return render(request, "campaigns/list.html", context)


def _area_choices(community: Area | None) -> list[tuple[Area, str]]:
    if community is None:
        return []
    choices = []
    for estate in grid_selectors.estates_and_buildings(community=community):
        choices.append((estate, _("{e}（整个小区）").format(e=estate.name)))
        choices += [(b, f"{estate.name} {b.name}") for b in estate.children.all()]
    return choices


def _campaign_form(request: HttpRequest, actor: Actor, data=None) -> tuple[CampaignForm, Area | None]:
    communities = _managed_communities(actor)
    if not communities:
        raise PermissionDenied
    source = data if data is not None else request.GET
    chosen = int_or_none(source.get("community")) or communities[0].pk
    community = next((c for c in communities if c.pk == chosen), None)
    if community is None:
        raise Http404
    initial = {"community": community.pk}
    form = CampaignForm(data, initial=initial, communities=communities, areas=_area_choices(community))
    return form, community


def _selection(form: CampaignForm) -> services.Selection:
    data = form.cleaned_data
    return services.Selection(
        area_id=data.get("area"),
        who=data.get("who") or services.Who.ALL,
        min_age=data.get("min_age") or 60,
        vulnerable_kind=data.get("vulnerable_kind") or "",
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    """Start a campaign: a name, the households by filter, the questions, an optional due date."""
    actor = staff_actor(request)
    form, community = _campaign_form(request, actor, request.POST if request.method == "POST" else None)
    if request.method == "POST" and request.POST.get("reload") != "1" and form.is_valid():
        try:
            campaign = services.start_campaign(
                actor=actor,
                community_id=form.cleaned_data["community"],
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                questions=form.question_list,
                selection=_selection(form),
                due_on=form.cleaned_data["due_on"],
            )
        except ServiceError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, _("敲门行动已发起，各小组已收到通知。"))
            return redirect("campaigns:detail", campaign.pk)
    if request.method == "POST" and request.POST.get("reload") == "1":
        form.errors.clear()
    status = 400 if form.errors else 200
    return render(request, "campaigns/new.html", {"form": form, "community": community}, status=status)


@login_required
@never_cache
@require_GET
def campaign_count(request: HttpRequest) -> HttpResponse:
    """The live preview of the start form: how many households the filter picks now."""
    actor = staff_actor(request)
    form, community = _campaign_form(request, actor, request.GET)
    count, error = None, ""
    if form.is_valid():
        try:
            count = services.count_selected(
                actor=actor, community_id=community.pk, selection=_selection(form)
            )
        except ServiceError as exc:
            error = exc.message
    return render(request, "campaigns/_count.html", {"count": count, "error": error})


def _progress_context(actor: Actor, campaign_id: int) -> dict:
    try:
        progress = selectors.campaign_progress(actor=actor, campaign_id=campaign_id)
    except NotFound:
        raise Http404 from None
    campaign = progress.campaign
    return {
        "campaign": campaign,
        "progress": progress,
        "selection_label": services.selection_label(campaign.selection),
        "can_manage": can_manage(actor, campaign),
        "can_export": can_export(actor, campaign),
        "poll": POLL_SECONDS if campaign.closed_at is None else None,
        "outcomes": list(Outcome),
    }


@login_required
@never_cache
@require_GET
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The live progress of a campaign by team and by building; htmx asks for #progress alone."""
    actor = staff_actor(request)
    context = _progress_context(actor, campaign_id)
    template = "campaigns/detail.html"
    if request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "progress":
        template = "campaigns/_progress.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_POST
def campaign_close(request: HttpRequest, campaign_id: int) -> HttpResponse:
    actor = staff_actor(request)
    try:
        services.close_campaign(actor=actor, campaign_id=campaign_id)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:detail", campaign_id)
    messages.success(request, _("敲门行动已结束，结果已保留，可以导出。"))
    return redirect("campaigns:detail", campaign_id)


@login_required
@require_POST
def campaign_export(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The result as Excel, one row per household (audited)."""
    actor = staff_actor(request)
    dest = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        campaign, _count = services.export_campaign(actor=actor, campaign_id=campaign_id, dest=dest)
    except NotFound:
        dest.close()
        raise Http404 from None
    except ServiceError as exc:
        dest.close()
        messages.error(request, exc.message)
        return redirect("campaigns:detail", campaign_id)
    dest.seek(0)
    return FileResponse(dest, as_attachment=True, filename=_("{n}走访结果.xlsx").format(n=campaign.name))


# --- phone ----------------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def my_campaigns(request: HttpRequest) -> HttpResponse:
    """The open campaigns with doors for me to knock on, and how many are left."""
    actor = actor_for(request.user)
    return render(request, "campaigns/mine.html", {"campaigns": selectors.my_campaigns(actor=actor)})


@login_required
@never_cache
@require_GET
def share(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """My share of one campaign, door by door (a building filter and 'not yet visited' for big shares)."""
    actor = actor_for(request.user)
    try:
        campaign = selectors.campaign_for(actor=actor, campaign_id=campaign_id)
    except NotFound:
        raise Http404 from None
    buildings = selectors.share_buildings(actor=actor, campaign_id=campaign.pk)
    if not buildings:
        raise Http404
    building_id = int_or_none(request.GET.get("building"))
    if building_id is not None and building_id not in {b[0] for b in buildings}:
        raise Http404
    pending_only = request.GET.get("pending") == "1"
    rows = selectors.share_for(
        actor=actor, campaign_id=campaign.pk, building_id=building_id, pending_only=pending_only
    )
    page = Paginator(rows, SHARE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = "&".join(
        part
        for part in (f"building={building_id}" if building_id else "", "pending=1" if pending_only else "")
        if part
    )
    context = {
        "campaign": campaign,
        "buildings": buildings,
        "building_id": building_id,
        "pending_only": pending_only,
        "page": page,
        "entries": list(page.object_list),
        "query": query,
        "total": sum(b[2] for b in buildings),
        "pending": sum(b[3] for b in buildings),
    }
    return render(request, "campaigns/share.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def record(request: HttpRequest, campaign_id: int, household_id: int) -> HttpResponse:
    """The outcome of one door: reached, not at home, refused or done, the answers and a note."""
    actor = actor_for(request.user)
    try:
        entry = services.entry_to_record(actor=actor, campaign_id=campaign_id, household_id=household_id)
    except NotFound:
        raise Http404 from None
    campaign = entry.campaign
    if request.method == "POST":
        form = OutcomeForm(request.POST, questions=campaign.questions)
        if form.is_valid():
            try:
                services.record_outcome(
                    actor=actor,
                    campaign_id=campaign.pk,
                    household_id=household_id,
                    outcome=form.cleaned_data["outcome"],
                    answers=form.answers(),
                    note=form.cleaned_data["note"],
                )
            except ServiceError as exc:
                _show_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("{h}已登记。").format(h=f"{entry.household.building.name} {entry.household.label}"),
                )
                return redirect(_back(request, campaign.pk))
    else:
        initial = {"outcome": entry.outcome if entry.outcome != Outcome.PENDING else None, "note": entry.note}
        for index, question in enumerate(campaign.questions):
            initial[f"answer_{index}"] = entry.answers.get(question, "")
        form = OutcomeForm(initial=initial, questions=campaign.questions)
    context = {"entry": entry, "campaign": campaign, "form": form, "back": _back(request, campaign.pk)}
    return render(request, "campaigns/record.html", context, status=400 if form.errors else 200)


def _back(request: HttpRequest, campaign_id: int) -> str:
    url = reverse("campaigns:share", args=[campaign_id])
    building = int_or_none(request.GET.get("building"))
    return f"{url}?building={building}" if building else url
