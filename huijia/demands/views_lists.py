"""HTML screens of the three lists (三单管理, F6) and matching.

Console (/console/lists/, staff and work-unit organisers), three tabs for a community:
- resources (资源清单): what the reporting members offer, by skill, filterable, exported to Excel;
- needs (需求清单): common and individual needs, groups of open demands proposed as needs, a need's
  page with its demands, the members proposed to serve it and the items meeting it;
- services (服务清单): the items the community publishes, their claims, the item form.
Phone (/m/services/): a member's community's open items, claimed for themselves or the team they lead.
"""

import tempfile
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, actor_for
from huijia.core.errors import NotFound, ServiceError
from huijia.core.web import int_or_none, staff_actor, step_and_back
from huijia.demands import list_selectors as lists
from huijia.demands import list_services as services
from huijia.demands.forms_lists import (
    ConsoleClaimForm,
    ListFilterForm,
    NeedForm,
    NeedStatusForm,
    PhoneClaimForm,
    ResourceFilterForm,
    ServiceItemForm,
)
from huijia.demands.models import ClaimantKind, NeedStatus, ServiceItemStatus
from huijia.demands.selectors import categories
from huijia.grid.models import Area, AreaKind
from huijia.members.models import FreeTime, Team

PAGE_SIZE = 30


def _community(request: HttpRequest, actor: Actor, value=None) -> tuple[list[Area], Area | None]:
    """The communities of the picker and the chosen one (the first by default); others are a 404."""
    communities = lists.list_communities(actor=actor)
    raw = value if value is not None else request.GET.get("community")
    if raw in (None, ""):
        return communities, (communities[0] if communities else None)
    chosen = next((c for c in communities if c.pk == int_or_none(raw)), None)
    if chosen is None:
        raise Http404
    return communities, chosen


def _manages(actor: Actor, area: Area | None) -> bool:
    """Whether the actor manages demands somewhere in (or above) this area."""
    if area is None:
        return False
    if actor.is_superuser:
        return True
    return any(p.startswith(area.path) or area.path.startswith(p) for p in actor.paths(Perm.MANAGE_DEMANDS))


def _may_export(actor: Actor, community: Area | None) -> bool:
    if community is None:
        return False
    paths = actor.paths(Perm.EXPORT)
    inside = any(p.startswith(community.path) or community.path.startswith(p) for p in paths)
    return actor.is_superuser or inside or bool(actor.work_units(Perm.EXPORT))


def _with(url: str, community: Area | None) -> str:
    return f"{url}?community={community.pk}" if community else url


