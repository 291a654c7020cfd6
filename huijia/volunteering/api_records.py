"""JSON API of volunteering: service records, standing against the annual minimum, who is below it,
certificates (issue, PDF, public verification). Mounted under /api/v1/ by huijia/api.py.

Thin over huijia.volunteering.records / certificates, like the HTML screens. A member reads their own
records and standing; staff may pass ?member= for a member they see; the below-minimum list is for the
community's staff and the member's work unit. Verifying a certificate needs no account.
"""

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.api import PageQuery, SessionAuth, TokenAuth, actor, errors, page_of
from huijia.volunteering import certificates, records
from huijia.volunteering.models import Certificate, ServiceRecord
from huijia.volunteering.views_records import pdf_response

router = Router(tags=["志愿服务"])


def _anyone(request: HttpRequest) -> AnonymousUser:
    """The public verification: no credentials is fine (a wrong token is still 401)."""
    return AnonymousUser()


OPEN = {
    "auth": [TokenAuth(), SessionAuth(), _anyone],
    "openapi_extra": {"security": [{"TokenAuth": []}, {"SessionAuth": []}, {}]},
}


# --- schemas -----------------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class RecordOut(Schema):
    id: int
    member: Ref
    activity: Ref
    date: dt.date = Field(description="the day of the check-in (local time)")
    venue: str
    organiser: str
    method: str = Field(description="qr or roll_call")
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None
    hours: Decimal | None = Field(description="null while the record is open (checked in, not yet out)")
    resident_confirmed: bool
    correction_pending: bool

    @staticmethod
    def resolve_member(obj: ServiceRecord) -> dict:
        return {"id": obj.member_id, "name": obj.member.name}

    @staticmethod
    def resolve_activity(obj: ServiceRecord) -> dict:
        return {"id": obj.activity_id, "name": obj.activity.title}

    @staticmethod
    def resolve_date(obj: ServiceRecord) -> dt.date:
        return timezone.localdate(obj.checked_in_at)

    @staticmethod
    def resolve_venue(obj: ServiceRecord) -> str:
        return obj.slot.venue

    @staticmethod
    def resolve_organiser(obj: ServiceRecord) -> str:
        return records.organiser_label(obj.activity)

    @staticmethod
    def resolve_resident_confirmed(obj: ServiceRecord) -> bool:
        return obj.resident_confirmed_at is not None


class RecordPage(Schema):
    items: list[RecordOut]
    count: int
    limit: int
    offset: int


class RecordFilter(PageQuery):
    member: int | None = Field(
        None, description="staff: a member in scope; default: oneself (staff: every record in scope)"
    )
    year: int | None = Field(None, description="only records checked in that year")


class StandingOut(Schema):
    year: int
    services: int = Field(description="closed records (with hours) checked in that year")
    hours: Decimal
    open_records: int = Field(description="checked in, not yet closed: they count once closed")
    minimum: int = Field(description="the city's annual minimum")
    below: bool
    missing: int


class StandingQuery(Schema):
    member: int | None = None
    year: int | None = None


class BelowRow(Schema):
    id: int
    name: str
    volunteer_no: str
    work_unit: str | None
    community: str | None
    services: int
    hours: Decimal
    reminded: bool = Field(description="the yearly reminder has been sent")


class BelowOut(Schema):
    year: int
    minimum: int | None = Field(description="null when the members' cities set different minimums")
    reporting: int = Field(description="reporting members looked at")
    items: list[BelowRow] = Field(description="ordered by name: not a ranking")


class BelowQuery(Schema):
    community: int | None = Field(None, description="a community id")
    work_unit: int | None = Field(None, description="or a work unit id")
    year: int | None = None


class CertificateIn(Schema):
    member_id: int | None = Field(
        None, description="staff only: a member of their community; default oneself"
    )
    period_from: dt.date | None = Field(None, description="default 1 January of this year")
    period_to: dt.date | None = Field(None, description="default today; not in the future")


class CertificateOut(Schema):
    id: int
    serial: str
    member_name: str
    issuer: str
    period_from: dt.date
    period_to: dt.date
    record_count: int
    total_hours: Decimal
    issued_at: dt.datetime
    pdf_url: str
    verify_url: str

    @staticmethod
    def resolve_pdf_url(obj: Certificate) -> str:
        return f"/api/v1/volunteer/certificates/{obj.pk}/pdf"

    @staticmethod
    def resolve_verify_url(obj: Certificate) -> str:
        return certificates.verify_url(obj)


class CertificatePage(Schema):
    items: list[CertificateOut]
    count: int
    limit: int
    offset: int


