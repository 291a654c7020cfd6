"""JSON API of demands (诉求): the whole closed loop, escalations (吹哨), and complaints and suggestions.

Thin over huijia.demands.services / selectors / feedback, like the HTML screens. Mounted by huijia/api.py.

Who may call what:
- anyone, without an account: submit a demand as a resident (and follow one already reported), read
  one by its tracking code, confirm/rate or reopen it with that code, the category list and the
  category suggestion, similar open demands, write a complaint or suggestion and read it by its code;
- everything else needs a token or a session, and is scoped by the services and selectors.

The reporter's phone number only ever leaves this API masked (138****5678). A demand's tracking code
is the key to rate or reopen it: it is shown to whoever reported it and to staff who manage it, never
to the member handling it.
"""

from datetime import datetime
from typing import Literal

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor
from huijia.api import PageQuery, SessionAuth, TokenAuth, Unauthenticated, actor, errors, page_of
from huijia.core.errors import InvalidInput, NotFound
from huijia.core.personal import mask_contact, mask_name
from huijia.core.photos import photo_response
from huijia.demands import classify, duplicates, feedback, selectors, services
from huijia.demands.models import (
    AssigneeKind,
    Demand,
    DemandEvent,
    DemandPhoto,
    DemandStatus,
    Escalation,
    EscalationTarget,
    EventKind,
    Feedback,
    FeedbackKind,
    Rating,
)
from huijia.grid.models import Area, AreaKind

router = Router(tags=["诉求"])


def _anyone(request: HttpRequest) -> AnonymousUser:
    """The last resort of the public operations: no credentials is fine (a wrong token is still 401)."""
    return AnonymousUser()


# Public operations: credentials are optional (the `{}` entry says so in the OpenAPI document).
OPEN = {
    "auth": [TokenAuth(), SessionAuth(), _anyone],
    "openapi_extra": {"security": [{"TokenAuth": []}, {"SessionAuth": []}, {}]},
}

# What a caller may name as the channel. A visit's demands come from the visit service (which checks the
# household may be visited) and Open311's from /open311/v2/: neither is open to a plain API call.
ApiSource = Literal["resident", "post", "staff", "patrol", "meeting"]

# Timeline entries the public tracking page leaves out: handlers' notes and the deadline job's marks.
INTERNAL_EVENTS = frozenset({EventKind.NOTE, EventKind.REMINDED, EventKind.OVERDUE})


def _shows_code(who: Actor, demand: Demand) -> bool:
    """The tracking code (the key to rate and reopen) goes to the reporter and to managing staff only."""
    if who.user_id is not None and demand.reporter_id == who.user_id:
        return True
    return who.covers(Perm.MANAGE_DEMANDS, demand.area.path)


def _place(demand: Demand) -> str:
    """小区 and building (or the community), e.g. 识字岭社区幸福小区 3栋."""
    area = demand.area
    if area.kind == AreaKind.BUILDING and demand.estate_id:
        return f"{demand.estate.name} {area.name}"
    return area.name


# --- Schemas -------------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class CategoryRef(Schema):
    code: str
    name: str


class CategoryOut(Schema):
    code: str
    name: str
    group: str
    description: str
    respond_hours: int = Field(description="to be accepted or declined within so many hours")
    resolve_hours: int = Field(description="to be resolved within so many hours")


class AssigneeOut(Schema):
    kind: str
    kind_label: str
    id: int = Field(description="the estate (branch), team, service team or member id")
    name: str


def _assignee(demand: Demand) -> dict | None:
    kind = demand.assignee_kind
    if kind == AssigneeKind.BRANCH and demand.assigned_area_id:
        target, name = demand.assigned_area, f"{demand.assigned_area.name}党支部"
    elif kind == AssigneeKind.TEAM and demand.assigned_team_id:
        target, name = demand.assigned_team, demand.assigned_team.name
    elif kind == AssigneeKind.SERVICE_TEAM and demand.assigned_service_team_id:
        target, name = demand.assigned_service_team, demand.assigned_service_team.name
    elif kind == AssigneeKind.MEMBER and demand.assigned_member_id:
        target, name = demand.assigned_member, demand.assigned_member.name
    else:
        return None
    return {"kind": kind, "kind_label": demand.get_assignee_kind_display(), "id": target.pk, "name": name}


