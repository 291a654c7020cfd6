"""Import of the area tree and households from Excel (区县, 街道, 社区, 小区, 楼栋, 单元, 楼层, 房号).

One household per row. The chain district → street → community → estate → building is found or
created under the city the actor manages, so importing the same file twice creates nothing the second
time. Every row must fall inside the actor's MANAGE_GRID scope. All-or-nothing: every row is checked
first, and the file is written in one transaction only when no row has an error.
"""

import secrets
from dataclasses import dataclass
from typing import IO

from django.db import transaction
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor
from huijia.accounts.services import audit
from huijia.core.errors import Forbidden, InvalidInput
from huijia.core.excel import Column, ImportOutcome, RowErrors, bulk_load, cell_text, in_batches, open_table
from huijia.core.models import ImportJob
from huijia.grid.models import Area, AreaKind, Household

COLUMNS = (
    Column("区县"),
    Column("街道"),
    Column("社区"),
    Column("小区"),
    Column("楼栋"),
    Column("单元", required=False),
    Column("楼层"),
    Column("房号"),
)
LEVELS = (AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.ESTATE, AreaKind.BUILDING)
LEVEL_HEADERS = tuple(c.header for c in COLUMNS[: len(LEVELS)])
MIN_FLOOR, MAX_FLOOR = -9, 200
NOTES = (
    "每行一户。区县、街道、社区、小区、楼栋、楼层、房号必填；没有单元的楼栋，单元留空。",
    "楼层填整数，地下室填负数（如 -1）。房号不超过16个字，如 301、3-301。",
    "系统中还没有的区县、街道、社区、小区和楼栋会自动建立；已有的住户不会重复导入，楼层不同的会更新。",
    "只能导入您管理范围内的区域。任何一行有错误时整个文件都不会导入，请下载错误报告修改后重新上传。",
)


@dataclass(frozen=True, slots=True)
class _Node:
    id: int
    kind: str
    path: str
    depth: int


@dataclass(slots=True)
class _Row:
    number: int
    chain: tuple[str, str, str, str, str]
    unit: str
    floor: int
    room: str


def _city_for(actor: Actor) -> Area:
    """The city whose tree the file fills in: the one holding the actor's MANAGE_GRID grants."""
    paths = actor.paths(Perm.MANAGE_GRID)
    city_ids = {int(p.strip("/").split("/")[0]) for p in paths}
    if actor.is_superuser and not city_ids:
        city_ids = set(Area.objects.filter(kind=AreaKind.CITY).values_list("pk", flat=True)[:2])
    if not city_ids:
        raise Forbidden(_("您没有导入区域和住户的权限"))
    if len(city_ids) > 1:
        raise InvalidInput(_("您管理多个城市的区域，请用对应城市的账号分别导入"))
    return Area.objects.get(pk=city_ids.pop())


def _read_rows(table, errors: RowErrors) -> list[_Row]:
    rows: list[_Row] = []
    seen: dict[tuple, int] = {}
    for number, values in table.rows():
        texts = [cell_text(v) for v in values]
        chain, unit, floor_text, room = tuple(texts[:5]), texts[5], texts[6], texts[7]
        ok = True
        for header, name in zip(LEVEL_HEADERS, chain, strict=True):
            if not name:
                errors.add(number, header, _("{h}不能为空").format(h=header))
                ok = False
            elif len(name) > 64:
                errors.add(number, header, _("{h}名称不能超过64个字").format(h=header))
                ok = False
        if len(unit) > 16:
            errors.add(number, "单元", _("单元不能超过16个字"))
            ok = False
        floor = _parse_floor(floor_text)
        if floor is None:
            errors.add(number, "楼层", _("楼层应为{a}到{b}之间的整数").format(a=MIN_FLOOR, b=MAX_FLOOR))
            ok = False
        if not room or len(room) > 16:
            errors.add(number, "房号", _("房号不能为空，且不超过16个字"))
            ok = False
        if not ok:
            continue
        key = (chain, unit, room)
        if key in seen:
            errors.add(number, "房号", _("与第{n}行是同一户，请删除重复的行").format(n=seen[key]))
            continue
        seen[key] = number
        rows.append(_Row(number, chain, unit, floor, room))
    return rows


def _parse_floor(text: str) -> int | None:
    text = text.removesuffix("层").removesuffix("楼")
    try:
        floor = int(text)
    except ValueError:
        return None
    return floor if MIN_FLOOR <= floor <= MAX_FLOOR else None


class _Tree:
    """The actor's city subtree down to buildings, loaded in one query, plus what the import adds."""

    def __init__(self, city: Area):
        self.city = _Node(city.pk, city.kind, city.path, city.depth)
        self.children: dict[tuple[int, str], _Node] = {}
        max_depth = city.depth + len(LEVELS)
        rows = Area.objects.filter(path__startswith=city.path, depth__lte=max_depth).values_list(
            "pk", "parent_id", "name", "kind", "path", "depth"
        )
        for pk, parent_id, name, kind, path, depth in rows:
            self.children[(parent_id, name)] = _Node(pk, kind, path, depth)

    def walk(self, chain: tuple[str, ...]) -> list[_Node]:
        """The existing nodes along `chain`, from the district down, stopping at the first missing one."""
        found, parent = [], self.city
        for name in chain:
            node = self.children.get((parent.id, name))
            if node is None:
                break
            found.append(node)
            parent = node
        return found


