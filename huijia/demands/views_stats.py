"""The three rates page (诉求三率) of the console: /console/demands/rates/.

Staff pick an area (estate up to city, within their roles) and a period; the page shows the response,
resolution and satisfaction rates with the counts behind them and the average times, a table comparing
the child areas and, over several months, a chart by month. It is a working view for staff, not a
ranking. Every figure comes from huijia.demands.rates (the rollup rows), never from the demand table.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from huijia.core.errors import InvalidInput, NotFound
from huijia.core.web import staff_actor
from huijia.demands import rates
from huijia.grid.models import Area, AreaKind

DASH = "—"
TEMPLATE = "demands/stats/rates.html"


def percent(value: float | None) -> str:
    """0.9234 -> "92.3%"; no denominator -> "—"."""
    return DASH if value is None else f"{value * 100:.1f}%"


def duration(hours: float | None) -> str:
    """Hours as people say them: "3.5 小时" up to two days, "4.2 天" beyond; None -> "—"."""
    if hours is None:
        return DASH
    if hours < 48:
        return _("%(n)s 小时") % {"n": f"{hours:.1f}"}
    return _("%(n)s 天") % {"n": f"{hours / 24:.1f}"}


@dataclass(frozen=True)
class Shown:
    """Rates formatted for the page; the raw values stay reachable for sorting."""

    rates: rates.Rates

    @property
    def response(self) -> str:
        return percent(self.rates.response_rate)

    @property
    def on_time_response(self) -> str:
        return percent(self.rates.on_time_response_rate)

    @property
    def resolution(self) -> str:
        return percent(self.rates.resolution_rate)

    @property
    def on_time_resolution(self) -> str:
        return percent(self.rates.on_time_resolution_rate)

    @property
    def satisfaction(self) -> str:
        return percent(self.rates.satisfaction_rate)

    @property
    def respond_time(self) -> str:
        return duration(self.rates.avg_respond_hours)

    @property
    def resolve_time(self) -> str:
        return duration(self.rates.avg_resolve_hours)


@dataclass(frozen=True)
class Row:
    area: Area | None  # None: the demands placed on the chosen area itself, in none of its children
    shown: Shown


def _area(request: HttpRequest, actor, roots: list[Area]) -> Area | None:
    raw = request.GET.get("area")
    if not raw:
        return roots[0] if roots else None
    try:
        return rates.rates_visible(actor, raw)
    except NotFound:
        raise Http404 from None


def _options(picker: rates.Picker, chosen: Area | None) -> list[tuple[int, str]]:
    """(id, label) of the picker's areas, indented by level under the highest one listed."""
    areas = list(picker.areas)
    if chosen is not None and all(a.pk != chosen.pk for a in areas):
        areas.append(chosen)
    top = min((a.depth for a in areas), default=0)
    return [(a.pk, "\u3000" * (a.depth - top) + a.name) for a in areas]


def _period_query(period: rates.Period) -> str:
    if period.key == "custom":
        return urlencode({"period": "custom", "start": period.start, "end": period.end})
    return urlencode({"period": period.key})


def _chart(months: list[rates.MonthRates]) -> dict:
    def pct(value):
        return None if value is None else round(value * 100, 1)

    return {
        "months": [f"{m.month.year}-{m.month.month:02d}" for m in months],
        "received": [m.rates.received for m in months],
        "resolved": [m.rates.resolved for m in months],
        "response": [pct(m.rates.response_rate) for m in months],
        "resolution": [pct(m.rates.resolution_rate) for m in months],
        "satisfaction": [pct(m.rates.satisfaction_rate) for m in months],
        "names": {
            "received": _("收到"),
            "resolved": _("办结"),
            "response": _("响应率"),
            "resolution": _("解决率"),
            "satisfaction": _("满意率"),
            "count": _("件数"),
            "rate": _("百分比"),
        },
    }


def _figures(actor, area: Area, period: rates.Period, roots: list[Area]) -> dict:
    children = rates.child_areas(area.pk)
    compared = rates.compare_children(area.pk, period.start, period.end, children=children)
    rows = [Row(c.area, Shown(c.rates)) for c in compared.children]
    if compared.placed_on_area is not None:
        rows.append(Row(None, Shown(compared.placed_on_area)))
    chain = rates.area_chain(actor, area)
    picker = rates.rate_areas(actor, chain, children, roots)
    months = rates.rates_by_month(area.pk, period.start, period.end) if period.spans_months else []
    return {
        "total": Shown(compared.total),
        "rows": rows,
        "children_kind": AreaKind(children[0].kind).label if children else "",
        "chain": chain,
        "options": _options(picker, area),
        "picker_complete": picker.complete,
        "period_query": _period_query(period),
        "months": [(m.month, Shown(m.rates)) for m in months],
        "chart": _chart(months) if months else None,
    }


def _period(request: HttpRequest) -> rates.Period:
    get = request.GET
    return rates.resolve_period(get.get("period"), get.get("start"), get.get("end"))


def _refused(request: HttpRequest, context: dict, exc: InvalidInput) -> HttpResponse:
    """The page with the form as it was sent and a plain message of what is wrong with it."""
    context["error"] = exc.message
    return render(request, TEMPLATE, context, status=400)


@login_required
@never_cache
@require_GET
def rates_page(request: HttpRequest) -> HttpResponse:
    """The three rates of one area and period, the child areas side by side, and a chart by month."""
    actor = staff_actor(request)
    roots = rates.rate_roots(actor)
    form = {
        "period": request.GET.get("period") or rates.DEFAULT_PERIOD,
        "start": request.GET.get("start", ""),
        "end": request.GET.get("end", ""),
    }
    context = {"periods": rates.PERIODS, "form": form, "options": _options(rates.Picker(roots, False), None)}
    try:
        area = _area(request, actor, roots)
    except InvalidInput as exc:  # a building: its estate has the rates
        return _refused(request, context, exc)
    if area is None:  # no area with rates in the actor's scope (a building head, a work unit)
        return render(request, TEMPLATE, context)
    context["area"] = area
    try:
        period = _period(request)
    except InvalidInput as exc:
        chain = rates.area_chain(actor, area)
        picker = rates.rate_areas(actor, chain, rates.child_areas(area.pk), roots)
        context["options"] = _options(picker, area)
        return _refused(request, context, exc)
    form["period"] = period.key
    context |= {"period": period, **_figures(actor, area, period, roots)}
    return render(request, TEMPLATE, context)
