"""JSON API of volunteering: service records, standing against the annual minimum, who is below it,
the city's policy, certificates (issue, PDF, public verification) and the ledgers (xlsx). Mounted
under /api/v1/ by huijia/api.py.

Thin over huijia.volunteering.records / certificates, like the HTML screens. A member reads their own
records and standing; staff may pass ?member= for a member they see; the below-minimum list is for the
community's staff and the member's work unit. Verifying a certificate needs no account.
"""

import datetime as dt
import tempfile
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.api import PageQuery, SessionAuth, TokenAuth, actor, errors, page_of
from huijia.core.errors import InvalidInput
from huijia.volunteering import certificates, ledgers, records
from huijia.volunteering import minimum as policy_rules
from huijia.volunteering.minimum import counts
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
    counted: bool = Field(
        description="counts as a service (minimum, certificates, ledgers): closed with hours above 0"
    )
    resident_confirmed: bool
    correction_pending: bool
    confirm_url: str | None = Field(
        description="the address the served resident opens to confirm the service (no account needed); "
        "only on one's own record that counts and is not yet confirmed, else null"
    )

    @staticmethod
    def resolve_counted(obj: ServiceRecord) -> bool:
        return counts(obj)

    @staticmethod
    def resolve_confirm_url(obj: ServiceRecord, context) -> str | None:
        who = actor(context["request"])
        return records.confirm_url(obj) if records.asks_confirmation(obj, who) else None

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
    not_counted: int = Field(description="closed with 0 hours: listed, never counted")
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


class PolicyQuery(Schema):
    city_id: int | None = Field(None, description="a city id; default the (first) city one works in")


class PolicyIn(Schema):
    annual_minimum: int = Field(description="services a year, 1–52")
    remind_days: int = Field(description="reminders start so many days before 31 December, 1–180")


class PolicyOut(Schema):
    city_id: int
    city: str
    annual_minimum: int
    remind_days: int
    can_change: bool = Field(description="the caller may change it (the city's organisation department)")


class LedgerIn(Schema):
    community_id: int | None = Field(None, description="a community (its staff, street, organisation dept)")
    work_unit_id: int | None = Field(
        None, description="member ledger only: a work unit's own members, in any community (its organiser)"
    )
    date_from: dt.date | None = Field(None, description="default 1 January of this year")
    date_to: dt.date | None = Field(None, description="default today; at most three years after date_from")


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
    "/volunteer/records/{int:record_id}",
    response={200: RecordOut, **errors(401, 404, 422)},
    summary="一条志愿服务记录",
)
def get_record(request: HttpRequest, record_id: int):
    """One record: one's own, or one in the staff's scope (their community's; a unit its members').
    On one's own record that counts, `confirm_url` is the link to send the served resident."""
    return records.record_for(actor=actor(request), record_id=record_id)


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


# --- the city's policy ------------------------------------------------------------------------------


def _policy_out(who, city, current) -> dict:
    return {
        "city_id": city.pk,
        "city": city.name,
        "annual_minimum": current.annual_minimum,
        "remind_days": current.remind_days,
        "can_change": policy_rules.can_set_policy(who, city),
    }


def _city_id(who, city_id: int | None) -> int | None:
    if city_id is not None:
        return city_id
    cities = policy_rules.policy_cities(actor=who)
    return cities[0].pk if cities else None


@router.get(
    "/volunteer/policy", response={200: PolicyOut, **errors(401, 404, 422)}, summary="志愿服务年度要求"
)
def get_policy(request: HttpRequest, query: Query[PolicyQuery]):
    """The city's annual minimum and reminder lead, for staff who work in the city."""
    who = actor(request)
    city, current = policy_rules.policy_of_city(actor=who, city_id=_city_id(who, query.city_id))
    return _policy_out(who, city, current)


@router.put(
    "/volunteer/policy",
    response={200: PolicyOut, **errors(400, 401, 403, 404, 422)},
    summary="设置志愿服务年度要求",
)
def put_policy(request: HttpRequest, query: Query[PolicyQuery], payload: PolicyIn):
    """Sets the city's annual minimum (1–52) and reminder lead (1–180 days): its organisation
    department only (403 for other staff of the city); audited."""
    who = actor(request)
    city_id = _city_id(who, query.city_id)
    policy_rules.set_policy(
        actor=who, city_id=city_id, annual_minimum=payload.annual_minimum, remind_days=payload.remind_days
    )
    city, current = policy_rules.policy_of_city(actor=who, city_id=city_id)
    return _policy_out(who, city, current)


# --- ledgers ----------------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_DOC = {"responses": {200: {"description": "the ledger (Excel)", "content": {XLSX: {}}}}}


def _xlsx(export, name: str, **kwargs) -> FileResponse:
    dest = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        owner, period, _count = export(dest=dest, **kwargs)
    except BaseException:
        dest.close()
        raise
    dest.seek(0)
    filename = f"{owner.name}{name}（{period.first:%Y%m%d}-{period.last:%Y%m%d}）.xlsx"
    return FileResponse(dest, as_attachment=True, filename=filename, content_type=XLSX)


@router.post(
    "/volunteer/ledgers/activities",
    response={200: None, **errors(400, 401, 403, 404, 422)},
    summary="下载志愿服务活动台账",
    openapi_extra=XLSX_DOC,
)
def ledger_activities(request: HttpRequest, payload: LedgerIn) -> HttpResponse:
    """A community's activity ledger for a period, as an Excel file (community_id required)."""
    if payload.community_id is None:
        raise InvalidInput("请选择社区", code="choose_community", fields={"community_id": ["请选择社区"]})
    return _xlsx(
        ledgers.export_activity_ledger,
        "志愿服务活动台账",
        actor=actor(request),
        community_id=payload.community_id,
        date_from=payload.date_from,
        date_to=payload.date_to,
    )


@router.post(
    "/volunteer/ledgers/members",
    response={200: None, **errors(400, 401, 403, 404, 422)},
    summary="下载党员志愿服务台账",
    openapi_extra=XLSX_DOC,
)
def ledger_members(request: HttpRequest, payload: LedgerIn) -> HttpResponse:
    """The member service ledger of a community (community_id) or of a work unit's own members
    (work_unit_id: their service in any community), for a period, as an Excel file."""
    return _xlsx(
        ledgers.export_member_ledger,
        "党员志愿服务台账",
        actor=actor(request),
        community_id=payload.community_id,
        work_unit_id=payload.work_unit_id,
        date_from=payload.date_from,
        date_to=payload.date_to,
    )
