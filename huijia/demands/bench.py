"""The demands parts of `manage.py bench` (issue 4), on the city-scale data (`seed --scale city`).

- Duplicate hints while a resident types (target: p95 ≤ 100 ms). The busiest estate (the most open
  demands) and its busiest building; the resident has typed the first words of a problem that is
  already open there. Measured three ways: the htmx view the report form calls
  (POST /d/b/<building>/hints/: category suggestion and similar open demands, rendered); the same
  two reads without the view; and those reads again with every demand of that estate made open
  inside a transaction that is rolled back (hundreds of candidates: the read is capped).
- The three rates (response, resolution, satisfaction, with the times to respond and to resolve)
  over the last 365 days, for the street that received the most demands and for the whole city
  (target: p95 ≤ 50 ms each), summed from DemandRollup rows by huijia.demands.rates.rates_for, or by
  `rates_for` below when that module is missing. For each, the same counts are also taken three
  times by scanning the demand table: they must be equal, and that scan's time is shown for comparison.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huijia.demands import classify, duplicates
from huijia.demands.models import OPEN_STATUSES, Demand, DemandRollup, DemandStatus, Rating
from huijia.grid.models import Area, AreaKind

DUPLICATES_TARGET_MS = 100.0
RATES_TARGET_MS = 50.0
TYPED_CHARS = 16  # what the resident has typed so far
COUNTS = (
    "received", "responded", "responded_in_time", "declined", "resolved", "resolved_in_time", "rated",
    "satisfied", "respond_seconds", "resolve_seconds",
)  # fmt: skip
SHOWN = ("received", "responded", "resolved", "rated", "satisfied")

Timer = Callable[[Callable[[], object]], dict]


class DemandsPartFailed(Exception):
    """A demands part cannot be measured (no city-scale demands, or a page shows something else)."""


# --- the rates, read from the rollups (until huijia.demands.rates exists) ----------------------


def rates_for(area_id: int, start: date, end: date) -> dict:
    """The counts and the three rates of one area over [start, end], from at most one rollup row a day."""
    sums = DemandRollup.objects.filter(area_id=area_id, day__gte=start, day__lte=end).aggregate(
        **{name: Sum(name) for name in COUNTS}
    )
    c = {name: sums[name] or 0 for name in COUNTS}
    accepted = c["received"] - c["declined"]
    return {
        **c,
        "response_rate": c["responded"] / c["received"] if c["received"] else None,
        "resolution_rate": c["resolved"] / accepted if accepted else None,
        "satisfaction_rate": c["satisfied"] / c["rated"] if c["rated"] else None,
        "avg_respond_hours": c["respond_seconds"] / c["responded"] / 3600 if c["responded"] else None,
        "avg_resolve_hours": c["resolve_seconds"] / c["resolved"] / 3600 if c["resolved"] else None,
    }


def product_rates() -> tuple[Callable, str]:
    """The product's rates read when it exists, else the one above; and which one it is."""
    try:
        from huijia.demands.rates import rates_for as product
    except ImportError:
        return rates_for, "huijia.demands.bench.rates_for"
    return product, "huijia.demands.rates.rates_for"


def figures(rates) -> dict:
    """Counts and rates of either read, for the JSON (rates rounded)."""
    data = asdict(rates) if is_dataclass(rates) else dict(rates)
    for name in (
        "response_rate",
        "resolution_rate",
        "satisfaction_rate",
        "avg_respond_hours",
        "avg_resolve_hours",
    ):
        value = getattr(rates, name, None) if is_dataclass(rates) else rates.get(name)
        data[name] = None if value is None else round(value, 4)
    return data


def live_counts(area: Area, start: date, end: date) -> dict:
    """The same counts scanned from the demand table (what the rollups spare every request)."""
    qs = Demand.objects.filter(area__path__startswith=area.path, created_at__date__range=(start, end))
    done = Q(status__in=[DemandStatus.RESOLVED, DemandStatus.CLOSED], resolved_at__isnull=False)
    return qs.aggregate(
        received=Count("pk"),
        responded=Count("pk", filter=Q(responded_at__isnull=False)),
        resolved=Count("pk", filter=done),
        rated=Count("pk", filter=~Q(rating="")),
        satisfied=Count("pk", filter=Q(rating__in=[Rating.SATISFIED, Rating.BASIC])),
    )


# --- where to measure --------------------------------------------------------------------------


