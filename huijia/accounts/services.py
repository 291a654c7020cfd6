"""Writes of the accounts app: audit entries, notifications, API tokens and role grants."""

import hashlib
import re
import secrets
from datetime import timedelta

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, Model, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.models import ApiToken, AuditLog, Notification, RoleGrant, User
from huijia.accounts.roles import AREA_ROLES, Role
from huijia.accounts.scope import Actor
from huijia.core.errors import Forbidden, InvalidInput

TOKEN_LIFETIME = timedelta(days=30)


def audit(*, actor: Actor | None, action: str, target: Model, **detail) -> AuditLog:
    """Records who did what to which row; call inside the service's transaction."""
    return AuditLog.objects.create(
        actor_id=actor.user_id if actor else None,
        action=action,
        target_type=target._meta.label,
        target_id=str(target.pk),
        detail=detail,
    )


def notify(*, user_id: int | None, text: str, url: str = "") -> None:
    """Queues an in-app notification, written only when the surrounding transaction commits."""
    if user_id is None:
        return
    transaction.on_commit(lambda: Notification.objects.create(user_id=user_id, text=text[:500], url=url))


def mark_notifications_read(*, actor: Actor) -> int:
    return Notification.objects.filter(user_id=actor.user_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def issue_api_token(*, username: str, password: str) -> tuple[str, ApiToken]:
    """Exchanges a username and password for a bearer token (shown once, stored as a digest)."""
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise Forbidden(_("用户名或密码不正确"), code="bad_credentials")
    key = "hj_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, digest=_digest(key), prefix=key[:8], expires_at=timezone.now() + TOKEN_LIFETIME
    )
    audit(actor=Actor(user_id=user.pk), action="api_token.issue", target=token)
    return key, token


def user_for_token(key: str) -> User | None:
    """The active user a bearer token belongs to, or None when it is unknown or expired."""
    token = (
        ApiToken.objects.select_related("user")
        .annotate(
            scope_member_id=F("user__member__id"),
            scope_household_id=F("user__resident__household_id"),
            scope_has_grants=Exists(RoleGrant.objects.filter(user_id=OuterRef("user_id"))),
        )
        .filter(digest=_digest(key), expires_at__gt=timezone.now(), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    for fact in ("scope_member_id", "scope_household_id", "scope_has_grants"):  # see accounts.backends
        setattr(token.user, fact, getattr(token, fact))
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,30}$")


def account_problems(*, username: str, password: str, display_name: str = "") -> dict[str, list[str]]:
    """What is wrong with a new account's fields, per field (empty when nothing)."""
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = [_("登录名用3到30个英文字母、数字或下划线")]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("这个登录名已经有人用了，请换一个")]
    if len(display_name or "") > 64:
        errors["display_name"] = [_("称呼不超过64个字")]
    try:
        validate_password(password or "", User(username=username, display_name=display_name or ""))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    return errors


@transaction.atomic
def create_account(*, username: str, password: str, display_name: str = "") -> User:
    """A person opens an account to report in. Only a login name and a password: no phone, no ID here."""
    if errors := account_problems(username=username, password=password, display_name=display_name):
        raise InvalidInput(next(iter(errors.values()))[0], code="bad_account", fields=errors)
    user = User.objects.create_user(
        username=username.strip(), password=password, display_name=(display_name or "").strip()
    )
    audit(actor=Actor(user_id=user.pk), action="account.create", target=user)
    return user


@transaction.atomic
def grant_role(*, actor: Actor, user: User, role: str, area=None, work_unit=None) -> RoleGrant:
    """Gives `user` a role on an area node or a work unit. Only superusers and holders above may grant."""
    if role in AREA_ROLES:
        if area is None:
            raise InvalidInput(_("该角色必须指定区域"))
        if not actor.is_superuser and not any(
            area.path.startswith(p) and p != area.path for _role, p in actor.area_grants
        ):
            raise Forbidden()
    elif role == Role.WORK_UNIT:
        if work_unit is None:
            raise InvalidInput(_("单位党组织角色必须指定单位"))
        if not actor.is_superuser:
            raise Forbidden()
    else:
        raise InvalidInput(_("未知角色"))
    grant, _created = RoleGrant.objects.get_or_create(user=user, role=role, area=area, work_unit=work_unit)
    audit(actor=actor, action="role.grant", target=grant, role=role)
    return grant
