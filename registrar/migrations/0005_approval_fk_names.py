# An ApprovalRequest is called `approval` everywhere: its steps' and decisions' foreign keys too.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registrar", "0004_business_calendar"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="approvalstep",
            name="approvalstep_unique_position_per_round",
        ),
        migrations.RenameField(model_name="approvalstep", old_name="request", new_name="approval"),
        migrations.AlterField(
            model_name="approvalstep",
            name="approval",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="steps",
                to="registrar.approvalrequest",
                verbose_name="approval",
            ),
        ),
        migrations.RenameField(model_name="decision", old_name="request", new_name="approval"),
        migrations.AlterField(
            model_name="decision",
            name="approval",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="decisions",
                to="registrar.approvalrequest",
                verbose_name="approval",
            ),
        ),
        migrations.AlterModelOptions(
            name="approvalstep",
            options={
                "ordering": ["approval", "round", "position"],
                "verbose_name": "approval step",
                "verbose_name_plural": "approval steps",
            },
        ),
        migrations.AddConstraint(
            model_name="approvalstep",
            constraint=models.UniqueConstraint(
                fields=("approval", "round", "position"), name="approvalstep_unique_position_per_round"
            ),
        ),
    ]
