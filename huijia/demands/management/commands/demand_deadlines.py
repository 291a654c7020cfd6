"""`manage.py demand_deadlines`: one round of the demands' deadline watch, for cron.

Reminds the handlers of demands whose deadline to respond or to resolve is near and marks the
demands whose deadline has passed overdue (each once; see services.check_deadlines). With
`--schedule` it runs nothing itself and instead makes sure the background job (demands.tasks) is
queued for the task worker, which `make run` does before starting the worker.
"""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from huijia.demands.services import check_deadlines
from huijia.demands.tasks import INTERVAL, ensure_scheduled


class Command(BaseCommand):
    help = "检查诉求的受理和办结时限：到期前提醒，超时后标记（每条各一次）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--schedule",
            action="store_true",
            help="不立即检查，改为确保后台任务已排队（由任务进程每10分钟检查一次）",
        )

    def handle(self, *args, schedule: bool = False, verbosity: int = 1, **options):
        if schedule:
            queued = ensure_scheduled()
            if verbosity:
                if queued is None:
                    self.stdout.write(_("诉求时限检查任务已在队列中。"))
                else:
                    minutes = int(INTERVAL.total_seconds() // 60)
                    self.stdout.write(_("诉求时限检查任务已排队，之后每%(m)d分钟运行一次。") % {"m": minutes})
            return
        counts = check_deadlines()
        if verbosity:
            self.stdout.write(_("提醒 %(reminded)d 条即将到期的诉求，标记 %(overdue)d 条超时诉求。") % counts)
