"""The three rates of hotline systems (三率) for any area from estate up to city and any period.

Read from DemandRollup only (one row per area and day of receipt, kept up to date by
huijia.demands.services._bump in the same transaction as each step): the demand table is never
scanned, so a street over a year or a whole city is a sum over at most a few hundred index rows.

Definitions (口径). A demand counts in the period of the day it was received (收到日), in every area
above it; its later steps (response, resolution, rating) count in the row of that same day, so the
figures of a past period still move while its demands are being handled.

- 收到 received: demands received in the period (every channel, including ones later merged).
- 响应 responded: demands accepted, declined, assigned, escalated or merged (the first answer).
- 响应率 response rate = 响应 / 收到 (responded / received).
- 按时响应率 on-time response rate = 按时响应 / 响应 (responded within the category's time limit
  / responded).
- 受理 accepted = 收到 − 不予受理 (received − declined). Demands merged into another count as accepted:
  they are resolved when the demand they follow is resolved.
- 解决率 resolution rate = 办结 / 受理 (resolved / accepted). A demand reopened by its resident no
  longer counts as resolved until it is resolved again.
- 按时办结率 on-time resolution rate = 按时办结 / 办结 (resolved within the time limit / resolved).
- 满意率 satisfaction rate = (满意 + 基本满意) / 评价 (satisfied + basically satisfied) / rated).
- 平均响应时长 average time to respond = total hours from receipt to the first answer / 响应.
- 平均办结时长 average time to resolve = total hours from receipt to resolution / 办结.

A rate or an average whose denominator is 0 is None (shown as "—"), never 0 %.

Scope: staff see the rates of the areas their role reaches (an area grant on the area or an ancestor);
members, residents and work units see none. These figures are a working view for finding and fixing
problems; nothing here ranks areas publicly.
"""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta

from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huijia.accounts.roles import ROLE_PERMS, Perm
from huijia.accounts.scope import Actor, restrict
from huijia.core.errors import InvalidInput, NotFound
from huijia.demands.models import DemandRollup
from huijia.grid.models import Area, AreaKind

ROLLUP_KINDS = (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.ESTATE)
MAX_PERIOD_DAYS = 3 * 365 + 1  # about three years
PICKER_LIMIT = 300  # above this many areas in scope, the picker shows the way down instead of all


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class Rates:
    """The counts behind the three rates of one area and period, and the rates computed from them."""

    received: int = 0
    responded: int = 0
    responded_in_time: int = 0
    declined: int = 0
    resolved: int = 0
    resolved_in_time: int = 0
    rated: int = 0
    satisfied: int = 0  # satisfied or basically satisfied
    respond_seconds: int = 0
    resolve_seconds: int = 0

    @property
    def accepted(self) -> int:
        return self.received - self.declined

    @property
    def unanswered(self) -> int:
        """Received and not yet answered (待响应)."""
        return self.received - self.responded

    @property
    def in_hand(self) -> int:
        """Accepted and not yet resolved (在办), merged demands included until their main one is."""
        return self.accepted - self.resolved

    @property
    def response_rate(self) -> float | None:
        return _ratio(self.responded, self.received)

    @property
    def on_time_response_rate(self) -> float | None:
        return _ratio(self.responded_in_time, self.responded)

    @property
    def resolution_rate(self) -> float | None:
        return _ratio(self.resolved, self.accepted)

    @property
    def on_time_resolution_rate(self) -> float | None:
        return _ratio(self.resolved_in_time, self.resolved)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.satisfied, self.rated)

    @property
    def avg_respond_hours(self) -> float | None:
        return round(self.respond_seconds / self.responded / 3600, 2) if self.responded > 0 else None

    @property
    def avg_resolve_hours(self) -> float | None:
        return round(self.resolve_seconds / self.resolved / 3600, 2) if self.resolved > 0 else None

    def minus(self, other: "Rates") -> "Rates":
        """These counts less another's (an area's own demands, less those of its children)."""
        return Rates(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(Rates)})

    def plus(self, other: "Rates") -> "Rates":
        return Rates(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(Rates)})


COUNTS = tuple(f.name for f in fields(Rates))
_SUMS = {f"sum_{name}": Sum(name) for name in COUNTS}


def _rates(row: dict) -> Rates:
    return Rates(**{name: row.get(f"sum_{name}") or 0 for name in COUNTS})


def _rows(start: date, end: date):
    return DemandRollup.objects.filter(day__gte=start, day__lte=end)


# --- the figures ----------------------------------------------------------------------------------


