"""Import of in-service members from Excel.

Columns: 姓名, 身份证号, 手机号 (required), 工作单位, 社区, 小区, 楼栋, 单元, 房号, 专长, 空闲时间.

A member is keyed by the blind index of their ID number, so importing the same file again creates
nothing new. Rows with an address create a registration (报到): approved when the importer is staff of
the community holding that household, pending when a work-unit organiser imports their own members.
Blank optional cells keep what is stored. All-or-nothing: the whole file is written in one transaction
that commits only when every row is valid; otherwise nothing is kept and the user gets an error report.

Built for 100,000 rows (issue 2: at most twice openpyxl's bare read, under 500 MB):
- pass 1 (`read_members`) streams the sheet and checks each row on its own into a compact tuple;
- every CHUNK_ROWS rows, `_Decider` resolves the chunk's references in a few set-based queries
  (`= ANY(array)` on PostgreSQL) and applies the permission rules row by row;
- `_Preparer` turns decided rows into database rows, encrypting phone and ID numbers here (only
  ciphertext reaches the database), and `_Writer` loads them with COPY (PostgreSQL) or executemany,
  primary keys drawn in one query per batch.
Large files, outside a transaction (the task worker, not a test), use both CPUs: pass 1 runs in a
reader process, and on PostgreSQL `_BackgroundWriter` loads batches from a second thread with its own
connection and transaction while reading goes on; that transaction commits only if the whole file was
valid. Small files and tests do the same steps in one thread and write at the end.
"""

import contextlib
import functools
import json
import queue
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import IO, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor
from huijia.accounts.services import audit, notify
from huijia.core.crypto import blind_index, encrypt
from huijia.core.errors import Forbidden
from huijia.core.excel import (
    Column,
    ImportOutcome,
    RowError,
    RowErrors,
    bulk_load,
    cell_text,
    db_now,
    from_process,
    matching,
    new_ids,
    open_table,
)
from huijia.core.models import ImportJob
from huijia.core.personal import validate_id_number, validate_mobile
from huijia.grid.models import Area, AreaKind, Household
from huijia.members.models import FreeTime, Member, Registration, RegistrationKind, RegistrationStatus, Skill
from huijia.orgs.models import WorkUnit

COLUMNS = (
    Column("姓名"),
    Column("身份证号"),
    Column("手机号"),
    Column("工作单位", required=False),
    Column("社区", required=False),
    Column("小区", required=False),
    Column("楼栋", required=False),
    Column("单元", required=False),
    Column("房号", required=False),
    Column("专长", required=False),
    Column("空闲时间", required=False),
)
NOTES = (
    "每行一名党员。姓名、身份证号、手机号必填；身份证号一列请设为“文本”格式，以免 Excel 把它变成科学计数法。",
    "住址（社区、小区、楼栋、单元、房号）要与系统中的住户一致；没有单元的楼栋，单元留空。",
    "社区工作人员导入本社区的党员时必须填写住址，导入后直接记为“已报到”。",
    "单位党组织只能导入本单位的党员（工作单位可以留空）；填写了住址的，会向该社区提交报到申请，等待社区审核。",
    "专长用顿号或逗号分隔，如：医疗、法律。空闲时间可填：工作日晚上、周末、节假日、时间灵活。",
    "已在系统中的党员按身份证号识别，不会重复建立；留空的列不会覆盖已有信息。",
    "任何一行有错误时整个文件都不会导入，请下载错误报告修改后重新上传。",
)
CHUNK_ROWS = 2000
PARALLEL_MIN_BYTES = 512 * 1024  # about 10,000 rows
SPLIT = re.compile(r"[、,，;；/\s]+")
FREE_TIME = {label: value for value, label in FreeTime.choices} | {v: v for v in FreeTime.values}
OPEN = (RegistrationStatus.PENDING, RegistrationStatus.APPROVED)
ADDRESS_HEADERS = ("社区", "小区", "楼栋", "房号")
SUMMARY_KEYS = (
    "members_created",
    "members_updated",
    "members_unchanged",
    "registrations_approved",
    "registrations_pending",
)