def _page(request: HttpRequest, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _act(request: HttpRequest, action: Callable[[Actor], object], done: str, back: str, actor=None):
    """Runs a service for a POST and goes back with its outcome as a message."""
    actor = actor or staff_actor(request)
    return step_and_back(request, lambda: action(actor), done, back)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    staff_actor(request)
    query = request.GET.get("community")
    url = reverse("demands:lists_resources")
    return redirect(f"{url}?community={int(query)}" if query and query.isdigit() else url)


# --- resources --------------------------------------------------------------------------------------


def _resource_filters(request: HttpRequest, source) -> tuple[int | None, str | None]:
    form = ResourceFilterForm(source)
    if not form.is_valid():
        return None, None
    return form.cleaned_data.get("skill"), form.cleaned_data.get("free_time") or None


@login_required
@never_cache
@require_GET
def resources(request: HttpRequest) -> HttpResponse:
    """资源清单: the community's members by skill, with their resources and free time."""
    actor = staff_actor(request)
    communities, community = _community(request, actor)
    skill_id, free_time = _resource_filters(request, request.GET)
    data = (
        lists.resource_list(actor=actor, community=community, skill_id=skill_id, free_time=free_time)
        if community
        else None
    )
    context = {
        "tab": "resources",
        "communities": communities,
        "community": community,
        "data": data,
        "free_times": FreeTime.choices,
        "can_export": _may_export(actor, community),
    }
    return render(request, "demands/lists/resources.html", context)


@login_required
@require_POST
def resources_export(request: HttpRequest) -> HttpResponse:
    actor = staff_actor(request)
    _communities, community = _community(request, actor, request.POST.get("community", ""))
    if community is None:
        raise Http404
    skill_id, free_time = _resource_filters(request, request.POST)
    dest = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        services.export_resources(
            actor=actor, community=community, dest=dest, skill_id=skill_id, free_time=free_time
        )
    except ServiceError as exc:
        dest.close()
        messages.error(request, exc.message)
        return redirect(_with(reverse("demands:lists_resources"), community))
    dest.seek(0)
    return FileResponse(dest, as_attachment=True, filename=f"{community.name}资源清单.xlsx")


# --- needs ------------------------------------------------------------------------------------------

NEED_STATUS_TABS = (("", _("待服务和服务中")), *NeedStatus.choices)


@login_required
@never_cache
@require_GET
def needs(request: HttpRequest) -> HttpResponse:
    """需求清单: the community's needs, and groups of open demands proposed as new needs."""
    actor = staff_actor(request)
    communities, community = _community(request, actor)
    form = ListFilterForm(request.GET)
    status = form.cleaned_data.get("status") if form.is_valid() else ""
    status = status if status in NeedStatus.values else ""
    page, proposals, singles = None, [], []
    if community:
        qs = lists.needs_for(actor=actor, community_id=community.pk, status=status or None, active=not status)
        page = _page(request, qs)
        if _manages(actor, community) and not status:
            proposals, singles = lists.need_proposals(actor=actor, community=community)
    context = {
        "tab": "needs",
        "communities": communities,
        "community": community,
        "page": page,
        "status": status,
        "status_tabs": NEED_STATUS_TABS,
        "proposals": proposals,
        "singles": singles,
        "can_manage": _manages(actor, community),
        "query": f"community={community.pk}&status={status}" if community else "",
    }
    return render(request, "demands/lists/needs.html", context)


def _places(actor: Actor, community: Area) -> list[tuple[int, str]]:
    """The community, its estates and their buildings the actor manages needs in: the place picker."""
    rows = (
        Area.objects.filter(path__startswith=community.path, kind__in=services.NEED_PLACES)
        .only("id", "name", "kind", "path")
        .order_by("path")
    )
    indent = {AreaKind.COMMUNITY: "", AreaKind.ESTATE: "　", AreaKind.BUILDING: "　　"}
    chosen = [a for a in rows if actor.covers(Perm.MANAGE_DEMANDS, a.path)]
    return [(a.pk, indent[a.kind] + a.name) for a in sorted(chosen, key=lambda a: _natural_path(a, rows))]


def _natural_path(area: Area, rows) -> tuple:
    names = {a.pk: a.name for a in rows}
    return tuple(names.get(i, "") for i in area.ancestor_ids())


def _households(actor: Actor, place_id: int | None) -> list[tuple[int, str]]:
    try:
        return lists.need_households(actor=actor, building_id=place_id)
    except NotFound:
        return []


def _ids_in(raw: str | None) -> list[int]:
    return [int(p) for p in (raw or "").split(",") if p.strip().isdigit()][:200]


def _demands_shown(actor: Actor, ids: list[int]):
    from huijia.demands.selectors import demands_for

    return list(demands_for(actor=actor).filter(pk__in=ids)[:200]) if ids else []


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def need_new(request: HttpRequest) -> HttpResponse:
    """Create a need: from demands (?demands=1,2,3) or by hand for a place or a household."""
    actor = staff_actor(request)
    source = request.POST if request.method == "POST" else request.GET
    _communities, community = _community(request, actor, source.get("community", ""))
    if community is None or not _manages(actor, community):
        raise Http404
    initial = {"demand_ids": request.GET.get("demands", ""), "place": request.GET.get("place")}
    shown = _demands_shown(
        actor, _ids_in(source.get("demand_ids") if request.method == "POST" else initial["demand_ids"])
    )
    if len({d.category_id for d in shown}) == 1 and shown[0].category:
        initial["category"] = shown[0].category.code  # the demands' common category, to confirm
    households = _households(actor, int_or_none(source.get("place")))
    form = NeedForm(
        request.POST or None,
        initial=initial,
        categories=categories(),
        places=_places(actor, community),
        households=households,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            need = services.create_need(
                actor=actor,
                data=services.NeedInput(
                    title=data["title"],
                    description=data["description"],
                    category_code=data["category"],
                    kind=data["kind"],
                    area_id=None if data["demand_ids"] else data["place"],
                    household_id=None if data["demand_ids"] else data["household"],
                    demand_ids=tuple(data["demand_ids"]),
                ),
            )
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            form.add_error(None, exc.message)
            for name, errors in exc.fields.items():
                field = {"area_id": "place", "household_id": "household", "demand_ids": None}.get(name, name)
                if field in form.fields and field not in form.errors:
                    form.add_error(field, errors)
        else:
            messages.success(request, _("已加入需求清单。"))
            return redirect("demands:lists_need", need.pk)
    context = {
        "tab": "needs",
        "community": community,
        "form": form,
        "demands": shown,
        "households": households,
        "chosen_household": int_or_none(source.get("household")),
    }
    return render(request, "demands/lists/need_form.html", context, status=400 if form.errors else 200)


@login_required
@never_cache
@require_GET
def need_households(request: HttpRequest) -> HttpResponse:
    """The household picker of the need form for a chosen building (htmx)."""
    actor = staff_actor(request)
    households = _households(actor, int_or_none(request.GET.get("place")))
    return render(request, "demands/lists/_household_options.html", {"households": households})


@login_required
@never_cache
@require_GET
def need_detail(request: HttpRequest, need_id: int) -> HttpResponse:
    """One need: its demands, the members proposed to serve it, the service items meeting it."""
    actor = staff_actor(request)
    try:
        need, matches = lists.need_matches(actor=actor, need_id=need_id)
    except NotFound:
        raise Http404 from None
    can_manage = actor.covers(Perm.MANAGE_DEMANDS, need.area.path)
    context = {
        "tab": "needs",
        "community": need.community,
        "need": need,
        "matches": matches,
        "can_manage": can_manage,
        "statuses": NeedStatus.choices,
        "linkable": lists.linkable_demands(actor=actor, need=need) if can_manage else [],
        "can_publish": actor.covers(Perm.MANAGE_DEMANDS, need.community.path),
    }
    return render(request, "demands/lists/need_detail.html", context)


def _back_to_need(need_id: int) -> str:
    return reverse("demands:lists_need", args=[need_id])


@login_required
@require_POST
def need_status(request: HttpRequest, need_id: int) -> HttpResponse:
    form = NeedStatusForm(request.POST)
    status = form.cleaned_data["status"] if form.is_valid() else request.POST.get("status", "")
    return _act(
        request,
        lambda actor: services.set_need_status(actor=actor, need_id=need_id, status=status),
        _("需求状态已更新。"),
        _back_to_need(need_id),
    )


@login_required
@require_POST
def need_link(request: HttpRequest, need_id: int) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("demands") if v.isdigit()]
    if not ids:
        messages.error(request, _("请勾选要归入的诉求"))
        return redirect(_back_to_need(need_id))
    return _act(
        request,
        lambda actor: services.link_demands(actor=actor, need_id=need_id, demand_ids=ids),
        _("诉求已归入该需求。"),
        _back_to_need(need_id),
    )


@login_required
@require_POST
def need_unlink(request: HttpRequest, need_id: int, demand_id: int) -> HttpResponse:
    return _act(
        request,
        lambda actor: services.unlink_demand(actor=actor, need_id=need_id, demand_id=demand_id),
        _("已把这条诉求移出该需求。"),
        _back_to_need(need_id),
    )


# --- services ----------------------------------------------------------------------------------------

ITEM_STATUS_TABS = (("", _("进行中")), *ServiceItemStatus.choices)


@login_required
@never_cache
@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    """服务清单: the community's service items with their claims."""
    actor = staff_actor(request)
    communities, community = _community(request, actor)
    form = ListFilterForm(request.GET)
    status = form.cleaned_data.get("status") if form.is_valid() else ""
    status = status if status in ServiceItemStatus.values else ""
    page = None
    if community:
        qs = lists.services_for(
            actor=actor, community_id=community.pk, status=status or None, open_only=not status
        )
        page = _page(request, qs)
    context = {
        "tab": "services",
        "communities": communities,
        "community": community,
        "page": page,
        "status": status,
        "status_tabs": ITEM_STATUS_TABS,
        "can_publish": community is not None and actor.covers(Perm.MANAGE_DEMANDS, community.path),
        "units": actor.work_units(Perm.VIEW),
        "query": f"community={community.pk}&status={status}" if community else "",
    }
    return render(request, "demands/lists/services.html", context)


def _item_form_context(actor: Actor, community: Area, form, item=None) -> dict:
    chosen = {int(v) for v in form["needs"].value() or [] if str(v).isdigit()}
    return {"tab": "services", "community": community, "form": form, "item": item, "chosen_needs": chosen}


def _item_choices(actor: Actor, community: Area, keep=()) -> dict:
    needs = list(lists.needs_for(actor=actor, community_id=community.pk, active=True)[:200])
    known = {n.pk for n in needs}
    needs += [n for n in keep if n.pk not in known]
    return {"categories": categories(), "needs": needs}


def _item_input(data: dict, community_id: int | None = None) -> services.ServiceInput:
    return services.ServiceInput(
        community_id=community_id,
        title=data["title"],
        description=data["description"],
        category_code=data["category"],
        places=data["places"],
        need_ids=tuple(data["needs"]),
    )


def _save_item(request, form, save: Callable[[], object]) -> object | None:
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save()
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return None


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def service_new(request: HttpRequest) -> HttpResponse:
    """Publish a service item (optionally for a need: ?need=ID)."""
    actor = staff_actor(request)
    source = request.POST if request.method == "POST" else request.GET
    _communities, community = _community(request, actor, source.get("community", ""))
    if community is None or not actor.covers(Perm.MANAGE_DEMANDS, community.path):
        raise Http404
    need_id = int_or_none(request.GET.get("need"))
    choices = _item_choices(actor, community)
    initial = {"places": 1, "needs": [need_id] if need_id else []}
    for_need = next((n for n in choices["needs"] if n.pk == need_id), None)
    if for_need is not None and for_need.category:
        initial["category"] = for_need.category.code  # the need's category, to confirm
    form = ServiceItemForm(request.POST or None, initial=initial, **choices)
    item = _save_item(
        request,
        form,
        lambda: services.publish_service(actor=actor, data=_item_input(form.cleaned_data, community.pk)),
    )
    if item is not None:
        messages.success(request, _("服务项目已发布，本社区党员可在手机上认领。"))
        return redirect("demands:lists_service", item.pk)
    context = _item_form_context(actor, community, form)
    return render(request, "demands/lists/service_form.html", context, status=400 if form.errors else 200)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def service_edit(request: HttpRequest, item_id: int) -> HttpResponse:
    actor = staff_actor(request)
    try:
        item = lists.service_for(actor=actor, item_id=item_id)
    except NotFound:
        raise Http404 from None
    if not actor.covers(Perm.MANAGE_DEMANDS, item.community.path):
        raise Http404
    initial = {
        "title": item.title,
        "description": item.description,
        "category": item.category.code if item.category else "",
        "places": item.places,
        "needs": [n.pk for n in item.need_rows],
    }
    choices = _item_choices(actor, item.community, keep=item.need_rows)
    form = ServiceItemForm(request.POST or None, initial=initial, **choices)
    saved = _save_item(
        request,
        form,
        lambda: services.update_service(actor=actor, item_id=item.pk, data=_item_input(form.cleaned_data)),
    )
    if saved is not None:
        messages.success(request, _("服务项目已修改。"))
        return redirect("demands:lists_service", item.pk)
    context = _item_form_context(actor, item.community, form, item)
    return render(request, "demands/lists/service_form.html", context, status=400 if form.errors else 200)


def _claim_teams(actor: Actor, item) -> list[Team]:
    """Teams the actor may claim this item for: every active team of the community for its staff,
    the teams they lead for a member."""
    qs = Team.objects.filter(community_id=item.community_id, ended_at=None).only("id", "name")
    if not actor.covers(Perm.MANAGE_DEMANDS, item.community.path):
        if not actor.member_id:
            return []
        qs = qs.filter(
            memberships__member_id=actor.member_id, memberships__is_leader=True, memberships__ended_at=None
        )
    return list(qs.order_by("name", "pk"))


@login_required
@never_cache
@require_GET
def service_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    """One service item: what it is, the needs it meets, who claimed it; claim, finish, take down."""
    actor = staff_actor(request)
    try:
        item = lists.service_for(actor=actor, item_id=item_id)
    except NotFound:
        raise Http404 from None
    is_open = item.status in services.OPEN_ITEM
    context = {
        "tab": "services",
        "community": item.community,
        "item": item,
        "is_open": is_open,
        "can_manage": actor.covers(Perm.MANAGE_DEMANDS, item.community.path),
        "teams": _claim_teams(actor, item) if is_open else [],
        "units": actor.work_units(Perm.VIEW) if is_open else [],
        "left": max(item.places - item.taken, 0),
    }
    return render(request, "demands/lists/service_detail.html", context)


def _back_to_item(item_id: int) -> str:
    return reverse("demands:lists_service", args=[item_id])


@login_required
@require_POST
def service_claim(request: HttpRequest, item_id: int) -> HttpResponse:
    """A claim entered in the console: for a team, or for the organiser's work unit."""
    form = ConsoleClaimForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择以哪个小组或单位认领"))
        return redirect(_back_to_item(item_id))
    data = form.cleaned_data
    return _act(
        request,
        lambda actor: services.claim_service(
            actor=actor,
            item_id=item_id,
            kind=data["kind"],
            team_id=data["team"],
            work_unit_id=data["work_unit"],
            note=data["note"],
        ),
        _("已认领。"),
        _back_to_item(item_id),
    )


@login_required
@require_POST
def service_done(request: HttpRequest, item_id: int) -> HttpResponse:
    return _act(
        request,
        lambda actor: services.finish_service(actor=actor, item_id=item_id),
        _("已标记服务完成，对应需求已更新。"),
        _back_to_item(item_id),
    )


@login_required
@require_POST
def service_take_down(request: HttpRequest, item_id: int) -> HttpResponse:
    return _act(
        request,
        lambda actor: services.take_down_service(
            actor=actor, item_id=item_id, reason=request.POST.get("reason", "")
        ),
        _("服务项目已撤下。"),
        _back_to_item(item_id),
    )


@login_required
@require_POST
def claim_withdraw(request: HttpRequest, claim_id: int) -> HttpResponse:
    actor = staff_actor(request)
    try:
        item_id = lists.claim_for(actor=actor, claim_id=claim_id).item_id
    except NotFound:
        raise Http404 from None
    return _act(
        request,
        lambda a: services.withdraw_claim(actor=a, claim_id=claim_id),
        _("认领已撤回，名额已放回。"),
        _back_to_item(item_id),
        actor=actor,
    )


# --- phone --------------------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def my_services(request: HttpRequest) -> HttpResponse:
    """The member's service list: open items of their community, claim or give back a place."""
    actor = actor_for(request.user)
    data = lists.my_services(actor=actor)
    return render(request, "demands/lists/my_services.html", {"data": data, "kinds": ClaimantKind})


def _phone_act(request: HttpRequest, action: Callable[[Actor], object], done: str) -> HttpResponse:
    return _act(request, action, done, reverse("demands:lists_my_services"), actor=actor_for(request.user))


@login_required
@require_POST
def my_claim(request: HttpRequest, item_id: int) -> HttpResponse:
    form = PhoneClaimForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    kind = data.get("kind") or ClaimantKind.MEMBER
    return _phone_act(
        request,
        lambda actor: services.claim_service(
            actor=actor, item_id=item_id, kind=kind, team_id=data.get("team")
        ),
        _("认领成功，谢谢您！社区会和您联系具体安排。"),
    )


@login_required
@require_POST
def my_withdraw(request: HttpRequest, claim_id: int) -> HttpResponse:
    return _phone_act(
        request,
        lambda actor: services.withdraw_claim(actor=actor, claim_id=claim_id),
        _("已撤回认领，名额已让给其他人。"),
    )
