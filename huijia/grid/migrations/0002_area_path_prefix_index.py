"""On PostgreSQL, index Area.path for prefix (LIKE 'x%') scans whatever the database collation is.

SQLite has no operator classes; its unique index on path already serves prefix lookups there.
"""

from django.db import migrations

CREATE = "CREATE INDEX IF NOT EXISTS grid_area_path_prefix ON grid_area (path varchar_pattern_ops)"
DROP = "DROP INDEX IF EXISTS grid_area_path_prefix"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("grid", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
