"""JSON API of the three rates (see huijia/demands/rates.py for the definitions).

GET /api/v1/rates, /api/v1/rates/children and /api/v1/rates/months: the response, resolution and
satisfaction rates of an area (estate up to city) for a period, of its child areas, and month by
month. Rates are fractions between 0 and 1, null when their denominator is 0. Under /rates rather
than /demands/rates so that nothing collides with /demands/{id}.
"""

from datetime import date

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from huijia.api import actor, errors
from huijia.demands import rates
from huijia.grid.models import Area, AreaKind

router = Router(tags=["demands"])


class AreaRef(Schema):
    id: int
    name: str
    kind: str
    kind_label: str


def _area(area: Area) -> dict:
    return {"id": area.pk, "name": area.name, "kind": area.kind, "kind_label": AreaKind(area.kind).label}


class Figures(Schema):
    received: int = Field(description="收到：demands received in the period")
    accepted: int = Field(description="受理：received − declined")
    responded: int = Field(description="已响应：accepted, declined, assigned, escalated or merged")
    responded_in_time: int
    declined: int
    resolved: int
    resolved_in_time: int
    rated: int
    satisfied: int = Field(description="满意 + 基本满意")
    response_rate: float | None = Field(description="响应率 = responded / received")
    on_time_response_rate: float | None = Field(description="按时响应率 = responded_in_time / responded")
    resolution_rate: float | None = Field(description="解决率 = resolved / accepted")
    on_time_resolution_rate: float | None = Field(description="按时办结率 = resolved_in_time / resolved")
    satisfaction_rate: float | None = Field(description="满意率 = satisfied / rated")
    avg_respond_hours: float | None = Field(description="平均响应用时（小时）")
    avg_resolve_hours: float | None = Field(description="平均办结用时（小时）")


def _figures(r: rates.Rates) -> dict:
    def ratio(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    return {
        "received": r.received,
        "accepted": r.accepted,
        "responded": r.responded,
        "responded_in_time": r.responded_in_time,
        "declined": r.declined,
        "resolved": r.resolved,
        "resolved_in_time": r.resolved_in_time,
        "rated": r.rated,
        "satisfied": r.satisfied,
        "response_rate": ratio(r.response_rate),
        "on_time_response_rate": ratio(r.on_time_response_rate),
        "resolution_rate": ratio(r.resolution_rate),
        "on_time_resolution_rate": ratio(r.on_time_resolution_rate),
        "satisfaction_rate": ratio(r.satisfaction_rate),
        "avg_respond_hours": r.avg_respond_hours,
        "avg_resolve_hours": r.avg_resolve_hours,
    }


class PeriodOut(Schema):
    key: str = Field(description="this_month, last_month, this_year, last_12_months or custom")
    start: date
    end: date
    label: str


def _period(p: rates.Period) -> dict:
    return {"key": p.key, "start": p.start, "end": p.end, "label": p.label}


class RatesOut(Figures):
    area: AreaRef
    period: PeriodOut


class ChildOut(Figures):
    area: AreaRef


class ChildrenOut(Schema):
    area: AreaRef
    period: PeriodOut
    items: list[ChildOut] = Field(description="one per child area (a street's communities…), no ranking")
    placed_on_area: Figures | None = Field(
        description="demands placed on the area itself rather than on one of its children (null if none)"
    )


class MonthOut(Figures):
    month: str = Field(description="YYYY-MM")


class MonthsOut(Schema):
    area: AreaRef
    period: PeriodOut
    items: list[MonthOut]


class RatesQuery(Schema):
    area_id: int = Field(description="an estate, community, street, district or city")
    period: str | None = Field(
        None, description="this_month (default), last_month, this_year, last_12_months, custom"
    )
    start: date | None = Field(None, description="first day (YYYY-MM-DD); with end, a custom period")
    end: date | None = Field(None, description="last day, included; at most about three years after start")


def _ask(request: HttpRequest, q: RatesQuery) -> tuple[Area, rates.Period]:
    area = rates.rates_visible(actor(request), q.area_id)
    return area, rates.resolve_period(q.period, q.start, q.end)


@router.get("/rates", response={200: RatesOut, **errors(400, 401, 404, 422)}, summary="诉求三率")
def get_rates(request: HttpRequest, q: Query[RatesQuery]):
    """Response, resolution and satisfaction rates and the average times of one area for a period
    (404 when the area is missing or beyond the caller's roles; 400 for a bad period or a building)."""
    area, period = _ask(request, q)
    figures = _figures(rates.rates_for(area.pk, period.start, period.end))
    return {**figures, "area": _area(area), "period": _period(period)}


@router.get(
    "/rates/children", response={200: ChildrenOut, **errors(400, 401, 404, 422)}, summary="下级区域三率对比"
)
def get_child_rates(request: HttpRequest, q: Query[RatesQuery]):
    """The same figures for each child area (city → districts, street → communities, community →
    estates), for a working comparison; an estate has none."""
    area, period = _ask(request, q)
    compared = rates.compare_children(area.pk, period.start, period.end)
    placed = compared.placed_on_area
    return {
        "area": _area(area),
        "period": _period(period),
        "items": [{**_figures(c.rates), "area": _area(c.area)} for c in compared.children],
        "placed_on_area": None if placed is None else _figures(placed),
    }


@router.get("/rates/months", response={200: MonthsOut, **errors(400, 401, 404, 422)}, summary="按月三率")
def get_monthly_rates(request: HttpRequest, q: Query[RatesQuery]):
    """The figures of one area month by month over the period, every month listed."""
    area, period = _ask(request, q)
    months = rates.rates_by_month(area.pk, period.start, period.end)
    return {
        "area": _area(area),
        "period": _period(period),
        "items": [{**_figures(m.rates), "month": f"{m.month.year}-{m.month.month:02d}"} for m in months],
    }
