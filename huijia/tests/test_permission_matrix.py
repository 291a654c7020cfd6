"""The permission matrix: every role × every read and write × own / sibling / parent objects.

Each operation lists, per actor, exactly which targets it may reach; everything else must be refused
(NotFound or Forbidden, never a silent success). Writes run inside a savepoint that is rolled back, so
each target is tried on the same untouched world. The services are tried directly, then through the JSON
API and the HTML screens (console, member pages, Excel import and export). Extend this file with every
read and write you add.
"""

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from io import BytesIO

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client, TestCase
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from huijia.accounts.models import AuditLog, Notification, RoleGrant
from huijia.accounts.roles import Role
from huijia.accounts.scope import ANONYMOUS, Actor, get_visible
from huijia.accounts.services import grant_role
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.excel import RowError, write_error_report
from huijia.core.models import ImportJob, ImportKind, ImportStatus
from huijia.core.testing import World, build_world, make_id_number, make_member, make_user, register
from huijia.grid.models import Area, AreaKind, Household, Resident
from huijia.grid.services import create_area, create_household
from huijia.members import selectors
from huijia.members.models import Member, Registration, RegistrationStatus
from huijia.members.services import (
    Identity,
    RegistrationInput,
    approve_registration,
    reject_registration,
    reveal_member_pii,
    submit_registration,
    withdraw_registration,
)

SERIAL = itertools.count()
ACTORS = [
    "org_dept",
    "street_staff",
    "staff",
    "other_staff",
    "estate_secretary",
    "building_head",
    "unit_organiser",
    "member",
    "pending_member",
    "other_member",
    "resident",
    "outsider",
    "anonymous",
]


def matrix_world() -> World:
    """The shared test world plus a pending registration and a resident in the sibling community A2."""
    w = build_world()
    make_member(w, "a2_pending", name="孙强", serial=4, unit="u1", user=False)
    register(w, "a2_pending", "a2", "a2_102", status=RegistrationStatus.PENDING)
    Resident.objects.create(household=w.households["a2_201"], name="钱爷爷")
    return w