def _check_chains(actor: Actor, tree: _Tree, rows: list[_Row], errors: RowErrors) -> list[_Row]:
    """Drops rows whose chain clashes with the tree or leaves the actor's scope (with an error each)."""
    grant_depths = [p.count("/") - 2 for p in actor.paths(Perm.MANAGE_GRID)]
    blame = min(max(min(grant_depths, default=1) - tree.city.depth - 1, 0), len(LEVELS) - 1)
    verdicts: dict[tuple, tuple[str, str] | None] = {}
    kept = []
    for row in rows:
        if row.chain not in verdicts:
            verdicts[row.chain] = _verdict(actor, tree, row.chain, blame)
        verdict = verdicts[row.chain]
        if verdict is None:
            kept.append(row)
        else:
            errors.add(row.number, *verdict)
    return kept


def _verdict(actor: Actor, tree: _Tree, chain: tuple[str, ...], blame: int) -> tuple[str, str] | None:
    nodes = tree.walk(chain)
    for level, node in enumerate(nodes):
        if node.kind != LEVELS[level]:
            return LEVEL_HEADERS[level], _("“{n}”在系统中不是{k}，请核对这一列").format(
                n=chain[level], k=AreaKind(LEVELS[level]).label
            )
    deepest = nodes[-1] if nodes else tree.city
    if actor.covers(Perm.MANAGE_GRID, deepest.path):
        return None
    if len(nodes) < blame:
        missing = len(nodes)
        return LEVEL_HEADERS[missing], _("系统中没有{k}“{n}”，您也无权新建，请核对名称").format(
            k=AreaKind(LEVELS[missing]).label, n=chain[missing]
        )
    return LEVEL_HEADERS[blame], _("“{n}”不在您的管理范围内").format(n=chain[blame])


def _existing_households(tree: _Tree, rows: list[_Row]) -> dict[tuple[int, str, str], tuple[int, int]]:
    building_ids = {nodes[-1].id for r in rows if len(nodes := tree.walk(r.chain)) == len(LEVELS)}
    found = {}
    for chunk in in_batches(sorted(building_ids)):
        for pk, building_id, unit, room, floor in Household.objects.filter(building_id__in=chunk).values_list(
            "pk", "building_id", "unit", "room", "floor"
        ):
            found[(building_id, unit, room)] = (pk, floor)
    return found


def _create_missing_areas(tree: _Tree, rows: list[_Row]) -> int:
    """Creates the missing nodes level by level in bulk, then fills in their paths (which need the ids)."""
    created = 0
    for level, kind in enumerate(LEVELS):
        wanted: dict[tuple[int, str], _Node] = {}
        for row in rows:
            nodes = tree.walk(row.chain)
            if len(nodes) == level:
                parent = nodes[-1] if nodes else tree.city
                wanted.setdefault((parent.id, row.chain[level]), parent)
        if not wanted:
            continue
        objs = [
            Area(
                parent_id=pid, kind=kind, name=name, path=f"~{secrets.token_hex(12)}", depth=parent.depth + 1
            )
            for (pid, name), parent in wanted.items()
        ]
        Area.objects.bulk_create(objs, batch_size=1000)
        for obj, parent in zip(objs, wanted.values(), strict=True):
            obj.path = f"{parent.path}{obj.pk}/"
            tree.children[(obj.parent_id, obj.name)] = _Node(obj.pk, kind, obj.path, obj.depth)
        Area.objects.bulk_update(objs, ["path"], batch_size=1000)
        created += len(objs)
    return created


def _write(tree: _Tree, rows: list[_Row], existing: dict) -> dict[str, int]:
    areas_created = _create_missing_areas(tree, rows)
    new, moved = [], []
    for row in rows:
        building = tree.walk(row.chain)[-1]
        current = existing.get((building.id, row.unit, row.room))
        if current is None:
            new.append((building.id, row.unit, row.floor, row.room))
        elif current[1] != row.floor:
            moved.append(Household(pk=current[0], floor=row.floor))
    bulk_load(
        Household._meta.db_table,
        ["building_id", "unit", "floor", "room"],
        new,
        on_conflict="ON CONFLICT (building_id, unit, room) DO NOTHING",
    )
    Household.objects.bulk_update(moved, ["floor"], batch_size=1000)
    return {
        "areas_created": areas_created,
        "households_created": len(new),
        "households_updated": len(moved),
        "households_unchanged": len(rows) - len(new) - len(moved),
    }


def import_households(*, actor: Actor, source: IO[bytes], job: ImportJob) -> ImportOutcome:
    """Reads a household file, checks every row, and writes all of it or nothing."""
    city = _city_for(actor)
    errors = RowErrors(COLUMNS)
    with open_table(source, COLUMNS, what=_("住户"), on_progress=job.report_progress) as table:
        rows = _read_rows(table, errors)
        count = table.count
    tree = _Tree(city)
    rows = _check_chains(actor, tree, rows, errors)
    if errors:
        return ImportOutcome(rows=count, errors=errors.sorted())
    existing = _existing_households(tree, rows)
    job.report_saving()
    with transaction.atomic():
        summary = _write(tree, rows, existing)
        audit(actor=actor, action="import.households", target=job, **summary)
    return ImportOutcome(rows=count, summary=summary)