def rates_for(area_id: int, start: date, end: date) -> Rates:
    """The rates of one area over [start, end] (both days included): one aggregate over the
    (area, day) unique index, at most one row per day."""
    return _rates(_rows(start, end).filter(area_id=area_id).aggregate(**_SUMS))


@dataclass(frozen=True)
class AreaRates:
    area: Area
    rates: Rates


def child_areas(area_id: int) -> list[Area]:
    """The areas one level down that have rates (a street's communities, a community's estates...)."""
    qs = Area.objects.filter(parent_id=area_id, kind__in=ROLLUP_KINDS)
    return list(qs.only("id", "name", "kind", "path", "parent_id", "depth").order_by("code", "pk"))


def rates_by_child(
    area_id: int, start: date, end: date, children: list[Area] | None = None
) -> list[AreaRates]:
    """The rates of each child area over the period, for the comparison table (children with no
    demand are listed too, with no rates): the children, then one grouped query over their rows."""
    if children is None:
        children = child_areas(area_id)
    if not children:
        return []
    grouped = (
        _rows(start, end)
        .filter(area_id__in=[c.pk for c in children])
        .values("area_id")
        .annotate(**_SUMS)
        .order_by()
    )
    by_area = {row["area_id"]: _rates(row) for row in grouped}
    return [AreaRates(child, by_area.get(child.pk, Rates())) for child in children]


def placed_on_area_itself(total: Rates, children: list[AreaRates]) -> Rates:
    """Demands counted in an area but in none of its children (placed on a community directly,
    not on one of its estates): what the comparison table would otherwise silently leave out."""
    summed = Rates()
    for child in children:
        summed = summed.plus(child.rates)
    return total.minus(summed)


@dataclass(frozen=True)
class Comparison:
    """An area's rates, its children's, and those of the demands placed on the area itself (None
    when there are none, or when the area has no children: an estate)."""

    total: Rates
    children: list[AreaRates]
    placed_on_area: Rates | None


def compare_children(area_id: int, start: date, end: date, children: list[Area] | None = None) -> Comparison:
    """The comparison table of the page and of GET /rates/children: three queries in all."""
    total = rates_for(area_id, start, end)
    by_child = rates_by_child(area_id, start, end, children=children)
    placed = placed_on_area_itself(total, by_child) if by_child else None
    return Comparison(total, by_child, placed if placed is not None and placed.received else None)


@dataclass(frozen=True)
class MonthRates:
    month: date  # the first day of the month
    rates: Rates


def rates_by_month(area_id: int, start: date, end: date) -> list[MonthRates]:
    """The rates of one area month by month over the period, every month listed (one grouped query)."""
    grouped = (
        _rows(start, end)
        .filter(area_id=area_id)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(**_SUMS)
        .order_by("month")
    )
    by_month = {_as_date(row["month"]): _rates(row) for row in grouped}
    return [MonthRates(m, by_month.get(m, Rates())) for m in months_between(start, end)]


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def months_between(start: date, end: date) -> list[date]:
    """First days of the months from start's month to end's month, both included."""
    months, current = [], start.replace(day=1)
    while current <= end:
        months.append(current)
        current = _next_month(current)
    return months


def _next_month(first: date) -> date:
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


# --- scope ----------------------------------------------------------------------------------------

_AREA_FIELDS = ("id", "name", "kind", "path", "parent_id", "depth")


