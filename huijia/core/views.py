"""Console screens for Excel import and export: upload a file, follow its job, download files.

Thin on purpose: the services (huijia.core.tasks, huijia.grid.exports, huijia.members.exports) check
permissions and do the work; these views parse the request and pick a template or a file to send.
"""

import tempfile
from io import BytesIO

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict
from huijia.core.errors import ServiceError
from huijia.core.excel import write_template
from huijia.core.models import ImportJob, ImportKind, ImportStatus
from huijia.core.tasks import can_import, start_import
from huijia.core.web import staff_actor
from huijia.grid import exports as grid_exports
from huijia.grid import imports as grid_imports
from huijia.grid.models import Area, AreaKind
from huijia.members import exports as member_exports
from huijia.members import imports as member_imports

RECENT_JOBS = 20
SUMMARY_LABELS = {
    "areas_created": gettext_lazy("新建区域"),
    "households_created": gettext_lazy("新增住户"),
    "households_updated": gettext_lazy("更新楼层的住户"),
    "households_unchanged": gettext_lazy("已存在、未改动的住户"),
    "members_created": gettext_lazy("新增党员"),
    "members_updated": gettext_lazy("更新信息的党员"),
    "members_unchanged": gettext_lazy("已存在、未改动的党员"),
    "registrations_approved": gettext_lazy("直接记为已报到"),
    "registrations_pending": gettext_lazy("提交报到申请、待社区审核"),
    "skills_created": gettext_lazy("新增专长类别"),
}
TEMPLATES = {
    ImportKind.HOUSEHOLDS: (gettext_lazy("住户"), grid_imports.COLUMNS, grid_imports.NOTES),
    ImportKind.MEMBERS: (gettext_lazy("党员"), member_imports.COLUMNS, member_imports.NOTES),
}
EXPORT_AREA_KINDS = (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY)


def _home(request: HttpRequest, actor: Actor, *, error: str = "", status: int = 200) -> HttpResponse:
    can_export_areas = actor.is_superuser or bool(actor.paths(Perm.EXPORT))
    export_areas = (
        restrict(Area.objects.filter(kind__in=EXPORT_AREA_KINDS), actor, Perm.EXPORT)
        .order_by("path")
        .only("pk", "name", "kind", "depth")
        if can_export_areas
        else Area.objects.none()
    )
    context = {
        "jobs": ImportJob.objects.visible_to(actor).order_by("-created_at", "-pk")[:RECENT_JOBS],
        "can_import_households": can_import(actor, ImportKind.HOUSEHOLDS),
        "can_import_members": can_import(actor, ImportKind.MEMBERS),
        "can_export_members": member_exports.can_export(actor),
        "can_export_unmasked": member_exports.can_export_unmasked(actor),
        "export_areas": list(export_areas),
        "error": error,
        "max_mb": _max_mb(),
    }
    return render(request, "data/home.html", context, status=status)


def _max_mb() -> int:
    return settings.HUIJIA_IMPORT_MAX_BYTES // (1024 * 1024)


def _job_context(job: ImportJob) -> dict:
    summary = job.summary or {}
    return {
        "job": job,
        "summary_items": [(label, summary[k]) for k, label in SUMMARY_LABELS.items() if summary.get(k)],
        "error_preview": summary.get("preview", []) if job.status == ImportStatus.HAS_ERRORS else [],
    }


def _job(request: HttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.visible_to(staff_actor(request)), pk=pk)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _home(request, staff_actor(request))


@login_required
@require_POST
def upload(request: HttpRequest, kind: str) -> HttpResponse:
    actor = staff_actor(request)
    try:
        job = start_import(actor=actor, kind=kind, upload=request.FILES.get("file"))
    except ServiceError as exc:
        return _home(request, actor, error=exc.message, status=exc.status)
    return redirect("data:job", pk=job.pk)


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "data/job.html", _job_context(_job(request, pk)))


@login_required
@require_GET
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "data/_progress.html", _job_context(_job(request, pk)))


@login_required
@require_GET
def job_report(request: HttpRequest, pk: int) -> FileResponse:
    job = _job(request, pk)
    if not job.error_report:
        raise Http404
    stem = job.original_name.rsplit(".", 1)[0][:60]
    return FileResponse(
        job.error_report.open("rb"), as_attachment=True, filename=_("错误报告-{name}.xlsx").format(name=stem)
    )


@login_required
@require_GET
def template(request: HttpRequest, kind: str) -> HttpResponse:
    staff_actor(request)
    if kind not in TEMPLATES:
        raise Http404
    title, columns, notes = TEMPLATES[kind]
    buffer = BytesIO()
    write_template(buffer, title=str(title), columns=columns, notes=notes)
    return FileResponse(
        BytesIO(buffer.getvalue()), as_attachment=True, filename=_("{t}导入模板.xlsx").format(t=title)
    )


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        raise Http404 from None


@login_required
@require_POST
def export_households(request: HttpRequest) -> HttpResponse:
    actor = staff_actor(request)
    area_id = _int_or_none(request.POST.get("area"))
    if area_id is None:
        return _home(request, actor, error=_("请选择要导出的区域"), status=400)
    dest = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        area, _count = grid_exports.export_households(actor=actor, area_id=area_id, dest=dest)
    except ServiceError as exc:
        dest.close()
        return _home(request, actor, error=exc.message, status=exc.status)
    dest.seek(0)
    return FileResponse(dest, as_attachment=True, filename=_("{a}住户.xlsx").format(a=area.name))


@login_required
@require_POST
def export_members(request: HttpRequest) -> HttpResponse:
    actor = staff_actor(request)
    area_id = _int_or_none(request.POST.get("area"))
    full = request.POST.get("full") == "1"
    dest = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it, which deletes it)
    try:
        member_exports.export_members(actor=actor, dest=dest, area_id=area_id, full=full)
    except ServiceError as exc:
        dest.close()
        return _home(request, actor, error=exc.message, status=exc.status)
    dest.seek(0)
    name = _("党员名册（完整号码）.xlsx") if full else _("党员名册.xlsx")
    return FileResponse(dest, as_attachment=True, filename=name)