class _Row(NamedTuple):
    number: int
    name: str
    id_number: str
    id_digest: str
    phone: str
    phone_digest: str
    unit_name: str
    address: tuple[str, str, str, str, str] | None  # community, estate, building, unit, room
    skills: tuple[str, ...] | None  # None: the cell was blank, keep what is stored
    free_time: tuple[str, ...] | None


class _Home(NamedTuple):
    household_id: int
    community_id: int
    community_name: str
    path: str  # the building's path, for the scope check


class _Existing(NamedTuple):
    id: int
    name: str
    phone_digest: str
    work_unit_id: int | None
    community_id: int | None
    household_id: int | None
    free_time: list
    user_id: int | None


@dataclass(slots=True)
class _Write:
    """What the writer does for one row."""

    row: _Row
    member_id: int | None  # None until the writer gives a new member its id
    is_new: bool
    work_unit_id: int | None
    household_id: int | None
    community_id: int | None
    free_time: list[str]
    skills: list[str]  # the member's skills after the import
    set_skills: bool  # replace the stored skills with `skills`
    write_member: bool  # insert, or update the stored member row
    registration: str | None  # status of a new registration, None for none
    home: _Home | None
    user_id: int | None


# --- pass 1: read and check each row on its own ----------------------------------------------------


def _clean_id(value) -> tuple[str, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "", _("身份证号被 Excel 存成了数字，后几位可能已丢失；请把这一列设为“文本”格式后重新填写")
    text = cell_text(value)
    if not text:
        return "", _("身份证号不能为空")
    try:
        return validate_id_number(text), ""
    except ValidationError as exc:
        return "", exc.messages[0]


def _clean_phone(value) -> tuple[str, str]:
    text = cell_text(value)
    if not text:
        return "", _("手机号不能为空")
    try:
        return validate_mobile(text), ""
    except ValidationError as exc:
        return "", exc.messages[0]


def _split(value) -> list[str]:
    return [part for part in SPLIT.split(cell_text(value)) if part]


def read_members(
    data: bytes, chunk_rows: int
) -> Iterator[tuple[list[_Row], list[RowError], int, int | None]]:
    """Pass 1, run in a reader process for large files: parse the sheet and check each row on its own.

    Yields, every `chunk_rows` rows read: the valid rows (phone and ID number normalised and indexed;
    encrypted only once a row is known to be written), the errors found, the rows read so far and
    the sheet's own row estimate.
    """
    errors = RowErrors(COLUMNS)
    with open_table(BytesIO(data), COLUMNS, what=_("党员名单")) as table:
        for rows in _read_chunks(table, errors, chunk_rows):
            yield rows, errors.take(), table.count, table.total
        yield [], errors.take(), table.count, table.count


def _read_chunks(table, errors: RowErrors, chunk_rows: int) -> Iterator[list[_Row]]:
    chunk: list[_Row] = []
    seen: dict[str, int] = {}
    add = errors.add
    for number, values in table.rows():
        name_v, id_v, phone_v, unit_v, c_v, e_v, b_v, u_v, r_v, skills_v, free_v = values
        before = len(errors)
        name = cell_text(name_v)
        if not name or len(name) > 64:
            add(number, "姓名", _("姓名不能为空，且不超过64个字"))
        id_number, problem = _clean_id(id_v)
        id_digest = ""
        if problem:
            add(number, "身份证号", problem)
        else:
            id_digest = blind_index(id_number)
            if id_digest in seen:
                add(number, "身份证号", _("与第{n}行的身份证号重复").format(n=seen[id_digest]))
            else:
                seen[id_digest] = number
        phone, problem = _clean_phone(phone_v)
        if problem:
            add(number, "手机号", problem)
        unit_name = cell_text(unit_v)
        if len(unit_name) > 100:
            add(number, "工作单位", _("工作单位不能超过100个字"))
        address = _address(number, (c_v, e_v, b_v, u_v, r_v), add)
        skills = _skills(number, skills_v, add)
        free_time = _free_time(number, free_v, add)
        if len(errors) == before:
            chunk.append(
                _Row(
                    number,
                    name,
                    id_number,
                    id_digest,
                    phone,
                    blind_index(phone),
                    unit_name,
                    address,
                    skills,
                    free_time,
                )
            )
        if table.count % chunk_rows == 0:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _address(number: int, values: tuple, add) -> tuple[str, str, str, str, str] | None:
    if not any(values):
        return None
    address = tuple(cell_text(v) for v in values)
    named = (address[0], address[1], address[2], address[4])
    missing = [header for header, text in zip(ADDRESS_HEADERS, named, strict=True) if not text]
    if missing:
        add(
            number,
            missing[0],
            _("住址不完整：请填写{m}（没有单元的可以不填单元）").format(m="、".join(missing)),
        )
        return None
    return address  # type: ignore[return-value]


def _skills(number: int, value, add) -> tuple[str, ...] | None:
    if value is None or value == "":
        return None
    names = tuple(dict.fromkeys(_split(value)))
    if too_long := [n for n in names if len(n) > 32]:
        add(number, "专长", _("专长“{s}”太长，每项不超过32个字").format(s=too_long[0]))
    return names or None


def _free_time(number: int, value, add) -> tuple[str, ...] | None:
    if value is None or value == "":
        return None
    parts = _split(value)
    if unknown := [p for p in parts if p not in FREE_TIME]:
        add(
            number,
            "空闲时间",
            _("空闲时间“{v}”无法识别，只能填：{ok}").format(v=unknown[0], ok="、".join(FreeTime.labels)),
        )
        return None
    return tuple(sorted({FREE_TIME[p] for p in parts})) or None


# --- pass 2: resolve references of a chunk, then decide row by row ---------------------------------


class _Homes:
    """Finds households by address, loading communities, estates, buildings and rooms as they appear."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.communities: dict[str, tuple[int, str, str] | str] = {}  # name -> (id, path, name) or problem
        self.children: dict[tuple[int, str], tuple[int, str]] = {}  # (parent id, name) -> (id, path)
        self.households: dict[tuple[int, str, str], int] = {}
        self._loaded_parents: set[int] = set()
        self._loaded_buildings: set[int] = set()

    def load(self, rows: list[_Row]) -> None:
        addresses = {r.address for r in rows if r.address}
        self._load_communities({a[0] for a in addresses} - self.communities.keys())
        community_ids = {c[0] for a in addresses if isinstance(c := self.communities[a[0]], tuple)}
        self._load_children(community_ids, AreaKind.ESTATE)
        estate_ids = {e[0] for a in addresses if (e := self._estate(a))}
        self._load_children(estate_ids, AreaKind.BUILDING)
        building_ids = {b[0] for a in addresses if (b := self._building(a))} - self._loaded_buildings
        for condition in matching("building_id", building_ids):
            rooms = Household.objects.filter(condition).values_list("pk", "building_id", "unit", "room")
            self.households.update(((b, u, r), pk) for pk, b, u, r in rooms)
        self._loaded_buildings |= building_ids

    def _load_communities(self, names: set[str]) -> None:
        found: dict[str, list[tuple[int, str]]] = {}
        for condition in matching("name", names):
            communities = Area.objects.filter(condition, kind=AreaKind.COMMUNITY)
            for pk, name, path in communities.values_list("pk", "name", "path"):
                found.setdefault(name, []).append((pk, path))
        for name in names:
            options = found.get(name, [])
            if len(options) > 1:
                options = [o for o in options if self.actor.covers(Perm.MANAGE_MEMBERS, o[1])] or options
            if len(options) == 1:
                self.communities[name] = (options[0][0], options[0][1], name)
            elif options:
                self.communities[name] = _("有多个同名的“{c}”，无法确定是哪一个").format(c=name)
            else:
                self.communities[name] = _("系统中没有名为“{c}”的社区").format(c=name)

    def _load_children(self, parent_ids: set[int], kind: str) -> None:
        parent_ids -= self._loaded_parents
        for condition in matching("parent_id", parent_ids):
            areas = Area.objects.filter(condition, kind=kind).values_list("pk", "parent_id", "name", "path")
            self.children.update(((parent, name), (pk, path)) for pk, parent, name, path in areas)
        self._loaded_parents |= parent_ids

    def _estate(self, address: tuple) -> tuple[int, str] | None:
        community = self.communities.get(address[0])
        return self.children.get((community[0], address[1])) if isinstance(community, tuple) else None

    def _building(self, address: tuple) -> tuple[int, str] | None:
        estate = self._estate(address)
        return self.children.get((estate[0], address[2])) if estate else None

    def find(self, address: tuple) -> _Home | tuple[str, str]:
        """The household at `address`, or (column, reason) saying why there is none."""
        community_name, estate, building, unit, room = address
        community = self.communities[community_name]
        if isinstance(community, str):
            return "社区", community
        if self._estate(address) is None:
            return "小区", _("“{c}”下没有名为“{e}”的小区").format(c=community_name, e=estate)
        if (b := self._building(address)) is None:
            return "楼栋", _("“{e}”下没有名为“{b}”的楼栋").format(e=estate, b=building)
        if (pk := self.households.get((b[0], unit, room))) is None:
            label = f"{unit}{room}" if unit else room
            return "房号", _("“{b}”没有“{r}”这一户，请先导入住户").format(b=building, r=label)
        return _Home(pk, community[0], community[2], b[1])


class _Decider:
    """Applies the permission and consistency rules to each row, collecting errors or writes."""

    def __init__(self, actor: Actor, errors: RowErrors):
        self.actor, self.errors = actor, errors
        self.own_units = set(actor.work_units(Perm.MANAGE_MEMBERS))
        if not (actor.is_superuser or actor.paths(Perm.MANAGE_MEMBERS) or self.own_units):
            raise Forbidden(_("您没有导入党员的权限"))
        self.default_unit = next(iter(self.own_units)) if len(self.own_units) == 1 else None
        self.unit_names = dict(WorkUnit.objects.filter(pk__in=self.own_units).values_list("pk", "name"))
        self.units: dict[str, int | None] = {}
        self.homes = _Homes(actor)
        self.skill_names = dict(Skill.objects.values_list("pk", "name"))
        self.existing: dict[str, _Existing] = {}
        self.open_regs: dict[int, list[int]] = {}
        self.stored_skills: dict[int, set[str]] = {}
        self._covered: dict[str, bool] = {}

    def load(self, rows: list[_Row]) -> None:
        """Resolves what the rows of one chunk refer to, in a few set-based queries."""
        names = {r.unit_name for r in rows if r.unit_name} - self.units.keys()
        for condition in matching("name", names):
            self.units.update(WorkUnit.objects.filter(condition).values_list("name", "pk"))
        self.units.update(dict.fromkeys(names - self.units.keys()))
        self.homes.load(rows)
        fields = ("id_number_digest", "pk", "name", "phone_digest", "work_unit_id", "community_id")
        fields += ("household_id", "free_time", "user_id")
        self.existing = {}
        for condition in matching("id_number_digest", [r.id_digest for r in rows]):
            for digest, *rest in Member.objects.filter(condition).values_list(*fields):
                self.existing[digest] = _Existing(*rest)
        member_ids = [e.id for e in self.existing.values()]
        self.open_regs, self.stored_skills = {}, {}
        for condition in matching("member_id", member_ids):
            # The status is checked here, not in SQL: right after a large import the statistics are
            # stale and a status filter steers the planner away from the member_id index.
            registrations = Registration.objects.filter(condition).values_list(
                "member_id", "status", "community_id"
            )
            for member_id, status, community_id in registrations:
                if status in OPEN:
                    self.open_regs.setdefault(member_id, []).append(community_id)
            links = Member.skills.through.objects.filter(condition).values_list("member_id", "skill_id")
            for member_id, skill_id in links:
                self.stored_skills.setdefault(member_id, set()).add(self.skill_names[skill_id])

    def covers(self, path: str) -> bool:
        if path not in self._covered:
            self._covered[path] = self.actor.covers(Perm.MANAGE_MEMBERS, path)
        return self._covered[path]

    def decide(self, row: _Row) -> _Write | None:
        add = self.errors.add
        home = None
        if row.address:
            found = self.homes.find(row.address)
            if not isinstance(found, _Home):
                add(row.number, *found)
                return None
            home = found
        by_staff = home is not None and self.covers(home.path)
        unit_id = None
        if row.unit_name:
            unit_id = self.units.get(row.unit_name)
            if unit_id is None:
                add(row.number, "工作单位", _("系统中没有名为“{u}”的工作单位").format(u=row.unit_name))
                return None
        elif not by_staff:
            unit_id = self.default_unit
        if not by_staff and unit_id not in self.own_units:
            return self._refuse(row, home)
        existing = self.existing.get(row.id_digest)
        if existing is None:
            return self._new(row, unit_id, home, by_staff)
        return self._update(row, existing, unit_id, home, by_staff)

    def _refuse(self, row: _Row, home: _Home | None) -> None:
        if self.own_units:
            names = "、".join(sorted(self.unit_names.values()))
            self.errors.add(row.number, "工作单位", _("只能导入本单位（{u}）的党员").format(u=names))
        elif home is None:
            self.errors.add(row.number, "社区", _("请填写住址（社区、小区、楼栋、房号），党员才能在社区报到"))
        else:
            self.errors.add(row.number, "社区", _("“{c}”不在您的管理范围内").format(c=row.address[0]))

    def _new(self, row: _Row, unit_id: int | None, home: _Home | None, by_staff: bool) -> _Write:
        status = None
        if home is not None:
            status = RegistrationStatus.APPROVED if by_staff else RegistrationStatus.PENDING
        approved = status == RegistrationStatus.APPROVED
        return _Write(
            row=row,
            member_id=None,
            is_new=True,
            work_unit_id=unit_id,
            household_id=home.household_id if approved else None,
            community_id=home.community_id if approved else None,
            free_time=list(row.free_time or ()),
            skills=list(row.skills or ()),
            set_skills=bool(row.skills),
            write_member=True,
            registration=status,
            home=home,
            user_id=None,
        )

    def _update(
        self, row: _Row, e: _Existing, unit_id: int | None, home: _Home | None, by_staff: bool
    ) -> _Write | None:
        add = self.errors.add
        if e.name != row.name:
            add(row.number, "姓名", _("与系统中这个身份证号登记的姓名不一致，请核对"))
            return None
        if unit_id and e.work_unit_id and unit_id != e.work_unit_id:
            add(row.number, "工作单位", _("与系统中该党员登记的工作单位不一致，请核对"))
            return None
        status = None
        open_in = self.open_regs.get(e.id, [])
        if home is not None:
            if any(c != home.community_id for c in open_in):
                add(row.number, "社区", _("该党员已在其他社区报到或有待审核的申请，搬家请办理迁移报到"))
                return None
            if not open_in:
                status = RegistrationStatus.APPROVED if by_staff else RegistrationStatus.PENDING
        approved = status == RegistrationStatus.APPROVED
        stored = self.stored_skills.get(e.id, set())
        free_time = list(row.free_time) if row.free_time is not None else list(e.free_time or [])
        write = _Write(
            row=row,
            member_id=e.id,
            is_new=False,
            work_unit_id=unit_id or e.work_unit_id,
            household_id=home.household_id if approved else e.household_id,
            community_id=home.community_id if approved else e.community_id,
            free_time=free_time,
            skills=list(row.skills) if row.skills is not None else sorted(stored),
            set_skills=row.skills is not None and set(row.skills) != stored,
            write_member=False,
            registration=status,
            home=home,
            user_id=e.user_id,
        )
        write.write_member = (
            e.phone_digest != row.phone_digest
            or write.work_unit_id != e.work_unit_id
            or write.household_id != e.household_id
            or write.community_id != e.community_id
            or sorted(free_time) != sorted(e.free_time or [])
        )
        return write


# --- the write phase --------------------------------------------------------------------------------


def _columns(model, *names: str) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


MEMBER_COLUMNS = _columns(
    Member,
    "id",
    "name",
    "phone",
    "phone_digest",
    "id_number",
    "id_number_digest",
    "work_unit",
    "household",
    "community",
    "free_time",
    "resources",
    "volunteer_no",
    "card_token",
    "created_at",
)
MEMBER_UPDATE = "UPDATE {table} SET {sets} WHERE id = %s".format(  # noqa: S608 (names from model metadata)
    table=Member._meta.db_table,
    sets=", ".join(
        f"{c} = %s"
        for c in _columns(Member, "phone", "phone_digest", "work_unit", "household", "community", "free_time")
    ),
)
REGISTRATION_COLUMNS = _columns(
    Registration,
    "id",
    "member",
    "community",
    "household",
    "work_unit",
    "resources",
    "free_time",
    "kind",
    "status",
    "submitted_at",
    "reviewed_by",
    "reviewed_at",
    "reject_reason",
)


@dataclass
class _Batch:
    """One chunk's writes in database form, prepared on the reading side (ciphertexts included).

    A member is referred to by its id when it exists, or by -(position + 1) in `members` when it is
    new: the writer draws the new ids inside its transaction.
    """

    members: list[tuple] = field(default_factory=list)  # new members, every column but the id
    updates: list[tuple] = field(default_factory=list)  # MEMBER_UPDATE parameters
    replaced: list[int] = field(default_factory=list)  # existing members whose skills are replaced
    links: list[tuple[int, str]] = field(default_factory=list)  # (member ref, skill name)
    registrations: list[tuple] = field(default_factory=list)  # (member ref, every column but id and member)
    registration_skills: list[list[str]] = field(default_factory=list)  # per registration
    notices: list[tuple[int, str]] = field(default_factory=list)  # (user id, text)


@functools.cache
def _json_of(values: tuple[str, ...]) -> str:
    return json.dumps(list(values))


def _json(values: list[str]) -> str:
    return _json_of(tuple(values))


class _Preparer:
    """Turns decided rows into a `_Batch`: encrypts, draws volunteer numbers, counts what happens."""

    def __init__(self, actor: Actor):
        self.reviewer = actor.user_id
        self.now = db_now()
        self.numbers: set[str] = set()
        self.counts = dict.fromkeys(SUMMARY_KEYS, 0)

    def prepare(self, writes: list[_Write]) -> _Batch:
        batch = _Batch()
        new = [w for w in writes if w.is_new]
        numbers = self._volunteer_numbers(len(new))
        refs = {}
        for position, (w, number) in enumerate(zip(new, numbers, strict=True)):
            refs[w.row.id_digest] = -(position + 1)
            batch.members.append(self._member_row(w, number))
        for w in writes:
            ref = w.member_id if not w.is_new else refs[w.row.id_digest]
            if not w.is_new and w.write_member:
                batch.updates.append(self._member_update(w))
            if w.set_skills:
                if not w.is_new:
                    batch.replaced.append(w.member_id)
                batch.links.extend((ref, name) for name in w.skills)
            if w.registration:
                batch.registrations.append(self._registration_row(w, ref))
                batch.registration_skills.append(w.skills)
                if w.user_id:
                    batch.notices.append((w.user_id, self._notice(w)))
        self._count(writes, len(new), len(batch.updates))
        return batch

    def _count(self, writes: list[_Write], created: int, changed: int) -> None:
        updated = changed + sum(1 for w in writes if not w.is_new and w.set_skills and not w.write_member)
        self.counts["members_created"] += created
        self.counts["members_updated"] += updated
        self.counts["members_unchanged"] += len(writes) - created - updated
        for w in writes:
            if w.registration == RegistrationStatus.APPROVED:
                self.counts["registrations_approved"] += 1
            elif w.registration == RegistrationStatus.PENDING:
                self.counts["registrations_pending"] += 1

    def _volunteer_numbers(self, count: int) -> list[str]:
        """Fresh volunteer numbers, checked against stored ones (random draws do collide at 100,000)."""
        fresh: set[str] = set()
        while len(fresh) < count:
            drawn: set[str] = set()
            while len(fresh) + len(drawn) < count:
                number = f"HJ{secrets.randbelow(10**10):010d}"
                if number not in self.numbers and number not in fresh:
                    drawn.add(number)
            for condition in matching("volunteer_no", drawn):
                drawn.difference_update(
                    Member.objects.filter(condition).values_list("volunteer_no", flat=True)
                )
            fresh |= drawn
        self.numbers |= fresh
        return list(fresh)

    def _member_row(self, w: _Write, number: str) -> tuple:
        """A new member in database form: phone and ID numbers leave here only as ciphertext."""
        row = w.row
        return (
            row.name,
            encrypt(row.phone),
            row.phone_digest,
            encrypt(row.id_number),
            row.id_digest,
            w.work_unit_id,
            w.household_id,
            w.community_id,
            _json(w.free_time),
            "",
            number,
            secrets.token_urlsafe(16),
            self.now,
        )

    @staticmethod
    def _member_update(w: _Write) -> tuple:
        row = w.row
        return (
            encrypt(row.phone),
            row.phone_digest,
            w.work_unit_id,
            w.household_id,
            w.community_id,
            _json(w.free_time),
            w.member_id,
        )

    def _registration_row(self, w: _Write, ref: int) -> tuple:
        approved = w.registration == RegistrationStatus.APPROVED
        return (
            ref,
            w.home.community_id,
            w.home.household_id,
            w.work_unit_id,
            "",
            _json(w.free_time),
            RegistrationKind.NEW.value,
            w.registration.value,
            self.now,
            self.reviewer if approved else None,
            self.now if approved else None,
            "",
        )

    @staticmethod
    def _notice(w: _Write) -> str:
        if w.registration == RegistrationStatus.APPROVED:
            return _("社区已为您办理在{c}的报到。").format(c=w.home.community_name)
        return _("您的单位已为您提交到{c}的报到申请，请等待社区审核。").format(c=w.home.community_name)


class _Writer:
    """Loads prepared batches, all inside the caller's one transaction; little Python work per row."""

    def __init__(self, actor: Actor, job: ImportJob):
        self.actor, self.job = actor, job
        self.skill_ids: dict[str, int] | None = None
        self.skills_created = 0

    def write(self, batch: _Batch) -> None:
        member_ids = new_ids(Member._meta.db_table, len(batch.members))
        bulk_load(
            Member._meta.db_table,
            MEMBER_COLUMNS,
            [(pk, *row) for pk, row in zip(member_ids, batch.members, strict=True)],
        )
        if batch.updates:
            with connection.cursor() as cursor:
                cursor.executemany(MEMBER_UPDATE, batch.updates)
        for condition in matching("member_id", batch.replaced):
            Member.skills.through.objects.filter(condition).delete()

        def member(ref: int) -> int:
            return ref if ref > 0 else member_ids[-ref - 1]

        named = {name for _ref, name in batch.links} | {
            n for names in batch.registration_skills for n in names
        }
        skill_ids = self._skills(named)
        links = [(member(ref), skill_ids[name]) for ref, name in batch.links]
        bulk_load(Member.skills.through._meta.db_table, ["member_id", "skill_id"], links)
        registration_ids = new_ids(Registration._meta.db_table, len(batch.registrations))
        rows = [
            (pk, member(ref), *rest)
            for pk, (ref, *rest) in zip(registration_ids, batch.registrations, strict=True)
        ]
        bulk_load(Registration._meta.db_table, REGISTRATION_COLUMNS, rows)
        links = [
            (pk, skill_ids[name])
            for pk, names in zip(registration_ids, batch.registration_skills, strict=True)
            for name in names
        ]
        bulk_load(Registration.skills.through._meta.db_table, ["registration_id", "skill_id"], links)
        for user_id, text in batch.notices:
            notify(user_id=user_id, text=text)

    def finish(self, counts: dict[str, int]) -> dict[str, int]:
        summary = {**counts, "skills_created": self.skills_created}
        audit(actor=self.actor, action="import.members", target=self.job, **summary)
        return summary

    def _skills(self, names: set[str]) -> dict[str, int]:
        if self.skill_ids is None:
            self.skill_ids = dict(Skill.objects.values_list("name", "pk"))
        missing = sorted(names - self.skill_ids.keys())
        if missing:
            Skill.objects.bulk_create([Skill(name=n) for n in missing], ignore_conflicts=True)
            self.skill_ids.update(Skill.objects.filter(name__in=missing).values_list("name", "pk"))
            self.skills_created += len(missing)
        return self.skill_ids


class _Rollback(Exception):
    pass


class _BackgroundWriter:
    """Runs a `_Writer` on a second thread, in its own connection and transaction.

    PostgreSQL inserts, indexes and checks constraints on its own CPU while the reading thread keeps
    parsing the sheet. The transaction commits only when `finish(commit=True)` says the whole file
    was valid; otherwise it is rolled back and nothing is kept.
    """

    def __init__(self, writer: _Writer):
        self.writer = writer
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.summary: dict[str, int] = {}
        self._commit = False
        self._counts: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name="member-import-writer", daemon=True)
        self._thread.start()

    def put(self, batch: _Batch) -> None:
        if self.error is None:
            self.queue.put(batch)

    def abort(self) -> None:
        """Rolls back whatever was written, e.g. when the file turns out to be broken halfway."""
        with contextlib.suppress(Exception):  # the reader's own error is the one to report
            self.finish(commit=False)

    def finish(self, *, commit: bool, counts: dict[str, int] | None = None) -> dict[str, int]:
        self._commit, self._counts = commit, counts or {}
        self.queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.summary

    def _run(self) -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:  # check foreign keys as rows arrive, not all at commit
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                while (batch := self.queue.get()) is not None:
                    self.writer.write(batch)
                if not self._commit:
                    raise _Rollback
                self.summary = self.writer.finish(self._counts)
        except _Rollback:
            pass
        except BaseException as exc:  # handed to the reading thread, which raises it
            self.error = exc
            while self.queue.get() is not None:  # let the reader finish instead of blocking on put()
                pass
        finally:
            connection.close()


