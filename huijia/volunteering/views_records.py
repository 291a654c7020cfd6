"""HTML screens of service records, the annual minimum, certificates and the ledgers.

Phone (members): 我的志愿服务记录 /m/volunteer/records/ (where they stand this year, their records,
links to ask for a correction and to get a certificate); 服务证明 /m/volunteer/certificates/ (issue one
for a period, download the PDFs). Public: /v/cert/<token>/, the page behind a certificate's QR code.
Console (staff): 未达到年度最低次数 /console/volunteer/minimum/ (a community's, or a work unit's
members); 年度要求 /console/volunteer/policy/ (the city's annual minimum and reminder lead, set by its
organisation department); 志愿服务台账 /console/volunteer/ledgers/ (Excel downloads: a community's
ledgers, and a work unit's member ledger for its organiser).

Thin: the services and selectors of records, minimum, certificates and ledgers do the work.
"""

import tempfile
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from huijia.accounts.scope import actor_for
from huijia.core.errors import Forbidden, InvalidInput, NotFound, ServiceError
from huijia.core.forms import ServiceErrorsMixin
from huijia.core.web import int_or_none, staff_actor
from huijia.members.models import Member
from huijia.volunteering import certificates, ledgers, records
from huijia.volunteering import minimum as policy_rules
from huijia.volunteering.minimum import counts, policy_for

MAX_TOKEN = 64


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(ServiceErrorsMixin, forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("起始日期"), required=False, widget=_date_widget(),
        error_messages={"invalid": gettext_lazy("请选择日期")},
    )  # fmt: skip
    date_to = forms.DateField(
        label=gettext_lazy("截止日期"), required=False, widget=_date_widget(),
        error_messages={"invalid": gettext_lazy("请选择日期")},
    )  # fmt: skip
    service_field_aliases = {"period_from": "date_from", "period_to": "date_to"}


class LedgerForm(PeriodForm):
    community = forms.TypedChoiceField(label=gettext_lazy("社区"), coerce=int)

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [(c.pk, c.name) for c in communities]


class UnitLedgerForm(PeriodForm):
    work_unit = forms.TypedChoiceField(label=gettext_lazy("单位"), coerce=int)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["work_unit"].choices = [(u.pk, u.name) for u in units]


class PolicyForm(ServiceErrorsMixin, forms.Form):
    annual_minimum = forms.IntegerField(
        label=gettext_lazy("每年至少服务次数"), min_value=1, max_value=52,
        error_messages={
            "required": gettext_lazy("请填写每年至少服务次数"),
            "invalid": gettext_lazy("请填写整数"),
            "min_value": gettext_lazy("每年至少服务次数请填 1 到 52 之间的整数"),
            "max_value": gettext_lazy("每年至少服务次数请填 1 到 52 之间的整数"),
        },
    )  # fmt: skip
    remind_days = forms.IntegerField(
        label=gettext_lazy("年底前多少天开始提醒"), min_value=1, max_value=180,
        error_messages={
            "required": gettext_lazy("请填写提醒时间"),
            "invalid": gettext_lazy("请填写整数"),
            "min_value": gettext_lazy("提醒时间请填年底前 1 到 180 天"),
            "max_value": gettext_lazy("提醒时间请填年底前 1 到 180 天"),
        },
    )  # fmt: skip


def _this_year_so_far() -> dict:
    today = timezone.localdate()
    return {"date_from": today.replace(month=1, day=1), "date_to": today}


# --- phone: my record --------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def records_page(request: HttpRequest) -> HttpResponse:
    """我的志愿服务记录: this year's standing against the city's minimum, and the year's records.

    About seven queries whatever the number of records: the records with their activity, organiser
    and pending correction in one, the member and the policy, the years with records.
    """
    actor = actor_for(request.user)
    if not actor.member_id:
        return render(request, "volunteering/records/not_member.html", status=403)
    try:
        year = records.check_year(int_or_none(request.GET.get("year")))
    except InvalidInput:
        year = timezone.localdate().year
    rows = list(records.my_records(actor=actor, year=year))
    for row in rows:
        row.organiser = records.organiser_label(row.activity)
        row.counts = counts(row)
        row.confirm_url = records.confirm_url(row) if records.asks_confirmation(row, actor) else ""
    member = Member.objects.select_related("community").only("pk", "community__path", "community__name")
    member = member.get(pk=actor.member_id)
    policy = policy_for(member.community)
    context = {
        "rows": rows,
        "year": year,
        "this_year": timezone.localdate().year,
        "years": records.record_years(actor=actor),
        "standing": records.standing_from(rows, year=year, policy=policy),
        "community": member.community,
    }
    return render(request, "volunteering/records/records.html", context)


# --- phone: certificates -------------------------------------------------------------------------------


