"""The generated volunteer service (huijia.core.seeding.volunteering): the demo shows every part of
issue 5 to whoever signs in, the city gives the benchmark its year of records, and both keep the
invariants the services keep (counters, capacity, records within their slots, one pending correction).

The city runs here on a tiny scale through the same loader as the real one (COPY on PostgreSQL,
batched INSERTs on SQLite), so the suite checks both backends.
"""

import io
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q
from django.utils import timezone

from huijia.accounts.models import User
from huijia.core.seeding.logins import BENCH_MEMBER
from huijia.demands.models import Escalation, EscalationTarget
from huijia.grid.models import Area, AreaKind
from huijia.members.models import Member
from huijia.orgs.models import WorkUnit
from huijia.volunteering import bench as volunteering_bench
from huijia.volunteering.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Audience,
    Certificate,
    CorrectionStatus,
    Enrolment,
    EnrolmentStatus,
    HoursCorrection,
    OrganiserKind,
    Pairing,
    ServiceRecord,
    ServiceTeam,
    Slot,
    VolunteerPolicy,
)

TINY_CITY = {"communities": 4, "streets": 2, "households": 160, "members": 90, "work_units": 5}


def seed(**options) -> None:
    call_command("seed", stdout=io.StringIO(), stderr=io.StringIO(), **options)


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    seed(scale="demo")


@pytest.fixture
def city(db):
    seed(scale="city", **TINY_CITY)


def this_year_start() -> datetime:
    return timezone.localtime().replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def closed_records_this_year() -> dict[int, int]:
    """Reporting members -> records with hours since 1 January (what the annual minimum counts)."""
    counted = Q(service_records__hours__isnull=False, service_records__checked_in_at__gte=this_year_start())
    rows = Member.objects.filter(community__isnull=False).annotate(n=Count("service_records", filter=counted))
    return dict(rows.values_list("pk", "n"))


def assert_consistent() -> None:
    """What the services keep true, on every generated row."""
    now = timezone.now()
    counts = Counter(
        Enrolment.objects.exclude(status=EnrolmentStatus.CANCELLED).values_list("slot_id", "status")
    )
    slots = {s.pk: s for s in Slot.objects.select_related("activity")}
    for slot in slots.values():
        assert slot.confirmed <= slot.capacity, slot
        assert slot.confirmed == counts[(slot.pk, EnrolmentStatus.CONFIRMED)], slot
        assert slot.waitlisted == counts[(slot.pk, EnrolmentStatus.WAITLISTED)], slot
        if slot.waitlisted:
            assert slot.confirmed == slot.capacity, "a waitlist only behind a full slot"
    for activity in Activity.objects.all():
        own = [s for s in slots.values() if s.activity_id == activity.pk]
        assert own, activity
        assert activity.starts_at == min(s.starts_at for s in own)
        assert activity.ends_at == max(s.ends_at for s in own)
        assert activity.created_at <= min(activity.starts_at, now)
        if activity.status == ActivityStatus.CLOSED:
            assert activity.ends_at <= now
    confirmed = set(
        Enrolment.objects.filter(status=EnrolmentStatus.CONFIRMED).values_list("slot_id", "member_id")
    )
    for record in ServiceRecord.objects.select_related("member"):
        slot = slots[record.slot_id]
        assert (record.slot_id, record.member_id) in confirmed, "a record of a confirmed sign-up"
        assert record.member.community_id is not None, "only reporting members serve"
        assert (record.activity_id, record.community_id) == (slot.activity_id, slot.activity.community_id)
        assert slot.starts_at - timedelta(minutes=30) <= record.checked_in_at <= min(slot.ends_at, now)
        if record.hours is None:
            assert record.checked_out_at is None
            assert slot.starts_at <= now < slot.ends_at, "open check-ins only while the slot runs"
        else:
            assert record.checked_out_at <= slot.ends_at
            overlap = min(record.checked_out_at, slot.ends_at) - max(record.checked_in_at, slot.starts_at)
            assert record.hours == Decimal(overlap.total_seconds() / 3600).quantize(Decimal("0.01"))
            assert record.hours <= Decimal(slot.minutes) / 60
        if record.resident_confirmed_at:
            assert record.checked_out_at <= record.resident_confirmed_at <= now
    for correction in HoursCorrection.objects.select_related("record__slot"):
        assert correction.requested_hours <= Decimal(correction.record.slot.minutes) / 60
        assert (correction.status == CorrectionStatus.PENDING) == (correction.decided_at is None)
    for activity in Activity.objects.select_related("estate", "service_team", "pairing"):
        match activity.organiser_kind:
            case OrganiserKind.ESTATE:
                assert activity.estate.parent_id == activity.community_id
            case OrganiserKind.TEAM:
                assert activity.service_team.community_id == activity.community_id
            case OrganiserKind.WORK_UNIT:
                assert activity.pairing.community_id == activity.community_id
                assert activity.pairing.work_unit_id == activity.work_unit_id
                assert activity.pairing.ended_at is None
    assert not Certificate.objects.exists(), "members issue their own certificates"


