"""Scoped reads of care (结对帮扶, F10): the file of vulnerable households, pairings, the overdue list.

Every list is a fixed few queries whatever its length: the last visit of a pairing is a subquery of
visits.Visit (read through the actor's scope), the members and vulnerable people come in prefetches.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.care.models import CarePairing, CarePairingMember, VulnerablePerson
from huijia.core.errors import NotFound
from huijia.core.sorting import natural_key
from huijia.grid.models import Area, AreaKind, Household
from huijia.members.models import Member

CARE_AREA_KINDS = (AreaKind.COMMUNITY, AreaKind.ESTATE)


def household_sort_key(household: Household) -> tuple:
    building = household.building
    estate = building.parent.name if building.parent_id and building.parent else ""
    return (
        natural_key(estate),
        natural_key(building.name),
        household.unit,
        household.floor,
        natural_key(household.room),
    )


def place(household: Household) -> str:
    """ "3栋 1单元101室": where a household is, as the care pages and ledgers name it."""
    return f"{household.building.name} {household.label}"


def vulnerable_household_ids(*, kind: str | None = None) -> QuerySet:
    """Households with an active vulnerable person (of one kind), as a subquery for other apps."""
    qs = VulnerablePerson.objects.filter(ended_at=None)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.values("household_id")


def care_area(*, actor: Actor, area_id: int, perm: Perm = Perm.VIEW) -> Area:
    """A community or an estate the actor may see (or act on, with `perm`); NotFound otherwise."""
    qs = Area.objects.filter(kind__in=CARE_AREA_KINDS).select_related("parent")
    return get_visible(qs, actor, area_id, perm)


def care_areas(*, actor: Actor) -> list[Area]:
    """The communities and estates an actor sees, for the care pages' area picker (1 query)."""
    qs = restrict(Area.objects.filter(kind__in=CARE_AREA_KINDS), actor).only("id", "name", "kind", "path")
    return list(qs.order_by("path"))


# --- the file of vulnerable households ------------------------------------------------------------

HOUSEHOLD_JOINS = ("household", "household__building", "household__building__parent")


def vulnerable_people(*, actor: Actor, area: Area | None = None, active: bool = True) -> QuerySet:
    """Vulnerable people the actor may see (under `area`), household by household."""
    qs = restrict(VulnerablePerson.objects.all(), actor)
    if area is not None:
        qs = qs.filter(household__building__path__startswith=area.path)
    if active:
        qs = qs.filter(ended_at=None)
    return qs.select_related(*HOUSEHOLD_JOINS).order_by(
        "household__building__parent__name", "household__building_id", "household_id", "pk"
    )


def vulnerable_person_for(*, actor: Actor, person_id: int) -> VulnerablePerson:
    return get_visible(VulnerablePerson.objects.select_related(*HOUSEHOLD_JOINS), actor, person_id)


def _members_prefetch() -> Prefetch:
    members = CarePairingMember.objects.select_related("member").only(
        "id", "pairing_id", "member__id", "member__name"
    )
    return Prefetch("pairing_members", queryset=members.order_by("pk"))


@dataclass
class HouseholdFile:
    """One household of the file: its active vulnerable people and its active pairing, if any."""

    household: Household
    people: list[VulnerablePerson] = field(default_factory=list)
    pairing: CarePairing | None = None

    @property
    def place(self) -> str:
        return place(self.household)


def vulnerable_file(*, actor: Actor, area: Area) -> list[HouseholdFile]:
    """The active vulnerable people under an area grouped by household, with pairings: 3 queries."""
    files: dict[int, HouseholdFile] = {}
    for person in vulnerable_people(actor=actor, area=area):
        files.setdefault(person.household_id, HouseholdFile(person.household)).people.append(person)
    if files:
        pairings = (
            restrict(CarePairing.objects.filter(household_id__in=list(files), ended_on=None), actor)
            .prefetch_related(_members_prefetch())
            .order_by("pk")
        )
        for pairing in pairings:
            files[pairing.household_id].pairing = pairing
    return sorted(files.values(), key=lambda f: household_sort_key(f.household))


# --- pairings -------------------------------------------------------------------------------------


