"""HTML screens of unit–community pairings (结对共建, F3) and a work unit's view (console, desktop first,
usable on a phone):

- /console/volunteer/pairings/: the pairings the actor sees, filtered by state and name; a new
  pairing (organisation department, street, community); one pairing with its commitments and joint
  activities (participants, hours, people served), and ending it;
- /console/volunteer/coverage/: which communities of a city, district or street have no active
  partner and which work units none, with counts per district or street;
- /console/volunteer/unit/: for a work unit's organisers, their own members' community service this
  year (member, community, services, hours) and the unit's pairings.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor
from huijia.core.errors import NotFound, ServiceError
from huijia.core.web import int_or_none, staff_actor
from huijia.grid.models import Area
from huijia.volunteering import pairing_selectors as selectors
from huijia.volunteering import pairings as services
from huijia.volunteering.forms_pairings import EndPairingForm, PairingFilterForm, PairingForm
from huijia.volunteering.pairing_selectors import PairingState
from huijia.volunteering.records import minimum_units

PAGE_SIZE = 30
UNIT_PAGE_SIZE = 50
YEARS_BACK = 4


def _may_pair(actor: Actor) -> bool:
    return actor.is_superuser or bool(actor.paths(Perm.MANAGE_PAIRINGS))


@login_required
@never_cache
@require_GET
def pairings(request: HttpRequest) -> HttpResponse:
    """结对共建: the pairings the actor sees, active ones by default."""
    actor = staff_actor(request)
    form = PairingFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    state = data.get("state") or PairingState.ACTIVE
    rows = selectors.pairings_for(
        actor=actor,
        community_id=data.get("community"),
        state=None if state == "all" else state,
        query=data.get("q") or "",
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode(
        {k: v for k, v in (("state", state), ("q", data.get("q")), ("community", data.get("community"))) if v}
    )
    context = {
        "page": page,
        "rows": selectors.decorate(page.object_list),
        "state": state,
        "states": [*PairingState.LABELS.items(), ("all", _("全部"))],
        "q": data.get("q") or "",
        "community": data.get("community"),
        "query": query,
        "can_pair": _may_pair(actor),
    }
    return render(request, "volunteering/pairings/list.html", context)


def _community_choices(communities) -> list[tuple[int, str]]:
    return [
        (c.pk, f"{c.street_name} · {c.name}" + ("" if c.paired else _("（未结对）"))) for c in communities
    ]


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def pairing_new(request: HttpRequest) -> HttpResponse:
    """A new pairing: a community in the actor's reach, a work unit, the period and commitments."""
    actor = staff_actor(request)
    if not _may_pair(actor):
        raise PermissionDenied
    communities = selectors.pairable_communities(actor)
    choices = _community_choices(communities)
    if request.method == "POST":
        form = PairingForm(request.POST, communities=choices)
        if form.is_valid():
            d = form.cleaned_data
            try:
                pairing = services.create_pairing(
                    actor=actor,
                    data=services.PairingInput(
                        work_unit_id=d["work_unit"],
                        community_id=d["community"],
                        starts_on=d["starts_on"],
                        ends_on=d.get("ends_on"),
                        commitments=d.get("commitments") or "",
                    ),
                )
            except NotFound:
                raise Http404 from None
            except ServiceError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("已结对，结对单位会收到通知。"))
                return redirect("volunteering:pairing", pairing.pk)
        chosen_unit = int_or_none(request.POST.get("work_unit"))
        status = 400
    else:
        initial = {"starts_on": timezone.localdate(), "community": int_or_none(request.GET.get("community"))}
        chosen_unit = int_or_none(request.GET.get("work_unit"))
        initial["work_unit"] = chosen_unit
        form = PairingForm(initial=initial, communities=choices)
        status = 200
    context = {
        "form": form,
        "units": selectors.units_to_pair(include=chosen_unit),
        "chosen_unit": chosen_unit,
        "has_communities": bool(communities),
    }
    return render(request, "volunteering/pairings/form.html", context, status=status)


