"""Small request helpers shared by the HTML views of every app."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from huijia.accounts.scope import Actor, actor_for


def staff_actor(request: HttpRequest) -> Actor:
    """The signed-in actor of a console screen: anyone holding a role; others get the 403 page."""
    actor = actor_for(request.user)
    if not actor.is_staff_actor:
        raise PermissionDenied
    return actor


def int_or_none(value) -> int | None:
    """A query-string or form value as an integer, or None when it is missing or not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
