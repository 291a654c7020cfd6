"""`manage.py demo_logins`: one line per role with the demo username and password."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from huijia.accounts.models import RoleGrant
from huijia.core.seeding.logins import DEMO_LOGINS, DEMO_PASSWORD


class Command(BaseCommand):
    help = "列出演示账号（每个角色一个）。"

    def handle(self, *args, **options):
        usernames = [login.username for login in DEMO_LOGINS]
        present = set(
            get_user_model().objects.filter(username__in=usernames).values_list("username", flat=True)
        )
        scopes = dict(
            RoleGrant.objects.filter(user__username__in=usernames)
            .annotate(scope=Coalesce("area__name", "work_unit__name"))
            .values_list("user__username", "scope")
        )
        if not present:
            self.stdout.write(_("还没有演示账号。请先运行：manage.py seed --scale demo"))
            return
        self.stdout.write(_("演示账号（密码为固定的演示密码，仅供本机演示，切勿用于正式环境）："))
        width = max(_display_width(str(login.role)) for login in DEMO_LOGINS)
        for login in DEMO_LOGINS:
            if login.username in present:
                role = str(login.role)
                pad = " " * (width - _display_width(role))
                scope = scopes.get(login.username, "")
                self.stdout.write(f"  {role}{pad}  {login.username:<12}  {DEMO_PASSWORD}  {scope}".rstrip())


def _display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
