"""A small named world for tests: two streets, three communities, and one user per role.

Role fixtures (after healthchecks' alice/bob/charlie): `org_dept` (city), `street_staff` (street A),
`staff` (community A1), `other_staff` (sibling community A2), `estate_secretary` (estate of A1),
`building_head` (building of A1), `unit_organiser` (work unit U1), `member` (of U1, reporting in A1),
`pending_member` (of U2, pending in A1), `other_member` (reporting in A2), `resident` (household in
A1), `outsider` (signed in, no role). `member` leads team `a1_team` holding building 3 of A1;
`other_member` is linked to household a2_101.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection

from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Role
from huijia.accounts.scope import Actor, actor_for
from huijia.core.crypto import blind_index
from huijia.core.personal import id_check_digit
from huijia.demands.catalogue import ensure_categories
from huijia.grid.models import Area, AreaKind, Household, Resident
from huijia.grid.services import _new_area
from huijia.members.models import (
    HouseholdAccess,
    HouseholdLink,
    Member,
    Registration,
    RegistrationStatus,
    Skill,
    Team,
    TeamMembership,
    ZoneAssignment,
)
from huijia.orgs.models import OrgKind, PartyOrg, WorkUnit

PASSWORD = "huijia-test-pass"


def make_id_number(serial: int, birth: str = "19850312") -> str:
    first17 = f"430102{birth}{serial % 1000:03d}"
    return first17 + id_check_digit(first17)


def make_phone(serial: int) -> str:
    return f"139{serial:08d}"


@dataclass
class World:
    areas: dict[str, Area] = field(default_factory=dict)
    households: dict[str, Household] = field(default_factory=dict)
    units: dict[str, WorkUnit] = field(default_factory=dict)
    users: dict[str, object] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    registrations: dict[str, Registration] = field(default_factory=dict)
    skills: dict[str, Skill] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        user = self.users[name]
        user.__dict__.pop("_huijia_actor", None)
        return actor_for(user)


def make_user(username: str, display_name: str = ""):
    return get_user_model().objects.create_user(
        username=username, password=PASSWORD, display_name=display_name
    )


def make_member(w: World, key: str, *, name: str, serial: int, unit: str | None, user=True) -> Member:
    id_number, phone = make_id_number(serial), make_phone(serial)
    member = Member.objects.create(
        user=make_user(key, name) if user else None,
        name=name,
        phone=phone,
        phone_digest=blind_index(phone),
        id_number=id_number,
        id_number_digest=blind_index(id_number),
        work_unit=w.units[unit] if unit else None,
    )
    if member.user:
        w.users[key] = member.user
    w.members[key] = member
    return member


def register(
    w: World, key: str, community: str, household: str, status=RegistrationStatus.APPROVED
) -> Registration:
    member = w.members[key]
    reg = Registration.objects.create(
        member=member,
        community=w.areas[community],
        household=w.households[household],
        work_unit=member.work_unit,
        status=status,
        reject_reason="资料不全" if status == RegistrationStatus.REJECTED else "",
    )
    if status == RegistrationStatus.APPROVED:
        Member.objects.filter(pk=member.pk).update(
            community=w.areas[community], household=w.households[household]
        )
        member.refresh_from_db()
    w.registrations[key] = reg
    return reg


def build_world() -> World:
    ensure_categories()  # a transactional test before this one may have flushed the migration's rows
    w = World()
    a = w.areas
    a["city"] = _new_area(parent=None, kind=AreaKind.CITY, name="长沙市")
    a["district"] = _new_area(parent=a["city"], kind=AreaKind.DISTRICT, name="芙蓉区")
    a["street_a"] = _new_area(parent=a["district"], kind=AreaKind.STREET, name="文艺路街道")
    a["street_b"] = _new_area(parent=a["district"], kind=AreaKind.STREET, name="定王台街道")
    a["a1"] = _new_area(parent=a["street_a"], kind=AreaKind.COMMUNITY, name="识字岭社区")
    a["a2"] = _new_area(parent=a["street_a"], kind=AreaKind.COMMUNITY, name="燕子岭社区")
    a["b1"] = _new_area(parent=a["street_b"], kind=AreaKind.COMMUNITY, name="新园社区")
    for c in ("a1", "a2", "b1"):
        a[f"{c}_estate"] = _new_area(parent=a[c], kind=AreaKind.ESTATE, name=f"{a[c].name}幸福小区")
        a[f"{c}_bldg"] = _new_area(parent=a[f"{c}_estate"], kind=AreaKind.BUILDING, name="3栋")
        a[f"{c}_bldg2"] = _new_area(parent=a[f"{c}_estate"], kind=AreaKind.BUILDING, name="5栋")
        for floor in (1, 2):
            for room in (1, 2):
                code = f"{floor}0{room}"
                w.households[f"{c}_{code}"] = Household.objects.create(
                    building=a[f"{c}_bldg"], unit="1单元", floor=floor, room=code
                )
        w.households[f"{c}_bldg2_101"] = Household.objects.create(
            building=a[f"{c}_bldg2"], unit="", floor=1, room="101"
        )
    PartyOrg.objects.create(kind=OrgKind.COMMUNITY_COMMITTEE, name="识字岭社区党委", area=a["a1"])
    w.units["u1"] = WorkUnit.objects.create(name="芙蓉区教育局")
    w.units["u2"] = WorkUnit.objects.create(name="长沙市自来水公司", kind="state_firm")
    for name, cat in (("医疗", "健康"), ("法律", "法律"), ("水电维修", "维修")):
        w.skills[name] = Skill.objects.create(name=name, category=cat)

    for key, role, node in (
        ("org_dept", Role.ORG_DEPT, "city"),
        ("street_staff", Role.STREET, "street_a"),
        ("staff", Role.COMMUNITY, "a1"),
        ("other_staff", Role.COMMUNITY, "a2"),
        ("estate_secretary", Role.ESTATE, "a1_estate"),
        ("building_head", Role.BUILDING, "a1_bldg"),
    ):
        w.users[key] = make_user(key)
        RoleGrant.objects.create(user=w.users[key], role=role, area=a[node])
    w.users["unit_organiser"] = make_user("unit_organiser")
    RoleGrant.objects.create(user=w.users["unit_organiser"], role=Role.WORK_UNIT, work_unit=w.units["u1"])

    make_member(w, "member", name="李建国", serial=1, unit="u1")
    register(w, "member", "a1", "a1_101")
    make_member(w, "pending_member", name="王芳", serial=2, unit="u2")
    register(w, "pending_member", "a1", "a1_102", status=RegistrationStatus.PENDING)
    make_member(w, "other_member", name="赵敏", serial=3, unit="u2")
    register(w, "other_member", "a2", "a2_101")
    w.users["resident"] = make_user("resident", "陈奶奶")
    Resident.objects.create(
        household=w.households["a1_201"],
        user=w.users["resident"],
        name="陈奶奶",
        phone=make_phone(90),
        phone_digest=blind_index(make_phone(90)),
    )
    w.users["outsider"] = make_user("outsider")
    _teams(w)
    return w


def _teams(w: World) -> None:
    """`member` leads team "a1_team", which holds the four households of building 3 in A1 (a1_101,
    a1_102, a1_201, a1_202); `other_member` is linked (党员联户) to a2_101. Building 5 of A1 is held
    by nobody."""
    a, h = w.areas, w.households
    team = Team.objects.create(
        community=a["a1"],
        estate=a["a1_estate"],
        building=a["a1_bldg"],
        name="3栋第1组",
        zone_label="3栋 1–2层",
    )
    w.teams["a1_team"] = team
    TeamMembership.objects.create(team=team, member=w.members["member"], is_leader=True)
    zone = [h[k] for k in ("a1_101", "a1_102", "a1_201", "a1_202")]
    ZoneAssignment.objects.bulk_create([ZoneAssignment(team=team, household=x) for x in zone])
    HouseholdAccess.objects.bulk_create(
        [HouseholdAccess(member=w.members["member"], household=x, by_zone=True) for x in zone]
    )
    HouseholdLink.objects.create(member=w.members["other_member"], household=h["a2_101"])
    HouseholdAccess.objects.create(member=w.members["other_member"], household=h["a2_101"], by_link=True)


def race(calls: list[Callable[[], object]], *, timeout: float = 120) -> list:
    """Runs the calls at the same moment, one thread and one database connection each, and returns
    their outcomes in order (a return value, or the exception raised: the test looks at both).

    On PostgreSQL they really race (a barrier lets them go together); SQLite's test database cannot
    hold two writers, so there they take turns, and the test checks the same outcome."""
    together = connection.vendor == "postgresql"
    barrier = threading.Barrier(len(calls) if together else 1)
    outcomes: list = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[i] = call()
        except Exception as exc:  # the outcome is what the test looks at
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
        if not together:
            thread.join(timeout=timeout)
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes
