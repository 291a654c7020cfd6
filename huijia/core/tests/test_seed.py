"""The data generator (demo and city scale), the demo logins and the benchmark's pure helpers.

The city generator runs here on a tiny scale through the same code path as the real one (COPY on
PostgreSQL, batched INSERTs on SQLite), so the suite checks both backends.
"""

import io
import re
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from huijia.accounts.models import Notification, RoleGrant, User
from huijia.accounts.roles import Role
from huijia.accounts.scope import ANONYMOUS, actor_for, restrict
from huijia.accounts.selectors import recent_notifications
from huijia.core.crypto import blind_index, decrypt
from huijia.core.management.commands import bench
from huijia.core.personal import validate_id_number, validate_mobile
from huijia.core.seeding import pii
from huijia.core.seeding.logins import BENCH_MEMBER, BENCH_STAFF, DEMO_LOGINS, DEMO_PASSWORD
from huijia.demands import bench as demands_bench
from huijia.demands import classify
from huijia.demands import selectors as demand_selectors
from huijia.demands.models import (
    OPEN_STATUSES,
    Demand,
    DemandEvent,
    DemandRollup,
    DemandStatus,
    Escalation,
    EscalationStatus,
    EventKind,
    Rating,
)
from huijia.demands.services import DemandInput, submit_demand
from huijia.grid.models import CHILD_KIND, Area, AreaKind, Household, Resident
from huijia.grid.services import _new_area
from huijia.members import selectors
from huijia.members.models import Member, Registration, RegistrationKind, RegistrationStatus, Skill
from huijia.orgs.models import OrgKind, PartyOrg, WorkUnit

SEEDED = (Area, Household, Resident, WorkUnit, PartyOrg, Skill, Member, Registration, RoleGrant, User)
TINY_CITY = {"communities": 4, "streets": 2, "households": 160, "members": 90, "work_units": 5}


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in SEEDED}


def raw_rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True  # the demo's fixed passwords are for a local DEBUG install only
    seed(scale="demo")


# --- demo ----------------------------------------------------------------------------------------


def test_demo_has_one_street_with_three_communities_of_estates_and_households(demo):
    street = Area.objects.get(kind=AreaKind.STREET)
    communities = Area.objects.filter(kind=AreaKind.COMMUNITY)
    assert {c.parent_id for c in communities} == {street.pk}
    assert communities.count() == 3
    for community in communities:
        assert 2 <= Area.objects.filter(parent=community, kind=AreaKind.ESTATE).count() <= 3
        assert Household.objects.filter(building__path__startswith=community.path).exists()
    assert Resident.objects.exists()
    assert {"医疗", "法律咨询", "水电维修", "心理疏导", "教育辅导", "文艺", "摄影", "驾驶"} <= set(
        Skill.objects.values_list("name", flat=True)
    )


def test_demo_has_residential_and_work_unit_party_organisations(demo):
    kinds = set(PartyOrg.objects.values_list("kind", flat=True))
    assert {OrgKind.STREET_COMMITTEE, OrgKind.COMMUNITY_COMMITTEE, OrgKind.ESTATE_BRANCH} <= kinds
    assert not WorkUnit.objects.filter(party_orgs__isnull=True).exists()
    committee = PartyOrg.objects.filter(kind=OrgKind.COMMUNITY_COMMITTEE).select_related("parent").first()
    assert committee.parent.kind == OrgKind.STREET_COMMITTEE


def test_demo_has_members_in_every_registration_state(demo):
    statuses = set(Registration.objects.values_list("status", flat=True))
    assert statuses == set(RegistrationStatus.values)
    assert not Registration.objects.filter(status=RegistrationStatus.REJECTED, reject_reason="").exists()
    moved = Registration.objects.filter(kind=RegistrationKind.TRANSFER).select_related("previous").first()
    assert moved.status == RegistrationStatus.APPROVED
    assert moved.previous.status == RegistrationStatus.TRANSFERRED
    assert moved.previous.member_id == moved.member_id
    assert moved.previous.community_id != moved.community_id
    assert Member.objects.filter(registrations__isnull=True).exists()
    for reg in Registration.objects.select_related("household__building", "community"):
        assert reg.household.building.path.startswith(reg.community.path)