class DemandRow(Schema):
    id: int
    tracking_code: str | None = Field(description="only for the reporter and for staff who manage it")
    status: str
    status_label: str
    source: str
    source_label: str
    category: CategoryRef | None
    description: str
    place: str = Field(description="estate and building, or the community")
    area: Ref
    estate: Ref | None
    community: Ref | None
    assignee: AssigneeOut | None
    overdue: bool
    respond_by: datetime | None
    resolve_by: datetime | None
    created_at: datetime
    version: int = Field(description="send it back with a step: 409 if someone moved the demand meanwhile")

    @staticmethod
    def resolve_tracking_code(obj: Demand, context) -> str | None:
        return obj.tracking_code if _shows_code(actor(context["request"]), obj) else None

    @staticmethod
    def resolve_status_label(obj: Demand) -> str:
        return obj.get_status_display()

    @staticmethod
    def resolve_source_label(obj: Demand) -> str:
        return obj.get_source_display()

    @staticmethod
    def resolve_place(obj: Demand) -> str:
        return _place(obj)

    @staticmethod
    def resolve_assignee(obj: Demand) -> dict | None:
        return _assignee(obj)


class DemandPage(Schema):
    items: list[DemandRow]
    count: int
    limit: int
    offset: int


class EventOut(Schema):
    kind: str
    kind_label: str
    actor_label: str = Field(description="who took the step, as they were then")
    text: str
    created_at: datetime

    @staticmethod
    def resolve_kind_label(obj: DemandEvent) -> str:
        return obj.get_kind_display()


class PhotoOut(Schema):
    id: int
    stage: str
    stage_label: str
    url: str

    @staticmethod
    def resolve_stage_label(obj: DemandPhoto) -> str:
        return obj.get_stage_display()

    @staticmethod
    def resolve_url(obj: DemandPhoto) -> str:
        return f"/api/v1/demands/{obj.demand_id}/photos/{obj.pk}"


class EscalationOut(Schema):
    id: int
    target: str
    target_label: str
    to: str = Field(description="the work unit or street it was sent to")
    reason: str
    status: str
    status_label: str
    answer: str
    sent_at: datetime
    answered_at: datetime | None

    @staticmethod
    def resolve_target_label(obj: Escalation) -> str:
        return obj.get_target_display()

    @staticmethod
    def resolve_to(obj: Escalation) -> str:
        return obj.work_unit.name if obj.work_unit_id else obj.street.name

    @staticmethod
    def resolve_status_label(obj: Escalation) -> str:
        return obj.get_status_display()


class DemandOut(DemandRow):
    household: str | None = Field(description="building, unit and room, when it concerns one household")
    reporter_name: str
    reporter_phone_masked: str = Field(description="e.g. 138****5678; never shown in full here")
    decline_reason: str
    resolution: str
    rating: str
    rating_label: str
    rating_comment: str
    rated_by_staff: bool = Field(description="the rating was recorded by staff on a call-back (回访)")
    reopen_count: int
    responded_at: datetime | None
    assigned_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    merged_into_id: int | None = Field(description="the demand this one was filed under as a duplicate")
    merged_ids: list[int] = Field(description="duplicates filed under this demand")
    timeline: list[EventOut]
    photos: list[PhotoOut]
    escalations: list[EscalationOut]

    @staticmethod
    def resolve_household(obj: Demand) -> str | None:
        h = obj.household
        return None if h is None else f"{h.building.name} {h.unit}{h.room}室"

    @staticmethod
    def resolve_reporter_phone_masked(obj: Demand) -> str:
        return mask_contact(obj.reporter_phone)

    @staticmethod
    def resolve_rating_label(obj: Demand) -> str:
        return obj.get_rating_display() if obj.rating else ""

    @staticmethod
    def resolve_merged_ids(obj: Demand) -> list[int]:
        return [d.pk for d in obj.merged_rows]

    @staticmethod
    def resolve_photos(obj: Demand) -> list:
        return obj.photo_rows

    @staticmethod
    def resolve_escalations(obj: Demand) -> list:
        return obj.escalation_rows


class PublicPhotoOut(PhotoOut):
    @staticmethod
    def resolve_url(obj: DemandPhoto) -> str:
        return f"/api/v1/demands/track/{obj.demand.tracking_code}/photos/{obj.pk}"


