"""JSON API of household visits (入户走访). Mounted by huijia/api.py.

POST /visits needs an `Idempotency-Key` header chosen by the client (a UUID): sending the same visit
again with the same key answers 200 with the visit stored the first time, and a different body under
a key already used answers 409. The phone's offline outbox relies on this to send a visit as often as
it needs to. Contact numbers only ever leave the API masked.
"""

from datetime import date, datetime

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, File, Header, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from huijia.api import PageQuery, actor, errors, page_of
from huijia.care.models import VulnerableKind
from huijia.core.errors import InvalidInput
from huijia.core.personal import mask_contact
from huijia.grid.models import Tenure
from huijia.visits import selectors, services
from huijia.visits.models import Visit

router = Router(tags=["入户走访"])


class Unprocessable(InvalidInput):
    """Bad input found by the service (a future date, a bad number): 422 like schema errors."""

    status = 422


# --- Schemas -------------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class HouseholdRef(Schema):
    id: int
    label: str = Field(description="unit and room, e.g. 1单元101室")
    building: Ref
    estate: Ref | None

    @staticmethod
    def resolve_estate(obj) -> Ref | None:
        return obj.building.parent


class VulnerableIn(Schema):
    kind: VulnerableKind
    note: str = Field("", max_length=200, description="a short note, optional")


class VisitIn(Schema):
    household_id: int
    visited_on: date = Field(description="the day of the visit; not in the future")
    tenure: Tenure | None = Field(None, description="owned, rented or other; omit when not known")
    occupants: int | None = Field(None, ge=0, le=50)
    moved_in_on: date | None = Field(None, description="not in the future")
    contact_phone: str = Field("", max_length=30, description="mainland mobile, or landline with area code")
    demands: list[str] = Field(
        default_factory=list, max_length=20, description="each becomes a demand the estate branch sees"
    )
    vulnerable: list[VulnerableIn] = Field(default_factory=list, max_length=10)
    help_given: str = Field("", max_length=1000)
    notes: str = Field("", max_length=1000)


class FactChangeOut(Schema):
    field: str
    field_label: str
    old_value: str = Field(description="as shown to staff; a contact number masked")
    new_value: str


class VisitDemandOut(Schema):
    id: int
    description: str
    status: str


class VulnerableOut(Schema):
    id: int
    kind: str
    kind_label: str
    note: str

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return obj.get_kind_display()


class VisitPhotoOut(Schema):
    id: int
    url: str

    @staticmethod
    def resolve_url(obj) -> str:
        return reverse("visits:photo", args=[obj.pk])


class VisitOut(Schema):
    id: int
    household: HouseholdRef
    visited_on: date
    member: Ref | None = Field(description="the member who visited; null when staff visited")
    tenure: str
    occupants: int | None
    moved_in_on: date | None
    contact_phone_masked: str
    demands: list[VisitDemandOut]
    vulnerable: list[VulnerableOut] = Field(description="vulnerable people this visit added to the care file")
    facts_changed: list[FactChangeOut] = Field(description="household facts this visit changed")
    help_given: str
    notes: str
    photos: list[VisitPhotoOut]
    created_at: datetime

    @staticmethod
    def resolve_contact_phone_masked(obj: Visit) -> str:
        return mask_contact(obj.contact_phone)

    @staticmethod
    def resolve_demands(obj: Visit) -> list:
        return obj.demand_rows

    @staticmethod
    def resolve_vulnerable(obj: Visit) -> list:
        return obj.vulnerable_rows

    @staticmethod
    def resolve_facts_changed(obj: Visit) -> list:
        return obj.fact_changes

    @staticmethod
    def resolve_photos(obj: Visit) -> list:
        return obj.photo_rows


class VisitPage(Schema):
    items: list[VisitOut]
    count: int
    limit: int
    offset: int


class VisitFilter(PageQuery):
    month: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM: one month only")


def _page(qs, page: PageQuery) -> dict:
    result = page_of(qs, page)
    selectors.attach_outcomes(result["items"])
    return result


# --- Operations ----------------------------------------------------------------------------------


@router.post(
    "/visits",
    response={201: VisitOut, 200: VisitOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="记录一次入户走访",
)
def record_visit(
    request: HttpRequest,
    payload: VisitIn,
    idempotency_key: str = Header(
        ..., alias="Idempotency-Key", description="chosen by the client (a UUID), 8-64 characters"
    ),
):
    """Records a visit: 201 when stored, 200 when the same key and body were already stored (a replay),
    409 for a different body under a key already used, 404 for a household out of reach, 403 for a
    role that may see the household but not visit it, 422 for bad input. Nothing is stored on error."""
    data = services.VisitInput(
        household_id=payload.household_id,
        visited_on=payload.visited_on,
        tenure=payload.tenure.value if payload.tenure else "",
        occupants=payload.occupants,
        moved_in_on=payload.moved_in_on,
        contact_phone=payload.contact_phone,
        demands=tuple(payload.demands),
        vulnerable=tuple(services.VulnerableInput(v.kind.value, v.note) for v in payload.vulnerable),
        help_given=payload.help_given,
        notes=payload.notes,
    )
    who = actor(request)
    try:
        recorded = services.record_visit(actor=who, data=data, idempotency_key=idempotency_key)
    except InvalidInput as exc:
        raise Unprocessable(exc.message, code=exc.code, fields=exc.fields) from None
    visit = selectors.visit_for(actor=who, visit_id=recorded.visit.pk)
    return Status(201 if recorded.created else 200, visit)


@router.get("/visits", response={200: VisitPage, **errors(401, 422)}, summary="走访记录列表")
def list_visits(request: HttpRequest, filters: Query[VisitFilter]):
    """Visits the caller may see, newest first: staff their area; a member their households' visits
    and their own."""
    month = date(int(filters.month[:4]), int(filters.month[5:]), 1) if filters.month else None
    return _page(selectors.visits_for(actor=actor(request), month=month), filters)


@router.get("/visits/{visit_id}", response={200: VisitOut, **errors(401, 404, 422)}, summary="走访详情")
def get_visit(request: HttpRequest, visit_id: int, response: HttpResponse):
    """One visit in the caller's scope; missing and out-of-scope both answer 404."""
    response["Cache-Control"] = "private, no-store"
    return selectors.visit_for(actor=actor(request), visit_id=visit_id)


@router.post(
    "/visits/{visit_id}/photos",
    response={201: VisitPhotoOut, **errors(400, 401, 403, 404, 422)},
    summary="为走访补充照片（可选）",
)
def add_photo(request: HttpRequest, visit_id: int, photo: File[UploadedFile]):
    """Adds one optional photo (JPEG, PNG, WebP or GIF, at most 5 MB) to a visit the caller recorded.
    Photos are never required."""
    try:
        stored = services.add_visit_photo(actor=actor(request), visit_id=visit_id, photo=photo)
    except InvalidInput as exc:
        raise Unprocessable(exc.message, code=exc.code, fields=exc.fields) from None
    return Status(201, stored)


@router.get(
    "/households/{household_id}/visits",
    response={200: VisitPage, **errors(401, 404, 422)},
    summary="某户的走访记录",
)
def household_visits(request: HttpRequest, household_id: int, page: Query[PageQuery]):
    """The visits of one household the caller may see, newest first; 404 when it is out of reach."""
    return _page(selectors.household_visits(actor=actor(request), household_id=household_id), page)
