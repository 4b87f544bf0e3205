"""Every province starts from the national defaults, which were the installation's constants."""

from django.db import migrations

from rules.defaults import DEFAULTS


def seed(apps, schema_editor):
    Organisation = apps.get_model("registrar", "Organisation")
    Rule = apps.get_model("rules", "Rule")
    for province in Organisation.objects.filter(kind="province"):
        Rule.objects.bulk_create(
            [
                Rule(node=province, topic=str(topic), key=key, value=value)
                for topic, rows in DEFAULTS.items()
                for key, value in rows.items()
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [("rules", "0001_province_rules")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
