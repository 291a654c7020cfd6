from django.db import migrations


def create(apps, schema_editor):
    from huijia.demands.catalogue import ensure_categories

    ensure_categories(apps.get_model("demands", "Category"))


class Migration(migrations.Migration):
    dependencies = [("demands", "0002_demands_loop")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
