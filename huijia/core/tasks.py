"""Background import jobs.

`start_import` stores an uploaded file and queues `run_import_job`; the task is a thin wrapper over
`execute_import`, which runs the importer for the job's kind (huijia.grid.imports,
huijia.members.imports) and records the outcome: counts, an error report, or one plain message.
"""

import logging
import secrets
from io import BytesIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.tasks import task
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, actor_for
from huijia.accounts.services import audit
from huijia.core.errors import Forbidden, InvalidInput, NotFound, ServiceError
from huijia.core.excel import BadFile, ImportOutcome, write_error_report
from huijia.core.models import ImportJob, ImportKind, ImportStatus

logger = logging.getLogger(__name__)
PREVIEW_ERRORS = 20  # shown on the page; the report holds them all

IMPORTERS = {
    ImportKind.HOUSEHOLDS: "huijia.grid.imports.import_households",
    ImportKind.MEMBERS: "huijia.members.imports.import_members",
}


def can_import(actor: Actor, kind: str) -> bool:
    """Whether the actor may import this kind of file somewhere (each row is checked again later)."""
    if actor.is_superuser:
        return True
    if kind == ImportKind.HOUSEHOLDS:
        return bool(actor.paths(Perm.MANAGE_GRID))
    if kind == ImportKind.MEMBERS:
        return bool(actor.paths(Perm.MANAGE_MEMBERS) or actor.work_units(Perm.MANAGE_MEMBERS))
    return False


@transaction.atomic
def start_import(*, actor: Actor, kind: str, upload: UploadedFile | None) -> ImportJob:
    """Stores an uploaded .xlsx and queues its import; the page then follows the job's progress."""
    if kind not in ImportKind.values:
        raise NotFound()
    if not can_import(actor, kind):
        raise Forbidden()
    if upload is None:
        raise InvalidInput(_("请选择要上传的 Excel 文件"), code="file_required")
    name = (upload.name or "").strip()
    if not name.lower().endswith(".xlsx"):
        raise InvalidInput(
            _("请上传 .xlsx 格式的 Excel 文件（旧版 .xls 或 .csv 请先在 Excel 或 WPS 中另存为 .xlsx）"),
            code="not_xlsx",
        )
    limit = settings.HUIJIA_IMPORT_MAX_BYTES
    if upload.size > limit:
        raise InvalidInput(
            _("文件超过{n}MB，请拆分成几个文件分批导入").format(n=limit // (1024 * 1024)), code="too_large"
        )
    job = ImportJob(kind=kind, created_by_id=actor.user_id, original_name=name[-200:])
    job.file.save(f"{secrets.token_hex(8)}.xlsx", upload, save=False)
    job.save()
    audit(actor=actor, action="import.start", target=job, kind=kind, file=job.original_name)
    transaction.on_commit(lambda: run_import_job.enqueue(job.pk))
    return job


def execute_import(*, job_id: int) -> str:
    """Runs one queued job to its end; the uploaded file (plain personal data) is deleted afterwards."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.READING, started_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    importer = import_string(IMPORTERS[job.kind])
    try:
        with job.file.open("rb") as source:
            outcome = importer(actor=actor_for(job.created_by), source=source, job=job)
    except BadFile as exc:
        _finish(job, ImportStatus.BAD_FILE, message=exc.message)
    except ServiceError as exc:
        _finish(job, ImportStatus.FAILED, message=exc.message)
    except IntegrityError:
        logger.warning("import job %s collided with a concurrent write", job_id, exc_info=True)
        _finish(
            job,
            ImportStatus.FAILED,
            message=_("导入期间有人同时修改了相同的数据，本次没有保存任何数据，请重新导入"),
        )
    except Exception:
        _finish(
            job,
            ImportStatus.FAILED,
            message=_("导入时发生系统错误，没有保存任何数据，请稍后重试或联系管理员"),
        )
        raise
    else:
        _record(job, outcome)
    finally:
        _discard_upload(job)
    return job.status


def _record(job: ImportJob, outcome: ImportOutcome) -> None:
    job.total_rows = job.processed_rows = outcome.rows
    if not outcome.errors:
        _finish(job, ImportStatus.DONE, summary=outcome.summary)
        return
    buffer = BytesIO()
    write_error_report(buffer, outcome.errors)
    job.error_report.save(
        f"errors-{job.pk}-{secrets.token_hex(6)}.xlsx", ContentFile(buffer.getvalue()), save=False
    )
    job.error_count = len(outcome.errors)
    preview = [[e.row, e.column, e.reason] for e in outcome.errors[:PREVIEW_ERRORS]]
    _finish(job, ImportStatus.HAS_ERRORS, summary={"preview": preview})


def _finish(job: ImportJob, status: str, *, message: str = "", summary: dict | None = None) -> None:
    job.status = status
    job.message = message[:500]
    job.summary = summary or {}
    job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "status",
            "message",
            "summary",
            "finished_at",
            "total_rows",
            "processed_rows",
            "error_count",
            "error_report",
        ]
    )


def _discard_upload(job: ImportJob) -> None:
    if job.file:
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")


@task()
def run_import_job(job_id: int) -> str:
    return execute_import(job_id=job_id)