def world_built_once(build: Callable[[], World], django_db_blocker) -> Iterator[World]:
    """One world for a whole module, built in a transaction rolled back at its end.

    Each test runs in a savepoint on top of it, and each attempt in a savepoint of its own, so every
    attempt starts from the same untouched world without building it again. The matrix modules of
    the feature apps build theirs with this too.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield build()
        transaction.set_rollback(True)


def signed_in_clients(w: World, django_db_blocker) -> dict[str, Client]:
    """A browser per actor, signed in once for the module (the anonymous one never is)."""
    with django_db_blocker.unblock():
        browsers = {name: Client() for name in ACTORS}
        for name, browser in browsers.items():
            if name != "anonymous":
                browser.force_login(w.users[name])
    return browsers


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(matrix_world, django_db_blocker)


@pytest.fixture(scope="module")
def clients(matrix: World, django_db_blocker) -> dict[str, Client]:
    return signed_in_clients(matrix, django_db_blocker)


def actor_of(w: World, name: str) -> Actor:
    return ANONYMOUS if name == "anonymous" else w.actor(name)


@dataclass(frozen=True)
class Op:
    name: str
    targets: Callable[[World], dict[str, object]]
    run: Callable[[Actor, object, World], object]
    allowed: dict[str, set[str]]


REGS = {
    "a1": lambda w: w.registrations["pending_member"].pk,
    "a1_u1": lambda w: w.registrations["member"].pk,
    "a2": lambda w: w.registrations["other_member"].pk,
}
PENDING = {
    "a1": lambda w: w.registrations["pending_member"].pk,
    "a2": lambda w: w.registrations["a2_pending"].pk,
}
MEMBERS = {
    "a1_u1": lambda w: w.members["member"].pk,
    "a1_pending": lambda w: w.members["pending_member"].pk,
    "a2": lambda w: w.members["other_member"].pk,
}
AREAS = {
    "a1": lambda w: w.areas["a1"],
    "a2": lambda w: w.areas["a2"],
    "parent": lambda w: w.areas["street_a"],
}


def targets(spec: dict) -> Callable[[World], dict[str, object]]:
    return lambda w: {name: make(w) for name, make in spec.items()}


def in_list(qs_of: Callable[[Actor], object]) -> Callable[[Actor, object, World], None]:
    def run(actor: Actor, pk: object, w: World) -> None:
        if not qs_of(actor).filter(pk=pk).exists():
            raise NotFound()

    return run


def new_registrant_input(w: World, community: str) -> RegistrationInput:
    return RegistrationInput(
        community_id=w.areas[community].pk,
        household_id=w.households[f"{community}_202"].pk,
        identity=Identity(name="新党员", phone="13911112222", id_number=make_id_number(555)),
    )


ALL_STAFF_A = {"org_dept", "street_staff"}


def everyone(actors, allowed: set[str]) -> dict[str, set[str]]:
    return {name: set(allowed) for name in actors}


OPS = [
    Op(
        "view registration",
        targets(REGS),
        lambda a, pk, w: selectors.registration_for(actor=a, registration_id=pk),
        {
            **everyone(ALL_STAFF_A, {"a1", "a1_u1", "a2"}),
            "staff": {"a1", "a1_u1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1", "a1_u1"},
            "building_head": {"a1", "a1_u1"},
            "unit_organiser": {"a1_u1"},
            "member": {"a1_u1"},
            "pending_member": {"a1"},
            "other_member": {"a2"},
        },
    ),
    Op(
        "list registrations (queue)",
        targets(REGS),
        in_list(lambda a: selectors.registration_queue(actor=a, status=None)),
        {
            **everyone(ALL_STAFF_A, {"a1", "a1_u1", "a2"}),
            "staff": {"a1", "a1_u1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1", "a1_u1"},
            "building_head": {"a1", "a1_u1"},
            "unit_organiser": {"a1_u1"},
            "member": {"a1_u1"},
            "pending_member": {"a1"},
            "other_member": {"a2"},
        },
    ),
    Op(
        "approve registration",
        targets(PENDING),
        lambda a, pk, w: approve_registration(actor=a, registration_id=pk),
        {"staff": {"a1"}, "other_staff": {"a2"}},
    ),
    Op(
        "reject registration",
        targets(PENDING),
        lambda a, pk, w: reject_registration(actor=a, registration_id=pk, reason="信息不全"),
        {"staff": {"a1"}, "other_staff": {"a2"}},
    ),
    Op(
        "withdraw registration",
        targets(REGS),
        lambda a, pk, w: withdraw_registration(actor=a, registration_id=pk),
        {"member": {"a1_u1"}, "pending_member": {"a1"}, "other_member": {"a2"}},
    ),
    Op(
        "submit registration (first time)",
        targets({"a1": lambda w: "a1", "a2": lambda w: "a2"}),
        lambda a, c, w: submit_registration(actor=a, data=new_registrant_input(w, c)),
        everyone([name for name in ACTORS if name != "anonymous"], {"a1", "a2"}),
    ),
    Op(
        "view member",
        targets({k: v for k, v in MEMBERS.items() if k != "a1_pending"}),
        lambda a, pk, w: selectors.member_for(actor=a, member_id=pk),
        {
            **everyone(ALL_STAFF_A, {"a1_u1", "a2"}),
            "staff": {"a1_u1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1_u1"},
            "building_head": {"a1_u1"},
            "unit_organiser": {"a1_u1"},
            "member": {"a1_u1"},
            "other_member": {"a2"},
        },
    ),
    Op(
        "list members (roster)",
        targets({k: v for k, v in MEMBERS.items() if k != "a1_pending"}),
        in_list(lambda a: selectors.members_for(actor=a)),
        {
            **everyone(ALL_STAFF_A, {"a1_u1", "a2"}),
            "staff": {"a1_u1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1_u1"},
            "building_head": {"a1_u1"},
            "unit_organiser": {"a1_u1"},
            "member": {"a1_u1"},
            "other_member": {"a2"},
        },
    ),
    Op(
        "reveal phone / ID number",
        targets(MEMBERS),
        lambda a, pk, w: reveal_member_pii(actor=a, member_id=pk, field_name="id_number"),
        {
            "staff": {"a1_u1", "a1_pending"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1_u1", "a1_pending"},
            "unit_organiser": {"a1_u1"},
            "member": {"a1_u1"},
            "pending_member": {"a1_pending"},
            "other_member": {"a2"},
        },
    ),
    Op(
        "view area",
        targets(AREAS),
        lambda a, area, w: get_visible(Area.objects.all(), a, area.pk),
        {
            **everyone(ALL_STAFF_A, {"a1", "a2", "parent"}),
            "staff": {"a1"},
            "other_staff": {"a2"},
        },
    ),
    Op(
        "view household",
        targets(
            {
                "a1": lambda w: w.households["a1_101"].pk,
                "a1_resident": lambda w: w.households["a1_201"].pk,
                "a1_unzoned": lambda w: w.households["a1_bldg2_101"].pk,
                "a2": lambda w: w.households["a2_101"].pk,
            }
        ),
        lambda a, pk, w: get_visible(Household.objects.all(), a, pk),
        {
            **everyone(ALL_STAFF_A, {"a1", "a1_resident", "a1_unzoned", "a2"}),
            "staff": {"a1", "a1_resident", "a1_unzoned"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1", "a1_resident", "a1_unzoned"},
            "building_head": {"a1", "a1_resident"},
            "resident": {"a1_resident"},
            "member": {"a1", "a1_resident"},  # their team's zone (building 3), not building 5
            "other_member": {"a2"},  # their linked household (党员联户)
        },
    ),
    Op(
        "view resident",
        targets(
            {
                "a1": lambda w: Resident.objects.get(household=w.households["a1_201"]).pk,
                "a2": lambda w: Resident.objects.get(household=w.households["a2_201"]).pk,
            }
        ),
        lambda a, pk, w: get_visible(Resident.objects.all(), a, pk),
        {
            **everyone(ALL_STAFF_A, {"a1", "a2"}),
            "staff": {"a1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1"},
            "building_head": {"a1"},
            "resident": {"a1"},
        },
    ),
    Op(
        "create area",
        targets(AREAS),
        lambda a, parent, w: create_area(
            actor=a,
            parent=parent,
            kind=AreaKind.COMMUNITY if parent.kind == AreaKind.STREET else AreaKind.ESTATE,
            name="新建区域",
        ),
        {**everyone(ALL_STAFF_A, {"a1", "a2", "parent"}), "staff": {"a1"}, "other_staff": {"a2"}},
    ),
    Op(
        "create household",
        targets({"a1": lambda w: w.areas["a1_bldg"], "a2": lambda w: w.areas["a2_bldg"]}),
        lambda a, building, w: create_household(
            actor=a, building=building, unit="2单元", floor=9, room="901"
        ),
        {**everyone(ALL_STAFF_A, {"a1", "a2"}), "staff": {"a1"}, "other_staff": {"a2"}},
    ),
    Op(
        "grant a role",
        targets(
            {
                "a1": lambda w: w.areas["a1"],
                "a2": lambda w: w.areas["a2"],
                "parent": lambda w: w.areas["street_a"],
            }
        ),
        lambda a, area, w: grant_role(
            actor=a,
            user=make_user(f"granted{next(SERIAL)}"),
            role=Role.COMMUNITY if area.kind != "street" else Role.STREET,
            area=area,
        ),
        {"org_dept": {"a1", "a2", "parent"}, "street_staff": {"a1", "a2"}},
    ),
]


def attempt(op: Op, actor: Actor, target: object, w: World) -> bool:
    """True when the actor got past the scope check; False when refused as out of scope.

    A Conflict (e.g. "already registered here") means the scope check was passed and the state check
    refused: it counts as reached, since this matrix is about who may touch what.
    """
    try:
        with transaction.atomic():
            op.run(actor, target, w)
            transaction.set_rollback(True)
    except (NotFound, Forbidden):
        return False
    except Conflict:
        return True
    return True


def reached_targets(op: Op, w: World) -> dict[str, set[str]]:
    """For every actor, the targets of `op` they got past the scope check on."""
    subjects = op.targets(w)
    return {
        name: {t for t, obj in subjects.items() if attempt(op, actor_of(w, name), obj, w)} for name in ACTORS
    }


def try_refused(ops, w: World, names=ACTORS, *, must_raise: bool = False) -> None:
    """Runs every attempt the matrix refuses (outside savepoints: what they write would stay).
    `must_raise`: an attempt that goes through without an error fails the test."""
    for op in ops:
        for name in names:
            for target_name, target in op.targets(w).items():
                if target_name in op.allowed.get(name, set()):
                    continue
                with contextlib.suppress(NotFound, Forbidden, InvalidInput, Conflict):
                    op.run(actor_of(w, name), target, w)
                    if must_raise:
                        pytest.fail(f"{name} reached {op.name} on {target_name}")


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, matrix: World):
    assert reached_targets(op, matrix) == {name: op.allowed.get(name, set()) for name in ACTORS}


@pytest.mark.django_db
def test_refused_writes_store_nothing(matrix: World):
    w = matrix
    before = (
        Registration.objects.count(),
        Member.objects.count(),
        Area.objects.count(),
        RoleGrant.objects.count(),
    )
    try_refused(OPS, w, ("other_staff", "outsider", "anonymous"))
    assert (
        Registration.objects.count(),
        Member.objects.count(),
        Area.objects.count(),
        RoleGrant.objects.count(),
    ) == before
    assert Registration.objects.filter(status=RegistrationStatus.PENDING).count() == 2


# --- The same matrix through the JSON API: the endpoints must reach exactly what the services allow ---


@dataclass(frozen=True)
class HttpOp:
    same_as: str  # the name of the service-level Op whose expectations apply
    method: str
    url: Callable[[object], str]
    body: dict | None = None
    listed: bool = False  # a list endpoint: "reached" means the target appears in the page


API_OPS = [
    HttpOp("view registration", "get", lambda pk: f"/api/v1/registrations/{pk}"),
    HttpOp("list registrations (queue)", "get", lambda pk: "/api/v1/registrations?limit=100", listed=True),
    HttpOp("approve registration", "post", lambda pk: f"/api/v1/registrations/{pk}/approve", {}),
    HttpOp(
        "reject registration", "post", lambda pk: f"/api/v1/registrations/{pk}/reject", {"reason": "信息不全"}
    ),
    HttpOp("withdraw registration", "post", lambda pk: f"/api/v1/registrations/{pk}/withdraw", {}),
    HttpOp(
        "reveal phone / ID number", "post", lambda pk: f"/api/v1/members/{pk}/reveal", {"field": "id_number"}
    ),
]
OPS_BY_NAME = {op.name: op for op in OPS}


def http_attempt(client, op: HttpOp, target: object) -> bool:
    with transaction.atomic():
        if op.method == "get":
            response = client.get(op.url(target))
        else:
            response = client.post(op.url(target), op.body, content_type="application/json")
        transaction.set_rollback(True)
    if response.status_code in (401, 403, 404):
        return False
    assert response.status_code < 300, (response.status_code, response.content)
    if op.listed:
        return target in {row["id"] for row in response.json()["items"]}
    return True


@pytest.mark.django_db
@pytest.mark.parametrize("op", API_OPS, ids=lambda op: f"API {op.method.upper()} {op.same_as}")
def test_permission_matrix_through_the_api(op: HttpOp, matrix: World, clients: dict[str, Client]):
    base = OPS_BY_NAME[op.same_as]
    subjects = base.targets(matrix)
    got = {}
    for name in ACTORS:
        got[name] = {t for t, obj in subjects.items() if http_attempt(clients[name], op, obj)}
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}


# --- The same rules through the HTML screens: the console, the member's pages, Excel import and export ---
#
# Each screen answers one of three ways per target, and the table says which:
#   ALLOWED: the effect happened (the write is in the database, or the target is on the page / in the file);
#   ANSWERED: an ordinary answer without it (a list that leaves the target out, a page that explains a
#     refusal, an import job whose error report names the row); nothing the screen guards is stored;
#   REFUSED: 403 or 404 (anonymous: sent to sign in), and the database exactly as before.
# Every HTML answer is also checked for unmasked phone and ID numbers, which only a reveal may show.

ALLOWED, ANSWERED, REFUSED = "allowed", "answered without it", "refused"
STAFF = [  # every actor holding a role: the console is theirs
    "org_dept",
    "street_staff",
    "staff",
    "other_staff",
    "estate_secretary",
    "building_head",
    "unit_organiser",
]
SIGNED_IN = [name for name in ACTORS if name != "anonymous"]
ALL_MEMBERS = {
    "a1_u1": lambda w: w.members["member"],
    "a1_pending": lambda w: w.members["pending_member"],
    "a2": lambda w: w.members["other_member"],
    "a2_u1_pending": lambda w: w.members["a2_pending"],  # of work unit U1, pending in A2, no household yet
}
WITH_ACCOUNTS = {k: v for k, v in ALL_MEMBERS.items() if k != "a2_u1_pending"}
COMMUNITIES = {"a1": lambda w: w.areas["a1"], "a2": lambda w: w.areas["a2"]}
VIEW_COMMUNITY = {**everyone(ALL_STAFF_A, {"a1", "a2"}), "staff": {"a1"}, "other_staff": {"a2"}}
VIEW_PENDING_ONLY = {  # may see a pending registration but not review it (Perm.VIEW without Perm.REVIEW)
    **everyone(ALL_STAFF_A, {"a1", "a2"}),
    "estate_secretary": {"a1"},
    "building_head": {"a1"},
    "unit_organiser": {"a2"},  # the applicant pending in A2 belongs to work unit U1
}
EXPORT_AREAS = {**everyone(ALL_STAFF_A, {"a1", "a2", "parent"}), "staff": {"a1"}, "other_staff": {"a2"}}
# An estate as well: its secretary sees it but holds no Perm.EXPORT there.
SUBTREES = {**AREAS, "a1_estate": lambda w: w.areas["a1_estate"]}
EXPORT_SUBTREES = {
    **everyone(ALL_STAFF_A, {"a1", "a1_estate", "a2", "parent"}),
    "staff": {"a1", "a1_estate"},
    "other_staff": {"a2"},
}
MEMBER_EXPORTERS = ["org_dept", "street_staff", "staff", "other_staff", "unit_organiser"]  # Perm.EXPORT
JOB_OWNERS = {"a1": "staff", "a2": "other_staff", "parent": "street_staff", "u1": "unit_organiser"}
HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reg"}


def staff_part(op_name: str) -> dict[str, set[str]]:
    """A console screen reaches what the service allows, for staff only: members use their own pages."""
    return {name: allowed for name, allowed in OPS_BY_NAME[op_name].allowed.items() if name in STAFF}


def db_state() -> tuple:
    """What a refused request must leave exactly as it was."""
    return (
        tuple(Registration.objects.order_by("pk").values_list("pk", "status")),
        tuple(Member.objects.order_by("pk").values_list("pk", "community_id", "household_id", "user_id")),
        Household.objects.count(),
        Area.objects.count(),
        AuditLog.objects.count(),
        ImportJob.objects.count(),
        Notification.objects.count(),
    )


def data_rows(state: tuple) -> tuple:
    """The data itself: what an import must not store, and an export must not change, when it refuses a row.

    A file refused row by row still keeps its job, error report and audit entry; an export that leaves a
    member out is still an audited export.
    """
    return state[:4]


class Reply:
    """One response, read once: its HTML, or the data rows of the .xlsx it streams."""

    def __init__(self, response):
        self.response = response
        self.status = response.status_code

    @cached_property
    def html(self) -> str:
        return "" if self.response.streaming else self.response.content.decode()

    @cached_property
    def rows(self) -> list[tuple]:
        if not self.response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
            return []
        book = load_workbook(BytesIO(b"".join(self.response.streaming_content)), read_only=True)
        return list(book.worksheets[0].iter_rows(values_only=True))[1:]

    def row_of(self, member: Member) -> tuple | None:
        return next((r for r in self.rows if r[-1] == member.volunteer_no), None)


@dataclass(frozen=True)
class Seen:
    """One target as one actor found it, with the database before and after the request."""

    w: World
    who: str
    target: object
    reply: Reply
    before: tuple
    after: tuple

    @property
    def html(self) -> str:
        return self.reply.html

    @property
    def user(self):
        return self.w.users[self.who]

    def audited(self, action: str, target: object, **detail) -> bool:
        log = AuditLog.objects.filter(action=action, actor=self.user, target_id=str(target.pk)).last()
        return log is not None and all(log.detail.get(k) == v for k, v in detail.items())


@dataclass(frozen=True)
class Screen:
    name: str
    targets: Callable[[World], dict[str, object]]
    send: Callable[[Client, World, object], object]
    done: Callable[[Seen], bool]  # the effect of a write, or the target shown by a read
    allowed: dict[str, set[str]]
    answered: dict[str, set[str]] = field(default_factory=dict)
    explained: Callable[[Seen], bool] = lambda s: True  # how a refusal inside an ordinary answer shows
    kept: Callable[[tuple], tuple] = lambda state: state  # what such a refusal leaves untouched
    reads: bool = False  # nothing may change, whatever the answer
    listed: bool = False  # one request shows every target (a list, the actor's own page, an export)
    may_show: Callable[[Seen], set[str]] = lambda s: set()  # unmasked numbers this answer may contain

    def expected(self, subjects) -> dict[str, dict[str, str]]:
        def one(name: str, t: str) -> str:
            if t in self.allowed.get(name, ()):
                return ALLOWED
            return ANSWERED if t in self.answered.get(name, ()) else REFUSED

        return {name: {t: one(name, t) for t in subjects} for name in ACTORS}


def answers(names, subjects) -> dict[str, set[str]]:
    """Actors who get an ordinary answer for every target (whatever it shows)."""
    return everyone(names, set(subjects))


def community_rows_only(s: Seen, model, community: Area) -> bool:
    """The page of one community shows its rows and no other community's."""
    others = model.objects.exclude(community=community)
    if model is Registration:
        marks = [f'id="reg-{r.pk}"' for r in others]
    else:
        marks = [m.volunteer_no for m in others]
    return s.reply.status == 200 and community.name in s.html and not any(m in s.html for m in marks)


