"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2/) over demands, under /open311/v2/.

Existing civic-reporting clients talk to huijia through it: the active demand categories are its
services, and demands are its service requests. Every resource answers in XML (`.xml`, required by the
standard) and JSON (`.json`); errors are the standard list of {code, description} with the matching HTTP
status. Creating a request goes through the same service as every other channel (submit_demand, source
open311) and needs an `api_key`: a huijia API token (POST /api/v1/auth/token).

What is public here and what is not:
- a request's id is not the demand's row id, which could be counted through, nor its tracking code,
  which is the reporter's key to rate and reopen it and must not be listed to everyone: it is the row id
  with a keyed signature ("1024-9f3ab27c1d"), which cannot be guessed. The tracking code is handed back
  only once, to the client that posted the request, as the standard's `token`;
- only what a public notice board could show leaves: category, text, place down to the building,
  status and dates, the community as the agency responsible. Never the reporter's name, phone or
  account; and demands about one household (a visit, a resident's own flat) are not listed at all.
"""

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from huijia.accounts.scope import actor_for
from huijia.accounts.services import user_for_token
from huijia.core.errors import Forbidden, NotFound, ServiceError
from huijia.demands import services
from huijia.demands.models import OPEN_STATUSES, Category, Demand, DemandSource, DemandStatus

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2025-06-01T00:00:00+08:00"  # when this interface last changed
DEFAULT_WINDOW = timedelta(days=90)  # the standard's default and largest date range
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000  # the standard's default upper bound of one answer
MAX_IDS = 100

# the tag of one item of each list, in XML
ITEM_TAGS = {
    "errors": "error",
    "services": "service",
    "service_requests": "request",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
}
# characters XML 1.0 cannot carry at all, even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


# --- Rendering -----------------------------------------------------------------------------------


def _xml_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _element(tag: str, value) -> ET.Element:
    """One value as an element: a dict's keys and a list's items become children; text is escaped by
    ElementTree, never pasted into markup."""
    node = ET.Element(tag)
    if isinstance(value, dict):
        for key, child in value.items():
            node.append(_element(key, child))
    elif isinstance(value, list):
        for child in value:
            node.append(_element(ITEM_TAGS[tag], child))
    elif value is not None:
        node.text = _xml_text(value)
    return node


def _render(fmt: str, root: str, data, status: int = 200) -> HttpResponse:
    """`data` (a list or a dict) as JSON, or as XML under the element `root`."""
    if fmt == "xml":
        body = ET.tostring(_element(root, data), encoding="utf-8", xml_declaration=True)
        return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")
    body = json.dumps(data, ensure_ascii=False)
    return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")


def _errors(fmt: str, status: int, description: str) -> HttpResponse:
    return _render(fmt, "errors", [{"code": status, "description": description}], status)


def endpoint(*methods: str) -> Callable:
    """A view of this interface: the allowed methods, and every failure as the standard error list."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = _errors(fmt, 405, _("不支持 %(method)s 请求") % {"method": request.method})
                response["Allow"] = ", ".join(methods)
                return response
            try:
                response = view(request, fmt, **kwargs)
            except Open311Error as exc:
                return _errors(fmt, exc.status, exc.description)
            except ServiceError as exc:
                return _errors(fmt, exc.status, exc.message)
            if not response.has_header("Cache-Control"):
                response["Cache-Control"] = "no-store" if request.method == "POST" else "public, max-age=60"
            return response

        return csrf_exempt(wrapper) if "POST" in methods else wrapper

    return decorate


# --- Ids, timestamps, the public shape of a request ----------------------------------------------


def _signature(pk: int) -> str:
    return salted_hmac("huijia.open311.service_request_id", str(pk), algorithm="sha256").hexdigest()[:10]


def request_id(demand: Demand) -> str:
    """The public id of a demand: its row id with a keyed signature, so that ids cannot be guessed."""
    return f"{demand.pk}-{_signature(demand.pk)}"


def _pk_of(public_id: str) -> int | None:
    pk, _dash, signature = public_id.strip().partition("-")
    if not pk.isdigit() or len(pk) > 15 or not constant_time_compare(signature, _signature(int(pk))):
        return None
    return int(pk)


def _stamp(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _public_demands() -> QuerySet[Demand]:
    """The demands a public notice board may show: not those about one household."""
    return Demand.objects.filter(household__isnull=True).select_related(
        "category", "area", "estate", "community"
    )


def _address(demand: Demand) -> str:
    parts = [demand.community.name if demand.community_id else ""]
    if demand.estate_id and demand.estate_id != demand.area_id:
        parts.append(demand.estate.name)
    if demand.area_id not in (demand.estate_id, demand.community_id):
        parts.append(demand.area.name)
    return " ".join(p for p in parts if p)


def _status_notes(demand: Demand) -> str:
    if demand.status == DemandStatus.DECLINED:
        return demand.decline_reason
    if demand.status == DemandStatus.MERGED and not demand.resolution:
        return _("与同一问题的其他诉求合并办理")
    return demand.resolution


def _request(demand: Demand) -> dict:
    category = demand.category
    is_open = demand.status in OPEN_STATUSES
    return {
        "service_request_id": request_id(demand),
        "status": "open" if is_open else "closed",
        "status_notes": _status_notes(demand),
        "service_name": category.name if category else "",
        "service_code": category.code if category else "",
        "description": demand.description,
        "agency_responsible": demand.community.name if demand.community_id else "",
        "service_notice": "",
        "requested_datetime": _stamp(demand.created_at),
        "updated_datetime": _stamp(demand.updated_at),
        "expected_datetime": _stamp(demand.resolve_by) if is_open else None,
        "address": _address(demand),
        "address_id": demand.area_id,
    }


# --- Discovery and services ----------------------------------------------------------------------


@endpoint("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    base = (
        request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": "json"})).rsplit("/", 1)[0]
        + "/"
    )
    data = {
        "changeset": CHANGESET,
        "contact": _("请联系所在社区或本平台管理员"),
        "key_service": _("api_key 即 huijia 接口令牌：登录账号后通过 POST /api/v1/auth/token 获取"),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return _render(fmt, "discovery", data)


def _service(category: Category) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(category.keywords.split()),
        "group": category.group,
    }


@endpoint("GET")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    categories = Category.objects.filter(active=True).order_by("sort", "pk")
    return _render(fmt, "services", [_service(c) for c in categories])


@endpoint("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = Category.objects.filter(code=code, active=True).first()
    if category is None:
        raise Open311Error(404, _("没有这个服务类别：%(code)s") % {"code": code})
    return _render(fmt, "service_definition", {"service_code": category.code, "attributes": []})


# --- Service requests ----------------------------------------------------------------------------


def _when(value: str, name: str) -> datetime:
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = datetime(day.year, day.month, day.day)
    except ValueError:  # well formed but not a date, such as 2025-13-01
        parsed = None
    if parsed is None:
        message = _("%(name)s 应为 W3C 日期时间，如 2025-06-01T08:00:00+08:00") % {"name": name}
        raise Open311Error(400, message)
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _positive(value: str | None, name: str, default: int, limit: int) -> int:
    if value in (None, ""):
        return default
    if not value.isdigit() or not 1 <= int(value) <= limit:
        raise Open311Error(400, _("%(name)s 应为 1 到 %(limit)d 之间的整数") % {"name": name, "limit": limit})
    return int(value)


def _values(params, name: str) -> list[str]:
    return [v.strip() for v in (params.get(name) or "").split(",") if v.strip()]


def _search(request: HttpRequest) -> tuple[QuerySet[Demand], int, int]:
    """The GET filters of the standard: service_request_id (alone), service_code, start_date/end_date
    (at most 90 days, the last 90 by default), status; plus page and page_size for paging."""
    params = request.GET
    page = _positive(params.get("page"), "page", 1, 100_000)
    size = _positive(params.get("page_size"), "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    qs = _public_demands()
    if ids := _values(params, "service_request_id"):
        pks = [pk for pk in map(_pk_of, ids[:MAX_IDS]) if pk is not None]
        return qs.filter(pk__in=pks).order_by("-created_at", "-pk"), page, size
    if codes := _values(params, "service_code"):
        qs = qs.filter(category__code__in=codes)
    start = _when(params["start_date"], "start_date") if params.get("start_date") else None
    end = _when(params["end_date"], "end_date") if params.get("end_date") else None
    if start and end and start > end:
        raise Open311Error(400, _("start_date 不能晚于 end_date"))
    end = end or (start + DEFAULT_WINDOW if start else timezone.now())
    start = start or end - DEFAULT_WINDOW
    if end - start > DEFAULT_WINDOW:
        raise Open311Error(400, _("查询的时间范围不能超过90天"))
    qs = qs.filter(created_at__gte=start, created_at__lte=end)
    if statuses := _values(params, "status"):
        if set(statuses) - {"open", "closed"}:
            raise Open311Error(400, _("status 只能是 open 或 closed"))
        if statuses == ["open"]:
            qs = qs.filter(status__in=list(OPEN_STATUSES))
        elif statuses == ["closed"]:
            qs = qs.exclude(status__in=list(OPEN_STATUSES))
    return qs.order_by("-created_at", "-pk"), page, size


def _list_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    qs, page, size = _search(request)
    offset = (page - 1) * size
    rows = list(qs[offset : offset + size + 1])
    response = _render(fmt, "service_requests", [_request(d) for d in rows[:size]])
    if len(rows) > size:  # more on the next page
        query = request.GET.copy()
        query["page"] = str(page + 1)
        response["Link"] = f'<{request.path}?{urlencode(sorted(query.items()))}>; rel="next"'
    return response


def _reporter_name(first: str, last: str) -> str:
    """Chinese names are family name first, with no space (张 + 三 → 张三); others "first last"."""
    first, last = first.strip(), last.strip()
    if re.fullmatch(r"[\u4e00-\u9fff·]*", first + last):
        return last + first
    return " ".join(p for p in (first, last) if p)


def _location(params) -> int:
    """The standard's location, for huijia: address_id names a building, an estate or a community."""
    address_id = (params.get("address_id") or "").strip()
    if address_id:
        if not address_id.isdigit():
            raise Open311Error(400, _("address_id 应为楼栋、小区或社区的编号"))
        return int(address_id)
    if params.get("lat") or params.get("long") or params.get("address_string"):
        raise Open311Error(
            400, _("无法根据经纬度或地址文字确定位置，请提供 address_id（楼栋、小区或社区的编号）")
        )
    raise Open311Error(400, _("请提供位置：address_id（楼栋、小区或社区的编号）"))


def _create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    params = request.POST
    user = user_for_token((params.get("api_key") or "").strip()) if params.get("api_key") else None
    if user is None:
        raise Forbidden(_("api_key 无效或已过期，无法提交诉求"))
    code = (params.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, _("请提供 service_code（服务类别）"))
    if not Category.objects.filter(code=code, active=True).exists():
        raise Open311Error(400, _("没有这个服务类别：%(code)s") % {"code": code})
    area_id = _location(params)
    name = _reporter_name(params.get("first_name") or "", params.get("last_name") or "")
    # email is not collected: huijia keeps the least personal data it can (PIPL)
    demand = services.submit_demand(
        actor=actor_for(user),
        data=services.DemandInput(
            description=params.get("description") or "",
            source=DemandSource.OPEN311,
            area_id=area_id,
            category_code=code,
            reporter_name=name,
            reporter_phone=params.get("phone") or "",
        ),
    )
    category = demand.category
    notice = _("将在%(respond)d小时内受理，%(resolve)d小时内办结") % {
        "respond": category.respond_hours,
        "resolve": category.resolve_hours,
    }
    data = [
        {
            "service_request_id": request_id(demand),
            "token": demand.tracking_code,
            "service_notice": notice,
            "account_id": None,
        }
    ]
    return _render(fmt, "service_requests", data, status=201)


@endpoint("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create_request(request, fmt)
    return _list_requests(request, fmt)


def _one(public_id: str) -> Demand:
    pk = _pk_of(public_id)
    demand = _public_demands().filter(pk=pk).first() if pk is not None else None
    if demand is None:
        raise NotFound(_("没有这个诉求：%(id)s") % {"id": public_id})
    return demand


@endpoint("GET")
def request_detail(request: HttpRequest, fmt: str, public_id: str) -> HttpResponse:
    return _render(fmt, "service_requests", [_request(_one(public_id))])


@endpoint("GET")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    """The id of the request a token (the tracking code handed back on creation) stands for."""
    demand = _public_demands().filter(tracking_code=token.strip().upper()[:12]).first()
    if demand is None:
        raise NotFound(_("没有这个 token 对应的诉求"))
    data = [{"service_request_id": request_id(demand), "token": demand.tracking_code}]
    response = _render(fmt, "service_requests", data)
    response["Cache-Control"] = "no-store"
    return response
