"""The closed loop of a resident's demand, step by step: every transition and the illegal ones.

After each step the tests look at what a user relies on: the demand's state, its timeline (who did
what), the rollup counts behind the three rates (one row per area above the demand, for the day it
came in), the audit trail and who was told. Refused steps change nothing.
"""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from huijia.accounts.models import AuditLog, Notification, RoleGrant
from huijia.accounts.roles import Role
from huijia.accounts.scope import ANONYMOUS, Actor
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import make_user
from huijia.demands import selectors, services
from huijia.demands.models import (
    Category,
    Demand,
    DemandEvent,
    DemandPhoto,
    DemandRollup,
    DemandSource,
    DemandStatus,
    Escalation,
    EscalationStatus,
    EventKind,
    Rating,
)
from huijia.demands.services import (
    DemandInput,
    accept_demand,
    add_note,
    answer_escalation,
    assign_demand,
    create_demand,
    decline_demand,
    escalate_demand,
    follow_demand,
    merge_demands,
    rate_demand,
    recategorise_demand,
    reopen_demand,
    report_escalation,
    resolve_demand,
    start_demand,
    submit_demand,
)
from huijia.grid.models import Resident
from huijia.members.models import Team
from huijia.volunteering.models import Pairing

DRAIN = "3栋1单元门口下水道堵了，污水冒出来，走路都要绕开"
LEVELS = ("a1_estate", "a1", "street_a", "district", "city")
COUNTS = (
    "received",
    "responded",
    "responded_in_time",
    "declined",
    "resolved",
    "resolved_in_time",
    "rated",
    "satisfied",
)


# --- helpers (test_tasks, test_concurrency and the permission matrix use them too) ------------------


def actor(world, who: str | None) -> Actor:
    return ANONYMOUS if who in (None, "anonymous") else world.actor(who)


def report(world, who: str | None = None, *, area: str = "a1_bldg", description: str = DRAIN, **fields):
    """A demand submitted through `submit_demand` (by default: anonymous, by building 3's QR code)."""
    data = DemandInput(description=description, area_id=world.areas[area].pk, **fields)
    return submit_demand(actor=actor(world, who), data=data)


def fresh(demand: Demand) -> Demand:
    return Demand.objects.select_related("category").get(pk=demand.pk)


def timeline(demand: Demand) -> list[str]:
    return list(DemandEvent.objects.filter(demand=demand).order_by("pk").values_list("kind", flat=True))


def last_event(demand: Demand) -> DemandEvent:
    return DemandEvent.objects.filter(demand=demand).order_by("-pk").first()


def audited(demand: Demand) -> list[str]:
    rows = AuditLog.objects.filter(target_type="demands.Demand", target_id=str(demand.pk)).order_by("pk")
    return list(rows.values_list("action", flat=True))


def inbox(world, who: str) -> list[str]:
    return list(
        Notification.objects.filter(user=world.users[who]).order_by("pk").values_list("text", flat=True)
    )


def rollups(world, levels=LEVELS) -> dict[str, dict[str, int]]:
    day = timezone.localdate()
    got = {}
    for key in levels:
        row = DemandRollup.objects.filter(area=world.areas[key], day=day).first()
        got[key] = {name: getattr(row, name) for name in COUNTS} if row else None
    return got


def assert_counts(world, **expected: int) -> None:
    """Every area above the demand (estate, community, street, district, city) holds these counts."""
    row = {name: expected.get(name, 0) for name in COUNTS}
    assert rollups(world) == dict.fromkeys(LEVELS, row)
    assert not DemandRollup.objects.filter(area__in=[world.areas["a2"], world.areas["street_b"]]).exists()


def stored() -> tuple[int, ...]:
    return (
        Demand.objects.count(),
        DemandEvent.objects.count(),
        DemandPhoto.objects.count(),
        DemandRollup.objects.count(),
        AuditLog.objects.count(),
    )


def png(name: str = "drain.png", colour=(40, 90, 200)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def not_an_image() -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "drain.jpg", b"<html><script>alert(1)</script></html>", content_type="image/jpeg"
    )


def neighbour(world, key: str = "neighbour"):
    """Another resident of A1 with an account (household a1_202)."""
    world.users[key] = make_user(key, "刘大爷")
    Resident.objects.create(household=world.households["a1_202"], user=world.users[key], name="刘大爷")
    return world.users[key]


def two_community_staff(world, key: str = "both_staff"):
    """A user on the committees of both A1 and A2 (to reach the check behind the scope check)."""
    world.users[key] = make_user(key)
    for community in ("a1", "a2"):
        RoleGrant.objects.create(user=world.users[key], role=Role.COMMUNITY, area=world.areas[community])
    return world.users[key]


def to_member(world, demand: Demand, who: str = "staff", member: str = "member") -> Demand:
    return assign_demand(
        actor=world.actor(who), demand_id=demand.pk, kind="member", target_id=world.members[member].pk
    )


def resolved(world, demand: Demand, text: str = "已疏通下水道，清理了堵塞的杂物") -> Demand:
    to_member(world, demand)
    start_demand(actor=world.actor("member"), demand_id=demand.pk)
    return resolve_demand(actor=world.actor("member"), demand_id=demand.pk, resolution=text)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Runs a service and then its on-commit side effects (the notifications)."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


# --- submitting, from every channel ------------------------------------------------------------------


def test_an_anonymous_resident_reports_by_the_building_qr_code(world):
    before = timezone.now()
    demand = report(world, reporter_name=" 陈奶奶 ", reporter_phone="139 0000 1234")
    demand = fresh(demand)
    assert demand.status == DemandStatus.SUBMITTED
    assert (demand.area, demand.estate, demand.community) == (
        world.areas["a1_bldg"],
        world.areas["a1_estate"],
        world.areas["a1"],
    )
    assert demand.source == DemandSource.RESIDENT
    assert demand.reporter is None
    assert demand.created_by is None
    assert demand.member is None
    assert (demand.reporter_name, demand.reporter_phone) == ("陈奶奶", "13900001234")
    assert demand.category.code == "drain"
    assert demand.suggested_category == demand.category
    assert len(demand.tracking_code) == 8
    assert demand.version == 1
    assert selectors.demand_by_code(tracking_code=demand.tracking_code.lower()).pk == demand.pk
    # the drain category: respond within 24 hours, resolve within 72
    assert before + timedelta(hours=24) <= demand.respond_by <= timezone.now() + timedelta(hours=24)
    assert demand.resolve_by - demand.respond_by == timedelta(hours=48)
    event = last_event(demand)
    assert (event.kind, event.actor, event.actor_label) == (EventKind.SUBMITTED, None, "陈奶奶")
    assert_counts(world, received=1)
    assert audited(demand) == ["demand.submit"]


