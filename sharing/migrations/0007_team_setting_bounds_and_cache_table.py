"""Team settings get bounds (values saved before are clamped), and the database cache table
comes with the migrations, so `migrate` alone leaves a runnable app."""

import django.core.validators
from django.core.management import call_command
from django.db import migrations, models

MAX_DAYS = 3650


def clamp_days(apps, schema_editor):
    Team = apps.get_model("sharing", "Team")
    teams = Team.objects.using(schema_editor.connection.alias)
    for field in ("max_share_days", "request_expiry_days", "reminder_days"):
        teams.filter(**{f"{field}__gt": MAX_DAYS}).update(**{field: MAX_DAYS})
    teams.filter(max_share_days__lt=1).update(max_share_days=1)
    teams.filter(request_expiry_days__lt=1).update(request_expiry_days=1)


def create_cache_table(apps, schema_editor):
    """What `manage.py createcachetable` does: a no-op unless CACHE_URL is the database cache,
    and when its table exists already."""
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0006_ledger_channel_and_settlement"),
    ]

    operations = [
        migrations.RunPython(clamp_days, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="team",
            name="max_share_days",
            field=models.PositiveIntegerField(
                default=365,
                help_text="The longest a requested share may last (1 to 3650 days).",
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(3650),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="team",
            name="reminder_days",
            field=models.PositiveIntegerField(
                default=3,
                help_text="Admins are reminded this many days before a share ends (0 to 3650).",
                validators=[django.core.validators.MaxValueValidator(3650)],
            ),
        ),
        migrations.AlterField(
            model_name="team",
            name="request_expiry_days",
            field=models.PositiveIntegerField(
                default=14,
                help_text="Pending requests expire after this many days (1 to 3650).",
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(3650),
                ],
            ),
        ),
        migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=True),
    ]