def _certificate_context(request: HttpRequest, actor, member_id: int | None, form: PeriodForm) -> dict:
    member = records.member_of(actor=actor, member_id=member_id) if member_id else None
    target = member.pk if member else actor.member_id
    mine = list(certificates.certificates_for(actor=actor, member_id=target)[:20]) if target else []
    if member:
        community_id = member.community_id
    else:
        community_id = (
            Member.objects.filter(pk=actor.member_id).values_list("community_id", flat=True).first()
        )
    return {
        "form": form,
        "certificates": mine,
        "member": member,
        "community_id": community_id,
        "fresh": int_or_none(request.GET.get("issued")),
    }


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def certificate_new(request: HttpRequest) -> HttpResponse:
    """服务证明: choose a period (this year so far by default) and get a certificate; the ones issued
    before, with their PDFs. Staff who manage volunteering in a member's community may open it with
    ?member=<id> to issue one for that member."""
    actor = actor_for(request.user)
    member_id = int_or_none(request.GET.get("member"))
    if member_id is None and not actor.member_id:
        return render(request, "volunteering/records/not_member.html", status=403)
    try:
        if request.method == "GET":
            form = PeriodForm(initial=_this_year_so_far())
            return render(
                request,
                "volunteering/records/certificates.html",
                _certificate_context(request, actor, member_id, form),
            )
        form = PeriodForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                issued = certificates.issue_certificate(
                    actor=actor,
                    member_id=member_id,
                    period_from=form.cleaned_data["date_from"],
                    period_to=form.cleaned_data["date_to"],
                )
            except InvalidInput as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("证明已开具，编号 %(s)s，可以下载了。") % {"s": issued.serial})
                query = {"issued": issued.pk, **({"member": member_id} if member_id else {})}
                return redirect(f"{reverse('volunteering:certificate_new')}?{urlencode(query)}")
        return render(
            request,
            "volunteering/records/certificates.html",
            _certificate_context(request, actor, member_id, form),
            status=status,
        )
    except NotFound:
        raise Http404 from None


@login_required
@never_cache
@require_GET
def certificate_pdf(request: HttpRequest, certificate_id: int) -> HttpResponse:
    """The certificate's PDF, for the member it names and for staff who see that member's records."""
    actor = actor_for(request.user)
    try:
        certificate = certificates.certificate_for(actor=actor, certificate_id=certificate_id)
    except NotFound:
        raise Http404 from None
    return pdf_response(certificate)


def pdf_response(certificate) -> HttpResponse:
    """The PDF as a download (shared by the HTML screen and the API)."""
    response = HttpResponse(certificates.render_certificate_pdf(certificate), content_type="application/pdf")
    filename = certificates.certificate_filename(certificate)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_GET
