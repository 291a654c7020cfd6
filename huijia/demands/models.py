"""Residents' demands (诉求): what a resident needs or reports, from whatever channel it came.

This first version holds what visits collect (issue 3); the closed loop of accepting, assigning,
resolving and rating, the categories and the three lists come with the demands capability (issue 4).
"""

from django.conf import settings
from django.db import models

from huijia.accounts.scope import ScopedQuerySet, ScopeRule


class DemandSource(models.TextChoices):
    RESIDENT = "resident", "居民自报"
    VISIT = "visit", "入户走访"
    POST = "post", "社情民意收集岗"
    STAFF = "staff", "工作人员代录"
    PATROL = "patrol", "巡查"
    MEETING = "meeting", "议事会"


class DemandStatus(models.TextChoices):
    SUBMITTED = "submitted", "待受理"


class Demand(models.Model):
    """One demand or opinion of a resident, placed on the area tree (household, building or estate)."""

    area = models.ForeignKey("grid.Area", on_delete=models.PROTECT, related_name="demands")
    household = models.ForeignKey(
        "grid.Household", null=True, blank=True, on_delete=models.SET_NULL, related_name="demands"
    )
    description = models.TextField("内容")
    category = models.CharField("类别", max_length=32, blank=True)
    source = models.CharField("来源", max_length=16, choices=DemandSource.choices)
    status = models.CharField(
        "状态", max_length=16, choices=DemandStatus.choices, default=DemandStatus.SUBMITTED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    member = models.ForeignKey(  # the member who collected it, if a member did
        "members.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="collected_demands"
    )
    visit_id = models.BigIntegerField(null=True, blank=True)  # visits.Visit: demands do not import visits
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="area__path", member="member_id")

    class Meta:
        indexes = [models.Index(fields=["area", "status", "-created_at"], name="demand_area_status")]

    def __str__(self) -> str:
        return self.description[:40]