def test_without_a_name_the_timeline_says_a_resident(world):
    demand = report(world)
    assert last_event(demand).actor_label == "居民"


def test_a_signed_in_resident_is_the_reporter_and_sees_it_in_their_list(world):
    demand = report(world, "resident")
    assert demand.reporter == world.users["resident"]
    assert demand.created_by == world.users["resident"]
    assert last_event(demand).actor == world.users["resident"]
    assert list(selectors.my_reported(actor=world.actor("resident"))) == [demand]
    assert selectors.demand_for(actor=world.actor("resident"), demand_id=demand.pk) == demand
    assert not selectors.my_reported(actor=ANONYMOUS).exists()


def test_the_household_alone_places_the_demand_on_its_building(world):
    demand = submit_demand(
        actor=ANONYMOUS, data=DemandInput(description=DRAIN, household_id=world.households["a1_201"].pk)
    )
    assert (demand.area, demand.household) == (world.areas["a1_bldg"], world.households["a1_201"])


def test_a_member_at_a_collection_post_takes_demands_for_their_community(world):
    demand = report(world, "member", area="a1_estate", source=DemandSource.POST, description="小区路灯不亮")
    assert (demand.source, demand.member, demand.reporter) == (
        DemandSource.POST,
        world.members["member"],
        None,
    )
    assert demand.estate == world.areas["a1_estate"]
    assert demand.category.code == "streetlight"
    assert selectors.demand_for(actor=world.actor("member"), demand_id=demand.pk) == demand
    before = stored()
    with pytest.raises(Forbidden):  # a post in another community is not theirs
        report(world, "member", area="a2_bldg", source=DemandSource.POST)
    with pytest.raises(Forbidden):  # nor is a patrol, which staff record
        report(world, "member", area="a1_bldg", source=DemandSource.PATROL)
    with pytest.raises(Forbidden):
        report(world, "pending_member", area="a1_bldg", source=DemandSource.POST)
    assert stored() == before


@pytest.mark.parametrize("source", [DemandSource.STAFF, DemandSource.PATROL, DemandSource.MEETING])
def test_staff_type_in_a_demand_for_a_resident_in_their_scope(world, source):
    demand = report(world, "staff", source=source, reporter_name="陈奶奶", reporter_phone="0731-84567890")
    assert (demand.source, demand.created_by, demand.reporter) == (source, world.users["staff"], None)
    assert demand.reporter_phone == "0731-84567890"
    assert last_event(demand).actor == world.users["staff"]
    on_estate = report(world, "estate_secretary", source=source)
    assert on_estate.created_by == world.users["estate_secretary"]


@pytest.mark.parametrize("who", ["other_staff", "street_staff", "building_head", "outsider", "anonymous"])
def test_staff_entry_out_of_scope_is_refused(world, who):
    before = stored()
    with pytest.raises(Forbidden):
        report(world, who, source=DemandSource.STAFF)
    assert stored() == before


def test_a_visit_raises_a_demand_through_create_demand(world):
    household = world.households["a1_201"]
    demand = create_demand(
        actor=world.actor("member"),
        description="家里老人想办理高龄补贴",
        source=DemandSource.VISIT,
        area=household.building,
        household=household,
        member_id=world.members["member"].pk,
        visit_id=4242,
    )
    demand = fresh(demand)
    assert (demand.source, demand.member, demand.visit_id, demand.household) == (
        DemandSource.VISIT,
        world.members["member"],
        4242,
        household,
    )
    assert demand.reporter is None
    assert demand.category.code == "elderly"
    assert timeline(demand) == [EventKind.SUBMITTED]
    assert_counts(world, received=1)


def test_nobody_but_a_member_or_a_visitor_files_a_visit_demand(world):
    before = stored()
    for who in ("anonymous", "outsider", "resident"):
        with pytest.raises(Forbidden):
            report(world, who, source=DemandSource.VISIT)
    with pytest.raises(Forbidden):  # a member visits in the community they report to
        report(world, "member", area="a2_bldg", source=DemandSource.VISIT)
    with pytest.raises(Forbidden):  # a building head visits their building
        report(world, "building_head", area="a1_bldg2", source=DemandSource.VISIT)
    assert stored() == before
    assert report(world, "building_head", source=DemandSource.VISIT).source == DemandSource.VISIT
    assert (
        report(world, "member", area="a1_bldg2", source=DemandSource.VISIT).member == world.members["member"]
    )


def test_html_and_script_are_stored_as_the_text_that_was_typed(world):
    text = '<script>alert("x")</script><b>楼道</b> & 灯不亮'
    demand = report(world, description=text, reporter_name="<i>王</i>")
    assert (fresh(demand).description, fresh(demand).reporter_name) == (text, "<i>王</i>")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"description": ""}, "description_empty"),
        ({"description": "   \n "}, "description_empty"),
        ({"description": "堵" * 100_000}, "description_too_long"),
        ({"category_code": "no-such-thing"}, "unknown_category"),
        ({"photos": (not_an_image(),)}, "not_an_image"),
        ({"photos": (png(), not_an_image())}, "not_an_image"),
        ({"photos": tuple(png(f"{i}.png", (i, i, i)) for i in range(6))}, "too_many_photos"),
        ({"reporter_phone": "12345"}, "bad_phone"),
        ({"reporter_name": "名" * 41}, "name_too_long"),
        ({"source": "pigeon"}, "bad_source"),
        ({"area": "street_a"}, "bad_place"),
    ],
    ids=lambda v: v if isinstance(v, str) else ",".join(v),
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_stored(world, media, fields, code):
    before = stored()
    with pytest.raises(InvalidInput) as refused:
        report(world, **fields)
    assert refused.value.code == code
    assert refused.value.message
    assert refused.value.fields
    assert stored() == before
    assert not any(media.rglob("*.*"))


def test_a_household_outside_the_place_is_refused(world):
    with pytest.raises(InvalidInput) as refused:
        report(world, area="a1_bldg", household_id=world.households["a2_101"].pk)
    assert refused.value.code == "household_elsewhere"
    with pytest.raises(InvalidInput) as refused:
        submit_demand(actor=ANONYMOUS, data=DemandInput(description=DRAIN))
    assert refused.value.code == "place_missing"


def test_photos_are_optional_checked_and_stored_once(world, media):
    photo = png()
    demand = report(world, photos=(photo, png()))  # the same picture twice: stored once
    rows = list(DemandPhoto.objects.filter(demand=demand))
    assert len(rows) == 1
    assert rows[0].stage == "report"
    assert rows[0].image.name.endswith(".png")
    assert "drain" not in rows[0].image.name


# --- accept, decline ---------------------------------------------------------------------------------


