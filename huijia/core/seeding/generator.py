"""The rows of a generated city, with ids assigned here so paths and foreign keys need no round-trip.

`generate(scale)` plans the whole world in memory except the households, which are streamed (a city
has a million). Every member gets one registration story: approved, pending, rejected (with a reason),
rejected then resubmitted, withdrawn, transferred (an ended registration elsewhere followed by an
approved transfer, history kept) or none yet (imported by the work unit). Personal data is handed out
as plaintext (`World.plaintexts`) and comes back encrypted through `World.tables(sealed, digest)`, so
the caller decides how to encrypt (in worker processes for a city).
"""

import itertools
import json
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Model

from huijia.core.seeding import names as N
from huijia.core.seeding.pii import REGION_CODES as N_CODES
from huijia.core.seeding.pii import id_numbers, mobiles
from huijia.grid.models import Area, AreaKind, Household, Resident
from huijia.members.models import FreeTime, Member, Registration, RegistrationKind, Skill
from huijia.members.models import RegistrationStatus as S
from huijia.orgs.models import OrgKind, PartyOrg, WorkUnit


@dataclass(frozen=True)
class Scale:
    """How big a generated world is. `city` is the Changsha scale of the source articles (S2)."""

    name: str
    districts: int
    streets: int
    communities: int
    households: int
    members: int
    work_units: int
    residents: int = 0
    demands_per_household: float = 0.0  # residents' demands over the last `demand_days` (issue 4)
    demand_days: int = 365
    estates: tuple[int, int] = (2, 4)  # estates per community, inclusive range
    building_shapes: tuple[tuple[int, int, int], ...] = ((2, 18, 2), (2, 26, 2), (3, 33, 2), (2, 11, 2))
    member_spread: float = 0.6  # sigma of the log-normal community sizes (0: even)
    building_groups: bool = False
    street_names: tuple[str, ...] = ()
    community_names: tuple[str, ...] = ()
    seed: int = 20240701


CITY = Scale(
    name="city",
    districts=9,
    streets=90,
    communities=1000,
    households=1_000_000,
    members=100_000,
    work_units=1000,
    demands_per_household=0.2,  # 200,000 demands a year
)
DEMO = Scale(
    name="demo",
    districts=1,
    streets=1,
    communities=3,
    households=360,
    members=60,
    work_units=8,
    residents=24,
    demands_per_household=0.125,  # about 45 in two weeks: every state of the loop shows on the demo pages
    demand_days=14,
    estates=(2, 3),
    building_shapes=((1, 6, 2), (2, 6, 2), (2, 11, 2)),
    member_spread=0.0,
    building_groups=True,
    street_names=("文艺路街道",),
    community_names=("识字岭社区", "燕子岭社区", "文艺新村社区"),
)

# Registration stories and their shares; every community of a demo shows each one at least once.
STORIES = ("approved", "pending", "rejected", "resubmitted", "withdrawn", "transferred", "none")
STORY_WEIGHTS = (0.78, 0.12, 0.02, 0.01, 0.02, 0.04, 0.01)
SKILLS = (
    ("医疗", "健康"), ("护理", "健康"), ("心理疏导", "健康"), ("法律咨询", "法律"),
    ("水电维修", "维修"), ("家电维修", "维修"), ("教育辅导", "教育"), ("外语翻译", "教育"),
    ("文艺", "文体"), ("书法", "文体"), ("摄影", "文体"), ("驾驶", "出行"),
    ("计算机", "技术"), ("理发", "生活"), ("烹饪", "生活"), ("政策宣讲", "宣传"),
)  # fmt: skip
REJECT_REASONS = (
    "住址信息与房屋登记不一致，请核对房号后重新报到",
    "请补充工作单位党组织开具的报到证明",
    "所填手机号无法联系，请更新后重新报到",
    "该住户不在本社区辖区，请向所在社区报到",
)
RESOURCES = (
    "",
    "",
    "",
    "",
    "可提供法律咨询",
    "有私家车，可接送行动不便的老人",
    "单位会议室可借用",
    "可联系义诊",
)
FREE_TIME_CHOICES = [
    json.dumps(sorted(combo))
    for n in (1, 2)
    for combo in itertools.combinations([f.value for f in FreeTime], n)
]


