"""JSON API of care (结对帮扶, F10): the file of vulnerable people, pairings, the overdue list, and a
member's own pairings. Mounted by huijia/api.py. No phone number appears here."""

from datetime import date, datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.api import PageQuery, actor, errors
from huijia.care import selectors, services
from huijia.care.models import CarePairing, VulnerableKind, VulnerablePerson

router = Router(tags=["结对帮扶"])


# --- Schemas -------------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class CareHouseholdOut(Schema):
    id: int
    label: str = Field(description="building, unit and room, e.g. 3栋 1单元101室")
    building: Ref
    estate: Ref | None


def _household(h) -> dict:
    building = h.building
    return {"id": h.pk, "label": selectors.place(h), "building": building, "estate": building.parent}


class PersonOut(Schema):
    id: int
    household: CareHouseholdOut
    kind: str
    kind_label: str
    name: str
    note: str
    recorded_at: datetime
    ended_at: datetime | None

    @staticmethod
    def resolve_household(obj: VulnerablePerson) -> dict:
        return _household(obj.household)

    @staticmethod
    def resolve_kind_label(obj: VulnerablePerson) -> str:
        return obj.get_kind_display()


class PersonPage(Schema):
    items: list[PersonOut]
    count: int
    limit: int
    offset: int


class AreaFilter(PageQuery):
    area_id: int | None = Field(None, description="a community or an estate; omitted: everything in scope")


class PersonIn(Schema):
    household_id: int
    kind: VulnerableKind
    name: str = Field("", max_length=128, description="how to call them; may be empty")
    note: str = Field("", max_length=400)


class KindOut(Schema):
    kind: str
    kind_label: str


class PairingOut(Schema):
    id: int
    household: CareHouseholdOut
    members: list[Ref]
    kinds: list[KindOut] = Field(description="active vulnerable people of the household, by kind")
    cadence_days: int
    note: str
    started_on: date
    ended_on: date | None
    last_visit: date | None = Field(description="latest visit by one of the paired members")
    due_on: date = Field(description="when the next visit is due")
    days_overdue: int


def _pairing(due: selectors.Due) -> dict:
    p: CarePairing = due.pairing
    people = getattr(p.household, "active_people", [])
    return {
        "id": p.pk,
        "household": _household(p.household),
        "members": [pm.member for pm in p.pairing_members.all()],
        "kinds": [{"kind": v.kind, "kind_label": v.get_kind_display()} for v in people],
        "cadence_days": p.cadence_days,
        "note": p.note,
        "started_on": p.started_on,
        "ended_on": p.ended_on,
        "last_visit": due.last_visit,
        "due_on": due.due_on,
        "days_overdue": due.days_overdue if p.ended_on is None else 0,
    }


class PairingPage(Schema):
    items: list[PairingOut]
    count: int
    limit: int
    offset: int


class PairingFilter(AreaFilter):
    active: bool = Field(True, description="only pairings not ended")


class PairingIn(Schema):
    household_id: int
    member_ids: list[int] = Field(max_length=20, description="one or several members reporting there")
    cadence_days: int = Field(30, description="visit at least every so many days (30 = monthly)")
    started_on: date | None = Field(None, description="default today; not in the future")
    note: str = Field("", max_length=400, description="what the care consists of")


class EndIn(Schema):
    ended_on: date | None = Field(None, description="default today")


class OverduePage(Schema):
    items: list[PairingOut]
    count: int


# --- Endpoints -----------------------------------------------------------------------------------


def _area(request: HttpRequest, area_id: int | None):
    return None if area_id is None else selectors.care_area(actor=actor(request), area_id=area_id)


@router.get("/care/vulnerable", response={200: PersonPage, **errors(401, 404, 422)}, summary="困难群体档案")
def list_vulnerable(request: HttpRequest, filters: Query[AreaFilter]):
    """Active vulnerable people the caller may see (under an area), household by household."""
    qs = selectors.vulnerable_people(actor=actor(request), area=_area(request, filters.area_id))
    items = list(qs[filters.offset : filters.offset + filters.limit])
    return {"items": items, "count": qs.count(), "limit": filters.limit, "offset": filters.offset}