def test_staff_accept_and_the_reporter_is_told(world, commit):
    demand = report(world, "resident")
    accepted = commit(
        accept_demand, actor=world.actor("staff"), demand_id=demand.pk, version=1, note="马上处理"
    )
    assert accepted.status == DemandStatus.ACCEPTED
    assert accepted.version == 2
    assert accepted.responded_at is not None
    assert timeline(demand) == [EventKind.SUBMITTED, EventKind.ACCEPTED]
    event = last_event(demand)
    assert (event.actor, event.text) == (world.users["staff"], "马上处理")
    assert_counts(world, received=1, responded=1, responded_in_time=1)
    assert audited(demand) == ["demand.submit", "demand.accept"]
    assert inbox(world, "resident") == [f"您反映的诉求已受理（查询码 {demand.tracking_code}）。"]


def test_the_estate_secretary_accepts_in_their_estate(world):
    demand = report(world)
    assert accept_demand(actor=world.actor("estate_secretary"), demand_id=demand.pk).status == "accepted"


def test_accepting_with_another_category_recomputes_deadlines_and_teaches_the_classifier(world, monkeypatch):
    lessons = []
    monkeypatch.setattr(services.classify, "learn", lambda text, cid, delta=1: lessons.append((cid, delta)))
    demand = report(world, description="楼里电梯又坏了，老人下不了楼")
    assert demand.suggested_category.code == "elevator"
    accepted = accept_demand(actor=world.actor("staff"), demand_id=demand.pk, category_code="safety")
    safety = Category.objects.get(code="safety")
    assert accepted.category == safety
    assert fresh(demand).suggested_category.code == "elevator"
    assert fresh(demand).respond_by == demand.created_at + timedelta(hours=safety.respond_hours)
    assert fresh(demand).resolve_by == demand.created_at + timedelta(hours=safety.resolve_hours)
    assert timeline(demand) == [EventKind.SUBMITTED, EventKind.RECATEGORISED, EventKind.ACCEPTED]
    recategorised = DemandEvent.objects.get(demand=demand, kind=EventKind.RECATEGORISED)
    assert recategorised.data == {"old": "elevator", "new": "safety"}
    assert lessons == [(safety.pk, 1)]  # learned once, under the category staff chose


def test_a_late_acceptance_counts_as_responded_but_not_in_time(world):
    demand = report(world)
    Demand.objects.filter(pk=demand.pk).update(respond_by=timezone.now() - timedelta(minutes=1))
    accept_demand(actor=world.actor("staff"), demand_id=demand.pk)
    assert_counts(world, received=1, responded=1)
    assert DemandRollup.objects.get(area=world.areas["a1"]).respond_seconds >= 0


def test_accepting_twice_or_with_a_stale_version_is_a_conflict(world):
    demand = report(world)
    accept_demand(actor=world.actor("staff"), demand_id=demand.pk, version=1)
    with pytest.raises(Conflict) as twice:
        accept_demand(actor=world.actor("estate_secretary"), demand_id=demand.pk)
    assert twice.value.code == "bad_state"
    with pytest.raises(Conflict) as stale:
        decline_demand(actor=world.actor("staff"), demand_id=demand.pk, reason="重复", version=1)
    assert stale.value.code == "stale"
    assert timeline(demand) == [EventKind.SUBMITTED, EventKind.ACCEPTED]
    assert fresh(demand).version == 2


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("other_staff", NotFound),
        ("org_dept", Forbidden),  # sees, does not handle
        ("street_staff", Forbidden),
        ("building_head", Forbidden),
        ("resident", NotFound),
        ("member", NotFound),
        ("outsider", NotFound),
        ("anonymous", NotFound),
    ],
)
def test_only_the_estate_and_community_accept(world, who, error):
    demand = report(world)
    before = stored()
    with pytest.raises(error):
        accept_demand(actor=actor(world, who), demand_id=demand.pk)
    assert stored() == before
    assert fresh(demand).status == DemandStatus.SUBMITTED


def test_declining_needs_a_reason_and_tells_the_reporter(world, commit):
    demand = report(world, "resident")
    before = stored()
    for reason in ("", "   ", "因" * 201):
        with pytest.raises(InvalidInput):
            decline_demand(actor=world.actor("staff"), demand_id=demand.pk, reason=reason)
    assert stored() == before
    declined = commit(
        decline_demand,
        actor=world.actor("staff"),
        demand_id=demand.pk,
        reason="属于物业合同纠纷，请走法律途径",
    )
    assert (declined.status, declined.decline_reason) == (
        DemandStatus.DECLINED,
        "属于物业合同纠纷，请走法律途径",
    )
    assert timeline(demand)[-1] == EventKind.DECLINED
    assert_counts(world, received=1, responded=1, responded_in_time=1, declined=1)
    assert inbox(world, "resident") == ["您反映的诉求未予受理：属于物业合同纠纷，请走法律途径"]
    assert audited(demand)[-1] == "demand.decline"


def test_a_declined_demand_cannot_be_resolved_accepted_assigned_or_rated(world):
    demand = report(world)
    decline_demand(actor=world.actor("staff"), demand_id=demand.pk, reason="不属于社区职责")
    before = stored()
    with pytest.raises(Conflict):
        resolve_demand(actor=world.actor("staff"), demand_id=demand.pk, resolution="办好了")
    with pytest.raises(Conflict):
        accept_demand(actor=world.actor("staff"), demand_id=demand.pk)
    with pytest.raises(Conflict):
        to_member(world, demand)
    with pytest.raises(Conflict):
        rate_demand(actor=ANONYMOUS, tracking_code=demand.tracking_code, rating=Rating.SATISFIED)
    with pytest.raises(Conflict):
        escalate_demand(actor=world.actor("staff"), demand_id=demand.pk, target="street", reason="解决不了")
    assert stored() == before


# --- assign ------------------------------------------------------------------------------------------


def test_assigning_a_submitted_demand_accepts_it_and_tells_the_branch_secretary(world, commit):
    demand = report(world)
    assigned = commit(
        assign_demand,
        actor=world.actor("staff"),
        demand_id=demand.pk,
        kind="branch",
        target_id=world.areas["a1_estate"].pk,
        note="请支部跟进",
    )
    assert (assigned.status, assigned.assignee_kind, assigned.assigned_area) == (
        DemandStatus.ASSIGNED,
        "branch",
        world.areas["a1_estate"],
    )
    assert assigned.assigned_at is not None
    assert assigned.responded_at is not None
    assert timeline(demand) == [EventKind.SUBMITTED, EventKind.ACCEPTED, EventKind.ASSIGNED]
    assert last_event(demand).data == {"to": "识字岭社区幸福小区党支部", "assignee_kind": "branch"}
    assert_counts(world, received=1, responded=1, responded_in_time=1)
    assert inbox(world, "estate_secretary") == [f"新派单：{DRAIN}"]
    assert audited(demand)[-1] == "demand.assign"


