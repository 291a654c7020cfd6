"""JSON API of the members app: registration (报到) from submission to review, a member's own profile,
and the audited reveal of one personal field.

Phone and ID numbers only ever leave the API masked (138****1234); the one way to read them in full is
POST /members/{id}/reveal, which checks scope and writes the audit log.
"""

from datetime import datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.api import PageQuery, actor, errors, page_of
from huijia.core.errors import InvalidInput
from huijia.core.web import public_url
from huijia.members import selectors, services
from huijia.members.models import FreeTime, Member, Registration, RegistrationStatus
from huijia.members.team_api import router as team_router

router = Router(tags=["报到与党员"])

IDENTITY_FIELDS = ("name", "phone", "id_number")


# --- Schemas -------------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class Choice(Schema):
    value: str
    label: str


def _free_time(values: list[str]) -> list[dict[str, str]]:
    labels = dict(FreeTime.choices)
    return [{"value": v, "label": str(labels.get(v, v))} for v in values]


class MemberBrief(Schema):
    id: int
    name: str
    masked_phone: str = Field(description="e.g. 138****1234; the full number only through /reveal")


class HouseholdBrief(Schema):
    id: int
    label: str = Field(description="unit and room, e.g. 1单元101室")
    floor: int
    building: Ref
    estate: Ref | None

    @staticmethod
    def resolve_estate(obj) -> Ref | None:
        return obj.building.parent


class RegistrationOut(Schema):
    id: int
    status: str
    status_label: str
    kind: str = Field(description="new, or transfer from the member's previous community")
    kind_label: str
    member: MemberBrief
    community: Ref
    household: HouseholdBrief
    work_unit: Ref | None
    skills: list[Ref]
    free_time: list[Choice]
    resources: str
    reject_reason: str
    previous_id: int | None
    submitted_at: datetime
    reviewed_at: datetime | None
    ended_at: datetime | None

    @staticmethod
    def resolve_status_label(obj: Registration) -> str:
        return obj.get_status_display()

    @staticmethod
    def resolve_kind_label(obj: Registration) -> str:
        return obj.get_kind_display()

    @staticmethod
    def resolve_skills(obj: Registration) -> list:
        return list(obj.skills.all())

    @staticmethod
    def resolve_free_time(obj: Registration) -> list[dict[str, str]]:
        return _free_time(obj.free_time)


class RegistrationPage(Schema):
    items: list[RegistrationOut]
    count: int
    limit: int
    offset: int


class RegistrationFilter(PageQuery):
    status: RegistrationStatus | None = Field(None, description="only registrations in this state")
    community_id: int | None = Field(None, description="only registrations to this community")


class IdentityIn(Schema):
    name: str = Field(max_length=64)
    phone: str = Field(max_length=20, description="mainland mobile number")
    id_number: str = Field(max_length=20, description="18-digit resident ID number")


class RegistrationIn(Schema):
    community_id: int
    household_id: int
    work_unit_id: int | None = None
    skill_ids: list[int] = Field(default_factory=list, max_length=20)
    free_time: list[FreeTime] = Field(default_factory=list, max_length=len(FreeTime.values))
    resources: str = Field("", max_length=200)
    identity: IdentityIn | None = Field(
        None, description="required for a first registration, refused once the member has a profile"
    )


class RejectIn(Schema):
    reason: str = Field("", max_length=500, description="shown to the member; required")


class HistoryOut(Schema):
    id: int
    community: Ref
    status: str
    status_label: str
    kind: str
    kind_label: str
    reject_reason: str
    submitted_at: datetime
    reviewed_at: datetime | None
    ended_at: datetime | None

    @staticmethod
    def resolve_status_label(obj: Registration) -> str:
        return obj.get_status_display()

    @staticmethod
    def resolve_kind_label(obj: Registration) -> str:
        return obj.get_kind_display()


class MeOut(Schema):
    id: int
    name: str
    masked_phone: str
    masked_id_number: str
    volunteer_no: str = Field(description="public identifier used instead of the ID number")
    community: Ref | None
    household: HouseholdBrief | None
    work_unit: Ref | None
    registered_org: Ref | None = Field(description="the Party organisation holding the membership")
    skills: list[Ref]
    free_time: list[Choice]
    resources: str
    card_verification_url: str | None = Field(
        description="what the member card's QR code opens; null until a registration is approved"
    )
    registrations: list[HistoryOut]

    @staticmethod
    def resolve_skills(obj: Member) -> list:
        return list(obj.skills.all())

    @staticmethod
    def resolve_free_time(obj: Member) -> list[dict[str, str]]:
        return _free_time(obj.free_time)

    @staticmethod
    def resolve_registrations(obj: Member) -> list:
        return obj.history

    @staticmethod
    def resolve_card_verification_url(obj: Member) -> str | None:
        if not any(r.status == RegistrationStatus.APPROVED for r in obj.history):
            return None
        try:
            path = reverse("members:verify", args=[obj.card_token])
        except NoReverseMatch:  # the public verification page (HTML screens) is not routed yet
            return None
        return public_url(path)


