"""Writes of the demands app. This first version only creates demands; the closed loop (accept,
assign, resolve, rate) comes with the demands capability (issue 4).

The caller has already checked that the actor may act on the household or area: a visit checks that
its member may visit the household before it passes the residents' demands on.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from huijia.accounts.scope import Actor
from huijia.core.errors import InvalidInput
from huijia.demands.models import Demand, DemandSource
from huijia.grid.models import Area, Household

MAX_DESCRIPTION = 1000


@transaction.atomic
def create_demand(
    *,
    actor: Actor,
    description: str,
    source: str,
    area: Area,
    household: Household | None = None,
    member_id: int | None = None,
    visit_id: int | None = None,
    category: str = "",
) -> Demand:
    """Records one demand or opinion of a resident where the branch of its area sees it.

    `area` is the node the demand belongs to (for a visit, the household's building), so the estate
    branch and the community above it find it through their scope.
    """
    description = (description or "").strip()
    if not description:
        raise InvalidInput(_("请填写诉求内容"), code="demand_empty")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(_("每条诉求不超过1000个字"), code="demand_too_long")
    if source not in DemandSource.values:
        raise InvalidInput(_("诉求来源不正确"), code="demand_source")
    return Demand.objects.create(
        area=area,
        household=household,
        description=description,
        category=category,
        source=source,
        created_by_id=actor.user_id,
        member_id=member_id,
        visit_id=visit_id,
    )
