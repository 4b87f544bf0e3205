# The choice of `Reason` is labelled 原因 and was named `category`; the free text is labelled 说明 and
# was named `reason`. Each field now has the name of its label. The free text is renamed first, so
# that its name is free for the choice.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("transfers", "0002_suspension_change"),
    ]

    operations = [
        migrations.RenameField(model_name="statuschangerequest", old_name="reason", new_name="explanation"),
        migrations.RenameField(
            model_name="historicalstatuschangerequest", old_name="reason", new_name="explanation"
        ),
        migrations.RenameField(model_name="statuschangerequest", old_name="category", new_name="reason"),
        migrations.RenameField(
            model_name="historicalstatuschangerequest", old_name="category", new_name="reason"
        ),
        migrations.RenameField(model_name="suspension", old_name="category", new_name="reason"),
        migrations.RenameField(model_name="historicalsuspension", old_name="category", new_name="reason"),
    ]
