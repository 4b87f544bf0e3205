# A suspension names the status change that started it `change` (as its evidence does): `request`
# is the HTTP request's name in Django.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("transfers", "0001_status_changes"),
    ]

    operations = [
        migrations.RenameField(model_name="suspension", old_name="request", new_name="change"),
        migrations.RenameField(model_name="historicalsuspension", old_name="request", new_name="change"),
        migrations.AlterField(
            model_name="suspension",
            name="change",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="suspension",
                to="transfers.statuschangerequest",
                verbose_name="status change",
            ),
        ),
        migrations.AlterField(
            model_name="historicalsuspension",
            name="change",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="transfers.statuschangerequest",
                verbose_name="status change",
            ),
        ),
    ]
