"""Work units and the two Party organisation trees: residential (on areas) and work-unit."""

from django.db import models
from django.db.models import Q

from huijia.accounts.scope import ScopedQuerySet, ScopeRule


class WorkUnitKind(models.TextChoices):
    ORGAN = "organ", "机关"
    INSTITUTION = "institution", "事业单位"
    STATE_FIRM = "state_firm", "国有企业"
    OTHER = "other", "其他"


class WorkUnit(models.Model):
    """An employer of in-service members: a government body, public institution or state firm."""

    name = models.CharField("单位名称", max_length=100, unique=True)
    kind = models.CharField(
        "单位类型", max_length=16, choices=WorkUnitKind.choices, default=WorkUnitKind.ORGAN
    )
    area = models.ForeignKey(
        "grid.Area",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="所在区域",
    )

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="area__path", work_unit="pk")

    def __str__(self) -> str:
        return self.name


class OrgKind(models.TextChoices):
    STREET_COMMITTEE = "street_committee", "街道党工委"
    COMMUNITY_COMMITTEE = "community_committee", "社区党委"
    ESTATE_BRANCH = "estate_branch", "小区党支部"
    BUILDING_GROUP = "building_group", "楼栋党小组"
    UNIT_COMMITTEE = "unit_committee", "单位党委"
    UNIT_BRANCH = "unit_branch", "单位党支部"


RESIDENTIAL_KINDS = [
    OrgKind.STREET_COMMITTEE,
    OrgKind.COMMUNITY_COMMITTEE,
    OrgKind.ESTATE_BRANCH,
    OrgKind.BUILDING_GROUP,
]


class PartyOrg(models.Model):
    """A Party organisation. Residential ones sit on an area node; work-unit ones belong to a unit."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    kind = models.CharField("组织类型", max_length=24, choices=OrgKind.choices)
    name = models.CharField("组织名称", max_length=100)
    area = models.ForeignKey(
        "grid.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="party_orgs"
    )
    work_unit = models.ForeignKey(
        WorkUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="party_orgs"
    )

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="area__path", work_unit="work_unit_id")

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="party_org_on_area_or_unit",
                condition=(
                    Q(kind__in=RESIDENTIAL_KINDS, area__isnull=False, work_unit__isnull=True)
                    | (~Q(kind__in=RESIDENTIAL_KINDS) & Q(area__isnull=True, work_unit__isnull=False))
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name
