"""Small request helpers shared by the HTML views of every app."""

from collections.abc import Callable

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.safestring import mark_safe

from huijia.accounts.scope import Actor, actor_for
from huijia.core.errors import NotFound, ServiceError


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


def step_and_back(request: HttpRequest, step: Callable[[], object], done: str, back: str) -> HttpResponse:
    """Runs one service step for a POST button and goes back to `back` with the outcome as a message:
    `done` when it worked, the service's own words when it refused; a row out of reach is a 404."""
    try:
        step()
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(back)


def public_url(path: str) -> str:
    """An absolute address for a QR code or a link sent out, from the configured public base URL."""
    return settings.HUIJIA_PUBLIC_BASE_URL.rstrip("/") + path


def qr_svg(url: str, title: str) -> str:
    """An inline SVG QR code that scales with its container (medium error correction)."""
    code = segno.make(url, error="m")
    return mark_safe(code.svg_inline(scale=1, border=2, omitsize=True, title=title, svgclass="qr"))  # noqa: S308
