"""Care (结对帮扶): the file of vulnerable people and pairings, with the household access they give."""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from huijia.accounts.models import AuditLog, Notification
from huijia.accounts.roles import Perm
from huijia.accounts.scope import restrict
from huijia.care.models import CarePairing, CarePairingMember, VulnerablePerson
from huijia.care.services import add_vulnerable, create_pairing, end_pairing, end_vulnerable
from huijia.care.tests.helpers import days_ago, vulnerable
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import make_member, register
from huijia.grid.models import Household
from huijia.members.models import HouseholdAccess


def neighbour(world, key="neighbour", community="a1", household="a1_bldg2_101"):
    """Another member reporting in A1 (lives in building 5)."""
    make_member(world, key, name="周红", serial=40 + len(world.members), unit="u2")
    register(world, key, community, household)
    return world.members[key]


def access(world, member: str, household: str):
    row = HouseholdAccess.objects.filter(
        member=world.members[member], household=world.households[household]
    ).first()
    return None if row is None else (row.by_zone, row.by_link, row.by_care)


def may_visit(world, member: str, household: str) -> bool:
    qs = Household.objects.filter(pk=world.households[household].pk)
    return restrict(qs, world.actor(member), Perm.VISIT).exists()


def stored() -> tuple:
    return (
        VulnerablePerson.objects.count(),
        CarePairing.objects.count(),
        CarePairingMember.objects.count(),
        HouseholdAccess.objects.count(),
        AuditLog.objects.count(),
    )


def pair(world, household="a1_bldg2_101", members=("member",), who="staff", **kwargs):
    return create_pairing(
        actor=world.actor(who),
        household_id=world.households[household].pk,
        member_ids=[world.members[m].pk for m in members],
        **kwargs,
    )


# --- the file ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "estate_secretary"])
def test_staff_and_the_estate_secretary_add_someone_to_the_file(world, who):
    person = add_vulnerable(
        actor=world.actor(who),
        household_id=world.households["a1_202"].pk,
        kind="elderly_alone",
        name=" 张奶奶 ",
        note="行动不便",
    )
    assert (person.kind, person.name, person.note, person.ended_at) == (
        "elderly_alone",
        "张奶奶",
        "行动不便",
        None,
    )
    assert person.recorded_by == world.users[who]
    assert AuditLog.objects.filter(action="care.vulnerable.add", target_id=str(person.pk)).exists()


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("building_head", Forbidden),  # sees the household, may not keep the file
        ("member", Forbidden),  # their zone: they see it, and add through visits only
        ("street_staff", Forbidden),
        ("other_staff", NotFound),
        ("other_member", NotFound),
        ("outsider", NotFound),
    ],
)
def test_others_may_not_add_to_the_file(world, who, error):
    before = stored()
    with pytest.raises(error):
        add_vulnerable(actor=world.actor(who), household_id=world.households["a1_202"].pk, kind="disabled")
    assert stored() == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"kind": "rich"}, "kind"), ({"name": "长" * 65}, "name"), ({"note": "长" * 201}, "note")],
)
def test_bad_file_entries_store_nothing(world, kwargs, field):
    kwargs.setdefault("kind", "disabled")
    before = stored()
    with pytest.raises(InvalidInput) as caught:
        add_vulnerable(actor=world.actor("staff"), household_id=world.households["a1_202"].pk, **kwargs)
    assert field in caught.value.fields
    assert stored() == before


def test_the_same_person_twice_is_a_conflict_but_another_kind_is_fine(world):
    add_vulnerable(actor=world.actor("staff"), household_id=world.households["a1_202"].pk, kind="disabled")
    with pytest.raises(Conflict):
        add_vulnerable(
            actor=world.actor("staff"), household_id=world.households["a1_202"].pk, kind="disabled"
        )
    add_vulnerable(actor=world.actor("staff"), household_id=world.households["a1_202"].pk, kind="hardship")
    assert VulnerablePerson.objects.filter(household=world.households["a1_202"]).count() == 2


