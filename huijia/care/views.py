"""HTML screens of care (结对帮扶, F10) and of the monthly ledgers (台账).

Console (staff, estate secretaries): the file of vulnerable households of an estate or community (add,
end), pairing a household with members, ending a pairing, the overdue list, and the ledger downloads.
Phone (members): my pairings with when each household is next due.
"""

import tempfile
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, actor_for
from huijia.care import ledgers as care_ledgers
from huijia.care import selectors, services
from huijia.care.forms import AreaForm, LedgerForm, PairingForm, VulnerableForm
from huijia.core.errors import NotFound, ServiceError
from huijia.core.ledger import ledger_estates
from huijia.core.web import staff_actor
from huijia.grid.models import Area, Household
from huijia.visits import ledgers as visit_ledgers


def _area(request: HttpRequest, actor: Actor, source=None) -> tuple[list[Area], Area | None]:
    """The chosen community or estate (the first one by default); an out-of-scope id is a 404."""
    areas = selectors.care_areas(actor=actor)
    form = AreaForm(source if source is not None else request.GET, areas=areas)
    if not form.is_valid():
        raise Http404
    chosen = form.cleaned_data.get("area")
    if chosen is None:
        return areas, (areas[0] if areas else None)
    area = next((a for a in areas if a.pk == chosen), None)
    if area is None:
        raise Http404
    return areas, area


def _may_manage(actor: Actor, area: Area | None) -> bool:
    return area is not None and actor.covers(Perm.MANAGE_CARE, area.path)


def _back_to_file(request: HttpRequest) -> str:
    area = request.POST.get("area") or request.GET.get("area")
    url = reverse("care:file")
    return f"{url}?area={int(area)}" if area and area.isdigit() else url


def _households_under(area: Area) -> list[Household]:
    qs = (
        Household.objects.filter(building__path__startswith=area.path)
        .select_related("building", "building__parent")
        .only("id", "unit", "floor", "room", "building__id", "building__name", "building__parent__name")
    )
    return sorted(qs, key=selectors.household_sort_key)


@login_required
@never_cache
@require_GET
def care_file(request: HttpRequest) -> HttpResponse:
    """The vulnerable households of an estate or community, with their pairings; add and end here."""
    actor = staff_actor(request)
    areas, area = _area(request, actor)
    files = selectors.vulnerable_file(actor=actor, area=area) if area else []
    manage = _may_manage(actor, area)
    context = {
        "areas": areas,
        "area": area,
        "files": files,
        "can_manage": manage,
        "form": VulnerableForm(),
        "households": _households_under(area) if manage else [],
        "paired": sum(1 for f in files if f.pairing),
    }
    return render(request, "care/file.html", context)


def _act(request: HttpRequest, action: Callable[[Actor], object], done: str) -> HttpResponse:
    actor = staff_actor(request)
    try:
        action(actor)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(_back_to_file(request))


@login_required
@require_POST
def vulnerable_add(request: HttpRequest) -> HttpResponse:
    form = VulnerableForm(request.POST)
    if not form.is_valid():
        messages.error(request, next(iter(form.errors.values()))[0])
        return redirect(_back_to_file(request))
    data = form.cleaned_data
    return _act(
        request,
        lambda actor: services.add_vulnerable(
            actor=actor,
            household_id=data["household"],
            kind=data["kind"],
            name=data["name"],
            note=data["note"],
        ),
        _("已登记到困难群体档案。"),
    )


