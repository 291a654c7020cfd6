"""Reads of the accounts app: a user's own in-app notifications."""

from django.db.models import QuerySet

from huijia.accounts.models import Notification
from huijia.accounts.scope import Actor
from huijia.core.compiled import CompiledValues


def notifications_for(*, actor: Actor, unread_only: bool = False) -> QuerySet[Notification]:
    """The signed-in user's own notifications, newest first (nobody reads another user's)."""
    if not actor.is_authenticated:
        return Notification.objects.none()
    qs = Notification.objects.filter(user_id=actor.user_id)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-pk")


RECENT = 10  # how many the member's page lists

_RECENT = CompiledValues(
    lambda user_id: (
        Notification.objects.filter(user_id=user_id)
        .order_by("-created_at", "-pk")
        .values("pk", "text", "created_at", "read_at")[:RECENT]
    )
)


def recent_notifications(*, actor: Actor) -> list[dict]:
    """The newest few of the user's own notifications, as rows (the member's page, every visit)."""
    if not actor.is_authenticated:
        return []
    return _RECENT(actor.user_id)
