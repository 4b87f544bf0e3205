# Each status event names what happened (students/lifecycle.py); earlier events are named from
# the action that wrote them.

from django.db import migrations, models

# The events recorded before they were named, by the action that wrote them and the status it led
# to (the transfer's two events share an action).
BACKFILL = [
    ("students.registration.created", None, "entered"),
    ("students.registration.approved", None, "registered"),
    ("students.registration.rejected", None, "cancelled"),
    ("students.registration.withdrawn", None, "cancelled"),
    ("students.roster.imported", "enrolled", "imported_enrolled"),
    ("students.roster.imported", "registering", "entered"),
    ("transfers.transfer.approved", "transferred_out", "transferred_out"),
    ("transfers.transfer.approved", "enrolled", "transferred_in"),
    ("transfers.suspension.approved", None, "suspended"),
    ("transfers.extension.approved", None, "suspension_extended"),
    ("transfers.resumption.approved", None, "resumed"),
    ("transfers.repeat.approved", None, "repeated"),
    ("transfers.skip.approved", None, "skipped"),
    ("transfers.withdrawal.approved", None, "withdrawn"),
    ("transfers.abroad.approved", None, "went_abroad"),
    ("transfers.death.approved", None, "died"),
    ("transfers.other.approved", None, "left"),
]


def name_events(apps, schema_editor):
    StatusEvent = apps.get_model("students", "StatusEvent")
    for action, to_status, event in BACKFILL:
        events = StatusEvent.objects.filter(action=action, event="")
        if to_status is not None:
            events = events.filter(to_status=to_status)
        events.update(event=event)


class Migration(migrations.Migration):
    dependencies = [
        ("students", "0007_one_id_number_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="statusevent",
            name="event",
            field=models.CharField(
                blank=True,
                choices=[
                    ("entered", "registration entered"),
                    ("registered", "registration approved"),
                    ("imported_enrolled", "enrolled by a roster import"),
                    ("cancelled", "registration cancelled"),
                    ("transferred_out", "transfer out"),
                    ("transferred_in", "transfer in"),
                    ("suspended", "suspension"),
                    ("suspension_extended", "suspension extension"),
                    ("resumed", "resumption"),
                    ("repeated", "repeating a grade"),
                    ("skipped", "skipping a grade"),
                    ("withdrawn", "withdrawal"),
                    ("went_abroad", "going abroad"),
                    ("died", "death"),
                    ("left", "other departure"),
                    ("graduated", "graduation"),
                    ("completed", "completion without graduating"),
                    ("dropped_out", "leaving after study"),
                    ("certificate_exchanged", "completion exchanged for graduation"),
                    ("graduation_reversed", "graduation reversed"),
                    ("promoted", "promotion to the next grade"),
                    ("promotion_undone", "promotion undone"),
                    ("admitted", "intake at the next stage"),
                    ("key_data_corrected", "key-data correction"),
                ],
                max_length=30,
                verbose_name="event",
            ),
        ),
        migrations.RunPython(name_events, migrations.RunPython.noop),
    ]
