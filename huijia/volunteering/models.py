"""Volunteer service (志愿服务): activities, service posts and tasks with their slots, sign-ups and
waitlists, attendance and hours, service teams, unit–community pairings, the annual minimum and
certificates of service records.

One shape covers the three kinds of work the articles name: an activity (主题党日, a volunteer service)
has one or several slots (a venue and a time, with a capacity); a service post (服务岗: a festival
post, an opinion-collection post, a skill post) has recurring shifts, which are slots too; an
emergency task (S3: 2,400 members claiming epidemic-control tasks) has places to claim, slots again.
Signing up for any of them is an Enrolment; being there is a ServiceRecord, from which hours, the
annual minimum, certificates and ledgers are all computed.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from huijia.accounts.roles import Perm
from huijia.accounts.scope import ScopedQuerySet, ScopeRule


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def new_token() -> str:
    return secrets.token_urlsafe(16)


class ServiceCategory(models.TextChoices):
    PARTY_DAY = "party_day", "主题党日"
    ENVIRONMENT = "environment", "环境整治"
    ELDERLY = "elderly", "助老助残"
    CHILDREN = "children", "关爱青少年"
    HEALTH = "health", "医疗义诊"
    REPAIR = "repair", "便民维修"
    CIVILITY = "civility", "文明宣传"
    SAFETY = "safety", "治安巡逻"
    OPINION = "opinion", "社情民意收集"
    FESTIVAL = "festival", "节日值守"
    EMERGENCY = "emergency", "应急防疫"
    OTHER = "other", "其他"


# ----------------------------------------------------------------------------------------------------
# Service teams (服务队)


def service_team_ids(member_id: int):
    """The service teams the member is in now, as a subquery of team ids."""
    return ServiceTeamMember.objects.filter(member_id=member_id, ended_at__isnull=True).values("team_id")


def _teams_of_member(member_id: int) -> Q:
    return Q(pk__in=service_team_ids(member_id))


class ServiceTeam(models.Model):
    """A standing team of volunteers of one community (S2: a team of teachers with nine service areas)."""

    community = models.ForeignKey(
        "grid.Area", on_delete=models.PROTECT, related_name="service_teams", verbose_name="所属社区"
    )
    name = models.CharField("服务队名称", max_length=64)
    description = models.TextField("简介", blank=True)
    service_areas = models.JSONField("服务领域", default=list, blank=True)  # list of short labels
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField("解散时间", null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    # staff over the community; the team's own members see it (leaders manage it through Activity)
    scope = ScopeRule(area="community__path", member=_teams_of_member)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community", "name"],
                condition=Q(ended_at__isnull=True),
                name="service_team_unique_name",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ServiceTeamMember(models.Model):
    team = models.ForeignKey(ServiceTeam, on_delete=models.CASCADE, related_name="memberships")
    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="service_team_memberships"
    )
    is_leader = models.BooleanField("队长", default=False)
    joined_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="team__community__path", member="member_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "member"],
                condition=Q(ended_at__isnull=True),
                name="service_team_member_once",
            )
        ]
        indexes = [models.Index(fields=["member", "ended_at"], name="svcteam_member")]

    def __str__(self) -> str:
        return f"{self.member} @ {self.team}"


# ----------------------------------------------------------------------------------------------------
# Unit–community pairing (结对共建, F3)


class Pairing(models.Model):
    """A work unit's Party organisation paired with a community, for a period, with commitments."""

    work_unit = models.ForeignKey(
        "orgs.WorkUnit", on_delete=models.PROTECT, related_name="pairings", verbose_name="结对单位"
    )
    community = models.ForeignKey(
        "grid.Area", on_delete=models.PROTECT, related_name="pairings", verbose_name="结对社区"
    )
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期", null=True, blank=True)  # open-ended when empty
    commitments = models.TextField("共建承诺", blank=True)  # one commitment per line
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField("解除时间", null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="community__path", work_unit="work_unit_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["work_unit", "community"],
                condition=Q(ended_at__isnull=True),
                name="pairing_once",
            ),
            models.CheckConstraint(
                name="pairing_period_order",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
            ),
        ]
        indexes = [models.Index(fields=["community", "ended_at"], name="pairing_community")]

    def __str__(self) -> str:
        return f"{self.work_unit} ↔ {self.community}"