@dataclass
class Table:
    """Rows for one table, in the order of `fields` (attnames: `building_id`, not `building`)."""

    model: type[Model]
    fields: tuple[str, ...]
    rows: Iterable[tuple]
    total: int

    @property
    def label(self) -> str:
        return self.model._meta.db_table


@dataclass
class Building:
    id: int
    units: int
    floors: int
    per_floor: int
    size: int


@dataclass
class Story:
    """One member's registrations, oldest first: (community index, household id, status, times...)."""

    member_id: int
    community: int  # index into World.community_ids
    kind: str
    work_unit_id: int
    org_id: int
    skills: tuple[int, ...]
    resources: str
    free_time: str
    registrations: list[tuple] = field(default_factory=list)
    created_at: datetime | None = None

    @property
    def approved(self) -> tuple | None:
        return next((r for r in self.registrations if r[2] == S.APPROVED), None)


@dataclass
class World:
    """A planned world: small tables in memory, households streamed, plus what the demo and bench need."""

    scale: Scale
    now: datetime
    areas: list[tuple] = field(default_factory=list)
    community_ids: list[int] = field(default_factory=list)
    household_range: list[tuple[int, int]] = field(default_factory=list)  # per community, inclusive
    estates: dict[int, list[int]] = field(default_factory=dict)  # community id -> estate ids
    buildings: dict[int, list[Building]] = field(default_factory=dict)  # estate id -> buildings
    work_units: list[tuple] = field(default_factory=list)
    party_orgs: list[tuple] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    member_names: list[str] = field(default_factory=list)
    residents: list[tuple[int, int, str]] = field(default_factory=list)  # (id, household id, name)
    plaintexts: list[str] = field(default_factory=list)  # member phone, member ID..., resident phones
    showcase: dict[tuple[int, str], int] = field(default_factory=dict)  # (community idx, story) -> member
    counts: dict[str, int] = field(default_factory=dict)  # rows written per table, once loaded
    demand_tables: list["Table"] = field(default_factory=list)  # demands, events, escalations, rollups

    @property
    def city_id(self) -> int:
        return self.areas[0][0]

    def household_total(self) -> int:
        return sum(b.size for bs in self.buildings.values() for b in bs)

    def busiest_community_id(self) -> int:
        """The community with the longest pending queue (the benchmark's community)."""
        pending = Counter(
            s.community for s in self.stories for r in s.registrations if r[2] == S.PENDING
        ).most_common(1)
        return self.community_ids[pending[0][0] if pending else 0]

    def tables(self, sealed: Callable[[], list[str]], digest: Callable[[str], str]) -> list[Table]:
        """Every table in load order. `sealed()` returns `plaintexts` encrypted, in the same order."""
        reg_total = sum(len(s.registrations) for s in self.stories)
        return [
            Table(
                Area,
                ("id", "parent_id", "kind", "name", "code", "path", "depth"),
                self.areas,
                len(self.areas),
            ),
            Table(WorkUnit, ("id", "name", "kind", "area_id"), self.work_units, len(self.work_units)),
            Table(
                PartyOrg,
                ("id", "parent_id", "kind", "name", "area_id", "work_unit_id"),
                self.party_orgs,
                len(self.party_orgs),
            ),
            Table(Skill, ("id", "name", "category"), _skill_rows(), len(SKILLS)),
            Table(
                Household,
                ("id", "building_id", "unit", "floor", "room"),
                self._household_rows(),
                self.household_total(),
            ),
            Table(
                Resident,
                ("id", "household_id", "name", "phone", "phone_digest"),
                self._resident_rows(sealed, digest),
                len(self.residents),
            ),
            Table(Member, MEMBER_FIELDS, self._member_rows(sealed, digest), len(self.stories)),
            Table(
                Member.skills.through,
                ("id", "member_id", "skill_id"),
                self._member_skill_rows(),
                sum(len(s.skills) for s in self.stories if s.approved),
            ),
            Table(Registration, REGISTRATION_FIELDS, self._registration_rows(), reg_total),
            Table(
                Registration.skills.through,
                ("id", "registration_id", "skill_id"),
                self._registration_skill_rows(),
                sum(len(s.skills) * len(s.registrations) for s in self.stories),
            ),
            *self.demand_tables,
        ]

    def _household_rows(self) -> Iterator[tuple]:
        hid = 0
        unit_names = ["", *(f"{u}单元" for u in range(1, 10))]
        for building in self._buildings_in_id_order():
            unit_of = unit_names if building.units > 1 else [""] * 10
            cells = itertools.product(
                range(1, building.units + 1), range(1, building.floors + 1), range(1, building.per_floor + 1)
            )
            for unit, floor, room in itertools.islice(cells, building.size):
                hid += 1
                yield (hid, building.id, unit_of[unit], floor, f"{floor}{room:02d}")

    def _buildings_in_id_order(self) -> Iterator[Building]:
        for community_id in self.community_ids:
            for estate_id in self.estates[community_id]:
                yield from self.buildings[estate_id]

    def _resident_rows(self, sealed, digest) -> Iterator[tuple]:
        offset = 2 * len(self.stories)
        tokens = sealed()
        for i, (rid, household_id, name) in enumerate(self.residents):
            phone = self.plaintexts[offset + i]
            yield (rid, household_id, name, tokens[offset + i], digest(phone))

    def _member_rows(self, sealed, digest) -> Iterator[tuple]:
        tokens, plain = sealed(), self.plaintexts
        volunteer_nos = random.Random(self.scale.seed + 2).sample(range(10**10), len(self.stories))
        for i, s in enumerate(self.stories):
            approved = s.approved
            yield (
                s.member_id,
                self.member_names[i],
                tokens[2 * i],
                digest(plain[2 * i]),
                tokens[2 * i + 1],
                digest(plain[2 * i + 1]),
                s.work_unit_id,
                s.org_id,
                approved[1] if approved else None,
                self.community_ids[approved[0]] if approved else None,
                s.resources if approved else "",
                s.free_time if approved else "[]",
                f"HJ{volunteer_nos[i]:010d}",
                _card_token(),
                s.created_at,
            )

    def _member_skill_rows(self) -> Iterator[tuple]:
        # A member's skills are those of their approved registration (set on approval).
        rows = ((s.member_id, skill) for s in self.stories if s.approved for skill in s.skills)
        for i, (member_id, skill) in enumerate(rows, start=1):
            yield (i, member_id, skill)

    def _registration_rows(self) -> Iterator[tuple]:
        rid = 0
        for s in self.stories:
            previous = None
            for community, household, status, kind, submitted, reviewed, ended, reason in s.registrations:
                rid += 1
                yield (
                    rid,
                    s.member_id,
                    self.community_ids[community],
                    household,
                    s.work_unit_id,
                    s.resources,
                    s.free_time,
                    kind,
                    previous if kind == RegistrationKind.TRANSFER else None,
                    status,
                    submitted,
                    reviewed,
                    reason,
                    ended,
                )
                previous = rid

    def _registration_skill_rows(self) -> Iterator[tuple]:
        owners = (s for s in self.stories for _ in s.registrations)  # one per registration, in id order
        rows = ((rid, skill) for rid, s in enumerate(owners, start=1) for skill in s.skills)
        for i, (rid, skill) in enumerate(rows, start=1):
            yield (i, rid, skill)


