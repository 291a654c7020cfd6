"""The JSON API root under /api/v1/: authentication, the one error shape, and the app routers.

Every endpoint except POST /auth/token needs a bearer token (POST /auth/token) or the Django session;
a session request with an unsafe method must carry the CSRF token, exactly like an HTML form. Every
error, whatever raised it (a service, request validation, authentication), answers the same body:
{"code": ..., "message": ..., "fields": {...} | null}, and every operation declares each 4xx status it
can answer in `response=` so the OpenAPI document at /api/v1/openapi.json shows the error bodies.

The app routers (huijia/<app>/api.py) import the shared pieces defined here and are mounted at the end
of this module; load them through this module (as the URLconf does), not on their own.
"""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from huijia.accounts.scope import Actor, actor_for
from huijia.accounts.services import user_for_token
from huijia.core.errors import Forbidden, NotFound, ServiceError

MAX_PAGE_SIZE = 100


class Unauthenticated(ServiceError):
    """No usable credentials: an unknown or expired token, or no token and no session."""

    status = 401
    code = "not_authenticated"
    default_message = gettext_lazy("请先登录，或提供有效的访问令牌")


class ErrorOut(Schema):
    """The body of every error answer."""

    code: str = Field(description="stable machine code, e.g. not_found, already_pending")
    message: str = Field(description="what went wrong, in plain Chinese for the user")
    fields: dict[str, list[str]] | None = Field(
        None, description="per-field messages; keys are dotted paths into the request"
    )


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """`response=` entries declaring that the operation may answer these statuses with ErrorOut."""
    return dict.fromkeys(statuses, ErrorOut)


class PageQuery(Schema):
    """limit/offset paging shared by list endpoints."""

    limit: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description="rows per page (1-100)")
    offset: int = Field(0, ge=0, description="rows to skip")


def page_of(qs: QuerySet, page: PageQuery) -> dict[str, Any]:
    """One page of a queryset plus the total: two queries, plus the queryset's own prefetches."""
    return {
        "items": list(qs[page.offset : page.offset + page.limit]),
        "count": qs.count(),
        "limit": page.limit,
        "offset": page.offset,
    }


def actor(request: HttpRequest) -> Actor:
    """The Actor of the authenticated user (token or session) of an API request."""
    return actor_for(request.auth)  # type: ignore[attr-defined]