class TrackOut(Schema):
    """What the holder of a tracking code sees: the reporter's name masked, no phone, no internal notes."""

    id: int
    tracking_code: str
    status: str
    status_label: str
    category: CategoryRef | None
    description: str
    place: str
    community: str
    reporter_name: str = Field(description="masked, e.g. 陈*")
    decline_reason: str
    resolution: str
    rating: str
    rating_label: str
    rating_comment: str
    merged: bool = Field(description="filed under another report of the same problem, handled with it")
    created_at: datetime
    resolved_at: datetime | None
    timeline: list[EventOut]
    photos: list[PublicPhotoOut]

    @staticmethod
    def resolve_status_label(obj: Demand) -> str:
        return obj.get_status_display()

    @staticmethod
    def resolve_place(obj: Demand) -> str:
        return _place(obj)

    @staticmethod
    def resolve_community(obj: Demand) -> str:
        return obj.community.name if obj.community_id else ""

    @staticmethod
    def resolve_reporter_name(obj: Demand) -> str:
        return mask_name(obj.reporter_name)

    @staticmethod
    def resolve_rating_label(obj: Demand) -> str:
        return obj.get_rating_display() if obj.rating else ""

    @staticmethod
    def resolve_merged(obj: Demand) -> bool:
        return obj.merged_into_id is not None

    @staticmethod
    def resolve_timeline(obj: Demand) -> list:
        return [e for e in obj.timeline if e.kind not in INTERNAL_EVENTS]

    @staticmethod
    def resolve_photos(obj: Demand) -> list:
        return obj.photo_rows


class DemandIn(Schema):
    description: str = Field(description="what the problem is (at most 2000 characters)")
    source: ApiSource = Field(
        "resident",
        description="resident (anyone, no account needed), post (a member at an opinion-collection post), "
        "staff (typed in for a resident, 代录), patrol or meeting",
    )
    area_id: int | None = Field(
        None, description="the building, estate or community; may be omitted when household_id is given"
    )
    household_id: int | None = None
    category: str = Field("", max_length=40, description="a category code; empty: the suggested one")
    reporter_name: str = Field("", max_length=100)
    reporter_phone: str = Field("", max_length=30, description="optional; mobile or landline with area code")


class FollowIn(Schema):
    reporter_name: str = Field("", max_length=100)
    reporter_phone: str = Field("", max_length=30)
    description: str = Field("", description="optional; the followed demand's text if empty")


class VersionIn(Schema):
    version: int | None = Field(None, description="the version the caller saw; 409 when it is stale")


class AcceptIn(VersionIn):
    category: str = Field("", max_length=40, description="a category code to file it under instead")
    note: str = Field("", max_length=200)


class DeclineIn(VersionIn):
    reason: str = Field(description="told to the resident")


class AssignIn(VersionIn):
    kind: AssigneeKind
    target_id: int | None = Field(
        description="the estate id (branch), the team id, the service team id (service_team: an active "
        "team of the demand's community with members) or the member id"
    )
    reassign: bool = Field(False, description="move an assigned demand to someone else")
    note: str = Field("", max_length=200)


class ResolveIn(VersionIn):
    resolution: str = Field(description="what was done")


class RateIn(Schema):
    rating: Rating
    comment: str = Field("", description="required when unsatisfied")
    tracking_code: str | None = Field(None, max_length=12, description="without an account: the code given")


class ReopenIn(Schema):
    reason: str = Field(description="what is still not solved")
    tracking_code: str | None = Field(None, max_length=12)


class RecategoriseIn(VersionIn):
    category: str = Field(max_length=40)


class MergeIn(Schema):
    demand_ids: list[int] = Field(max_length=50, description="duplicates to file under this demand")


class NoteIn(Schema):
    text: str


class EscalateIn(VersionIn):
    target: EscalationTarget
    reason: str
    work_unit_id: int | None = Field(None, description="required when target is work_unit")


class DemandFilter(PageQuery):
    community_id: int | None = None
    status: DemandStatus | None = None
    category: str | None = Field(None, max_length=40, description="a category code")
    estate_id: int | None = None
    overdue: bool | None = None


class AssignedFilter(PageQuery):
    open_only: bool = Field(True, description="only assigned or in progress")


class SuggestOut(Schema):
    category: CategoryOut | None