def registration_became(status: str, action: str) -> Callable[[Seen], bool]:
    def done(s: Seen) -> bool:
        registration = Registration.objects.get(pk=s.target)
        return registration.status == status and s.audited(action, registration)

    return done


def plain_value(s: Seen, field_name: str) -> str:
    return getattr(Member.objects.only(field_name).get(pk=s.target), field_name)


def reveal_screen(field_name: str, label: str) -> Screen:
    """The number is shown in full and the view is audited; refused, nothing is shown or written."""
    return Screen(
        f"POST reveal {label}",
        targets(MEMBERS),
        lambda c, w, pk: c.post(reverse("members:reveal", args=[pk, field_name])),
        lambda s: (
            plain_value(s, field_name) in s.html
            and s.audited("pii.reveal", Member(pk=s.target), field=field_name)
        ),
        OPS_BY_NAME["reveal phone / ID number"].allowed,
        may_show=lambda s: {plain_value(s, field_name)},
    )


def submitted(s: Seen) -> bool:
    """A new pending registration of the actor (their first, or a transfer) in the chosen community."""
    old = {pk for pk, _ in s.before[0]}
    return (
        Registration.objects.filter(
            member__user=s.user, community=s.w.areas[s.target], status=RegistrationStatus.PENDING
        )
        .exclude(pk__in=old)
        .exists()
    )


