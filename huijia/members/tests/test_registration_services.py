"""Registration from submission to approval, rejection, transfer and withdrawal, through the services."""

import pytest
from django.db import IntegrityError, connection

from huijia.accounts.models import AuditLog, Notification
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import make_id_number, make_user
from huijia.members.models import Member, Registration, RegistrationKind, RegistrationStatus
from huijia.members.services import (
    Identity,
    RegistrationInput,
    approve_registration,
    reject_registration,
    reveal_member_pii,
    submit_registration,
    withdraw_registration,
)

pytestmark = pytest.mark.django_db(transaction=False)


def newcomer(world, username="newcomer"):
    world.users[username] = make_user(username)
    return world.actor(username)


def first_input(world, household="a1_202", **overrides):
    data = {
        "community_id": world.areas["a1"].pk,
        "household_id": world.households[household].pk,
        "work_unit_id": world.units["u1"].pk,
        "skill_ids": [world.skills["医疗"].pk],
        "free_time": ["weekend"],
        "identity": Identity(name="周明", phone="13812345678", id_number=make_id_number(77)),
    }
    data.update(overrides)
    return RegistrationInput(**data)


def test_submit_creates_member_and_pending_registration(world):
    actor = newcomer(world)
    reg = submit_registration(actor=actor, data=first_input(world))
    assert reg.status == RegistrationStatus.PENDING
    member = Member.objects.get(user=world.users["newcomer"])
    assert member.phone == "13812345678"
    assert member.masked_phone == "138****5678"
    assert list(reg.skills.values_list("name", flat=True)) == ["医疗"]
    assert AuditLog.objects.filter(action="registration.submit", target_id=str(reg.pk)).exists()


def test_personal_data_is_not_stored_in_plaintext(world):
    submit_registration(actor=newcomer(world), data=first_input(world))
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, id_number FROM members_member")
        rows = cursor.fetchall()
    flat = " ".join(str(v) for row in rows for v in row)
    assert "13812345678" not in flat
    assert make_id_number(77) not in flat


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        (Identity(name="周明", phone="13812345678", id_number="430102198503120011"), "校验位"),
        (Identity(name="周明", phone="1381234", id_number=make_id_number(77)), "手机号"),
        (Identity(name="", phone="13812345678", id_number=make_id_number(77)), "姓名"),
    ],
)
def test_bad_identity_is_refused_and_nothing_is_stored(world, identity, message):
    before = (Member.objects.count(), Registration.objects.count())
    with pytest.raises(InvalidInput) as exc:
        submit_registration(actor=newcomer(world), data=first_input(world, identity=identity))
    assert message in str(exc.value.fields) + exc.value.message
    assert (Member.objects.count(), Registration.objects.count()) == before


def test_unknown_household_or_household_of_another_community_is_refused(world):
    actor = newcomer(world)
    for household_id in (999_999, world.households["a2_101"].pk):
        data = first_input(world, household_id=household_id)
        with pytest.raises(InvalidInput) as exc:
            submit_registration(actor=actor, data=data)
        assert exc.value.code == "unknown_household"
    assert not Member.objects.filter(user=world.users["newcomer"]).exists()


def test_double_registration_is_refused(world):
    actor = world.actor("pending_member")
    with pytest.raises(Conflict) as exc:
        submit_registration(actor=actor, data=first_input(world, identity=None))
    assert exc.value.code == "already_pending"
    with pytest.raises(Conflict) as exc:
        submit_registration(actor=world.actor("member"), data=first_input(world, identity=None))
    assert exc.value.code == "already_registered"


def test_id_number_of_another_account_is_refused(world):
    identity = Identity(name="冒名", phone="13700000000", id_number=world.members["member"].id_number)
    with pytest.raises(Conflict):
        submit_registration(actor=newcomer(world), data=first_input(world, identity=identity))


def test_imported_profile_is_claimed_when_id_and_phone_match(world):
    imported = Member.objects.get(pk=world.members["member"].pk)
    Member.objects.filter(pk=imported.pk).update(user=None)
    Registration.objects.filter(member=imported).update(status=RegistrationStatus.WITHDRAWN)
    identity = Identity(name="李建国", phone=imported.phone, id_number=imported.id_number)
    reg = submit_registration(actor=newcomer(world), data=first_input(world, identity=identity))
    assert reg.member_id == imported.pk


