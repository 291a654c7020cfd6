"""Similar open demands, offered while a demand is typed ("same problem already reported, follow it").

Interface (the implementation is being built): `similar_open(text, area, category=None, limit=5)` returns
open demands of the same building or estate (and category, when known), most similar first.
"""

from huijia.demands.models import OPEN_STATUSES, Category, Demand
from huijia.grid.models import Area


def similar_open(text: str, area: Area, category: Category | None = None, limit: int = 5) -> list[Demand]:
    qs = Demand.objects.filter(status__in=list(OPEN_STATUSES), area__path__startswith=area.path)
    if category is not None:
        qs = qs.filter(category=category)
    return list(qs.order_by("-created_at")[:limit])
