from django.db import migrations


def load(apps, schema_editor):
    from graduation.defaults import load_defaults

    load_defaults(apps.get_model("graduation", "RuleSet"), apps.get_model("graduation", "Rule"))


class Migration(migrations.Migration):
    dependencies = [("graduation", "0001_graduation")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
