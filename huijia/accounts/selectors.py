"""Reads of the accounts app: a user's own in-app notifications."""

from django.db.models import QuerySet

from huijia.accounts.models import Notification
from huijia.accounts.scope import Actor


def notifications_for(*, actor: Actor, unread_only: bool = False) -> QuerySet[Notification]:
    """The signed-in user's own notifications, newest first (nobody reads another user's)."""
    if not actor.is_authenticated:
        return Notification.objects.none()
    qs = Notification.objects.filter(user_id=actor.user_id)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-pk")