def test_demo_has_one_login_per_role_with_its_scope(demo):
    users = {u.username: u for u in User.objects.all()}
    assert {login.username for login in DEMO_LOGINS} <= set(users)
    assert all(users[login.username].check_password(DEMO_PASSWORD) for login in DEMO_LOGINS)
    kinds = {
        "zuzhibu": (Role.ORG_DEPT, AreaKind.CITY),
        "jiedao": (Role.STREET, AreaKind.STREET),
        "shequ": (Role.COMMUNITY, AreaKind.COMMUNITY),
        "zhibu": (Role.ESTATE, AreaKind.ESTATE),
        "louzhang": (Role.BUILDING, AreaKind.BUILDING),
    }
    for username, (role, kind) in kinds.items():
        grant = RoleGrant.objects.select_related("area").get(user=users[username])
        assert (grant.role, grant.area.kind) == (role, kind)
    assert RoleGrant.objects.get(user=users["danwei"]).role == Role.WORK_UNIT
    member = Member.objects.get(user=users["dangyuan"])
    assert member.registrations.filter(status=RegistrationStatus.APPROVED).exists()
    assert not Member.objects.get(user=users["xindangyuan"]).registrations.exists()
    assert actor_for(users["jumin"]).household_id is not None
    assert users["admin"].is_superuser


def test_demo_has_teams_in_force_so_the_member_has_households_to_visit(demo):
    from huijia.accounts.roles import Perm
    from huijia.members.models import Team, ZoneAssignment

    staff = User.objects.get(username="shequ")
    community = RoleGrant.objects.get(user=staff).area
    assert Team.objects.filter(community=community, ended_at=None).exists()
    held = ZoneAssignment.objects.filter(team__community=community, ended_at=None)
    assert held.count() == Household.objects.filter(building__path__startswith=community.path).count()
    member = actor_for(User.objects.get(username="dangyuan"))
    assert restrict(Household.objects.all(), member, Perm.VISIT).exists()


def test_demo_stores_no_plaintext_phone_or_id_number(demo):
    rows = raw_rows("SELECT id, phone, id_number, phone_digest, id_number_digest FROM members_member")
    plain = {m.pk: (m.phone, m.id_number) for m in Member.objects.all()}
    assert len(rows) == len(plain) > 0
    for pk, phone_raw, id_raw, phone_digest, id_digest in rows:
        phone, id_number = plain[pk]
        assert validate_mobile(phone) == phone
        assert validate_id_number(id_number) == id_number
        assert phone not in phone_raw + id_raw
        assert id_number not in phone_raw + id_raw
        assert (phone_digest, id_digest) == (blind_index(phone), blind_index(id_number))
    for (phone_raw,) in raw_rows("SELECT phone FROM grid_resident"):
        assert not re.search(r"1[3-9]\d{9}", phone_raw)
        validate_mobile(decrypt(phone_raw))


def test_demo_seed_with_if_empty_twice_creates_nothing_more(demo):
    before = counts()
    assert "跳过" in seed(scale="demo", if_empty=True)
    assert "跳过" in seed(scale="demo", if_empty=True)
    assert counts() == before


def test_demo_seed_refuses_to_add_to_existing_data(demo):
    with pytest.raises(CommandError, match="--force"):
        seed(scale="demo")


def test_demo_seed_refuses_to_run_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed(scale="demo")
    assert not Area.objects.exists()


def test_demo_logins_prints_one_line_per_role(demo):
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    lines = out.getvalue().splitlines()
    for login in DEMO_LOGINS:
        line = next(line for line in lines if f" {login.username} " in line)
        assert str(login.role) in line
        assert DEMO_PASSWORD in line
    assert "识字岭社区" in out.getvalue()


def test_demo_logins_says_when_there_is_no_demo(db):
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    assert "seed --scale demo" in out.getvalue()


# --- demo demands ------------------------------------------------------------------------------

COUNTED = (
    "received", "responded", "responded_in_time", "declined", "resolved", "resolved_in_time", "rated",
    "satisfied", "respond_seconds", "resolve_seconds",
)  # fmt: skip