def test_ending_keeps_the_record_and_cannot_happen_twice(world):
    person = vulnerable(world, "a1_202")
    ended = end_vulnerable(actor=world.actor("estate_secretary"), person_id=person.pk)
    assert ended.ended_at is not None
    assert VulnerablePerson.objects.filter(pk=person.pk).exists()
    with pytest.raises(Conflict):
        end_vulnerable(actor=world.actor("staff"), person_id=person.pk)


@pytest.mark.parametrize(("who", "error"), [("building_head", Forbidden), ("other_staff", NotFound)])
def test_only_care_managers_end_a_file_entry(world, who, error):
    person = vulnerable(world, "a1_202")
    with pytest.raises(error):
        end_vulnerable(actor=world.actor(who), person_id=person.pk)
    person.refresh_from_db()
    assert person.ended_at is None


# --- pairings ---------------------------------------------------------------------------------------


def test_one_member_paired_with_a_household_outside_their_zone_gets_access(world):
    vulnerable(world, "a1_bldg2_101")
    assert not may_visit(world, "member", "a1_bldg2_101")
    with TestCase.captureOnCommitCallbacks(execute=True):
        p = pair(world, cadence_days=30, note="代办高龄补贴")
    assert (p.cadence_days, p.note, p.started_on, p.ended_on) == (
        30,
        "代办高龄补贴",
        timezone.localdate(),
        None,
    )
    assert list(p.members.all()) == [world.members["member"]]
    assert access(world, "member", "a1_bldg2_101") == (False, False, True)
    assert may_visit(world, "member", "a1_bldg2_101")
    note = Notification.objects.get(user=world.users["member"])
    assert "5栋 101室" in note.text
    assert "每30天" in note.text
    assert AuditLog.objects.filter(action="care.pairing.create", target_id=str(p.pk)).exists()


def test_several_members_with_one_household(world):
    vulnerable(world, "a1_201", kind="disabled")
    neighbour(world)
    p = pair(world, "a1_201", members=("member", "neighbour"), cadence_days=14, started_on=days_ago(3))
    assert {m.name for m in p.members.all()} == {"李建国", "周红"}
    assert p.started_on == days_ago(3)
    assert access(world, "member", "a1_201") == (True, False, True)  # their zone as well
    assert access(world, "neighbour", "a1_201") == (False, False, True)


def test_ending_a_pairing_takes_back_only_the_access_it_gave(world):
    vulnerable(world, "a1_201")
    vulnerable(world, "a1_bldg2_101")
    inside = pair(world, "a1_201")
    outside = pair(world, "a1_bldg2_101")
    end_pairing(actor=world.actor("estate_secretary"), pairing_id=inside.pk)
    end_pairing(actor=world.actor("staff"), pairing_id=outside.pk, ended_on=timezone.localdate())
    assert access(world, "member", "a1_201") == (True, False, False)  # still their zone
    assert access(world, "member", "a1_bldg2_101") is None
    assert not may_visit(world, "member", "a1_bldg2_101")
    inside.refresh_from_db()
    assert inside.ended_on == timezone.localdate()
    assert AuditLog.objects.filter(action="care.pairing.end", target_id=str(inside.pk)).exists()
    with pytest.raises(Conflict):
        end_pairing(actor=world.actor("staff"), pairing_id=inside.pk)


def test_a_household_can_be_paired_again_after_its_pairing_ended(world):
    vulnerable(world, "a1_bldg2_101")
    first = pair(world)
    with pytest.raises(Conflict, match="已有结对"):
        pair(world)
    end_pairing(actor=world.actor("staff"), pairing_id=first.pk)
    pair(world)
    assert access(world, "member", "a1_bldg2_101") == (False, False, True)


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"members": ()}, "member_ids", "members_required"),
        ({"members": ("pending_member",)}, "member_ids", "member_not_reporting"),
        ({"members": ("other_member",)}, "member_ids", "member_not_reporting"),  # reports in A2
        ({"cadence_days": 0}, "cadence_days", "bad_cadence"),
        ({"cadence_days": 400}, "cadence_days", "bad_cadence"),
        ({"started_on": "tomorrow"}, "started_on", "start_in_future"),
        ({"note": "长" * 201}, "note", "invalid"),
        ({"household": "a1_202"}, "household_id", "not_on_file"),  # nobody on the file there
    ],
)
def test_bad_pairings_store_nothing(world, kwargs, field, code):
    vulnerable(world, "a1_bldg2_101")
    if kwargs.get("started_on") == "tomorrow":
        kwargs["started_on"] = timezone.localdate() + timedelta(days=1)
    before = stored()
    with pytest.raises(InvalidInput) as caught:
        pair(world, **kwargs)
    assert (caught.value.code, list(caught.value.fields)) == (code, [field])
    assert stored() == before