def test_assigning_to_a_team_tells_its_members(world, commit):
    demand = report(world)
    accept_demand(actor=world.actor("staff"), demand_id=demand.pk)
    team = world.teams["a1_team"]
    assigned = commit(
        assign_demand, actor=world.actor("staff"), demand_id=demand.pk, kind="team", target_id=team.pk
    )
    assert (assigned.assignee_kind, assigned.assigned_team) == ("team", team)
    assert inbox(world, "member") == [f"新派单：{DRAIN}"]
    assert list(selectors.assigned_to_me(actor=world.actor("member"))) == [demand]
    assert_counts(world, received=1, responded=1, responded_in_time=1)  # responded once, not twice


def test_assigning_to_a_member_tells_them(world, commit):
    demand = report(world)
    commit(to_member, world=world, demand=demand)
    assert fresh(demand).assigned_member == world.members["member"]
    assert inbox(world, "member") == [f"新派单：{DRAIN}"]
    assert inbox(world, "estate_secretary") == []


@pytest.mark.parametrize(
    ("kind", "target", "code"),
    [
        ("branch", lambda w: w.areas["a2_estate"].pk, "assignee_elsewhere"),
        ("branch", lambda w: w.areas["a1_bldg"].pk, "assignee_elsewhere"),
        ("team", lambda w: w.teams["a2_team"].pk, "assignee_elsewhere"),
        ("member", lambda w: w.members["other_member"].pk, "assignee_elsewhere"),
        ("member", lambda w: w.members["pending_member"].pk, "assignee_elsewhere"),
        ("member", lambda w: None, "assignee_missing"),
        ("service_team", lambda w: 0, "assignee_elsewhere"),  # see test_service_team_assignment.py
        ("nobody", lambda w: 1, "bad_assignee"),
    ],
)
def test_assigning_outside_the_community_is_refused(world, kind, target, code):
    world.teams["a2_team"] = Team.objects.create(community=world.areas["a2"], name="燕子岭1组")
    demand = report(world)
    before = stored()
    with pytest.raises(InvalidInput) as refused:
        assign_demand(actor=world.actor("staff"), demand_id=demand.pk, kind=kind, target_id=target(world))
    assert refused.value.code == code
    assert stored() == before
    assert fresh(demand).status == DemandStatus.SUBMITTED


def test_assigning_an_assigned_demand_is_a_conflict_and_reassigning_is_explicit(world, commit):
    demand = report(world)
    to_member(world, demand)
    with pytest.raises(Conflict) as again:  # even with the version the form was shown
        assign_demand(
            actor=world.actor("estate_secretary"),
            demand_id=demand.pk,
            kind="branch",
            target_id=world.areas["a1_estate"].pk,
            version=1,
        )
    assert again.value.code == "already_assigned"
    assert "李建国" in again.value.message
    start_demand(actor=world.actor("member"), demand_id=demand.pk)
    version = fresh(demand).version
    with pytest.raises(Conflict) as stale:
        assign_demand(
            actor=world.actor("staff"),
            demand_id=demand.pk,
            kind="branch",
            target_id=world.areas["a1_estate"].pk,
            reassign=True,
            version=version - 1,
        )
    assert stale.value.code == "stale"
    moved = commit(
        assign_demand,
        actor=world.actor("staff"),
        demand_id=demand.pk,
        kind="branch",
        target_id=world.areas["a1_estate"].pk,
        reassign=True,
        version=version,
    )
    assert (moved.status, moved.assignee_kind, moved.assigned_member) == (
        DemandStatus.ASSIGNED,
        "branch",
        None,
    )
    assert timeline(demand).count(EventKind.ASSIGNED) == 2
    assert audited(demand)[-1] == "demand.reassign"
    assert inbox(world, "estate_secretary") == [f"新派单：{DRAIN}"]
    assert not selectors.assigned_to_me(actor=world.actor("member")).exists()


# --- start, resolve ----------------------------------------------------------------------------------


def test_the_assigned_member_starts_and_resolves(world, commit):
    demand = report(world, "resident")
    to_member(world, demand)
    started = start_demand(actor=world.actor("member"), demand_id=demand.pk)
    assert started.status == DemandStatus.IN_PROGRESS
    assert last_event(demand).kind == EventKind.STARTED
    assert last_event(demand).actor == world.users["member"]
    done = commit(
        resolve_demand, actor=world.actor("member"), demand_id=demand.pk, resolution="已疏通，清出一袋垃圾"
    )
    assert (done.status, done.resolution) == (DemandStatus.RESOLVED, "已疏通，清出一袋垃圾")
    assert done.resolved_at is not None
    assert timeline(demand) == [
        EventKind.SUBMITTED,
        EventKind.ACCEPTED,
        EventKind.ASSIGNED,
        EventKind.STARTED,
        EventKind.RESOLVED,
    ]
    assert_counts(world, received=1, responded=1, responded_in_time=1, resolved=1, resolved_in_time=1)
    assert audited(demand)[-2:] == ["demand.start", "demand.resolve"]
    assert inbox(world, "resident")[-1] == "您反映的诉求已办结：已疏通，清出一袋垃圾。请确认并评价。"


def test_a_team_member_and_the_branch_secretary_start_what_was_assigned_to_them(world):
    by_team, by_branch = report(world), report(world)
    assign_demand(
        actor=world.actor("staff"), demand_id=by_team.pk, kind="team", target_id=world.teams["a1_team"].pk
    )
    assign_demand(
        actor=world.actor("staff"),
        demand_id=by_branch.pk,
        kind="branch",
        target_id=world.areas["a1_estate"].pk,
    )
    assert start_demand(actor=world.actor("member"), demand_id=by_team.pk).status == "in_progress"
    assert start_demand(actor=world.actor("estate_secretary"), demand_id=by_branch.pk).status == "in_progress"


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("staff", Forbidden),  # staff resolve or reassign; they do not start for the member
        ("estate_secretary", Forbidden),
        ("building_head", Forbidden),
        ("resident", Forbidden),  # the reporter sees it, but it is not theirs to handle
        ("other_member", NotFound),
        ("other_staff", NotFound),
        ("anonymous", NotFound),
    ],
)
def test_only_the_assignee_starts(world, who, error):
    demand = report(world, "resident")
    to_member(world, demand)
    before = stored()
    with pytest.raises(error):
        start_demand(actor=actor(world, who), demand_id=demand.pk)
    assert stored() == before


def test_starting_twice_or_after_resolving_is_a_conflict(world):
    demand = report(world)
    to_member(world, demand)
    start_demand(actor=world.actor("member"), demand_id=demand.pk)
    with pytest.raises(Conflict):
        start_demand(actor=world.actor("member"), demand_id=demand.pk)
    resolve_demand(actor=world.actor("member"), demand_id=demand.pk, resolution="已修好")
    with pytest.raises(Conflict):
        start_demand(actor=world.actor("member"), demand_id=demand.pk)
    assert timeline(demand).count(EventKind.STARTED) == 1


