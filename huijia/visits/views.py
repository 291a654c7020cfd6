"""HTML screens of household visits (入户走访).

Phone screens under /m/visits/ for members and building heads: my households (我的包户), one
household, and the visit form. The form posts as a plain HTML form without JavaScript; with it,
huijia/static/visits/visits.js keeps the visit on the phone and sends it to POST /api/v1/visits
when there is a network, and the service worker (/m/visits/sw.js) keeps these screens available
offline. Staff screens under /console/visits/: the visits of an estate or community by month, and a
household's file with its fact change history.

Thin on purpose: parse with a form, call a service or a selector, pick a template.
"""

import json
from datetime import date
from itertools import groupby
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, actor_for, restrict
from huijia.core.errors import NotFound, ServiceError
from huijia.core.personal import mask_contact
from huijia.core.photos import photo_response
from huijia.core.web import staff_actor
from huijia.grid.models import Area, AreaKind
from huijia.visits import selectors
from huijia.visits.forms import MonthFilterForm, VisitForm
from huijia.visits.services import record_visit

PHONE_PAGE = 50
CONSOLE_PAGE = 50
MONTHS_BACK = 12
SW_SOURCE = Path(__file__).resolve().parent.parent / "static" / "visits" / "sw.js"


def _household_or_404(actor: Actor, household_id: int, *, visit: bool):
    try:
        if visit:
            return selectors.household_for_visit(actor=actor, household_id=household_id)
        return selectors.household_for_file(actor=actor, household_id=household_id)
    except NotFound:
        raise Http404 from None


def _facts(household) -> list[tuple[str, str, str]]:
    """The household's known facts as (name, label, shown value), the contact number masked."""
    moved_in, occupants = household.moved_in_on, household.occupants
    return [
        ("tenure", _("住房性质"), household.get_tenure_display() if household.tenure else ""),
        ("occupants", _("常住人数"), "" if occupants is None else _("{n}人").format(n=occupants)),
        ("moved_in_on", _("入住日期"), _date(moved_in) if moved_in else ""),
        ("contact_phone", _("联系电话"), mask_contact(household.contact_phone)),
    ]


def _date(day: date) -> str:
    return _("{y}年{m}月{d}日").format(y=day.year, m=day.month, d=day.day)


# --- phone: my households, one household, the visit form -----------------------------------------------


@login_required
@never_cache
def my_households(request: HttpRequest) -> HttpResponse:
    """我的包户: the households the signed-in visitor may visit, with when each was last visited."""
    actor = actor_for(request.user)
    page = Paginator(selectors.households_to_visit(actor=actor), PHONE_PAGE).get_page(request.GET.get("page"))
    groups = [
        {"building": rows[0].building, "households": rows}
        for rows in (list(g) for _id, g in groupby(page.object_list, key=lambda h: h.building_id))
    ]
    visit_link = reverse("visits:form", args=[0])
    house_link = reverse("visits:household", args=[0])
    offline_urls = [
        link.replace("/0/", f"/{h.pk}/") for h in page.object_list[:20] for link in (house_link, visit_link)
    ]
    context = {
        "page": page,
        "groups": groups,
        "offline_urls": [request.get_full_path(), *offline_urls],
        "is_member": bool(actor.member_id),
    }
    return render(request, "visits/my_households.html", context)


