"""Registration (报到) from submission to approval, rejection, transfer and withdrawal; PII reveal."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Perm, Role
from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit, notify
from huijia.core.crypto import blind_index
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound, from_validation_error
from huijia.core.personal import validate_id_number, validate_mobile
from huijia.grid.models import Area, AreaKind, Household
from huijia.members.models import (
    FreeTime,
    HouseholdAccess,
    HouseholdLink,
    Member,
    Registration,
    RegistrationKind,
    RegistrationStatus,
    Skill,
    TeamMembership,
    new_volunteer_no,
)
from huijia.orgs.models import WorkUnit

MAX_REASON = 200


@dataclass(frozen=True)
class Identity:
    """Who a first-time registrant is. Only what the work needs: name, mobile, ID number."""

    name: str
    phone: str
    id_number: str


@dataclass(frozen=True)
class RegistrationInput:
    community_id: int
    household_id: int
    work_unit_id: int | None = None
    skill_ids: list[int] = field(default_factory=list)
    free_time: list[str] = field(default_factory=list)
    resources: str = ""
    identity: Identity | None = None


def _clean_identity(identity: Identity) -> Identity:
    errors: dict[str, list[str]] = {}
    name = identity.name.strip()
    if not name or len(name) > 64:
        errors["name"] = [_("请填写姓名（不超过64个字）")]
    try:
        phone = validate_mobile(identity.phone)
    except ValidationError as exc:
        errors["phone"], phone = exc.messages, ""
    try:
        id_number = validate_id_number(identity.id_number)
    except ValidationError as exc:
        errors["id_number"], id_number = exc.messages, ""
    if errors:
        raise from_validation_error(ValidationError(errors))
    return Identity(name=name, phone=phone, id_number=id_number)


def _member_for_registrant(*, actor: Actor, identity: Identity | None) -> Member:
    """The actor's member profile; created from `identity` on the first registration.

    A profile imported by a work unit (no account yet) is claimed when both ID number and mobile match.
    """
    if actor.member_id:
        return Member.objects.select_for_update().get(pk=actor.member_id)
    if identity is None:
        raise InvalidInput(_("首次报到请填写姓名、手机号和身份证号"), code="identity_required")
    identity = _clean_identity(identity)
    existing = (
        Member.objects.select_for_update().filter(id_number_digest=blind_index(identity.id_number)).first()
    )
    if existing is not None:
        if existing.user_id is None and existing.phone_digest == blind_index(identity.phone):
            existing.user_id = actor.user_id
            existing.save(update_fields=["user"])
            return existing
        raise Conflict(_("该身份证号已被其他账号登记，请联系社区工作人员核实"), code="id_number_taken")
    return create_member(
        user_id=actor.user_id,
        name=identity.name,
        phone=identity.phone,
        phone_digest=blind_index(identity.phone),
        id_number=identity.id_number,
        id_number_digest=blind_index(identity.id_number),
    )


VOLUNTEER_NO_ATTEMPTS = 5


def create_member(**fields) -> Member:
    """Insert a member with a fresh random volunteer number, drawing again if the number is taken.

    Ten random digits collide rarely (about one in 100,000 draws at city scale), so a collision is
    retried inside a savepoint instead of failing the member's registration.
    """
    for attempt in range(VOLUNTEER_NO_ATTEMPTS):
        try:
            with transaction.atomic():
                return Member.objects.create(volunteer_no=new_volunteer_no(), **fields)
        except IntegrityError as exc:
            if "volunteer_no" not in str(exc) or attempt == VOLUNTEER_NO_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _check_choices(data: RegistrationInput) -> tuple[Area, Household, WorkUnit | None, list[Skill]]:
    community = Area.objects.filter(pk=data.community_id, kind=AreaKind.COMMUNITY).first()
    if community is None:
        raise InvalidInput(
            _("所选社区不存在"), code="unknown_community", fields={"community_id": [_("所选社区不存在")]}
        )
    household = Household.objects.select_related("building").filter(pk=data.household_id).first()
    if household is None or not household.building.path.startswith(community.path):
        message = _("所选住户不存在或不在该社区，请重新选择")
        raise InvalidInput(message, code="unknown_household", fields={"household_id": [message]})
    work_unit = None
    if data.work_unit_id is not None:
        work_unit = WorkUnit.objects.filter(pk=data.work_unit_id).first()
        if work_unit is None:
            raise InvalidInput(_("所选工作单位不存在"), code="unknown_work_unit")
    skills = list(Skill.objects.filter(pk__in=set(data.skill_ids)))
    if len(skills) != len(set(data.skill_ids)):
        raise InvalidInput(_("所选专长不存在"), code="unknown_skill")
    if unknown := set(data.free_time) - set(FreeTime.values):
        raise InvalidInput(
            _("空闲时间选项不正确：{v}").format(v="、".join(sorted(unknown))), code="bad_free_time"
        )
    if len(data.resources) > 200:
        raise InvalidInput(_("可提供的资源不超过200个字"), code="resources_too_long")
    return community, household, work_unit, skills


@transaction.atomic
def submit_registration(*, actor: Actor, data: RegistrationInput) -> Registration:
    """A member reports in to the community where they live (or transfers there after a move)."""
    if not actor.is_authenticated:
        raise Forbidden(_("请先登录"))
    community, household, work_unit, skills = _check_choices(data)
    member = _member_for_registrant(actor=actor, identity=data.identity)
    open_regs = {r.status: r for r in member.registrations.filter(status__in=["pending", "approved"])}
    if RegistrationStatus.PENDING in open_regs:
        raise Conflict(_("您已有一条待审核的报到申请，请等待社区审核或先撤回"), code="already_pending")
    current = open_regs.get(RegistrationStatus.APPROVED)
    if current is not None and current.community_id == community.pk:
        raise Conflict(_("您已在本社区报到，无需重复报到"), code="already_registered")
    try:
        with transaction.atomic():
            registration = Registration.objects.create(
                member=member,
                community=community,
                household=household,
                work_unit=work_unit or member.work_unit,
                resources=data.resources.strip(),
                free_time=sorted(set(data.free_time)),
                kind=RegistrationKind.TRANSFER if current else RegistrationKind.NEW,
                previous=current,
            )
    except IntegrityError:
        raise Conflict(_("您已有一条待审核的报到申请"), code="already_pending") from None
    registration.skills.set(skills)
    audit(
        actor=actor,
        action="registration.submit",
        target=registration,
        community=community.pk,
        kind=registration.kind,
    )
    return registration


def _lock_for_review(*, actor: Actor, registration_id: int) -> Registration:
    qs = Registration.objects.select_for_update(of=("self",)).select_related("member", "community")
    registration = restrict(qs, actor, Perm.REVIEW).filter(pk=registration_id).first()
    if registration is None:
        if restrict(Registration.objects.all(), actor, Perm.VIEW).filter(pk=registration_id).exists():
            raise Forbidden(_("您可以查看但不能审核该申请"))
        raise NotFound()
    if registration.status != RegistrationStatus.PENDING:
        raise Conflict(
            _("该申请{status}，不能再审核").format(status=registration.get_status_display()),
            code="not_pending",
        )
    return registration


@transaction.atomic
def approve_registration(*, actor: Actor, registration_id: int) -> Registration:
    """Community staff accept a member; a transfer ends the member's registration elsewhere."""
    registration = _lock_for_review(actor=actor, registration_id=registration_id)
    now = timezone.now()
    ended = Registration.objects.filter(member_id=registration.member_id, status=RegistrationStatus.APPROVED)
    left = list(ended.values_list("community_id", flat=True))
    if ended.update(status=RegistrationStatus.TRANSFERRED, ended_at=now):
        _end_duties(actor=actor, member_id=registration.member_id, community_ids=left, now=now)
    registration.status = RegistrationStatus.APPROVED
    registration.reviewed_by_id = actor.user_id
    registration.reviewed_at = now
    registration.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    member = registration.member
    member.community_id = registration.community_id
    member.household_id = registration.household_id
    member.work_unit_id = registration.work_unit_id or member.work_unit_id
    member.resources = registration.resources
    member.free_time = registration.free_time
    member.save(update_fields=["community", "household", "work_unit", "resources", "free_time"])
    member.skills.set(registration.skills.all())
    audit(actor=actor, action="registration.approve", target=registration)
    notify(
        user_id=member.user_id,
        text=_("您在{c}的报到已通过审核，电子党员证已生成。").format(c=registration.community.name),
        url=reverse("members:card"),
    )
    return registration