def test_demo_volunteering_rows_keep_the_services_invariants(demo):
    assert_consistent()


def test_demo_has_every_kind_of_activity_by_every_kind_of_organiser(demo):
    shown = set(Activity.objects.values_list("kind", "organiser_kind"))
    assert {k for k, _o in shown} == set(ActivityKind.values)
    assert {o for _k, o in shown} == set(OrganiserKind.values)
    first = Area.objects.get(name="识字岭社区")
    posts = Activity.objects.filter(community=first, kind=ActivityKind.POST, status=ActivityStatus.PUBLISHED)
    post = posts.order_by("-pk").first()  # the showcase's, made last
    assert post.slots.count() >= 6, "a service post has recurring shifts"
    assert post.slots.filter(starts_at__gt=timezone.now(), confirmed__gt=0).exists(), "shifts to hold"
    assert post.records.exists(), "and shifts already served"
    statuses = set(Activity.objects.values_list("status", flat=True))
    assert statuses == set(ActivityStatus.values)
    cancelled = Enrolment.objects.filter(slot__activity__status=ActivityStatus.CANCELLED)
    assert cancelled.exists()
    assert not cancelled.exclude(status=EnrolmentStatus.CANCELLED).exists()


def test_demo_member_has_six_records_this_year_and_places_to_sign_up_for(demo):
    me = User.objects.get(username="dangyuan").member
    records = ServiceRecord.objects.filter(member=me)
    assert records.count() == 6
    if timezone.localdate().month > 1:
        assert not records.filter(checked_in_at__lt=this_year_start()).exists()
    assert records.filter(resident_confirmed_at__isnull=False).exists()
    assert HoursCorrection.objects.filter(record__member=me, status=CorrectionStatus.PENDING).count() == 1
    now = timezone.now()
    mine = Enrolment.objects.filter(member=me, slot__starts_at__gt=now)
    assert set(mine.values_list("status", flat=True)) == {
        EnrolmentStatus.CONFIRMED,
        EnrolmentStatus.WAITLISTED,
    }
    joinable = Slot.objects.filter(
        activity__community_id=me.community_id,
        activity__status=ActivityStatus.PUBLISHED,
        activity__audience=Audience.OPEN,
        starts_at__gt=now,
        starts_at__lt=now + timedelta(days=7),
        confirmed__lt=F("capacity"),
    ).exclude(enrolments__member=me)
    assert joinable.exists(), "something to sign up for in the coming days"


def test_demo_shows_waitlists_open_check_ins_corrections_and_confirmations(demo):
    assert Enrolment.objects.filter(status=EnrolmentStatus.WAITLISTED).count() >= 2
    assert ServiceRecord.objects.filter(hours__isnull=True).count() >= 3
    pending = HoursCorrection.objects.filter(status=CorrectionStatus.PENDING)
    assert pending.count() >= 2
    assert set(HoursCorrection.objects.values_list("status", flat=True)) == set(CorrectionStatus.values)
    assert ServiceRecord.objects.filter(resident_confirmed_at__isnull=False).exists()
    first = Area.objects.get(name="识字岭社区")
    assert pending.filter(record__community=first).count() >= 2, "for the demo staff to decide"


def test_demo_has_members_below_the_minimum_and_the_demo_member_is_not(demo):
    assert VolunteerPolicy.objects.get().annual_minimum == 2
    counted = closed_records_this_year()
    first = Area.objects.get(name="识字岭社区")
    here = Member.objects.filter(community=first).values_list("pk", flat=True)
    assert any(counted[m] == 1 for m in here), "a member of the demo community with one record"
    me = User.objects.get(username="dangyuan").member
    assert counted[me.pk] >= 2


def test_demo_has_teams_and_pairings_with_gaps_to_show(demo):
    teachers = ServiceTeam.objects.get(name__contains="教师")
    assert len(teachers.service_areas) == 9
    members = teachers.memberships.select_related("member")
    assert {m.member.community_id for m in members} == {teachers.community_id}
    assert members.filter(is_leader=True).count() == 1
    me = User.objects.get(username="dangyuan").member
    assert members.filter(member=me).exists()
    communities = Area.objects.filter(kind=AreaKind.COMMUNITY)
    active = Pairing.objects.filter(ended_at__isnull=True)
    paired = set(active.values_list("community_id", flat=True))
    assert len(paired) == communities.count() - 1, "one community has no partner"
    units = set(WorkUnit.objects.values_list("pk", flat=True))
    assert len(units - set(active.values_list("work_unit_id", flat=True))) == 1, "one unit has none"
    assert Pairing.objects.filter(ended_at__isnull=False).exists(), "an ended pairing as history"
    danwei = User.objects.get(username="danwei").grants.get().work_unit_id
    first = Area.objects.get(name="识字岭社区")
    assert active.filter(work_unit_id=danwei, community=first).exists()
    assert Activity.objects.filter(work_unit_id=danwei, pairing__isnull=False).exists()