def recount(area: Area) -> dict:
    """The rollup counts of `area` per day, counted again from the demand rows under it."""
    days: dict = defaultdict(Counter)
    for d in Demand.objects.filter(area__path__startswith=area.path):
        done = d.status in (DemandStatus.RESOLVED, DemandStatus.CLOSED) and d.resolved_at is not None
        row = days[timezone.localdate(d.created_at)]
        row["received"] += 1
        if d.responded_at:
            row["responded"] += 1
            row["responded_in_time"] += d.responded_at <= d.respond_by
            row["respond_seconds"] += int((d.responded_at - d.created_at).total_seconds())
        row["declined"] += d.status == DemandStatus.DECLINED
        if done:
            row["resolved"] += 1
            row["resolved_in_time"] += d.resolved_at <= d.resolve_by
            row["resolve_seconds"] += int((d.resolved_at - d.created_at).total_seconds())
        row["rated"] += bool(d.rating)
        row["satisfied"] += d.rating in (Rating.SATISFIED, Rating.BASIC)
    return {day: {k: row[k] for k in COUNTED} for day, row in days.items()}


def rollups(area: Area) -> dict:
    return {r["day"]: {k: r[k] for k in COUNTED} for r in DemandRollup.objects.filter(area=area).values()}


def assert_rollups_match_the_demands() -> None:
    areas = Area.objects.filter(
        kind__in=[AreaKind.CITY, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.ESTATE]
    )
    checked = 0
    for area in areas:
        expected = recount(area)
        assert rollups(area) == expected, area.name
        checked += bool(expected)
    assert checked >= 3
    assert not DemandRollup.objects.filter(area__kind=AreaKind.BUILDING).exists()


def test_demo_has_a_few_dozen_demands_through_the_whole_loop(demo):
    statuses = Counter(Demand.objects.values_list("status", flat=True))
    assert 30 <= sum(statuses.values()) <= 80
    assert {
        DemandStatus.SUBMITTED,
        DemandStatus.IN_PROGRESS,
        DemandStatus.RESOLVED,
        DemandStatus.CLOSED,
    } <= set(statuses)
    assert sum(statuses[s] for s in OPEN_STATUSES) >= 8
    first = Area.objects.get(name="识字岭社区")
    assert Demand.objects.filter(community=first, status__in=list(OPEN_STATUSES)).count() >= 3


def test_demo_rollups_equal_a_recount_of_the_demands(demo):
    assert_rollups_match_the_demands()
    street = Area.objects.get(kind=AreaKind.STREET)
    assert sum(r["received"] for r in rollups(street).values()) == Demand.objects.count()


def test_demo_demands_have_consistent_times_and_timelines(demo):
    now = timezone.now()
    for d in Demand.objects.prefetch_related("events"):
        steps = [d.created_at, d.responded_at, d.resolved_at, d.closed_at]
        known = [t for t in steps if t is not None]
        assert known == sorted(known), d.pk
        assert max(known) <= now
        assert d.respond_by > d.created_at
        assert d.resolve_by >= d.respond_by
        events = sorted(d.events.all(), key=lambda e: (e.created_at, e.pk))
        assert events[0].kind == EventKind.SUBMITTED
        assert all(e.created_at <= now for e in events)
        kinds = {e.kind for e in events}
        assert (d.responded_at is not None) == bool(
            kinds & {EventKind.ACCEPTED, EventKind.DECLINED, EventKind.MERGED}
        ), d.pk
        if d.status == DemandStatus.CLOSED:
            assert d.rating
            assert EventKind.CONFIRMED in kinds
        if d.status in (DemandStatus.RESOLVED, DemandStatus.CLOSED):
            assert d.resolution
        if d.status == DemandStatus.DECLINED:
            assert d.decline_reason
        if d.status == DemandStatus.MERGED:
            assert d.merged_into.status in OPEN_STATUSES
        if d.status == DemandStatus.ESCALATED:
            assert Escalation.objects.filter(
                demand=d, status__in=[EscalationStatus.SENT, EscalationStatus.ACCEPTED]
            ).exists()
        if d.assignee_kind == "member":
            assert d.assigned_member.community_id == d.community_id
        if d.estate_id:
            assert d.area.path.startswith(d.estate.path)
        assert d.area.path.startswith(d.community.path)
    assert DemandEvent.objects.filter(kind=EventKind.ASSIGNED).exists()


def test_demo_resident_and_member_have_demands_of_their_own(demo):
    resident = actor_for(User.objects.get(username="jumin"))
    mine = demand_selectors.my_reported(actor=resident)
    assert mine.count() >= 3
    assert all(d.household_id == resident.household_id for d in mine)
    member = actor_for(User.objects.get(username="dangyuan"))
    assert demand_selectors.assigned_to_me(actor=member, open_only=False).count() >= 3


