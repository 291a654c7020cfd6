"""Excel export of the households of an area subtree, in the same columns the household import reads."""

from typing import IO

from django.db import transaction
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible
from huijia.accounts.services import audit
from huijia.core.excel import write_xlsx
from huijia.grid.imports import COLUMNS
from huijia.grid.models import Area, Household

_CHAIN = "building__parent__parent__parent__parent"  # building → estate → community → street → district


@transaction.atomic
def export_households(*, actor: Actor, area_id: int, dest: IO[bytes]) -> tuple[Area, int]:
    """Streams every household under `area` (which the actor may export) into `dest`; audited."""
    area = get_visible(Area.objects.all(), actor, area_id, Perm.EXPORT)
    rows = (
        Household.objects.filter(building__path__startswith=area.path)
        .order_by("building__path", "unit", "floor", "room")
        .values_list(
            f"{_CHAIN}__name",
            "building__parent__parent__parent__name",
            "building__parent__parent__name",
            "building__parent__name",
            "building__name",
            "unit",
            "floor",
            "room",
        )
        .iterator(chunk_size=2000)
    )
    count = write_xlsx(
        dest,
        title=_("住户"),
        header=[c.header for c in COLUMNS],
        rows=rows,
        widths=(12, 14, 14, 16, 10, 8, 6, 8),
    )
    audit(actor=actor, action="export.households", target=area, rows=count)
    return area, count