def test_city_volunteering_rows_keep_the_services_invariants(city):
    assert_consistent()


def test_city_members_serve_about_three_times_a_year_with_a_share_below_the_minimum(city):
    per_member = Counter(ServiceRecord.objects.values_list("member_id", flat=True))
    bench = User.objects.get(username=BENCH_MEMBER).member
    assert per_member[bench.pk] >= 100, "the bench member has a long record"
    reporting = Member.objects.filter(community__isnull=False).exclude(pk=bench.pk)
    counts = [per_member[m] for m in reporting.values_list("pk", flat=True)]
    assert 2 <= sum(counts) / len(counts) <= 4
    below = sum(n < 2 for n in counts) / len(counts)
    assert 0.1 <= below <= 0.5
    assert Activity.objects.values("community").distinct().count() == TINY_CITY["communities"]
    assert Activity.objects.filter(starts_at__lt=timezone.now() - timedelta(days=300)).exists()
    assert Activity.objects.filter(starts_at__gt=timezone.now()).exists()


@pytest.mark.parametrize("scale", ["demo", "city"])
def test_seeded_escalations_to_work_units_go_only_to_units_paired_with_the_community(db, settings, scale):
    settings.DEBUG = True
    seed(scale=scale, **({} if scale == "demo" else TINY_CITY))
    sent = Escalation.objects.filter(target=EscalationTarget.WORK_UNIT)
    pairs = set(Pairing.objects.filter(ended_at=None).values_list("work_unit_id", "community_id"))
    escalated = set(sent.values_list("work_unit_id", "demand__community_id"))
    assert escalated, "no demand was escalated to a work unit"
    assert escalated <= pairs


def test_city_ids_continue_after_the_volunteering_seed(city):
    slot = Slot.objects.order_by("-pk").first()
    activity = Activity.objects.create(
        title="新活动",
        category="other",
        organiser_kind=OrganiserKind.COMMUNITY,
        community=slot.activity.community,
    )
    assert activity.pk > slot.activity_id
    assert (
        Slot.objects.create(
            activity=activity, venue="活动室", starts_at=slot.starts_at, ends_at=slot.ends_at, capacity=3
        ).pk
        > slot.pk
    )


def test_bench_volunteering_parts_measure_the_real_pages_and_leave_the_data_as_it_was(city):
    """The bench's volunteering parts on the tiny city: each page shows what it should, the
    certificate it issued is gone afterwards and the members moved in for the 600 case are back."""
    homes = set(Member.objects.values_list("pk", "community_id", "household_id"))
    timed = []

    def timer(fn):
        timed.append(fn())
        return {"runs": 1, "median_ms": 1.0, "p95_ms": 1.0, "min_ms": 1.0, "max_ms": 1.0}

    def get(client, url):
        response = client.get(url)
        assert response.status_code == 200, url
        return response

    parts, errors = volunteering_bench.run(timer, get, signup=False)
    assert errors == {}
    assert set(parts) == set(volunteering_bench.LABELS)
    assert all(part["ok"] for part in parts.values())
    assert parts["records_page"]["records"] >= 100
    assert parts["certificate_pdf"]["records"] >= 100
    assert parts["minimum_page_600"]["reporting"] >= parts["minimum_page"]["reporting"]
    assert not Certificate.objects.exists()
    assert set(Member.objects.values_list("pk", "community_id", "household_id")) == homes
    assert len(volunteering_bench.lines(parts)) == len(volunteering_bench.LABELS)


def test_bench_removes_the_sign_up_burst_city_once_its_members_are_gone(db):
    from huijia.grid.models import Household
    from huijia.grid.services import _new_area

    city = _new_area(parent=None, kind=AreaKind.CITY, name="报名压测市")
    street = _new_area(
        parent=_new_area(parent=city, kind=AreaKind.DISTRICT, name="区"), kind=AreaKind.STREET, name="街道"
    )
    community = _new_area(parent=street, kind=AreaKind.COMMUNITY, name="压测社区")
    building = _new_area(
        parent=_new_area(parent=community, kind=AreaKind.ESTATE, name="小区"),
        kind=AreaKind.BUILDING,
        name="1栋",
    )
    household = Household.objects.create(building=building, unit="", floor=1, room="101")
    member = Member.objects.create(name="压测党员", community=community, household=household)
    assert "kept" in volunteering_bench.drop_bench_city("报名压测市")
    member.delete()
    assert volunteering_bench.drop_bench_city("报名压测市") == ""
    assert not Area.objects.filter(path__startswith=city.path).exists()
    assert volunteering_bench.drop_bench_city("报名压测市") == ""
