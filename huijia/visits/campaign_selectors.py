"""Scoped reads of door-knocking campaigns: lists, a campaign's progress, a team's share, the export rows.

Who sees a campaign: whoever holds Perm.VIEW over its community, and whoever may see one of its
households (an estate secretary or a building head their part, a member their team's share). Counts
come from aggregate queries (one per grouping), never from a loop over households.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict, scope_q
from huijia.core.errors import NotFound
from huijia.core.sorting import natural_key
from huijia.visits.models import Campaign, CampaignHousehold, Outcome

OUTCOMES = [o.value for o in Outcome]


# doors in the order a team walks them: estate, building, unit, floor, room
DOOR_ORDER = (
    "household__building__parent__name",
    "household__building_id",
    "household__unit",
    "household__floor",
    "household__room",
)


def visible_campaigns(actor: Actor, perm: Perm = Perm.VIEW) -> QuerySet[Campaign]:
    """Campaigns of a community in the actor's scope, or with a household the actor may see."""
    if actor.is_superuser:
        return Campaign.objects.all()
    clauses = []
    if (q := scope_q(Campaign, actor, perm)) is not None:
        clauses.append(q)
    if (q := scope_q(CampaignHousehold, actor, perm)) is not None:
        clauses.append(Q(pk__in=CampaignHousehold.objects.filter(q).values("campaign_id")))
    if not clauses:
        return Campaign.objects.none()
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return Campaign.objects.filter(combined)


def campaigns_for(
    *, actor: Actor, community_id: int | None = None, open_only: bool = False
) -> QuerySet[Campaign]:
    """The campaigns an actor sees, newest first (counts come from `attach_counts`)."""
    qs = visible_campaigns(actor).select_related("community")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if open_only:
        qs = qs.filter(closed_at=None)
    return qs.order_by("-started_at", "-pk")


def _outcome_counts() -> dict:
    counts = {o: Count("pk", filter=Q(outcome=o)) for o in OUTCOMES}
    return {"total": Count("pk"), **counts}


@dataclass
class Tally:
    """Households per outcome for one group (a team, a building, the whole campaign)."""

    key: object = None
    label: str = ""
    sub: str = ""
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def visited(self) -> int:
        return self.total - self.counts.get(Outcome.PENDING, 0)

    @property
    def done(self) -> int:
        return self.counts.get(Outcome.DONE, 0)

    @property
    def visited_percent(self) -> int:
        return round(100 * self.visited / self.total) if self.total else 0

    @property
    def done_percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    def cells(self) -> list[tuple[str, str, int]]:
        """(outcome, label, count) in the order of Outcome, for tables."""
        return [(o.value, o.label, self.counts.get(o.value, 0)) for o in Outcome]

    def add(self, other: "Tally") -> None:
        self.total += other.total
        for outcome, n in other.counts.items():
            self.counts[outcome] = self.counts.get(outcome, 0) + n


def _tally(row: dict, key, label: str, sub: str = "") -> Tally:
    return Tally(key=key, label=label, sub=sub, total=row["total"], counts={o: row[o] for o in OUTCOMES})


def attach_counts(*, actor: Actor, campaigns: list[Campaign]) -> list[Campaign]:
    """Puts a Tally of the households the actor may see on each campaign (`campaign.tally`): one query."""
    rows = (
        restrict(CampaignHousehold.objects.filter(campaign_id__in=[c.pk for c in campaigns]), actor)
        .values("campaign_id")
        .annotate(**_outcome_counts())
        .order_by()
    )
    by_campaign = {row["campaign_id"]: _tally(row, row["campaign_id"], "") for row in rows}
    for campaign in campaigns:
        campaign.tally = by_campaign.get(campaign.pk, Tally(key=campaign.pk))
    return campaigns


def campaign_for(*, actor: Actor, campaign_id: int, perm: Perm = Perm.VIEW) -> Campaign:
    campaign = (
        visible_campaigns(actor, perm)
        .select_related("community", "created_by")
        .filter(pk=campaign_id)
        .first()
    )
    if campaign is None:
        raise NotFound()
    return campaign


@dataclass
class Progress:
    campaign: Campaign
    total: Tally
    by_team: list[Tally]
    by_building: list[Tally]


NO_TEAM = "未分组"