def submit(c: Client, w: World, community: str):
    url = reverse("members:register_form", args=[w.areas[community].pk, w.households[f"{community}_202"].pk])
    identity = {"name": "新党员", "phone": "13911112222", "id_number": make_id_number(555)}
    return c.post(url, {**identity, "free_time": ["weekend"]})


SUBMIT_CONFLICTS = {"member": {"a1"}, "pending_member": {"a1", "a2"}, "other_member": {"a2"}}


def card_check(s: Seen) -> bool:
    """The public check shows the masked name, and the community only while the card is valid."""
    member: Member = s.target
    if member.pk is None:
        return False
    active = member.registrations.filter(status=RegistrationStatus.APPROVED).first()
    community_shown = active is not None and active.community.name in s.html
    return (
        s.reply.status == 200
        and member.masked_name in s.html
        and member.name not in s.html
        and community_shown == (active is not None)
    )


def make_jobs(w: World) -> dict[str, ImportJob]:
    """One finished import with an error report per owner: the uploader alone may see it (and superusers)."""
    jobs = {}
    for position, owner in JOB_OWNERS.items():
        report = BytesIO()
        reason = f"手机号有误（{position}）"
        write_error_report(report, [RowError(2, "手机号", reason)])
        job = ImportJob(
            kind=ImportKind.MEMBERS,
            created_by=w.users[owner],
            original_name=f"名单（{position}）.xlsx",
            status=ImportStatus.HAS_ERRORS,
            total_rows=1,
            error_count=1,
            summary={"preview": [[2, "手机号", reason]]},
        )
        job.error_report.save(f"errors-{position}.xlsx", ContentFile(report.getvalue()), save=False)
        job.save()
        jobs[position] = job
    return jobs