@login_required
@require_POST
def vulnerable_end(request: HttpRequest, person_id: int) -> HttpResponse:
    return _act(
        request,
        lambda actor: services.end_vulnerable(actor=actor, person_id=person_id),
        _("已从在档名单中移出，记录仍保留。"),
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def pairing_new(request: HttpRequest, household_id: int) -> HttpResponse:
    """Pair a household on the file with one or several members (neighbours listed first)."""
    actor = staff_actor(request)
    try:
        household = selectors.household_for_care(
            actor=actor, household_id=household_id, perm=Perm.MANAGE_CARE
        )
    except NotFound:
        raise Http404 from None
    candidates = selectors.candidate_members(actor=actor, household=household)
    form = PairingForm(request.POST or None, members=candidates, initial={"cadence_days": 30})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.create_pairing(
                actor=actor,
                household_id=household.pk,
                member_ids=data["members"],
                cadence_days=data["cadence_days"],
                started_on=data["started_on"],
                note=data["note"],
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("结对已建立，结对党员已收到通知。"))
            return redirect(_back_to_file(request))
    people = selectors.vulnerable_people(actor=actor).filter(household=household)
    context = {
        "household": household,
        "place": selectors.place(household),
        "people": list(people),
        "form": form,
        "candidates": candidates,
        "chosen": {int(v) for v in form["members"].value() or [] if str(v).isdigit()},
        "area": request.GET.get("area", ""),
    }
    return render(request, "care/pair.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def pairing_end(request: HttpRequest, pairing_id: int) -> HttpResponse:
    return _act(
        request,
        lambda actor: services.end_pairing(actor=actor, pairing_id=pairing_id),
        _("结对已结束。"),
    )


@login_required
@never_cache
@require_GET
def overdue(request: HttpRequest) -> HttpResponse:
    """Pairings whose household has not been visited within its cadence, most overdue first."""
    actor = staff_actor(request)
    areas, area = _area(request, actor)
    today = timezone.localdate()
    rows = selectors.overdue_pairings(actor=actor, area=area, today=today) if area else []
    context = {"areas": areas, "area": area, "rows": rows, "today": today}
    return render(request, "care/overdue.html", context)


# --- ledgers --------------------------------------------------------------------------------------


def _last_month() -> str:
    first = timezone.localdate().replace(day=1)
    previous = (
        first.replace(year=first.year - 1, month=12)
        if first.month == 1
        else first.replace(month=first.month - 1)
    )
    return previous.strftime("%Y-%m")


@login_required
@never_cache
@require_GET
def ledgers(request: HttpRequest) -> HttpResponse:
    """The ledger downloads: an estate and a month, then the visit ledger or the care ledger."""
    actor = staff_actor(request)
    estates = ledger_estates(actor=actor)
    form = LedgerForm(initial={"month": _last_month()}, estates=estates)
    return render(
        request, "care/ledgers.html", {"form": form, "estates": estates, "last_month": _last_month()}
    )


def _ledger(request: HttpRequest, export, name: str) -> HttpResponse:
    actor = staff_actor(request)
    estates = ledger_estates(actor=actor)
    form = LedgerForm(request.POST, estates=estates)
    if not form.is_valid():
        if "estate" in form.errors and request.POST.get("estate"):
            raise Http404
        context = {"form": form, "estates": estates, "last_month": _last_month()}
        return render(request, "care/ledgers.html", context, status=400)
    dest = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        estate, _count = export(
            actor=actor, estate_id=form.cleaned_data["estate"], month=form.cleaned_data["month"], dest=dest
        )
    except NotFound:
        dest.close()
        raise Http404 from None
    except ServiceError as exc:
        dest.close()
        form.add_error(None, exc.message)
        context = {"form": form, "estates": estates, "last_month": _last_month()}
        return render(request, "care/ledgers.html", context, status=exc.status)
    dest.seek(0)
    filename = f"{estate.name}{name}（{form.cleaned_data['month']}）.xlsx"
    return FileResponse(dest, as_attachment=True, filename=filename)


@login_required
@require_POST
def ledger_visits(request: HttpRequest) -> HttpResponse:
    return _ledger(request, visit_ledgers.export_visit_ledger, _("入户走访台账"))


@login_required
@require_POST
def ledger_care(request: HttpRequest) -> HttpResponse:
    return _ledger(request, care_ledgers.export_care_ledger, _("结对帮扶台账"))


# --- phone ----------------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """A member's own pairings: the household, how often, the last visit and when the next is due."""
    actor = actor_for(request.user)
    today = timezone.localdate()
    return render(
        request, "care/mine.html", {"dues": selectors.my_pairings(actor=actor, today=today), "today": today}
    )