# ----------------------------------------------------------------------------------------------------
# Activities, posts and tasks, with their slots


class ActivityKind(models.TextChoices):
    ACTIVITY = "activity", "志愿活动"
    POST = "post", "服务岗"
    TASK = "task", "任务认领"


class OrganiserKind(models.TextChoices):
    COMMUNITY = "community", "社区"
    ESTATE = "estate", "小区党支部"
    TEAM = "team", "服务队"
    WORK_UNIT = "work_unit", "结对单位"


class Audience(models.TextChoices):
    OPEN = "open", "所有报到党员"
    COMMUNITY = "community", "本社区报到党员"
    TEAM = "team", "本服务队队员"


class ActivityStatus(models.TextChoices):
    PUBLISHED = "published", "报名中"
    CANCELLED = "cancelled", "已取消"
    CLOSED = "closed", "已结束"


def _activities_led_by(member_id: int) -> Q:
    return Q(
        service_team_id__in=ServiceTeamMember.objects.filter(
            member_id=member_id, is_leader=True, ended_at__isnull=True
        ).values("team_id")
    )


class Activity(models.Model):
    """An activity, a service post or a task, published by a community, an estate branch, a service
    team or a paired work unit; it always takes place in one community."""

    kind = models.CharField(
        "类型", max_length=16, choices=ActivityKind.choices, default=ActivityKind.ACTIVITY
    )
    title = models.CharField("名称", max_length=100)
    description = models.TextField("内容", blank=True)
    category = models.CharField("服务类别", max_length=16, choices=ServiceCategory.choices)
    organiser_kind = models.CharField("发布方", max_length=16, choices=OrganiserKind.choices)
    community = models.ForeignKey(
        "grid.Area", on_delete=models.PROTECT, related_name="activities", verbose_name="社区"
    )
    estate = models.ForeignKey(
        "grid.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="estate_activities"
    )
    service_team = models.ForeignKey(
        ServiceTeam, null=True, blank=True, on_delete=models.PROTECT, related_name="activities"
    )
    work_unit = models.ForeignKey(
        "orgs.WorkUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="activities"
    )
    # a joint activity of a pairing (共建活动) counts for the community and for the unit
    pairing = models.ForeignKey(
        Pairing, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    audience = models.CharField("参加对象", max_length=16, choices=Audience.choices, default=Audience.OPEN)
    status = models.CharField(
        "状态", max_length=16, choices=ActivityStatus.choices, default=ActivityStatus.PUBLISHED
    )
    people_served = models.PositiveIntegerField("服务群众人次", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # first slot's start and last slot's end, kept by the services for lists and the ledger
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    # staff over the community (or over the organising estate), the organising work unit, and the
    # leaders of the organising team
    scope = ScopeRule(
        area=("community__path", "estate__path"),
        work_unit="work_unit_id",
        member=_activities_led_by,
        member_perms=frozenset({Perm.VIEW, Perm.MANAGE_VOLUNTEERING}),
    )

    class Meta:
        indexes = [
            models.Index(fields=["community", "-starts_at"], name="activity_community_start"),
            models.Index(fields=["status", "starts_at"], name="activity_status_start"),
            models.Index(fields=["work_unit", "-starts_at"], name="activity_unit_start"),
            models.Index(fields=["service_team", "-starts_at"], name="activity_team_start"),
        ]

    def __str__(self) -> str:
        return self.title


class Slot(models.Model):
    """A venue and a time with a capacity: an activity's session, a post's shift, a task's places."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="slots")
    venue = models.CharField("地点", max_length=100)
    label = models.CharField("班次", max_length=32, blank=True)  # e.g. 上午班
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    capacity = models.PositiveIntegerField("名额")
    # kept under the slot's row lock by the sign-up services: never more confirmed than capacity
    confirmed = models.PositiveIntegerField(default=0)
    waitlisted = models.PositiveIntegerField(default=0)
    # the key of the check-in QR code, which changes every minute (HMAC of the key and the minute)
    qr_secret = models.CharField(max_length=48, default=new_secret)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(
        area=("activity__community__path", "activity__estate__path"),
        work_unit="activity__work_unit_id",
        member=lambda m: _activities_led_by_via("activity__", m),
        member_perms=frozenset({Perm.VIEW, Perm.MANAGE_VOLUNTEERING}),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="slot_ends_after_start", condition=Q(ends_at__gt=models.F("starts_at"))
            ),
            models.CheckConstraint(name="slot_capacity_positive", condition=Q(capacity__gte=1)),
            models.CheckConstraint(
                name="slot_not_overfull", condition=Q(confirmed__lte=models.F("capacity"))
            ),
        ]
        indexes = [models.Index(fields=["activity", "starts_at"], name="slot_activity_start")]

    def __str__(self) -> str:
        return f"{self.activity} · {self.venue} {self.starts_at:%m-%d %H:%M}"

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


def _activities_led_by_via(prefix: str, member_id: int) -> Q:
    return Q(
        **{
            f"{prefix}service_team_id__in": ServiceTeamMember.objects.filter(
                member_id=member_id, is_leader=True, ended_at__isnull=True
            ).values("team_id")
        }
    )


class EnrolmentStatus(models.TextChoices):
    CONFIRMED = "confirmed", "已报名"
    WAITLISTED = "waitlisted", "候补"
    CANCELLED = "cancelled", "已取消"


ACTIVE_ENROLMENT = (EnrolmentStatus.CONFIRMED, EnrolmentStatus.WAITLISTED)


class Enrolment(models.Model):
    """A member's sign-up for a slot (报名), or claim of a shift or task (领岗): confirmed, or waiting."""

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="enrolments")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(max_length=16, choices=EnrolmentStatus.choices)
    created_at = models.DateTimeField(auto_now_add=True)  # the waitlist's order
    changed_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(
        area=("slot__activity__community__path", "slot__activity__estate__path"),
        work_unit="slot__activity__work_unit_id",
        member="member_id",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "member"],
                condition=Q(status__in=["confirmed", "waitlisted"]),
                name="enrolment_once",
            )
        ]
        indexes = [
            models.Index(fields=["slot", "status", "created_at"], name="enrolment_slot_queue"),
            models.Index(fields=["member", "status"], name="enrolment_member"),
        ]

    def __str__(self) -> str:
        return f"{self.member} → {self.slot} ({self.get_status_display()})"