def xlsx_upload(header: list[str], row: list, name: str) -> BytesIO:
    book = Workbook()
    book.active.append(header)
    book.active.append(row)
    upload = BytesIO()
    book.save(upload)
    upload.seek(0)
    upload.name = name
    return upload


HOUSEHOLD_ROWS = {  # one new household: in A1, in the sibling A2, and in a new community under street A
    "a1": ["芙蓉区", "文艺路街道", "识字岭社区", "识字岭社区幸福小区", "3栋", "1单元", 9, "901"],
    "a2": ["芙蓉区", "文艺路街道", "燕子岭社区", "燕子岭社区幸福小区", "3栋", "1单元", 9, "901"],
    "parent": ["芙蓉区", "文艺路街道", "新建社区", "新建小区", "1栋", "", 1, "101"],
}
IN_A1 = ["识字岭社区", "识字岭社区幸福小区", "3栋", "1单元", "202"]
IN_A2 = ["燕子岭社区", "燕子岭社区幸福小区", "3栋", "1单元", "202"]
MEMBER_ROWS = {  # a new member of work unit U2 living in A1, one living in A2, and one of U1 living in A1
    "a1": ["周明", make_id_number(201), "13800000201", "长沙市自来水公司", *IN_A1],
    "a2": ["吴刚", make_id_number(202), "13800000202", "长沙市自来水公司", *IN_A2],
    "a1_u1": ["郑华", make_id_number(203), "13800000203", "芙蓉区教育局", *IN_A1],
}
MEMBER_HEADER = ["姓名", "身份证号", "手机号", "工作单位", "社区", "小区", "楼栋", "单元", "房号"]
IMPORTED_AS = {  # staff of the household's community register the member; a work unit applies for them
    "staff": RegistrationStatus.APPROVED,
    "other_staff": RegistrationStatus.APPROVED,
    "unit_organiser": RegistrationStatus.PENDING,
}