# --- Authentication ------------------------------------------------------------------------------


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>` with a token from POST /api/v1/auth/token."""

    def authenticate(self, request: HttpRequest, token: str):
        user = user_for_token(token.strip())
        if user is None:
            # A credential was presented and is wrong: say so instead of trying the session.
            raise Unauthenticated(_("访问令牌无效或已过期，请重新获取"), code="invalid_token")
        return user


class SessionAuth(APIKeyCookie):
    """The Django session of the HTML screens; unsafe methods must pass Django's CSRF check."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # CSRF is checked in authenticate(), and only for a signed-in session: a request without
        # any credentials gets 401 rather than a CSRF complaint.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise Forbidden(_("安全校验（CSRF）未通过，请刷新页面后重试"), code="csrf_failed")
        return user


api = NinjaAPI(
    title="huijia 回家 API",
    version="1",
    description=(
        "在职党员回社区报到平台的接口。除 POST /auth/token 外，所有接口都需要 Bearer 令牌或已登录的会话"
        "（会话方式的写操作须携带 CSRF 令牌）。出错时统一返回 {code, message, fields}。"
    ),
    auth=[TokenAuth(), SessionAuth()],
    docs_url="/docs",
    openapi_url="/openapi.json",
)


# --- Errors: one shape for everything ---------------------------------------------------------------


def _error(request: HttpRequest, status: int, code: str, message: str, fields=None) -> HttpResponse:
    response = api.create_response(
        request, {"code": code, "message": str(message), "fields": fields or None}, status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="huijia"'
    return response


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(Http404)
def _http404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _service_error(request, NotFound())


_PYDANTIC_MESSAGES = {
    "missing": gettext_lazy("此项必填"),
    "int_parsing": gettext_lazy("请填写整数"),
    "int_type": gettext_lazy("请填写整数"),
    "int_from_float": gettext_lazy("请填写整数"),
    "string_type": gettext_lazy("请填写文字"),
    "bool_parsing": gettext_lazy("请填写 true 或 false"),
    "bool_type": gettext_lazy("请填写 true 或 false"),
    "list_type": gettext_lazy("应为列表"),
    "greater_than_equal": gettext_lazy("不能小于{ge}"),
    "greater_than": gettext_lazy("应大于{gt}"),
    "less_than_equal": gettext_lazy("不能大于{le}"),
    "string_too_long": gettext_lazy("不超过{max_length}个字"),
    "string_too_short": gettext_lazy("至少{min_length}个字"),
    "too_long": gettext_lazy("最多{max_length}项"),
    "enum": gettext_lazy("可选值：{expected}"),
    "literal_error": gettext_lazy("可选值：{expected}"),
    "extra_forbidden": gettext_lazy("不支持该字段"),
}


def _field_message(error: dict) -> str:
    template = _PYDANTIC_MESSAGES.get(error.get("type", ""))
    if template is None:
        return _("格式不正确")
    try:
        return str(template).format(**error.get("ctx", {}))
    except (KeyError, IndexError):
        return _("格式不正确")


def _field_name(loc: tuple) -> str:
    """("body", "payload", "identity", "phone") -> "identity.phone"; ("query", "limit") -> "limit"."""
    source, *rest = loc or ("body",)
    parts = rest[1:] if source == "body" else rest  # drop the name of the view's body parameter
    return ".".join(str(p) for p in parts) or str(source)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        fields.setdefault(_field_name(tuple(error.get("loc", ()))), []).append(_field_message(error))
    return _error(request, 422, "validation_error", _("提交的内容不完整或格式不正确"), fields)


_HTTP_ERRORS = {
    400: ("bad_request", gettext_lazy("请求内容无法解析，请提交有效的 JSON")),
    401: ("not_authenticated", Unauthenticated.default_message),
    403: ("forbidden", Forbidden.default_message),
    404: ("not_found", NotFound.default_message),
}


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Ninja's own errors (unparsable body, no credentials) in the same shape and in Chinese."""
    code, message = _HTTP_ERRORS.get(exc.status_code, ("error", gettext_lazy("请求无法完成")))
    return _error(request, exc.status_code, code, str(message))


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _service_error(request, Unauthenticated())


# --- Routers --------------------------------------------------------------------------------------


def _mount_routers() -> None:
    from huijia.accounts.api import router as accounts_router
    from huijia.care.api import router as care_router
    from huijia.demands.api import router as demands_router
    from huijia.demands.api_lists import router as lists_router
    from huijia.demands.api_stats import router as stats_router
    from huijia.grid.api import router as grid_router
    from huijia.members.api import router as members_router
    from huijia.visits.api import router as visits_router
    from huijia.visits.campaign_api import router as campaigns_router
    from huijia.volunteering.api_activities import router as activities_router
    from huijia.volunteering.api_attendance import router as attendance_router
    from huijia.volunteering.api_pairings import router as pairings_router
    from huijia.volunteering.api_records import router as records_router
    from huijia.volunteering.api_teams import router as service_teams_router

    api.add_router("/", accounts_router)
    api.add_router("/", grid_router)
    api.add_router("/", members_router)
    api.add_router("/", visits_router)
    api.add_router("/", campaigns_router)
    api.add_router("/", care_router)
    api.add_router("/", demands_router)
    api.add_router("/", lists_router)
    api.add_router("/", stats_router)
    api.add_router("/", activities_router)
    api.add_router("/", attendance_router)
    api.add_router("/", service_teams_router)
    api.add_router("/", pairings_router)
    api.add_router("/", records_router)


_mount_routers()