class SimilarOut(Schema):
    id: int
    excerpt: str = Field(description="the beginning of the description")
    category: CategoryRef | None
    status: str
    status_label: str
    created_at: datetime


class DemandBrief(Schema):
    id: int
    description: str
    status: str
    status_label: str
    category: CategoryRef | None
    community: Ref | None

    @staticmethod
    def resolve_status_label(obj: Demand) -> str:
        return obj.get_status_display()


class InboxOut(EscalationOut):
    demand: DemandBrief


class InboxPage(Schema):
    items: list[InboxOut]
    count: int
    limit: int
    offset: int


class InboxFilter(PageQuery):
    open_only: bool = Field(True, description="only sent or accepted, not yet reported back")


class AnswerIn(Schema):
    accept: bool = Field(description="true: take it on (接哨); false: send it back with a reason")
    answer: str = ""


class ReportIn(Schema):
    answer: str = Field(description="what was done: resolves the demand")


class FeedbackIn(Schema):
    community_id: int
    kind: FeedbackKind
    text: str
    contact_name: str = Field("", max_length=100)
    contact_phone: str = Field("", max_length=30)
    demand_code: str = Field("", max_length=12, description="the tracking code of the demand it is about")


class FeedbackPublicOut(Schema):
    tracking_code: str
    kind: str
    kind_label: str
    text: str
    community: str
    answer: str
    answered_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_kind_label(obj: Feedback) -> str:
        return obj.get_kind_display()

    @staticmethod
    def resolve_community(obj: Feedback) -> str:
        return obj.community.name


class FeedbackOut(Schema):
    id: int
    tracking_code: str | None = Field(description="only for its author")
    kind: str
    kind_label: str
    text: str
    community: Ref
    contact_name: str
    contact_phone_masked: str
    demand_id: int | None
    answer: str
    answered_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_tracking_code(obj: Feedback, context) -> str | None:
        who = actor(context["request"])
        return obj.tracking_code if who.user_id is not None and obj.author_id == who.user_id else None

    @staticmethod
    def resolve_kind_label(obj: Feedback) -> str:
        return obj.get_kind_display()

    @staticmethod
    def resolve_contact_phone_masked(obj: Feedback) -> str:
        return mask_contact(obj.contact_phone)


class FeedbackPage(Schema):
    items: list[FeedbackOut]
    count: int
    limit: int
    offset: int


class FeedbackFilter(PageQuery):
    answered: bool | None = Field(None, description="true: answered; false: waiting for an answer")


class FeedbackAnswerIn(Schema):
    answer: str


# --- Reading -------------------------------------------------------------------------------------


def _detail(request: HttpRequest, demand_id: int) -> Demand:
    return selectors.demand_for(actor=actor(request), demand_id=demand_id)


def _public(code: str) -> Demand:
    return selectors.demand_by_code(tracking_code=code)


def _no_store(response: HttpResponse) -> None:
    response["Cache-Control"] = "private, no-store"


@router.get("/demands", response={200: DemandPage, **errors(401, 422)}, summary="诉求列表")
def list_demands(request: HttpRequest, filters: Query[DemandFilter]):
    """Demands the caller may see, newest first: staff their area, a street or work unit what was
    escalated to it, a member what they collected or handle, a resident their own."""
    qs = selectors.demands_for(
        actor=actor(request),
        community_id=filters.community_id,
        status=filters.status.value if filters.status else None,
        category_code=filters.category,
        estate_id=filters.estate_id,
        overdue=filters.overdue,
    )
    return page_of(qs, filters)


@router.get(
    "/demands/categories", response={200: list[CategoryOut], **errors(401)}, **OPEN, summary="诉求类别"
)
def list_categories(request: HttpRequest):
    """The active categories with their deadlines (public: the resident's form needs them)."""
    return list(selectors.categories())


@router.get(
    "/demands/suggest-category",
    response={200: SuggestOut, **errors(401, 422)},
    **OPEN,
    summary="根据内容推荐类别",
)
def suggest_category(request: HttpRequest, text: str = Query(..., max_length=2000)):
    """The category the classifier suggests for a text while it is typed; null when nothing fits."""
    return {"category": classify.suggest_category(text)}