class CertRecordOut(Schema):
    date: dt.date
    content: str
    hours: Decimal
    organiser: str


class VerifyOut(Schema):
    serial: str
    masked_name: str
    issuer: str
    period_from: dt.date
    period_to: dt.date
    record_count: int
    total_hours: Decimal
    issued_on: dt.date
    records: list[CertRecordOut]


# --- records and standing ---------------------------------------------------------------------------


@router.get(
    "/volunteer/records", response={200: RecordPage, **errors(400, 401, 404, 422)}, summary="志愿服务记录"
)
def list_records(request: HttpRequest, filters: Query[RecordFilter]):
    """One's own records, newest first; staff may name a member they see (?member=), or list every
    record in their scope (their community's; a work unit its members')."""
    who = actor(request)
    year = records.check_year(filters.year) if filters.year is not None else None
    if filters.member is None and not who.member_id:
        return page_of(records.records_for(actor=who, year=year), filters)
    member = records.member_of(actor=who, member_id=filters.member)
    return page_of(records.records_for(actor=who, member_id=member.pk, year=year), filters)


@router.get(
    "/volunteer/standing", response={200: StandingOut, **errors(400, 401, 404, 422)}, summary="年度服务情况"
)
def standing(request: HttpRequest, query: Query[StandingQuery]):
    """Where a member stands this year (or `year`) against their city's annual minimum."""
    result = records.standing_of(actor=actor(request), member_id=query.member, year=query.year)
    return {**result.__dict__, "below": result.below, "missing": result.missing}


@router.get(
    "/volunteer/below-minimum",
    response={200: BelowOut, **errors(400, 401, 404, 422)},
    summary="未达到年度最低服务次数的党员",
)
def below_minimum(request: HttpRequest, query: Query[BelowQuery]):
    """A community's reporting members (its staff) or a work unit's (its organiser) below the minimum."""
    result = records.below_minimum(
        actor=actor(request), community_id=query.community, work_unit_id=query.work_unit, year=query.year
    )
    items = [
        {
            "id": m.pk,
            "name": m.name,
            "volunteer_no": m.volunteer_no,
            "work_unit": m.work_unit.name if result.community and m.work_unit_id else None,
            "community": m.community.name if result.work_unit else None,
            "services": m.services,
            "hours": m.hours or Decimal("0.00"),
            "reminded": m.reminded,
        }
        for m in result.rows
    ]
    return {"year": result.year, "minimum": result.minimum, "reporting": result.reporting, "items": items}


# --- certificates -----------------------------------------------------------------------------------


@router.post(
    "/volunteer/certificates",
    response={201: CertificateOut, **errors(400, 401, 403, 404, 422)},
    summary="开具志愿服务记录证明",
)
def issue_certificate(request: HttpRequest, payload: CertificateIn):
    """Issues a certificate of one's closed records in the period (staff: of a member of their community)."""
    issued = certificates.issue_certificate(
        actor=actor(request),
        member_id=payload.member_id,
        period_from=payload.period_from,
        period_to=payload.period_to,
    )
    return Status(201, issued)


@router.get(
    "/volunteer/certificates",
    response={200: CertificatePage, **errors(401, 404, 422)},
    summary="志愿服务记录证明列表",
)
def list_certificates(request: HttpRequest, filters: Query[RecordFilter]):
    """Certificates issued to oneself (staff: ?member= a member they see), newest first."""
    who = actor(request)
    member = records.member_of(actor=who, member_id=filters.member)
    return page_of(certificates.certificates_for(actor=who, member_id=member.pk), filters)


@router.get(
    "/volunteer/certificates/{int:certificate_id}/pdf",
    response={200: None, **errors(401, 404, 422)},
    summary="下载证明 PDF",
    openapi_extra={"responses": {200: {"description": "the PDF", "content": {"application/pdf": {}}}}},
)
def certificate_pdf(request: HttpRequest, certificate_id: int) -> HttpResponse:
    """The certificate as a PDF (the member it names; staff who see that member)."""
    return pdf_response(certificates.certificate_for(actor=actor(request), certificate_id=certificate_id))


@router.get(
    "/volunteer/certificates/verify/{token}",
    response={200: VerifyOut, **errors(401, 404, 422)},
    summary="核验志愿服务记录证明",
    **OPEN,
)
def verify_certificate(request: HttpRequest, token: str, response: HttpResponse):
    """What the QR code on a certificate opens, as data: no account needed; the name is masked."""
    response["Cache-Control"] = "no-store"
    return certificates.public_view(certificates.certificate_by_token(token=token)).__dict__