@login_required
@never_cache
def household(request: HttpRequest, household_id: int) -> HttpResponse:
    """One household as a visitor sees it: its facts, recent visits and the people who need care."""
    actor = actor_for(request.user)
    home = _household_or_404(actor, household_id, visit=True)
    context = {
        "household": home,
        "facts": _facts(home),
        "visits": selectors.recent_visits(household=home),
        "vulnerable": selectors.active_vulnerable(household=home),
    }
    return render(request, "visits/household.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def visit_form(request: HttpRequest, household_id: int) -> HttpResponse:
    """Record a visit. Only the date is filled in; everything else may stay empty."""
    actor = actor_for(request.user)
    home = _household_or_404(actor, household_id, visit=True)
    if request.method == "POST":
        form = VisitForm(request.POST)
        if form.is_valid():
            data = form.to_input(household_id=home.pk, photos=request.FILES.getlist("photos"))
            try:
                recorded = record_visit(
                    actor=actor, data=data, idempotency_key=form.cleaned_data["idempotency_key"]
                )
            except ServiceError as exc:
                form.add_service_error(exc)
            else:
                if recorded.created:
                    messages.success(request, _("走访已记录，谢谢您！"))
                else:
                    messages.info(request, _("这次走访已经记录过了，没有重复保存。"))
                return redirect("visits:household", household_id=home.pk)
    else:
        form = VisitForm()
    context = {
        "household": home,
        "form": form,
        "known": {name: shown for name, _label, shown in _facts(home)},
        "today": timezone.localdate().isoformat(),
        "api_url": "/api/v1/visits",
    }
    return render(request, "visits/visit_form.html", context, status=400 if form.errors else 200)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker that keeps the visit screens usable offline, served under /m/visits/ so that
    its scope covers them. The static files it keeps are named here, with their current addresses."""
    precache = [
        reverse("visits:mine"),
        static("huijia/site.css"),
        static("vendor/htmx/htmx.min.js"),
        static("visits/visits.js"),
        static("visits/visits.css"),
    ]
    source = f"const PRECACHE = {json.dumps(precache)};\n" + SW_SOURCE.read_text(encoding="utf-8")
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = reverse("visits:mine")
    return response


# --- staff console ---------------------------------------------------------------------------------


def _months(today: date) -> list[str]:
    months, year, month = [], today.year, today.month
    for _i in range(MONTHS_BACK):
        months.append(f"{year}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def _month(value: str) -> date | None:
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except (TypeError, ValueError):
        return None


@login_required
@never_cache
def console_visits(request: HttpRequest) -> HttpResponse:
    """The visits of the actor's estates or community, by month: who visited which household, what
    facts changed and which demands were raised."""
    actor = staff_actor(request)
    today = timezone.localdate()
    estates = list(
        restrict(Area.objects.filter(kind=AreaKind.ESTATE), actor, Perm.VIEW)
        .only("id", "name", "path")
        .order_by("name")[:200]
    )
    params = request.GET.copy()
    params.setdefault("month", f"{today.year}-{today.month:02d}")
    form = MonthFilterForm(params, months=_months(today), estates=estates)
    if not form.is_valid():
        raise Http404
    estate = next((e for e in estates if e.pk == form.cleaned_data["estate"]), None)
    month = _month(form.cleaned_data["month"])
    qs = selectors.visits_for(actor=actor, month=month, area_path=estate.path if estate else None)
    page = Paginator(qs, CONSOLE_PAGE).get_page(request.GET.get("page"))
    selectors.attach_outcomes(list(page.object_list))
    query = params.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "month": month, "estate": estate, "query": query.urlencode()}
    return render(request, "visits/console_visits.html", context)


@login_required
@never_cache
def console_household(request: HttpRequest, household_id: int) -> HttpResponse:
    """A household's file: its facts, who changed which fact when, its visits and vulnerable people."""
    actor = staff_actor(request)
    home = _household_or_404(actor, household_id, visit=False)
    visits = list(selectors.visits_for(actor=actor, household_id=home.pk)[:CONSOLE_PAGE])
    selectors.attach_outcomes(visits)
    context = {
        "household": home,
        "facts": _facts(home),
        "changes": selectors.fact_changes(household=home),
        "visits": visits,
        "vulnerable": selectors.active_vulnerable(household=home),
    }
    return render(request, "visits/console_household.html", context)


@login_required
@never_cache
def photo(request: HttpRequest, photo_id: int) -> FileResponse:
    """A visit photo, to those who may see the visit."""
    try:
        found = selectors.photo_for(actor=actor_for(request.user), photo_id=photo_id)
    except NotFound:
        raise Http404 from None
    return photo_response(found.image)
