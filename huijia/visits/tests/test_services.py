"""record_visit: what a visit stores and passes on, once, and what it refuses with nothing stored."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from huijia.accounts.models import AuditLog
from huijia.care.models import VulnerableKind, VulnerablePerson
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.personal import mask_contact
from huijia.demands.models import Demand, DemandSource
from huijia.grid.models import Household, HouseholdFactChange, Tenure
from huijia.visits.models import Visit, VisitPhoto
from huijia.visits.services import (
    VisitInput,
    VulnerableInput,
    add_visit_photo,
    clean_contact_phone,
    record_visit,
)
from huijia.visits.tests.helpers import new_key, not_an_image, png

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def full_input(world, household="a1_101", **overrides) -> VisitInput:
    fields = {
        "household_id": world.households[household].pk,
        "visited_on": TODAY(),
        "tenure": Tenure.RENTED,
        "occupants": 3,
        "moved_in_on": date(2019, 5, 1),
        "contact_phone": "138 1234 5678",
        "demands": ("楼道灯坏了，晚上看不见", "  ", "希望加装电梯"),
        "vulnerable": (VulnerableInput(VulnerableKind.ELDERLY_ALONE, "82岁，腿脚不便"),),
        "help_given": "帮老人办理养老金资格认证",
    }
    fields.update(overrides)
    return VisitInput(**fields)


def counts() -> tuple[int, ...]:
    return (
        Visit.objects.count(),
        Demand.objects.count(),
        VulnerablePerson.objects.count(),
        HouseholdFactChange.objects.count(),
        VisitPhoto.objects.count(),
        AuditLog.objects.filter(action="visit.record").count(),
    )


NOTHING = (0, 0, 0, 0, 0, 0)


def test_a_member_records_a_visit_and_everything_it_learnt_lands_once(world):
    actor = world.actor("member")
    recorded = record_visit(actor=actor, data=full_input(world), idempotency_key=new_key())
    visit = recorded.visit
    assert recorded.created
    assert visit.member_id == world.members["member"].pk
    assert visit.team_id == world.teams["a1_team"].pk
    assert visit.recorded_by_id == world.users["member"].pk
    assert visit.opinions == "楼道灯坏了，晚上看不见\n希望加装电梯"

    home = Household.objects.get(pk=world.households["a1_101"].pk)
    assert (home.tenure, home.occupants, home.moved_in_on, home.contact_phone) == (
        "rented",
        3,
        date(2019, 5, 1),
        "13812345678",
    )
    changes = {c.field: c for c in HouseholdFactChange.objects.filter(household=home)}
    assert set(changes) == {"tenure", "occupants", "moved_in_on", "contact_phone"}
    assert changes["contact_phone"].new_value == "138****5678"  # the change log never holds the number
    assert changes["tenure"].new_value == "租住"
    assert all(c.visit_id == visit.pk and c.changed_by_id == actor.user_id for c in changes.values())

    demands = list(Demand.objects.order_by("pk"))
    assert [d.description for d in demands] == ["楼道灯坏了，晚上看不见", "希望加装电梯"]
    for demand in demands:
        assert demand.source == DemandSource.VISIT
        assert demand.area_id == world.areas["a1_bldg"].pk
        assert demand.household_id == home.pk
        assert demand.member_id == world.members["member"].pk
        assert demand.visit_id == visit.pk
    # the estate branch sees them
    assert Demand.objects.visible_to(world.actor("estate_secretary")).count() == 2

    person = VulnerablePerson.objects.get()
    assert (person.kind, person.note, person.visit_id) == ("elderly_alone", "82岁，腿脚不便", visit.pk)
    log = AuditLog.objects.get(action="visit.record")
    assert log.target_id == str(visit.pk)
    assert log.detail["demands"] == 2


def test_only_the_household_and_the_date_are_needed(world):
    data = VisitInput(household_id=world.households["a1_102"].pk, visited_on=TODAY())
    record_visit(actor=world.actor("member"), data=data, idempotency_key=new_key())
    assert counts() == (1, 0, 0, 0, 0, 1)


def test_the_contact_number_is_stored_encrypted(world):
    record_visit(actor=world.actor("member"), data=full_input(world), idempotency_key=new_key())
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_phone FROM grid_household WHERE contact_phone <> ''")
        (household_raw,) = cursor.fetchone()
        cursor.execute("SELECT contact_phone FROM visits_visit")
        (visit_raw,) = cursor.fetchone()
    assert "12345678" not in household_raw
    assert "12345678" not in visit_raw


def test_a_replay_returns_the_stored_visit_and_stores_nothing_more(world):
    actor, key = world.actor("member"), new_key()
    first = record_visit(actor=actor, data=full_input(world), idempotency_key=key)
    before = counts()
    again = record_visit(actor=actor, data=full_input(world), idempotency_key=key)
    assert not again.created
    assert again.visit.pk == first.visit.pk
    assert counts() == before


def test_a_changed_body_under_the_same_key_is_a_conflict_and_stores_nothing(world):
    actor, key = world.actor("member"), new_key()
    record_visit(actor=actor, data=full_input(world), idempotency_key=key)
    before = counts()
    with pytest.raises(Conflict):
        record_visit(actor=actor, data=full_input(world, occupants=4), idempotency_key=key)
    assert counts() == before
    assert Household.objects.get(pk=world.households["a1_101"].pk).occupants == 3


def test_the_same_key_from_another_person_is_their_own_visit(world):
    key = new_key()
    record_visit(actor=world.actor("member"), data=full_input(world), idempotency_key=key)
    record_visit(actor=world.actor("building_head"), data=full_input(world), idempotency_key=key)
    assert Visit.objects.count() == 2


def test_facts_change_the_household_once_and_a_repeat_changes_nothing(world):
    actor = world.actor("member")
    record_visit(actor=actor, data=full_input(world), idempotency_key=new_key())
    record_visit(actor=actor, data=full_input(world, demands=(), vulnerable=()), idempotency_key=new_key())
    assert HouseholdFactChange.objects.count() == 4
    record_visit(
        actor=actor,
        data=full_input(world, occupants=4, demands=(), vulnerable=(), contact_phone="0731-84567890"),
        idempotency_key=new_key(),
    )
    latest = {c.field: c for c in HouseholdFactChange.objects.order_by("pk")[4:]}
    assert set(latest) == {"occupants", "contact_phone"}
    assert (latest["occupants"].old_value, latest["occupants"].new_value) == ("3", "4")
    assert (latest["contact_phone"].old_value, latest["contact_phone"].new_value) == (
        "138****5678",
        "0731-****7890",
    )
    assert Household.objects.get(pk=world.households["a1_101"].pk).contact_phone == "0731-84567890"


def test_empty_facts_never_erase_what_is_known(world):
    actor = world.actor("member")
    record_visit(actor=actor, data=full_input(world), idempotency_key=new_key())
    bare = VisitInput(household_id=world.households["a1_101"].pk, visited_on=TODAY())
    record_visit(actor=actor, data=bare, idempotency_key=new_key())
    home = Household.objects.get(pk=world.households["a1_101"].pk)
    assert (home.tenure, home.occupants) == ("rented", 3)
    assert HouseholdFactChange.objects.count() == 4


def test_a_vulnerable_person_already_on_file_is_not_added_again(world):
    actor = world.actor("member")
    record_visit(actor=actor, data=full_input(world), idempotency_key=new_key())
    both = (
        VulnerableInput(VulnerableKind.ELDERLY_ALONE, "又去看了"),
        VulnerableInput(VulnerableKind.DISABLED, ""),
    )
    record_visit(actor=actor, data=full_input(world, vulnerable=both), idempotency_key=new_key())
    assert sorted(VulnerablePerson.objects.values_list("kind", flat=True)) == ["disabled", "elderly_alone"]
    VulnerablePerson.objects.update(ended_at=timezone.now())  # no longer in need
    record_visit(actor=actor, data=full_input(world, vulnerable=both[:1]), idempotency_key=new_key())
    assert VulnerablePerson.objects.filter(ended_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("who", "household"),
    [
        ("member", "a1_bldg2_101"),  # same estate, not in the member's zone
        ("member", "a2_101"),  # another community
        ("other_member", "a1_101"),
        ("building_head", "a1_bldg2_101"),  # another building
        ("other_staff", "a1_101"),
        ("resident", "a1_101"),
        ("outsider", "a1_101"),
        ("unit_organiser", "a1_101"),
    ],
)
def test_a_household_out_of_reach_is_not_found_and_nothing_is_stored(world, who, household):
    with pytest.raises(NotFound):
        record_visit(
            actor=world.actor(who), data=full_input(world, household=household), idempotency_key=new_key()
        )
    assert counts() == NOTHING


@pytest.mark.parametrize("who", ["street_staff", "org_dept"])
def test_a_role_that_may_only_view_the_household_is_forbidden(world, who):
    with pytest.raises(Forbidden):
        record_visit(actor=world.actor(who), data=full_input(world), idempotency_key=new_key())
    assert counts() == NOTHING


@pytest.mark.parametrize(
    ("who", "household"),
    [
        ("building_head", "a1_201"),
        ("estate_secretary", "a1_bldg2_101"),
        ("staff", "a1_bldg2_101"),
        ("other_member", "a2_101"),  # a linked household (党员联户)
    ],
)
def test_heads_secretaries_staff_and_linked_members_may_visit(world, who, household):
    recorded = record_visit(
        actor=world.actor(who), data=full_input(world, household=household), idempotency_key=new_key()
    )
    assert recorded.created


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"visited_on": None}, "visited_on", "请填写走访日期"),
        ({"visited_on": date.today() + timedelta(days=2)}, "visited_on", "走访日期不能晚于今天"),
        ({"moved_in_on": date.today() + timedelta(days=2)}, "moved_in_on", "入住日期不能晚于今天"),
        ({"occupants": 51}, "occupants", "常住人数应在0到50之间"),
        ({"occupants": -1}, "occupants", "常住人数应在0到50之间"),
        ({"contact_phone": "12345"}, "contact_phone", "联系电话请填写11位手机号"),
        ({"contact_phone": "1381234567"}, "contact_phone", "联系电话请填写11位手机号"),
        ({"contact_phone": "84567890"}, "contact_phone", "带区号的固定电话"),
        ({"tenure": "castle"}, "tenure", "住房性质"),
        ({"demands": ("长" * 1001,)}, "demands", "不超过1000个字"),
        ({"vulnerable": (VulnerableInput("alien"),)}, "vulnerable", "类别不正确"),
        ({"photos": (not_an_image(),)}, "photos", "只能上传照片"),
    ],
)
def test_bad_input_gets_a_clear_error_and_stores_nothing(world, media, overrides, field, message):
    with pytest.raises(InvalidInput) as caught:
        record_visit(
            actor=world.actor("member"), data=full_input(world, **overrides), idempotency_key=new_key()
        )
    assert field in caught.value.fields
    assert message in caught.value.message
    assert counts() == NOTHING
    assert Household.objects.get(pk=world.households["a1_101"].pk).occupants is None


@pytest.mark.parametrize("key", ["", "short", "has space in it", "x" * 65])
def test_a_missing_or_odd_idempotency_key_is_refused(world, key):
    with pytest.raises(InvalidInput):
        record_visit(actor=world.actor("member"), data=full_input(world), idempotency_key=key)
    assert counts() == NOTHING


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("138 1234 5678", "13812345678", "138****5678"),
        ("+86 139-0000-1111", "13900001111", "139****1111"),
        ("0731-84567890", "0731-84567890", "0731-****7890"),
        ("(010) 6512 3456", "010-65123456", "010-****3456"),
        ("0755 8123456", "0755-8123456", "0755-****3456"),
        ("", "", ""),
    ],
)
def test_contact_numbers_mobile_or_landline(typed, stored, shown):
    assert clean_contact_phone(typed) == stored
    assert mask_contact(stored) == shown


def test_photos_are_optional_and_stored_when_they_are_images(world, media):
    recorded = record_visit(
        actor=world.actor("member"), data=full_input(world, photos=(png(),)), idempotency_key=new_key()
    )
    assert VisitPhoto.objects.filter(visit=recorded.visit).count() == 1
    add_visit_photo(
        actor=world.actor("member"), visit_id=recorded.visit.pk, photo=png("second.png", (30, 30, 200))
    )
    assert VisitPhoto.objects.filter(visit=recorded.visit).count() == 2
    with pytest.raises(InvalidInput):
        add_visit_photo(actor=world.actor("member"), visit_id=recorded.visit.pk, photo=not_an_image())
    with pytest.raises(NotFound):  # only the one who recorded the visit adds photos to it
        add_visit_photo(actor=world.actor("staff"), visit_id=recorded.visit.pk, photo=png())
    assert VisitPhoto.objects.count() == 2


def test_two_sendings_arriving_at_once_store_one_visit(world, monkeypatch):
    """The second request passes the replay check before the first has stored its row: the unique
    key makes its insert fail, and it answers with the first request's visit instead."""
    from huijia.visits import services

    actor, key = world.actor("member"), new_key()
    first = record_visit(actor=actor, data=full_input(world), idempotency_key=key)
    real_replay = services._replay
    calls = []

    def late_replay(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real_replay(**kwargs)

    monkeypatch.setattr(services, "_replay", late_replay)
    before = counts()
    again = record_visit(actor=actor, data=full_input(world), idempotency_key=key)
    assert (again.visit.pk, again.created) == (first.visit.pk, False)
    assert counts() == before


def test_last_visits_gives_the_latest_date_per_household_in_one_query(world, django_assert_num_queries):
    from huijia.visits.selectors import last_visits

    actor = world.actor("member")
    h101, h102 = world.households["a1_101"].pk, world.households["a1_102"].pk
    for days_ago in (10, 3):
        data = VisitInput(household_id=h101, visited_on=TODAY() - timedelta(days=days_ago))
        record_visit(actor=actor, data=data, idempotency_key=new_key())
    with django_assert_num_queries(1):
        assert last_visits([h101, h102]) == {h101: TODAY() - timedelta(days=3)}
    with django_assert_num_queries(0):
        assert last_visits([]) == {}


def test_a_visit_arriving_late_from_a_phone_does_not_overwrite_newer_facts(world):
    """Visited on the 1st (kept offline), sent after a visit of the 5th: the 5th's facts stand."""
    actor = world.actor("member")
    newer = full_input(world, visited_on=TODAY() - timedelta(days=1), occupants=5, demands=(), vulnerable=())
    record_visit(actor=actor, data=newer, idempotency_key=new_key())
    older = full_input(world, visited_on=TODAY() - timedelta(days=5), occupants=2, demands=(), vulnerable=())
    late = record_visit(actor=actor, data=older, idempotency_key=new_key())
    home = Household.objects.get(pk=world.households["a1_101"].pk)
    assert home.occupants == 5
    assert late.visit.occupants == 2  # the late visit keeps what it was told
    assert not HouseholdFactChange.objects.filter(visit_id=late.visit.pk).exists()


def test_a_photo_sent_again_after_a_lost_answer_is_stored_once(world, media):
    recorded = record_visit(actor=world.actor("member"), data=full_input(world), idempotency_key=new_key())
    first = add_visit_photo(actor=world.actor("member"), visit_id=recorded.visit.pk, photo=png("door.png"))
    again = add_visit_photo(actor=world.actor("member"), visit_id=recorded.visit.pk, photo=png("door.png"))
    assert again.pk == first.pk
    assert VisitPhoto.objects.filter(visit=recorded.visit).count() == 1
