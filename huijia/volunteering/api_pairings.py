"""JSON API of unit–community pairings (结对共建), coverage and a work unit's view of its members'
service, mounted under /api/v1/ by huijia/api.py. The same services and selectors as the screens."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.accounts.roles import Perm
from huijia.api import PageQuery, actor, errors
from huijia.volunteering import pairing_selectors as selectors
from huijia.volunteering import pairings as services
from huijia.volunteering.models import Pairing

router = Router(tags=["志愿服务"])


class State(StrEnum):
    active = "active"
    upcoming = "upcoming"
    expired = "expired"
    ended = "ended"


class Ref(Schema):
    id: int
    name: str


class UnitPairingOut(Schema):
    id: int
    work_unit: Ref
    community: Ref
    street: str = Field(description="the community's street")
    starts_on: date
    ends_on: date | None = Field(description="empty: open-ended")
    commitments: list[str] = Field(description="one commitment per item")
    state: State = Field(description="active (结对中), upcoming (未开始), expired (已到期), ended (已解除)")
    ended_at: datetime | None
    joint_activities: int | None = Field(None, description="number of joint activities (lists only)")


def _pairing(p: Pairing) -> dict:
    return {
        "id": p.pk,
        "work_unit": {"id": p.work_unit_id, "name": p.work_unit.name},
        "community": {"id": p.community_id, "name": p.community.name},
        "street": p.community.parent.name if p.community.parent_id else "",
        "starts_on": p.starts_on,
        "ends_on": p.ends_on,
        "commitments": p.commitment_lines,
        "state": p.state,
        "ended_at": p.ended_at,
        "joint_activities": getattr(p, "joint", None),
    }


class UnitPairingPage(Schema):
    items: list[UnitPairingOut]
    count: int
    limit: int
    offset: int


class PairingQuery(PageQuery):
    community_id: int | None = None
    work_unit_id: int | None = None
    state: State | None = Field(None, description="only pairings in this state; all when omitted")
    q: str = Field("", max_length=40, description="unit or community name contains")


@router.get("/volunteer/pairings", response={200: UnitPairingPage, **errors(401, 422)}, summary="结对列表")
def list_pairings(request: HttpRequest, filters: Query[PairingQuery]):
    """Pairings the caller sees (staff over the community, the unit its own), newest first."""
    qs = selectors.pairings_for(
        actor=actor(request),
        community_id=filters.community_id,
        work_unit_id=filters.work_unit_id,
        state=filters.state.value if filters.state else None,
        query=filters.q,
    )
    rows = selectors.decorate(qs[filters.offset : filters.offset + filters.limit])
    return {
        "items": [_pairing(p) for p in rows],
        "count": qs.count(),
        "limit": filters.limit,
        "offset": filters.offset,
    }


class UnitPairingIn(Schema):
    work_unit_id: int
    community_id: int
    starts_on: date | None = Field(None, description="today when omitted")
    ends_on: date | None = Field(None, description="open-ended when omitted")
    commitments: list[str] = Field(default_factory=list, description="at most 20, each up to 100 characters")


@router.post(
    "/volunteer/pairings",
    response={201: UnitPairingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="新建结对",
)
def create_pairing(request: HttpRequest, payload: UnitPairingIn):
    """Pairs a work unit with a community (organisation department, street, or the community's own
    committee); 409 when the pair is already paired."""
    who = actor(request)
    pairing = services.create_pairing(
        actor=who,
        data=services.PairingInput(
            work_unit_id=payload.work_unit_id,
            community_id=payload.community_id,
            starts_on=payload.starts_on,
            ends_on=payload.ends_on,
            commitments="\n".join(payload.commitments),
        ),
    )
    return Status(201, _pairing(selectors.pairing_for(actor=who, pairing_id=pairing.pk)))


class CoverageCommunity(Schema):
    id: int
    name: str
    street: str


class CoverageUnit(Schema):
    id: int
    name: str


class CoveragePartOut(Schema):
    area: Ref
    communities: int
    paired: int


class CoverageOut(Schema):
    area: Ref
    communities: int
    paired_communities: int
    all_paired: bool = Field(description="every community of the area has an active partner")
    unpaired_communities: list[CoverageCommunity]
    units: int = Field(description="work units located in the area, above it, or with no area recorded")
    paired_units: int
    unpaired_units: list[CoverageUnit]
    active_pairings: int
    parts: list[CoveragePartOut] = Field(description="per district or street (for a city or district)")


@router.get(
    "/volunteer/pairings/coverage", response={200: CoverageOut, **errors(401, 404, 422)}, summary="结对覆盖"
)
def coverage(request: HttpRequest, area_id: int | None = None):
    """Which communities of a city, district or street have no active partner and which work units
    none (staff who manage pairings there)."""
    data = selectors.coverage(actor=actor(request), area_id=area_id)
    return {
        "area": {"id": data.area.pk, "name": data.area.name},
        "communities": data.communities,
        "paired_communities": data.paired_communities,
        "all_paired": data.all_paired,
        "unpaired_communities": [
            {"id": c.pk, "name": c.name, "street": c.street_name} for c in data.unpaired_communities
        ],
        "units": data.units,
        "paired_units": data.paired_units,
        "unpaired_units": [{"id": u.pk, "name": u.name} for u in data.unpaired_units],
        "active_pairings": data.active_pairings,
        "parts": [
            {"area": {"id": p.area.pk, "name": p.area.name}, "communities": p.communities, "paired": p.paired}
            for p in data.parts
        ],
    }


class JointActivityOut(Schema):
    id: int
    title: str
    kind: str
    starts_at: datetime | None
    participants: int = Field(description="members with a finished record")
    services: int
    hours: Decimal
    people_served: int


class JointTotalOut(Schema):
    activities: int
    participants: int
    services: int
    hours: Decimal
    people_served: int


class UnitPairingDetailOut(UnitPairingOut):
    joint: list[JointActivityOut] = Field(description="joint activities (共建活动), newest first")
    total: JointTotalOut


@router.get(
    "/volunteer/pairings/{int:pairing_id}",
    response={200: UnitPairingDetailOut, **errors(401, 404, 422)},
    summary="结对详情",
)
def get_pairing(request: HttpRequest, pairing_id: int):
    """One pairing with its joint activities, which count for both the community and the unit."""
    pairing = selectors.pairing_for(actor=actor(request), pairing_id=pairing_id)
    rows, total = selectors.joint_activities(pairing)
    return {
        **_pairing(pairing),
        "joint": [
            {
                "id": a.pk,
                "title": a.title,
                "kind": a.kind,
                "starts_at": a.starts_at,
                "participants": a.participants,
                "services": a.services,
                "hours": a.hours,
                "people_served": a.people_served,
            }
            for a in rows
        ],
        "total": total.__dict__,
    }


class PairingEndIn(Schema):
    reason: str = Field("", max_length=200)


@router.post(
    "/volunteer/pairings/{int:pairing_id}/end",
    response={200: UnitPairingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="解除结对",
)
def end_pairing(request: HttpRequest, pairing_id: int, payload: PairingEndIn):
    """Ends a pairing; its joint activities stay on record. 409 when already ended."""
    who = actor(request)
    services.end_pairing(actor=who, pairing_id=pairing_id, reason=payload.reason)
    return _pairing(selectors.pairing_for(actor=who, pairing_id=pairing_id))


class UnitServiceRow(Schema):
    member_id: int
    name: str
    community: str
    services: int
    hours: Decimal
    last: datetime


class UnitServiceOut(Schema):
    work_unit: Ref
    year: int
    members_served: int
    reporting_members: int = Field(description="the unit's members reporting in a community")
    services: int
    hours: Decimal
    rows: list[UnitServiceRow] = Field(description="per member and community")


@router.get(
    "/volunteer/unit-service",
    response={200: UnitServiceOut, **errors(401, 404, 422)},
    summary="本单位党员服务",
)
def unit_service(
    request: HttpRequest,
    work_unit_id: int | None = None,
    year: int | None = Query(None, ge=2000, le=2100),
):
    """A work unit's organisers: their own members' finished services and hours in their communities
    for a year (this year by default). `work_unit_id` may be omitted when the caller has one unit."""
    who = actor(request)
    units = who.work_units(Perm.VIEW)
    unit_id = work_unit_id if work_unit_id is not None else (units[0] if units else 0)
    data = selectors.unit_service(actor=who, work_unit_id=unit_id, year=year or timezone.localdate().year)
    return {
        "work_unit": {"id": data.work_unit.pk, "name": data.work_unit.name},
        "year": data.year,
        "members_served": data.members_served,
        "reporting_members": data.reporting_members,
        "services": data.services,
        "hours": data.hours,
        "rows": data.rows,
    }