@router.post(
    "/care/vulnerable",
    response={201: PersonOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="登记困难群体",
)
def add_vulnerable(request: HttpRequest, payload: PersonIn):
    """Staff or the estate secretary put someone on the file (409 if the same person is on it already)."""
    person = services.add_vulnerable(
        actor=actor(request),
        household_id=payload.household_id,
        kind=payload.kind.value,
        name=payload.name,
        note=payload.note,
    )
    return Status(201, selectors.vulnerable_person_for(actor=actor(request), person_id=person.pk))


@router.post(
    "/care/vulnerable/{person_id}/end",
    response={200: PersonOut, **errors(401, 403, 404, 409, 422)},
    summary="移出困难群体档案",
)
def end_vulnerable(request: HttpRequest, person_id: int):
    """Takes someone off the active file; the record stays (409 if already ended)."""
    services.end_vulnerable(actor=actor(request), person_id=person_id)
    return selectors.vulnerable_person_for(actor=actor(request), person_id=person_id)


@router.get("/care/pairings", response={200: PairingPage, **errors(401, 404, 422)}, summary="结对帮扶列表")
def list_pairings(request: HttpRequest, filters: Query[PairingFilter]):
    """Pairings the caller may see (a member: their own), with the last visit and when the next is due."""
    who = actor(request)
    qs = selectors.pairings_for(actor=who, area=_area(request, filters.area_id), active=filters.active)
    today = timezone.localdate()
    items = [
        _pairing(selectors.due_of(p, p.last_visit, today))
        for p in qs[filters.offset : filters.offset + filters.limit]
    ]
    return {"items": items, "count": qs.count(), "limit": filters.limit, "offset": filters.offset}


def _one(request: HttpRequest, pairing_id: int) -> dict:
    pairing = selectors.pairing_for(actor=actor(request), pairing_id=pairing_id)
    return _pairing(selectors.due_of(pairing, pairing.last_visit, timezone.localdate()))


@router.post(
    "/care/pairings",
    response={201: PairingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="建立结对帮扶",
)
def create_pairing(request: HttpRequest, payload: PairingIn):
    """Pairs members reporting in the household's community with a household on the file."""
    pairing = services.create_pairing(
        actor=actor(request),
        household_id=payload.household_id,
        member_ids=payload.member_ids,
        cadence_days=payload.cadence_days,
        started_on=payload.started_on,
        note=payload.note,
    )
    return Status(201, _one(request, pairing.pk))


@router.post(
    "/care/pairings/{pairing_id}/end",
    response={200: PairingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="结束结对帮扶",
)
def end_pairing(request: HttpRequest, pairing_id: int, payload: EndIn):
    """Ends a pairing; its members keep access to the household only for another reason."""
    services.end_pairing(actor=actor(request), pairing_id=pairing_id, ended_on=payload.ended_on)
    return _one(request, pairing_id)


@router.get("/care/overdue", response={200: OverduePage, **errors(401, 404, 422)}, summary="逾期未走访")
def list_overdue(request: HttpRequest, area_id: int):
    """Pairings under a community or estate overdue for a visit, most overdue first."""
    area = selectors.care_area(actor=actor(request), area_id=area_id)
    rows = selectors.overdue_pairings(actor=actor(request), area=area)
    return {"items": [_pairing(d) for d in rows], "count": len(rows)}


@router.get("/care/pairings/mine", response={200: OverduePage, **errors(401)}, summary="我的结对")
def my_pairings(request: HttpRequest):
    """The signed-in member's active pairings, the soonest due first."""
    rows = selectors.my_pairings(actor=actor(request))
    return {"items": [_pairing(d) for d in rows], "count": len(rows)}
