"""Scoped reads of demands: lists for staff, members and residents, one demand with its timeline.

Every read goes through `restrict` (accounts.scope): staff see the demands of their subtree, a work
unit the demands escalated to it, a member what they collected or what is assigned to them, their
zone team or their service team, a resident the demands they reported. A tracking code opens one
demand to whoever holds it.
"""

from django.db.models import Prefetch, QuerySet

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.core.errors import NotFound
from huijia.demands.models import (
    OPEN_STATUSES,
    Category,
    Demand,
    DemandEvent,
    DemandPhoto,
    DemandStatus,
    Escalation,
    EscalationStatus,
)

LIST_RELATED = (
    "category",
    "area",
    "estate",
    "community",
    "assigned_area",
    "assigned_team",
    "assigned_member",
    "assigned_service_team",
    "household",
)


def categories() -> QuerySet[Category]:
    return Category.objects.filter(active=True).order_by("sort", "pk")


def demands_for(
    *,
    actor: Actor,
    community_id: int | None = None,
    status: str | None = None,
    category_code: str | None = None,
    estate_id: int | None = None,
    overdue: bool | None = None,
    open_only: bool = False,
    perm: Perm = Perm.VIEW,
) -> QuerySet[Demand]:
    """The demands an actor may see, newest first, with what a list row shows joined in."""
    qs = restrict(Demand.objects.all(), actor, perm)
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if status:
        qs = qs.filter(status=status)
    if open_only:
        qs = qs.filter(status__in=list(OPEN_STATUSES))
    if category_code:
        qs = qs.filter(category__code=category_code)
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if overdue is not None:
        qs = qs.filter(overdue=overdue)
    return qs.select_related(*LIST_RELATED).order_by("-created_at", "-pk")


def late_for(*, actor: Actor) -> QuerySet[Demand]:
    """What is late in the actor's scope (the branch secretary's list): open and overdue, oldest first."""
    return (
        restrict(Demand.objects.all(), actor, Perm.VIEW)
        .filter(status__in=list(OPEN_STATUSES), overdue=True)
        .select_related(*LIST_RELATED)
        .order_by("resolve_by", "pk")
    )


def _detail(qs: QuerySet[Demand]) -> QuerySet[Demand]:
    return qs.select_related(
        *LIST_RELATED, "household", "household__building", "merged_into"
    ).prefetch_related(
        Prefetch("events", queryset=DemandEvent.objects.order_by("created_at", "pk"), to_attr="timeline"),
        Prefetch("photos", queryset=DemandPhoto.objects.order_by("pk"), to_attr="photo_rows"),
        Prefetch(
            "escalations",
            queryset=Escalation.objects.select_related("work_unit", "street").order_by("pk"),
            to_attr="escalation_rows",
        ),
        Prefetch(
            "merged_demands",
            queryset=Demand.objects.only("pk", "tracking_code", "status", "merged_into_id", "description"),
            to_attr="merged_rows",
        ),
    )


def demand_for(*, actor: Actor, demand_id: int) -> Demand:
    """One demand the actor may see, with its timeline, photos, escalations and merged duplicates."""
    return get_visible(_detail(Demand.objects.all()), actor, demand_id)


def demand_by_code(*, tracking_code: str) -> Demand:
    """One demand by the tracking code its reporter was given (public: whoever holds the code)."""
    code = (tracking_code or "").strip().upper()[:12]
    demand = _detail(Demand.objects.all()).filter(tracking_code=code).first() if code else None
    if demand is None:
        raise NotFound()
    return demand


def my_reported(*, actor: Actor) -> QuerySet[Demand]:
    """A resident's own demands (reported from their account), newest first."""
    if not actor.is_authenticated:
        return Demand.objects.none()
    return (
        Demand.objects.filter(reporter_id=actor.user_id)
        .select_related(*LIST_RELATED)
        .order_by("-created_at", "-pk")
    )


def assigned_to_me(*, actor: Actor, open_only: bool = True) -> QuerySet[Demand]:
    """A member's work list: demands assigned to them, to a zone team or to a service team they are in."""
    if not actor.member_id:
        return Demand.objects.none()
    from django.db.models import Q

    from huijia.demands.models import _service_team_ids, _team_ids

    qs = Demand.objects.filter(
        Q(assigned_member_id=actor.member_id)
        | Q(assigned_team_id__in=_team_ids(actor.member_id))
        | Q(assigned_service_team_id__in=_service_team_ids(actor.member_id))
    )
    if open_only:
        qs = qs.filter(status__in=[DemandStatus.ASSIGNED, DemandStatus.IN_PROGRESS])
    return qs.select_related(*LIST_RELATED).order_by("resolve_by", "pk")


def escalations_for(*, actor: Actor, open_only: bool = True) -> QuerySet[Escalation]:
    """The escalations a street or work unit has received (its 接哨 inbox)."""
    qs = restrict(Escalation.objects.all(), actor, Perm.RECEIVE_ESCALATIONS)
    if open_only:
        qs = qs.filter(status__in=[EscalationStatus.SENT, EscalationStatus.ACCEPTED])
    return qs.select_related(
        "demand", "demand__category", "demand__community", "work_unit", "street"
    ).order_by("-sent_at", "-pk")