@login_required
@never_cache
@require_GET
def pairing_unit_options(request: HttpRequest) -> HttpResponse:
    """Work units whose name contains what was typed, as <option>s (an htmx fragment)."""
    actor = staff_actor(request)
    if not _may_pair(actor):
        raise PermissionDenied
    query = request.GET.get("unit_q", "").strip()[:40]
    context = {"units": selectors.units_to_pair(query), "unit_q": query, "chosen_unit": None}
    return render(request, "volunteering/pairings/_unit_options.html", context)


def _render_pairing(request: HttpRequest, actor: Actor, pairing_id: int, form=None, status: int = 200):
    try:
        pairing = selectors.pairing_for(actor=actor, pairing_id=pairing_id)
    except NotFound:
        raise Http404 from None
    activities, total = selectors.joint_activities(pairing)
    can_end = pairing.state != PairingState.ENDED and actor.covers(
        Perm.MANAGE_PAIRINGS, pairing.community.path
    )
    context = {
        "pairing": pairing,
        "activities": activities,
        "total": total,
        "can_end": can_end,
        "end_form": form or EndPairingForm(),
        "is_unit": pairing.work_unit_id in actor.work_units(Perm.VIEW),
    }
    return render(request, "volunteering/pairings/detail.html", context, status=status)


@login_required
@never_cache
@require_GET
def pairing(request: HttpRequest, pairing_id: int) -> HttpResponse:
    """One pairing: period, commitments, and the joint activities that count for both sides."""
    return _render_pairing(request, staff_actor(request), pairing_id)


@login_required
@require_POST
def pairing_end(request: HttpRequest, pairing_id: int) -> HttpResponse:
    """解除结对, with an optional reason told to the unit."""
    actor = staff_actor(request)
    form = EndPairingForm(request.POST)
    if form.is_valid():
        try:
            services.end_pairing(actor=actor, pairing_id=pairing_id, reason=form.cleaned_data["reason"])
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            form.add_service_error(exc)
            return _render_pairing(request, actor, pairing_id, form, status=exc.status)
        messages.success(request, _("已解除结对，结对单位会收到通知。"))
        return redirect("volunteering:pairing", pairing_id)
    return _render_pairing(request, actor, pairing_id, form, status=400)


@login_required
@never_cache
@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    """结对覆盖: communities without a partner and work units without one, in the chosen area."""
    actor = staff_actor(request)
    tops = selectors.coverage_areas(actor)
    if not tops and not actor.is_superuser:
        raise PermissionDenied
    try:
        data = selectors.coverage(actor=actor, area_id=int_or_none(request.GET.get("area")))
    except NotFound:
        raise Http404 from None
    context = {"cov": data, "tops": tops, "trail": _trail(data.area, tops), "can_pair": _may_pair(actor)}
    return render(request, "volunteering/pairings/coverage.html", context)


def _trail(area: Area, tops: list[Area]) -> list[Area]:
    """The chain from the actor's top area down to `area`'s parent, for the breadcrumb."""
    top_paths = [t.path for t in tops]
    ids = area.ancestor_ids()[:-1]
    chain = list(Area.objects.filter(pk__in=ids).only("id", "name", "path").order_by("depth"))
    return [a for a in chain if any(a.path.startswith(p) for p in top_paths)]


@login_required
@never_cache
@require_GET
def unit_service(request: HttpRequest) -> HttpResponse:
    """本单位党员社区服务: a work unit's organisers see their own members' service in their
    communities, by year; never another unit's members."""
    actor = staff_actor(request)
    units = minimum_units(actor=actor)
    if not units and not actor.is_superuser:
        raise PermissionDenied
    chosen = int_or_none(request.GET.get("unit")) or (units[0].pk if units else None)
    if chosen is None:
        raise Http404
    this_year = timezone.localdate().year
    year = int_or_none(request.GET.get("year")) or this_year
    if not this_year - YEARS_BACK <= year <= this_year:
        year = this_year
    try:
        data = selectors.unit_service(actor=actor, work_unit_id=chosen, year=year)
    except NotFound:
        raise Http404 from None
    page = Paginator(data.rows, UNIT_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "data": data,
        "page": page,
        "units": units,
        "years": list(range(this_year, this_year - YEARS_BACK - 1, -1)),
        "query": f"unit={chosen}&year={year}",
    }
    return render(request, "volunteering/pairings/unit_service.html", context)