class RevealIn(Schema):
    field: Literal["phone", "id_number"]


class RevealOut(Schema):
    field: str
    value: str


# --- Registrations -------------------------------------------------------------------------------


@router.get(
    "/registrations",
    response={200: RegistrationPage, **errors(401, 422)},
    summary="报到申请列表",
)
def list_registrations(request: HttpRequest, filters: Query[RegistrationFilter]):
    """The registrations the caller may see (staff: their scope; a member: their own), newest first."""
    qs = selectors.registration_queue(
        actor=actor(request),
        community_id=filters.community_id,
        status=filters.status.value if filters.status else None,
    )
    return page_of(qs, filters)


def _under_identity(exc: InvalidInput) -> InvalidInput:
    """Names identity errors by their path in the request body (identity.id_number)."""
    exc.fields = {(f"identity.{k}" if k in IDENTITY_FIELDS else k): v for k, v in exc.fields.items()}
    return exc


@router.post(
    "/registrations",
    response={201: RegistrationOut, **errors(400, 401, 403, 409, 422)},
    summary="提交报到",
)
def submit_registration(request: HttpRequest, payload: RegistrationIn):
    """Reports in to a community (or transfers after a move). `identity` only on the first registration."""
    who = actor(request)
    if who.member_id and payload.identity is not None:
        message = _("您已有党员档案，无需再次填写身份信息")
        raise InvalidInput(message, code="identity_not_allowed", fields={"identity": [message]})
    identity = services.Identity(**payload.identity.dict()) if payload.identity else None
    data = services.RegistrationInput(
        community_id=payload.community_id,
        household_id=payload.household_id,
        work_unit_id=payload.work_unit_id,
        skill_ids=payload.skill_ids,
        free_time=[choice.value for choice in payload.free_time],
        resources=payload.resources,
        identity=identity,
    )
    try:
        registration = services.submit_registration(actor=who, data=data)
    except InvalidInput as exc:
        raise _under_identity(exc) from None
    return Status(201, registration)


@router.get(
    "/registrations/{registration_id}",
    response={200: RegistrationOut, **errors(401, 404, 422)},
    summary="报到申请详情",
)
def get_registration(request: HttpRequest, registration_id: int):
    """One registration in the caller's scope; missing and out-of-scope both answer 404."""
    return selectors.registration_for(actor=actor(request), registration_id=registration_id)


@router.post(
    "/registrations/{registration_id}/approve",
    response={200: RegistrationOut, **errors(401, 403, 404, 409, 422)},
    summary="通过报到",
)
def approve_registration(request: HttpRequest, registration_id: int):
    """Community staff accept a pending registration. 403 for roles that may only view, 409 if not pending."""
    return services.approve_registration(actor=actor(request), registration_id=registration_id)


@router.post(
    "/registrations/{registration_id}/reject",
    response={200: RegistrationOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="退回报到",
)
def reject_registration(request: HttpRequest, registration_id: int, payload: RejectIn):
    """Community staff send a pending registration back; the reason (required) is shown to the member."""
    return services.reject_registration(
        actor=actor(request), registration_id=registration_id, reason=payload.reason
    )


@router.post(
    "/registrations/{registration_id}/withdraw",
    response={200: RegistrationOut, **errors(401, 403, 404, 409, 422)},
    summary="撤回报到",
)
def withdraw_registration(request: HttpRequest, registration_id: int):
    """A member withdraws their own pending registration, or leaves the community they reported to."""
    return services.withdraw_registration(actor=actor(request), registration_id=registration_id)


# --- Members -------------------------------------------------------------------------------------


@router.get(
    "/members/me",
    response={200: MeOut, **errors(401, 404)},
    summary="我的党员信息",
)
def my_profile(request: HttpRequest, response: HttpResponse):
    """The signed-in member's own profile (masked), member card link and registration history."""
    response["Cache-Control"] = "private, no-store"
    return selectors.my_member(actor=actor(request))


@router.post(
    "/members/{member_id}/reveal",
    response={200: RevealOut, **errors(400, 401, 403, 404, 422)},
    summary="查看完整手机号或身份证号（留痕）",
)
def reveal(request: HttpRequest, member_id: int, payload: RevealIn, response: HttpResponse):
    """Shows one personal field unmasked to a role that needs it; every call is written to the audit log."""
    response["Cache-Control"] = "private, no-store"
    value = services.reveal_member_pii(actor=actor(request), member_id=member_id, field_name=payload.field)
    return {"field": payload.field, "value": value}


router.add_router("", team_router)  # teams and zones (包干到户): huijia/members/team_api.py
