"""The permission matrix of service records, the annual minimum, certificates and the ledgers: every
role × every read and write, on the member of A1 (work unit U1) and the member of A2 (unit U2), their
communities and their units. Refused means NotFound or Forbidden with nothing written.

Who reaches what, in one line each: a member their own records, standing and certificates; community
staff their community's (and issue certificates for its members); the street and the organisation
department read their subtree and download ledgers, but issue nothing; a work unit its own members'
records, certificates, below-minimum list and member ledger; the estate's secretary and the building
head see the member's household but not their service record or standing, nor the community's lists;
staff who work in the city read its policy, only the organisation department changes it; residents
and outsiders nothing.
"""

from collections.abc import Iterator
from io import BytesIO

import pytest
from django.db import transaction
from django.urls import reverse

from huijia.accounts.models import AuditLog
from huijia.core.errors import NotFound
from huijia.core.testing import World
from huijia.grid.models import AreaKind
from huijia.grid.services import _new_area
from huijia.tests.test_permission_matrix import (
    ACTORS,
    HttpOp,
    Op,
    http_attempt,
    in_list,
    matrix_world,
    reached_targets,
    signed_in_clients,
    targets,
    try_refused,
    world_built_once,
)
from huijia.volunteering import certificates, ledgers, minimum, records
from huijia.volunteering.models import Certificate, VolunteerPolicy
from huijia.volunteering.testing import enrol, make_activity, record


def records_world() -> World:
    """The matrix world with a closed record and a certificate for `member` (A1) and `other_member` (A2)."""
    w = matrix_world()
    w.records, w.certificates = {}, {}
    for key, member, community in (("a1", "member", "a1"), ("a2", "other_member", "a2")):
        activity = make_activity(
            w, title=f"{community}的志愿活动", community=community, slots=[("活动室", -3, 2, 5)]
        )
        slot = activity.slots.get()
        enrol(slot, w.members[member])
        w.records[key] = record(slot, w.members[member])
        w.certificates[key] = certificates.issue_certificate(actor=w.actor(member))
    w.areas["other_city"] = _new_area(parent=None, kind=AreaKind.CITY, name="株洲市")
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(records_world, django_db_blocker)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker):
    return signed_in_clients(world, django_db_blocker)


MEMBERS = targets(
    {"a1_u1": lambda w: w.members["member"].pk, "a2_u2": lambda w: w.members["other_member"].pk}
)
RECORDS = targets({"a1_u1": lambda w: w.records["a1"].pk, "a2_u2": lambda w: w.records["a2"].pk})
CERTS = targets({"a1_u1": lambda w: w.certificates["a1"].pk, "a2_u2": lambda w: w.certificates["a2"].pk})
COMMUNITIES = targets({"a1": lambda w: w.areas["a1"].pk, "a2": lambda w: w.areas["a2"].pk})
UNITS = targets({"u1": lambda w: w.units["u1"].pk, "u2": lambda w: w.units["u2"].pk})
CITIES = targets({"city": lambda w: w.areas["city"].pk, "other_city": lambda w: w.areas["other_city"].pk})

BOTH = {"a1_u1", "a2_u2"}
RECORD_READERS = {  # ServiceRecord / Certificate scope: the community, the member's unit, the member
    "org_dept": BOTH,
    "street_staff": BOTH,
    "staff": {"a1_u1"},
    "other_staff": {"a2_u2"},
    "unit_organiser": {"a1_u1"},
    "member": {"a1_u1"},
    "other_member": {"a2_u2"},
}
# a member's standing and records: staff over the whole reporting community or the member's unit, and
# the member; not the estate secretary nor the building head who see the member's household
MEMBER_READERS = RECORD_READERS
CITY_STAFF = {  # anyone with an area grant in the city reads its policy
    name: {"city"}
    for name in ("org_dept", "street_staff", "staff", "other_staff", "estate_secretary", "building_head")
}
COMMUNITY_STAFF = {
    "org_dept": {"a1", "a2"},
    "street_staff": {"a1", "a2"},
    "staff": {"a1"},
    "other_staff": {"a2"},
}


def _member_records(a, pk, w):
    member = records.member_of(actor=a, member_id=pk)
    if member.pk != pk:
        raise NotFound()
    return list(records.records_for(actor=a, member_id=pk))


def _ledger(fn):
    def run(a, pk, w):
        fn(actor=a, community_id=pk, date_from=None, date_to=None, dest=BytesIO())

    return run


def _set_policy(a, pk, w):
    minimum.set_policy(actor=a, city_id=pk, annual_minimum=3, remind_days=30)


def _unit_ledger(a, pk, w):
    ledgers.export_member_ledger(actor=a, work_unit_id=pk, date_from=None, date_to=None, dest=BytesIO())