def busiest_estate() -> tuple[int, int]:
    """(estate id, open demands) of the estate with the most open demands."""
    row = (
        Demand.objects.filter(status__in=sorted(OPEN_STATUSES), estate__isnull=False)
        .values("estate_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "estate_id")
        .first()
    )
    if row is None:
        raise DemandsPartFailed("no open demands: is the database seeded with `seed --scale city`?")
    return row["estate_id"], row["n"]


def typed_case(estate_id: int) -> tuple[Area, str, Demand]:
    """The building with the most open demands of the estate, the start of a problem open there, and
    that demand (it must be offered)."""
    open_here = Demand.objects.filter(  # the form never offers a demand about one household
        estate_id=estate_id, status__in=sorted(OPEN_STATUSES), area__kind=AreaKind.BUILDING, household=None
    )
    top = open_here.values("area_id").annotate(n=Count("pk")).order_by("-n", "area_id").first()
    if top is None:
        raise DemandsPartFailed(f"estate {estate_id} has no open demand placed on a building")
    demand = open_here.filter(area_id=top["area_id"]).order_by("-created_at").first()
    return Area.objects.get(pk=top["area_id"]), demand.description[:TYPED_CHARS], demand


def busiest_street(start: date, end: date) -> Area:
    row = (
        DemandRollup.objects.filter(area__kind=AreaKind.STREET, day__gte=start, day__lte=end)
        .values("area_id")
        .annotate(n=Sum("received"))
        .order_by("-n", "area_id")
        .first()
    )
    if row is None:
        raise DemandsPartFailed("no rollups: is the database seeded with `seed --scale city`?")
    return Area.objects.get(pk=row["area_id"])


# --- the parts ---------------------------------------------------------------------------------


def hints(text: str, building: Area) -> list[Demand]:
    """What the resident's report form computes while typing: the suggested category, then similar
    open demands that are not about one household."""
    return duplicates.similar_open(text, building, classify.suggest_category(text), public=True)


def run(timer: Timer, client: Client, post: Callable[[Client, str, dict], object]) -> dict:
    """All demands parts: {name: summary with target and ok}. `timer(fn)` measures fn (median, p95...);
    `post(client, url, data)` sends one request as a WSGI server would."""
    estate_id, open_count = busiest_estate()
    building, text, expected = typed_case(estate_id)
    found = [d.pk for d in hints(text, building)]
    if expected.pk not in found:
        raise DemandsPartFailed(
            f"typing {text!r} in building {building.pk} does not offer demand {expected.pk}"
        )
    url = reverse("demands:report_hints", args=[building.pk])
    html = post(client, url, {"description": text}).content.decode()
    if expected.description[:20] not in html:
        raise DemandsPartFailed(f"POST {url} does not show the similar open demand {expected.pk}")
    place = {"estate": estate_id, "building": building.pk, "open": open_count, "typed": text}
    parts = {
        "demand_hints": {"url": url, **place, **timer(lambda: post(client, url, {"description": text}))},
        "demand_similar": {**place, **timer(lambda: hints(text, building))},
        "demand_similar_crowded": _crowded(timer, estate_id, text, building),
    }
    for name in parts:
        parts[name] |= _judge(parts[name], DUPLICATES_TARGET_MS)
    parts.update(_rates(timer))
    return parts


def _crowded(timer: Timer, estate_id: int, text: str, building: Area) -> dict:
    """The duplicate reads with every demand of the estate open (rolled back afterwards)."""
    with transaction.atomic():
        reopened = Demand.objects.filter(estate_id=estate_id).update(status=DemandStatus.IN_PROGRESS)
        summary = {"estate": estate_id, "open": reopened, "capped_at": duplicates.CANDIDATES}
        summary |= timer(lambda: hints(text, building))
        transaction.set_rollback(True)
    return summary


def _rates(timer: Timer) -> dict:
    read, source = product_rates()
    end = timezone.localdate()
    start = end - timedelta(days=364)
    street = busiest_street(start, end)
    city = Area.objects.get(parent=None, kind=AreaKind.CITY)
    parts = {}
    for name, area in (("rates_street_year", street), ("rates_city_year", city)):
        result = read(area.pk, start, end)
        parts[name] = {
            "area": area.name,
            "area_id": area.pk,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "read": source,
            "figures": figures(result),
            **timer(lambda area=area: read(area.pk, start, end)),
        }
        parts[name] |= _judge(parts[name], RATES_TARGET_MS)
    for name, area in (("rates_street_year", street), ("rates_city_year", city)):
        parts[name]["live_scan"] = _live_check(area, start, end, parts[name])
    return parts


def _live_check(area: Area, start: date, end: date, part: dict) -> dict:
    """Counts the area's year from the demand table (three times): equal to the rollups, and slower."""
    samples, counts = [], None
    for _ in range(3):
        started = time.perf_counter()
        counts = live_counts(area, start, end)
        samples.append(time.perf_counter() - started)
    rolled = {name: part["figures"][name] for name in SHOWN}
    return {
        "counts": counts,
        "matches_rollups": counts == rolled,
        "median_ms": round(statistics.median(samples) * 1000, 3),
    }


def _judge(part: dict, target_ms: float) -> dict:
    return {"target_ms": target_ms, "ok": part["p95_ms"] <= target_ms}


LABELS = {
    "demand_hints": "duplicate hints while typing (view)",
    "demand_similar": "duplicate hints (suggest + similar reads)",
    "demand_similar_crowded": "duplicate hints, estate all open",
    "rates_street_year": "three rates, street, 365 days",
    "rates_city_year": "three rates, city, 365 days",
}


def lines(parts: dict) -> list[str]:
    """The OK/MISS lines of the demands parts, for the command's report."""
    out = []
    for key, label in LABELS.items():
        part = parts.get(key)
        if not part:
            continue
        mark = "OK " if part["ok"] else "MISS"
        where = _where(key, part)
        out.append(
            f"{mark} {label} ({where}): median {part['median_ms']:.2f} ms, p95 {part['p95_ms']:.2f} ms, "
            f"target p95 ≤ {part['target_ms']:.0f} ms"
        )
        live = part.get("live_scan")
        if live:
            same = "equal to the rollups" if live["matches_rollups"] else "DIFFERENT from the rollups"
            out.append(
                f"     the same counted from the demand table instead: {live['median_ms']:.2f} ms, {same}"
            )
    return out


def _where(key: str, part: dict) -> str:
    if key.startswith("rates"):
        f = part["figures"]
        rate = f.get("response_rate")
        return (
            f"{part['area']}, {f['received']:,} demands, response rate {rate:.1%}" if rate else part["area"]
        )
    if key == "demand_similar_crowded":
        return f"estate {part['estate']}, {part['open']} open, {part['capped_at']} read"
    return f"estate {part['estate']}, {part['open']} open, typed {part['typed']!r}"