def rates_visible(actor: Actor, area_id) -> Area:
    """The area whose rates the actor asks for, if their role reaches it (an area grant on it or on
    an ancestor). A missing area and one out of scope are the same NotFound; a building, which has no
    rates of its own, is InvalidInput."""
    try:
        area_id = int(area_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    area = Area.objects.filter(pk=area_id).only(*_AREA_FIELDS).first()
    if area is None or not actor.covers(Perm.VIEW, area.path):
        raise NotFound()
    if area.kind not in ROLLUP_KINDS:
        message = _("三率按小区、社区、街道、区县和市统计，楼栋不单独统计，请选择所在小区")
        raise InvalidInput(message, code="no_rates_here", fields={"area_id": [message]})
    return area


def rate_roots(actor: Actor) -> list[Area]:
    """The topmost areas with rates that the actor's roles reach, for the default choice.

    Built from the grants loaded with the actor (no query), except for a superuser (the tree's roots)."""
    if actor.is_superuser:
        return list(Area.objects.filter(parent=None).only(*_AREA_FIELDS).order_by("code", "pk"))
    grants = sorted(
        {
            (path, pk, kind, name)
            for role, pk, path, kind, name in actor.grant_areas
            if Perm.VIEW in ROLE_PERMS[role] and kind in ROLLUP_KINDS
        }
    )
    roots: list[Area] = []
    for path, pk, kind, name in grants:
        if not any(path.startswith(r.path) for r in roots):
            roots.append(Area(pk=pk, path=path, kind=kind, name=name, depth=path.count("/") - 2))
    return roots


def area_chain(actor: Actor, area: Area) -> list[Area]:
    """The way down to `area` from the highest area above it the actor may see (breadcrumb), itself last."""
    ids = area.ancestor_ids()[:-1]
    above = Area.objects.filter(pk__in=ids, kind__in=ROLLUP_KINDS).only(*_AREA_FIELDS) if ids else []
    return [a for a in sorted(above, key=lambda a: a.depth) if actor.covers(Perm.VIEW, a.path)] + [area]


@dataclass(frozen=True)
class Picker:
    """The areas offered in the picker; `complete` is False when there were too many to list them all
    (then the picker holds the way down to the chosen area and its children)."""

    areas: list[Area]
    complete: bool


def rate_areas(actor: Actor, chain: list[Area], children: list[Area], roots: Sequence[Area] = ()) -> Picker:
    """Every area with rates in the actor's scope, in tree order (one query), or when there are more
    than PICKER_LIMIT of them, the actor's top areas, the way down to the chosen area and its children
    (no further query)."""
    qs = restrict(Area.objects.filter(kind__in=ROLLUP_KINDS), actor).only(*_AREA_FIELDS).order_by("path")
    found = list(qs[: PICKER_LIMIT + 1])
    if len(found) <= PICKER_LIMIT:
        return Picker(found, True)
    unique = {a.pk: a for a in [*roots, *chain, *children]}
    return Picker(sorted(unique.values(), key=lambda a: a.path), False)


# --- periods --------------------------------------------------------------------------------------

PERIODS = (
    ("this_month", gettext_lazy("本月")),
    ("last_month", gettext_lazy("上月")),
    ("this_year", gettext_lazy("今年")),
    ("last_12_months", gettext_lazy("近12个月")),
    ("custom", gettext_lazy("自定义")),
)
PERIOD_KEYS = tuple(key for key, _label in PERIODS)
DEFAULT_PERIOD = "this_month"


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.start.day == 1 and self.end == _month_end(self.start):
            return _("%(y)d年%(m)d月") % {"y": self.start.year, "m": self.start.month}
        return _("%(a)s至%(b)s") % {"a": _day_label(self.start), "b": _day_label(self.end)}

    @property
    def spans_months(self) -> bool:
        return (self.start.year, self.start.month) != (self.end.year, self.end.month)


def _day_label(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _bad(field_name: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, fields={field_name: [message]})


def _parse_day(value, field_name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise _bad(field_name, _("日期格式不正确，请按 2025-03-01 这样的格式填写"), "bad_date") from None


def preset_period(key: str, today: date) -> Period:
    this_month = today.replace(day=1)
    if key == "this_month":
        return Period(key, this_month, today)
    if key == "last_month":
        last = this_month - timedelta(days=1)
        return Period(key, last.replace(day=1), last)
    if key == "this_year":
        return Period(key, today.replace(month=1, day=1), today)
    if key == "last_12_months":  # this month and the eleven before it
        start = this_month.replace(year=this_month.year - 1)
        return Period(key, _next_month(start), today)
    raise _bad("period", _("没有这个统计时段，请选择本月、上月、今年、近12个月或自定义"), "bad_period")


def resolve_period(key: str | None = None, start=None, end=None, today: date | None = None) -> Period:
    """The period asked for: a preset (本月, 上月, 今年, 近12个月) or custom dates (ISO strings or dates).

    Custom dates win when given; both are needed, the start may not be after the end, and the period
    is at most about three years. Errors are InvalidInput with a plain message naming the field."""
    today = today or timezone.localdate()
    first, last = _parse_day(start, "start"), _parse_day(end, "end")
    if first is None and last is None and key != "custom":
        return preset_period(key or DEFAULT_PERIOD, today)
    if first is None:
        raise _bad("start", _("请填写开始日期"), "start_missing")
    if last is None:
        raise _bad("end", _("请填写结束日期"), "end_missing")
    if first > last:
        raise _bad("end", _("开始日期不能晚于结束日期"), "start_after_end")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise _bad("start", _("统计时段最长3年，请缩短时段"), "period_too_long")
    return Period("custom", first, last)