@router.get(
    "/demands/similar",
    response={200: list[SimilarOut], **errors(400, 401, 422)},
    **OPEN,
    summary="相似的未办结诉求",
)
def similar_demands(
    request: HttpRequest,
    area_id: int,
    text: str = Query("", max_length=2000),
    category: str = Query("", max_length=40, description="a category code"),
):
    """Open demands of the same building or estate (and category) that look like the text: "the same
    problem is already reported, follow it instead" (POST /demands/{id}/follow). No personal data."""
    area = Area.objects.filter(pk=area_id, kind__in=(AreaKind.BUILDING, AreaKind.ESTATE, AreaKind.COMMUNITY))
    place = area.only("pk", "path", "kind").first()
    if place is None:
        message = _("请选择楼栋、小区或社区")
        raise InvalidInput(message, code="bad_place", fields={"area_id": [message]})
    known = {c.pk: c for c in selectors.categories()}
    chosen = next((c for c in known.values() if c.code == category), None) if category else None
    if category and chosen is None:
        message = _("没有这个诉求类别，请从列表中选择")
        raise InvalidInput(message, code="unknown_category", fields={"category": [message]})
    rows = duplicates.similar_open(text, place, chosen, public=True)
    return [
        {
            "id": d.pk,
            "excerpt": d.description[:60],
            "category": known.get(d.category_id),
            "status": d.status,
            "status_label": d.get_status_display(),
            "created_at": d.created_at,
        }
        for d in rows
    ]


@router.get("/demands/mine", response={200: DemandPage, **errors(401, 422)}, summary="我反映的诉求")
def my_demands(request: HttpRequest, page: Query[PageQuery]):
    """The demands the signed-in resident reported from their account, newest first."""
    return page_of(selectors.my_reported(actor=actor(request)).select_related(*selectors.LIST_RELATED), page)


@router.get("/demands/assigned", response={200: DemandPage, **errors(401, 422)}, summary="派给我的诉求")
def assigned_demands(request: HttpRequest, filters: Query[AssignedFilter]):
    """A member's work list: demands assigned to them or their team, the soonest due first."""
    return page_of(selectors.assigned_to_me(actor=actor(request), open_only=filters.open_only), filters)


@router.get(
    "/demands/track/{code}",
    response={200: TrackOut, **errors(401, 404, 422)},
    **OPEN,
    summary="凭查询码查看诉求",
)
def track_demand(request: HttpRequest, code: str, response: HttpResponse):
    """One demand by the tracking code its reporter was given: progress, result, rating."""
    _no_store(response)
    return _public(code)


def _photo_of(demand: Demand, photo_id: int) -> DemandPhoto:
    photo = next((p for p in demand.photo_rows if p.pk == photo_id), None)
    if photo is None:
        raise NotFound()
    return photo


@router.get(
    "/demands/track/{code}/photos/{int:photo_id}",
    response={200: None, **errors(401, 404, 422)},
    **OPEN,
    summary="凭查询码查看诉求照片",
)
def track_photo(request: HttpRequest, code: str, photo_id: int):
    """A photo of the demand (the image itself)."""
    return photo_response(_photo_of(_public(code), photo_id).image)


@router.get(
    "/demands/{int:demand_id}", response={200: DemandOut, **errors(401, 404, 422)}, summary="诉求详情"
)
def get_demand(request: HttpRequest, demand_id: int, response: HttpResponse):
    """One demand in the caller's scope with its timeline, photos and escalations; 404 otherwise."""
    _no_store(response)
    return _detail(request, demand_id)


@router.get(
    "/demands/{int:demand_id}/photos/{int:photo_id}",
    response={200: None, **errors(401, 404, 422)},
    summary="诉求照片",
)
def demand_photo(request: HttpRequest, demand_id: int, photo_id: int):
    """A photo of a demand in the caller's scope (the image itself)."""
    return photo_response(_photo_of(_detail(request, demand_id), photo_id).image)


# --- Submitting ----------------------------------------------------------------------------------


def _submit(request: HttpRequest, payload: DemandIn, photos=()) -> Status:
    who = actor(request)
    if payload.source != "resident" and not who.is_authenticated:
        raise Unauthenticated()
    data = services.DemandInput(
        description=payload.description,
        source=payload.source,
        area_id=payload.area_id,
        household_id=payload.household_id,
        category_code=payload.category,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        photos=tuple(photos),
    )
    demand = services.submit_demand(actor=who, data=data)
    return Status(201, _public(demand.tracking_code))