def import_members(*, actor: Actor, source: IO[bytes], job: ImportJob) -> ImportOutcome:
    """Reads a member file, checks every row, and writes all of it or nothing."""
    errors = RowErrors(COLUMNS)
    decider = _Decider(actor, errors)
    preparer, writer = _Preparer(actor), _Writer(actor, job)
    data = source.read()
    parallel = _can_work_in_parallel(len(data))
    reader = "huijia.members.imports.read_members"
    chunks = from_process(reader, data, CHUNK_ROWS) if parallel else read_members(data, CHUNK_ROWS)
    background = _BackgroundWriter(writer) if parallel and connection.vendor == "postgresql" else None
    held: list[_Batch] = []
    count = 0
    try:
        job.report_progress(0, None)
        for rows, row_errors, count, total in chunks:
            job.report_progress(count, total)
            errors.extend(row_errors)
            decider.load(rows)
            writes = [w for row in rows if (w := decider.decide(row)) is not None]
            if errors:
                held.clear()  # nothing will be written; keep reading to report every error
            elif background:
                background.put(preparer.prepare(writes))
            else:
                held.append(preparer.prepare(writes))
    except BaseException:
        if background:
            background.abort()
        raise
    finally:
        chunks.close()  # stops the reader process if reading ended early
    if errors:
        if background:
            background.abort()
        return ImportOutcome(rows=count, errors=errors.sorted())
    job.report_saving()
    if background:
        return ImportOutcome(rows=count, summary=background.finish(commit=True, counts=preparer.counts))
    with transaction.atomic():
        for batch in held:
            writer.write(batch)
        return ImportOutcome(rows=count, summary=writer.finish(preparer.counts))


def _can_work_in_parallel(size: int) -> bool:
    """Large files are parsed in a reader process and, on PostgreSQL, written by a second thread.

    Both need the rows the file refers to to be committed (a second connection sees nothing of an
    open transaction), so not inside a transaction (a test); small files are not worth a process.
    """
    return size >= PARALLEL_MIN_BYTES and not connection.in_atomic_block
