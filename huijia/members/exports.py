"""Excel export of the members an actor may see, phone and ID numbers masked unless asked otherwise.

The unmasked export is for roles holding Perm.VIEW_PII over those members only, and is audited (PIPL).
The columns are those of the member import, so a full export can be edited and imported again.
"""

from typing import IO

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.accounts.services import audit
from huijia.core.errors import Forbidden
from huijia.core.excel import write_xlsx
from huijia.grid.models import Area
from huijia.members.imports import COLUMNS
from huijia.members.models import FreeTime, Member, Skill

FREE_TIME_LABELS = dict(FreeTime.choices)


def can_export(actor: Actor) -> bool:
    return actor.is_superuser or bool(actor.paths(Perm.EXPORT) or actor.work_units(Perm.EXPORT))


def can_export_unmasked(actor: Actor) -> bool:
    return can_export(actor) and (
        actor.is_superuser or bool(actor.paths(Perm.VIEW_PII) or actor.work_units(Perm.VIEW_PII))
    )


def _rows(members, full: bool):
    for m in members:
        household = m.household
        building = household.building if household else None
        estate = building.parent if building else None
        community = estate.parent if estate else None
        yield (
            m.name,
            m.id_number if full else m.masked_id_number,
            m.phone if full else m.masked_phone,
            m.work_unit.name if m.work_unit else "",
            community.name if community else "",
            estate.name if estate else "",
            building.name if building else "",
            household.unit if household else "",
            household.room if household else "",
            "、".join(s.name for s in m.skills.all()),
            "、".join(str(FREE_TIME_LABELS.get(v, v)) for v in m.free_time or []),
            m.volunteer_no,
        )


@transaction.atomic
def export_members(*, actor: Actor, dest: IO[bytes], area_id: int | None = None, full: bool = False) -> int:
    """Streams the members in the actor's export scope (optionally under one area) into `dest`."""
    if not can_export(actor):
        raise Forbidden()
    members = restrict(Member.objects.all(), actor, Perm.EXPORT)
    if full:
        if not can_export_unmasked(actor):
            raise Forbidden(_("您没有导出完整身份证号和手机号的权限"))
        members = restrict(members, actor, Perm.VIEW_PII)
    target = get_user_model()(pk=actor.user_id)
    if area_id is not None:
        target = get_visible(Area.objects.all(), actor, area_id, Perm.EXPORT)
        members = members.filter(household__building__path__startswith=target.path)
    members = (
        members.select_related("work_unit", "household__building__parent__parent")
        .prefetch_related(Prefetch("skills", queryset=Skill.objects.only("id", "name")))
        .order_by("pk")
        .iterator(chunk_size=2000)
    )
    header = [c.header for c in COLUMNS] + [_("志愿者编号")]
    count = write_xlsx(
        dest,
        title=_("党员"),
        header=header,
        rows=_rows(members, full),
        widths=(10, 22, 14, 18, 14, 14, 8, 8, 8, 20, 20, 14),
    )
    audit(actor=actor, action="export.members", target=target, rows=count, full=full)
    return count