# ----------------------------------------------------------------------------------------------------
# Attendance, hours, corrections and the served resident's confirmation


class AttendanceMethod(models.TextChoices):
    QR = "qr", "扫码签到"
    ROLL_CALL = "roll_call", "现场点名"


class ServiceRecord(models.Model):
    """One member's service in one slot: checked in (open) until checked out or counted at roll call.

    `hours` is computed by the services from the times, never beyond the slot; a correction goes
    through a HoursCorrection that the organiser approves.
    """

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="service_records")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="records")
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="records")
    community = models.ForeignKey("grid.Area", on_delete=models.PROTECT, related_name="+")
    method = models.CharField("记录方式", max_length=16, choices=AttendanceMethod.choices)
    checked_in_at = models.DateTimeField("签到时间")
    checked_out_at = models.DateTimeField("签退时间", null=True, blank=True)
    hours = models.DecimalField("服务时长（小时）", max_digits=5, decimal_places=2, null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # a served resident may confirm the service from their phone (a link or QR the member shows)
    confirm_token = models.CharField(max_length=32, default=new_token, unique=True)
    resident_confirmed_at = models.DateTimeField("居民确认时间", null=True, blank=True)
    resident_comment = models.CharField("居民评价", max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    # staff over the community, the member's work unit (its members' community service), the member
    scope = ScopeRule(area="community__path", work_unit="member__work_unit_id", member="member_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slot", "member"], name="record_once_per_slot"),
            models.CheckConstraint(
                name="record_out_after_in",
                condition=Q(checked_out_at__isnull=True) | Q(checked_out_at__gte=models.F("checked_in_at")),
            ),
            models.CheckConstraint(name="record_hours_not_negative", condition=Q(hours__gte=0)),
        ]
        indexes = [
            models.Index(fields=["member", "checked_in_at"], name="record_member_time"),
            models.Index(fields=["community", "checked_in_at"], name="record_community_time"),
            models.Index(fields=["activity"], name="record_activity"),
        ]

    def __str__(self) -> str:
        return f"{self.member} · {self.activity}"

    @property
    def is_open(self) -> bool:
        return self.hours is None


