"""Import jobs: one uploaded Excel file, its progress while a background task reads it, and the outcome."""

from django.conf import settings
from django.db import models

from huijia.accounts.scope import Actor


class ImportKind(models.TextChoices):
    HOUSEHOLDS = "households", "区域与住户"
    MEMBERS = "members", "党员"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    READING = "reading", "正在校验"
    SAVING = "saving", "正在保存"
    DONE = "done", "导入成功"
    HAS_ERRORS = "has_errors", "有错误，未导入"
    BAD_FILE = "bad_file", "文件无法识别，未导入"
    FAILED = "failed", "导入失败，未导入"


FINISHED_STATUSES = frozenset(
    {ImportStatus.DONE, ImportStatus.HAS_ERRORS, ImportStatus.BAD_FILE, ImportStatus.FAILED}
)


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> "ImportJobQuerySet":
        """A job (and its error report) is seen by the person who uploaded it; superusers see all."""
        if actor.is_superuser:
            return self
        return self.filter(created_by_id=actor.user_id) if actor.user_id else self.none()


def _upload_to(job: "ImportJob", filename: str) -> str:
    return f"imports/{job.kind}/{filename.rsplit('/', 1)[-1][-80:]}"


class ImportJob(models.Model):
    """One Excel import, all-or-nothing: it either writes every row or writes nothing and explains why.

    The uploaded file holds personal data in plain text, so it is deleted once the job has finished;
    what stays is the outcome (counts, a message, or an error report naming row, column and reason).
    """

    kind = models.CharField("导入内容", max_length=16, choices=ImportKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="导入人",
    )
    file = models.FileField("文件", upload_to=_upload_to, max_length=255, blank=True)
    original_name = models.CharField("文件名", max_length=200)
    status = models.CharField(
        "状态", max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField("总行数", null=True, blank=True)
    processed_rows = models.PositiveIntegerField("已处理行数", default=0)
    error_count = models.PositiveIntegerField("错误数", default=0)
    error_report = models.FileField("错误报告", upload_to="imports/reports/", max_length=255, blank=True)
    message = models.CharField("说明", max_length=500, blank=True)
    summary = models.JSONField("结果", default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["created_by", "-created_at"], name="importjob_owner_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.original_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def percent(self) -> int | None:
        if not self.total_rows:
            return None
        return min(100, round(100 * self.processed_rows / self.total_rows))

    def report_progress(self, processed: int, total: int | None = None) -> None:
        """Saves the row counter at once (outside any import transaction) so the page can poll it."""
        self.processed_rows = processed
        fields = {"processed_rows": processed}
        if total is not None:
            self.total_rows = total
            fields["total_rows"] = total
        ImportJob.objects.filter(pk=self.pk).update(**fields)

    def report_saving(self) -> None:
        """Every row is valid and the write has begun (the page stops counting rows)."""
        self.status = ImportStatus.SAVING
        ImportJob.objects.filter(pk=self.pk).update(status=ImportStatus.SAVING)