SUBMIT_DOC = """Records a demand from a channel and answers with its tracking code, which is the reporter's
key to follow, confirm and rate it. A resident needs no account (source "resident"); the other
channels need a member (post) or staff of the place (staff, patrol, meeting). 400 for bad input
(empty or too long text, unknown place or category, bad phone number); nothing is stored then."""


@router.post(
    "/demands",
    response={201: TrackOut, **errors(400, 401, 403, 422)},
    **OPEN,
    summary="提交诉求",
    description=SUBMIT_DOC,
)
def submit_demand(request: HttpRequest, payload: DemandIn):
    return _submit(request, payload)


@router.post(
    "/demands/form",
    response={201: TrackOut, **errors(400, 401, 403, 422)},
    **OPEN,
    summary="提交诉求（表单，可带照片）",
    description=SUBMIT_DOC + " The same as POST /demands as multipart/form-data, with up to 5 optional "
    "photos (JPEG, PNG, WebP or GIF, at most 5 MB each) in the field `photos`.",
)
def submit_demand_form(
    request: HttpRequest, payload: Form[DemandIn], photos: File[list[UploadedFile]] = None
):
    return _submit(request, payload, photos or ())


@router.post(
    "/demands/{int:demand_id}/follow",
    response={201: TrackOut, **errors(400, 401, 403, 404, 422)},
    **OPEN,
    summary="跟进已有的同类诉求",
)
def follow_demand(request: HttpRequest, demand_id: int, payload: FollowIn):
    """Instead of reporting the same problem again: the caller gets their own tracking code, filed under
    the open demand, and hears when it is resolved. 404 when that demand is closed or unknown."""
    follower = services.follow_demand(
        actor=actor(request),
        demand_id=demand_id,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        description=payload.description,
    )
    return Status(201, _public(follower.tracking_code))


# --- The loop ------------------------------------------------------------------------------------

STEP_ERRORS = errors(400, 401, 403, 404, 409, 422)


@router.post("/demands/{int:demand_id}/accept", response={200: DemandOut, **STEP_ERRORS}, summary="受理")
def accept_demand(request: HttpRequest, demand_id: int, payload: AcceptIn):
    """Staff accept a submitted demand, optionally filing it under another category. 409 if it was
    already accepted, or the version is stale."""
    services.accept_demand(
        actor=actor(request),
        demand_id=demand_id,
        version=payload.version,
        category_code=payload.category,
        note=payload.note,
    )
    return _detail(request, demand_id)


@router.post("/demands/{int:demand_id}/decline", response={200: DemandOut, **STEP_ERRORS}, summary="不予受理")
def decline_demand(request: HttpRequest, demand_id: int, payload: DeclineIn):
    """Staff decline a submitted demand with a reason the resident is told."""
    services.decline_demand(
        actor=actor(request), demand_id=demand_id, reason=payload.reason, version=payload.version
    )
    return _detail(request, demand_id)


@router.post("/demands/{int:demand_id}/assign", response={200: DemandOut, **STEP_ERRORS}, summary="派单")
def assign_demand(request: HttpRequest, demand_id: int, payload: AssignIn):
    """Sends the demand to the estate branch, a zone team, a service team or a member of the community
    (a submitted one is accepted too). 409 `already_assigned` when someone has just assigned it:
    reassigning is explicit (`reassign: true`)."""
    services.assign_demand(
        actor=actor(request),
        demand_id=demand_id,
        kind=payload.kind.value,
        target_id=payload.target_id,
        version=payload.version,
        reassign=payload.reassign,
        note=payload.note,
    )
    return _detail(request, demand_id)


@router.post(
    "/demands/{int:demand_id}/start",
    response={200: DemandOut, **STEP_ERRORS},
    summary="开始办理",
)
def start_demand(request: HttpRequest, demand_id: int, payload: VersionIn):
    """The assignee starts work on a demand assigned to them, their team or their estate (send {} when
    there is no version to check)."""
    services.start_demand(actor=actor(request), demand_id=demand_id, version=payload.version)
    return _detail(request, demand_id)


@router.post("/demands/{int:demand_id}/resolve", response={200: DemandOut, **STEP_ERRORS}, summary="办结")
def resolve_demand(request: HttpRequest, demand_id: int, payload: ResolveIn):
    """The assignee or staff record what was done; the resident (and those of merged duplicates) are
    asked to confirm and rate."""
    services.resolve_demand(
        actor=actor(request), demand_id=demand_id, resolution=payload.resolution, version=payload.version
    )
    return _detail(request, demand_id)


