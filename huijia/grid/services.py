"""Writes to the area tree and households."""

from django.db import transaction
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor
from huijia.accounts.services import audit
from huijia.core.errors import Forbidden, InvalidInput
from huijia.grid.models import CHILD_KIND, Area, AreaKind, Household


def _new_area(*, parent: Area | None, kind: str, name: str, code: str = "") -> Area:
    """Inserts a node and fills in its materialised path (which needs the new id)."""
    if parent is None and kind != AreaKind.CITY:
        raise InvalidInput(_("只有市级区域可以没有上级"))
    if parent is not None and CHILD_KIND[parent.kind] != kind:
        raise InvalidInput(
            _("{parent}下不能直接设立{kind}").format(
                parent=parent.get_kind_display(), kind=AreaKind(kind).label
            )
        )
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput(_("区域名称不能为空，且不超过64个字"))
    area = Area.objects.create(
        parent=parent,
        kind=kind,
        name=name,
        code=code,
        path="~",
        depth=0 if parent is None else parent.depth + 1,
    )
    area.path = f"{parent.path if parent else '/'}{area.pk}/"
    Area.objects.filter(pk=area.pk).update(path=area.path)
    return area


@transaction.atomic
def create_area(*, actor: Actor, parent: Area | None, kind: str, name: str, code: str = "") -> Area:
    """Adds a node under `parent` (a street under a district, a building under an estate...)."""
    if parent is None and not actor.is_superuser:
        raise Forbidden()
    if parent is not None and not actor.covers(Perm.MANAGE_GRID, parent.path):
        raise Forbidden()
    area = _new_area(parent=parent, kind=kind, name=name, code=code)
    audit(actor=actor, action="area.create", target=area, name=area.name, kind=kind)
    return area


def get_or_create_child(
    *, parent: Area, kind: str, name: str, cache: dict | None = None
) -> tuple[Area, bool]:
    """The child of `parent` called `name`, created when missing (for imports and the seed)."""
    key = (parent.pk, name.strip())
    if cache is not None and key in cache:
        return cache[key], False
    area = Area.objects.filter(parent=parent, name=name.strip()).first()
    created = area is None
    if created:
        area = _new_area(parent=parent, kind=kind, name=name)
    elif area.kind != kind:
        raise InvalidInput(_("“{name}”已作为{kind}存在").format(name=name, kind=area.get_kind_display()))
    if cache is not None:
        cache[key] = area
    return area, created


@transaction.atomic
def create_household(*, actor: Actor, building: Area, unit: str, floor: int, room: str) -> Household:
    if building.kind != AreaKind.BUILDING:
        raise InvalidInput(_("住户必须建在楼栋下"))
    if not actor.covers(Perm.MANAGE_GRID, building.path):
        raise Forbidden()
    household, _created = Household.objects.get_or_create(
        building=building, unit=unit.strip(), room=room.strip(), defaults={"floor": floor}
    )
    audit(actor=actor, action="household.create", target=household)
    return household
