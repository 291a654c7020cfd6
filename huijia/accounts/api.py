"""JSON API of the accounts app: bearer tokens and the signed-in user's notifications."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from huijia.accounts import selectors
from huijia.accounts.services import issue_api_token, mark_notifications_read
from huijia.api import PageQuery, actor, errors, page_of

router = Router(tags=["账号"])


class TokenIn(Schema):
    username: str = Field(max_length=150)
    password: str = Field(max_length=256)


class TokenOut(Schema):
    token: str = Field(description="send as `Authorization: Bearer <token>`; shown only once")
    expires_at: datetime


class NotificationOut(Schema):
    id: int
    text: str
    url: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    count: int
    limit: int
    offset: int


class MarkedOut(Schema):
    marked: int = Field(description="how many unread notifications were marked read")


@router.post(
    "/auth/token",
    auth=None,
    response={200: TokenOut, **errors(400, 403, 422)},
    summary="用账号密码换取访问令牌",
)
def issue_token(request: HttpRequest, payload: TokenIn):
    """Exchanges a username and password for a bearer token valid for 30 days. Wrong credentials: 403."""
    key, token = issue_api_token(username=payload.username, password=payload.password)
    return {"token": key, "expires_at": token.expires_at}


@router.get(
    "/notifications",
    response={200: NotificationPage, **errors(401, 422)},
    summary="我的消息",
)
def list_notifications(request: HttpRequest, page: Query[PageQuery], unread: bool = False):
    """The signed-in user's own notifications, newest first; `unread=true` for unread ones only."""
    return page_of(selectors.notifications_for(actor=actor(request), unread_only=unread), page)


@router.post(
    "/notifications/read",
    response={200: MarkedOut, **errors(401, 403)},
    summary="全部标为已读",
)
def read_notifications(request: HttpRequest):
    """Marks all of the signed-in user's notifications read."""
    return {"marked": mark_notifications_read(actor=actor(request))}