def _end_duties(*, actor: Actor, member_id: int, community_ids: list[int], now) -> None:
    """A member who leaves a community (withdrawal, or a transfer approved elsewhere) leaves its team
    and its neighbour links, no longer reaches any of its households, and gives up the building-head
    and branch-secretary roles they held there. Teams and links stay as history; each role is audited."""
    TeamMembership.objects.filter(member_id=member_id, ended_at=None).update(ended_at=now)
    HouseholdLink.objects.filter(member_id=member_id, ended_at=None).update(ended_at=now)
    HouseholdAccess.objects.filter(member_id=member_id).delete()
    user_id = Member.objects.filter(pk=member_id).values_list("user_id", flat=True).first()
    paths = list(Area.objects.filter(pk__in=community_ids).values_list("path", flat=True))
    if user_id is None or not paths:
        return
    within = Q()
    for path in paths:
        within |= Q(area__path__startswith=path)
    grants = RoleGrant.objects.filter(user_id=user_id, role__in=(Role.BUILDING, Role.ESTATE)).filter(within)
    for grant in grants:
        audit(actor=actor, action="role.revoke", target=grant, role=grant.role, reason="left_community")
    grants.delete()


@transaction.atomic
def reject_registration(*, actor: Actor, registration_id: int, reason: str) -> Registration:
    """Community staff send a registration back with a reason the member can act on."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("请填写退回原因，方便党员修改后重新报到"), code="reason_required")
    if len(reason) > MAX_REASON:
        raise InvalidInput(_("退回原因不超过200个字"), code="reason_too_long")
    registration = _lock_for_review(actor=actor, registration_id=registration_id)
    registration.status = RegistrationStatus.REJECTED
    registration.reject_reason = reason
    registration.reviewed_by_id = actor.user_id
    registration.reviewed_at = timezone.now()
    registration.save(update_fields=["status", "reject_reason", "reviewed_by", "reviewed_at"])
    audit(actor=actor, action="registration.reject", target=registration, reason=reason)
    notify(
        user_id=registration.member.user_id,
        text=_("您在{c}的报到未通过：{r}").format(c=registration.community.name, r=reason),
        url=reverse("members:home"),
    )
    return registration


@transaction.atomic
def withdraw_registration(*, actor: Actor, registration_id: int) -> Registration:
    """A member withdraws a pending application, or leaves the community they reported to."""
    registration = (
        Registration.objects.select_for_update()
        .filter(pk=registration_id, member_id=actor.member_id or -1)
        .first()
    )
    if registration is None:
        raise NotFound()
    if registration.status not in (RegistrationStatus.PENDING, RegistrationStatus.APPROVED):
        raise Conflict(_("该报到已结束，无需撤回"), code="not_open")
    was_active = registration.status == RegistrationStatus.APPROVED
    registration.status = RegistrationStatus.WITHDRAWN
    registration.ended_at = timezone.now()
    registration.save(update_fields=["status", "ended_at"])
    if was_active:
        Member.objects.filter(pk=registration.member_id).update(community=None)
        _end_duties(
            actor=actor,
            member_id=registration.member_id,
            community_ids=[registration.community_id],
            now=registration.ended_at,
        )
    audit(actor=actor, action="registration.withdraw", target=registration, was_active=was_active)
    return registration


PII_FIELDS = {"phone", "id_number"}


# A community may unmask an applicant while it reviews them and a member while they report there;
# once it has turned them down, or they have moved or withdrawn, the numbers are no longer its business.
REVEALABLE = (RegistrationStatus.PENDING, RegistrationStatus.APPROVED)


@transaction.atomic
def reveal_member_pii(*, actor: Actor, member_id: int, field_name: str) -> str:
    """Shows one unmasked personal field to a role that needs it, and audits the view."""
    if field_name not in PII_FIELDS:
        raise InvalidInput(_("不支持查看该字段"))
    in_scope = (
        actor.member_id == member_id
        or restrict(Member.objects.filter(pk=member_id), actor, Perm.VIEW_PII).exists()
        or (
            restrict(Registration.objects.filter(member_id=member_id), actor, Perm.VIEW_PII)
            .filter(status__in=REVEALABLE)
            .exists()
        )
    )
    if not in_scope:
        raise NotFound()
    member = Member.objects.only(field_name).get(pk=member_id)
    audit(actor=actor, action="pii.reveal", target=member, field=field_name)
    return getattr(member, field_name)