def test_demo_demand_texts_read_as_their_category(demo):
    demands = list(Demand.objects.select_related("category"))
    right = sum(classify.suggest_category(d.description) == d.category for d in demands)
    assert right >= 0.75 * len(demands)


# --- city scale, tiny -----------------------------------------------------------------------------


@pytest.fixture
def city(db):
    seed(scale="city", **TINY_CITY)


def test_city_areas_have_consistent_paths_and_kinds(city):
    areas = {a.pk: a for a in Area.objects.all()}
    for area in areas.values():
        if area.parent_id is None:
            assert (area.kind, area.path, area.depth) == (AreaKind.CITY, f"/{area.pk}/", 0)
            continue
        parent = areas[area.parent_id]
        assert area.path == f"{parent.path}{area.pk}/"
        assert area.depth == parent.depth + 1
        assert CHILD_KIND[parent.kind] == area.kind
    assert sum(a.kind == AreaKind.COMMUNITY for a in areas.values()) == TINY_CITY["communities"]
    assert sum(a.kind == AreaKind.STREET for a in areas.values()) == TINY_CITY["streets"]


def test_city_counts_and_valid_encrypted_identities(city):
    assert Household.objects.count() == TINY_CITY["households"]
    assert WorkUnit.objects.count() == TINY_CITY["work_units"]
    members = list(Member.objects.all())
    assert len(members) == TINY_CITY["members"]
    for member in members:
        assert validate_id_number(member.id_number) == member.id_number  # checksum and birth date
        assert validate_mobile(member.phone) == member.phone
        assert member.id_number_digest == blind_index(member.id_number)
    for phone_raw, id_raw in raw_rows("SELECT phone, id_number FROM members_member"):
        assert not re.search(r"\d{11}", phone_raw + id_raw)


def test_city_registrations_agree_with_members_and_households(city):
    statuses = set(Registration.objects.values_list("status", flat=True))
    assert {RegistrationStatus.APPROVED, RegistrationStatus.PENDING} <= statuses
    for reg in Registration.objects.select_related("household__building", "community", "member"):
        assert reg.household.building.path.startswith(reg.community.path)
        if reg.status == RegistrationStatus.APPROVED:
            assert (reg.member.community_id, reg.member.household_id) == (reg.community_id, reg.household_id)
    for member in Member.objects.filter(community__isnull=False):
        assert member.registrations.filter(status=RegistrationStatus.APPROVED).count() == 1
    assert not Member.objects.filter(community__isnull=True, skills__isnull=False).exists()


def test_city_demands_spread_over_a_year_with_rollups_that_match(city):
    assert Demand.objects.count() == round(TINY_CITY["households"] * 0.2)
    oldest = Demand.objects.order_by("created_at").first().created_at
    assert timezone.now() - oldest > timedelta(days=200)
    assert_rollups_match_the_demands()


def restart_id_sequences(*models) -> None:
    """Puts id sequences back to 1, as on a fresh database (PostgreSQL sequences outlive rollbacks)."""
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            if connection.vendor == "postgresql":
                cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), 1, false)", [table])
            else:
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])


def test_city_ids_continue_after_the_seed(db):
    """Ids were assigned by the generator; the sequences must have been moved past them."""
    restart_id_sequences(Area, Skill)
    seed(scale="city", **TINY_CITY)
    street = Area.objects.filter(kind=AreaKind.STREET).first()
    community = _new_area(parent=street, kind=AreaKind.COMMUNITY, name="新建测试社区")
    assert community.pk > max(Area.objects.exclude(pk=community.pk).values_list("pk", flat=True))
    assert Skill.objects.create(name="新专长").pk > len(pii.REGION_CODES)


def test_city_refuses_non_empty_database_unless_forced(city):
    with pytest.raises(CommandError, match="--force"):
        seed(scale="city", **TINY_CITY)
    seed(scale="city", force=True, **TINY_CITY)
    assert Member.objects.count() == TINY_CITY["members"]
    assert User.objects.filter(username__in=[BENCH_STAFF, BENCH_MEMBER]).count() == 2