def test_approve_updates_member_and_notifies(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reg = approve_registration(
            actor=world.actor("staff"), registration_id=world.registrations["pending_member"].pk
        )
    assert reg.status == RegistrationStatus.APPROVED
    member = Member.objects.get(pk=reg.member_id)
    assert member.community_id == world.areas["a1"].pk
    assert Notification.objects.filter(user=world.users["pending_member"], text__contains="通过").exists()


def test_reject_needs_a_reason_and_then_cannot_be_approved(world, django_capture_on_commit_callbacks):
    reg_id = world.registrations["pending_member"].pk
    with pytest.raises(InvalidInput):
        reject_registration(actor=world.actor("staff"), registration_id=reg_id, reason="  ")
    assert Registration.objects.get(pk=reg_id).status == RegistrationStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        reject_registration(actor=world.actor("staff"), registration_id=reg_id, reason="住址与户籍不符")
    assert Notification.objects.get(user=world.users["pending_member"]).text.endswith("住址与户籍不符")
    with pytest.raises(Conflict) as exc:
        approve_registration(actor=world.actor("staff"), registration_id=reg_id)
    assert "未通过" in exc.value.message


def test_other_community_staff_cannot_see_or_review(world):
    reg_id = world.registrations["pending_member"].pk
    with pytest.raises(NotFound):
        approve_registration(actor=world.actor("other_staff"), registration_id=reg_id)
    with pytest.raises(Forbidden):
        approve_registration(actor=world.actor("building_head"), registration_id=reg_id)
    assert Registration.objects.get(pk=reg_id).status == RegistrationStatus.PENDING


def test_transfer_keeps_history(world):
    actor = world.actor("member")
    data = first_input(
        world, community_id=world.areas["a2"].pk, household_id=world.households["a2_102"].pk, identity=None
    )
    transfer = submit_registration(actor=actor, data=data)
    assert transfer.kind == RegistrationKind.TRANSFER
    assert transfer.previous_id == world.registrations["member"].pk
    approve_registration(actor=world.actor("other_staff"), registration_id=transfer.pk)
    statuses = dict(Registration.objects.filter(member=world.members["member"]).values_list("pk", "status"))
    assert statuses == {world.registrations["member"].pk: "transferred", transfer.pk: "approved"}
    assert Member.objects.get(pk=world.members["member"].pk).community_id == world.areas["a2"].pk


def test_member_withdraws_and_strangers_cannot(world):
    reg_id = world.registrations["member"].pk
    with pytest.raises(NotFound):
        withdraw_registration(actor=world.actor("other_member"), registration_id=reg_id)
    withdraw_registration(actor=world.actor("member"), registration_id=reg_id)
    assert Member.objects.get(pk=world.members["member"].pk).community_id is None
    with pytest.raises(Conflict):
        withdraw_registration(actor=world.actor("member"), registration_id=reg_id)


def test_reveal_pii_is_scoped_and_audited(world):
    member = world.members["member"]
    assert (
        reveal_member_pii(actor=world.actor("staff"), member_id=member.pk, field_name="phone") == member.phone
    )
    assert (
        AuditLog.objects.filter(
            action="pii.reveal", target_id=str(member.pk), actor=world.users["staff"]
        ).count()
        == 1
    )
    for name in ("other_staff", "building_head", "street_staff", "outsider"):
        with pytest.raises(NotFound):
            reveal_member_pii(actor=world.actor(name), member_id=member.pk, field_name="id_number")
    assert AuditLog.objects.filter(action="pii.reveal").count() == 1


def test_a_taken_volunteer_number_is_drawn_again(world, monkeypatch):
    """Random volunteer numbers can collide; the registration still succeeds with a fresh number."""
    taken = Member.objects.exclude(volunteer_no="").values_list("volunteer_no", flat=True).first()
    draws = iter([taken, taken, "HJ0000000042"])
    monkeypatch.setattr("huijia.members.services.new_volunteer_no", lambda: next(draws))
    reg = submit_registration(actor=newcomer(world), data=first_input(world))
    assert reg.member.volunteer_no == "HJ0000000042"
    assert Member.objects.filter(volunteer_no=taken).count() == 1


def test_volunteer_number_draws_are_bounded(world, monkeypatch):
    taken = Member.objects.values_list("volunteer_no", flat=True).first()
    monkeypatch.setattr("huijia.members.services.new_volunteer_no", lambda: taken)
    before = (Member.objects.count(), Registration.objects.count())
    with pytest.raises(IntegrityError):
        submit_registration(actor=newcomer(world), data=first_input(world))
    assert (Member.objects.count(), Registration.objects.count()) == before


def test_a_community_cannot_unmask_someone_it_rejected_or_who_moved_away(world):
    newcomer_actor = newcomer(world)
    rejected = submit_registration(actor=newcomer_actor, data=first_input(world))
    reject_registration(actor=world.actor("staff"), registration_id=rejected.pk, reason="住址不符")
    with pytest.raises(NotFound):
        reveal_member_pii(actor=world.actor("staff"), member_id=rejected.member_id, field_name="phone")

    mover = world.members["member"]
    data = first_input(
        world, community_id=world.areas["a2"].pk, household_id=world.households["a2_102"].pk, identity=None
    )
    transfer = submit_registration(actor=world.actor("member"), data=data)
    staff = world.actor("staff")
    assert reveal_member_pii(actor=staff, member_id=mover.pk, field_name="phone") == mover.phone
    approve_registration(actor=world.actor("other_staff"), registration_id=transfer.pk)
    with pytest.raises(NotFound):
        reveal_member_pii(actor=world.actor("staff"), member_id=mover.pk, field_name="phone")
    assert reveal_member_pii(actor=world.actor("other_staff"), member_id=mover.pk, field_name="phone")
    assert AuditLog.objects.filter(action="pii.reveal").count() == 2


def test_leaving_the_community_ends_team_links_and_household_reach(world):
    """A member who withdraws keeps no team, no neighbour link and no household of the old community."""
    from huijia.accounts.roles import Perm
    from huijia.accounts.scope import restrict
    from huijia.grid.models import Household
    from huijia.members.models import HouseholdAccess, HouseholdLink, TeamMembership

    member = world.members["member"]
    assert restrict(Household.objects.all(), world.actor("member"), Perm.VISIT).count() == 4
    withdraw_registration(actor=world.actor("member"), registration_id=world.registrations["member"].pk)
    assert not TeamMembership.objects.filter(member=member, ended_at=None).exists()
    assert TeamMembership.objects.filter(member=member).exclude(ended_at=None).exists()  # kept as history
    assert not HouseholdAccess.objects.filter(member=member).exists()
    assert not restrict(Household.objects.all(), world.actor("member"), Perm.VISIT).exists()

    other = world.members["other_member"]
    data = first_input(
        world, community_id=world.areas["a1"].pk, household_id=world.households["a1_202"].pk, identity=None
    )
    transfer = submit_registration(actor=world.actor("other_member"), data=data)
    assert HouseholdAccess.objects.filter(member=other).exists()  # still theirs until the move is approved
    approve_registration(actor=world.actor("staff"), registration_id=transfer.pk)
    assert not HouseholdLink.objects.filter(member=other, ended_at=None).exists()
    assert not HouseholdAccess.objects.filter(member=other).exists()


def test_leaving_gives_up_building_head_and_branch_secretary_roles_there(world):
    from huijia.accounts.models import RoleGrant
    from huijia.accounts.roles import Role

    user = world.users["member"]
    RoleGrant.objects.create(user=user, role=Role.BUILDING, area=world.areas["a1_bldg"])
    RoleGrant.objects.create(user=user, role=Role.ESTATE, area=world.areas["a1_estate"])
    RoleGrant.objects.create(user=user, role=Role.BUILDING, area=world.areas["b1_bldg"])  # elsewhere: kept
    withdraw_registration(actor=world.actor("member"), registration_id=world.registrations["member"].pk)
    left = RoleGrant.objects.filter(user=user).values_list("role", "area_id")
    assert list(left) == [(Role.BUILDING, world.areas["b1_bldg"].pk)]
    assert AuditLog.objects.filter(action="role.revoke").count() == 2