OPS = [
    Op("list records", RECORDS, in_list(lambda a: records.records_for(actor=a)), RECORD_READERS),
    Op(
        "read one record", RECORDS, lambda a, pk, w: records.record_for(actor=a, record_id=pk), RECORD_READERS
    ),
    Op("read a member's records", MEMBERS, _member_records, MEMBER_READERS),
    Op(
        "standing of a member",
        MEMBERS,
        lambda a, pk, w: records.standing_of(actor=a, member_id=pk),
        MEMBER_READERS,
    ),
    Op(
        "below the minimum (community)",
        COMMUNITIES,
        lambda a, pk, w: records.below_minimum(actor=a, community_id=pk),
        COMMUNITY_STAFF,
    ),
    Op(
        "below the minimum (work unit)",
        UNITS,
        lambda a, pk, w: records.below_minimum(actor=a, work_unit_id=pk),
        {"unit_organiser": {"u1"}},
    ),
    Op(
        "issue a certificate",
        MEMBERS,
        lambda a, pk, w: certificates.issue_certificate(actor=a, member_id=pk),
        {"staff": {"a1_u1"}, "other_staff": {"a2_u2"}, "member": {"a1_u1"}, "other_member": {"a2_u2"}},
    ),
    Op(
        "read a certificate",
        CERTS,
        lambda a, pk, w: certificates.certificate_for(actor=a, certificate_id=pk),
        RECORD_READERS,
    ),
    Op("download the activity ledger", COMMUNITIES, _ledger(ledgers.export_activity_ledger), COMMUNITY_STAFF),
    Op("download the member ledger", COMMUNITIES, _ledger(ledgers.export_member_ledger), COMMUNITY_STAFF),
    Op("download a unit's member ledger", UNITS, _unit_ledger, {"unit_organiser": {"u1"}}),
    Op("read the policy", CITIES, lambda a, pk, w: minimum.policy_of_city(actor=a, city_id=pk), CITY_STAFF),
    Op("set the policy", CITIES, _set_policy, {"org_dept": {"city"}}),
]
OPS_BY_NAME = {op.name: op for op in OPS}


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_permission_matrix(op: Op, world: World):
    assert reached_targets(op, world) == {name: op.allowed.get(name, set()) for name in ACTORS}


def state() -> tuple:
    policies = list(
        VolunteerPolicy.objects.values_list("city_id", "annual_minimum", "remind_days_before_year_end")
    )
    return (Certificate.objects.count(), AuditLog.objects.count(), policies)


@pytest.mark.django_db
def test_refused_writes_store_nothing(world: World):
    before = state()
    writes = [op for op in OPS if op.name.startswith(("issue", "download", "set"))]
    try_refused(writes, world, must_raise=True)
    assert state() == before


# --- the JSON API: the same expectations ------------------------------------------------------------

API_OPS = [
    HttpOp("list records", "get", lambda pk: "/api/v1/volunteer/records?limit=100", listed=True),
    HttpOp("read a member's records", "get", lambda pk: f"/api/v1/volunteer/records?member={pk}"),
    HttpOp("standing of a member", "get", lambda pk: f"/api/v1/volunteer/standing?member={pk}"),
    HttpOp(
        "below the minimum (community)", "get", lambda pk: f"/api/v1/volunteer/below-minimum?community={pk}"
    ),
    HttpOp(
        "below the minimum (work unit)", "get", lambda pk: f"/api/v1/volunteer/below-minimum?work_unit={pk}"
    ),
    HttpOp("issue a certificate", "post", lambda pk: "/api/v1/volunteer/certificates", None),
    HttpOp("read a certificate", "get", lambda pk: f"/api/v1/volunteer/certificates/{pk}/pdf"),
    HttpOp("read one record", "get", lambda pk: f"/api/v1/volunteer/records/{pk}"),
    HttpOp("read the policy", "get", lambda pk: f"/api/v1/volunteer/policy?city_id={pk}"),
]

# writes whose body names the target: (same_as, method, url, body of the target)
API_WRITES = [
    ("set the policy", "put", lambda pk: f"/api/v1/volunteer/policy?city_id={pk}",
     lambda pk: {"annual_minimum": 3, "remind_days": 30}),
    ("download the activity ledger", "post", lambda pk: "/api/v1/volunteer/ledgers/activities",
     lambda pk: {"community_id": pk}),
    ("download the member ledger", "post", lambda pk: "/api/v1/volunteer/ledgers/members",
     lambda pk: {"community_id": pk}),
    ("download a unit's member ledger", "post", lambda pk: "/api/v1/volunteer/ledgers/members",
     lambda pk: {"work_unit_id": pk}),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("op", API_OPS, ids=lambda op: f"API {op.method.upper()} {op.same_as}")
def test_permission_matrix_through_the_api(op: HttpOp, world: World, clients):
    base = OPS_BY_NAME[op.same_as]
    subjects = base.targets(world)
    got = {}
    for name in ACTORS:
        reached = set()
        for target, obj in subjects.items():
            # the certificate's body names the member
            attempt = op if op.method == "get" else HttpOp(op.same_as, "post", op.url, {"member_id": obj})
            if http_attempt(clients[name], attempt, obj):
                reached.add(target)
        got[name] = reached
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}


