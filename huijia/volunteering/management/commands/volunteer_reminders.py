"""`manage.py volunteer_reminders`: one round of the annual-minimum reminders, for cron.

From `remind_days_before_year_end` days before 31 December (per city, VolunteerPolicy), tells each
reporting member still below the annual minimum, once a year. With `--schedule` it runs nothing itself
and instead makes sure the daily background job (volunteering.tasks) is queued for the task worker.
"""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from huijia.volunteering.minimum import send_minimum_reminders
from huijia.volunteering.tasks import ensure_scheduled


class Command(BaseCommand):
    help = "年底前提醒本年度志愿服务未达到最低次数的党员（每人每年一次）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--schedule",
            action="store_true",
            help="不立即提醒，改为确保后台任务已排队（由任务进程每天上午运行一次）",
        )

    def handle(self, *args, schedule: bool = False, verbosity: int = 1, **options):
        if schedule:
            queued = ensure_scheduled()
            if verbosity:
                if queued is None:
                    self.stdout.write(_("志愿服务提醒任务已在队列中。"))
                else:
                    self.stdout.write(_("志愿服务提醒任务已排队，之后每天上午运行一次。"))
            return
        counts = send_minimum_reminders()
        if verbosity:
            self.stdout.write(
                _("提醒了 %(reminded)d 名未达到年度最低服务次数的党员（%(cities)d 个城市在提醒期内）。")
                % counts
            )