class CorrectionStatus(models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已同意"
    REJECTED = "rejected", "未同意"


class HoursCorrection(models.Model):
    """A member's request to correct the hours of a record; the organiser approves or rejects it."""

    record = models.ForeignKey(ServiceRecord, on_delete=models.CASCADE, related_name="corrections")
    requested_hours = models.DecimalField("申请时长（小时）", max_digits=5, decimal_places=2)
    reason = models.CharField("原因", max_length=200)
    status = models.CharField(
        max_length=16, choices=CorrectionStatus.choices, default=CorrectionStatus.PENDING
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    answer = models.CharField("答复", max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(
        area="record__community__path",
        work_unit="record__activity__work_unit_id",
        member="record__member_id",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record"], condition=Q(status="pending"), name="correction_one_pending"
            ),
            models.CheckConstraint(name="correction_hours_not_negative", condition=Q(requested_hours__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.record} → {self.requested_hours}h"


# ----------------------------------------------------------------------------------------------------
# The annual minimum and certificates


class VolunteerPolicy(models.Model):
    """Per city: the annual minimum of services (S2: at least two a year) and when reminders start."""

    city = models.OneToOneField("grid.Area", on_delete=models.CASCADE, related_name="volunteer_policy")
    annual_minimum = models.PositiveSmallIntegerField("每年至少服务次数", default=2)
    remind_days_before_year_end = models.PositiveSmallIntegerField("年底前多少天提醒", default=45)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="city__path")

    def __str__(self) -> str:
        return f"{self.city}: {self.annual_minimum}"


DEFAULT_ANNUAL_MINIMUM = 2
DEFAULT_REMIND_DAYS = 45


class MinimumReminder(models.Model):
    """A reminder sent to a member below the annual minimum: at most one per member and year."""

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "year"], name="minimum_reminder_once")]

    def __str__(self) -> str:
        return f"{self.member} {self.year}"


class Certificate(models.Model):
    """A certificate of service records (志愿服务记录证明): a frozen copy of the records it lists, so
    the PDF and the public verification page always show what was issued."""

    serial = models.CharField("证明编号", max_length=32, unique=True)
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="certificates")
    community = models.ForeignKey("grid.Area", on_delete=models.PROTECT, related_name="+")
    issuer = models.CharField("出具单位", max_length=100)
    member_name = models.CharField("姓名", max_length=64)
    period_from = models.DateField("起始日期")
    period_to = models.DateField("截止日期")
    # [{"date": "2026-03-05", "content": ..., "hours": "2.00", "organiser": ...}, ...]
    records = models.JSONField(default=list)
    record_count = models.PositiveIntegerField("服务次数")
    total_hours = models.DecimalField("服务总时长", max_digits=8, decimal_places=2)
    verify_token = models.CharField(max_length=32, default=new_token, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="community__path", work_unit="member__work_unit_id", member="member_id")

    class Meta:
        indexes = [models.Index(fields=["member", "-issued_at"], name="certificate_member")]

    def __str__(self) -> str:
        return self.serial
