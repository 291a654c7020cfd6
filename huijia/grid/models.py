"""The area tree (city → district → street → community → estate → building), households and residents."""

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q

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


class Tenure(models.TextChoices):
    OWNED = "owned", "自有住房"
    RENTED = "rented", "租住"
    OTHER = "other", "其他"


def _households_of_member(member_id: int) -> Q:
    """A member's households: their team's zone, their linked and their paired households
    (members.HouseholdAccess keeps that list), as a subquery so no household is repeated."""
    access = apps.get_model("members", "HouseholdAccess")
    return Q(pk__in=access.objects.filter(member_id=member_id).values("household_id"))


class Household(models.Model):
    """One dwelling: building, unit (单元), floor and room, and the facts visits learn about it.

    The facts (tenure, occupants, move-in date, a contact number) are kept here once; every change
    is written to HouseholdFactChange with who, when and from which visit.
    """

    building = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="households")
    unit = models.CharField("单元", max_length=16, blank=True)
    floor = models.SmallIntegerField("楼层")
    room = models.CharField("房号", max_length=16)
    tenure = models.CharField(
        "住房性质", max_length=8, choices=Tenure.choices, blank=True, default="", db_default=""
    )
    occupants = models.PositiveSmallIntegerField("常住人数", null=True, blank=True)
    moved_in_on = models.DateField("入住日期", null=True, blank=True)
    contact_phone = EncryptedTextField("联系电话", blank=True, default="", db_default="")

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(
        area="building__path",
        household="pk",
        member=_households_of_member,
        member_perms=frozenset({Perm.VIEW, Perm.VISIT}),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["building", "unit", "room"], name="household_unique_room")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return household_label(self.unit, self.room)


def household_label(unit: str, room: str) -> str:
    """How a household is named on screen: 「1单元302室」, or 「302室」 where there are no units."""
    return f"{unit or ''}{room}室"


class Resident(models.Model):
    """A person living in a household. Only what the work needs: name and a way to reach them."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="residents")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="resident"
    )
    name = models.CharField("姓名", max_length=64)
    phone = EncryptedTextField("手机号", blank=True)
    phone_digest = models.CharField(max_length=64, blank=True, db_index=True)
    # the year only: enough for campaigns by age ("everyone aged 60 or over"), nothing more precise
    birth_year = models.PositiveSmallIntegerField("出生年份", null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(
        area="household__building__path", household="household_id", self_perms=frozenset({Perm.VIEW})
    )

    def __str__(self) -> str:
        return self.name


class HouseholdFactChange(models.Model):
    """One change of one household fact: who changed it, when, and from which visit.

    Values are stored as shown to staff: a contact number only masked (the number itself lives
    encrypted on the household).
    """

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="fact_changes")
    field = models.CharField(max_length=32)
    old_value = models.CharField(max_length=64, blank=True)
    new_value = models.CharField(max_length=64, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    visit_id = models.BigIntegerField(null=True, blank=True)  # visits.Visit; grid does not import visits
    changed_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="household__building__path")

    class Meta:
        indexes = [models.Index(fields=["household", "-changed_at"], name="fact_change_household")]

    def __str__(self) -> str:
        return f"{self.household_id} {self.field}: {self.old_value} → {self.new_value}"
