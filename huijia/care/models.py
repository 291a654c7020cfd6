"""Care for vulnerable households (结对帮扶, F10): the file of vulnerable people and care pairings.

A vulnerable person is recorded by staff or learnt in a visit; a pairing puts one or several members
in charge of one household, with a visit cadence, and the branch secretary sees who is overdue.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from huijia.accounts.roles import Perm
from huijia.accounts.scope import ScopedQuerySet, ScopeRule


class VulnerableKind(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", "独居老人"
    DISABLED = "disabled", "残疾人"
    LEFT_BEHIND_CHILD = "left_behind_child", "留守儿童"
    HARDSHIP = "hardship", "困难家庭"
    OTHER = "other", "其他"


def _member_household_ids(member_id: int):
    from huijia.members.models import HouseholdAccess

    return HouseholdAccess.objects.filter(member_id=member_id).values("household_id")


def _member_households(member_id: int) -> Q:
    return Q(household_id__in=_member_household_ids(member_id))


class VulnerablePerson(models.Model):
    """Someone in a household who needs care: only the kind and a short note, a name if given."""

    household = models.ForeignKey("grid.Household", on_delete=models.CASCADE, related_name="vulnerable")
    kind = models.CharField("类别", max_length=24, choices=VulnerableKind.choices)
    name = models.CharField("称呼", max_length=64, blank=True)
    note = models.CharField("情况", max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    visit_id = models.BigIntegerField(null=True, blank=True)  # visits.Visit it was learnt in
    recorded_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)  # no longer in need, moved, passed away

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(area="household__building__path", member=_member_households)

    class Meta:
        indexes = [models.Index(fields=["household", "ended_at"], name="vulnerable_household_active")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.household_id}"


class CarePairing(models.Model):
    """One or several members in charge of one household, visiting it every `cadence_days` days."""

    household = models.ForeignKey("grid.Household", on_delete=models.PROTECT, related_name="care_pairings")
    members = models.ManyToManyField(
        "members.Member", through="CarePairingMember", related_name="care_pairings"
    )
    cadence_days = models.PositiveSmallIntegerField("走访周期（天）", default=30)
    note = models.CharField("帮扶内容", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_on = models.DateField("开始日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope = ScopeRule(
        area="household__building__path",
        # a paired member sees the pairing while they still reach its household (a member who leaves
        # the community loses their household access, and with it their pairings)
        member=lambda member_id: Q(
            pk__in=CarePairingMember.objects.filter(member_id=member_id).values("pairing_id"),
            household_id__in=_member_household_ids(member_id),
        ),
        member_perms=frozenset({Perm.VIEW}),
    )

    class Meta:
        indexes = [models.Index(fields=["household", "ended_on"], name="pairing_household_active")]

    def __str__(self) -> str:
        return f"pairing {self.pk} of {self.household_id}"


class CarePairingMember(models.Model):
    pairing = models.ForeignKey(CarePairing, on_delete=models.CASCADE, related_name="pairing_members")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pairing", "member"], name="pairing_member_once")]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.pairing_id}"