def _as_reporter(request: HttpRequest, demand_id: int, code: str | None) -> tuple[Actor, str | None]:
    """Who confirms: the holder of the demand's tracking code, or a signed-in caller (the reporter, or
    staff recording a call-back; the service refuses anyone else)."""
    who = actor(request)
    if code:
        if _public(code).pk != demand_id:
            raise NotFound()
        return who, code
    if not who.is_authenticated:
        raise Unauthenticated()
    return who, None


@router.post(
    "/demands/{int:demand_id}/rate",
    response={200: TrackOut, **STEP_ERRORS},
    **OPEN,
    summary="确认并评价",
)
def rate_demand(request: HttpRequest, demand_id: int, payload: RateIn):
    """The resident confirms a resolved demand and rates it, once: from their account, or with the
    tracking code; staff may record the rating of a call-back (回访). 409 when already rated or not
    resolved; 403 for someone who sees the demand but did not report it and does not manage it."""
    who, code = _as_reporter(request, demand_id, payload.tracking_code)
    demand = services.rate_demand(
        actor=who,
        rating=payload.rating.value,
        comment=payload.comment,
        demand_id=None if code else demand_id,
        tracking_code=code,
    )
    return _public(demand.tracking_code)


@router.post(
    "/demands/{int:demand_id}/reopen",
    response={200: TrackOut, **STEP_ERRORS},
    **OPEN,
    summary="没有解决，重新办理",
)
def reopen_demand(request: HttpRequest, demand_id: int, payload: ReopenIn):
    """The resident says a resolved demand is not in fact solved: it goes back to whoever handled it."""
    who, code = _as_reporter(request, demand_id, payload.tracking_code)
    demand = services.reopen_demand(
        actor=who, reason=payload.reason, demand_id=None if code else demand_id, tracking_code=code
    )
    return _public(demand.tracking_code)


@router.post(
    "/demands/{int:demand_id}/recategorise", response={200: DemandOut, **STEP_ERRORS}, summary="调整类别"
)
def recategorise_demand(request: HttpRequest, demand_id: int, payload: RecategoriseIn):
    """Staff file an open demand under another category (the classifier learns from it)."""
    services.recategorise_demand(
        actor=actor(request), demand_id=demand_id, category_code=payload.category, version=payload.version
    )
    return _detail(request, demand_id)


@router.post(
    "/demands/{int:demand_id}/merge", response={200: DemandOut, **STEP_ERRORS}, summary="合并重复诉求"
)
def merge_demands(request: HttpRequest, demand_id: int, payload: MergeIn):
    """Files duplicates (submitted or accepted, same community) under this open demand; their residents
    hear when it is resolved."""
    services.merge_demands(actor=actor(request), into_id=demand_id, demand_ids=payload.demand_ids)
    return _detail(request, demand_id)


@router.post(
    "/demands/{int:demand_id}/notes",
    response={201: EventOut, **errors(400, 401, 403, 404, 422)},
    summary="添加备注",
)
def add_note(request: HttpRequest, demand_id: int, payload: NoteIn):
    """A note on the timeline by whoever handles the demand (not shown on the public tracking page)."""
    return Status(201, services.add_note(actor=actor(request), demand_id=demand_id, text=payload.text))


class PhoneOut(Schema):
    phone: str


@router.post(
    "/demands/{int:demand_id}/reveal-phone",
    response={200: PhoneOut, **errors(400, 401, 403, 404, 422)},
    summary="查看反映人完整电话（留痕）",
)
def reveal_phone(request: HttpRequest, demand_id: int, response: HttpResponse):
    """The reporter's phone in full, for staff managing the demand or its assignee, to call back. Every
    call is written to the audit log; 400 when no phone was left."""
    response["Cache-Control"] = "private, no-store"
    return {"phone": services.reveal_reporter_phone(actor=actor(request), demand_id=demand_id)}