def test_a_member_whose_registration_ended_cannot_be_paired(world):
    from huijia.members.services import withdraw_registration

    vulnerable(world, "a1_bldg2_101")
    withdraw_registration(actor=world.actor("member"), registration_id=world.registrations["member"].pk)
    with pytest.raises(InvalidInput, match="报到的党员"):
        pair(world)


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("building_head", NotFound),  # building 5 is not theirs
        ("member", NotFound),
        ("street_staff", Forbidden),
        ("other_staff", NotFound),
        ("outsider", NotFound),
    ],
)
def test_only_care_managers_pair(world, who, error):
    vulnerable(world, "a1_bldg2_101")
    before = stored()
    with pytest.raises(error):
        pair(world, who=who)
    assert stored() == before


@pytest.mark.parametrize(
    ("ended_on", "code"), [("tomorrow", "end_in_future"), ("before_start", "end_before_start")]
)
def test_bad_end_dates_change_nothing(world, ended_on, code):
    vulnerable(world, "a1_bldg2_101")
    p = pair(world, started_on=days_ago(2))
    day = timezone.localdate() + timedelta(days=1) if ended_on == "tomorrow" else days_ago(5)
    with pytest.raises(InvalidInput) as caught:
        end_pairing(actor=world.actor("staff"), pairing_id=p.pk, ended_on=day)
    assert caught.value.code == code
    p.refresh_from_db()
    assert p.ended_on is None
    assert access(world, "member", "a1_bldg2_101") == (False, False, True)


@pytest.mark.parametrize(("who", "error"), [("member", Forbidden), ("other_staff", NotFound)])
def test_only_care_managers_end_a_pairing(world, who, error):
    vulnerable(world, "a1_bldg2_101")
    p = pair(world)
    with pytest.raises(error):
        end_pairing(actor=world.actor(who), pairing_id=p.pk)
    p.refresh_from_db()
    assert p.ended_on is None


def test_a_member_who_leaves_the_community_no_longer_sees_their_pairings(world):
    from huijia.care import selectors
    from huijia.members.services import withdraw_registration

    vulnerable(world, "a1_202")
    pairing = create_pairing(
        actor=world.actor("staff"),
        household_id=world.households["a1_202"].pk,
        member_ids=[world.members["member"].pk],
    )
    assert [d.pairing for d in selectors.my_pairings(actor=world.actor("member"))] == [pairing]
    withdraw_registration(actor=world.actor("member"), registration_id=world.registrations["member"].pk)
    assert selectors.my_pairings(actor=world.actor("member")) == []
    assert not restrict(CarePairing.objects.all(), world.actor("member")).exists()


def test_an_estate_secretary_cannot_pair_members_outside_their_estate_by_posting_ids(world):
    make_member(world, "elsewhere", name="远方", serial=71, unit=None)
    register(world, "elsewhere", "a1", "a1_bldg2_101")  # same community, same estate here: visible
    make_member(world, "hidden", name="隐身", serial=72, unit=None)
    hidden = world.members["hidden"]
    hidden.community = world.areas["a1"]  # reporting in A1 but living nowhere the secretary covers
    hidden.save(update_fields=["community"])
    vulnerable(world, "a1_201")
    before = CarePairing.objects.count()
    with pytest.raises(InvalidInput):
        create_pairing(
            actor=world.actor("estate_secretary"),
            household_id=world.households["a1_201"].pk,
            member_ids=[hidden.pk],
        )
    assert CarePairing.objects.count() == before
