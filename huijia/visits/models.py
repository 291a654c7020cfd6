"""Household visits (入户走访, F5) and door-knocking campaigns (敲门行动).

A visit needs only the household and the date; everything else is optional, photos included. The
household facts a visit reports (tenure, occupants, move-in date, a contact number) are copied onto
the household once, with a HouseholdFactChange per changed fact; demands and opinions become
demands.Demand rows and vulnerable people care.VulnerablePerson rows, through those apps' services.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from huijia.accounts.roles import Perm
from huijia.accounts.scope import ScopedQuerySet, ScopeRule
from huijia.core.crypto import EncryptedTextField
from huijia.grid.models import Tenure


def _visits_of_member_households(member_id: int) -> Q:
    from huijia.members.models import HouseholdAccess

    households = HouseholdAccess.objects.filter(member_id=member_id).values("household_id")
    return Q(household_id__in=households) | Q(member_id=member_id)


class Visit(models.Model):
    """One visit to one household on one day, as the member (or staff) recorded it.

    `idempotency_key` is chosen by the phone when the visit is written (also offline); sending the
    same visit twice stores it once, and `request_hash` tells a replay from a changed body.
    """

    household = models.ForeignKey("grid.Household", on_delete=models.PROTECT, related_name="visits")
    visited_on = models.DateField("走访日期")
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="visits"
    )
    team = models.ForeignKey(
        "members.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="visits"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(
        "visits.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="visits"
    )
    # household facts as reported on the day (blank: not asked or not known)
    tenure = models.CharField("住房性质", max_length=8, choices=Tenure.choices, blank=True)
    occupants = models.PositiveSmallIntegerField("常住人数", null=True, blank=True)
    moved_in_on = models.DateField("入住日期", null=True, blank=True)
    contact_phone = EncryptedTextField("联系电话", blank=True)
    opinions = models.TextField("意见建议", blank=True)
    help_given = models.TextField("帮办事项", blank=True)
    notes = models.TextField("备注", blank=True)
    idempotency_key = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(
        area="household__building__path",
        member=_visits_of_member_households,
        member_perms=frozenset({Perm.VIEW}),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recorded_by", "idempotency_key"], name="visit_idempotency_key")
        ]
        indexes = [
            models.Index(fields=["household", "-visited_on"], name="visit_household_date"),
            models.Index(fields=["visited_on"], name="visit_date"),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.visited_on}"


class VisitPhoto(models.Model):
    """An optional photo of a visit. Never required."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="visits/%Y/%m/")
    digest = models.CharField(
        max_length=64, blank=True, default=""
    )  # sha256 of the bytes: a resend is one photo
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "digest"], condition=~models.Q(digest=""), name="photo_once_per_visit"
            )
        ]

    def __str__(self) -> str:
        return self.image.name


class Campaign(models.Model):
    """A door-knocking campaign (敲门行动) over a chosen set of households, with a question list."""

    community = models.ForeignKey("grid.Area", on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField("行动名称", max_length=100)
    description = models.TextField("说明", blank=True)
    questions = models.JSONField(
        "问题清单", default=list, blank=True
    )  # ["家中是否有60岁以上老人接种疫苗？", ...]
    selection = models.JSONField("选户条件", default=dict, blank=True)  # the filter, as chosen
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    due_on = models.DateField("截止日期", null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="community__path")

    def __str__(self) -> str:
        return self.name


class Outcome(models.TextChoices):
    PENDING = "pending", "未走访"
    REACHED = "reached", "已见面"
    NOT_HOME = "not_home", "不在家"
    REFUSED = "refused", "拒绝"
    DONE = "done", "已完成"


class CampaignHousehold(models.Model):
    """One household of a campaign: the team that holds it when the campaign starts, and the outcome."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="households")
    household = models.ForeignKey("grid.Household", on_delete=models.PROTECT, related_name="campaign_entries")
    team = models.ForeignKey(
        "members.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaign_entries"
    )
    outcome = models.CharField("结果", max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    answers = models.JSONField("回答", default=dict, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(
        area="household__building__path",
        member=lambda member_id: Q(household_id__in=_member_household_ids(member_id)),
        member_perms=frozenset({Perm.VIEW, Perm.VISIT}),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "household"], name="campaign_household_once")
        ]
        indexes = [models.Index(fields=["campaign", "team", "outcome"], name="campaign_progress")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.household_id}: {self.outcome}"


def _member_household_ids(member_id: int):
    from huijia.members.models import HouseholdAccess

    return HouseholdAccess.objects.filter(member_id=member_id).values("household_id")