def test_bench_bare_sql_fetches_the_same_rows_as_the_selectors(city):
    staff = User.objects.get(username=BENCH_STAFF)
    grant = RoleGrant.objects.select_related("area").get(user=staff)
    expected = selectors.registration_queue(actor=actor_for(staff), community_id=grant.area_id)
    rows, total = bench.queue_sql(grant.area_id, grant.area.path)
    assert rows, "the bench community has a pending queue"
    assert [r[0] for r in rows] == [r.pk for r in expected[: selectors.PAGE_SIZE]]
    assert total == expected.count()

    member_user = User.objects.get(username=BENCH_MEMBER)
    me = selectors.my_member_page(actor=actor_for(member_user))
    Notification.objects.create(user=member_user, text="报到已通过")
    profile, history, notifications = bench.member_sql(me.pk, member_user.pk)
    assert profile[0] == me.pk
    assert profile[1] == me.name
    assert [h[0] for h in history] == [r.pk for r in me.history]
    shown = recent_notifications(actor=actor_for(member_user))
    assert [n[0] for n in notifications] == [n["pk"] for n in shown]
    assert notifications


def test_bench_demands_parts_run_and_agree_with_the_demand_table(city):
    """The demands parts of the bench on the tiny city: what they time finds what it should."""
    building = Area.objects.filter(kind=AreaKind.BUILDING).order_by("pk").first()
    data = DemandInput(description="3栋2单元门口的下水道堵了，污水冒出来", area_id=building.pk)
    submit_demand(actor=ANONYMOUS, data=data)  # an open demand, counted in the rollups as the service does

    def statuses():
        return dict(Demand.objects.values_list("pk", "status"))

    before = statuses()
    timed = []

    def timer(fn):
        timed.append(fn())
        return {"runs": 1, "median_ms": 1.0, "p95_ms": 1.0, "min_ms": 1.0, "max_ms": 1.0}

    parts = demands_bench.run(timer, Client(), lambda client, url, data: client.post(url, data))
    assert set(parts) == set(demands_bench.LABELS)
    assert all(part["ok"] for part in parts.values())
    assert timed[1], "typing the start of an open demand offers it"
    for name in ("rates_street_year", "rates_city_year"):
        assert parts[name]["live_scan"]["matches_rollups"], parts[name]
    city_figures = parts["rates_city_year"]["figures"]
    assert (
        city_figures["received"]
        == Demand.objects.filter(created_at__date__gte=parts["rates_city_year"]["start"]).count()
    )
    fallback = demands_bench.rates_for(parts["rates_city_year"]["area_id"], *_year())
    assert {k: fallback[k] for k in COUNTED} == {k: city_figures[k] for k in COUNTED}
    assert any("three rates, city" in line for line in demands_bench.lines(parts))
    assert statuses() == before  # the estate made all open for a while was rolled back


def _year():
    end = timezone.localdate()
    return end - timedelta(days=364), end


def test_encryption_in_worker_processes_keeps_order_and_decrypts(monkeypatch, settings):
    monkeypatch.setattr(pii, "POOL_THRESHOLD", 10)
    monkeypatch.setattr(pii, "CHUNK", 4)
    values = [f"1390000{i:04d}" for i in range(30)]
    sealed = pii.Encryption(settings.HUIJIA_DATA_KEYS[0], values, workers=2)
    assert sealed._pool is not None
    assert [decrypt(token) for token in sealed.result()] == values


def test_generated_identities_are_distinct_and_valid():
    import random

    rng = random.Random(1)
    ids, phones = pii.id_numbers(rng, 2000), pii.mobiles(rng, 2000)
    assert len(set(ids)) == len(set(phones)) == 2000
    assert all(validate_id_number(i) == i for i in ids)
    assert all(validate_mobile(p) == p for p in phones)


# --- bench helpers ------------------------------------------------------------------------------


def test_percentile_is_nearest_rank():
    samples = [float(i) for i in range(100, 0, -1)]
    assert bench.percentile(samples, 95) == 95.0
    assert bench.percentile(samples, 50) == 50.0
    assert bench.percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        bench.percentile([], 95)


def test_summarise_reports_milliseconds():
    summary = bench.summarise([0.001, 0.002, 0.003, 0.010])
    assert summary == {"runs": 4, "median_ms": 2.5, "p95_ms": 10.0, "min_ms": 1.0, "max_ms": 10.0}


def test_verdict_compares_the_median_with_twice_sql_plus_empty_view():
    sql, empty = {"median_ms": 3.0}, {"median_ms": 2.0}
    assert bench.verdict({"median_ms": 10.0}, sql, empty) == {"limit_ms": 10.0, "ratio": 2.0, "ok": True}
    assert bench.verdict({"median_ms": 10.5}, sql, empty)["ok"] is False