@pytest.mark.django_db
@pytest.mark.parametrize("write", API_WRITES, ids=lambda w: f"API {w[1].upper()} {w[0]}")
def test_permission_matrix_of_api_writes(write, world: World, clients):
    name_of, method, url, body = write
    base = OPS_BY_NAME[name_of]
    got = {}
    before = state()
    for name in ACTORS:
        reached = set()
        for target, pk in base.targets(world).items():
            with transaction.atomic():
                send = getattr(clients[name], method)
                response = send(url(pk), body(pk), content_type="application/json")
                transaction.set_rollback(True)
            if response.status_code in (401, 403, 404):
                continue
            assert response.status_code == 200, (name, target, response.status_code, response.content)
            reached.add(target)
        got[name] = reached
    assert got == {name: base.allowed.get(name, set()) for name in ACTORS}
    assert state() == before


# --- the HTML screens --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_certificate_pdf_screen(world: World, clients):
    allowed = OPS_BY_NAME["read a certificate"].allowed
    for name in ACTORS:
        for target, pk in CERTS(world).items():
            response = clients[name].get(reverse("volunteering:certificate_pdf", args=[pk]))
            if target in allowed.get(name, set()):
                assert response.status_code == 200, (name, target)
            else:
                assert response.status_code in (302, 404), (name, target, response.status_code)


@pytest.mark.django_db
def test_minimum_screen(world: World, clients):
    allowed = OPS_BY_NAME["below the minimum (community)"].allowed
    for name in ACTORS:
        for target, pk in COMMUNITIES(world).items():
            response = clients[name].get(reverse("volunteering:minimum"), {"community": pk})
            if target in allowed.get(name, set()):
                assert response.status_code == 200, (name, target)
                assert "李建国" in response.content.decode() or "赵敏" in response.content.decode()
            else:
                assert response.status_code in (302, 403, 404), (name, target, response.status_code)


@pytest.mark.django_db
def test_ledger_screen_refusals_store_nothing(world: World, clients):
    allowed = OPS_BY_NAME["download the member ledger"].allowed
    for name in ACTORS:
        for target, pk in COMMUNITIES(world).items():
            before = state()
            response = clients[name].post(reverse("volunteering:ledger_members"), {"community": pk})
            if target in allowed.get(name, set()):
                assert response.status_code == 200, (name, target)
            else:
                assert response.status_code in (302, 403, 404), (name, target, response.status_code)
                assert state() == before


@pytest.mark.django_db
def test_verification_is_public_and_shows_nothing_personal(world: World, clients):
    cert = world.certificates["a1"]
    member = world.members["member"]
    for name in ACTORS:
        response = clients[name].get(reverse("volunteering:certificate_verify", args=[cert.verify_token]))
        html = response.content.decode()
        assert response.status_code == 200
        assert "李*国" in html
        assert member.phone not in html
        assert member.id_number not in html


@pytest.mark.django_db
def test_policy_screen(world: World, clients):
    readers = OPS_BY_NAME["read the policy"].allowed
    setters = OPS_BY_NAME["set the policy"].allowed
    for name in ACTORS:
        for target, pk in CITIES(world).items():
            url = f"{reverse('volunteering:policy')}?city={pk}"
            response = clients[name].get(url)
            if target in readers.get(name, set()):
                assert response.status_code == 200, (name, target)
                assert ('name="annual_minimum"' in response.content.decode()) == (
                    target in setters.get(name, set())
                ), (name, target)
            else:
                assert response.status_code in (302, 403, 404), (name, target, response.status_code)
            if target not in setters.get(name, set()):
                before = state()
                posted = clients[name].post(url, {"annual_minimum": "5", "remind_days": "30"})
                assert posted.status_code in (302, 403, 404), (name, target, posted.status_code)
                if posted.status_code == 302:
                    assert "/login/" in posted["Location"], (name, target)
                assert state() == before


@pytest.mark.django_db
def test_unit_ledger_screen_refusals_store_nothing(world: World, clients):
    allowed = OPS_BY_NAME["download a unit's member ledger"].allowed
    for name in ACTORS:
        for target, pk in UNITS(world).items():
            before = state()
            response = clients[name].post(reverse("volunteering:ledger_unit_members"), {"work_unit": pk})
            if target in allowed.get(name, set()):
                assert response.status_code == 200, (name, target)
            else:
                assert response.status_code in (302, 403, 404), (name, target, response.status_code)
                assert state() == before