def test_staff_resolve_an_accepted_demand_themselves(world, media):
    demand = report(world)
    accept_demand(actor=world.actor("staff"), demand_id=demand.pk)
    done = resolve_demand(
        actor=world.actor("staff"), demand_id=demand.pk, resolution="电话联系物业已处理", photos=(png(),)
    )
    assert done.status == DemandStatus.RESOLVED
    assert DemandPhoto.objects.get(demand=demand).stage == "resolution"


def test_resolving_is_refused_to_others_and_without_saying_what_was_done(world, media):
    demand = report(world)
    to_member(world, demand)
    collected = report(world, "member", source=DemandSource.POST)
    before = stored()
    for who, error in (("other_member", NotFound), ("building_head", Forbidden), ("street_staff", Forbidden)):
        with pytest.raises(error):
            resolve_demand(actor=world.actor(who), demand_id=demand.pk, resolution="好了")
    for text in ("", " ", "办" * 2001):
        with pytest.raises(InvalidInput):
            resolve_demand(actor=world.actor("member"), demand_id=demand.pk, resolution=text)
    with pytest.raises(InvalidInput):
        resolve_demand(
            actor=world.actor("member"), demand_id=demand.pk, resolution="好了", photos=(not_an_image(),)
        )
    with pytest.raises(Forbidden):  # collected by the member, not assigned to them
        resolve_demand(actor=world.actor("member"), demand_id=collected.pk, resolution="好了")
    assert stored() == before
    assert fresh(demand).status == DemandStatus.ASSIGNED


def test_a_late_resolution_counts_as_resolved_but_not_in_time(world):
    demand = report(world)
    to_member(world, demand)
    Demand.objects.filter(pk=demand.pk).update(resolve_by=timezone.now() - timedelta(hours=1))
    resolve_demand(actor=world.actor("member"), demand_id=demand.pk, resolution="已修好")
    assert_counts(world, received=1, responded=1, responded_in_time=1, resolved=1)


def test_notes_by_whoever_handles_it(world):
    demand = report(world)
    to_member(world, demand)
    note = add_note(actor=world.actor("member"), demand_id=demand.pk, text="已约好周六上门")
    assert (note.kind, note.text, note.actor) == (EventKind.NOTE, "已约好周六上门", world.users["member"])
    add_note(actor=world.actor("staff"), demand_id=demand.pk, text="已电话回复居民")
    with pytest.raises(InvalidInput):
        add_note(actor=world.actor("member"), demand_id=demand.pk, text=" ")
    with pytest.raises(Forbidden):
        add_note(actor=world.actor("building_head"), demand_id=demand.pk, text="看过了")
    with pytest.raises(NotFound):
        add_note(actor=world.actor("other_staff"), demand_id=demand.pk, text="看过了")


# --- the resident's side: rate once, or reopen -------------------------------------------------------


def test_the_reporter_rates_once_by_account(world):
    demand = report(world, "resident")
    resolved(world, demand)
    closed = rate_demand(
        actor=world.actor("resident"), demand_id=demand.pk, rating=Rating.SATISFIED, comment="谢谢"
    )
    assert (closed.status, closed.rating, closed.rating_comment, closed.rated_by_staff) == (
        DemandStatus.CLOSED,
        "satisfied",
        "谢谢",
        False,
    )
    assert closed.closed_at is not None
    event = last_event(demand)
    assert (event.kind, event.actor_label, event.data) == (
        EventKind.CONFIRMED,
        "居民",
        {"rating": "satisfied"},
    )
    assert_counts(
        world,
        received=1,
        responded=1,
        responded_in_time=1,
        resolved=1,
        resolved_in_time=1,
        rated=1,
        satisfied=1,
    )
    before = stored()
    with pytest.raises(Conflict) as twice:
        rate_demand(
            actor=world.actor("resident"), demand_id=demand.pk, rating=Rating.UNSATISFIED, comment="不行"
        )
    assert twice.value.code == "already_rated"
    with pytest.raises(Conflict):
        rate_demand(actor=ANONYMOUS, tracking_code=demand.tracking_code, rating=Rating.BASIC)
    assert stored() == before


def test_an_anonymous_reporter_rates_with_the_tracking_code(world):
    demand = report(world)
    resolved(world, demand)
    closed = rate_demand(
        actor=ANONYMOUS,
        tracking_code=f" {demand.tracking_code.lower()} ",
        rating=Rating.UNSATISFIED,
        comment="还是堵",
    )
    assert (closed.rating, closed.rating_comment) == ("unsatisfied", "还是堵")
    assert_counts(
        world, received=1, responded=1, responded_in_time=1, resolved=1, resolved_in_time=1, rated=1
    )


def test_rating_before_resolution_or_with_bad_input_is_refused(world):
    demand = report(world, "resident")
    to_member(world, demand)
    with pytest.raises(Conflict):
        rate_demand(actor=world.actor("resident"), demand_id=demand.pk, rating=Rating.SATISFIED)
    resolve_demand(actor=world.actor("member"), demand_id=demand.pk, resolution="已修好")
    before = stored()
    cases = [
        ({"rating": "great"}, "bad_rating"),
        ({"rating": Rating.UNSATISFIED}, "comment_empty"),
        ({"rating": Rating.UNSATISFIED, "comment": "  "}, "comment_empty"),
        ({"rating": Rating.BASIC, "comment": "评" * 501}, "comment_too_long"),
    ]
    for fields, code in cases:
        with pytest.raises(InvalidInput) as refused:
            rate_demand(actor=world.actor("resident"), demand_id=demand.pk, **fields)
        assert refused.value.code == code
    assert stored() == before
    assert fresh(demand).status == DemandStatus.RESOLVED


def test_nobody_rates_someone_elses_demand(world):
    demand = report(world, "resident")
    resolved(world, demand)
    neighbour(world)
    before = stored()
    # a resident of the same building sees nothing of it: the same answer as for a demand that is not there
    for pk in (demand.pk, demand.pk + 1000):
        with pytest.raises(NotFound):
            rate_demand(actor=world.actor("neighbour"), demand_id=pk, rating=Rating.UNSATISFIED, comment="差")
    with pytest.raises(NotFound):  # a wrong code
        rate_demand(actor=ANONYMOUS, tracking_code="ZZZZZZZZ", rating=Rating.SATISFIED)
    with pytest.raises(NotFound):  # no code at all
        rate_demand(actor=ANONYMOUS, demand_id=demand.pk, rating=Rating.SATISFIED)
    for who, error in (
        ("outsider", NotFound),
        ("other_staff", NotFound),
        ("member", Forbidden),  # handled it, sees it, but the resident judges it
        ("building_head", Forbidden),
        ("street_staff", Forbidden),
    ):
        with pytest.raises(error):
            rate_demand(actor=world.actor(who), demand_id=demand.pk, rating=Rating.SATISFIED)
    assert stored() == before
    assert fresh(demand).status == DemandStatus.RESOLVED


