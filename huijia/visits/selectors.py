"""Scoped reads of visits and of the households a visitor holds, in a constant number of queries."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import Max, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import gettext_lazy as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.care.models import VulnerablePerson
from huijia.core.errors import NotFound
from huijia.demands.models import Demand
from huijia.grid.models import Household, HouseholdFactChange
from huijia.visits.models import Visit, VisitPhoto

RECENT_VISITS = 5

FACT_LABELS = {
    "tenure": _("住房性质"),
    "occupants": _("常住人数"),
    "moved_in_on": _("入住日期"),
    "contact_phone": _("联系电话"),
}


def last_visits(household_ids: Iterable[int]) -> dict[int, date]:
    """The date of the latest visit of each household that has one, in one query.

    For the member's household list (GET /api/v1/members/me/households): households never visited
    are absent from the answer.
    """
    ids = list(household_ids)
    if not ids:
        return {}
    rows = Visit.objects.filter(household_id__in=ids).values("household_id").annotate(last=Max("visited_on"))
    return {row["household_id"]: row["last"] for row in rows.order_by()}


def _latest_visit(field: str) -> Subquery:
    latest = Visit.objects.filter(household_id=OuterRef("pk")).order_by("-visited_on", "-pk")
    return Subquery(latest.values(field)[:1])


def _latest_visitor() -> Subquery:
    """Who made the latest visit: the member's name, else the account's name (a building head)."""
    latest = Visit.objects.filter(household_id=OuterRef("pk")).order_by("-visited_on", "-pk")
    who = Coalesce("member__name", NullIf("recorded_by__display_name", Value("")), "recorded_by__username")
    return Subquery(latest.annotate(who=who).values("who")[:1])


def households_to_visit(*, actor: Actor) -> QuerySet[Household]:
    """The households the actor may visit (a member: their zone, links and pairings; a building head,
    estate secretary or community staff: their area), with the last visit's date and visitor, ordered
    by building, unit, floor and room. One query."""
    return (
        restrict(Household.objects.all(), actor, Perm.VISIT)
        .select_related("building", "building__parent")
        .only(
            *("id", "unit", "floor", "room", "tenure", "occupants"),
            *("building__id", "building__name", "building__parent__id", "building__parent__name"),
        )
        .annotate(
            last_visited_on=_latest_visit("visited_on"),
            last_visitor=_latest_visitor(),
        )
        .order_by("building__parent__name", "building__name", "unit", "floor", "room", "pk")
    )


def household_for_visit(*, actor: Actor, household_id: int) -> Household:
    """One household the actor may visit, with its building and estate; NotFound otherwise."""
    qs = Household.objects.select_related("building", "building__parent")
    return get_visible(qs, actor, household_id, Perm.VISIT)


def household_for_file(*, actor: Actor, household_id: int) -> Household:
    """One household the actor may see (staff and the members who hold it)."""
    qs = Household.objects.select_related("building", "building__parent")
    return get_visible(qs, actor, household_id, Perm.VIEW)


def recent_visits(*, household: Household, limit: int = RECENT_VISITS) -> list[Visit]:
    """The latest visits of a household (already checked to be in scope) with who made them."""
    return list(
        Visit.objects.filter(household=household)
        .select_related("member", "recorded_by")
        .only(*VISIT_ROW, "member__id", "member__name", *RECORDED_BY)
        .order_by("-visited_on", "-pk")[:limit]
    )


def active_vulnerable(*, household: Household) -> list[VulnerablePerson]:
    return list(
        VulnerablePerson.objects.filter(household=household, ended_at__isnull=True).order_by("kind", "pk")
    )


def fact_changes(*, household: Household) -> list[HouseholdFactChange]:
    """Who changed which fact of the household, when, newest first (values already masked)."""
    rows = (
        HouseholdFactChange.objects.filter(household=household)
        .select_related("changed_by")
        .only(*("id", "field", "old_value", "new_value", "visit_id", "changed_at"), *CHANGED_BY)
        .order_by("-changed_at", "-pk")
    )
    for row in rows:
        row.field_label = str(FACT_LABELS.get(row.field, row.field))
    return list(rows)


CHANGED_BY = ("changed_by__id", "changed_by__username", "changed_by__display_name")
RECORDED_BY = ("recorded_by__id", "recorded_by__username", "recorded_by__display_name")
VISIT_ROW = (
    *("id", "household_id", "visited_on", "member_id", "recorded_by_id", "tenure", "occupants"),
    *("moved_in_on", "contact_phone", "opinions", "help_given", "notes", "created_at"),
)


def visits_for(
    *,
    actor: Actor,
    month: date | None = None,
    household_id: int | None = None,
    area_path: str | None = None,
) -> QuerySet[Visit]:
    """Visits the actor may see, newest first: staff their area, a member their households' and their own.

    `month` (its first day) keeps one calendar month; `area_path` one estate or community.
    """
    qs = restrict(Visit.objects.all(), actor, Perm.VIEW)
    if month is not None:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        qs = qs.filter(visited_on__gte=month, visited_on__lt=following)
    if household_id is not None:
        qs = qs.filter(household_id=household_id)
    if area_path:
        qs = qs.filter(household__building__path__startswith=area_path)
    return (
        qs.select_related(
            "household", "household__building", "household__building__parent", "member", "recorded_by"
        )
        .only(
            *VISIT_ROW,
            *("household__id", "household__unit", "household__floor", "household__room"),
            *("household__building__id", "household__building__name", "household__building__path"),
            *("household__building__parent__id", "household__building__parent__name"),
            *("member__id", "member__name"),
            *RECORDED_BY,
        )
        .order_by("-visited_on", "-pk")
    )


def visit_for(*, actor: Actor, visit_id: int) -> Visit:
    visit = visits_for(actor=actor).filter(pk=visit_id).first()
    if visit is None:
        raise NotFound()
    attach_outcomes([visit])
    return visit


def household_visits(*, actor: Actor, household_id: int) -> QuerySet[Visit]:
    """The visits of one household the actor may see; NotFound when the household is out of sight."""
    household_for_file(actor=actor, household_id=household_id)
    return visits_for(actor=actor, household_id=household_id)


def attach_outcomes(visits: list[Visit]) -> list[Visit]:
    """Puts on each visit what it led to: facts changed, demands raised, vulnerable people recorded
    and its photos. Four queries, whatever the number of visits."""
    ids = [v.pk for v in visits]
    changes, demands, vulnerable, photos = (defaultdict(list) for _ in range(4))
    if ids:
        for row in HouseholdFactChange.objects.filter(visit_id__in=ids).order_by("pk"):
            row.field_label = str(FACT_LABELS.get(row.field, row.field))
            changes[row.visit_id].append(row)
        for row in Demand.objects.filter(visit_id__in=ids).only("id", "visit_id", "description", "status"):
            demands[row.visit_id].append(row)
        for row in VulnerablePerson.objects.filter(visit_id__in=ids).order_by("pk"):
            vulnerable[row.visit_id].append(row)
        for row in VisitPhoto.objects.filter(visit_id__in=ids).order_by("pk"):
            photos[row.visit_id].append(row)
    for visit in visits:
        visit.fact_changes = changes[visit.pk]
        visit.demand_rows = sorted(demands[visit.pk], key=lambda d: d.pk)
        visit.vulnerable_rows = vulnerable[visit.pk]
        visit.photo_rows = photos[visit.pk]
    return visits


def photo_for(*, actor: Actor, photo_id: int) -> VisitPhoto:
    """A photo whose visit the actor may see."""
    photo = VisitPhoto.objects.filter(pk=photo_id).only("id", "image", "visit_id").first()
    if photo is None or not restrict(Visit.objects.filter(pk=photo.visit_id), actor, Perm.VIEW).exists():
        raise NotFound()
    return photo
