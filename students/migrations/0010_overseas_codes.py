# 港澳台侨外 took the codes of the education data standard JY/T 1001 (domain §3): the table used
# before had its own numbering (02 澳门同胞, 03 台湾同胞, 04 华侨, 05 外籍华裔人, 06 外国人). Records and
# their history move to the standard's codes in one statement each (every row read with its old
# value, so that no code is moved twice).

from django.db import migrations
from django.db.models import Case, Value, When

OLD_TO_STANDARD = {"02": "03", "03": "05", "04": "11", "05": "41", "06": "51"}


def to_standard(apps, schema_editor):
    for name in ("Student", "HistoricalStudent"):
        model = apps.get_model("students", name)
        model.objects.filter(overseas__in=list(OLD_TO_STANDARD)).update(
            overseas=Case(*[When(overseas=old, then=Value(new)) for old, new in OLD_TO_STANDARD.items()])
        )


def to_old(apps, schema_editor):
    back = {new: old for old, new in OLD_TO_STANDARD.items()}
    for name in ("Student", "HistoricalStudent"):
        model = apps.get_model("students", name)
        model.objects.filter(overseas__in=list(back)).update(
            overseas=Case(*[When(overseas=new, then=Value(old)) for new, old in back.items()])
        )


class Migration(migrations.Migration):
    dependencies = [
        ("students", "0009_importbatch_checking"),
    ]

    operations = [migrations.RunPython(to_standard, to_old)]
