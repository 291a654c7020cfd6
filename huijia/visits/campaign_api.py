"""JSON API of door-knocking campaigns (敲门行动): start, list, progress, a team's share, outcomes,
close, and the result export. Mounted by huijia/api.py.

No phone number appears anywhere here: a campaign carries addresses, outcomes and answers only.
"""

import tempfile
from datetime import date, datetime
from typing import Literal

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.accounts.roles import Perm
from huijia.api import PageQuery, actor, errors
from huijia.care.models import VulnerableKind
from huijia.visits import campaign_selectors as selectors
from huijia.visits import campaign_services as services
from huijia.visits.models import Campaign, CampaignHousehold

router = Router(tags=["敲门行动"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- Schemas -------------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class TallyOut(Schema):
    total: int
    pending: int = Field(description="not visited yet")
    reached: int
    not_home: int
    refused: int
    done: int
    visited_percent: int = Field(description="share of households with any outcome, 0-100")
    done_percent: int = Field(description="share of households done, 0-100")


class GroupOut(TallyOut):
    id: int | None = Field(description="team or building id; null for households no team holds")
    name: str
    sub: str = Field(description="a team's zone, or a building's estate")


def _tally(t: selectors.Tally, **extra) -> dict:
    counts = {o: t.counts.get(o, 0) for o in selectors.OUTCOMES}
    return {
        **counts,
        "total": t.total,
        "visited_percent": t.visited_percent,
        "done_percent": t.done_percent,
        **extra,
    }


class SelectionIn(Schema):
    area_id: int | None = Field(None, description="an estate or building of the community; null: all of it")
    who: services.Who = Field(
        services.Who.ALL, description="all, elderly (a resident aged min_age+), vulnerable"
    )
    min_age: int = Field(60, ge=1, le=120)
    vulnerable_kind: VulnerableKind | Literal[""] = Field(
        "", description="for who=vulnerable; empty: any kind"
    )


class CampaignIn(Schema):
    community_id: int
    name: str = Field(max_length=200, description="required")
    description: str = Field("", max_length=1000)
    questions: list[str] = Field(default_factory=list, max_length=50, description="may be empty")
    selection: SelectionIn = Field(default_factory=SelectionIn)
    due_on: date | None = None


class CampaignOut(Schema):
    id: int
    name: str
    description: str
    community: Ref
    questions: list[str]
    selection: dict = Field(description="the filter as chosen (who, area_id, area_name, min_age, kind)")
    selection_label: str
    started_at: datetime
    due_on: date | None
    closed_at: datetime | None
    progress: TallyOut = Field(description="over the households the caller may see")

    @staticmethod
    def resolve_selection_label(obj: Campaign) -> str:
        return services.selection_label(obj.selection)

    @staticmethod
    def resolve_progress(obj: Campaign) -> dict:
        return _tally(obj.tally)


class CampaignPage(Schema):
    items: list[CampaignOut]
    count: int
    limit: int
    offset: int


class CampaignDetail(CampaignOut):
    by_team: list[GroupOut]
    by_building: list[GroupOut]
    export_url: str | None = Field(description="the result as Excel; null when the caller may not export")


class CampaignFilter(PageQuery):
    community_id: int | None = None
    open_only: bool = Field(False, description="only campaigns not closed yet")


class CampaignHouseholdOut(Schema):
    id: int
    label: str
    floor: int
    building: Ref
    estate: str


class EntryOut(Schema):
    household: CampaignHouseholdOut
    team: Ref | None
    outcome: str
    outcome_label: str
    answers: dict[str, str] = Field(description="question -> answer, for the questions answered")
    note: str
    updated_at: datetime | None

    @staticmethod
    def resolve_household(obj: CampaignHousehold) -> dict:
        h = obj.household
        building = h.building
        return {
            "id": h.pk,
            "label": h.label,
            "floor": h.floor,
            "building": building,
            "estate": building.parent.name if building.parent else "",
        }

    @staticmethod
    def resolve_outcome_label(obj: CampaignHousehold) -> str:
        return obj.get_outcome_display()


class EntryPage(Schema):
    items: list[EntryOut]
    count: int
    limit: int
    offset: int


class ShareFilter(PageQuery):
    building_id: int | None = None
    pending_only: bool = False


class OutcomeIn(Schema):
    outcome: Literal["reached", "not_home", "refused", "done"]
    answers: list[str] = Field(
        default_factory=list, max_length=50, description="in the order of the questions"
    )
    note: str = Field("", max_length=400)


# --- Endpoints -----------------------------------------------------------------------------------


def _detail(request: HttpRequest, campaign_id: int) -> Campaign:
    """The campaign with its progress by team and by building put on it, for CampaignDetail."""
    who = actor(request)
    progress = selectors.campaign_progress(actor=who, campaign_id=campaign_id)
    campaign = progress.campaign
    campaign.tally = progress.total
    campaign.by_team = [_tally(t, id=t.key, name=t.label, sub=t.sub) for t in progress.by_team]
    campaign.by_building = [_tally(t, id=t.key, name=t.label, sub=t.sub) for t in progress.by_building]
    campaign.export_url = None
    if who.covers(Perm.EXPORT, campaign.community.path):
        campaign.export_url = reverse("api-1:campaign_export", args=[campaign.pk])
    return campaign


@router.post(
    "/campaigns", response={201: CampaignDetail, **errors(400, 401, 403, 404, 422)}, summary="发起敲门行动"
)
def create_campaign(request: HttpRequest, payload: CampaignIn):
    """Community staff start a campaign on the households the selection picks (400 if it picks none)."""
    s = payload.selection
    campaign = services.start_campaign(
        actor=actor(request),
        community_id=payload.community_id,
        name=payload.name,
        description=payload.description,
        questions=payload.questions,
        selection=services.Selection(
            area_id=s.area_id,
            who=s.who.value,
            min_age=s.min_age,
            vulnerable_kind=str(s.vulnerable_kind or ""),
        ),
        due_on=payload.due_on,
    )
    return Status(201, _detail(request, campaign.pk))


@router.get("/campaigns", response={200: CampaignPage, **errors(401, 422)}, summary="敲门行动列表")
def list_campaigns(request: HttpRequest, filters: Query[CampaignFilter]):
    """Campaigns the caller sees, newest first, with progress over the households they may see."""
    who = actor(request)
    qs = selectors.campaigns_for(actor=who, community_id=filters.community_id, open_only=filters.open_only)
    items = list(qs[filters.offset : filters.offset + filters.limit])
    selectors.attach_counts(actor=who, campaigns=items)
    return {"items": items, "count": qs.count(), "limit": filters.limit, "offset": filters.offset}


@router.get(
    "/campaigns/{campaign_id}",
    response={200: CampaignDetail, **errors(401, 404, 422)},
    summary="敲门行动进度",
)
def get_campaign(request: HttpRequest, campaign_id: int):
    """One campaign with its progress by team and by building (over the households the caller may see)."""
    return _detail(request, campaign_id)


@router.get(
    "/campaigns/{campaign_id}/households",
    response={200: EntryPage, **errors(401, 404, 422)},
    summary="我负责的住户（敲门行动）",
)
def list_share(request: HttpRequest, campaign_id: int, filters: Query[ShareFilter]):
    """The campaign's households the caller may record (a member: their team's share), door by door."""
    who = actor(request)
    selectors.campaign_for(actor=who, campaign_id=campaign_id)
    qs = selectors.share_for(
        actor=who, campaign_id=campaign_id, building_id=filters.building_id, pending_only=filters.pending_only
    )
    items = list(qs[filters.offset : filters.offset + filters.limit])
    return {"items": items, "count": qs.count(), "limit": filters.limit, "offset": filters.offset}


@router.post(
    "/campaigns/{campaign_id}/households/{household_id}/outcome",
    response={200: EntryOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="登记走访结果",
)
def record_outcome(request: HttpRequest, campaign_id: int, household_id: int, payload: OutcomeIn):
    """Records the outcome of one door. 404 for a household not in the campaign or out of reach; 409 once
    the campaign is closed."""
    services.record_outcome(
        actor=actor(request),
        campaign_id=campaign_id,
        household_id=household_id,
        outcome=payload.outcome,
        answers=payload.answers,
        note=payload.note,
    )
    return services.entry_to_record(actor=actor(request), campaign_id=campaign_id, household_id=household_id)


@router.post(
    "/campaigns/{campaign_id}/close",
    response={200: CampaignDetail, **errors(401, 403, 404, 409, 422)},
    summary="结束敲门行动",
)
def close_campaign(request: HttpRequest, campaign_id: int):
    """Community staff close a campaign: no more outcomes (409 if already closed)."""
    services.close_campaign(actor=actor(request), campaign_id=campaign_id)
    return _detail(request, campaign_id)


@router.get(
    "/campaigns/{campaign_id}/export",
    response=errors(401, 403, 404, 422),
    url_name="campaign_export",
    openapi_extra={"responses": {200: {"description": "the .xlsx file", "content": {XLSX: {}}}}},
    summary="导出走访结果（Excel）",
)
def export_campaign(request: HttpRequest, campaign_id: int):
    """The result as an .xlsx file, one row per household (audited). Needs Perm.EXPORT on the community."""
    dest = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        campaign, _count = services.export_campaign(actor=actor(request), campaign_id=campaign_id, dest=dest)
    except BaseException:
        dest.close()
        raise
    dest.seek(0)
    return FileResponse(dest, as_attachment=True, filename=f"{campaign.name}走访结果.xlsx")