@router.post(
    "/demands/{int:demand_id}/escalate",
    response={201: EscalationOut, **STEP_ERRORS},
    summary="吹哨",
)
def escalate_demand(request: HttpRequest, demand_id: int, payload: EscalateIn):
    """The community cannot solve it alone: sends it to a work unit or up to its street."""
    escalation = services.escalate_demand(
        actor=actor(request),
        demand_id=demand_id,
        target=payload.target.value,
        reason=payload.reason,
        work_unit_id=payload.work_unit_id,
        version=payload.version,
    )
    return Status(201, escalation)


# --- Escalations (the 接哨 inbox of streets and work units) ---------------------------------------


@router.get("/escalations", response={200: InboxPage, **errors(401, 422)}, summary="接哨列表")
def list_escalations(request: HttpRequest, filters: Query[InboxFilter]):
    """Escalations the caller's street or work unit received, newest first."""
    return page_of(selectors.escalations_for(actor=actor(request), open_only=filters.open_only), filters)


def _escalation(request: HttpRequest, escalation_id: int) -> Escalation:
    found = selectors.escalations_for(actor=actor(request), open_only=False).filter(pk=escalation_id).first()
    if found is None:
        raise NotFound()
    return found


@router.post(
    "/escalations/{escalation_id}/answer",
    response={200: InboxOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="接哨或退回",
)
def answer_escalation(request: HttpRequest, escalation_id: int, payload: AnswerIn):
    """The receiving side takes the demand on, or sends it back with a reason. 409 if already answered."""
    services.answer_escalation(
        actor=actor(request), escalation_id=escalation_id, accept=payload.accept, answer=payload.answer
    )
    return _escalation(request, escalation_id)


@router.post(
    "/escalations/{escalation_id}/report",
    response={200: InboxOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="反馈办理结果",
)
def report_escalation(request: HttpRequest, escalation_id: int, payload: ReportIn):
    """The receiving side reports what it did: the demand is resolved and the resident asked to rate."""
    services.report_escalation(actor=actor(request), escalation_id=escalation_id, answer=payload.answer)
    return _escalation(request, escalation_id)


# --- Complaints and suggestions (投诉建议) ---------------------------------------------------------


@router.post(
    "/feedback",
    response={201: FeedbackPublicOut, **errors(400, 401, 403, 422)},
    **OPEN,
    summary="投诉建议",
)
def submit_feedback(request: HttpRequest, payload: FeedbackIn):
    """A complaint or suggestion to a community, with or without an account; answers with the tracking
    code to read the reply by."""
    item = feedback.submit_feedback(
        actor=actor(request),
        data=feedback.FeedbackInput(
            community_id=payload.community_id,
            kind=payload.kind.value,
            text=payload.text,
            contact_name=payload.contact_name,
            contact_phone=payload.contact_phone,
            demand_code=payload.demand_code,
        ),
    )
    return Status(201, feedback.feedback_by_code(tracking_code=item.tracking_code))


@router.get("/feedback", response={200: FeedbackPage, **errors(401, 422)}, summary="投诉建议列表")
def list_feedback(request: HttpRequest, filters: Query[FeedbackFilter]):
    """Staff: their communities' complaints and suggestions; an author: their own. Newest first."""
    return page_of(feedback.feedback_for(actor=actor(request), answered=filters.answered), filters)


@router.get(
    "/feedback/track/{code}",
    response={200: FeedbackPublicOut, **errors(401, 404, 422)},
    **OPEN,
    summary="凭查询码查看投诉建议",
)
def track_feedback(request: HttpRequest, code: str, response: HttpResponse):
    """A complaint or suggestion and its answer, by the tracking code its author was given."""
    _no_store(response)
    return feedback.feedback_by_code(tracking_code=code)


@router.get(
    "/feedback/{feedback_id}",
    response={200: FeedbackOut, **errors(401, 404, 422)},
    summary="投诉建议详情",
)
def get_feedback(request: HttpRequest, feedback_id: int, response: HttpResponse):
    _no_store(response)
    return feedback.feedback_item(actor=actor(request), feedback_id=feedback_id)


@router.post(
    "/feedback/{feedback_id}/answer",
    response={200: FeedbackOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="答复投诉建议",
)
def answer_feedback(request: HttpRequest, feedback_id: int, payload: FeedbackAnswerIn):
    """Community staff answer; the author is told. 409 if it was answered already."""
    feedback.answer_feedback(actor=actor(request), feedback_id=feedback_id, answer=payload.answer)
    return feedback.feedback_item(actor=actor(request), feedback_id=feedback_id)
