"""`manage.py seed --scale demo|city`: generated data for the demo and for benchmarks."""

import dataclasses
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.core.seeding import loader, logins
from huijia.core.seeding.generator import CITY, DEMO, Scale, check

SCALES = {"demo": DEMO, "city": CITY}
OVERRIDES = ("streets", "communities", "households", "members", "work_units", "residents", "seed")


class Command(BaseCommand):
    help = "生成演示数据（--scale demo）或城市规模的基准数据（--scale city）。"

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="demo")
        parser.add_argument("--if-empty", action="store_true", help="已有数据时什么也不做")
        parser.add_argument("--force", action="store_true", help="先清空全部 huijia 数据（含用户）再生成")
        parser.add_argument("--workers", type=int, default=None, help="加密用的进程数（默认：CPU 核数）")
        for name in OVERRIDES:
            parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None, dest=name)

    def handle(self, *args, scale: str, if_empty: bool, force: bool, workers: int | None, **options):
        spec = _scale(SCALES[scale], options)
        if scale == "demo" and not settings.DEBUG:
            raise CommandError(_("演示账号使用固定密码，只能在 DEBUG=1 的本地演示环境中生成。"))
        if loader.has_data() and not force:
            if if_empty:
                self.stdout.write(_("数据库中已有数据，跳过生成。"))
                return
            raise CommandError(_("数据库中已有数据。加 --force 清空后重新生成，或加 --if-empty 跳过。"))
        started = time.perf_counter()
        with transaction.atomic():
            if force:
                loader.flush()
            world = loader.build(spec, now=timezone.now(), stderr=self.stderr, workers=workers)
            (logins.create_demo_logins if scale == "demo" else logins.create_bench_users)(world)
        counts = world.counts
        elapsed = time.perf_counter() - started
        self.stdout.write(
            _(
                "已生成{scale}数据：{c:,} 个社区、{h:,} 户、{m:,} 名党员、{r:,} 条报到记录、"
                "{d:,} 条居民诉求、{a:,} 项志愿服务活动、{v:,} 条志愿服务记录，用时 {s:.1f} 秒。"
            ).format(
                scale=_("演示") if scale == "demo" else _("城市规模"),
                c=len(world.community_ids),
                h=counts["grid_household"],
                m=counts["members_member"],
                r=counts["members_registration"],
                d=counts.get("demands_demand", 0),
                a=counts.get("volunteering_activity", 0),
                v=counts.get("volunteering_servicerecord", 0),
                s=elapsed,
            )
        )


def _scale(base: Scale, options: dict) -> Scale:
    """The named scale with any --communities/--households/... overrides, kept consistent."""
    changes = {name: options[name] for name in OVERRIDES if options.get(name) is not None}
    spec = dataclasses.replace(base, **changes)
    streets = min(spec.streets, spec.communities)
    spec = dataclasses.replace(spec, streets=streets, districts=min(spec.districts, streets))
    try:
        check(spec)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return spec