def test_staff_record_a_call_back_rating(world):
    demand = report(world, reporter_name="陈奶奶", reporter_phone="13900001234")
    resolved(world, demand)
    closed = rate_demand(actor=world.actor("staff"), demand_id=demand.pk, rating=Rating.BASIC)
    assert closed.rated_by_staff
    assert closed.rating == "basic"
    assert last_event(demand).actor_label.startswith("回访")
    assert AuditLog.objects.filter(action="demand.rate", detail__by_staff=True).exists()


def test_the_reporter_reopens_and_the_assignee_hears_about_it(world, commit):
    demand = report(world, "resident")
    resolved(world, demand)
    with pytest.raises(InvalidInput):
        reopen_demand(actor=world.actor("resident"), demand_id=demand.pk, reason=" ")
    again = commit(reopen_demand, actor=world.actor("resident"), demand_id=demand.pk, reason="下雨后又堵了")
    assert (again.status, again.reopen_count, again.resolved_at) == (DemandStatus.IN_PROGRESS, 1, None)
    assert last_event(demand).kind == EventKind.REOPENED
    assert last_event(demand).text == "下雨后又堵了"
    assert_counts(world, received=1, responded=1, responded_in_time=1)  # no longer counted as resolved
    assert inbox(world, "member")[-1] == "居民认为诉求没有解决，请重新办理：下雨后又堵了"
    assert audited(demand)[-1] == "demand.reopen"
    resolve_demand(actor=world.actor("member"), demand_id=demand.pk, resolution="换了一段管道")
    assert_counts(world, received=1, responded=1, responded_in_time=1, resolved=1, resolved_in_time=1)
    rate_demand(actor=world.actor("resident"), demand_id=demand.pk, rating=Rating.SATISFIED)
    with pytest.raises(Conflict):  # rated: closed for good
        reopen_demand(actor=world.actor("resident"), demand_id=demand.pk, reason="又堵了")


def test_a_demand_resolved_by_staff_reopens_to_accepted(world):
    demand = report(world)
    accept_demand(actor=world.actor("staff"), demand_id=demand.pk)
    resolve_demand(actor=world.actor("staff"), demand_id=demand.pk, resolution="已处理")
    again = reopen_demand(actor=ANONYMOUS, tracking_code=demand.tracking_code, reason="没有处理")
    assert again.status == DemandStatus.ACCEPTED
    assert last_event(demand).actor_label == "居民"


# --- recategorise, merge, follow ---------------------------------------------------------------------


def test_recategorising_recomputes_both_deadlines_and_moves_what_was_learned(world, monkeypatch):
    lessons = []
    monkeypatch.setattr(services.classify, "learn", lambda text, cid, delta=1: lessons.append((cid, delta)))
    demand = report(world)
    drain, elevator = Category.objects.get(code="drain"), Category.objects.get(code="elevator")
    recategorise_demand(actor=world.actor("staff"), demand_id=demand.pk, category_code="elevator", version=1)
    demand = fresh(demand)
    assert demand.category == elevator
    assert demand.version == 2
    assert (demand.respond_by, demand.resolve_by) == (
        demand.created_at + timedelta(hours=2),
        demand.created_at + timedelta(hours=24),
    )
    assert lessons == []  # not accepted yet: nothing was learned, nothing to move
    accept_demand(actor=world.actor("staff"), demand_id=demand.pk)
    recategorise_demand(actor=world.actor("staff"), demand_id=demand.pk, category_code="drain")
    assert lessons == [(elevator.pk, 1), (elevator.pk, -1), (drain.pk, 1)]
    assert fresh(demand).resolve_by == demand.created_at + timedelta(hours=72)
    assert timeline(demand).count(EventKind.RECATEGORISED) == 2
    assert audited(demand).count("demand.recategorise") == 2
    version = fresh(demand).version
    recategorise_demand(actor=world.actor("staff"), demand_id=demand.pk, category_code="drain")  # no change
    assert fresh(demand).version == version
    assert timeline(demand).count(EventKind.RECATEGORISED) == 2


def test_recategorising_to_a_later_deadline_lifts_the_overdue_flag(world):
    demand = report(world, description="楼里电梯又坏了")
    Demand.objects.filter(pk=demand.pk).update(
        created_at=timezone.now() - timedelta(hours=3), respond_by=timezone.now() - timedelta(hours=1)
    )
    services.check_deadlines()
    assert fresh(demand).overdue
    recategorise_demand(actor=world.actor("staff"), demand_id=demand.pk, category_code="other")  # 48 hours
    assert not fresh(demand).overdue


def test_recategorising_is_refused_for_unknown_categories_closed_demands_and_others(world):
    demand = report(world)
    with pytest.raises(InvalidInput) as unknown:
        recategorise_demand(actor=world.actor("staff"), demand_id=demand.pk, category_code="nope")
    assert unknown.value.code == "unknown_category"
    with pytest.raises(NotFound):
        recategorise_demand(actor=world.actor("other_staff"), demand_id=demand.pk, category_code="road")
    with pytest.raises(Forbidden):
        recategorise_demand(actor=world.actor("street_staff"), demand_id=demand.pk, category_code="road")
    decline_demand(actor=world.actor("staff"), demand_id=demand.pk, reason="重复")
    with pytest.raises(Conflict):
        recategorise_demand(actor=world.actor("staff"), demand_id=demand.pk, category_code="road")
    assert fresh(demand).category.code == "drain"


def test_merged_residents_are_informed_and_resolved_with_the_main_demand(world, commit):
    neighbour(world)
    main = report(world, "resident")
    second = report(world, "neighbour", description="3栋下水道反水")
    third = report(world, reporter_name="王先生")
    accept_demand(actor=world.actor("staff"), demand_id=third.pk)
    merged = commit(
        merge_demands, actor=world.actor("staff"), into_id=main.pk, demand_ids=[second.pk, third.pk, main.pk]
    )
    assert merged == main
    for other in (second, third):
        other = fresh(other)
        assert (other.status, other.merged_into_id) == (DemandStatus.MERGED, main.pk)
        assert last_event(other).kind == EventKind.MERGED
        assert last_event(other).data == {"into": main.pk}
    assert last_event(main).data == {"merged": [second.pk, third.pk]}
    assert inbox(world, "neighbour") == ["您反映的问题已有人反映过，将合并办理，办结时会通知您。"]
    # a merged demand has had its answer: it counts as responded (the accepted one already did)
    assert_counts(world, received=3, responded=2, responded_in_time=2)
    assert audited(main)[-1] == "demand.merge"
    commit(resolved, world=world, demand=main)
    for other in (second, third):
        other = fresh(other)
        assert (other.status, other.resolution) == (DemandStatus.RESOLVED, "已疏通下水道，清理了堵塞的杂物")
        assert last_event(other).data == {"by_demand": main.pk}
    assert inbox(world, "neighbour")[-1] == inbox(world, "resident")[-1]
    assert inbox(world, "resident")[-1].startswith("您反映的诉求已办结")
    assert_counts(world, received=3, responded=3, responded_in_time=3, resolved=3, resolved_in_time=3)
    rate_demand(actor=world.actor("neighbour"), demand_id=second.pk, rating=Rating.SATISFIED)
    rate_demand(actor=ANONYMOUS, tracking_code=third.tracking_code, rating=Rating.BASIC)
    assert rollups(world)["a1"]["rated"] == 2
    assert fresh(main).status == DemandStatus.RESOLVED


