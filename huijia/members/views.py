"""HTML screens of registration (报到): the member's phone flow and page, the digital member card, the
public card check, and the staff console (queue, review, roster, community QR poster).

Thin on purpose: a view parses the request with a form, calls a service or a selector, and picks a
template. A ServiceError is shown in plain words; nothing is written when one is raised.
"""

import functools
from dataclasses import dataclass
from itertools import groupby
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, actor_for
from huijia.accounts.selectors import recent_notifications
from huijia.accounts.services import mark_notifications_read
from huijia.core.errors import NotFound, ServiceError
from huijia.core.personal import mask_name
from huijia.core.sorting import natural_key
from huijia.core.web import int_or_none, public_url, qr_svg, staff_actor
from huijia.grid import selectors as grid_selectors
from huijia.grid.models import Area
from huijia.members import selectors
from huijia.members.forms import (
    QueueFilterForm,
    RegistrationForm,
    RejectForm,
    RosterFilterForm,
    work_units,
)
from huijia.members.models import FreeTime, Member, RegistrationStatus
from huijia.members.rows import RowContext, queue_row
from huijia.members.selectors import HistoryRow, MemberPage, QueueRow
from huijia.members.services import (
    PII_FIELDS,
    approve_registration,
    reject_registration,
    reveal_member_pii,
    submit_registration,
    withdraw_registration,
)

PAGE_SIZE = selectors.PAGE_SIZE
MAX_TOKEN = 64
FREE_TIME_LABELS = dict(FreeTime.choices)


# --- helpers -------------------------------------------------------------------------------------


def _hx_target(request: HttpRequest) -> str | None:
    """The element an htmx request will swap, or None for a full page (including history restores)."""
    if request.headers.get("HX-Request") != "true":
        return None
    if request.headers.get("HX-History-Restore-Request") == "true":
        return None
    return request.headers.get("HX-Target") or ""


def _render(request, full: str, context: dict, *, partials: dict[str, str] | None = None, status=200):
    """Renders the whole page, or only the part an htmx request asked for."""
    template = (partials or {}).get(_hx_target(request) or "", full)
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _community_or_404(community_id: int) -> Area:
    try:
        return grid_selectors.community(area_id=community_id)
    except NotFound:
        raise Http404 from None


class Links:
    """URL patterns reversed once per request, then filled in per row (reverse() is slow per row)."""

    SENTINEL = "987654321"

    def __init__(self, name: str, *extra):
        self.pattern = reverse(name, args=[int(self.SENTINEL), *extra])

    def __call__(self, pk) -> str:
        return self.pattern.replace(self.SENTINEL, str(pk), 1)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


# --- the member's standing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """Where a member's registrations stand, read from their history (newest first)."""

    member: MemberPage | None
    pending: HistoryRow | None = None
    active: HistoryRow | None = None
    latest: HistoryRow | None = None

    @property
    def rejected(self) -> HistoryRow | None:
        latest = self.latest
        if latest is not None and latest.status == RegistrationStatus.REJECTED and self.pending is None:
            return latest
        return None


def _standing(actor: Actor) -> Standing:
    try:
        member = selectors.my_member_page(actor=actor)
    except NotFound:
        return Standing(member=None)
    history = member.history

    def first(status):
        return next((r for r in history if r.status == status), None)

    return Standing(
        member=member,
        pending=first(RegistrationStatus.PENDING),
        active=first(RegistrationStatus.APPROVED),
        latest=history[0] if history else None,
    )


def _free_time_labels(values) -> list[str]:
    return [FREE_TIME_LABELS.get(v, v) for v in values]


# --- member: my page -----------------------------------------------------------------------------


@functools.cache
def _home_links() -> dict[str, str]:
    """The member page's links, reversed once per process: the page is the members' busiest."""
    names = {
        "card": "members:card",
        "register": "members:register",
        "my_team": "members:my_team",
        "visits": "visits:mine",
        "campaigns": "campaigns:mine",
        "care": "care:mine",
        "demands": "demands:mine_list",
        "post": "demands:member_post",
        "services": "demands:lists_my_services",
        "feedback": "demands:feedback_new",
        "volunteer": "volunteering:home",
        "volunteer_records": "volunteering:records",
        "logout": "logout",
    }
    return {key: reverse(name) for key, name in names.items()}


