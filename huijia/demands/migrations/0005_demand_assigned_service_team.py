"""Demand.assigned_service_team_id (a plain number kept for issue 5) becomes a foreign key to
volunteering.ServiceTeam, on the same column: the field takes the column name explicitly, is renamed,
then becomes the foreign key (whose default column is that same name), so no column is renamed or
copied; the database only gains the constraint and the index."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("demands", "0004_open311_index"),
        ("volunteering", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="demand",
            name="assigned_service_team_id",
            field=models.BigIntegerField(blank=True, null=True, db_column="assigned_service_team_id"),
        ),
        migrations.RenameField(
            model_name="demand",
            old_name="assigned_service_team_id",
            new_name="assigned_service_team",
        ),
        migrations.AlterField(
            model_name="demand",
            name="assigned_service_team",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="assigned_demands",
                to="volunteering.serviceteam",
            ),
        ),
    ]