MEMBER_FIELDS = (
    "id", "name", "phone", "phone_digest", "id_number", "id_number_digest", "work_unit_id",
    "registered_org_id", "household_id", "community_id", "resources", "free_time", "volunteer_no",
    "card_token", "created_at",
)  # fmt: skip
REGISTRATION_FIELDS = (
    "id", "member_id", "community_id", "household_id", "work_unit_id", "resources", "free_time", "kind",
    "previous_id", "status", "submitted_at", "reviewed_at", "reject_reason", "ended_at",
)  # fmt: skip


def _skill_rows() -> list[tuple]:
    return [(i, name, category) for i, (name, category) in enumerate(SKILLS, start=1)]


def _card_token() -> str:
    # Card tokens open the public verification page: random, never derived from the seed.
    return secrets.token_urlsafe(16)


def _split(total: int, parts: int) -> list[int]:
    """`total` spread over `parts` as evenly as integers allow."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _names(fixed: tuple[str, ...], generated: Iterator[str]) -> Iterator[str]:
    yield from fixed
    yield from (name for name in generated if name not in fixed)


def check(scale: Scale) -> None:
    """Raises ValueError when `scale` cannot be built (every community needs a household, and so on)."""
    if not 1 <= scale.districts <= len(N.DISTRICTS):
        raise ValueError(f"districts must be between 1 and {len(N.DISTRICTS)}")
    if not scale.districts <= scale.streets <= scale.communities <= scale.households:
        raise ValueError("need districts ≤ streets ≤ communities ≤ households")
    if scale.work_units < 1 or scale.members < 0 or scale.residents < 0 or scale.demands_per_household < 0:
        raise ValueError("need at least one work unit, and no negative counts")


def identities(scale: Scale) -> list[str]:
    """The personal data to encrypt: phone and ID number of each member in turn, then residents' phones.

    Drawn from their own random stream so encryption can start before the rest is planned."""
    rng = random.Random(scale.seed + 1)
    phones = mobiles(rng, scale.members + scale.residents)
    ids = id_numbers(rng, scale.members)
    return [v for pair in zip(phones, ids, strict=False) for v in pair] + phones[scale.members :]


def generate(scale: Scale, *, now: datetime, plaintexts: list[str] | None = None) -> World:
    """Plans a whole world for `scale`; the same scale and seed give the same world (but new card tokens).

    `plaintexts` is `identities(scale)` when the caller already has it."""
    check(scale)
    rng = random.Random(scale.seed)
    world = World(scale=scale, now=now)
    _plan_areas(world, rng)
    _plan_work_units(world, rng)
    _plan_residential_orgs(world)
    people = N.PersonNames(scale.seed).take(scale.members + scale.residents)
    world.member_names = people[: scale.members]
    _plan_members(world, rng)
    _plan_residents(world, rng, people[scale.members :])
    world.plaintexts = identities(scale) if plaintexts is None else plaintexts
    return world


def _area(world: World, parent: tuple | None, kind: str, name: str, code: str = "") -> tuple:
    area_id = len(world.areas) + 1
    path = f"{parent[5] if parent else '/'}{area_id}/"
    row = (area_id, parent[0] if parent else None, kind, name, code, path, parent[6] + 1 if parent else 0)
    world.areas.append(row)
    return row


def _plan_areas(world: World, rng: random.Random) -> None:
    scale = world.scale
    city = _area(world, None, AreaKind.CITY, "长沙市", "4301")
    districts = [
        _area(world, city, AreaKind.DISTRICT, N.DISTRICTS[d], N_CODES[d]) for d in range(scale.districts)
    ]
    street_names = _names(scale.street_names, N.place_names(rng, "街道"))
    community_names = _names(scale.community_names, N.place_names(rng, "社区"))
    streets = [
        _area(world, district, AreaKind.STREET, next(street_names), f"{district[4]}{n + 1:03d}")
        for district, count in zip(districts, _split(scale.streets, scale.districts), strict=True)
        for n in range(count)
    ]
    communities = [
        _area(world, street, AreaKind.COMMUNITY, next(community_names), f"{street[4]}{n + 1:03d}")
        for street, count in zip(streets, _split(scale.communities, scale.streets), strict=True)
        for n in range(count)
    ]
    next_household = 1
    for community, quota in zip(communities, _split(scale.households, scale.communities), strict=True):
        world.community_ids.append(community[0])
        world.household_range.append((next_household, next_household + quota - 1))
        next_household += quota
        _plan_estates(world, rng, community, quota)


def _plan_estates(world: World, rng: random.Random, community: tuple, quota: int) -> None:
    """Two to four estates per community, filled with buildings until the household quota is met."""
    count = rng.randint(*world.scale.estates)
    estates = [_area(world, community, AreaKind.ESTATE, name) for name in N.estate_names(rng, count)]
    world.estates[community[0]] = [e[0] for e in estates]
    for estate in estates:
        world.buildings[estate[0]] = []
    n = 0
    while quota > 0:
        estate = estates[n % count]
        units, floors, per_floor = rng.choice(world.scale.building_shapes)
        size = min(units * floors * per_floor, quota)
        number = len(world.buildings[estate[0]]) + 1
        row = _area(world, estate, AreaKind.BUILDING, f"{number}栋")
        world.buildings[estate[0]].append(Building(row[0], units, floors, per_floor, size))
        quota -= size
        n += 1


def _plan_work_units(world: World, rng: random.Random) -> None:
    districts = [a for a in world.areas if a[2] == AreaKind.DISTRICT]
    names = N.work_unit_names([d[3] for d in districts])
    for unit_id, (name, kind) in zip(range(1, world.scale.work_units + 1), names, strict=False):
        world.work_units.append((unit_id, name, kind, rng.choice(districts)[0]))


def _plan_residential_orgs(world: World) -> None:
    """Street committees, community committees, estate branches (and building groups for the demo),
    then one Party organisation per work unit."""
    orgs = world.party_orgs
    org_of_area: dict[int, int] = {}
    kinds = {
        AreaKind.STREET: (OrgKind.STREET_COMMITTEE, "党工委"),
        AreaKind.COMMUNITY: (OrgKind.COMMUNITY_COMMITTEE, "党委"),
        AreaKind.ESTATE: (OrgKind.ESTATE_BRANCH, "党支部"),
    }
    if world.scale.building_groups:
        kinds[AreaKind.BUILDING] = (OrgKind.BUILDING_GROUP, "党小组")
    names = {a[0]: a[3] for a in world.areas}
    for area_id, parent_id, kind, name, *_ in world.areas:  # parents come before children
        if kind not in kinds:
            continue
        org_kind, suffix = kinds[kind]
        if kind == AreaKind.STREET:
            name = name.removesuffix("街道") + "街道"
        elif kind in (AreaKind.ESTATE, AreaKind.BUILDING):
            name = f"{names[parent_id]}{name}"
        org_id = len(orgs) + 1
        org_of_area[area_id] = org_id
        orgs.append((org_id, org_of_area.get(parent_id), org_kind, f"{name}{suffix}", area_id, None))
    for unit_id, name, kind, _area_id in world.work_units:
        org_kind = OrgKind.UNIT_COMMITTEE if kind != "institution" else OrgKind.UNIT_BRANCH
        suffix = "党委" if org_kind == OrgKind.UNIT_COMMITTEE else "党支部"
        orgs.append((len(orgs) + 1, None, org_kind, f"{name}{suffix}", None, unit_id))


def _plan_members(world: World, rng: random.Random) -> None:
    scale, count = world.scale, len(world.community_ids)
    if scale.member_spread > 0:
        weights = [rng.lognormvariate(0, scale.member_spread) for _ in range(count)]
    else:
        weights = [1.0] * count
    communities = rng.choices(range(count), weights=weights, k=scale.members)
    stories = rng.choices(STORIES, weights=STORY_WEIGHTS, k=scale.members)
    for i in range(min(scale.members, len(STORIES) * min(count, 3))):  # every story in the first communities
        communities[i], stories[i] = i // len(STORIES), STORIES[i % len(STORIES)]
    unit_orgs = {row[5]: row[0] for row in world.party_orgs if row[5] is not None}
    skill_ids = range(1, len(SKILLS) + 1)
    for i, (community, story) in enumerate(zip(communities, stories, strict=True)):
        unit_id = rng.randrange(len(world.work_units)) + 1
        s = Story(
            member_id=i + 1,
            community=community,
            kind=story,
            work_unit_id=unit_id,
            org_id=unit_orgs[unit_id],
            skills=tuple(sorted(rng.sample(skill_ids, rng.choices((0, 1, 2, 3), (15, 45, 30, 10))[0]))),
            resources=rng.choice(RESOURCES),
            free_time=rng.choice(FREE_TIME_CHOICES),
        )
        s.registrations = _registrations(world, rng, s)
        first = (
            s.registrations[0][4] if s.registrations else world.now - timedelta(days=rng.randrange(1, 365))
        )
        s.created_at = first - timedelta(hours=rng.randrange(1, 24 * 60))
        world.stories.append(s)
        if i < len(STORIES) * 3:
            world.showcase.setdefault((community, story), s.member_id)


def _registrations(world: World, rng: random.Random, s: Story) -> list[tuple]:
    """(community index, household id, status, kind, submitted, reviewed, ended, reason), oldest first."""
    now, c = world.now, s.community

    def ago(lo_days: int, hi_days: int) -> datetime:
        return now - timedelta(seconds=rng.randrange(lo_days * 86400, hi_days * 86400))

    def home(community: int) -> int:
        return rng.randint(*world.household_range[community])

    def review(t: datetime) -> datetime:
        return t + timedelta(minutes=rng.randrange(30, 3 * 24 * 60))

    new = RegistrationKind.NEW
    match s.kind:
        case "approved":
            t = ago(3, 720)
            return [(c, home(c), S.APPROVED, new, t, review(t), None, "")]
        case "pending":
            return [(c, home(c), S.PENDING, new, ago(0, 30), None, None, "")]
        case "rejected":
            t = ago(3, 360)
            return [(c, home(c), S.REJECTED, new, t, review(t), None, rng.choice(REJECT_REASONS))]
        case "resubmitted":
            t, h = ago(10, 360), home(c)
            return [
                (c, h, S.REJECTED, new, t, review(t), None, rng.choice(REJECT_REASONS)),
                (c, h, S.PENDING, new, ago(0, 9), None, None, ""),
            ]
        case "withdrawn":
            t = ago(30, 720)
            reviewed = review(t) if rng.random() < 0.5 else None  # withdrawn while pending, or left later
            return [(c, home(c), S.WITHDRAWN, new, t, reviewed, t + timedelta(days=20), "")]
        case "transferred":
            old = rng.randrange(len(world.community_ids))
            if old == c and len(world.community_ids) > 1:
                old = (c + 1) % len(world.community_ids)
            t1, t2 = ago(200, 720), ago(3, 190)
            moved = review(t2)
            return [
                (old, home(old), S.TRANSFERRED, new, t1, review(t1), moved, ""),
                (c, home(c), S.APPROVED, RegistrationKind.TRANSFER, t2, moved, None, ""),
            ]
    return []


def _plan_residents(world: World, rng: random.Random, names: list[str]) -> None:
    """A few residents per community (the demo's resident login lives in the first community)."""
    count = len(world.community_ids)
    for j, name in enumerate(names):
        world.residents.append((j + 1, rng.randint(*world.household_range[j % count]), name))