def campaign_progress(*, actor: Actor, campaign_id: int) -> Progress:
    """Counts per outcome by team and by building over the households the actor may see: 3 queries."""
    campaign = campaign_for(actor=actor, campaign_id=campaign_id)
    rows = restrict(CampaignHousehold.objects.filter(campaign_id=campaign.pk), actor).order_by()
    teams = rows.values("team_id", "team__name", "team__zone_label").annotate(**_outcome_counts())
    by_team = [
        _tally(r, r["team_id"], r["team__name"] or NO_TEAM, r["team__zone_label"] or "") for r in teams
    ]
    by_team.sort(key=lambda t: (t.key is None, natural_key(t.label)))
    buildings = rows.values(
        "household__building_id", "household__building__name", "household__building__parent__name"
    ).annotate(**_outcome_counts())
    by_building = [
        _tally(
            r,
            r["household__building_id"],
            r["household__building__name"],
            r["household__building__parent__name"] or "",
        )
        for r in buildings
    ]
    by_building.sort(key=lambda t: (natural_key(t.sub), natural_key(t.label)))
    total = Tally(key=campaign.pk, label=campaign.name, counts=dict.fromkeys(OUTCOMES, 0))
    for tally in by_team:
        total.add(tally)
    return Progress(campaign=campaign, total=total, by_team=by_team, by_building=by_building)


def share_for(
    *, actor: Actor, campaign_id: int, building_id: int | None = None, pending_only: bool = False
) -> QuerySet[CampaignHousehold]:
    """The households of a campaign the actor may record (a member: their team's share), door by door."""
    qs = restrict(CampaignHousehold.objects.filter(campaign_id=campaign_id), actor, Perm.VISIT)
    if building_id is not None:
        qs = qs.filter(household__building_id=building_id)
    if pending_only:
        qs = qs.filter(outcome=Outcome.PENDING)
    return (
        qs.select_related("household", "household__building", "household__building__parent", "team")
        .only(
            *("id", "campaign_id", "outcome", "note", "answers", "updated_at", "team__name"),
            *("household__id", "household__unit", "household__floor", "household__room"),
            *("household__building__id", "household__building__name", "household__building__parent__name"),
        )
        .order_by(*DOOR_ORDER)
    )


def share_buildings(*, actor: Actor, campaign_id: int) -> list[tuple[int, str, int, int]]:
    """(building id, name, households, pending) of the actor's share, for the building filter: 1 query."""
    rows = (
        restrict(CampaignHousehold.objects.filter(campaign_id=campaign_id), actor, Perm.VISIT)
        .values("household__building_id", "household__building__name", "household__building__parent__name")
        .annotate(total=Count("pk"), pending=Count("pk", filter=Q(outcome=Outcome.PENDING)))
        .order_by()
    )
    found = [
        (
            r["household__building_id"],
            f"{r['household__building__parent__name'] or ''} {r['household__building__name']}".strip(),
            r["total"],
            r["pending"],
        )
        for r in rows
    ]
    return sorted(found, key=lambda b: natural_key(b[1]))


@dataclass
class MyCampaign:
    id: int
    name: str
    due_on: object
    total: int
    pending: int

    @property
    def recorded(self) -> int:
        return self.total - self.pending


def my_campaigns(*, actor: Actor) -> list[MyCampaign]:
    """Open campaigns with households the actor may record, with how many are still to visit: 1 query."""
    rows = (
        restrict(CampaignHousehold.objects.filter(campaign__closed_at=None), actor, Perm.VISIT)
        .values("campaign_id", "campaign__name", "campaign__due_on", "campaign__started_at")
        .annotate(total=Count("pk"), pending=Count("pk", filter=Q(outcome=Outcome.PENDING)))
        .order_by("-campaign__started_at", "-campaign_id")
    )
    return [
        MyCampaign(r["campaign_id"], r["campaign__name"], r["campaign__due_on"], r["total"], r["pending"])
        for r in rows
    ]


def export_rows(*, actor: Actor, campaign: Campaign) -> QuerySet[CampaignHousehold]:
    """Every household of a campaign the actor may export, with what the export shows, in a stream."""
    return (
        restrict(CampaignHousehold.objects.filter(campaign_id=campaign.pk), actor, Perm.EXPORT)
        .select_related("household__building__parent", "team", "updated_by")
        .only(
            *("id", "outcome", "answers", "note", "updated_at", "team__name"),
            *("household__unit", "household__floor", "household__room"),
            *("household__building__name", "household__building__parent__name"),
            *("updated_by__username", "updated_by__display_name"),
        )
        .order_by(*DOOR_ORDER)
    )
