"""The area tree (city → district → street → community → estate → building), households and residents."""

from django.conf import settings
from django.db import models

from huijia.accounts.roles import Perm
from huijia.accounts.scope import ScopedQuerySet, ScopeRule
from huijia.core.crypto import EncryptedTextField


class AreaKind(models.TextChoices):
    CITY = "city", "市"
    DISTRICT = "district", "区县"
    STREET = "street", "街道"
    COMMUNITY = "community", "社区"
    ESTATE = "estate", "小区"
    BUILDING = "building", "楼栋"


KIND_ORDER = list(AreaKind.values)
CHILD_KIND = dict(zip(KIND_ORDER, [*KIND_ORDER[1:], None], strict=True))


class Area(models.Model):
    """A node of the area tree. `path` ("/1/7/42/") is the chain of ancestor ids, ending with its own."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    kind = models.CharField("类型", max_length=16, choices=AreaKind.choices)
    name = models.CharField("名称", max_length=64)
    code = models.CharField("编码", max_length=32, blank=True, db_index=True)
    path = models.CharField(max_length=255, unique=True)
    depth = models.PositiveSmallIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="path")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="area_unique_name_in_parent")]
        indexes = [models.Index(fields=["kind", "name"], name="area_kind_name")]

    def __str__(self) -> str:
        return self.name

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]


class Household(models.Model):
    """One dwelling: building, unit (单元), floor and room."""

    building = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="households")
    unit = models.CharField("单元", max_length=16, blank=True)
    floor = models.SmallIntegerField("楼层")
    room = models.CharField("房号", max_length=16)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="building__path", household="pk")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["building", "unit", "room"], name="household_unique_room")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        unit = f"{self.unit}" if self.unit else ""
        return f"{unit}{self.room}室"


class Resident(models.Model):
    """A person living in a household. Only what the work needs: name and a way to reach them."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="residents")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="resident"
    )
    name = models.CharField("姓名", max_length=64)
    phone = EncryptedTextField("手机号", blank=True)
    phone_digest = models.CharField(max_length=64, blank=True, db_index=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(
        area="household__building__path", household="household_id", self_perms=frozenset({Perm.VIEW})
    )

    def __str__(self) -> str:
        return self.name
