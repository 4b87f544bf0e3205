from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("students", "0003_registration_review_and_problem_records"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="student", name="student_name"),
        migrations.AddIndex(
            model_name="student",
            index=models.Index(fields=["name"], name="student_name_prefix", opclasses=["varchar_pattern_ops"]),
        ),
        migrations.AddIndex(
            model_name="student",
            index=models.Index(fields=["number"], name="student_number_prefix", opclasses=["varchar_pattern_ops"]),
        ),
        migrations.AddIndex(
            model_name="student",
            index=models.Index(fields=["id_number"], name="student_id_prefix", opclasses=["varchar_pattern_ops"]),
        ),
    ]