def test_merging_across_communities_or_in_progress_demands_is_refused(world):
    main, here = report(world), report(world)
    there = report(world, area="a2_bldg")
    before = stored()
    with pytest.raises(NotFound):  # A1's staff do not manage A2's demand
        merge_demands(actor=world.actor("staff"), into_id=main.pk, demand_ids=[there.pk])
    two_community_staff(world)
    with pytest.raises(InvalidInput) as elsewhere:  # on both committees: still two problems, two places
        merge_demands(actor=world.actor("both_staff"), into_id=main.pk, demand_ids=[there.pk])
    assert elsewhere.value.code == "merge_elsewhere"
    with pytest.raises(InvalidInput) as nothing:
        merge_demands(actor=world.actor("staff"), into_id=main.pk, demand_ids=[main.pk])
    assert nothing.value.code == "nothing_to_merge"
    to_member(world, here)
    with pytest.raises(Conflict):  # being handled: not a duplicate to fold away
        merge_demands(actor=world.actor("staff"), into_id=main.pk, demand_ids=[here.pk])
    decline_demand(actor=world.actor("staff"), demand_id=main.pk, reason="重复")
    with pytest.raises(Conflict):
        merge_demands(actor=world.actor("staff"), into_id=main.pk, demand_ids=[report(world).pk])
    assert fresh(there).status == DemandStatus.SUBMITTED
    assert fresh(there).version == 1
    assert Demand.objects.count() == before[0] + 1  # the demand reported for the last attempt


def test_a_resident_follows_an_open_demand_instead_of_filing_another(world, commit):
    original = report(world, "resident")
    follower = commit(
        follow_demand,
        actor=ANONYMOUS,
        demand_id=original.pk,
        reporter_name="楼上邻居",
        reporter_phone="13900005678",
    )
    follower = fresh(follower)
    assert (follower.status, follower.merged_into_id) == (DemandStatus.MERGED, original.pk)
    # anyone may follow: the follower's record does not copy the original's words
    assert follower.description == "同一问题已有人反映（下水道堵塞），跟进办理"
    assert follower.tracking_code != original.tracking_code
    assert follower.category.code == "drain"
    assert timeline(follower) == [EventKind.SUBMITTED, EventKind.MERGED]
    assert last_event(original).data == {"follower": follower.pk}
    assert fresh(original).version == 2  # a staff form on the original sees the change
    assert_counts(world, received=2, responded=1, responded_in_time=1)
    resolved(world, original)
    assert fresh(follower).status == DemandStatus.RESOLVED
    rate_demand(actor=ANONYMOUS, tracking_code=follower.tracking_code, rating=Rating.SATISFIED)
    with pytest.raises(NotFound):  # a resolved demand is not followed
        follow_demand(actor=ANONYMOUS, demand_id=original.pk)


def test_following_is_limited_to_the_estate_the_resident_reports_from(world):
    original = report(world)
    near = follow_demand(
        actor=ANONYMOUS, demand_id=original.pk, area_id=world.areas["a1_bldg2"].pk, description="我家也堵"
    )
    assert (near.merged_into_id, near.description) == (original.pk, "我家也堵")
    before = stored()
    for area in ("a2_bldg", "a1"):
        with pytest.raises(NotFound):
            follow_demand(actor=ANONYMOUS, demand_id=original.pk, area_id=world.areas[area].pk)
    with pytest.raises(NotFound):
        follow_demand(actor=ANONYMOUS, demand_id=original.pk + 1000)
    assert stored() == before


def test_followers_of_a_merged_duplicate_hear_when_the_main_demand_is_resolved(world):
    main, duplicate = report(world), report(world)
    follower = follow_demand(actor=ANONYMOUS, demand_id=duplicate.pk)
    merge_demands(actor=world.actor("staff"), into_id=main.pk, demand_ids=[duplicate.pk])
    assert fresh(follower).merged_into_id == main.pk
    resolved(world, main)
    assert fresh(follower).status == DemandStatus.RESOLVED


# --- escalation (吹哨) ---------------------------------------------------------------------------------


def paired(world, unit: str = "u1", community: str = "a1") -> Pairing:
    """Pairs the unit with the community (结对共建): a demand is escalated only to a paired unit."""
    starts_on = timezone.localdate() - timedelta(days=30)
    return Pairing.objects.create(
        work_unit=world.units[unit], community=world.areas[community], starts_on=starts_on
    )


