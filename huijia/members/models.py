"""In-service members, their skills and free time (the resource list), and registrations (报到)."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from huijia.accounts.scope import ScopedQuerySet, ScopeRule
from huijia.core.crypto import EncryptedTextField
from huijia.core.personal import mask_id_number, mask_mobile, mask_name


class FreeTime(models.TextChoices):
    WEEKDAY_EVENING = "weekday_evening", "工作日晚上"
    WEEKEND = "weekend", "周末"
    HOLIDAY = "holiday", "节假日"
    FLEXIBLE = "flexible", "时间灵活"


class Skill(models.Model):
    """A skill or resource a member can offer (专长、资源): medical, legal, repairs, teaching..."""

    name = models.CharField("专长", max_length=32, unique=True)
    category = models.CharField("类别", max_length=32, blank=True)

    def __str__(self) -> str:
        return self.name


def new_volunteer_no() -> str:
    return "HJ" + "".join(secrets.choice("0123456789") for _ in range(10))


def new_card_token() -> str:
    return secrets.token_urlsafe(16)


class Member(models.Model):
    """A Party member: `registered_org` holds their membership (在册); `community` is where they report in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="member"
    )
    name = models.CharField("姓名", max_length=64)
    phone = EncryptedTextField("手机号")
    phone_digest = models.CharField(max_length=64)
    id_number = EncryptedTextField("身份证号")
    id_number_digest = models.CharField(max_length=64)
    work_unit = models.ForeignKey(
        "orgs.WorkUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name="工作单位",
    )
    registered_org = models.ForeignKey(
        "orgs.PartyOrg",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registered_members",
        verbose_name="组织关系所在党组织",
    )
    household = models.ForeignKey(
        "grid.Household",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        verbose_name="住户",
    )
    community = models.ForeignKey(
        "grid.Area",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reporting_members",
        verbose_name="报到社区",
    )
    skills = models.ManyToManyField(Skill, blank=True, related_name="members", verbose_name="专长")
    resources = models.CharField("可提供的资源", max_length=200, blank=True)
    free_time = models.JSONField("空闲时间", default=list, blank=True)
    volunteer_no = models.CharField("志愿者编号", max_length=16, default=new_volunteer_no)
    # asked for fewer duties (health, caring for family): teams place them without extra load
    light_duty = models.BooleanField("少安排任务", default=False, db_default=False)
    card_token = models.CharField(max_length=32, default=new_card_token)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="household__building__path", work_unit="work_unit_id", member="pk")

    class Meta:
        # Declared here rather than with unique=True/db_index=True on the fields: on PostgreSQL those
        # also build a varchar_pattern_ops copy of each index for LIKE, which nothing here runs on
        # digests and tokens, and every extra index slows the import of 100,000 members.
        constraints = [
            models.UniqueConstraint(fields=["id_number_digest"], name="member_id_number_digest_unique"),
            models.UniqueConstraint(fields=["volunteer_no"], name="member_volunteer_no_unique"),
            models.UniqueConstraint(fields=["card_token"], name="member_card_token_unique"),
        ]
        indexes = [models.Index(fields=["phone_digest"], name="member_phone_digest")]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_phone(self) -> str:
        return mask_mobile(self.phone)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