def certificate_verify(request: HttpRequest, token: str) -> HttpResponse:
    """Public page behind the certificate's QR code: serial, masked name, issuer, period, totals and
    the records; nothing else about the person."""
    try:
        certificate = certificates.certificate_by_token(token=token[: MAX_TOKEN + 1])
    except NotFound:
        response = render(request, "volunteering/records/verify_missing.html", status=404)
    else:
        context = {"cert": certificates.public_view(certificate)}
        response = render(request, "volunteering/records/verify.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# --- console: below the minimum ---------------------------------------------------------------------

MINIMUM_PAGE = 100


def _where(member, result) -> str:
    """The column beside the name: the work unit in a community's list, the community in a unit's."""
    if result.community is not None:
        return member.work_unit.name if member.work_unit_id else "—"
    return member.community.name if member.community_id else "—"


@login_required
@never_cache
@require_GET
def minimum(request: HttpRequest) -> HttpResponse:
    """Who is below the annual minimum: in a community (its staff, the street, the organisation
    department) or among a work unit's reporting members (its organiser). Never ranked, never public."""
    actor = staff_actor(request)
    communities = records.minimum_communities(actor=actor)
    units = records.minimum_units(actor=actor)
    community_id = int_or_none(request.GET.get("community"))
    unit_id = int_or_none(request.GET.get("work_unit"))
    if community_id is None and unit_id is None:
        if communities:
            community_id = communities[0].pk
        elif units:
            unit_id = units[0].pk
    try:
        year = records.check_year(int_or_none(request.GET.get("year")))
    except InvalidInput:
        year = timezone.localdate().year
    result = None
    if community_id is not None or unit_id is not None:
        try:
            result = records.below_minimum(
                actor=actor,
                community_id=community_id,
                work_unit_id=None if community_id is not None else unit_id,
                year=year,
            )
        except NotFound:
            raise Http404 from None
    this_year = timezone.localdate().year
    page = Paginator(result.rows if result else [], MINIMUM_PAGE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.where = _where(row, result)
    query = {"year": year, **({"community": result.community.pk} if result and result.community else {})}
    if result and result.work_unit:
        query["work_unit"] = result.work_unit.pk
    cities = policy_rules.policy_cities(actor=actor)
    context = {
        "page": page,
        "query": urlencode(query),
        "policy_city": cities[0] if len(cities) == 1 else None,
        "policy_cities": cities,
        "communities": communities,
        "units": units,
        "result": result,
        "community": result.community if result else None,
        "unit": result.work_unit if result else None,
        "year": year,
        "years": list(range(this_year, this_year - 5, -1)),
    }
    return render(request, "volunteering/records/minimum.html", context)


# --- console: ledgers ----------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def ledgers_page(request: HttpRequest) -> HttpResponse:
    """The ledger downloads: a community and a period (this year so far by default); a work unit's
    organiser downloads its members' service ledger."""
    actor = staff_actor(request)
    return render(request, "volunteering/records/ledgers.html", _ledger_context(actor))


def _ledger_context(actor, form=None, unit_form=None) -> dict:
    communities = ledgers.ledger_communities(actor=actor)
    units = ledgers.ledger_units(actor=actor)
    return {
        "form": form or LedgerForm(initial=_this_year_so_far(), communities=communities),
        "unit_form": unit_form or UnitLedgerForm(initial=_this_year_so_far(), units=units),
        "communities": communities,
        "units": units,
    }


def _xlsx(dest, owner, period, name: str) -> FileResponse:
    dest.seek(0)
    filename = f"{owner.name}{name}（{period.first:%Y%m%d}-{period.last:%Y%m%d}）.xlsx"
    return FileResponse(dest, as_attachment=True, filename=filename)


def _ledger(request: HttpRequest, export, name: str) -> HttpResponse:
    actor = staff_actor(request)
    communities = ledgers.ledger_communities(actor=actor)
    form = LedgerForm(request.POST, communities=communities)
    if not form.is_valid():
        if "community" in form.errors and request.POST.get("community"):
            raise Http404
        return render(
            request, "volunteering/records/ledgers.html", _ledger_context(actor, form=form), status=400
        )
    dest = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        community, period, _count = export(
            actor=actor,
            community_id=form.cleaned_data["community"],
            date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"],
            dest=dest,
        )
    except NotFound:
        dest.close()
        raise Http404 from None
    except ServiceError as exc:
        dest.close()
        form.add_service_error(exc)
        return render(
            request, "volunteering/records/ledgers.html", _ledger_context(actor, form=form), status=exc.status
        )
    return _xlsx(dest, community, period, name)


@login_required
@require_POST
def ledger_activities(request: HttpRequest) -> HttpResponse:
    return _ledger(request, ledgers.export_activity_ledger, _("志愿服务活动台账"))


@login_required
@require_POST
def ledger_members(request: HttpRequest) -> HttpResponse:
    return _ledger(request, ledgers.export_member_ledger, _("党员志愿服务台账"))


@login_required
@require_POST
def ledger_unit_members(request: HttpRequest) -> HttpResponse:
    """A work unit's organiser downloads the service ledger of its own members (any community)."""
    actor = staff_actor(request)
    units = ledgers.ledger_units(actor=actor)
    form = UnitLedgerForm(request.POST, units=units)
    if not form.is_valid():
        if "work_unit" in form.errors and request.POST.get("work_unit"):
            raise Http404
        context = _ledger_context(actor, unit_form=form)
        return render(request, "volunteering/records/ledgers.html", context, status=400)
    dest = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        unit, period, _count = ledgers.export_member_ledger(
            actor=actor,
            work_unit_id=form.cleaned_data["work_unit"],
            date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"],
            dest=dest,
        )
    except NotFound:
        dest.close()
        raise Http404 from None
    except ServiceError as exc:
        dest.close()
        form.add_service_error(exc)
        context = _ledger_context(actor, unit_form=form)
        return render(request, "volunteering/records/ledgers.html", context, status=exc.status)
    return _xlsx(dest, unit, period, _("党员志愿服务台账"))


# --- console: the city's policy ---------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest) -> HttpResponse:
    """年度要求: the city's annual minimum and when the reminders start. Staff who work in the city
    read it; its organisation department changes it (audited)."""
    actor = staff_actor(request)
    cities = policy_rules.policy_cities(actor=actor)
    city_id = int_or_none(request.GET.get("city"))
    if city_id is None and cities:
        city_id = cities[0].pk
    if city_id is None:
        return render(request, "volunteering/records/policy.html", {"cities": cities}, status=200)
    try:
        city, current = policy_rules.policy_of_city(actor=actor, city_id=city_id)
    except NotFound:
        raise Http404 from None
    can_set = policy_rules.can_set_policy(actor, city)
    initial = {"annual_minimum": current.annual_minimum, "remind_days": current.remind_days}
    form = PolicyForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if not can_set:
            raise PermissionDenied
        if form.is_valid():
            try:
                policy_rules.set_policy(
                    actor=actor,
                    city_id=city.pk,
                    annual_minimum=form.cleaned_data["annual_minimum"],
                    remind_days=form.cleaned_data["remind_days"],
                )
            except Forbidden:
                raise PermissionDenied from None
            except InvalidInput as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("已保存，{c}的年度要求从现在起生效。").format(c=city.name))
                return redirect(f"{reverse('volunteering:policy')}?city={city.pk}")
    context = {
        "cities": cities,
        "city": city,
        "current": current,
        "can_set": can_set,
        "form": form,
        "defaults": policy_rules.DEFAULT_POLICY,
    }
    return render(request, "volunteering/records/policy.html", context, status=status)
