"""Users, role grants on the area tree, API tokens, in-app notifications and the audit log."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from huijia.accounts.roles import AREA_ROLES, Role


class User(AbstractUser):
    """A person who signs in: staff, an in-service member, or a resident."""

    display_name = models.CharField("姓名", max_length=64, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username


class RoleGrant(models.Model):
    """A role held on one node of the area tree (reaching its whole subtree) or on one work unit."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField("角色", max_length=16, choices=Role.choices)
    area = models.ForeignKey("grid.Area", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    work_unit = models.ForeignKey(
        "orgs.WorkUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="grant_area_or_work_unit",
                condition=(
                    Q(role__in=sorted(AREA_ROLES), area__isnull=False, work_unit__isnull=True)
                    | Q(role=Role.WORK_UNIT, area__isnull=True, work_unit__isnull=False)
                ),
            ),
            models.UniqueConstraint(fields=["user", "role", "area", "work_unit"], name="grant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} @ {self.area or self.work_unit}"


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Notification(models.Model):
    """A message shown to a user in the app (approval, rejection, transfer)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="notification_user_recent")]

    def __str__(self) -> str:
        return self.text


class AuditLog(models.Model):
    """Who did what to which record, and every unmasked view of personal data (PIPL)."""

    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}#{self.target_id}"