class RegistrationStatus(models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已报到"
    REJECTED = "rejected", "未通过"
    WITHDRAWN = "withdrawn", "已撤回"
    TRANSFERRED = "transferred", "已转出"


class RegistrationKind(models.TextChoices):
    NEW = "new", "新报到"
    TRANSFER = "transfer", "迁移报到"


class Registration(models.Model):
    """One report-in of a member to a community, from submission to approval, rejection or end."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="registrations")
    # no index of its own: registration_queue (community, status, submitted_at) serves its lookups
    community = models.ForeignKey(
        "grid.Area", on_delete=models.PROTECT, related_name="registrations", db_index=False
    )
    household = models.ForeignKey("grid.Household", on_delete=models.PROTECT, related_name="registrations")
    work_unit = models.ForeignKey(
        "orgs.WorkUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    skills = models.ManyToManyField(Skill, blank=True, related_name="+")
    resources = models.CharField("可提供的资源", max_length=200, blank=True)
    free_time = models.JSONField("空闲时间", default=list, blank=True)
    kind = models.CharField(max_length=16, choices=RegistrationKind.choices, default=RegistrationKind.NEW)
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(
        max_length=16, choices=RegistrationStatus.choices, default=RegistrationStatus.PENDING
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField("退回原因", max_length=200, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="household__building__path", work_unit="member__work_unit_id", member="member_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(status="pending"), name="registration_one_pending_per_member"
            ),
            models.UniqueConstraint(
                fields=["member"], condition=Q(status="approved"), name="registration_one_active_per_member"
            ),
            models.CheckConstraint(
                name="registration_rejection_has_reason",
                condition=~Q(status="rejected") | ~Q(reject_reason=""),
            ),
        ]
        indexes = [models.Index(fields=["community", "status", "-submitted_at"], name="registration_queue")]

    def __str__(self) -> str:
        return f"{self.member} → {self.community} ({self.get_status_display()})"


# --- teams and zones (包干到户, F4) ------------------------------------------------------------------


class Team(models.Model):
    """A team of members (usually three) holding a zone of households in one community.

    Teams are never deleted: a change of plan ends the old team (`ended_at`) and starts new ones, so
    who held which households when stays on record.
    """

    community = models.ForeignKey("grid.Area", on_delete=models.PROTECT, related_name="teams")
    estate = models.ForeignKey(
        "grid.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="estate_teams"
    )
    building = models.ForeignKey(  # the building most of its zone lies in, for lists and labels
        "grid.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="building_teams"
    )
    name = models.CharField("小组名称", max_length=64)
    zone_label = models.CharField("包干范围", max_length=128, blank=True)  # e.g. "3栋 24–27层"
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    # by the building most of its zone lies in: community staff see all their teams, an estate's branch
    # secretary and a building's head the teams of their estate and building
    scope = ScopeRule(
        area="building__path",
        member=lambda member_id: Q(
            pk__in=TeamMembership.objects.filter(member_id=member_id, ended_at=None).values("team_id")
        ),
    )

    class Meta:
        indexes = [models.Index(fields=["community", "ended_at"], name="team_community_active")]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """A member's place in a team, from `started_at` until `ended_at`: one active team per member."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="team_memberships")
    is_leader = models.BooleanField("组长", default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="team__building__path", member="member_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(ended_at=None), name="membership_one_active_team"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.team_id}"


class ZoneAssignment(models.Model):
    """A household held by a team (包干到户), from `started_at` until `ended_at`.

    Every household is held by at most one team at a time (a partial unique index).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="zone")
    household = models.ForeignKey("grid.Household", on_delete=models.CASCADE, related_name="zone_assignments")
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="household__building__path")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["household"], condition=Q(ended_at=None), name="zone_one_team_per_household"
            )
        ]
        indexes = [models.Index(fields=["team", "ended_at"], name="zone_team_active")]

    def __str__(self) -> str:
        return f"{self.household_id} held by {self.team_id}"


class HouseholdLink(models.Model):
    """A member linked to a neighbour household (党员联户), from `started_at` until `ended_at`."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="household_links")
    household = models.ForeignKey("grid.Household", on_delete=models.CASCADE, related_name="member_links")
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="household__building__path", member="member_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "household"], condition=Q(ended_at=None), name="link_once_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member_id} linked to {self.household_id}"


class TeamPlan(models.Model):
    """A proposal of teams and zones being adjusted by staff, kept so no adjustment is lost.

    `data` holds the proposal as shown on screen (teams, members, households, floor ranges); it
    becomes Teams, TeamMemberships, ZoneAssignments and HouseholdLinks when committed.
    """

    community = models.ForeignKey("grid.Area", on_delete=models.CASCADE, related_name="team_plans")
    estate = models.ForeignKey(
        "grid.Area", null=True, blank=True, on_delete=models.CASCADE, related_name="estate_team_plans"
    )
    team_size = models.PositiveSmallIntegerField("每组人数", default=3)
    data = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="community__path")

    def __str__(self) -> str:
        return f"plan {self.pk} of {self.community_id}"


class HouseholdAccess(models.Model):
    """Which households a member may see and visit, and why: their team's zone, a link, a care pairing.

    A derived list kept by the services that change zones, links and pairings, so that the scope
    rule of a household is one indexed lookup. One row per (member, household); a row whose reasons
    are all false is deleted.
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="household_access")
    household = models.ForeignKey("grid.Household", on_delete=models.CASCADE, related_name="member_access")
    by_zone = models.BooleanField(default=False)
    by_link = models.BooleanField(default=False)
    by_care = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "household"], name="access_once_per_member_household")
        ]
        indexes = [models.Index(fields=["household"], name="access_household")]

    def __str__(self) -> str:
        return f"{self.member_id} may visit {self.household_id}"