@functools.cache
def _withdraw_links() -> Links:
    return Links("members:withdraw")


@login_required
@never_cache
def member_home(request):
    """The member's page: where their registration stands, news for them, and their history."""
    actor = actor_for(request.user)
    standing = _standing(actor)
    notes = recent_notifications(actor=actor)
    if any(n["read_at"] is None for n in notes):
        mark_notifications_read(actor=actor)
    context = {
        "standing": standing,
        "member": standing.member,
        "notifications": notes,
        "free_time": _free_time_labels(standing.member.free_time) if standing.member else [],
        "links": _home_links(),
        "withdraw_pending_url": _withdraw_links()(standing.pending.pk) if standing.pending else "",
        "withdraw_active_url": _withdraw_links()(standing.active.pk) if standing.active else "",
    }
    return render(request, "members/home.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def withdraw(request, registration_id: int):
    """Withdraw a pending application, or leave the community: a confirm screen, then the service."""
    actor = actor_for(request.user)
    standing = _standing(actor)
    history = standing.member.history if standing.member else []
    registration = next((r for r in history if r.pk == registration_id), None)
    if registration is None:
        raise Http404
    if request.method == "POST":
        try:
            withdraw_registration(actor=actor, registration_id=registration.pk)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已撤回。需要时可以随时重新报到。"))
        return redirect("members:home")
    if registration.status not in (RegistrationStatus.PENDING, RegistrationStatus.APPROVED):
        messages.info(request, _("这条报到已经结束，无需撤回。"))
        return redirect("members:home")
    return render(request, "members/withdraw.html", {"registration": registration})


# --- member: registration flow -------------------------------------------------------------------


@login_required
@never_cache
def register_search(request):
    """Step 1: find the community by its name or its street's name."""
    actor = actor_for(request.user)
    query = request.GET.get("q", "").strip()[:40]
    results = list(grid_selectors.search_communities(query=query)) if query else []
    context = {"standing": _standing(actor), "query": query, "results": results}
    return _render(
        request,
        "members/register_search.html",
        context,
        partials={"results": "members/_community_results.html"},
    )


def _households_by_unit(building_id: int) -> dict[str, list[tuple[int, list]]]:
    """Households of a building by unit (单元), then floor: {unit: [(floor, [household])]}, in order."""
    households = list(grid_selectors.households_of_building(building_id=building_id))
    households.sort(key=lambda h: (natural_key(h.unit), h.floor, natural_key(h.room)))
    return {
        unit: [(floor, list(rooms)) for floor, rooms in groupby(in_unit, key=lambda h: h.floor)]
        for unit, in_unit in groupby(households, key=lambda h: h.unit)
    }


@dataclass(frozen=True)
class Pick:
    """How far a member has got in picking their household: estate, building, unit."""

    estate: Area | None = None
    building: Area | None = None
    units: dict | None = None  # unit -> floors, for the chosen building
    unit: str | None = None  # the chosen unit, when the building has several

    @property
    def floors(self) -> list:
        if not self.units or (len(self.units) > 1 and self.unit is None):
            return []
        return self.units[self.unit if self.unit is not None else next(iter(self.units))]


def _pick(request: HttpRequest, estates: list[Area]) -> Pick:
    """Reads ?estate=, ?building= and ?unit= against the community's own estates and buildings."""
    buildings = {b.pk: (e, b) for e in estates for b in e.children.all()}
    estate, building = buildings.get(int_or_none(request.GET.get("building")), (None, None))
    if building is None:
        estate_id = int_or_none(request.GET.get("estate"))
        only = estates[0] if len(estates) == 1 else None
        return Pick(estate=next((e for e in estates if e.pk == estate_id), only))
    units = _households_by_unit(building.pk)
    unit = request.GET.get("unit")
    return Pick(estate=estate, building=building, units=units, unit=unit if unit in units else None)


@login_required
@never_cache
def register_community(request, community_id: int):
    """Step 2: pick the estate, the building, the unit and the household (also the community QR target)."""
    community = _community_or_404(community_id)
    estates = grid_selectors.estates_and_buildings(community=community)
    pick = _pick(request, estates)
    buildings = pick.estate.children.all() if pick.estate else []
    context = {
        "community": community,
        "estates": estates,
        "pick": pick,
        "buildings": sorted(buildings, key=lambda b: natural_key(b.name)),
        "single_estate": len(estates) == 1,
        "standing": _standing(actor_for(request.user)),
    }
    return _render(
        request, "members/register_pick.html", context, partials={"picker": "members/_picker.html"}
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def register_form(request, community_id: int, household_id: int):
    """Step 3: work unit, skills, free time and resources (and identity the first time); submit."""
    actor = actor_for(request.user)
    community = _community_or_404(community_id)
    try:
        household = grid_selectors.household_in_community(household_id=household_id, community=community)
    except NotFound:
        messages.error(request, _("所选住户不存在或不在该社区，请重新选择。"))
        return redirect("members:register_community", community_id=community.pk)
    standing = _standing(actor)
    member = standing.member
    if request.method == "POST":
        form = RegistrationForm(request.POST, first_time=member is None)
        if form.is_valid():
            try:
                submit_registration(
                    actor=actor, data=form.to_input(community_id=community.pk, household_id=household.pk)
                )
            except ServiceError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("报到申请已提交。社区审核后，结果会在这里通知您。"))
                return redirect("members:home")
    else:
        form = RegistrationForm(first_time=member is None, initial=_initial(member))
    context = {
        "community": community,
        "household": household,
        "form": form,
        "standing": standing,
        "first_time": member is None,
    }
    return render(request, "members/register_form.html", context)


def _initial(member: MemberPage | None) -> dict:
    """A returning member starts from what they told us last time."""
    if member is None:
        return {}
    return {
        "work_unit": member.work_unit_id,
        "skills": member.skill_ids,
        "free_time": member.free_time,
        "resources": member.resources,
    }


@login_required
@require_GET
def work_unit_options(request):
    """The work-unit list filtered by what the member types (an htmx partial of <option>s)."""
    selected = int_or_none(request.GET.get("work_unit"))
    units = list(work_units(request.GET.get("unit_q", "")[:40]))
    return render(request, "members/_unit_options.html", {"units": units, "selected": selected})


# --- member: card, and the public check ----------------------------------------------------------


@login_required
@never_cache
def member_card(request):
    """The digital member card (亮身份): only for a member whose registration has been approved."""
    standing = _standing(actor_for(request.user))
    context = {"standing": standing, "member": standing.member}
    if standing.active is not None:
        url = public_url(reverse("members:verify", args=[standing.member.card_token]))
        context.update(verify_url=url, qr=qr_svg(url, _("扫码核验党员身份")))
    return render(request, "members/card.html", context)


@never_cache
@require_GET
def verify(request, token: str):
    """Public page behind a card's QR code: masked name, community and status, nothing more."""
    try:
        if len(token) > MAX_TOKEN:
            raise NotFound()
        member, active = selectors.card_by_token(token=token)
    except NotFound:
        return render(request, "members/verify_missing.html", status=404)
    context = {
        "masked_name": mask_name(member.name),
        "community_name": active.community.name if active else "",
        "valid": active is not None,
    }
    response = render(request, "members/verify.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# --- staff console -------------------------------------------------------------------------------


def _community_choice(request: HttpRequest, form, communities: list[Area]) -> Area | None:
    """The community chosen in the filter; out-of-scope ids are 404, and a lone community is implied."""
    form.is_valid()
    if "community" in form.errors:
        raise Http404
    community_id = form.cleaned_data.get("community")
    if "community" not in request.GET and len(communities) == 1:
        community_id = communities[0].pk
    return next((c for c in communities if c.pk == community_id), None)


class RowLinks:
    """The links of queue and roster rows, reversed once per request."""

    def __init__(self):
        self.approve = Links("members:approve")
        self.reject = Links("members:reject")
        self.phone = Links("members:reveal", "phone")
        self.id_number = Links("members:reveal", "id_number")


def _reveal_links(member: Member, links: RowLinks) -> None:
    member.reveal_phone_url = links.phone(member.pk)
    member.reveal_id_number_url = links.id_number(member.pk)


def _row_flags(actor: Actor, row: QueueRow, links: RowLinks, next_url: str = "") -> QueueRow:
    """What the actor may do on a queue row, decided in memory from the row's own building path."""
    row.can_review = actor.covers(Perm.REVIEW, row.building_path)
    row.can_reveal = _can_reveal(
        actor, member_id=row.member_id, work_unit_id=row.member_work_unit_id, path=row.building_path
    )
    row.approve_url = links.approve(row.pk)
    row.reject_url = links.reject(row.pk)
    row.reject_form_url = f"{row.reject_url}?{urlencode({'next': next_url})}" if next_url else row.reject_url
    row.reveal_phone_url = links.phone(row.member_id)
    row.reveal_id_number_url = links.id_number(row.member_id)
    return row


def _labels() -> dict[str, str]:
    """Column names, translated once per page instead of once per row."""
    return {
        "name": _("姓名"),
        "address": _("住址"),
        "work_unit": _("工作单位"),
        "skills": _("专长"),
        "submitted": _("提交时间"),
        "kind": _("类型"),
        "actions": _("状态与操作"),
        "volunteer_no": _("志愿者编号"),
        "phone": _("手机号"),
        "id_number": _("身份证号"),
        "show": _("显示"),
        "show_title": _("查看完整号码（会记入审计日志）"),
        "resources": _("资源："),
        "reason": _("原因："),
        "approve": _("通过"),
        "reject": _("退回…"),
        "reject_reason": _("退回原因"),
        "reject_placeholder": _("写明原因，党员会看到，例如：住址与登记不符"),
        "reject_confirm": _("确认退回"),
        "view_only": _("您可查看，审核由社区党委进行"),
    }


def _can_reveal(actor: Actor, *, member_id: int, work_unit_id: int | None, path: str | None) -> bool:
    """Whether a row offers "显示" (unmask): decided in memory, the reveal service checks again."""
    return (
        (path is not None and actor.covers(Perm.VIEW_PII, path))
        or work_unit_id in actor.work_units(Perm.VIEW_PII)
        or actor.member_id == member_id
    )


@login_required
@never_cache
def queue(request):
    """The registration queue of a community: `?community=<id>&status=<status>&page=<n>`."""
    actor = staff_actor(request)
    communities = grid_selectors.community_choices(actor=actor)
    form = QueueFilterForm(request.GET, communities=communities)
    community = _community_choice(request, form, communities)
    status = form.cleaned_data.get("status") or RegistrationStatus.PENDING
    rows = selectors.queue_values(
        actor=actor, community=community, status=None if status == QueueFilterForm.ALL else status
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = _query(community=community.pk if community else "", status=status)
    next_url = f"{reverse('members:queue')}?{query}&page={page.number}"
    links = RowLinks()
    row_context = RowContext(_labels(), get_token(request), next_url, community_shown=community is not None)
    shown = [
        queue_row(_row_flags(actor, r, links, next_url), row_context)
        for r in selectors.queue_rows(page.object_list, community)
    ]
    context = {
        "communities": communities,
        "community": community,
        "status": status,
        "statuses": form.fields["status"].choices,
        "page": page,
        "rows": shown,
        "labels": _labels(),
        "note": "",
        "error": "",
        "query": query,
        "next": next_url,
    }
    return render(request, "members/queue.html", context)


def _query(**params) -> str:
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _review(request: HttpRequest, registration_id: int, action, note: str) -> HttpResponse:
    """Runs a review service and answers with the row in its new state (htmx) or back to the queue."""
    actor = staff_actor(request)
    error = ""
    try:
        action(actor)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        error = exc.message
    try:
        row = selectors.queue_row_for(actor=actor, registration_id=registration_id)
    except NotFound:
        raise Http404 from None
    next_url = _safe_next(request, "")
    if _hx_target(request) is not None:
        row_context = RowContext(
            _labels(), get_token(request), next_url, community_shown="community=" in next_url
        )
        row = _row_flags(actor, row, RowLinks(), next_url)
        response = HttpResponse(queue_row(row, row_context, note="" if error else note, error=error))
        patch_vary_headers(response, ("HX-Request",))
        return response
    if error:
        messages.error(request, f"{row.member_name}：{error}")
    else:
        messages.success(request, f"{row.member_name}：{note}")
    fallback = reverse("members:queue") + "?" + _query(community=row.community_id)
    return redirect(_safe_next(request, fallback))


@login_required
@require_POST
def approve(request, registration_id: int):
    return _review(
        request,
        registration_id,
        lambda actor: approve_registration(actor=actor, registration_id=registration_id),
        _("已通过审核，已通知本人"),
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def reject(request, registration_id: int):
    """POST rejects with a reason; GET shows the reason form (an htmx fragment, or a page without JS)."""
    if request.method == "GET":
        return _reject_form(request, registration_id)
    form = RejectForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _review(
        request,
        registration_id,
        lambda actor: reject_registration(actor=actor, registration_id=registration_id, reason=reason),
        _("已退回，已通知本人"),
    )


def _reject_form(request: HttpRequest, registration_id: int) -> HttpResponse:
    """The reason form of one registration the actor may see, loaded when they choose to reject."""
    actor = staff_actor(request)
    try:
        row = selectors.queue_row_for(actor=actor, registration_id=registration_id)
    except NotFound:
        raise Http404 from None
    next_url = request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    context = {
        "r": _row_flags(actor, row, RowLinks(), next_url),
        "labels": _labels(),
        "next": next_url,
        "open": True,
    }
    fragment = _hx_target(request) is not None
    template = "members/_reject_form.html" if fragment else "members/reject.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_POST
@never_cache
def reveal(request, member_id: int, field: str):
    """Shows one phone or ID number in full, in place; the service checks scope and audits the view."""
    if field not in PII_FIELDS:
        raise Http404
    actor = actor_for(request.user)
    try:
        value = reveal_member_pii(actor=actor, member_id=member_id, field_name=field)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        value, error = "", exc.message
    else:
        error = ""
    context = {"value": value, "error": error, "field": field}
    if _hx_target(request) is not None:
        return render(request, "members/_pii_revealed.html", context)
    return render(request, "members/reveal.html", context)


@login_required
@never_cache
def roster(request):
    """Reporting members of a community (or of the actor's whole scope), paginated, numbers masked."""
    actor = staff_actor(request)
    communities = grid_selectors.community_choices(actor=actor)
    form = RosterFilterForm(request.GET, communities=communities)
    community = _community_choice(request, form, communities)
    rows = selectors.members_for(actor=actor, community_id=community.pk if community else None)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    members = list(page.object_list)
    links = RowLinks()
    for m in members:
        path = m.household.building.path if m.household else None
        m.can_reveal = _can_reveal(actor, member_id=m.pk, work_unit_id=m.work_unit_id, path=path)
        _reveal_links(m, links)
    context = {
        "communities": communities,
        "community": community,
        "page": page,
        "rows": members,
        "labels": _labels(),
        "query": _query(community=community.pk if community else ""),
    }
    return render(request, "members/roster.html", context)


@login_required
@never_cache
def community_qr(request, community_id: int):
    """A printable poster with the community's registration QR code and plain instructions."""
    actor = staff_actor(request)
    community = grid_selectors.communities_for(actor=actor).filter(pk=community_id).first()
    if community is None:
        raise Http404
    url = public_url(reverse("members:register_community", args=[community.pk]))
    context = {"community": community, "url": url, "qr": qr_svg(url, _("扫码到社区报到"))}
    return render(request, "members/community_qr.html", context)
