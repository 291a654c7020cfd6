"""The `huijia` console command: a thin wrapper over manage.py (`huijia seed --scale city`)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huijia.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["huijia", *sys.argv[1:]])
