"""Residents' demands (诉求, 接诉即办) and the three lists (三单: resources, needs, services).

A demand comes from any channel (a resident's phone by the building QR code, a member's visit or
opinion-collection post, staff typing in a phoned-in or paper demand, a patrol, a meeting), sits on
the area tree (household, building, estate or community) and walks a closed loop:

    submitted → accepted (or declined with a reason) → assigned → in progress → resolved
              → closed (confirmed and rated by the resident), or reopened back to in progress

with escalation (吹哨) to the paired work unit or the street when the community cannot solve it.
Every step is a DemandEvent on the demand's timeline. Counts for the three rates (response,
resolution, satisfaction) are kept in DemandRollup rows per area and day as demands move, so that
the rates for a street or a city over a year never scan the demand table.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from huijia.accounts.roles import Perm
from huijia.accounts.scope import ScopedQuerySet, ScopeRule
from huijia.core.crypto import EncryptedTextField

# Tracking codes are read out over the phone and typed on a phone: no 0/O, 1/I/L.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_LENGTH = 8


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


class DemandSource(models.TextChoices):
    RESIDENT = "resident", "居民自报"
    VISIT = "visit", "入户走访"
    POST = "post", "社情民意收集岗"
    STAFF = "staff", "工作人员代录"
    PATROL = "patrol", "巡查"
    MEETING = "meeting", "议事会"
    OPEN311 = "open311", "外部平台"


class DemandStatus(models.TextChoices):
    SUBMITTED = "submitted", "待受理"
    ACCEPTED = "accepted", "已受理"
    DECLINED = "declined", "不予受理"
    ASSIGNED = "assigned", "已派单"
    IN_PROGRESS = "in_progress", "办理中"
    ESCALATED = "escalated", "已吹哨"
    RESOLVED = "resolved", "已办结"
    CLOSED = "closed", "已评价"
    MERGED = "merged", "已合并"


OPEN_STATUSES = frozenset(
    {
        DemandStatus.SUBMITTED,
        DemandStatus.ACCEPTED,
        DemandStatus.ASSIGNED,
        DemandStatus.IN_PROGRESS,
        DemandStatus.ESCALATED,
    }
)
DONE_STATUSES = frozenset({DemandStatus.RESOLVED, DemandStatus.CLOSED})


class AssigneeKind(models.TextChoices):
    BRANCH = "branch", "小区党支部"
    TEAM = "team", "包干小组"
    MEMBER = "member", "党员"
    SERVICE_TEAM = "service_team", "服务队"


class Rating(models.TextChoices):
    SATISFIED = "satisfied", "满意"
    BASIC = "basic", "基本满意"
    UNSATISFIED = "unsatisfied", "不满意"


class Category(models.Model):
    """A kind of demand (疏通下水道, 路灯维修, 邻里纠纷…), with its deadlines; also an Open311 service."""

    code = models.SlugField("编码", max_length=40, unique=True)
    name = models.CharField("类别", max_length=40)
    group = models.CharField("大类", max_length=40, blank=True)
    description = models.CharField("说明", max_length=200, blank=True)
    # seed words for the classifier ("下水道 堵 反水 疏通"): it learns further from staff corrections
    keywords = models.TextField("关键词", blank=True)
    respond_hours = models.PositiveIntegerField("响应时限（小时）", default=24)
    resolve_hours = models.PositiveIntegerField("办结时限（小时）", default=24 * 7)
    # members whose skills contain one of these words are proposed for it ("水电 维修"); skills are free text
    skill_words = models.CharField("对应专长", max_length=200, blank=True)
    active = models.BooleanField("启用", default=True)
    sort = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort", "pk"]

    def __str__(self) -> str:
        return self.name


class CategoryTerm(models.Model):
    """How often a word occurs in demands of a category: the classifier's memory (naive Bayes)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="terms")
    term = models.CharField(max_length=32)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "category"], name="category_term_once")]

    def __str__(self) -> str:
        return f"{self.term}→{self.category_id}"