def last_visit_subquery(actor: Actor, *, until: date | None = None) -> Subquery:
    """The date of the latest visit to a pairing's household by one of its members (as the actor sees)."""
    paired = CarePairingMember.objects.filter(pairing_id=OuterRef(OuterRef("pk"))).values("member_id")
    from huijia.visits.models import Visit

    visits = restrict(Visit.objects.all(), actor).filter(
        household_id=OuterRef("household_id"), member_id__in=paired
    )
    if until is not None:
        visits = visits.filter(visited_on__lte=until)
    return Subquery(visits.order_by("-visited_on").values("visited_on")[:1])


def pairings_for(
    *, actor: Actor, area: Area | None = None, active: bool = True, member_id: int | None = None
) -> QuerySet[CarePairing]:
    """Pairings the actor may see, with members, the household's vulnerable people and the last visit."""
    qs = restrict(CarePairing.objects.all(), actor)
    if area is not None:
        qs = qs.filter(household__building__path__startswith=area.path)
    if active:
        qs = qs.filter(ended_on=None)
    if member_id is not None:
        qs = qs.filter(pk__in=CarePairingMember.objects.filter(member_id=member_id).values("pairing_id"))
    people = VulnerablePerson.objects.filter(ended_at=None).order_by("pk")
    return (
        qs.select_related(*HOUSEHOLD_JOINS)
        .annotate(last_visit=last_visit_subquery(actor))
        .prefetch_related(
            _members_prefetch(), Prefetch("household__vulnerable", queryset=people, to_attr="active_people")
        )
        .order_by("household__building__parent__name", "household__building_id", "household_id", "pk")
    )


def pairing_for(*, actor: Actor, pairing_id: int) -> CarePairing:
    pairing = pairings_for(actor=actor, active=False).filter(pk=pairing_id).first()
    if pairing is None:
        raise NotFound()
    return pairing


@dataclass
class Due:
    """Where a pairing stands on a day: when the next visit was due and how many days it is late."""

    pairing: CarePairing
    last_visit: date | None
    due_on: date
    days_overdue: int

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


def due_of(pairing: CarePairing, last_visit: date | None, today: date) -> Due:
    """A pairing is overdue when no paired member has visited within `cadence_days` (counted from the
    last visit, or from the start of the pairing when there has been none since)."""
    base = max(last_visit, pairing.started_on) if last_visit else pairing.started_on
    due_on = base + timedelta(days=pairing.cadence_days)
    return Due(pairing, last_visit, due_on, max((today - due_on).days, 0))


def overdue_pairings(*, actor: Actor, area: Area, today: date | None = None) -> list[Due]:
    """Active pairings under an area whose household is overdue for a visit, most overdue first."""
    today = today or timezone.localdate()
    dues = [due_of(p, p.last_visit, today) for p in pairings_for(actor=actor, area=area)]
    late = [d for d in dues if d.overdue]
    return sorted(late, key=lambda d: (-d.days_overdue, household_sort_key(d.pairing.household)))


def my_pairings(*, actor: Actor, today: date | None = None) -> list[Due]:
    """The signed-in member's own active pairings with when each household is next due: 3 queries."""
    if not actor.member_id:
        return []
    today = today or timezone.localdate()
    pairings = pairings_for(actor=actor, member_id=actor.member_id)
    dues = [due_of(p, p.last_visit, today) for p in pairings]
    return sorted(dues, key=lambda d: (d.due_on, household_sort_key(d.pairing.household)))


def household_for_care(*, actor: Actor, household_id: int, perm: Perm = Perm.VIEW) -> Household:
    qs = Household.objects.select_related("building", "building__parent")
    return get_visible(qs, actor, household_id, perm)


def candidate_members(*, actor: Actor, household: Household) -> list[Member]:
    """Members reporting in the household's community, neighbours first (same building, then estate)."""
    community_ids = household.building.ancestor_ids()
    qs = (
        restrict(Member.objects.all(), actor)
        .filter(community_id__in=community_ids, community__kind=AreaKind.COMMUNITY)
        .select_related("household", "household__building")
        .only(
            *("id", "name", "community_id", "household__id", "household__unit", "household__room"),
            *("household__building__id", "household__building__name", "household__building__parent_id"),
        )
    )
    estate_id = household.building.parent_id

    def nearness(m: Member) -> tuple:
        b = m.household.building if m.household else None
        rank = 0 if b and b.pk == household.building_id else 1 if b and b.parent_id == estate_id else 2
        return (rank, m.name, m.pk)

    return sorted(qs, key=nearness)
