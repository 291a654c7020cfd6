"""Writes of the demands app: the closed loop of a resident's demand, step by step.

Each step is one function and one transaction: it locks the demand row (`select_for_update`), checks
that the actor may take the step and that the demand is in a state the step starts from, writes the
demand, a DemandEvent for the timeline, the rollup counts behind the three rates, an audit row, and
the notifications. A form or API call that carries the `version` it was shown gets a Conflict when
someone else moved the demand in the meantime; assigning a demand that another staff member has just
assigned is a Conflict even without a version (reassigning is its own, explicit step).

Who may do what:
- anyone, with no account, through the building's QR form; a signed-in resident; a member (visit,
  opinion-collection post); staff typing one in (代录): submit;
- staff with MANAGE_DEMANDS over the demand's area (community staff, the estate's branch secretary):
  accept, decline, assign, reassign, recategorise, merge, escalate, resolve, record a call-back rating;
- the assignee (the member, a member of the zone team or of the service team, the branch of the
  estate): start and resolve;
- the receiving street or work unit (RECEIVE_ESCALATIONS): accept or send back an escalation, and
  report back, which resolves the demand;
- the resident who reported it (their account, or the tracking code they were given): confirm and
  rate once, or reopen a resolved demand that was not in fact solved.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Perm, Role
from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit, notify
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.personal import validate_contact_phone
from huijia.core.photos import check_photo, photo_digest
from huijia.demands import classify
from huijia.demands.models import (
    OPEN_STATUSES,
    AssigneeKind,
    Category,
    Demand,
    DemandEvent,
    DemandPhoto,
    DemandRollup,
    DemandSource,
    DemandStatus,
    Escalation,
    EscalationStatus,
    EscalationTarget,
    EventKind,
    PhotoStage,
    Rating,
)
from huijia.grid.models import Area, AreaKind, Household
from huijia.members.models import Member, RegistrationStatus, Team, TeamMembership
from huijia.orgs.models import WorkUnit
from huijia.volunteering import pairing_selectors
from huijia.volunteering.models import ServiceTeam, ServiceTeamMember

MAX_DESCRIPTION = 2000
MAX_REASON = 200
MAX_RESOLUTION = 2000
MAX_COMMENT = 500
MAX_PHOTOS = 5
ROLLUP_KINDS = (AreaKind.ESTATE, AreaKind.COMMUNITY, AreaKind.STREET, AreaKind.DISTRICT, AreaKind.CITY)


def _bad(field_name: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={field_name: [message]})


def _contact_phone(value: str | None) -> str:
    """The reporter's number as stored, or a clear error (never Django's ValidationError)."""
    try:
        return validate_contact_phone((value or "").strip())
    except ValidationError as exc:
        message = exc.messages[0]
        raise InvalidInput(message, code="bad_phone", fields={"reporter_phone": exc.messages}) from None


def _text(value: str | None, field_name: str, *, limit: int, empty: str, too_long: str) -> str:
    value = (value or "").strip()
    if not value:
        raise _bad(field_name, empty, f"{field_name}_empty")
    if len(value) > limit:
        raise _bad(field_name, too_long, f"{field_name}_too_long")
    return value


# --- submitting --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemandInput:
    description: str
    source: str = DemandSource.RESIDENT
    area_id: int | None = None  # the building, estate or community; the household's building if omitted
    household_id: int | None = None
    category_code: str = ""  # empty: the classifier's suggestion
    reporter_name: str = ""
    reporter_phone: str = ""
    photos: tuple[UploadedFile, ...] = field(default=())


def _place(data: DemandInput) -> tuple[Area, Household | None]:
    household = None
    if data.household_id is not None:
        household = Household.objects.select_related("building").filter(pk=data.household_id).first()
        if household is None:
            raise _bad("household_id", _("所选住户不存在"), "unknown_household")
    if data.area_id is None:
        if household is None:
            raise _bad("area_id", _("请选择诉求所在的楼栋、小区或社区"), "place_missing")
        return household.building, household
    area = Area.objects.filter(pk=data.area_id).first()
    if area is None or area.kind not in (AreaKind.BUILDING, AreaKind.ESTATE, AreaKind.COMMUNITY):
        raise _bad("area_id", _("诉求的位置必须是一个社区、小区或楼栋"), "bad_place")
    if household is not None and not household.building.path.startswith(area.path):
        raise _bad("household_id", _("所选住户不在这个位置"), "household_elsewhere")
    return (household.building if household else area), household


def _category(code: str, description: str) -> tuple[Category | None, Category | None]:
    """(the category to file it under, the classifier's suggestion)."""
    suggestion = classify.suggest_category(description)
    if not code:
        return suggestion, suggestion
    category = Category.objects.filter(code=code, active=True).first()
    if category is None:
        raise _bad("category", _("没有这个诉求类别，请从列表中选择"), "unknown_category")
    return category, suggestion


def _ancestors(area: Area) -> dict[str, int]:
    ids = area.ancestor_ids()
    return dict(Area.objects.filter(pk__in=ids, kind__in=ROLLUP_KINDS).values_list("kind", "pk"))


def _may_enter_for(actor: Actor, area: Area, source: str) -> None:
    """Who may put a demand on this place, by channel."""
    if source == DemandSource.RESIDENT or source == DemandSource.OPEN311:
        return  # anyone: residents report for themselves, with or without an account
    if actor.covers(Perm.MANAGE_DEMANDS, area.path):
        return  # staff: 代录, patrols, meetings, and every other channel
    if source == DemandSource.VISIT and actor.covers(Perm.VISIT, area.path):
        return  # whoever may visit there (a building head) records what a visit brought up
    if source in (DemandSource.POST, DemandSource.VISIT) and actor.member_id:
        # a member at an opinion-collection post or on a visit, in the community they report to
        community = _ancestors(area).get(AreaKind.COMMUNITY)
        if Member.objects.filter(pk=actor.member_id, community_id=community).exists():
            return
    raise Forbidden(_("您不能为这个位置录入诉求"))


def _actor_label(actor: Actor | None, fallback: str = "") -> str:
    if actor is None or not actor.is_authenticated:
        return fallback or _("居民")
    from huijia.accounts.models import User

    user = User.objects.filter(pk=actor.user_id).only("username", "display_name").first()
    if user is None:
        return fallback
    return user.display_name or user.username


def _event(
    demand: Demand, kind: str, actor: Actor | None, text: str = "", label: str = "", **data
) -> DemandEvent:
    return DemandEvent.objects.create(
        demand=demand,
        kind=kind,
        actor_id=actor.user_id if actor and actor.is_authenticated else None,
        actor_label=label or _actor_label(actor),
        text=text,
        data=data,
    )


def _rollup_area_ids(area: Area) -> list[int]:
    """The areas whose counts a demand on `area` adds to: every one above it from the estate up (read
    off the materialised path, no query: a building's own id is the only one below the estate)."""
    ids = area.ancestor_ids()
    return ids[:-1] if area.kind == AreaKind.BUILDING else ids


def _bump(demand: Demand, **deltas: int) -> None:
    """Adds to the rollup counts of the day the demand came in, in every area above it."""
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    day = timezone.localdate(demand.created_at)
    area_ids = _rollup_area_ids(demand.area)
    DemandRollup.objects.bulk_create(
        [DemandRollup(area_id=a, day=day) for a in area_ids], ignore_conflicts=True
    )
    DemandRollup.objects.filter(area_id__in=sorted(area_ids), day=day).update(
        **{name: F(name) + delta for name, delta in deltas.items()}
    )


def _add_photos(demand: Demand, photos, stage: str) -> None:
    for photo in photos:
        digest = photo_digest(photo)
        if not DemandPhoto.objects.filter(demand=demand, digest=digest).exists():
            DemandPhoto.objects.create(demand=demand, image=photo, digest=digest, stage=stage)


def _check_photos(photos) -> None:
    if len(photos) > MAX_PHOTOS:
        raise _bad("photos", _("最多上传5张照片"), "too_many_photos")
    for photo in photos:
        check_photo(photo)


@transaction.atomic
def submit_demand(*, actor: Actor, data: DemandInput) -> Demand:
    """Records a demand from any channel and starts its clock (respond and resolve deadlines)."""
    description = _text(
        data.description,
        "description",
        limit=MAX_DESCRIPTION,
        empty=_("请填写诉求内容"),
        too_long=_("诉求内容不超过2000个字，请精简后再提交"),
    )
    if data.source not in DemandSource.values:
        raise _bad("source", _("诉求来源不正确"), "bad_source")
    area, household = _place(data)
    _may_enter_for(actor, area, data.source)
    category, suggestion = _category(data.category_code, description)
    name = (data.reporter_name or "").strip()
    if len(name) > 40:
        raise _bad("reporter_name", _("联系人姓名不超过40个字"), "name_too_long")
    phone = _contact_phone(data.reporter_phone)
    _check_photos(data.photos)
    places = _ancestors(area)
    now = timezone.now()
    demand = Demand(
        area=area,
        household=household,
        community_id=places.get(AreaKind.COMMUNITY),
        estate_id=places.get(AreaKind.ESTATE),
        description=description,
        category=category,
        suggested_category=suggestion,
        source=data.source,
        reporter_id=actor.user_id
        if data.source == DemandSource.RESIDENT and actor.is_authenticated
        else None,
        reporter_name=name,
        reporter_phone=phone,
        created_by_id=actor.user_id,
        member_id=actor.member_id if data.source in (DemandSource.POST, DemandSource.VISIT) else None,
    )
    _set_deadlines(demand, category, now)
    _save_new(demand)
    _add_photos(demand, data.photos, PhotoStage.REPORT)
    _event(demand, EventKind.SUBMITTED, actor, label=name if not actor.is_authenticated else "")
    _bump(demand, received=1)
    audit(actor=actor, action="demand.submit", target=demand, source=data.source)
    return demand


def _set_deadlines(demand: Demand, category: Category | None, start: datetime) -> None:
    respond, resolve = (category.respond_hours, category.resolve_hours) if category else (24, 24 * 7)
    demand.respond_by = start + timedelta(hours=respond)
    demand.resolve_by = start + timedelta(hours=resolve)


def _save_new(demand: Demand) -> None:
    """Saves a new demand, drawing another tracking code in the unlikely case the first is taken."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                demand.save()
            return
        except IntegrityError:
            if Demand.objects.filter(tracking_code=demand.tracking_code).exists():
                from huijia.demands.models import new_tracking_code

                demand.tracking_code = new_tracking_code()
                continue
            raise
    raise Conflict(_("系统繁忙，请稍后再提交"))


@transaction.atomic
def create_demand(
    *,
    actor: Actor,
    description: str,
    source: str,
    area: Area,
    household: Household | None = None,
    member_id: int | None = None,
    visit_id: int | None = None,
) -> Demand:
    """A demand raised by another capability's service (a visit), which has already checked the place."""
    demand = submit_demand(
        actor=actor,
        data=DemandInput(
            description=description,
            source=source,
            area_id=area.pk,
            household_id=household.pk if household else None,
        ),
    )
    if member_id is not None or visit_id is not None:
        Demand.objects.filter(pk=demand.pk).update(member_id=member_id, visit_id=visit_id)
        demand.member_id, demand.visit_id = member_id, visit_id
    return demand


@transaction.atomic
def follow_demand(
    *,
    actor: Actor,
    demand_id: int,
    reporter_name: str = "",
    reporter_phone: str = "",
    description: str = "",
    area_id: int | None = None,
) -> Demand:
    """A resident who finds their problem already reported follows that demand instead of filing another.

    They get their own record (and tracking code) filed under the open demand: they hear when it is
    resolved and rate it themselves, and the original's handlers see one more resident waiting.
    Anyone may follow, so the follower's record never copies the original's words (they may name a
    household); `area_id`, the place the resident reports from (the QR form's building), limits
    following to the demands of that estate, which are the ones the form offers.
    """
    original = (
        Demand.objects.select_for_update(of=("self",))
        .select_related("area", "category")
        .filter(pk=demand_id)
        .first()
    )
    if (
        original is None
        or original.status not in OPEN_STATUSES
        or original.merged_into_id
        or (area_id is not None and not _near(area_id, original))
    ):
        raise NotFound(_("这条诉求已经结束或不存在，请直接提交您的诉求"))
    category = original.category.name if original.category else _("其他")
    follower = submit_demand(
        actor=actor,
        data=DemandInput(
            description=(description or "").strip()
            or _("同一问题已有人反映（%(c)s），跟进办理") % {"c": category},
            source=DemandSource.RESIDENT,
            area_id=original.area_id,
            category_code=original.category.code if original.category else "",
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
        ),
    )
    now = timezone.now()
    counts = _respond(follower, now)
    follower.status = DemandStatus.MERGED
    follower.merged_into = original
    _save(follower, "status", "merged_into", "responded_at")
    _event(
        follower,
        EventKind.MERGED,
        None,
        text=_("同一问题已有人反映，跟进办理"),
        label=_("系统"),
        into=original.pk,
    )
    _bump(follower, **counts)
    _event(
        original,
        EventKind.NOTE,
        None,
        text=_("又有一位居民反映了同一问题"),
        label=_("系统"),
        follower=follower.pk,
    )
    _save(original, "status")
    return follower


def _near(area_id: int, original: Demand) -> bool:
    """Whether a place is in the estate of the demand (its community when it has no estate)."""
    area = Area.objects.filter(pk=area_id).first()
    if area is None:
        return False
    places = _ancestors(area)
    if original.estate_id:
        return places.get(AreaKind.ESTATE) == original.estate_id
    return places.get(AreaKind.COMMUNITY) == original.community_id


# --- the loop ------------------------------------------------------------------------------------------


def _locked(actor: Actor, demand_id: int, perm: Perm, version: int | None = None) -> Demand:
    """The demand, locked for this transaction, if the actor may act on it with `perm`."""
    qs = restrict(Demand.objects.all(), actor, perm).select_for_update(of=("self",))
    demand = qs.select_related("area", "category").filter(pk=demand_id).first()
    if demand is None:
        if restrict(Demand.objects.all(), actor, Perm.VIEW).filter(pk=demand_id).exists():
            raise Forbidden(_("您没有处理这条诉求的权限"))
        raise NotFound()
    _check_version(demand, version)
    return demand


def _check_version(demand: Demand, version: int | None) -> None:
    if version is not None and demand.version != version:
        raise Conflict(_("这条诉求刚刚已被他人处理，请刷新后查看最新状态"), code="stale")


def _require(demand: Demand, *statuses: str, message: str) -> None:
    if demand.status not in statuses:
        raise Conflict(message, code="bad_state")


def _save(demand: Demand, *fields: str) -> None:
    demand.version += 1
    demand.save(update_fields=[*fields, "version", "overdue", "reminded_at", "updated_at"])


def _link(demand: Demand) -> str:
    return reverse("demands:track", args=[demand.tracking_code])


def _tell_reporter(demand: Demand, text: str) -> None:
    notify(user_id=demand.reporter_id, text=text, url=_link(demand))


def _respond(demand: Demand, now: datetime) -> dict[str, int]:
    """The rollup counts of the demand's first response (accept or decline)."""
    demand.responded_at = now
    demand.overdue, demand.reminded_at = False, None  # from now on the resolve deadline is watched
    seconds = int((now - demand.created_at).total_seconds())
    in_time = demand.respond_by is None or now <= demand.respond_by
    return {"responded": 1, "responded_in_time": int(in_time), "respond_seconds": seconds}


@transaction.atomic
def accept_demand(
    *, actor: Actor, demand_id: int, version: int | None = None, category_code: str = "", note: str = ""
) -> Demand:
    demand = _locked(actor, demand_id, Perm.MANAGE_DEMANDS, version)
    _require(demand, DemandStatus.SUBMITTED, message=_("这条诉求已经受理过了"))
    if category_code:
        _recategorise(actor, demand, category_code)
    now = timezone.now()
    counts = _respond(demand, now)
    demand.status = DemandStatus.ACCEPTED
    _save(demand, "status", "responded_at", "category", "respond_by", "resolve_by")
    classify.learn(demand.description, demand.category_id)
    _event(demand, EventKind.ACCEPTED, actor, text=(note or "").strip()[:MAX_REASON])
    _bump(demand, **counts)
    audit(actor=actor, action="demand.accept", target=demand)
    _tell_reporter(demand, _("您反映的诉求已受理（查询码 %(code)s）。") % {"code": demand.tracking_code})
    return demand


@transaction.atomic
def decline_demand(*, actor: Actor, demand_id: int, reason: str, version: int | None = None) -> Demand:
    reason = _text(
        reason, "reason", limit=MAX_REASON, empty=_("请写明不予受理的原因"), too_long=_("原因不超过200个字")
    )
    demand = _locked(actor, demand_id, Perm.MANAGE_DEMANDS, version)
    _require(demand, DemandStatus.SUBMITTED, message=_("只有待受理的诉求可以不予受理"))
    counts = _respond(demand, timezone.now())
    demand.status = DemandStatus.DECLINED
    demand.decline_reason = reason
    _save(demand, "status", "responded_at", "decline_reason")
    _event(demand, EventKind.DECLINED, actor, text=reason)
    _bump(demand, declined=1, **counts)
    audit(actor=actor, action="demand.decline", target=demand)
    _tell_reporter(demand, _("您反映的诉求未予受理：%(reason)s") % {"reason": reason})
    return demand


@dataclass(frozen=True)
class Assignee:
    kind: str
    area: Area | None = None
    team: Team | None = None
    member: Member | None = None
    service_team: ServiceTeam | None = None

    @property
    def label(self) -> str:
        if self.kind == AssigneeKind.BRANCH:
            return _("%(estate)s党支部") % {"estate": self.area.name}
        if self.kind == AssigneeKind.TEAM:
            return self.team.name
        if self.kind == AssigneeKind.SERVICE_TEAM:
            return self.service_team.name
        return self.member.name

    def user_ids(self) -> list[int]:
        """Who to tell: the member, the team's or service team's members, or the estate's branch
        secretaries."""
        if self.kind == AssigneeKind.MEMBER:
            return [self.member.user_id] if self.member.user_id else []
        if self.kind == AssigneeKind.TEAM:
            rows = TeamMembership.objects.filter(team=self.team, ended_at=None, member__user__isnull=False)
            return list(rows.values_list("member__user_id", flat=True))
        if self.kind == AssigneeKind.SERVICE_TEAM:
            rows = ServiceTeamMember.objects.filter(
                team=self.service_team, ended_at=None, member__user__isnull=False
            )
            return list(rows.values_list("member__user_id", flat=True))
        grants = RoleGrant.objects.filter(role=Role.ESTATE, area=self.area)
        return list(grants.values_list("user_id", flat=True))


def _assignee(demand: Demand, kind: str, target_id: int | None) -> Assignee:
    if kind not in AssigneeKind.values:
        raise _bad("kind", _("请选择承办方：小区党支部、包干小组、服务队或党员"), "bad_assignee")
    if target_id is None:
        raise _bad("target_id", _("请选择承办方"), "assignee_missing")
    community = demand.community_id
    if kind == AssigneeKind.BRANCH:
        area = Area.objects.filter(pk=target_id, kind=AreaKind.ESTATE, parent_id=community).first()
        if area is None:
            raise _bad("target_id", _("所选小区不在本社区"), "assignee_elsewhere")
        return Assignee(kind, area=area)
    if kind == AssigneeKind.TEAM:
        team = Team.objects.filter(pk=target_id, community_id=community, ended_at=None).first()
        if team is None:
            raise _bad("target_id", _("所选包干小组不在本社区，或已解散"), "assignee_elsewhere")
        return Assignee(kind, team=team)
    if kind == AssigneeKind.SERVICE_TEAM:
        return Assignee(kind, service_team=_service_team(community, target_id))
    member = Member.objects.filter(
        pk=target_id,
        community_id=community,
        registrations__community_id=community,
        registrations__status=RegistrationStatus.APPROVED,
    ).first()
    if member is None:
        raise _bad("target_id", _("所选党员没有在本社区报到"), "assignee_elsewhere")
    return Assignee(kind, member=member)


def _service_team(community_id: int | None, team_id: int) -> ServiceTeam:
    """An active service team of the demand's community that has someone to do the work."""
    team = ServiceTeam.objects.filter(pk=team_id, community_id=community_id, ended_at=None).first()
    if team is None:
        raise _bad("target_id", _("所选服务队不在本社区，或已解散"), "assignee_elsewhere")
    if not ServiceTeamMember.objects.filter(team=team, ended_at=None).exists():
        raise _bad("target_id", _("所选服务队还没有队员，请先添加队员"), "service_team_empty")
    return team


@transaction.atomic
def assign_demand(
    *,
    actor: Actor,
    demand_id: int,
    kind: str,
    target_id: int | None,
    version: int | None = None,
    reassign: bool = False,
    note: str = "",
) -> Demand:
    """Sends the demand to the estate branch, a zone team, a service team or a member (a submitted
    demand is accepted too)."""
    demand = _locked(actor, demand_id, Perm.MANAGE_DEMANDS)
    if demand.status in (DemandStatus.ASSIGNED, DemandStatus.IN_PROGRESS) and not reassign:
        # checked before the version: "already sent to X" says more than "someone changed it"
        raise Conflict(
            _("这条诉求刚刚已派给%(who)s，如需改派请刷新后使用“改派”") % {"who": _assignee_label(demand)},
            code="already_assigned",
        )
    _check_version(demand, version)
    allowed = (DemandStatus.SUBMITTED, DemandStatus.ACCEPTED)
    if reassign:
        allowed += (DemandStatus.ASSIGNED, DemandStatus.IN_PROGRESS)
    _require(demand, *allowed, message=_("这条诉求当前的状态不能派单"))
    assignee = _assignee(demand, kind, target_id)
    now = timezone.now()
    counts = {}
    if demand.status == DemandStatus.SUBMITTED:
        counts = _respond(demand, now)
        classify.learn(demand.description, demand.category_id)
        _event(demand, EventKind.ACCEPTED, actor)
    demand.status = DemandStatus.ASSIGNED
    demand.assignee_kind = kind
    demand.assigned_area = assignee.area
    demand.assigned_team = assignee.team
    demand.assigned_member = assignee.member
    demand.assigned_service_team = assignee.service_team
    demand.assigned_at = now
    _save(
        demand,
        *("status", "responded_at", "assignee_kind", "assigned_area", "assigned_team", "assigned_member"),
        *("assigned_service_team", "assigned_at"),
    )
    _event(
        demand,
        EventKind.ASSIGNED,
        actor,
        text=(note or "").strip()[:MAX_REASON],
        to=assignee.label,
        assignee_kind=kind,
    )
    _bump(demand, **counts)
    audit(
        actor=actor,
        action="demand.reassign" if reassign else "demand.assign",
        target=demand,
        to=assignee.label,
    )
    url = reverse("demands:mine_detail", args=[demand.pk])
    for user_id in assignee.user_ids():
        notify(user_id=user_id, text=_("新派单：%(text)s") % {"text": demand.description[:40]}, url=url)
    return demand


def _assignee_label(demand: Demand) -> str:
    if demand.assignee_kind == AssigneeKind.BRANCH and demand.assigned_area_id:
        return Area.objects.get(pk=demand.assigned_area_id).name + _("党支部")
    if demand.assignee_kind == AssigneeKind.TEAM and demand.assigned_team_id:
        return Team.objects.get(pk=demand.assigned_team_id).name
    if demand.assignee_kind == AssigneeKind.SERVICE_TEAM and demand.assigned_service_team_id:
        return ServiceTeam.objects.get(pk=demand.assigned_service_team_id).name
    if demand.assignee_kind == AssigneeKind.MEMBER and demand.assigned_member_id:
        return Member.objects.get(pk=demand.assigned_member_id).name
    return _("他人")


def is_assignee(actor: Actor, demand: Demand) -> bool:
    """Whether the actor is the one the demand is assigned to (themself, their zone team or service
    team, their estate)."""
    if demand.assignee_kind == AssigneeKind.MEMBER:
        return actor.member_id is not None and actor.member_id == demand.assigned_member_id
    if demand.assignee_kind == AssigneeKind.TEAM:
        return (
            actor.member_id is not None
            and TeamMembership.objects.filter(
                team_id=demand.assigned_team_id, member_id=actor.member_id, ended_at=None
            ).exists()
        )
    if demand.assignee_kind == AssigneeKind.SERVICE_TEAM:
        return (
            actor.member_id is not None
            and ServiceTeamMember.objects.filter(
                team_id=demand.assigned_service_team_id, member_id=actor.member_id, ended_at=None
            ).exists()
        )
    if demand.assignee_kind == AssigneeKind.BRANCH and demand.assigned_area_id:
        path = Area.objects.filter(pk=demand.assigned_area_id).values_list("path", flat=True).first() or ""
        return any(path.startswith(p) for p in actor.paths(Perm.HANDLE_DEMANDS))
    return False


def may_handle(actor: Actor, demand: Demand) -> bool:
    """Whether the actor handles this demand: staff managing its area, or its assignee."""
    return _manages(actor, demand) or is_assignee(actor, demand)


def _manages(actor: Actor, demand: Demand) -> bool:
    return actor.is_superuser or any(demand.area.path.startswith(p) for p in actor.paths(Perm.MANAGE_DEMANDS))


def _handler(actor: Actor, demand_id: int, version: int | None) -> Demand:
    """The demand, locked, if the actor is its assignee or manages it."""
    demand = _locked(actor, demand_id, Perm.VIEW, version)
    if not (_manages(actor, demand) or is_assignee(actor, demand)):
        raise Forbidden(_("这条诉求没有派给您"))
    return demand


@transaction.atomic
def start_demand(*, actor: Actor, demand_id: int, version: int | None = None) -> Demand:
    """The assignee starts work (staff resolve directly, or reassign; they do not start for someone)."""
    demand = _locked(actor, demand_id, Perm.VIEW, version)
    if not is_assignee(actor, demand):
        raise Forbidden(_("这条诉求没有派给您"))
    _require(demand, DemandStatus.ASSIGNED, message=_("只有已派单的诉求可以开始办理"))
    demand.status = DemandStatus.IN_PROGRESS
    _save(demand, "status")
    _event(demand, EventKind.STARTED, actor)
    audit(actor=actor, action="demand.start", target=demand)
    return demand


def _resolution_counts(demand: Demand, now: datetime) -> dict[str, int]:
    seconds = int((now - demand.created_at).total_seconds())
    in_time = demand.resolve_by is None or now <= demand.resolve_by
    return {"resolved": 1, "resolved_in_time": int(in_time), "resolve_seconds": seconds}


def _close_out(demand: Demand, actor: Actor, resolution: str, now: datetime, label: str = "") -> None:
    """Marks the demand and the demands merged into it resolved; tells every reporter."""
    counts = {}
    if demand.responded_at is None:
        counts = _respond(demand, now)
    demand.status = DemandStatus.RESOLVED
    demand.resolution = resolution
    demand.resolved_at = now
    demand.work_unit = None
    _save(demand, "status", "resolution", "resolved_at", "responded_at", "work_unit")
    _event(demand, EventKind.RESOLVED, actor, text=resolution, label=label)
    _bump(demand, **counts, **_resolution_counts(demand, now))
    text = _("您反映的诉求已办结：%(what)s。请确认并评价。") % {"what": resolution[:60]}
    _tell_reporter(demand, text)
    merged = list(
        Demand.objects.select_for_update(of=("self",)).select_related("area").filter(merged_into=demand)
    )
    for other in merged:
        if other.status != DemandStatus.MERGED:
            continue
        other.status = DemandStatus.RESOLVED
        other.resolution = resolution
        other.resolved_at = now
        _save(other, "status", "resolution", "resolved_at")
        _event(other, EventKind.RESOLVED, actor, text=resolution, label=label, by_demand=demand.pk)
        _bump(other, **_resolution_counts(other, now))
        _tell_reporter(other, text)


@transaction.atomic
def resolve_demand(
    *, actor: Actor, demand_id: int, resolution: str, photos=(), version: int | None = None
) -> Demand:
    resolution = _text(
        resolution,
        "resolution",
        limit=MAX_RESOLUTION,
        empty=_("请写明办理结果：做了什么、解决了没有"),
        too_long=_("办理结果不超过2000个字"),
    )
    _check_photos(photos)
    demand = _handler(actor, demand_id, version)
    startable = (DemandStatus.ASSIGNED, DemandStatus.IN_PROGRESS)
    if _manages(actor, demand):
        startable += (DemandStatus.ACCEPTED, DemandStatus.ESCALATED)
    _require(demand, *startable, message=_("这条诉求当前的状态不能办结"))
    if demand.status == DemandStatus.ESCALATED:
        Escalation.objects.filter(demand=demand, status__in=["sent", "accepted"]).update(
            status=EscalationStatus.DECLINED, answer=_("社区已自行办结"), answered_at=timezone.now()
        )
    _add_photos(demand, photos, PhotoStage.RESOLUTION)
    _close_out(demand, actor, resolution, timezone.now())
    audit(actor=actor, action="demand.resolve", target=demand)
    return demand


def reveal_reporter_phone(*, actor: Actor, demand_id: int) -> str:
    """The reporter's phone number in full, for whoever handles the demand and needs to call back.

    Staff managing the demand and its assignee (the member, a member of the team, the estate's branch)
    may see it, while the demand is theirs to handle; every view is written to the audit log (PIPL).
    """
    demand = (
        restrict(Demand.objects.all(), actor, Perm.VIEW).select_related("area").filter(pk=demand_id).first()
    )
    if demand is None:
        raise NotFound()
    if not may_handle(actor, demand):
        raise Forbidden(_("只有办理这条诉求的人可以查看完整电话"))
    if not demand.reporter_phone:
        raise InvalidInput(_("反映人没有留电话"), code="no_phone")
    audit(actor=actor, action="pii.reveal", target=demand, field="reporter_phone")
    return demand.reporter_phone


# --- the resident's side: confirm and rate, or reopen ----------------------------------------------


def _reporter_locked(actor: Actor | None, demand_id: int | None, tracking_code: str | None) -> Demand:
    qs = Demand.objects.select_for_update(of=("self",)).select_related("area")
    if tracking_code:
        demand = qs.filter(tracking_code=tracking_code.strip().upper()).first()
    elif actor is not None and actor.is_authenticated and demand_id is not None:
        demand = qs.filter(pk=demand_id, reporter_id=actor.user_id).first()
        if demand is None:
            visible = restrict(qs, actor, Perm.VIEW).filter(pk=demand_id).first()
            if visible is not None and _manages(actor, visible):
                return visible  # staff recording a call-back (回访)
            if visible is not None:
                raise Forbidden(_("只有反映这条诉求的居民可以评价"))
    else:
        demand = None
    if demand is None:
        raise NotFound()
    return demand


@transaction.atomic
def rate_demand(
    *,
    actor: Actor | None,
    rating: str,
    comment: str = "",
    demand_id: int | None = None,
    tracking_code: str | None = None,
    version: int | None = None,
) -> Demand:
    """The resident confirms a resolved demand and rates it, once (staff may record a call-back)."""
    if rating not in Rating.values:
        raise _bad("rating", _("请选择满意、基本满意或不满意"), "bad_rating")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise _bad("comment", _("评价意见不超过500个字"), "comment_too_long")
    if rating == Rating.UNSATISFIED and not comment:
        raise _bad("comment", _("不满意的话，请告诉我们哪里没有解决好"), "comment_empty")
    demand = _reporter_locked(actor, demand_id, tracking_code)
    if demand.rating:
        raise Conflict(_("这条诉求已经评价过了"), code="already_rated")
    if version is not None and demand.version != version:
        raise Conflict(_("这条诉求刚刚已被他人处理，请刷新后查看最新状态"), code="stale")
    _require(demand, DemandStatus.RESOLVED, message=_("诉求办结后才能评价"))
    by_staff = bool(
        actor and actor.is_authenticated and demand.reporter_id != actor.user_id and not tracking_code
    )
    now = timezone.now()
    demand.status = DemandStatus.CLOSED
    demand.rating = rating
    demand.rating_comment = comment
    demand.rated_by_staff = by_staff
    demand.closed_at = now
    _save(demand, "status", "rating", "rating_comment", "rated_by_staff", "closed_at")
    label = _("回访：%(who)s") % {"who": _actor_label(actor)} if by_staff else _("居民")
    _event(demand, EventKind.CONFIRMED, actor, text=comment, label=label, rating=rating)
    _bump(demand, rated=1, satisfied=int(rating in (Rating.SATISFIED, Rating.BASIC)))
    audit(actor=actor, action="demand.rate", target=demand, rating=rating, by_staff=by_staff)
    return demand


@transaction.atomic
def reopen_demand(
    *, actor: Actor | None, reason: str, demand_id: int | None = None, tracking_code: str | None = None
) -> Demand:
    """A resolved demand that was not in fact solved goes back to whoever handled it."""
    reason = _text(
        reason, "reason", limit=MAX_COMMENT, empty=_("请说明哪里还没有解决"), too_long=_("说明不超过500个字")
    )
    demand = _reporter_locked(actor, demand_id, tracking_code)
    _require(demand, DemandStatus.RESOLVED, message=_("只有已办结、还没评价的诉求可以重新办理"))
    seconds = int((demand.resolved_at - demand.created_at).total_seconds()) if demand.resolved_at else 0
    in_time = demand.resolve_by is None or (demand.resolved_at and demand.resolved_at <= demand.resolve_by)
    demand.status = DemandStatus.IN_PROGRESS if demand.assignee_kind else DemandStatus.ACCEPTED
    demand.resolved_at = None
    demand.reopen_count += 1
    _save(demand, "status", "resolved_at", "reopen_count")
    _event(demand, EventKind.REOPENED, actor, text=reason, label=_("居民") if tracking_code else "")
    _bump(demand, resolved=-1, resolved_in_time=-int(bool(in_time)), resolve_seconds=-seconds)
    audit(actor=actor, action="demand.reopen", target=demand)
    if demand.assignee_kind:
        assignee = Assignee(
            demand.assignee_kind,
            area=demand.assigned_area,
            team=demand.assigned_team,
            member=demand.assigned_member,
            service_team=demand.assigned_service_team,
        )
        url = reverse("demands:mine_detail", args=[demand.pk])
        for user_id in assignee.user_ids():
            notify(
                user_id=user_id,
                text=_("居民认为诉求没有解决，请重新办理：%(r)s") % {"r": reason[:40]},
                url=url,
            )
    return demand


# --- category, merge --------------------------------------------------------------------------------


def _recategorise(actor: Actor, demand: Demand, code: str) -> bool:
    category = Category.objects.filter(code=code, active=True).first()
    if category is None:
        raise _bad("category", _("没有这个诉求类别，请从列表中选择"), "unknown_category")
    if category.pk == demand.category_id:
        return False
    old = demand.category
    _event(
        demand,
        EventKind.RECATEGORISED,
        actor,
        text=f"{old.name if old else _('未分类')} → {category.name}",
        old=old.code if old else "",
        new=category.code,
    )
    if demand.status != DemandStatus.SUBMITTED:  # learned at acceptance: move what was learned
        classify.learn(demand.description, demand.category_id, -1)
        classify.learn(demand.description, category.pk)
    demand.category = category
    _set_deadlines(demand, category, demand.created_at)
    deadline = _deadline(demand)
    if deadline is not None and deadline > timezone.now():
        demand.overdue, demand.reminded_at = False, None  # the new deadline is watched afresh
    return True


@transaction.atomic
def recategorise_demand(
    *, actor: Actor, demand_id: int, category_code: str, version: int | None = None
) -> Demand:
    demand = _locked(actor, demand_id, Perm.MANAGE_DEMANDS, version)
    if demand.status not in OPEN_STATUSES:
        raise Conflict(_("已结束的诉求不能再调整类别"), code="bad_state")
    if _recategorise(actor, demand, category_code):
        _save(demand, "category", "respond_by", "resolve_by")
        audit(actor=actor, action="demand.recategorise", target=demand, category=category_code)
    return demand


@transaction.atomic
def merge_demands(*, actor: Actor, into_id: int, demand_ids: list[int], version: int | None = None) -> Demand:
    """Files duplicates under one demand: they follow it, and their residents hear when it is resolved."""
    ids = sorted({int(i) for i in demand_ids} - {into_id})
    if not ids:
        raise _bad("demand_ids", _("请选择要合并的重复诉求"), "nothing_to_merge")
    main = _locked(actor, into_id, Perm.MANAGE_DEMANDS, version)
    if main.status not in OPEN_STATUSES:
        raise Conflict(_("只能合并到尚未办结的诉求"), code="bad_state")
    others = list(
        restrict(Demand.objects.all(), actor, Perm.MANAGE_DEMANDS)
        .select_for_update(of=("self",))
        .select_related("area")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    if len(others) != len(ids):
        raise NotFound()
    now = timezone.now()
    for other in others:
        if other.status not in (DemandStatus.SUBMITTED, DemandStatus.ACCEPTED):
            raise Conflict(
                _("诉求 %(code)s 已在办理，不能合并") % {"code": other.tracking_code}, code="bad_state"
            )
        if other.community_id != main.community_id:
            raise _bad("demand_ids", _("只能合并同一社区的诉求"), "merge_elsewhere")
        counts = _respond(other, now) if other.responded_at is None else {}
        other.status = DemandStatus.MERGED
        other.merged_into = main
        _save(other, "status", "merged_into", "responded_at")
        # residents who followed the duplicate now follow the main demand: they hear when it is resolved
        Demand.objects.filter(merged_into=other, status=DemandStatus.MERGED).update(merged_into=main)
        _event(
            other,
            EventKind.MERGED,
            actor,
            text=_("与 %(code)s 是同一问题，合并办理") % {"code": main.tracking_code},
            into=main.pk,
        )
        _bump(other, **counts)
        _tell_reporter(other, _("您反映的问题已有人反映过，将合并办理，办结时会通知您。"))
    _event(main, EventKind.MERGED, actor, text=_("合并了 %(n)d 条相同诉求") % {"n": len(others)}, merged=ids)
    _save(main, "status")
    audit(actor=actor, action="demand.merge", target=main, merged=ids)
    return main


@transaction.atomic
def add_note(*, actor: Actor, demand_id: int, text: str) -> DemandEvent:
    """A note on the timeline (a call made, a visit planned) by whoever handles the demand."""
    text = _text(text, "text", limit=MAX_COMMENT, empty=_("请填写备注内容"), too_long=_("备注不超过500个字"))
    demand = _handler(actor, demand_id, None)
    event = _event(demand, EventKind.NOTE, actor, text=text)
    audit(actor=actor, action="demand.note", target=demand)
    return event


# --- escalation (吹哨) ----------------------------------------------------------------------------------


@transaction.atomic
def escalate_demand(
    *,
    actor: Actor,
    demand_id: int,
    target: str,
    reason: str,
    work_unit_id: int | None = None,
    version: int | None = None,
) -> Escalation:
    """The community cannot solve it alone: send it to a work unit actively paired with the demand's
    community (结对共建), or up to the street."""
    reason = _text(
        reason, "reason", limit=MAX_COMMENT, empty=_("请说明为什么需要吹哨"), too_long=_("原因不超过500个字")
    )
    demand = _locked(actor, demand_id, Perm.MANAGE_DEMANDS, version)
    _require(
        demand,
        DemandStatus.SUBMITTED,
        DemandStatus.ACCEPTED,
        DemandStatus.ASSIGNED,
        DemandStatus.IN_PROGRESS,
        message=_("这条诉求当前的状态不能吹哨"),
    )
    unit = street = None
    if target == EscalationTarget.WORK_UNIT:
        unit = WorkUnit.objects.filter(pk=work_unit_id).first() if work_unit_id else None
        if unit is None:
            raise _bad("work_unit_id", _("请选择接哨的单位"), "unknown_work_unit")
        if not pairing_selectors.is_paired(work_unit_id=unit.pk, community_id=demand.community_id):
            message = _("%(unit)s没有与本社区结对，只能向结对单位吹哨，或向街道吹哨") % {"unit": unit.name}
            raise _bad("work_unit_id", message, "unit_not_paired")
        label = unit.name
    elif target == EscalationTarget.STREET:
        street_id = _ancestors(demand.area).get(AreaKind.STREET)
        street = Area.objects.filter(pk=street_id).first()
        if street is None:
            raise _bad("target", _("这条诉求所在的社区没有上级街道"), "no_street")
        label = street.name
    else:
        raise _bad("target", _("请选择吹哨对象：结对单位或街道"), "bad_target")
    counts = _respond(demand, timezone.now()) if demand.responded_at is None else {}
    escalation = Escalation.objects.create(
        demand=demand, target=target, work_unit=unit, street=street, reason=reason, sent_by_id=actor.user_id
    )
    demand.status = DemandStatus.ESCALATED
    demand.work_unit = unit
    _save(demand, "status", "work_unit", "responded_at")
    _event(demand, EventKind.ESCALATED, actor, text=reason, to=label, escalation=escalation.pk)
    _bump(demand, **counts)
    audit(actor=actor, action="demand.escalate", target=demand, to=label)
    if unit is not None:
        receivers = RoleGrant.objects.filter(role=Role.WORK_UNIT, work_unit=unit)
    else:
        receivers = RoleGrant.objects.filter(role=Role.STREET, area=street)
    url = reverse("demands:console_detail", args=[demand.pk])
    for user_id in receivers.values_list("user_id", flat=True):
        notify(user_id=user_id, text=_("社区吹哨：%(text)s") % {"text": demand.description[:40]}, url=url)
    return escalation


def _escalation_locked(actor: Actor, escalation_id: int) -> Escalation:
    escalation = (
        restrict(Escalation.objects.all(), actor, Perm.RECEIVE_ESCALATIONS)
        .select_for_update(of=("self",))
        .select_related("demand", "demand__area", "work_unit", "street")
        .filter(pk=escalation_id)
        .first()
    )
    if escalation is None:
        raise NotFound()
    return escalation


def _demand_of(escalation: Escalation) -> Demand:
    return Demand.objects.select_for_update(of=("self",)).select_related("area").get(pk=escalation.demand_id)


def _receiver_label(actor: Actor, escalation: Escalation) -> str:
    where = escalation.work_unit.name if escalation.work_unit_id else escalation.street.name
    return f"{where} {_actor_label(actor)}"


@transaction.atomic
def answer_escalation(*, actor: Actor, escalation_id: int, accept: bool, answer: str = "") -> Escalation:
    """The receiving unit or street takes the demand on (接哨), or sends it back with a reason."""
    escalation = _escalation_locked(actor, escalation_id)
    if escalation.status != EscalationStatus.SENT:
        raise Conflict(_("这次吹哨已经答复过了"), code="bad_state")
    demand = _demand_of(escalation)
    answer = (answer or "").strip()
    if not accept and not answer:
        raise _bad("answer", _("退回时请说明原因"), "answer_empty")
    if len(answer) > MAX_COMMENT:
        raise _bad("answer", _("答复不超过500个字"), "answer_too_long")
    escalation.status = EscalationStatus.ACCEPTED if accept else EscalationStatus.DECLINED
    escalation.answer = answer
    escalation.answered_by_id = actor.user_id
    escalation.answered_at = timezone.now()
    escalation.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    label = _receiver_label(actor, escalation)
    if accept:
        _event(demand, EventKind.ESCALATION_ACCEPTED, actor, text=answer, label=label)
        _save(demand, "status")
    else:
        demand.status = DemandStatus.ASSIGNED if demand.assignee_kind else DemandStatus.ACCEPTED
        demand.work_unit = None
        _save(demand, "status", "work_unit")
        _event(demand, EventKind.ESCALATION_DECLINED, actor, text=answer, label=label)
    audit(actor=actor, action="escalation.accept" if accept else "escalation.decline", target=escalation)
    if escalation.sent_by_id:
        verb = _("已接哨") if accept else _("退回了吹哨")
        notify(
            user_id=escalation.sent_by_id,
            text=f"{label}{verb}：{demand.description[:30]}",
            url=reverse("demands:console_detail", args=[demand.pk]),
        )
    return escalation


@transaction.atomic
def report_escalation(*, actor: Actor, escalation_id: int, answer: str) -> Escalation:
    """The receiving side reports back what it did: the demand is resolved and the resident asked to rate."""
    answer = _text(
        answer,
        "answer",
        limit=MAX_RESOLUTION,
        empty=_("请写明办理结果"),
        too_long=_("办理结果不超过2000个字"),
    )
    escalation = _escalation_locked(actor, escalation_id)
    if escalation.status not in (EscalationStatus.SENT, EscalationStatus.ACCEPTED):
        raise Conflict(_("这次吹哨已经结束"), code="bad_state")
    demand = _demand_of(escalation)
    now = timezone.now()
    escalation.status = EscalationStatus.REPORTED
    escalation.answer = answer
    escalation.answered_by_id = actor.user_id
    escalation.answered_at = now
    escalation.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    _close_out(demand, actor, answer, now, label=_receiver_label(actor, escalation))
    audit(actor=actor, action="escalation.report", target=escalation)
    return escalation


# --- deadlines (the background job) -------------------------------------------------------------------

REMIND_BEFORE = timedelta(hours=4)


def _staff_of(demand: Demand) -> list[int]:
    """Who hears about a late demand: the estate's branch secretaries, else the community's staff."""
    if demand.estate_id:
        ids = list(
            RoleGrant.objects.filter(role=Role.ESTATE, area_id=demand.estate_id).values_list(
                "user_id", flat=True
            )
        )
        if ids:
            return ids
    return list(
        RoleGrant.objects.filter(role=Role.COMMUNITY, area_id=demand.community_id).values_list(
            "user_id", flat=True
        )
    )


def _deadline(demand: Demand) -> datetime | None:
    """The deadline being watched: to respond while the demand waits for acceptance, then to resolve."""
    return demand.respond_by if demand.status == DemandStatus.SUBMITTED else demand.resolve_by


def _watched() -> tuple[QuerySet[Demand], QuerySet[Demand]]:
    """(open demands waiting to be accepted, open demands being handled), neither marked overdue yet."""
    unresponded = Demand.objects.filter(status=DemandStatus.SUBMITTED, overdue=False)
    handled = [s for s in OPEN_STATUSES if s != DemandStatus.SUBMITTED]
    return unresponded, Demand.objects.filter(status__in=handled, overdue=False)


def _watched_locked(pk: int, **still) -> Demand | None:
    demand = (
        Demand.objects.select_for_update(of=("self",)).select_related("area").filter(pk=pk, **still).first()
    )
    return demand if demand is not None and demand.status in OPEN_STATUSES else None


def _mark_overdue(pk: int, now: datetime) -> bool:
    with transaction.atomic():
        demand = _watched_locked(pk, overdue=False)
        deadline = _deadline(demand) if demand else None
        if deadline is None or deadline >= now:
            return False  # it moved on (accepted, recategorised) after it was listed
        demand.overdue = True
        demand.save(update_fields=["overdue", "updated_at"])
        which = _("受理") if demand.status == DemandStatus.SUBMITTED else _("办结")
        _event(demand, EventKind.OVERDUE, None, text=_("已超过%(w)s时限") % {"w": which}, label=_("系统"))
        url = reverse("demands:console_detail", args=[demand.pk])
        for user_id in _staff_of(demand):
            notify(
                user_id=user_id,
                text=_("诉求超时未%(w)s：%(t)s") % {"w": which, "t": demand.description[:30]},
                url=url,
            )
    return True


def _remind(pk: int, now: datetime) -> bool:
    with transaction.atomic():
        demand = _watched_locked(pk, overdue=False, reminded_at=None)
        deadline = _deadline(demand) if demand else None
        if deadline is None or not now <= deadline < now + REMIND_BEFORE:
            return False
        demand.reminded_at = now
        demand.save(update_fields=["reminded_at", "updated_at"])
        _event(demand, EventKind.REMINDED, None, text=_("即将到期，请抓紧办理"), label=_("系统"))
        if demand.assignee_kind and demand.status != DemandStatus.SUBMITTED:
            users = Assignee(
                demand.assignee_kind,
                area=demand.assigned_area,
                team=demand.assigned_team,
                member=demand.assigned_member,
                service_team=demand.assigned_service_team,
            ).user_ids()
        else:
            users = _staff_of(demand)
        url = reverse("demands:console_detail", args=[demand.pk])
        for user_id in users:
            notify(user_id=user_id, text=_("诉求即将到期：%(t)s") % {"t": demand.description[:30]}, url=url)
    return True


def check_deadlines(now: datetime | None = None) -> dict[str, int]:
    """Reminds before a deadline and marks demands overdue once it has passed (each once).

    The background job (demands.tasks) runs it every ten minutes. Each demand is its own short
    transaction, re-checked under its lock, so a demand accepted meanwhile is left alone.
    """
    now = now or timezone.now()
    unresponded, handled = _watched()
    late = [
        *unresponded.filter(respond_by__lt=now).values_list("pk", flat=True),
        *handled.filter(resolve_by__lt=now).values_list("pk", flat=True),
    ]
    overdue = sum(_mark_overdue(pk, now) for pk in late)
    unresponded, handled = unresponded.filter(reminded_at=None), handled.filter(reminded_at=None)
    soon = [
        *unresponded.filter(respond_by__gte=now, respond_by__lt=now + REMIND_BEFORE).values_list(
            "pk", flat=True
        ),
        *handled.filter(resolve_by__gte=now, resolve_by__lt=now + REMIND_BEFORE).values_list("pk", flat=True),
    ]
    reminded = sum(_remind(pk, now) for pk in soon)
    return {"reminded": reminded, "overdue": overdue}