class Demand(models.Model):
    """One demand or opinion of a resident, placed on the area tree (household, building or estate)."""

    tracking_code = models.CharField("查询码", max_length=12, default=new_tracking_code)
    area = models.ForeignKey("grid.Area", on_delete=models.PROTECT, related_name="demands")
    household = models.ForeignKey(
        "grid.Household", null=True, blank=True, on_delete=models.SET_NULL, related_name="demands"
    )
    # the community and estate of `area`, kept for lists, deadlines and the rollups
    community = models.ForeignKey(
        "grid.Area", null=True, on_delete=models.PROTECT, related_name="community_demands"
    )
    estate = models.ForeignKey(
        "grid.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="estate_demands"
    )
    description = models.TextField("内容")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="demands", verbose_name="类别"
    )
    # what the classifier proposed when the demand came in: a staff change is a correction it learns from
    suggested_category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField("来源", max_length=16, choices=DemandSource.choices)
    status = models.CharField(
        "状态", max_length=16, choices=DemandStatus.choices, default=DemandStatus.SUBMITTED
    )
    version = models.PositiveIntegerField(default=1)  # bumped by every step: stale forms get a conflict

    # who reported it: a signed-in resident, or a name and an optional phone number (encrypted)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_demands",
    )
    reporter_name = models.CharField("联系人", max_length=40, blank=True)
    reporter_phone = EncryptedTextField("联系电话", blank=True)
    created_by = models.ForeignKey(  # who typed it in (the resident, a member, staff)
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    member = models.ForeignKey(  # the member who collected it, if a member did
        "members.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="collected_demands"
    )
    visit_id = models.BigIntegerField(null=True, blank=True)  # visits.Visit: demands do not import visits

    # who handles it
    assignee_kind = models.CharField("承办方", max_length=16, choices=AssigneeKind.choices, blank=True)
    assigned_area = models.ForeignKey(  # the estate whose branch handles it
        "grid.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_demands"
    )
    assigned_team = models.ForeignKey(
        "members.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="demands"
    )
    assigned_member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_demands"
    )
    assigned_service_team = models.ForeignKey(  # a volunteer service team (服务队) of the community
        "volunteering.ServiceTeam",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_demands",
    )
    # the work unit an escalation went to, while it is open there: its organiser sees the demand
    work_unit = models.ForeignKey(
        "orgs.WorkUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="escalated_demands"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_demands"
    )

    decline_reason = models.CharField("不予受理原因", max_length=200, blank=True)
    resolution = models.TextField("办理结果", blank=True)
    rating = models.CharField("评价", max_length=16, choices=Rating.choices, blank=True)
    rating_comment = models.CharField("评价意见", max_length=500, blank=True)
    rated_by_staff = models.BooleanField(default=False)  # recorded by staff on a call-back (回访)
    reopen_count = models.PositiveSmallIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    respond_by = models.DateTimeField(null=True, blank=True)
    resolve_by = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)  # accepted or declined
    assigned_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue = models.BooleanField("超时", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(
        area="area__path",
        work_unit="work_unit_id",
        # a member sees what they collected and what is assigned to them or to a team they are in
        # (a zone team or a service team)
        member=lambda member_id: (
            Q(member_id=member_id)
            | Q(assigned_member_id=member_id)
            | Q(assigned_team_id__in=_team_ids(member_id))
            | Q(assigned_service_team_id__in=_service_team_ids(member_id))
        ),
        user="reporter_id",
        member_perms=frozenset({Perm.VIEW, Perm.HANDLE_DEMANDS}),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tracking_code"], name="demand_tracking_code_unique"),
        ]
        indexes = [
            models.Index(fields=["area", "status", "-created_at"], name="demand_area_status"),
            models.Index(fields=["community", "status", "-created_at"], name="demand_community_status"),
            # duplicate suggestions: open demands of one estate and category
            models.Index(fields=["estate", "category", "status"], name="demand_estate_category"),
            models.Index(fields=["assigned_member", "status"], name="demand_assigned_member"),
            models.Index(fields=["assigned_team", "status"], name="demand_assigned_team"),
            models.Index(fields=["reporter", "-created_at"], name="demand_reporter"),
            # Open311 lists the city's public-place demands by date (never those about one household)
            models.Index(
                fields=["-created_at"], condition=Q(household__isnull=True), name="demand_public_recent"
            ),
            models.Index(
                fields=["status", "respond_by"],
                condition=Q(overdue=False),
                name="demand_deadline_watch",
            ),
        ]

    def __str__(self) -> str:
        return self.description[:40]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def _community_of(member_id: int):
    from huijia.members.models import Member

    return Member.objects.filter(pk=member_id).values("community_id")


def _team_ids(member_id: int):
    from huijia.members.models import TeamMembership

    return TeamMembership.objects.filter(member_id=member_id, ended_at=None).values("team_id")


def _service_team_ids(member_id: int):
    """The volunteer service teams (服务队) the member is in now: their demands are the member's too."""
    from huijia.volunteering.models import service_team_ids

    return service_team_ids(member_id)


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", "提交"
    ACCEPTED = "accepted", "受理"
    DECLINED = "declined", "不予受理"
    ASSIGNED = "assigned", "派单"
    STARTED = "started", "开始办理"
    ESCALATED = "escalated", "吹哨"
    ESCALATION_ACCEPTED = "escalation_accepted", "接哨"
    ESCALATION_DECLINED = "escalation_declined", "退回吹哨"
    RESOLVED = "resolved", "办结"
    CONFIRMED = "confirmed", "确认评价"
    REOPENED = "reopened", "重新办理"
    MERGED = "merged", "合并"
    RECATEGORISED = "recategorised", "调整类别"
    NOTE = "note", "备注"
    REMINDED = "reminded", "催办提醒"
    OVERDUE = "overdue", "超时"


class DemandEvent(models.Model):
    """One step on a demand's timeline: what happened, who did it, when."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=80, blank=True)  # "居民" / "识字岭社区 张三": kept as it was
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["demand", "created_at"], name="demand_event_timeline")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class PhotoStage(models.TextChoices):
    REPORT = "report", "反映时"
    RESOLUTION = "resolution", "办结时"


class DemandPhoto(models.Model):
    """An optional photo of a demand, sent when reporting or resolving it. Never required."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(max_length=16, choices=PhotoStage.choices, default=PhotoStage.REPORT)
    image = models.ImageField(upload_to="demands/%Y/%m/")
    digest = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["demand", "digest"], condition=~Q(digest=""), name="demand_photo_once"
            )
        ]

    def __str__(self) -> str:
        return self.image.name