def upload_households(c: Client, w: World, position: str):
    header = ["区县", "街道", "社区", "小区", "楼栋", "单元", "楼层", "房号"]
    upload = xlsx_upload(header, HOUSEHOLD_ROWS[position], "住户.xlsx")
    return c.post(reverse("data:upload", args=["households"]), {"file": upload})


def households_imported(s: Seen) -> bool:
    *chain, unit, floor, room = HOUSEHOLD_ROWS[s.target]
    return Household.objects.filter(
        building__name=chain[4],
        building__parent__name=chain[3],
        building__parent__parent__name=chain[2],
        unit=unit,
        floor=floor,
        room=room,
    ).exists()


def upload_members(c: Client, w: World, position: str):
    upload = xlsx_upload(MEMBER_HEADER, MEMBER_ROWS[position], "党员.xlsx")
    return c.post(reverse("data:upload", args=["members"]), {"file": upload})


def members_imported(s: Seen) -> bool:
    name, _, _, _, community, *_ = MEMBER_ROWS[s.target]
    registration = Registration.objects.filter(member__name=name, community__name=community).first()
    return registration is not None and registration.status == IMPORTED_AS.get(s.who)


def rows_refused(s: Seen) -> bool:
    """The upload went through, and its job reports the row it refused (nothing else was stored)."""
    job = ImportJob.objects.filter(created_by=s.user).last()
    return (
        s.reply.status == 302
        and job is not None
        and s.reply.response["Location"] == reverse("data:job", args=[job.pk])
        and job.status == ImportStatus.HAS_ERRORS
        and job.error_count == 1
    )


def households_exported(s: Seen) -> bool:
    """The file holds exactly the households under the area, and the export is audited."""
    area: Area = s.target
    under = Household.objects.filter(building__path__startswith=area.path).values_list(
        "building__parent__parent__name", "building__parent__name", "building__name", "unit", "floor", "room"
    )
    exported = {(*r[2:5], r[5] or "", *r[6:]) for r in s.reply.rows}  # an empty unit comes back as None
    return exported == set(under) and len(s.reply.rows) == len(under) and s.audited("export.households", area)


def members_exported(*, full: bool) -> Callable[[Seen], bool]:
    def done(s: Seen) -> bool:
        member: Member = s.target
        row = s.reply.row_of(member)
        shown = (member.id_number, member.phone) if full else (member.masked_id_number, member.masked_phone)
        log = AuditLog.objects.filter(action="export.members", actor=s.user).last()
        return row is not None and row[1:3] == shown and log is not None and log.detail["full"] == full

    return done


def area_members_exported(s: Seen) -> bool:
    """An export of one area holds exactly the members living under it (every one of them in scope here)."""
    area: Area = s.target
    under = Member.objects.filter(household__building__path__startswith=area.path)
    return sorted(r[-1] for r in s.reply.rows) == sorted(m.volunteer_no for m in under) and s.audited(
        "export.members", area
    )


def post(name: str, **data) -> Callable[[Client, World, object], object]:
    return lambda c, w, t: c.post(reverse(name), data)


