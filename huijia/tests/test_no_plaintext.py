"""A dump of the database holds no plaintext phone or ID number: every table, every column, raw SQL."""

import pytest
from django.apps import apps
from django.db import connection

from huijia.core.testing import build_world
from huijia.grid.models import Resident
from huijia.members.models import Member


def raw_dump() -> str:
    """Every row of every table, read with raw SQL (no model field decrypts anything)."""
    parts = []
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


@pytest.mark.django_db
def test_no_plaintext_personal_data_anywhere():
    build_world()
    secrets = [m.phone for m in Member.objects.all()] + [m.id_number for m in Member.objects.all()]
    secrets += [r.phone for r in Resident.objects.exclude(phone="")]
    assert len(secrets) >= 7
    dump = raw_dump()
    leaked = [value for value in secrets if value in dump]
    assert leaked == []