class EscalationTarget(models.TextChoices):
    WORK_UNIT = "work_unit", "结对单位"
    STREET = "street", "街道"


class EscalationStatus(models.TextChoices):
    SENT = "sent", "待接哨"
    ACCEPTED = "accepted", "已接哨"
    DECLINED = "declined", "已退回"
    REPORTED = "reported", "已反馈"


class Escalation(models.Model):
    """吹哨: the community asks the paired work unit or the street to take on a demand it cannot solve."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="escalations")
    target = models.CharField(max_length=16, choices=EscalationTarget.choices)
    work_unit = models.ForeignKey(
        "orgs.WorkUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    street = models.ForeignKey("grid.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("吹哨原因")
    status = models.CharField(max_length=16, choices=EscalationStatus.choices, default=EscalationStatus.SENT)
    answer = models.TextField("反馈", blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="street__path", work_unit="work_unit_id")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(target="work_unit", work_unit__isnull=False, street__isnull=True))
                | Q(target="street", street__isnull=False, work_unit__isnull=True),
                name="escalation_has_its_target",
            ),
            models.UniqueConstraint(
                fields=["demand"], condition=Q(status__in=["sent", "accepted"]), name="one_open_escalation"
            ),
        ]
        indexes = [models.Index(fields=["status", "-sent_at"], name="escalation_status")]

    def __str__(self) -> str:
        return f"{self.get_target_display()} {self.get_status_display()}"


class DemandRollup(models.Model):
    """Counts behind the three rates for one area (estate up to city) and one day of receipt.

    A demand counts on the day it came in, in every area above it (estate, community, street,
    district, city); each step of its loop adds to the counts of that day's row in the same
    transaction. The rates for any area and period are then sums over at most 366 rows.
    """

    area = models.ForeignKey("grid.Area", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    received = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)  # accepted or declined
    responded_in_time = models.PositiveIntegerField(default=0)
    declined = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    resolved_in_time = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)  # satisfied or basically satisfied
    respond_seconds = models.BigIntegerField(default=0)  # sum over responded
    resolve_seconds = models.BigIntegerField(default=0)  # sum over resolved

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area", "day"], name="demand_rollup_once")]

    def __str__(self) -> str:
        return f"{self.area_id} {self.day}"


# --- the three lists (三单) ------------------------------------------------------------------------


class NeedKind(models.TextChoices):
    COMMON = "common", "共性需求"
    INDIVIDUAL = "individual", "个性需求"


class NeedStatus(models.TextChoices):
    OPEN = "open", "待服务"
    SERVING = "serving", "服务中"
    MET = "met", "已满足"


class Need(models.Model):
    """需求清单: a need of residents, common (grouped from many demands) or of one household."""

    community = models.ForeignKey("grid.Area", on_delete=models.PROTECT, related_name="needs")
    area = models.ForeignKey("grid.Area", on_delete=models.PROTECT, related_name="+")  # where it is
    household = models.ForeignKey(
        "grid.Household", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=NeedKind.choices)
    title = models.CharField("需求", max_length=100)
    description = models.TextField("说明", blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="needs"
    )
    demands = models.ManyToManyField(Demand, blank=True, related_name="needs")
    status = models.CharField(max_length=16, choices=NeedStatus.choices, default=NeedStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="area__path")

    class Meta:
        indexes = [models.Index(fields=["community", "status"], name="need_community_status")]

    def __str__(self) -> str:
        return self.title


class ServiceItemStatus(models.TextChoices):
    PUBLISHED = "published", "待认领"
    CLAIMED = "claimed", "已认领"
    DONE = "done", "已完成"
    WITHDRAWN = "withdrawn", "已撤下"


class ServiceItem(models.Model):
    """服务清单: a service the community publishes to meet needs, claimed by members, teams or units."""

    community = models.ForeignKey("grid.Area", on_delete=models.PROTECT, related_name="service_items")
    title = models.CharField("服务项目", max_length=100)
    description = models.TextField("说明", blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    needs = models.ManyToManyField(Need, blank=True, related_name="service_items")
    places = models.PositiveSmallIntegerField("可认领数", default=1)
    status = models.CharField(
        max_length=16, choices=ServiceItemStatus.choices, default=ServiceItemStatus.PUBLISHED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    # members see the service list of the community they report to, to claim from it
    scope = ScopeRule(
        area="community__path", member=lambda member_id: Q(community_id__in=_community_of(member_id))
    )

    class Meta:
        indexes = [models.Index(fields=["community", "status"], name="service_item_community")]

    def __str__(self) -> str:
        return self.title


class ClaimantKind(models.TextChoices):
    MEMBER = "member", "党员"
    TEAM = "team", "包干小组"
    WORK_UNIT = "work_unit", "结对单位"


class ServiceClaim(models.Model):
    """A member, team or paired work unit taking on a service item (认领)."""

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="claims")
    kind = models.CharField(max_length=16, choices=ClaimantKind.choices)
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="service_claims"
    )
    team = models.ForeignKey(
        "members.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="service_claims"
    )
    work_unit = models.ForeignKey(
        "orgs.WorkUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="service_claims"
    )
    note = models.CharField(max_length=200, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="item__community__path", work_unit="work_unit_id", member="member_id")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="member", member__isnull=False, team__isnull=True, work_unit__isnull=True)
                | Q(kind="team", team__isnull=False, member__isnull=True, work_unit__isnull=True)
                | Q(kind="work_unit", work_unit__isnull=False, member__isnull=True, team__isnull=True),
                name="claim_has_one_claimant",
            ),
            models.UniqueConstraint(
                fields=["item", "member"],
                condition=Q(withdrawn_at__isnull=True, member__isnull=False),
                name="claim_once_per_member",
            ),
            models.UniqueConstraint(
                fields=["item", "team"],
                condition=Q(withdrawn_at__isnull=True, team__isnull=False),
                name="claim_once_per_team",
            ),
            models.UniqueConstraint(
                fields=["item", "work_unit"],
                condition=Q(withdrawn_at__isnull=True, work_unit__isnull=False),
                name="claim_once_per_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.item_id}"


# --- complaints and suggestions (投诉建议) ---------------------------------------------------------


class FeedbackKind(models.TextChoices):
    COMPLAINT = "complaint", "投诉"
    SUGGESTION = "suggestion", "建议"


class Feedback(models.Model):
    """A complaint or suggestion from a resident or a member, answered by community staff."""

    community = models.ForeignKey("grid.Area", on_delete=models.PROTECT, related_name="feedback")
    kind = models.CharField(max_length=16, choices=FeedbackKind.choices)
    text = models.TextField("内容")
    tracking_code = models.CharField(max_length=12, default=new_tracking_code)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact_name = models.CharField(max_length=40, blank=True)
    contact_phone = EncryptedTextField(blank=True)
    demand = models.ForeignKey(
        Demand, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    answer = models.TextField("答复", blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="community__path", user="author_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tracking_code"], name="feedback_tracking_code_unique")
        ]
        indexes = [
            models.Index(fields=["community", "answered_at", "-created_at"], name="feedback_community")
        ]

    def __str__(self) -> str:
        return self.text[:40]