def test_escalating_to_the_work_unit_which_accepts_and_reports_back(world, commit):
    paired(world)
    demand = report(world, "resident")
    to_member(world, demand)
    escalation = commit(
        escalate_demand,
        actor=world.actor("staff"),
        demand_id=demand.pk,
        target="work_unit",
        work_unit_id=world.units["u1"].pk,
        reason="需要教育局协调学校操场开放",
    )
    assert (escalation.status, escalation.target, escalation.work_unit) == (
        "sent",
        "work_unit",
        world.units["u1"],
    )
    demand = fresh(demand)
    assert (demand.status, demand.work_unit) == (DemandStatus.ESCALATED, world.units["u1"])
    assert last_event(demand).data == {"to": "芙蓉区教育局", "escalation": escalation.pk}
    assert inbox(world, "unit_organiser") == [f"社区吹哨：{DRAIN}"]
    assert inbox(world, "street_staff") == []
    assert audited(demand)[-1] == "demand.escalate"
    organiser = world.actor("unit_organiser")
    assert list(selectors.escalations_for(actor=organiser)) == [escalation]
    assert selectors.demand_for(actor=organiser, demand_id=demand.pk) == demand
    assert not selectors.escalations_for(actor=world.actor("street_staff")).exists()

    commit(answer_escalation, actor=organiser, escalation_id=escalation.pk, accept=True, answer="本周内协调")
    assert Escalation.objects.get(pk=escalation.pk).status == EscalationStatus.ACCEPTED
    assert last_event(demand).kind == EventKind.ESCALATION_ACCEPTED
    assert last_event(demand).actor_label.startswith("芙蓉区教育局")
    assert inbox(world, "staff")[-1].endswith(f"已接哨：{DRAIN[:30]}")
    with pytest.raises(Conflict):
        answer_escalation(actor=organiser, escalation_id=escalation.pk, accept=False, answer="算了")

    with pytest.raises(InvalidInput):
        report_escalation(actor=organiser, escalation_id=escalation.pk, answer="")
    commit(report_escalation, actor=organiser, escalation_id=escalation.pk, answer="操场周末向居民开放")
    demand = fresh(demand)
    assert (demand.status, demand.resolution, demand.work_unit) == (
        DemandStatus.RESOLVED,
        "操场周末向居民开放",
        None,
    )
    assert Escalation.objects.get(pk=escalation.pk).status == EscalationStatus.REPORTED
    assert timeline(demand)[-1] == EventKind.RESOLVED
    assert inbox(world, "resident")[-1] == "您反映的诉求已办结：操场周末向居民开放。请确认并评价。"
    assert_counts(world, received=1, responded=1, responded_in_time=1, resolved=1, resolved_in_time=1)
    actions = list(AuditLog.objects.filter(target_type="demands.Escalation").values_list("action", flat=True))
    assert sorted(actions) == ["escalation.accept", "escalation.report"]
    with pytest.raises(Conflict):
        report_escalation(actor=organiser, escalation_id=escalation.pk, answer="再报一次")


def test_escalating_to_the_street_which_sends_it_back(world, commit):
    demand = report(world)
    escalation = commit(
        escalate_demand,
        actor=world.actor("staff"),
        demand_id=demand.pk,
        target="street",
        reason="涉及市政管网",
    )
    assert (escalation.street, escalation.work_unit) == (world.areas["street_a"], None)
    assert inbox(world, "street_staff") == [f"社区吹哨：{DRAIN}"]
    assert inbox(world, "unit_organiser") == []
    assert_counts(world, received=1, responded=1, responded_in_time=1)  # escalating is a response
    assert list(selectors.escalations_for(actor=world.actor("street_staff"))) == [escalation]
    assert not selectors.escalations_for(actor=world.actor("unit_organiser")).exists()
    with pytest.raises(InvalidInput):
        answer_escalation(actor=world.actor("street_staff"), escalation_id=escalation.pk, accept=False)
    commit(
        answer_escalation,
        actor=world.actor("street_staff"),
        escalation_id=escalation.pk,
        accept=False,
        answer="属于社区能解决的问题",
    )
    demand = fresh(demand)
    assert demand.status == DemandStatus.ACCEPTED
    assert last_event(demand).kind == EventKind.ESCALATION_DECLINED
    assert inbox(world, "staff")[-1].endswith(f"退回了吹哨：{DRAIN[:30]}")
    paired(world, "u2")
    again = escalate_demand(
        actor=world.actor("staff"),
        demand_id=demand.pk,
        target="work_unit",
        work_unit_id=world.units["u2"].pk,
        reason="再试",
    )
    assert again.status == "sent"  # one open escalation at a time, and the first is closed


@pytest.mark.parametrize(
    "who", ["street_staff", "staff", "other_staff", "org_dept", "estate_secretary", "member"]
)
def test_only_the_unit_it_was_sent_to_answers(world, who):
    paired(world)
    demand = report(world)
    escalation = escalate_demand(
        actor=world.actor("staff"),
        demand_id=demand.pk,
        target="work_unit",
        work_unit_id=world.units["u1"].pk,
        reason="需要协调",
    )
    before = stored()
    with pytest.raises(NotFound):
        answer_escalation(actor=world.actor(who), escalation_id=escalation.pk, accept=True)
    with pytest.raises(NotFound):
        report_escalation(actor=world.actor(who), escalation_id=escalation.pk, answer="办好了")
    assert stored() == before


@pytest.mark.parametrize("who", ["unit_organiser", "staff", "other_staff", "org_dept", "estate_secretary"])
def test_only_the_street_it_was_sent_to_answers(world, who):
    demand = report(world)
    escalation = escalate_demand(
        actor=world.actor("staff"), demand_id=demand.pk, target="street", reason="协调"
    )
    with pytest.raises(NotFound):
        answer_escalation(actor=world.actor(who), escalation_id=escalation.pk, accept=True)


def test_escalation_bad_input_and_states(world):
    demand = report(world)
    before = stored()
    cases = [
        ({"target": "street", "reason": ""}, InvalidInput),
        ({"target": "moon", "reason": "解决不了"}, InvalidInput),
        ({"target": "work_unit", "reason": "解决不了"}, InvalidInput),
        ({"target": "work_unit", "work_unit_id": 999_999, "reason": "解决不了"}, InvalidInput),
    ]
    for fields, error in cases:
        with pytest.raises(error):
            escalate_demand(actor=world.actor("staff"), demand_id=demand.pk, **fields)
    for who, error in (("street_staff", Forbidden), ("other_staff", NotFound), ("member", NotFound)):
        with pytest.raises(error):
            escalate_demand(actor=world.actor(who), demand_id=demand.pk, target="street", reason="解决不了")
    assert stored() == before
    escalate_demand(actor=world.actor("staff"), demand_id=demand.pk, target="street", reason="解决不了")
    with pytest.raises(Conflict):  # already with the street
        escalate_demand(actor=world.actor("staff"), demand_id=demand.pk, target="street", reason="再吹一次")


def test_staff_resolving_an_escalated_demand_closes_the_escalation(world):
    demand = report(world)
    escalation = escalate_demand(
        actor=world.actor("staff"), demand_id=demand.pk, target="street", reason="协调"
    )
    resolve_demand(actor=world.actor("staff"), demand_id=demand.pk, resolution="社区自行协调解决")
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.DECLINED
    assert escalation.answered_at is not None
    with pytest.raises(Conflict):
        report_escalation(actor=world.actor("street_staff"), escalation_id=escalation.pk, answer="我们也办了")
    assert not selectors.escalations_for(actor=world.actor("street_staff")).exists()


def test_a_work_unit_no_longer_sees_a_demand_it_sent_back(world):
    paired(world)
    demand = report(world)
    escalation = escalate_demand(
        actor=world.actor("staff"),
        demand_id=demand.pk,
        target="work_unit",
        work_unit_id=world.units["u1"].pk,
        reason="协调",
    )
    answer_escalation(
        actor=world.actor("unit_organiser"), escalation_id=escalation.pk, accept=False, answer="不归我们"
    )
    with pytest.raises(NotFound):
        selectors.demand_for(actor=world.actor("unit_organiser"), demand_id=demand.pk)