SCREENS = [
    # --- the registration queue and review -------------------------------------------------------
    Screen(
        "GET registration queue",
        targets(REGS),
        lambda c, w, t: c.get(reverse("members:queue") + "?status=all"),
        lambda s: f'id="reg-{s.target}"' in s.html,
        staff_part("list registrations (queue)"),
        answers(STAFF, REGS),
        reads=True,
        listed=True,
    ),
    Screen(
        "GET registration queue offers approve",
        targets(PENDING),
        lambda c, w, t: c.get(reverse("members:queue") + "?status=pending"),
        lambda s: reverse("members:approve", args=[s.target]) in s.html,
        OPS_BY_NAME["approve registration"].allowed,
        answers(STAFF, PENDING),
        reads=True,
        listed=True,
    ),
    Screen(
        "GET registration queue of one community",
        targets(COMMUNITIES),
        lambda c, w, area: c.get(reverse("members:queue") + f"?community={area.pk}&status=all"),
        lambda s: community_rows_only(s, Registration, s.target),
        VIEW_COMMUNITY,
        reads=True,
    ),
    Screen(
        "POST approve registration",
        targets(PENDING),
        lambda c, w, pk: c.post(reverse("members:approve", args=[pk]), **HX),
        registration_became(RegistrationStatus.APPROVED, "registration.approve"),
        OPS_BY_NAME["approve registration"].allowed,
        VIEW_PENDING_ONLY,
        explained=lambda s: "您可以查看但不能审核该申请" in s.html,
    ),
    Screen(
        "GET reject form",
        targets(PENDING),
        lambda c, w, pk: c.get(reverse("members:reject", args=[pk])),
        lambda s: s.reply.status == 200 and 'name="reason"' in s.html,
        OPS_BY_NAME["reject registration"].allowed,
        VIEW_PENDING_ONLY,
        explained=lambda s: s.reply.status == 200 and "审核由社区党委进行" in s.html,
        reads=True,
    ),
    Screen(
        "POST reject registration",
        targets(PENDING),
        lambda c, w, pk: c.post(reverse("members:reject", args=[pk]), {"reason": "信息不全"}, **HX),
        registration_became(RegistrationStatus.REJECTED, "registration.reject"),
        OPS_BY_NAME["reject registration"].allowed,
        VIEW_PENDING_ONLY,
        explained=lambda s: "您可以查看但不能审核该申请" in s.html,
    ),
    # --- members: roster, reveal, QR poster ------------------------------------------------------
    Screen(
        "GET roster",
        targets(ALL_MEMBERS),
        lambda c, w, t: c.get(reverse("members:roster")),
        lambda s: s.target.volunteer_no in s.html,
        # as the service, plus U1's member still pending in A2, whom the unit organiser sees too
        {**staff_part("list members (roster)"), "unit_organiser": {"a1_u1", "a2_u1_pending"}},
        answers(STAFF, ALL_MEMBERS),
        reads=True,
        listed=True,
    ),
    Screen(
        "GET roster offers reveal",
        targets(ALL_MEMBERS),
        lambda c, w, t: c.get(reverse("members:roster")),
        lambda s: reverse("members:reveal", args=[s.target.pk, "phone"]) in s.html,
        {  # listed in the roster, and Perm.VIEW_PII over them (staff of their community or of their unit)
            "staff": {"a1_u1"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1_u1"},
            "unit_organiser": {"a1_u1", "a2_u1_pending"},
        },
        answers(STAFF, ALL_MEMBERS),
        reads=True,
        listed=True,
    ),
    Screen(
        "GET roster of one community",
        targets(COMMUNITIES),
        lambda c, w, area: c.get(reverse("members:roster") + f"?community={area.pk}"),
        lambda s: community_rows_only(s, Member, s.target),
        VIEW_COMMUNITY,
        reads=True,
    ),
    reveal_screen("phone", "phone"),
    reveal_screen("id_number", "ID number"),
    Screen(
        "GET community QR poster",
        targets(COMMUNITIES),
        lambda c, w, area: c.get(reverse("members:community_qr", args=[area.pk])),
        lambda s: reverse("members:register_community", args=[s.target.pk]) in s.html,
        VIEW_COMMUNITY,
        reads=True,
    ),
    # --- the member's own pages ------------------------------------------------------------------
    Screen(
        "GET withdraw confirmation",
        targets(REGS),
        lambda c, w, pk: c.get(reverse("members:withdraw", args=[pk])),
        lambda s: s.reply.status == 200 and 'method="post"' in s.html,
        OPS_BY_NAME["withdraw registration"].allowed,
        reads=True,
    ),
    Screen(
        "POST withdraw registration",
        targets(REGS),
        lambda c, w, pk: c.post(reverse("members:withdraw", args=[pk])),
        registration_became(RegistrationStatus.WITHDRAWN, "registration.withdraw"),
        OPS_BY_NAME["withdraw registration"].allowed,
    ),
    Screen(
        "POST submit or transfer registration",
        targets({"a1": lambda w: "a1", "a2": lambda w: "a2"}),
        submit,
        submitted,
        {name: {"a1", "a2"} - SUBMIT_CONFLICTS.get(name, set()) for name in SIGNED_IN},
        SUBMIT_CONFLICTS,  # already reporting there, or already waiting: a state refusal, not scope
        explained=lambda s: "无需重复报到" in s.html or "待审核的报到申请" in s.html,
    ),
    Screen(
        "GET my page",
        targets(WITH_ACCOUNTS),
        lambda c, w, t: c.get(reverse("members:home")),
        lambda s: s.target.volunteer_no in s.html,
        {"member": {"a1_u1"}, "pending_member": {"a1_pending"}, "other_member": {"a2"}},
        answers(SIGNED_IN, WITH_ACCOUNTS),
        reads=True,
        listed=True,
    ),
    Screen(
        "GET my member card",
        targets(WITH_ACCOUNTS),
        lambda c, w, t: c.get(reverse("members:card")),
        lambda s: s.target.card_token in s.html,
        {"member": {"a1_u1"}, "other_member": {"a2"}},  # a card only once approved
        answers(SIGNED_IN, WITH_ACCOUNTS),
        reads=True,
        listed=True,
    ),
    Screen(
        "GET public card check",
        targets(
            {
                **WITH_ACCOUNTS,
                "unknown": lambda w: Member(name="无此人", card_token="no-such-token"),
            }
        ),
        lambda c, w, member: c.get(reverse("members:verify", args=[member.card_token])),
        card_check,
        everyone(ACTORS, {"a1_u1", "a1_pending", "a2"}),  # public by design: a masked name and a status
        reads=True,
    ),
    # --- Excel: the console page, jobs and their error reports -----------------------------------
    Screen(
        "GET data console lists my import jobs",
        make_jobs,
        lambda c, w, t: c.get(reverse("data:home")),
        lambda s: s.target.original_name in s.html,
        {owner: {position} for position, owner in JOB_OWNERS.items()},
        answers(STAFF, JOB_OWNERS),
        reads=True,
        listed=True,
    ),
    Screen(
        "GET data console offers export areas",
        targets(AREAS),
        lambda c, w, t: c.get(reverse("data:home")),
        lambda s: f'<option value="{s.target.pk}"' in s.html,
        EXPORT_AREAS,
        answers(STAFF, AREAS),
        reads=True,
        listed=True,
    ),
    Screen(
        "GET import job page",
        make_jobs,
        lambda c, w, job: c.get(reverse("data:job", args=[job.pk])),
        lambda s: s.reply.status == 200 and s.target.original_name in s.html,
        {owner: {position} for position, owner in JOB_OWNERS.items()},
        reads=True,
    ),
    Screen(
        "GET import job progress",
        make_jobs,
        lambda c, w, job: c.get(reverse("data:job_progress", args=[job.pk])),
        lambda s: s.reply.status == 200 and s.target.summary["preview"][0][2] in s.html,
        {owner: {position} for position, owner in JOB_OWNERS.items()},
        reads=True,
    ),
    Screen(
        "GET import error report",
        make_jobs,
        lambda c, w, job: c.get(reverse("data:job_report", args=[job.pk])),
        lambda s: [r[2] for r in s.reply.rows] == [s.target.summary["preview"][0][2]],
        {owner: {position} for position, owner in JOB_OWNERS.items()},
        reads=True,
    ),
    # --- Excel import: the view lets in who may import at all; each row is then checked for scope --
    Screen(
        "POST import households",
        targets({k: (lambda w, k=k: k) for k in HOUSEHOLD_ROWS}),
        upload_households,
        households_imported,
        {**everyone(ALL_STAFF_A, {"a1", "a2", "parent"}), "staff": {"a1"}, "other_staff": {"a2"}},
        {"staff": {"a2", "parent"}, "other_staff": {"a1", "parent"}},
        explained=rows_refused,
        kept=data_rows,
    ),
    Screen(
        "POST import members",
        targets({k: (lambda w, k=k: k) for k in MEMBER_ROWS}),
        upload_members,
        members_imported,
        {"staff": {"a1", "a1_u1"}, "other_staff": {"a2"}, "unit_organiser": {"a1_u1"}},
        {"staff": {"a2"}, "other_staff": {"a1", "a1_u1"}, "unit_organiser": {"a1", "a2"}},
        explained=rows_refused,
        kept=data_rows,
    ),
    # --- Excel export ----------------------------------------------------------------------------
    Screen(
        "POST export households",
        targets(SUBTREES),
        lambda c, w, area: c.post(reverse("data:export_households"), {"area": area.pk}),
        households_exported,
        EXPORT_SUBTREES,
    ),
    Screen(
        "POST export members",
        targets(ALL_MEMBERS),
        post("data:export_members"),
        members_exported(full=False),
        {
            **everyone(ALL_STAFF_A, {"a1_u1", "a2"}),
            "staff": {"a1_u1"},
            "other_staff": {"a2"},
            "unit_organiser": {"a1_u1", "a2_u1_pending"},
        },
        answers(MEMBER_EXPORTERS, ALL_MEMBERS),
        kept=data_rows,
        listed=True,
    ),
    Screen(
        "POST export members of an area",
        targets(SUBTREES),
        lambda c, w, area: c.post(reverse("data:export_members"), {"area": area.pk}),
        area_members_exported,
        EXPORT_SUBTREES,
    ),
    Screen(
        "POST export members with full numbers",
        targets(ALL_MEMBERS),
        post("data:export_members", full="1"),
        members_exported(full=True),
        {"staff": {"a1_u1"}, "other_staff": {"a2"}, "unit_organiser": {"a1_u1", "a2_u1_pending"}},
        answers(["staff", "other_staff", "unit_organiser"], ALL_MEMBERS),  # Perm.EXPORT and Perm.VIEW_PII
        kept=data_rows,
        listed=True,
    ),
]


def is_refusal(reply: Reply, who: str) -> bool:
    if who == "anonymous" and reply.status == 302:
        return reply.response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    return reply.status in (403, 404)


def judge(screen: Screen, s: Seen, plain: set[str]) -> str:
    """Which of the three answers this was, after checking that it kept its promises."""
    where = f"{screen.name}: {s.who} on {s.target!r}"
    leaked = {p for p in plain if p in s.html} - screen.may_show(s)
    assert not leaked, f"{where} shows unmasked numbers {leaked}"
    if is_refusal(s.reply, s.who):
        assert s.after == s.before, f"{where} was refused, yet the database changed"
        return REFUSED
    assert s.reply.status in (200, 302), (where, s.reply.status, s.html[:300])
    assert s.who != "anonymous" or screen.allowed.get("anonymous"), f"{where} answered anonymous"
    if screen.reads:
        assert s.after == s.before, f"{where} is a read, yet the database changed"
    if screen.done(s):
        return ALLOWED
    assert screen.kept(s.after) == screen.kept(s.before), f"{where} was refused, yet it stored something"
    assert screen.explained(s), f"{where} was refused without saying why"
    return ANSWERED


def screen_attempts(screen: Screen, client: Client, w: World, who: str, subjects: dict, before, plain):
    """Each request inside a savepoint rolled back afterwards (on-commit work, like an import, runs in it)."""
    batches = [subjects] if screen.listed else [{name: obj} for name, obj in subjects.items()]
    got = {}
    for batch in batches:
        with transaction.atomic():
            with TestCase.captureOnCommitCallbacks(execute=True):
                reply = Reply(screen.send(client, w, next(iter(batch.values()))))
            after = db_state()
            for name, obj in batch.items():
                got[name] = judge(screen, Seen(w, who, obj, reply, before, after), plain)
            transaction.set_rollback(True)
    return got


FILE_STORAGE = "django.core.files.storage.FileSystemStorage"


@pytest.fixture
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": FILE_STORAGE, "OPTIONS": {"location": tmp_path}},
    }


@pytest.mark.django_db
@pytest.mark.parametrize("screen", SCREENS, ids=lambda screen: f"HTML {screen.name}")
def test_permission_matrix_through_the_screens(screen: Screen, matrix: World, clients, media):
    subjects = screen.targets(matrix)
    before = db_state()
    plain = {value for m in Member.objects.all() for value in (m.phone, m.id_number)}
    got = {}
    for name in ACTORS:
        got[name] = screen_attempts(screen, clients[name], matrix, name, subjects, before, plain)
    assert got == screen.expected(subjects)
